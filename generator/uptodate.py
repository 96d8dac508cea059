"""Skip a build whose inputs and output are exactly as the previous build left them.

A warm rebuild (generator/reuse.py) keeps the files of unchanged records, but it still loads,
validates, models and fingerprints every record to find out what changed. When nothing did,
the last build's *stamp* says so much sooner: a digest of every input's identity on disk
(each file under content/ and the theme folders by size, times, inode and device — as the
record cache knows files), Rugzak's code, the library versions, the keys and the build
options; and the stretch of build clocks that gives the same site (no date in the records —
an issue, expiry or revocation date, the start of an expiry warning — lies between).

A build whose inputs match the stamp then only checks the output, as a warm rebuild would:
every file the previous build left is still there with its size and mtime, and nothing else
is. Listing every folder of a large output costs more than all the rest, so that is told
from the folder times the index keeps (generator/folder_times.py) where it can. Anything
else — a changed file, a file younger than two seconds (it could change again within its
timestamp's tick), another day that crosses an expiry, a file edited or added in the
output — means a normal build.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import time
from array import array
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from generator.cache import code_digest
from generator.folder_times import FolderNotes, stamp_rows, strays_by_times
from generator.keys import Keyring
from generator.model import EXPIRES_SOON_DAYS, Site
from generator.parallel import imap_ordered
from generator.reuse import RealFolders, UnitEntry, UnitIndex, keyring_digest, unchanged_files
from generator.write import FolderStamp, PathSet, UnsafeOutputPath, find_strays, path_key

STAMP_FORMAT = "rugzak-stamp-1"
_RACY_NS = 2_000_000_000  # as the record cache: a file this young may change within its tick
_MODULUS = 1 << 256
# the libraries whose output ends up in the site (a new version may write other bytes):
# pyproject.toml's dependencies (a test keeps the two lists the same)
LIBRARIES = ("jinja2", "markdown", "pyyaml", "cryptography", "qrcode", "pillow", "nh3", "pyld",
             "babel")


FileVisitor = Callable[[str, os.stat_result], None]


class InputDigest:
    """A digest of file identities that does not depend on the order they are added in (a
    folder listing has no fixed order, and sorting every name of a large site costs memory):
    the sum of each entry's hash. `racy` when a file changed too recently to be trusted."""

    def __init__(self) -> None:
        self._sum = 0
        self.count = 0
        self.racy = False
        self._now = time.time_ns()

    def add(self, *parts: object) -> None:
        text = "\0".join(map(str, parts)).encode("utf-8", "surrogateescape")
        self._sum = (self._sum + int.from_bytes(hashlib.sha256(text).digest(), "big")) \
            % _MODULUS
        self.count += 1

    def add_tree(self, label: str, folder: Path, on_file: FileVisitor | None = None) -> None:
        """Every entry under `folder`: files (links followed) by identity, folders by name.
        `on_file(path, info)` is called for each regular file that is not a link, so a scan
        of the same folder (for key material) needs no listing of its own."""
        stack = [""]
        root = str(folder)
        while stack:
            relative = stack.pop()
            try:
                entries = os.scandir(os.path.join(root, relative) if relative else root)
            except FileNotFoundError:
                self.add(label, relative, "missing")
                continue
            except OSError as exc:
                self.add(label, relative, "unreadable", exc.errno)
                continue
            with entries:
                for entry in entries:
                    path = f"{relative}/{entry.name}" if relative else entry.name
                    info = self._entry(label, path, entry, stack)
                    if on_file is not None and info is not None and \
                            stat.S_ISREG(info.st_mode) and not entry.is_symlink():
                        on_file(entry.path, info)

    def _entry(self, label: str, path: str, entry: os.DirEntry, stack: list[str]
               ) -> os.stat_result | None:
        try:
            if entry.is_dir(follow_symlinks=False):
                self.add(label, path, "dir")
                stack.append(path)
                return None
            info = entry.stat()  # a link counts as what it points to
        except OSError:
            self.add(label, path, "broken")
            return None
        if stat.S_ISDIR(info.st_mode):  # a link to a folder: the build may read through it
            self.racy = True  # (its files are not listed here), so never trust the stamp
            return None
        if self._now - max(info.st_mtime_ns, info.st_ctime_ns) <= _RACY_NS:
            self.racy = True
        self.add(label, path, stat.S_IFMT(info.st_mode), info.st_size, info.st_mtime_ns,
                 info.st_ctime_ns, info.st_ino, info.st_dev)
        return info

    def hexdigest(self) -> str:
        return f"{self._sum:064x}-{self.count}"


