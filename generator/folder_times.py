"""Tell what does not belong in a large output without listing all of it: folder times.

Adding, removing or renaming an entry changes its folder's mtime and ctime. The unit index
(generator/reuse.py) keeps a row for every folder of the output: the times it had while the
output held exactly the files of the index's build — taken before the folder was listed, or
kept from an earlier row while nothing touched the folder — or "unknown". A folder that
still has its row's times holds what it held then. So a check lists only the folders whose
times changed (and new folders inside them, whole), and looks up the previous build's files
that this build no longer makes; everything else is known with one `lstat` per folder
instead of a listing of every file (at 100,000 awards: 460,000 folders, 1.5 million files).

Times younger than two seconds are kept as "unknown": a change within the same tick of a
coarse file-system clock would not show.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from generator.parallel import imap_ordered
from generator.reuse import FolderRow, UnitIndex
from generator.write import FolderStamp, PathSet, check_path, find_strays, walk_files

RACY_NS = 2_000_000_000
# Beyond this many changed folders (and this share of all of them), one listing of the whole
# output, split between the workers, is faster than listing the folders one by one.
MANY_CHANGED = 2000
CHANGED_SHARE = 0.1


@dataclass
class FolderNotes:
    """What a check found out about the output's folders, for the rows of the next one:
    `changes` (times, or None for unknown) and `gone` on top of the previous rows."""

    changes: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)

    def note(self, path: str, mtime: int, ctime: int) -> None:
        """Keep a folder's times (taken before it was listed), or unknown if too young."""
        self.changes[path] = settled_times(mtime, ctime)

    def rows(self) -> Iterator[FolderRow]:
        for path, times in self.changes.items():
            yield (path, *times) if times else (path, None, None)


def settled_times(mtime: int, ctime: int) -> tuple[int, int] | None:
    """The times, or None when they are too young to be trusted."""
    if time.time_ns() - max(mtime, ctime) <= RACY_NS:
        return None
    return mtime, ctime


def stamp_rows(stamps: Iterable[FolderStamp]) -> Iterator[FolderRow]:
    """Rows from the folder stamps a listing noted (see write.find_strays)."""
    for line in stamps:
        mtime, ctime, path = line.split(" ", 2)
        times = settled_times(int(mtime), int(ctime))
        yield (path, *times) if times else (path, None, None)


def _folder_path(root: str, folder: str) -> str:
    # without the trailing "/", which would make lstat follow a link put in the folder's place
    return (root + folder).rstrip("/")


# What one span of folder rows showed: the folders whose times changed (with their times
# now) and those gone or no longer folders; None when the rows cannot be read or too many
# folders changed.
FolderCompare = tuple[list[tuple[str, int, int]], list[str]] | None


def folder_row_chunks(index: UnitIndex) -> list[tuple[int, int, int]] | None:
    """Spans of the previous build's folder rows to compare with the output, one task each,
    with the most changed folders worth comparing (see `compare_rows`); None when it kept
    no rows or they cannot be read."""
    try:
        span = index.folder_row_span()
        if span is None:
            return None
        limit = _changed_limit(index)
    except (sqlite3.Error, UnicodeError):
        return None
    first, last = span
    return [(start, min(start + _CHUNK_ROWS - 1, last), limit)
            for start in range(first, last + 1, _CHUNK_ROWS)]


def _changed_limit(index: UnitIndex) -> int:
    """Beyond this many changed folders, listing the whole output is faster."""
    return int(max(MANY_CHANGED, CHANGED_SHARE * index.folder_row_count()))


def strays_by_times(output: Path, expected: PathSet, index: UnitIndex,
                    candidates: Iterable[str], notes: FolderNotes, workers: int = 1,
                    compared: Iterable[FolderCompare] | None = None) -> list[str] | None:
    """Everything in `output` that is not a regular file at a path of `expected`, told from
    the previous build's folder rows (compared by `workers` processes, unless `compared`
    has what `compare_rows` found for each of `folder_row_chunks`) and `candidates` (its
    files that this build may not make again); None when the rows cannot tell (none kept,
    or too many folders changed). Folders listed and found gone go into `notes`."""
    changed: list[tuple[str, int, int]] = []
    try:
        if compared is None:
            chunks = folder_row_chunks(index)
            if chunks is None:
                return None
            compared = imap_ordered(compare_rows, chunks, (index, str(output) + "/"), workers)
        limit = _changed_limit(index)
        for found in compared:
            if found is None:
                return None
            more, gone = found
            changed += more
            notes.gone.update(gone)
            if len(changed) > limit:
                return None
        strays: list[str] = []
        for path, mtime, ctime in changed:
            # A folder under one that is gone (a link in its place, say) is not in the output,
            # however it looks through the link; the link itself is a stray of its parent.
            if _under(path, notes.gone):
                notes.gone.add(path)
                continue
            # times taken before the listing: a later change shows
            notes.note(path, mtime, ctime)
            _list_changed(output, path, expected, index, strays, notes)
    except (sqlite3.Error, UnicodeError):
        return None  # (a damaged index costs a listing, nothing else)
    root = str(output) + "/"
    found_strays = set(strays)
    for path in candidates:
        if path not in found_strays and path not in expected and \
                not _under(path, notes.gone) and os.path.lexists(root + path):
            found_strays.add(path)
            strays.append(path)
    return strays


_CHUNK_ROWS = 5000  # folder rows per task (imap_ordered needs 64 tasks to use its workers)


