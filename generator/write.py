"""Write the rendered site to disk atomically — the only stage that touches `output/`.

Files go into a fresh temporary folder beside the output folder (the staging folder). A
build that fails or is killed before the commit leaves the previous output as it was;
leftover temporary folders are removed by the next build.

The commit takes one of two forms:

* **Swap** (a first build, or a large change): the staging folder holds the whole site and
  replaces the old output with two renames.
* **In place** (an incremental build that changed few files): the staging folder holds only
  the files that are new or changed; files identical to the previous output's were never
  written. A journal beside the output names the staging folder and the stray files to
  delete, then each staged file is renamed over its old version (every rename is atomic)
  and the strays go. If that is killed halfway, the next build finishes it from the journal
  before it does anything else. This costs time in proportion to what changed, where a swap
  costs a link and an unlink per file of the site (measured here: ~80 µs each, so ~200 s
  for 100,000 awards).
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import shutil
import signal
import stat
import tempfile
import threading
from array import array
from contextlib import contextmanager
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, Protocol

from generator.errors import UsageError
from generator.keys import find_private_key_material
from generator.parallel import MIN_ITEMS_PER_WORKER, imap_ordered

try:
    import fcntl
except ImportError:  # not on Windows: builds there are not guarded against each other
    fcntl = None  # type: ignore[assignment]

TEMP_PREFIX = ".rugzak-tmp-"
OLD_PREFIX = ".rugzak-old-"
TRASH_PREFIX = ".rugzak-trash-"
JOURNAL_PREFIX = ".rugzak-journal-"
LOCK_PREFIX = ".rugzak-lock-"
# In place only when at most this share of the site changed: a large change is swapped in
# whole, so the output is never a mix of old and new files for more than a moment.
IN_PLACE_SHARE = 0.25


@dataclass(frozen=True)
class OutputFile:
    """One file of the built site: a relative POSIX path and its bytes."""

    path: str
    data: bytes


class UnsafeOutputPath(ValueError):
    """A rendered path that would land outside the output folder."""


class KeysInOutput(ValueError):
    """Files in the output folder that a build would delete and that hold private key
    material: someone put their keys there (and they would be lost)."""

    def __init__(self, found: list[tuple[str, str]]):
        super().__init__(", ".join(path for path, _ in found))
        self.found = found


def refuse_keys_among(output: Path, strays: Iterable[str]) -> None:
    """Raise KeysInOutput when a regular file among `strays` (under `output`) holds private
    key material: deleting it could lose the only copy of a key."""
    found = []
    for path in strays:
        what = _key_material_in(os.path.join(output, path))
        if what:
            found.append((path, what))
    if found:
        raise KeysInOutput(found)


def _key_material_in(path: str) -> str | None:
    try:
        with open(path, "rb", opener=_no_follow) as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size >= 5_000_000:
                return None
            return find_private_key_material(handle.read())
    except OSError:
        return None


def _no_follow(path: str, flags: int) -> int:
    # never follow a link, never wait on a pipe
    return os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)


class OutputBusy(OSError):
    """Another build is writing into the same output folder."""


def _lock(parent: Path, name: str) -> IO[bytes] | None:
    """Hold the output folder for this build: a second build into it would delete this
    one's staging folder as a leftover, or mix its files in. The lock file exists only
    while a build runs."""
    if fcntl is None:
        return None
    path = parent / f"{LOCK_PREFIX}{name}"
    for _ in range(3):
        handle = open(path, "ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise OutputBusy(errno.EBUSY, "another build is writing into this output folder; "
                             "wait for it to finish", str(parent / name)) from None
        try:  # the holder before us may have removed the file just before we locked it
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                return handle
        except FileNotFoundError:
            pass
        handle.close()
    raise OutputBusy(errno.EBUSY, "cannot hold this output folder for the build",
                     str(parent / name))


def _unlock(handle: IO[bytes] | None) -> None:
    if handle is not None:
        Path(handle.name).unlink(missing_ok=True)
        handle.close()


def write_all(handle: IO[bytes], data: bytes) -> None:
    """Write all of `data` to an unbuffered file (whose writes may be partial)."""
    view = memoryview(data)
    while view:
        view = view[handle.write(view):]


# A path's 64-bit key in a PathSet: its hash. The same in the parent and its forked workers
# (they share the interpreter's hash secret), and only ever compared within one build. (The
# built-in itself: `map(path_key, paths)` then runs in C, for 1.5 million paths a build.)
path_key: Callable[[str], int] = hash


class PathSet:
    """The relative paths of the new site, kept as 64-bit hashes: a set of strings would
    cost ~130 MB at 100,000 awards (1.3 million files), this costs 8 bytes a path. The
    hashes are spread over buckets by their low bits, so sorting one bucket never needs
    more than a sliver of the set as Python integers.

    Keys added in bulk (`extend`, a unit's files at a time) wait in a temporary file until
    the set is first asked something: held in memory while the units run, they would be
    part of every worker forked after them (~12 MB at 100,000 awards)."""

    _BUCKETS = 256
    _BATCH = 8192  # keys gathered before one unbuffered write to the temporary file

    def __init__(self) -> None:
        self._buckets = [array("q") for _ in range(self._BUCKETS)]
        self._sorted = True
        self._count = 0
        self._waiting = array("q")
        self._file: IO[bytes] | None = None
        self.duplicates: frozenset[int] = frozenset()

    def add(self, path: str) -> None:
        key = path_key(path)
        self._buckets[key % self._BUCKETS].append(key)
        self._count += 1
        self._sorted = False

    def extend(self, keys: array) -> None:
        """Add paths already turned into keys (by `path_key`, in a worker)."""
        self._waiting.extend(keys)
        self._count += len(keys)
        self._sorted = False
        if len(self._waiting) >= self._BATCH:
            self._write_waiting()

    def _write_waiting(self) -> None:
        # Unbuffered writes of whole batches: workers forked in between inherit no file
        # buffer that they could write out a second time.
        if self._file is None:
            self._file = tempfile.TemporaryFile(buffering=0)
        write_all(self._file, self._waiting.tobytes())
        self._waiting = array("q")

    def _take_waiting(self) -> None:
        """Move the keys waiting in the temporary file (and in memory) into the buckets."""
        buckets, count = self._buckets, self._BUCKETS
        if self._file is not None:
            with self._file:
                self._file.seek(0)
                while True:
                    chunk = array("q")
                    try:
                        chunk.fromfile(self._file, 65536)
                    except EOFError:
                        pass  # the last chunk is shorter: what there was is in `chunk`
                    if not chunk:
                        break
                    for key in chunk:
                        buckets[key % count].append(key)
            self._file = None
        for key in self._waiting:
            buckets[key % count].append(key)
        self._waiting = array("q")

    def __len__(self) -> int:
        return self._count

    def freeze(self) -> None:
        """Sort for lookups and note hashes that occur twice (two files, one path)."""
        if self._sorted:
            return
        self._take_waiting()
        twice = set()
        for number, bucket in enumerate(self._buckets):
            ordered = array("q", sorted(bucket))
            if len(set(ordered)) < len(ordered):  # rare: then find which
                twice.update(ordered[i] for i in range(1, len(ordered))
                             if ordered[i] == ordered[i - 1])
            self._buckets[number] = ordered
        self._sorted = True
        self.duplicates = frozenset(twice)

    def __contains__(self, path: object) -> bool:
        self.freeze()
        key = path_key(path)  # type: ignore[arg-type]
        bucket = self._buckets[key % self._BUCKETS]
        at = bisect_left(bucket, key)
        return at < len(bucket) and bucket[at] == key

    def check_unique(self, path: str) -> None:
        if self.duplicates and path_key(path) in self.duplicates:
            raise UnsafeOutputPath(f"two files would be written to {path!r}")


# Every build writes `_headers` with this line (generator/scaffold.py): how an output folder
# made by Rugzak is told from a folder of the user's, which a build must never replace.
OUTPUT_SIGNATURE = b"# Written by Rugzak"


def is_rugzak_output(folder: Path) -> bool:
    """Whether `folder` holds a site Rugzak built (its `_headers` carries our signature)."""
    try:
        with open(folder / "_headers", "rb") as handle:
            return OUTPUT_SIGNATURE in handle.read(4096)
    except OSError:
        return False


def check_output_folder(output: Path, content: Path) -> None:
    """Refuse an output folder that a build would destroy something in: the content folder
    itself, a folder inside it or around it, a folder with a Git repository at its top, and
    any existing folder that is neither empty nor an earlier Rugzak output (a build makes
    the output exactly the site, so everything else in it would be deleted)."""
    out, records = output.absolute().resolve(), content.absolute().resolve()
    if out == records or out.is_relative_to(records) or records.is_relative_to(out):
        where = "is" if out == records else "is inside" if out.is_relative_to(records) \
            else "holds"
        raise UsageError(f"the output folder {output} {where} the content folder {content}: "
                         "a build replaces everything in its output folder\n  hint: build "
                         "into a folder of its own, e.g. --output output")
    if os.path.lexists(output) and not output.is_symlink() and not output.is_dir():
        raise UsageError(f"the output path {output} is a file, not a folder\n  hint: give "
                         "a folder for the built site, e.g. --output output")
    if not output.is_dir() or output.is_symlink():
        return  # absent (made by the build), or refused by Staging with its own message
    try:
        with os.scandir(output) as listing:
            names = sorted(entry.name for entry in listing)
    except OSError:
        return  # unreadable: Staging reports it
    if not names:
        return
    if ".git" in names:
        raise UsageError(f"the output folder {output} holds a Git repository (.git), which a "
                         "build would delete\n  hint: build into another folder; "
                         "`rugzak publish` commits the built site to a branch without one")
    if not is_rugzak_output(output):
        shown = ", ".join(repr(name) for name in names[:3]) + (", ..." if len(names) > 3 else "")
        raise UsageError(f"the output folder {output} is not empty and was not built by "
                         f"Rugzak (it holds {shown}); a build would replace everything in it"
                         "\n  hint: build into a new or empty folder, or delete this one "
                         "first if nothing in it is needed")


def remove_stale(parent: Path, name: str) -> None:
    """Finish an in-place update a killed build left, then delete temporary folders left by
    builds of `name` that were killed."""
    finish_interrupted(parent, name)
    (parent / f"{JOURNAL_PREFIX}{name}.tmp").unlink(missing_ok=True)
    if not os.path.lexists(parent / name):
        # killed between the two renames of a swap: the previous output waits under its
        # temporary name and becomes the output again (a staging folder left beside it
        # cannot be told from one a build was killed while filling)
        previous = sorted((stale for stale in parent.glob(f"{OLD_PREFIX}{name}-*")
                           if _ours(stale.name, OLD_PREFIX, name) and stale.is_dir()),
                          key=lambda stale: stale.stat().st_mtime_ns)
        if previous:
            os.replace(previous[-1], parent / name)
    for prefix in (TEMP_PREFIX, OLD_PREFIX, TRASH_PREFIX):
        for stale in parent.glob(f"{prefix}{name}-*"):
            if _ours(stale.name, prefix, name):
                shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def held_output(output: Path) -> Iterator[Path]:
    """Hold the output folder as a build does (see `_lock`) while it is only checked, after
    finishing what a killed build left (`remove_stale`)."""
    output = output.absolute()
    handle = _lock(output.parent, output.name)
    try:
        remove_stale(output.parent, output.name)
        yield output
    finally:
        _unlock(handle)


def _ours(folder: str, prefix: str, name: str) -> bool:
    """Whether `folder` is a temporary folder of the output `name` — and not of another
    output whose name starts the same ("out" and "out-2"): mkdtemp adds 8 characters."""
    rest = folder[len(prefix) + len(name) + 1:]
    return folder.startswith(f"{prefix}{name}-") and len(rest) == 8 and "-" not in rest


def finish_interrupted(parent: Path, name: str) -> bool:
    """Complete an in-place update of `parent/name` that was killed after its journal was
    written (so the output never stays a mix of two builds). True when there was one."""
    journal = parent / f"{JOURNAL_PREFIX}{name}"
    try:
        plan = json.loads(journal.read_text("utf-8"))
        staged, strays = parent / str(plan["staging"]), [str(p) for p in plan["delete"]]
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError):
        journal.unlink(missing_ok=True)  # written by replace, so never half: not ours
        return False
    if not _ours(str(plan["staging"]), TEMP_PREFIX, name) or "/" in str(plan["staging"]):
        journal.unlink(missing_ok=True)
        return False
    try:
        _apply(parent / name, staged, strays)
    except OSError as exc:
        raise OSError(exc.errno, f"could not finish the interrupted update of this output "
                      f"folder ({exc.strerror or exc}); delete the folder and "
                      f"{journal.name} beside it to build afresh", str(parent / name)) from None
    journal.unlink(missing_ok=True)
    return True


class RealFolders:
    """Folders of one output found to be folders, not links to folders elsewhere (a file
    reached through a link looks unchanged, but is not in the output: the link is a stray).
    One per build and process; the most recent few thousand are remembered."""

    _REMEMBERED = 4096

    def __init__(self, output: Path):
        self.root = str(output) + "/"
        self._known: set[str] = set()

    def hold(self, path: str) -> bool:
        """Whether every folder on the way to `path` is a real folder."""
        unknown = []
        folder = path.rpartition("/")[0]
        while folder and folder not in self._known:
            unknown.append(folder)
            folder = folder.rpartition("/")[0]
        for folder in reversed(unknown):  # from the top: a link is met before what is behind it
            try:
                if not stat.S_ISDIR(os.lstat(self.root + folder).st_mode):
                    return False
            except OSError:
                return False
        if len(self._known) + len(unknown) > self._REMEMBERED:
            self._known.clear()
        self._known.update(unknown)
        return True


class Staging:
    """A fresh temporary folder beside `output` that a build streams its files into.

    Files are written as soon as they are made, so a build holds no more than one record's
    files in memory; forked worker processes write into the same folder. `commit` makes
    the staged site the output; `abort` (or leaving the `with` block with an exception)
    removes the staging folder, and the previous output stays as it was.

    With `incremental`, the previous output is the base: a file whose bytes equal the
    previous output's file is not written at all (it keeps its inode and mtime, so deploy
    tools see only files that really changed), and `commit` is given every path of the new
    site, so it can tell kept files from strays.
    """

    def __init__(self, output: Path, incremental: bool = False):
        self.output = output.absolute()
        parent = self.output.parent
        parent.mkdir(parents=True, exist_ok=True)
        if self.output.exists() and not self.output.is_dir():
            raise NotADirectoryError(f"output path exists and is not a folder: {self.output}")
        self._held = _lock(parent, self.output.name)
        try:
            remove_stale(parent, self.output.name)
        except BaseException:
            _unlock(self._held)
            raise
        self.previous = self.output if incremental and self.output.is_dir() and \
            not self.output.is_symlink() else None
        try:
            self.root = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{self.output.name}-",
                                              dir=parent))
        except BaseException:
            _unlock(self._held)
            raise
        self._root_text = str(self.root)
        self._folders: set[str] = set()
        self._real = RealFolders(self.output) if self.previous is not None else None
        self._journaled = False

    def write(self, item: OutputFile) -> str:
        """Write one file (or keep the previous output's identical one); returns where it
        is. Refuses unsafe paths and a second file at the same path."""
        parts = _checked_parts(item.path)
        if self.previous is not None:
            kept = self._identical(item, parts)
            if kept is not None:
                return kept
        target = self._target(parts)
        try:
            # "x": exclusive creation, so two records that map to one path (in any worker
            # process) are an error instead of one silently replacing the other.
            with open(target, "xb") as handle:
                handle.write(item.data)
        except FileExistsError:
            raise UnsafeOutputPath(f"two files would be written to {item.path!r}") from None
        except (NotADirectoryError, IsADirectoryError):
            raise UnsafeOutputPath(f"{item.path!r} would be both a file and a folder"
                                   ) from None
        return target

    def _identical(self, item: OutputFile, parts: list[str]) -> str | None:
        old = os.path.join(str(self.previous), *parts)
        if self._real is not None and not self._real.hold("/".join(parts)):
            return None  # behind a link: not in the output, however alike
        try:
            info = os.lstat(old)
            if not stat.S_ISREG(info.st_mode) or info.st_size != len(item.data):
                return None
            with open(old, "rb") as handle:
                if handle.read() != item.data:
                    return None
        except OSError:
            return None
        return old

    def _target(self, parts: list[str]) -> str:
        target = os.path.join(self._root_text, *parts)
        folder = os.path.dirname(target)
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            if len(self._folders) >= 4096:  # a unit's files share a few folders: the recent
                self._folders.clear()       # ones are enough, all of them would grow a worker
            self._folders.add(folder)
        return target

    def commit(self, expected: PathSet | None = None, workers: int = 1,
               finder: StrayFinder | None = None) -> None:
        """Make the staged site the output. An incremental build passes `expected`, every
        path of the new site (written or kept); without it the staging folder is the site.
        Strays of an in-place update are found by `finder`, else by `workers` processes
        listing the whole output."""
        try:
            self._commit(expected, workers, finder)
        finally:
            _unlock(self._held)
            self._held = None

    def _commit(self, expected: PathSet | None, workers: int, finder: StrayFinder | None
                ) -> None:
        if self.previous is None or expected is None:
            _make_readable(self.root)
            _swap(self.root, self.output)
            if finder is not None:
                finder.swapped()
            return
        expected.freeze()
        # counted, not listed: after a large change (a new Rugzak version rebuilds every
        # record) the list of staged paths alone would be ~100 bytes per file of the site
        staged_count = 0
        for path, _ in walk_files(self.root):
            expected.check_unique(path)
            staged_count += 1
        in_place = staged_count <= IN_PLACE_SHARE * len(expected)
        if in_place and not _blocked(self.output, (path for path, _ in walk_files(self.root))):
            strays = finder.strays(self.output, expected, workers) if finder is not None \
                else find_strays(self.output, expected, workers)
            # (a stray behind a linked folder is never deleted: see _apply)
            real = RealFolders(self.output)
            refuse_keys_among(self.output, [path for path in strays if real.hold(path)])
            if finder is not None:
                finder.before_update(self.output, itertools.chain(
                    strays, (path for path, _ in walk_files(self.root))))
            journal = self.output.parent / f"{JOURNAL_PREFIX}{self.output.name}"
            with interrupts_held():
                _write_atomically(journal, json.dumps({"staging": self.root.name,
                                                       "delete": strays}).encode())
                self._journaled = True  # from here on, the next build finishes what this starts
                _apply(self.output, self.root, strays)
                journal.unlink(missing_ok=True)
            if finder is not None:
                finder.after_update(self.output)
            return
        # A large change: link the kept files into the staging folder and swap it in whole.
        for path, regular in walk_files(self.output):
            expected.check_unique(path)
            if regular and path not in expected:
                refuse_keys_among(self.output, [path])
            elif regular:
                source, target = os.path.join(self.output, path), self._target(path.split("/"))
                try:
                    os.link(source, target, follow_symlinks=False)
                except FileExistsError:
                    pass  # made again in this build
                except OSError:  # a file system without hard links: a copy, mtime kept
                    if not os.path.lexists(target):
                        shutil.copy2(source, target, follow_symlinks=False)
        _make_readable(self.root)
        _swap(self.root, self.output)
        if finder is not None:
            finder.swapped()

    def abort(self) -> None:
        if not self._journaled:  # else the journal needs the staged files to finish
            shutil.rmtree(self.root, ignore_errors=True)
        _unlock(self._held)
        self._held = None

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is not None:
            self.abort()


def _checked_parts(relative: str) -> list[str]:
    # The staging folder is new and only Rugzak writes into it (never symlinks), so checking
    # the path's text is enough — and much cheaper than resolving it for every file.
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    if relative.startswith("/") or ".." in parts or not parts or "\\" in relative \
            or "\x00" in relative:
        raise UnsafeOutputPath(f"refusing to write outside the output folder: {relative!r}")
    return parts


def _lexical_target(root: Path, relative: str) -> Path:
    return root.joinpath(*_checked_parts(relative))


# a folder's times and relative path (ending in "/", or "" for the output itself) as one
# string, "mtime_ns ctime_ns path": ~60 bytes each where a tuple would cost ~200
FolderStamp = str


class FolderSink(Protocol):
    """Where a listing notes folder stamps (a list, or something that stores them)."""

    def append(self, line: FolderStamp) -> None: ...

    def extend(self, lines: Iterable[FolderStamp]) -> None: ...


class StrayFinder(Protocol):
    """How an in-place update learns what to delete, and reports what it changed (see
    generator/folder_times.py); without one, the whole output is listed."""

    def strays(self, output: Path, expected: "PathSet", workers: int) -> list[str]: ...

    def before_update(self, output: Path, paths: Iterable[str]) -> None: ...

    def after_update(self, output: Path) -> None: ...

    def swapped(self) -> None: ...


def walk_files(root: Path | str, start: str = "", folders: FolderSink | None = None
               ) -> Iterator[tuple[str, bool]]:
    """(relative POSIX path, is a regular file) for everything under `root` (or its folder
    `start`, ending in "/") that is not a folder — symbolic links included, never followed.
    Types come from the folder listing, so this costs no system call per file. With
    `folders`, each sub-folder's times are noted there before it is listed."""
    stack = [start]
    while stack:
        prefix = stack.pop()
        try:
            listing = os.scandir(os.path.join(root, prefix) if prefix else root)
        except FileNotFoundError:
            continue
        # entry by entry, not listed first: the award folder of a large site has 100,000
        # entries, ~20 MB as a list (no caller changes a folder while it is being read)
        with listing:
            for entry in listing:
                relative = f"{prefix}{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    stack.append(relative + "/")
                    if folders is not None:
                        folders.append(_folder_stamp(relative + "/", entry.stat(
                            follow_symlinks=False)))
                else:
                    yield relative, entry.is_file(follow_symlinks=False)


def _folder_stamp(relative: str, info: os.stat_result) -> FolderStamp:
    return f"{info.st_mtime_ns} {info.st_ctime_ns} {relative}"


def find_strays(output: Path, expected: PathSet, workers: int = 1,
                folders: FolderSink | None = None) -> list[str]:
    """Everything in `output` that is not a regular file at a path of `expected` (which
    must be complete); raises UnsafeOutputPath for a path that two files claim.

    A large output is split into its record folders (the children of any folder with many
    entries), which `workers` processes walk in parallel. With `folders`, the times of
    every folder (the output itself as "") are noted there, each taken before the folder
    was listed: while they stay the same, nothing was added to or removed from it."""
    expected.freeze()  # before the workers fork, so they inherit the sorted keys
    strays: list[str] = []
    roots: list[str] = []
    if folders is not None:
        folders.append(_folder_stamp("", os.lstat(output)))
    _split(str(output), "", expected, strays, roots, depth=0, folders=folders)
    if len(roots) < SPLIT_MIN_FOLDERS:
        workers = 1
    # enough chunks for imap_ordered to use its workers, and to even out folder sizes
    size = max(1, len(roots) // max(2 * MIN_ITEMS_PER_WORKER, workers * 16))
    chunks = [roots[i:i + size] for i in range(0, len(roots), size)]
    for found, seen in imap_ordered(_strays_under, chunks,
                                    (str(output), expected, folders is not None), workers):
        strays += found
        if folders is not None:
            folders.extend(seen)
    return strays


SPLIT_MIN_FOLDERS = 5000  # below this many record folders, one process walks them all
_COLLECTION = 64  # a folder with this many entries holds records: its children are split


def _split(root: str, prefix: str, expected: PathSet, strays: list[str], roots: list[str],
           depth: int, folders: FolderSink | None = None) -> None:
    """Check the files of `prefix`; its sub-folders become walk roots, except in a small
    folder near the top (a language or section folder), which is split further."""
    try:
        listing = os.scandir(os.path.join(root, prefix) if prefix else root)
    except FileNotFoundError:
        return
    with listing:
        # whether the folder is small is told by its first entries: a list of all of them
        # would cost ~20 MB for the award folder of a large site, in the process that forks
        head = list(itertools.islice(listing, _COLLECTION))
        small = len(head) < _COLLECTION and depth < 3
        for entry in itertools.chain(head, listing):
            relative = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if folders is not None:
                    folders.append(_folder_stamp(relative + "/",
                                                 entry.stat(follow_symlinks=False)))
                if small:
                    _split(root, relative + "/", expected, strays, roots, depth + 1, folders)
                else:
                    roots.append(relative + "/")
            else:
                check_path(relative, entry.is_file(follow_symlinks=False), expected, strays)


def _strays_under(context: tuple[str, PathSet, bool], prefixes: list[str]
                  ) -> tuple[list[str], list[FolderStamp]]:
    root, expected, with_folders = context
    strays: list[str] = []
    folders: list[FolderStamp] | None = [] if with_folders else None
    for prefix in prefixes:
        for path, regular in walk_files(root, prefix, folders):
            check_path(path, regular, expected, strays)
    return strays, folders or []


def check_path(path: str, regular: bool, expected: PathSet, strays: list[str]) -> None:
    """Add `path` to `strays` unless it is a regular file the new site has; raises
    UnsafeOutputPath for a path that two files claim."""
    expected.check_unique(path)
    if not regular or path not in expected:
        strays.append(path)


def _blocked(output: Path, staged: Iterable[str]) -> bool:
    """Whether a staged file's place in the output is taken by a folder, or one of its
    folders by a file (then only a swap gives the exact new site)."""
    checked: set[str] = set()
    for path in staged:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            relative = "/".join(parts[:depth])
            if relative in checked:
                continue
            checked.add(relative)
            try:
                mode = os.lstat(os.path.join(output, relative)).st_mode
            except FileNotFoundError:
                break
            if stat.S_ISDIR(mode) == (depth == len(parts)) or stat.S_ISLNK(mode):
                return True
    return False


def _apply(output: Path, staged: Path, strays: list[str]) -> None:
    """Delete the strays, rename every staged file over its old version, drop folders left
    empty, remove the staging folder. Every step may be done twice (after a kill)."""
    emptied: set[str] = set()
    real = RealFolders(output)
    for path in strays:
        if not real.hold(path):
            continue  # behind a link: the link itself is a stray, nothing behind it goes
        try:
            os.unlink(_lexical_target(output, path))
        except (FileNotFoundError, IsADirectoryError, UnsafeOutputPath):
            continue
        emptied.add(path.rpartition("/")[0])
    made: set[str] = set()
    for path, _ in list(walk_files(staged)):
        folder = path.rpartition("/")[0]
        if folder and folder not in made:
            os.makedirs(os.path.join(output, folder), exist_ok=True)
            made.add(folder)
        os.replace(os.path.join(staged, path), os.path.join(output, path))
    for folder in sorted(emptied, key=len, reverse=True):
        while folder:
            try:
                os.rmdir(os.path.join(output, folder))
            except OSError:
                break  # not empty, or gone
            folder = folder.rpartition("/")[0]
    shutil.rmtree(staged, ignore_errors=True)


def _write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def write_site(files: Iterable[OutputFile], output: Path) -> int:
    """Write all files into a temporary folder, then swap it in for `output`. Returns count."""
    count = 0
    with Staging(output) as staging:
        for item in files:
            staging.write(item)
            count += 1
        staging.commit()
    return count


def _make_readable(folder: Path) -> None:
    # mkdtemp creates 0700; a published site must be readable by the web server.
    os.chmod(folder, 0o755)


def _swap(staging: Path, output: Path) -> None:
    if not output.exists():
        os.replace(staging, output)
        return
    old = Path(tempfile.mkdtemp(prefix=f"{OLD_PREFIX}{output.name}-", dir=output.parent))
    os.rmdir(old)
    trash = old.with_name(TRASH_PREFIX + old.name[len(OLD_PREFIX):])
    with interrupts_held():  # (a kill in between is undone by the next build: remove_stale)
        os.replace(output, old)
        os.replace(staging, output)
        # renamed before it is deleted: a folder set aside and half deleted (an interrupt
        # during the deletion) must never be taken for an output to restore
        os.replace(old, trash)
    shutil.rmtree(trash, ignore_errors=True)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait until the block is done: while the output is being
    updated, an interrupt would leave it a mix of two builds until the next build. (Only the
    main thread can hold them; a kill cannot be held, which is what the journal is for.)"""
    if threading.current_thread() is not threading.main_thread() or \
            not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK,
                                      {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