def build_inputs(digest: InputDigest, content: Path, theme_folders: Iterable[Path],
                 keyring: Keyring, options: dict[str, Any]) -> InputDigest:
    """Add to `digest` of the content folder (`digest.add_tree("content", content)`, done
    by the scan for key material) everything else a build reads: the theme folders,
    Rugzak's code, the libraries' versions, the keys and the build options (base URL,
    script hashes, output folder)."""
    digest.add("format", STAMP_FORMAT, code_digest(), sys.version)
    for name in LIBRARIES:
        try:
            digest.add("library", name, metadata.version(name))
        except metadata.PackageNotFoundError:
            digest.add("library", name, "absent")
    digest.add("keys", keyring_digest(keyring).hex())
    digest.add("options", json.dumps(options, sort_keys=True, default=str))
    seen = {content.resolve()}
    for folder in theme_folders:
        resolved = folder.resolve()
        if resolved not in seen:
            seen.add(resolved)
            digest.add_tree(f"themes:{resolved}", folder)
    return digest


@dataclass(frozen=True)
class TimeWindow:
    """The build clocks that give the same site as the clock `now` of the build: none of
    the site's dates (thresholds) lies between them. `after`/`before` are the nearest
    thresholds on either side; `touching` when one equals `now` exactly."""

    now: datetime
    after: datetime | None
    before: datetime | None
    touching: bool

    def admits(self, moment: datetime) -> bool:
        """Whether a build at `moment` makes the same site as one at `now`."""
        if moment == self.now:
            return True
        return not self.touching and (self.after is None or moment > self.after) and \
            (self.before is None or moment < self.before)

    def to_json(self) -> list[str | bool | None]:
        return [_iso(self.now), _iso(self.after), _iso(self.before), self.touching]

    @classmethod
    def from_json(cls, value: list[Any]) -> "TimeWindow":
        now, after, before, touching = value
        return cls(datetime.fromisoformat(now), _parse(after), _parse(before), bool(touching))


def time_window(site: Site) -> TimeWindow:
    """Where the clock enters a build: an award is expired from its expiry on, 'expires
    soon' from EXPIRES_SOON_DAYS before it, and an award, revocation or signed endorsement
    dated after the clock is refused; every such date is a threshold."""
    now = site.now
    after: datetime | None = None
    before: datetime | None = None
    touching = False
    for moment in _thresholds(site):
        if moment < now:
            after = moment if after is None or moment > after else after
        elif moment > now:
            before = moment if before is None or moment < before else before
        else:
            touching = True
    return TimeWindow(now, after, before, touching)


def _thresholds(site: Site) -> Iterator[datetime]:
    soon = timedelta(days=EXPIRES_SOON_DAYS)
    for award in site.awards:
        yield award.issued
        if award.expires is not None:
            yield award.expires
            yield award.expires - soon
        if award.revocation is not None:
            yield award.revocation.date
    for endorsement in site.endorsements:
        yield endorsement.date
        if endorsement.signed is not None:
            yield from _dates_in(endorsement.signed)


