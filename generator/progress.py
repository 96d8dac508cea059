"""A small progress reporter: one updating line on a terminal, silence everywhere else.

Long work (signing hundreds of awards, importing a spreadsheet) should show that it is moving
when a person watches a terminal, and must not fill CI logs with hundreds of carriage-return
lines. So the reporter draws only when its stream is a TTY and `CI` is not set, and it redraws
at most ten times a second. It is passed in to the code that does the work (never global), like
the clock and the keys.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable, TextIO

_MIN_INTERVAL = 0.1  # seconds between redraws; a terminal cannot show more anyway


def is_interactive(stream: TextIO, environ: dict[str, str] | os._Environ = os.environ) -> bool:
    """Whether progress should be drawn on `stream`: a terminal, and not a CI job."""
    if environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False


class Progress:
    """`Progress(total, label)`: call `advance()` per item and `done()` (or use `with`).

    `enabled=None` decides by `is_interactive(stream)`; `False` gives a reporter that does
    nothing, so callers never need an `if`.
    """

    def __init__(self, total: int, label: str, stream: TextIO | None = None,
                 enabled: bool | None = None, clock: Callable[[], float] = time.monotonic):
        self.total, self.label = max(total, 0), label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = is_interactive(self.stream) if enabled is None else enabled
        self.count = 0
        self._clock = clock
        self._last_draw = float("-inf")
        self._width = 0  # length of the last line drawn, to blank it out on the next one

    def advance(self, step: int = 1, item: str = "") -> None:
        """Count `step` more items done; redraw when enough time has passed."""
        self.count = min(self.count + step, self.total) if self.total else self.count + step
        if not self.enabled:
            return
        now = self._clock()
        if now - self._last_draw >= _MIN_INTERVAL or self.count == self.total:
            self._last_draw = now
            self._draw(item)

    def line(self, item: str = "") -> str:
        """The text of the progress line (without carriage return), e.g. `sign: 12/200 (6%)`."""
        if self.total:
            percent = self.count * 100 // self.total
            text = f"{self.label}: {self.count}/{self.total} ({percent}%)"
        else:
            text = f"{self.label}: {self.count}"
        return f"{text} {item}" if item else text

    def _draw(self, item: str) -> None:
        text = self.line(item)[:200]
        padding = " " * max(self._width - len(text), 0)
        self.stream.write(f"\r{text}{padding}")
        self.stream.flush()
        self._width = len(text)

    def done(self) -> None:
        """Erase the progress line, so the next message starts on a clean line."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.done()