def compare_rows(context: tuple[UnitIndex, str], span: tuple[int, int, int]
                 ) -> FolderCompare:
    """What a span of the previous build's folder rows shows of the output (`context`: the
    index and the output's path with a trailing "/"; `span`: a `folder_row_chunks` item)."""
    index, root = context
    first, last, limit = span
    changed: list[tuple[str, int, int]] = []
    gone: list[str] = []
    try:
        for path, mtime, ctime in index.folder_rows_between(first, last):
            try:
                info = os.lstat(_folder_path(root, path))
            except OSError:
                gone.append(path)
                continue
            if not stat.S_ISDIR(info.st_mode):  # (what took its place is in its parent)
                gone.append(path)
            elif mtime is None or info.st_mtime_ns != mtime or info.st_ctime_ns != ctime:
                changed.append((path, info.st_mtime_ns, info.st_ctime_ns))
                if len(changed) > limit:
                    return None
    except (sqlite3.Error, UnicodeError):
        return None
    return changed, gone


def _under(path: str, folders: set[str]) -> bool:
    """Whether one of `folders` (relative, ending in "/") holds `path`."""
    if not folders:
        return False
    end = path.find("/")
    while 0 <= end < len(path) - 1:
        if path[:end + 1] in folders:
            return True
        end = path.find("/", end + 1)
    return False


def _list_changed(output: Path, folder: str, expected: PathSet, index: UnitIndex,
                  strays: list[str], notes: FolderNotes) -> None:
    """Check a folder whose times changed: its files, and new folders in it whole (the
    folders that have rows are checked by their own)."""
    try:
        listing = os.scandir(os.path.join(output, folder) if folder else output)
    except (FileNotFoundError, NotADirectoryError):
        return
    with listing:
        for entry in listing:
            relative = folder + entry.name
            if not entry.is_dir(follow_symlinks=False):
                check_path(relative, entry.is_file(follow_symlinks=False), expected, strays)
                continue
            if index.knows_folder(relative + "/"):
                continue
            info = entry.stat(follow_symlinks=False)
            notes.note(relative + "/", info.st_mtime_ns, info.st_ctime_ns)
            stamps: list[FolderStamp] = []
            for path, regular in walk_files(output, relative + "/", stamps):
                check_path(path, regular, expected, strays)
            for line in stamps:
                mtime, ctime, path = line.split(" ", 2)
                notes.note(path, int(mtime), int(ctime))


class FolderWatch:
    """The strays of an in-place update (for write.Staging) from the folder rows of the
    previous build's index, and this build's rows kept in the new index."""

    def __init__(self, index: UnitIndex, compared: list[FolderCompare] | None = None):
        self.index = index
        self.compared = compared  # the folder rows compared beforehand (see intact.py)
        self.notes = FolderNotes()
        self._carry = True
        self._before: dict[str, tuple[int, int] | None] = {}

    def strays(self, output: Path, expected: PathSet, workers: int) -> list[str]:
        """Everything in `output` that is not a regular file at a path of `expected`."""
        candidates: list[str] | None = None
        if not expected.duplicates:  # (else every file is looked at, so it is reported)
            try:
                candidates = list(self.index.replaced_files())
            except (sqlite3.Error, ValueError, TypeError):
                pass
        if candidates is not None:
            found = strays_by_times(output, expected, self.index, candidates, self.notes,
                                    workers, self.compared)
            if found is not None:
                return found
        # No rows to go by: list everything (in parallel), noting every folder's times.
        self.notes, self._carry = FolderNotes(), False
        self.index.drop_folder_rows()  # (a carried index began with the previous build's)
        sink = _RowSink(self.index)
        found = find_strays(output, expected, workers, sink)
        sink.flush()
        return found

    def before_update(self, output: Path, paths: Iterable[str]) -> None:
        """Note the times of every folder the update may change: those holding `paths`
        (to be written or deleted) and the folders around them (one may be made or
        emptied)."""
        root = str(output) + "/"
        for path in paths:
            folder = path.rpartition("/")[0]
            while True:
                key = folder + "/" if folder else ""
                if key in self._before:
                    break
                try:
                    info = os.lstat(_folder_path(root, key))
                    self._before[key] = (info.st_mtime_ns, info.st_ctime_ns)
                except OSError:
                    self._before[key] = None
                if not folder:
                    break
                folder = folder.rpartition("/")[0]

    def after_update(self, output: Path) -> None:
        """Keep this build's rows: a folder the update changed is "unknown" (listed next
        time), one it removed has no row."""
        root = str(output) + "/"
        for key, before in self._before.items():
            try:
                info = os.lstat(_folder_path(root, key))
            except OSError:
                self.notes.gone.add(key)
                continue
            if not stat.S_ISDIR(info.st_mode):
                self.notes.gone.add(key)
            elif before != (info.st_mtime_ns, info.st_ctime_ns):
                self.notes.changes[key] = None
                self.notes.gone.discard(key)
        self.index.keep_folder_rows(self.notes.rows(), self.notes.gone, self._carry)

    def swapped(self) -> None:
        """The output was replaced whole: no row is true of it."""
        self.index.drop_folder_rows()


class _RowSink:
    """Folder stamps from a listing, written into the new index in batches (a large
    output's would be tens of MB as one list)."""

    _BATCH = 10_000

    def __init__(self, index: UnitIndex):
        self.index = index
        self._waiting: list[FolderStamp] = []

    def append(self, line: FolderStamp) -> None:
        self._waiting.append(line)
        if len(self._waiting) >= self._BATCH:
            self.flush()

    def extend(self, lines: Iterable[FolderStamp]) -> None:
        self._waiting.extend(lines)
        if len(self._waiting) >= self._BATCH:
            self.flush()

    def flush(self) -> None:
        self.index.keep_folder_rows(stamp_rows(self._waiting), set(), carry=False)
        self._waiting = []