def _dates_in(value: Any) -> Iterator[datetime]:
    """Every date or date-time written in a (signed) JSON document, as UTC instants; a bare
    date counts as its whole UTC day."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _dates_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dates_in(item)
    elif isinstance(value, str) and 10 <= len(value) <= 40 and value[:4].isdigit() \
            and value[4:5] == "-":
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        yield moment
        if len(value) == 10:
            yield moment + timedelta(days=1)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class BuildStamp:
    """What a finished build leaves beside its unit index to recognise a repeat of it."""

    inputs: str
    window: TimeWindow
    site_files: tuple[tuple[str, int, int], ...]  # (path, size, mtime_ns), not in any unit
    counts: dict[str, int]
    warnings: tuple[str, ...]
    files: int
    units: int

    def to_json(self) -> str:
        return json.dumps({"format": STAMP_FORMAT, "inputs": self.inputs,
                           "window": self.window.to_json(), "site_files": self.site_files,
                           "counts": self.counts, "warnings": self.warnings,
                           "files": self.files, "units": self.units}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "BuildStamp | None":
        """The stamp, or None when it is damaged or from another version."""
        try:
            value = json.loads(text)
            if value.get("format") != STAMP_FORMAT:
                return None
            return cls(str(value["inputs"]), TimeWindow.from_json(value["window"]),
                       tuple((str(p), int(s), int(m)) for p, s, m in value["site_files"]),
                       {str(k): int(n) for k, n in value["counts"].items()},
                       tuple(str(w) for w in value["warnings"]), int(value["files"]),
                       int(value["units"]))
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def matching_stamp(index: UnitIndex, inputs: InputDigest, now: datetime) -> BuildStamp | None:
    """The previous build's stamp when this build has the same inputs and an admitted clock."""
    if inputs.racy:
        return None
    text = index.meta("stamp")
    found = BuildStamp.from_json(text) if text else None
    if found is None or found.inputs != inputs.hexdigest() or not found.window.admits(now):
        return None
    return found


_CHUNK_UNITS = 500  # index rows per task: enough tasks for every worker


def output_unchanged(index: UnitIndex, output: Path, stamp: BuildStamp, workers: int) -> bool:
    """Whether `output` holds exactly the files the stamped build left there: every unit's
    and site-wide file with its size and mtime, and nothing else."""
    if not unchanged_files(stamp.site_files, output):
        return False
    expected = PathSet()
    for path, _, _ in stamp.site_files:
        expected.add(path)
    span = index.row_span()
    if span is None:
        return False
    first, last = span
    chunks = [(start, min(start + _CHUNK_UNITS - 1, last))
              for start in range(first, last + 1, _CHUNK_UNITS)]
    units = 0
    for found in imap_ordered(_check_units, chunks, (index, output), workers):
        if found is None:
            return False
        count, keys = found
        units += count
        expected.extend(keys)
    if units != stamp.units or len(expected) != stamp.files:
        return False
    return _nothing_else(index, output, expected, workers)


def _nothing_else(index: UnitIndex, output: Path, expected: PathSet, workers: int) -> bool:
    """Whether `output` holds no entry beyond `expected`: told from the folder rows the
    index keeps where it can, else by listing everything; the rows are kept up to date."""
    notes = FolderNotes()
    try:
        strays = strays_by_times(output, expected, index, (), notes, workers)
        if strays is not None:
            if strays:
                return False
            index.remember_folder_rows(notes.rows(), notes.gone, fresh=False)
            return True
        stamps: list[FolderStamp] = []
        if find_strays(output, expected, workers, stamps):
            return False
    except (UnsafeOutputPath, OSError):
        return False
    index.remember_folder_rows(stamp_rows(stamps), set(), fresh=True)
    return True


def _check_units(context: tuple[UnitIndex, Path], span: tuple[int, int]
                 ) -> tuple[int, array] | None:
    """The number of units in a span of index rows and their files' path keys, when all
    their files are unchanged; else None."""
    index, output = context
    keys = array("q")
    count = 0
    folders = RealFolders(output)
    rows = index.units_between(*span)
    if rows is None:
        return None
    for _, text in rows:
        try:
            entry = UnitEntry.from_json(text)
        except (ValueError, TypeError):
            return None
        if not unchanged_files(entry.files, output, folders):
            return None
        keys.extend(map(path_key, [path for path, _, _ in entry.files]))
        count += 1
    return count, keys
