"""Diagnostics: user-facing problems with a file, a line and a hint.

Every content problem is collected as a `Diagnostic` and reported together, in the form
`path:line: error: message` (the form compilers and editors understand), never as a traceback.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in the user's records, located as precisely as we can."""

    path: str
    line: int
    message: str
    hint: str = ""
    severity: str = "error"

    def format(self) -> str:
        """Render as `path:line: error: message (hint)`."""
        where = f"{self.path}:{self.line}" if self.line else self.path
        text = f"{where}: {self.severity}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class ContentError(Exception):
    """Raised by a pipeline stage when the records cannot be built; carries every problem."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(sorted(diagnostics))
        super().__init__("\n".join(d.format() for d in self.diagnostics))


class UsageError(Exception):
    """A problem with how the command was called (exit code 2)."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """Suggest the closest candidate, as `did you mean 'x'?`, or '' when none is close."""
    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else ""


def display_path(path: Path, root: Path) -> str:
    """Path as shown to users: relative to the content root's parent when possible."""
    if root.parent == Path(root.anchor) and root.is_absolute():
        return path.as_posix()  # a content folder at the top (/site): "site/x" would mislead
    try:
        return path.relative_to(root.parent).as_posix()
    except ValueError:
        return path.as_posix()


def format_diagnostics(diagnostics: Iterable[Diagnostic]) -> str:
    """All problems, one block each, followed by a count line."""
    items = sorted(diagnostics)
    errors = sum(1 for d in items if d.severity == "error")
    lines = [d.format() for d in items]
    if errors:
        lines.append(f"{errors} error{'s' if errors != 1 else ''} found; nothing was written.")
    return "\n".join(lines)
