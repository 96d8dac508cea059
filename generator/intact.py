"""Which of the previous build's units still have their files in the output, checked by
background processes while the build scans its inputs, loads and validates the records.

A warm build keeps a unit's files when the unit's fingerprint is unchanged and its files are
as the previous build wrote them (regular files of the same size and mtime, in real folders,
see `reuse.unchanged_files`). That check is one `lstat` per file — 1.5 million at 100,000
awards — and needs only the previous build's index, not the site model: so it runs on the
cores the parent leaves free from the start of the build, instead of inside every unit
afterwards. (When the inputs turn out unchanged, the build's own output check replaces it.)

The same processes then compare the previous build's folder rows with the output, which the
commit needs to tell stray files (generator/folder_times.py). The parent, when it has to wait
for either result, runs the tasks not started yet itself instead of idling.

What the checks saw stays true for the build: the build holds (locks) the output folder from
before the checks until its commit, and writes only into its staging folder until then. A
hand edit in between is seen by the next build, which compares the files and folders with
the index again.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Callable

from generator.folder_times import FolderCompare, compare_rows, folder_row_chunks
from generator.parallel import end_with_parent, results_helping
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


def _compare(span: tuple[int, int, int]) -> FolderCompare:
    index, output = _CHECKED["value"]
    return compare_rows((index, str(output) + "/"), span)


class IntactCheck:
    """A check of every unit's files in `output`, and of the previous build's folder rows
    (see generator/folder_times.py), started now in `processes` forked processes;
    `damaged()` and `folder_results()` wait for them, helping with what has not started
    yet. Use it as a context manager (the processes end with the block)."""

    def __init__(self, index: UnitIndex, output: Path, processes: int):
        self._unit_tasks: list[tuple[Future[Any], Callable[[], Any]]] = []
        self._folder_tasks: list[tuple[Future[Any], Callable[[], Any]]] = []
        self._pool: ProcessPoolExecutor | None = None
        self._path, self._output = index.path, output
        self._here: UnitIndex | None = None  # the parent's reader, when it helps
        span, self._units = index.row_span(), index.unit_count()
        if span is None or "fork" not in multiprocessing.get_all_start_methods():
            return
        first, last = span
        units = [(start, min(start + _CHUNK_UNITS - 1, last))
                 for start in range(first, last + 1, _CHUNK_UNITS)]
        folders = folder_row_chunks(index) or []  # (no rows: the commit lists the output)
        _CHECKED["value"] = (index, output)
        try:
            # forked before the records are loaded: the processes start small
            self._pool = ProcessPoolExecutor(max(1, processes),
                                             mp_context=multiprocessing.get_context("fork"),
                                             initializer=end_with_parent,
                                             initargs=(os.getpid(),))
            # (the units first: their result is needed first)
            self._unit_tasks = [(self._pool.submit(_check, item),
                                 partial(self._check_here, item)) for item in units]
            self._folder_tasks = [(self._pool.submit(_compare, item),
                                   partial(self._compare_here, item)) for item in folders]
        except OSError:
            self.close()  # no processes to be had: the units check their own files
        finally:
            _CHECKED.clear()  # the forked processes keep their copy

    def _reader(self) -> UnitIndex:
        # The parent helps with a reader of the index opened now, by its path, as the pool's
        # processes opened theirs: not with the build's, opened before the check began
        # (the index may have gone since: then nothing may be taken as checked).
        if self._here is None:
            self._here = UnitIndex(self._path)
        return self._here

    def _check_here(self, span: tuple[int, int]) -> tuple[int, list[str]] | None:
        return damaged_units(self._reader(), self._output, span)

    def _compare_here(self, span: tuple[int, int, int]) -> FolderCompare:
        return compare_rows((self._reader(), str(self._output) + "/"), span)

    def damaged(self) -> frozenset[str] | None:
        """The keys of the previous build's units whose files changed; None when the check
        could not be made (then each unit checks its own files). The folder rows may still
        be compared after this returns, until `folder_results`."""
        if self._pool is None or not self._unit_tasks:
            return None
        try:
            results = results_helping(self._unit_tasks)
        except Exception:  # a process that died (killed, out of memory): only time is lost
            self.close()
            return None
        finally:
            self._unit_tasks = []
            if not self._folder_tasks:
                self.close()
        # every unit seen (an index replaced meanwhile could show fewer rows to the checks)
        if results is None or sum(count for count, _ in results) != self._units:
            return None
        return frozenset(key for _, keys in results for key in keys)

    def skip_units(self) -> None:
        """Leave the units' files unchecked (after a site-wide change no unit is kept); the
        folder rows are still compared, for the commit."""
        for future, _ in self._unit_tasks:
            future.cancel()
        self._unit_tasks = []
        if not self._folder_tasks:
            self.close()

    def folder_results(self) -> list[FolderCompare] | None:
        """What `folder_times.compare_rows` found for each span of `folder_row_chunks`,
        for `folder_times.strays_by_times` (`[None]` when the rows cannot tell); None when
        they were not compared here (then the commit compares them itself). Ends the
        processes."""
        try:
            if self._pool is None or not self._folder_tasks:
                return None
            found = results_helping(self._folder_tasks)
            return [None] if found is None else found
        except Exception:  # as in `damaged`
            return None
        finally:
            self.close()

    def close(self) -> None:
        """End the processes: tasks not started are dropped, those running finished first
        (a chunk takes a fraction of a second)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._unit_tasks, self._folder_tasks, self._here = [], [], None

    def __enter__(self) -> "IntactCheck":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
