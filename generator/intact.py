"""Which of the previous build's units still have their files in the output, checked by
background processes while the build scans its inputs, loads and validates the records.

A warm build keeps a unit's files when the unit's fingerprint is unchanged and its files are
as the previous build wrote them (regular files of the same size and mtime, in real folders,
see `reuse.unchanged_files`). That check is one `lstat` per file — 1.5 million at 100,000
awards — and needs only the previous build's index, not the site model: so it runs on the
cores the parent leaves free from the start of the build, instead of inside every unit
afterwards. (When the inputs turn out unchanged, the build's own output check replaces it.)

What the check saw stays true for the build: the build holds (locks) the output folder from
before the check until its commit, and writes only into its staging folder until then. A hand
edit in between is seen by the next build, which compares the files with the index again.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from generator.parallel import end_with_parent
from generator.reuse import RealFolders, UnitIndex, unchanged_files

_CHUNK_UNITS = 2000  # index rows per task
_CHECKED: dict[str, tuple[UnitIndex, Path]] = {}  # inherited by the forked processes


def damaged_units(index: UnitIndex, output: Path, span: tuple[int, int]
                  ) -> tuple[int, list[str]] | None:
    """How many units a span of index rows holds, and the keys of those whose files are
    not all in `output` as they were written; None when the index or an entry cannot be
    read (then nothing may be taken as checked)."""
    rows = index.units_between(*span)
    if rows is None:
        return None
    folders = RealFolders(output)
    damaged = []
    for key, text in rows:
        try:
            if not unchanged_files(json.loads(text)[1], output, folders):
                damaged.append(key)
        except (ValueError, TypeError, IndexError):
            return None
    return len(rows), damaged


def _check(span: tuple[int, int]) -> tuple[int, list[str]] | None:
    index, output = _CHECKED["value"]
    return damaged_units(index, output, span)


class IntactCheck:
    """A check of every unit's files in `output`, started now in `processes` forked
    processes; `damaged()` waits for it. Use it as a context manager (the processes end with
    the block)."""

    def __init__(self, index: UnitIndex, output: Path, processes: int):
        self._futures: list[Future[tuple[int, list[str]] | None]] = []
        self._pool: ProcessPoolExecutor | None = None
        span, self._units = index.row_span(), index.unit_count()
        if span is None or "fork" not in multiprocessing.get_all_start_methods():
            return
        first, last = span
        _CHECKED["value"] = (index, output)
        try:
            # forked before the records are loaded: the processes start small
            self._pool = ProcessPoolExecutor(max(1, processes),
                                             mp_context=multiprocessing.get_context("fork"),
                                             initializer=end_with_parent,
                                             initargs=(os.getpid(),))
            self._futures = [self._pool.submit(_check, (start, min(start + _CHUNK_UNITS - 1,
                                                                   last)))
                             for start in range(first, last + 1, _CHUNK_UNITS)]
        except OSError:
            self.close()  # no processes to be had: the units check their own files
        finally:
            _CHECKED.clear()  # the forked processes keep their copy

    def damaged(self) -> frozenset[str] | None:
        """The keys of the previous build's units whose files changed; None when the check
        could not be made (then each unit checks its own files)."""
        if self._pool is None:
            return None
        found: set[str] = set()
        checked = 0
        try:
            for future in self._futures:
                result = future.result()
                if result is None:
                    return None
                checked += result[0]
                found.update(result[1])
        except Exception:  # a process that died (killed, out of memory): only time is lost
            return None
        finally:
            self.close()
        # every unit seen (an index replaced meanwhile could show fewer rows to the checks)
        return frozenset(found) if checked == self._units else None

    def close(self) -> None:
        """End the processes (a build that stops early does not wait for them)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "IntactCheck":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
