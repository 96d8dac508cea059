"""Diagnostics: user-facing problems with a file, a line and a hint.

Every content problem is collected as a `Diagnostic` and reported together, in the form
`path:line: error: message` (the form compilers and editors understand), never as a traceback.
"""

from __future__ import annotations

import difflib
import functools
import os
from collections import Counter
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
        # (the same problem found twice — a template checked once per language — is one)
        self.diagnostics = tuple(sorted(set(diagnostics)))
        super().__init__("\n".join(d.format() for d in self.diagnostics))


class UsageError(Exception):
    """A problem with how the command was called (exit code 2)."""


def shown(text: str, limit: int = 80) -> str:
    """A name from the user's records quoted for a message, as Python quotes it: control
    characters escaped (a key holding terminal escapes or line breaks is shown, not obeyed)
    and cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def did_you_mean(word: str, candidates: Iterable[str] | Suggestions) -> str:
    """Suggest the closest candidate, as `did you mean 'x'?`, or '' when none is close."""
    if isinstance(candidates, Suggestions):
        return candidates.hint(word)
    return _closest(word, sorted(candidates))


def _closest(word: str, candidates: list[str]) -> str:
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else ""


class Suggestions:
    """`did you mean` against one large set of names (learner slugs, award ids), asked many
    times: a CSV import with a wrong column makes every award's learner unknown, and
    comparing each of 10,000 words with 20,000 slugs would take half an hour.

    The candidates are indexed by their three-letter pieces once; a word is compared with
    the few dozen that share the most pieces with it, and each word only once. After
    `limit` different words no more hints are given (nobody reads more)."""

    SMALL = 200  # up to this many candidates, compare with all of them
    SHORTLIST = 40

    def __init__(self, candidates: Iterable[str], limit: int = 200):
        self._names = sorted(candidates)
        self._limit = limit
        self._memo: dict[str, str] = {}
        self._pieces: dict[str, list[int]] = {}
        if len(self._names) > self.SMALL:
            for number, name in enumerate(self._names):
                for piece in _pieces(name):
                    self._pieces.setdefault(piece, []).append(number)

    def hint(self, word: str) -> str:
        """`did you mean 'x'?` for the candidate closest to `word`, or ''."""
        found = self._memo.get(word)
        if found is not None:
            return found
        if len(self._memo) >= self._limit:
            return ""
        if not self._pieces:
            found = _closest(word, self._names)
        else:
            shared: Counter[int] = Counter()
            for piece in _pieces(word):
                shared.update(self._pieces.get(piece, ()))
            # most shared pieces first, ties by name (the numbers follow the sorted names)
            best = sorted(shared.items(), key=lambda item: (-item[1], item[0]))
            found = _closest(word, sorted(self._names[n] for n, _ in best[:self.SHORTLIST]))
        self._memo[word] = found
        return found


def _pieces(text: str) -> set[str]:
    padded = f" {text} "  # so that first and last letters count, and short names have pieces
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def display_path(path: Path, root: Path) -> str:
    """Path as shown to users: relative to the content root's parent when possible."""
    prefix = _display_prefix(root)
    if prefix is not None:  # (by text: this runs for every record of a large site)
        text = str(path)
        if text.startswith(prefix):
            return text[len(prefix):]
    if root.parent == Path(root.anchor) and root.is_absolute():
        return path.as_posix()  # a content folder at the top (/site): "site/x" would mislead
    try:
        return path.relative_to(root.parent).as_posix()
    except ValueError:
        return path.as_posix()


@functools.lru_cache(maxsize=16)
def _display_prefix(root: Path) -> str | None:
    """What `display_path` cuts from the front of a path under `root` ("" for nothing);
    None where paths are not written with "/" alone."""
    if os.sep != "/" or os.altsep:
        return None
    if root.is_absolute() and root.parent == Path(root.anchor):
        return ""
    parent = str(root.parent)
    return "" if parent == "." else parent.rstrip("/") + "/"


def format_diagnostics(diagnostics: Iterable[Diagnostic]) -> str:
    """All problems, one block each, followed by a count line."""
    items = sorted(diagnostics)
    errors = sum(1 for d in items if d.severity == "error")
    lines = [d.format() for d in items]
    if errors:
        lines.append(f"{errors} error{'s' if errors != 1 else ''} found; nothing was written.")
    return "\n".join(lines)
