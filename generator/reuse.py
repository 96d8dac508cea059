"""Warm rebuilds: a record whose inputs did not change keeps its files from the last build.

Each award and profile unit has a fingerprint: a hash of everything its files are made from —
its part of the model (the award with its learner, badge and issuer; a learner with their
awards), everything site-wide (the site without its awards and learners, the theme's files,
Rugzak's own code and data, the keys) — and the previous build's index (an SQLite file in the
cache folder, one per output folder) remembers, per unit, the fingerprint and the files it
wrote with their sizes and modification times. A unit with the same fingerprint whose files
are still exactly there (size and mtime match, so a hand-edited or deleted output file is
noticed) keeps its files where they are instead of being signed, drawn and rendered again
(generator/write.py updates the output in place, with a journal, or swaps it whole after
a large change). Unchanged files keep their inode and mtime, so deploy tools (rsync, Git)
see only what really changed.

The output guard's inputs (learner identifiers, public addresses, keys) are fingerprinted as
well: when they change, reused files are read and checked again before they are published.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from generator.cache import code_digest
from generator.keys import Keyring
from generator.model import Award, Learner, Localized, Site
from generator.theme import Theme
from generator.write import RealFolders

INDEX_FORMAT = "rugzak-units-2"
_RECORD_BATCH = 1000
_READ_AHEAD = 64  # unit entries read at most with the one asked for


@dataclass(frozen=True)
class UnitEntry:
    """What one unit wrote: its fingerprint, files as (path, size, mtime_ns), sitemap paths,
    and the host-rule keys of its files (see `scaffold.host_rule_key`: kept, so a unit whose
    files are kept does not derive them again)."""

    fingerprint: str
    files: tuple[tuple[str, int, int], ...]
    listed: tuple[str, ...]
    hosts: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps([self.fingerprint, self.files, self.listed, self.hosts],
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "UnitEntry":
        fingerprint, files, listed, hosts = json.loads(text)
        return cls(fingerprint, tuple((p, s, m) for p, s, m in files), tuple(listed),
                   tuple(hosts))


class Fingerprinter:
    """Stable hashes of model objects; shared objects (badges, issuers) are hashed once.

    Each object becomes a tuple of plain values (strings, numbers, dates, and the digests of
    the objects it holds) whose `repr` is hashed once: `repr` of these types is the same in
    every process and run, and writing the tuple out in C is several times faster than
    feeding a hash value by value."""

    def __init__(self) -> None:
        self._memo: dict[int, tuple[Any, bytes]] = {}
        self._fields: dict[type, tuple[str, ...]] = {}
        self._handlers: dict[type, Callable[[Any], Any]] = {}

    def of(self, value: Any) -> bytes:
        """A digest of `value` and everything reachable from it."""
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._object(value)
        return _digest(self._token(value))

    def of_record(self, value: Any) -> bytes:
        """The digest of a record (a dataclass with an `id` or `slug`), remembered."""
        return self._object(value)

    def _token(self, value: Any) -> Any:
        kind = type(value)
        if kind in _PLAIN:
            return value
        handler = self._handlers.get(kind)
        if handler is None:  # what a type is, asked once per type (the checks are slow)
            handler = self._handlers[kind] = self._handler(kind)
        return handler(value)

    def _handler(self, kind: type) -> Callable[[Any], Any]:
        if kind is tuple or kind is list or issubclass(kind, (tuple, list)):
            # (a named tuple or a list subclass is looked inside, under its own name)
            name = kind.__name__ if kind is tuple or kind is list else kind.__qualname__
            return lambda value: (name, tuple([self._token(item) for item in value]))
        if dataclasses.is_dataclass(kind):
            if self._entity(kind):
                return lambda value: ("obj", self._object(value))
            return self._fields_of
        if issubclass(kind, bytes):
            return lambda value: ("bytes", hashlib.sha256(value).digest())
        if issubclass(kind, dict):
            return self._dict
        if issubclass(kind, (set, frozenset)):
            return lambda value: (kind.__name__, tuple(sorted(repr(self._token(item))
                                                              for item in value)))
        if issubclass(kind, Path):
            # what a path contributes to the output is the file's content
            return lambda value: ("path", hashlib.sha256(value.read_bytes()).digest()
                                  if value.is_file() else str(value))
        return lambda value: (kind.__qualname__, repr(value))

    def _dict(self, value: dict[Any, Any]) -> Any:
        if all(type(key) is str for key in value):  # the usual case: no repr per key
            return ("dict", tuple([(key, self._token(item))
                                   for key, item in sorted(value.items())]))
        # keys of other types by their repr, under their own tag (so {1: x} is not
        # {"1": x}); sorted by the whole pair, as two keys may share a repr (nan)
        return ("dict*", tuple(sorted(((repr(self._token(key)), self._token(item))
                                      for key, item in value.items()), key=repr)))

    def _object(self, value: Any) -> bytes:
        found = self._memo.get(id(value))
        if found is not None and found[0] is value:
            return found[1]
        digest = _digest(self._fields_of(value))
        # Awards are not remembered (hashed here only when a theme's templates see every
        # record, see `site_fingerprint`): a worker remembering each would grow with them.
        if self._entity(type(value)) and type(value) is not Award:
            self._memo[id(value)] = (value, digest)
        return digest

    def _fields_of(self, value: Any) -> tuple[Any, ...]:
        kind = type(value)
        names = self._names(kind)
        return (kind.__qualname__, names, tuple([self._token(getattr(value, name))
                                                 for name in names]))

    def _names(self, kind: type) -> tuple[str, ...]:
        names = self._fields.get(kind)
        if names is None:
            # fields that take no part in equality are caches: whether one was filled yet
            # must not change a digest
            names = self._fields[kind] = tuple(f.name for f in dataclasses.fields(kind)
                                               if f.compare)
        return names

    def _entity(self, kind: type) -> bool:
        """Records (with an `id` or `slug`) are shared by many units: hashed once and
        remembered. Small values inside them (texts, evidence) are hashed in place."""
        names = self._names(kind)
        return "id" in names or "slug" in names


# values whose repr is exact and the same in every process (str, not its subclasses)
_PLAIN = frozenset({str, int, float, bool, type(None), datetime, date})


def _digest(token: Any) -> bytes:
    return hashlib.sha256(repr(token).encode("utf-8", "surrogatepass")).digest()


def _files_digest(folders: Iterable[Path]) -> bytes:
    hasher = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()
                           and "__pycache__" not in p.parts):
            hasher.update(path.relative_to(folder).as_posix().encode() + b"\0")
            hasher.update(hashlib.sha256(path.read_bytes()).digest())
    return hasher.digest()


def keyring_digest(keyring: Keyring) -> bytes:
    """The keys (ids name key pairs), their states and the site secret."""
    hasher = hashlib.sha256(hashlib.sha256(keyring.site_secret).digest())
    for key in keyring.keys:
        hasher.update(f"{key.key_id}:{key.algorithm}:{key.status};".encode())
    return hasher.digest()


def site_fingerprint(site: Site, theme: Theme, keyring: Keyring,
                     csp_script_hashes: tuple[str, ...]) -> bytes:
    """Everything every unit depends on: the site without its awards and learners (and
    without the build clock, which reaches pages only through each award's status), the
    theme's files, Rugzak's code and bundled data, the keys and the build options."""
    records = {} if _templates_see_every_record(theme) else {"awards": (), "learners": ()}
    general = dataclasses.replace(site, **records, now=datetime(2000, 1, 1),
                                  content_root=Path("."))
    hasher = hashlib.sha256(INDEX_FORMAT.encode())
    hasher.update(Fingerprinter().of(general))
    hasher.update(_files_digest(theme.folders))
    hasher.update(code_digest().encode())
    hasher.update(keyring_digest(keyring))
    hasher.update(json.dumps(list(csp_script_hashes)).encode())
    return hasher.digest()


_EVERY_RECORD = re.compile(r"\bsite\s*\.\s*(?:awards|learners)\b")


def _templates_see_every_record(theme: Theme) -> bool:
    """Whether a template reads all awards or learners (`site.awards`): then any record
    can change any page, and every unit's fingerprint covers every record."""
    for folder in theme.folders:
        for path in sorted((folder / "templates").rglob("*")):
            if path.is_file() and _EVERY_RECORD.search(path.read_text("utf-8", "replace")):
                return True
    return False


def guard_fingerprint(site: Site, keyring: Keyring) -> str:
    """What the output guard checks against: learner identifiers, public addresses, keys."""
    hasher = hashlib.sha256(keyring_digest(keyring))
    for identifier in sorted(l.identifier.lower() for l in site.learners):
        hasher.update(identifier.encode("utf-8") + b"\0")
    for issuer in site.issuers:
        hasher.update(f"{issuer.email}|{issuer.telephone};".encode("utf-8"))
    return hasher.hexdigest()


# What `award_fingerprint` hashes of an award, its evidence and its texts, field by field (a
# test holds these to the model's fields: a field added there must be added here).
AWARD_FIELDS = ("id", "learner", "badge", "issued", "expires", "narrative", "evidence",
                "status", "expires_soon", "status_index", "revocation")
EVIDENCE_FIELDS = ("url", "name", "description")
LOCALIZED_FIELDS = ("values", "default")


def award_fingerprint(base: bytes, prints: Fingerprinter, award: Award) -> str:
    """An award unit's fingerprint. Awards are the many (100,000 in a build that keeps
    nearly all of them), so their token is written out here rather than found by
    `Fingerprinter`'s walk of the model, at less than half the cost; their learner and
    badge are records, hashed by it once each."""
    revocation = award.revocation
    token = ("award", award.id, prints.of_record(award.learner),
             prints.of_record(award.badge), award.issued, award.expires,
             _text_token(award.narrative),
             tuple([(item.url, _text_token(item.name), _text_token(item.description))
                    for item in award.evidence]),
             award.status, award.expires_soon, award.status_index,
             prints.of(revocation) if revocation is not None else None)
    return hashlib.sha256(base + repr(token).encode("utf-8", "surrogatepass")).hexdigest()


def _text_token(text: Localized | None) -> Any:
    # (texts are str in every language, whose repr is exact; their order does not count,
    # as for every mapping `Fingerprinter` hashes)
    return None if text is None else (tuple(sorted(text.values.items())), text.default)


def profile_fingerprint(base: bytes, prints: Fingerprinter, learner: Learner,
                        award_prints: bytes) -> str:
    """A profile's fingerprint from its learner and its awards' fingerprints (raw, in the
    profile's order): each award was hashed for its own unit already."""
    return hashlib.sha256(base + b"profile" + prints.of(learner) + award_prints).hexdigest()


def index_path(cache_folder: Path, output: Path) -> Path:
    """The unit index of one output folder, in the cache folder."""
    key = hashlib.sha256(str(output.absolute()).encode("utf-8")).hexdigest()[:20]
    return cache_folder / "units" / f"{key}.sqlite"


class UnitIndex:
    """The previous build's units (read by workers) and this build's (written by the parent,
    swapped in only after the output was)."""

    def __init__(self, path: Path):
        self.path = path
        self._reader: sqlite3.Connection | None = None
        self._reader_pid = 0
        # entries read ahead by `lookup` (per process, like the reader), and how many to read
        self._ahead: dict[str, str | None] = {}
        self._ahead_rows = 1
        self._writer: sqlite3.Connection | None = None
        self._recorded: list[tuple[str, str | None]] = []  # not yet written (see `record`)
        self.carried = False  # this build's index began as a copy of the previous one
        self._settled = False
        self.guard = self.meta("guard")

    def _read(self) -> sqlite3.Connection | None:
        # one connection per process: workers are forked, and connections must not be shared
        if self._reader_pid != os.getpid():
            self._reader, self._reader_pid = None, os.getpid()
            self._ahead, self._ahead_rows = {}, 1
            if self.path.is_file():
                try:
                    self._reader = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
                except sqlite3.Error:
                    self._reader = None
        return self._reader

    def meta(self, name: str) -> str | None:
        """A value the previous build noted (see `note`), or None."""
        try:
            reader = self._read()
            row = reader.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone() \
                if reader else None
        except sqlite3.Error:
            return None
        return row[0] if row else None

    def lookup(self, key: str) -> str | None:
        """The unit's entry from the previous build as stored (see `UnitEntry.to_json`: a
        caller that only compares the fingerprint need not decode it); or None.

        Units are asked for in about the order the previous build recorded them, so the
        rows after the one asked for are read with it (one query per unit cost a warm
        build ~1 s of CPU at 100,000 awards); how many adapts to how many were used."""
        try:
            reader = self._read()
            if key in self._ahead:
                entry = self._ahead.pop(key)
            elif reader is None:
                return None
            else:
                # twice as many when most read ahead were asked for, else a quarter
                left, rows = len(self._ahead), self._ahead_rows
                self._ahead_rows = min(_READ_AHEAD, 2 * rows) if 2 * left < rows else \
                    max(1, rows // 4)
                found = reader.execute(
                    "SELECT key, entry FROM units WHERE rowid >= (SELECT rowid FROM units "
                    "WHERE key = ?) ORDER BY rowid LIMIT ?", (key, self._ahead_rows)).fetchall()
                if not found or found[0][0] != key:
                    self._ahead = {}
                    return None
                entry = found[0][1]
                self._ahead = dict(found[1:])
        except sqlite3.Error:
            return None  # a damaged index only costs time
        return entry if isinstance(entry, str) else None

    def row_span(self) -> tuple[int, int] | None:
        """The first and last row numbers of the previous build's units (for splitting a
        scan of all of them between workers); None without an index."""
        try:
            reader = self._read()
            row = reader.execute("SELECT min(rowid), max(rowid) FROM units").fetchone() \
                if reader else None
        except sqlite3.Error:
            return None
        return (row[0], row[1]) if row and row[0] is not None else None

    def units_between(self, first: int, last: int) -> list[tuple[str, str]] | None:
        """The keys and stored entries of the previous build's units in a span of row
        numbers; None when the index cannot be read (not: no units)."""
        try:
            reader = self._read()
            return reader.execute("SELECT key, entry FROM units WHERE rowid BETWEEN ? AND ?",
                                  (first, last)).fetchall() if reader else None
        except sqlite3.Error:
            return None

    def unit_count(self) -> int | None:
        """How many units the previous build recorded; None without an index."""
        try:
            reader = self._read()
            row = reader.execute("SELECT count(*) FROM units").fetchone() if reader else None
        except sqlite3.Error:
            return None
        return row[0] if row else None

    def remember(self, name: str, value: str) -> None:
        """Add a value to the previous build's index, found out after it (see
        generator/uptodate.py); a new build's index starts without it."""
        try:
            with closing(sqlite3.connect(self.path, timeout=2.0)) as db, db:
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))
        except (OSError, sqlite3.Error):
            pass  # only costs time next build

    # --- folder times (generator/folder_times.py) -------------------------------------------

    def folder_rows(self) -> Iterator[FolderRow]:
        """The previous build's folder rows, one at a time; raises sqlite3.Error when it
        kept none."""
        reader = self._read()
        if reader is None or not reader.execute(
                "SELECT 1 FROM meta WHERE name = 'folder_times'").fetchone():
            raise sqlite3.OperationalError("no folder times")
        for path, mtime, ctime in reader.execute("SELECT path, mtime, ctime FROM folder_times"):
            yield os.fsdecode(path), mtime, ctime

    def folder_row_count(self) -> int:
        """How many folder rows the previous build kept; raises sqlite3.Error."""
        reader = self._read()
        if reader is None:
            raise sqlite3.OperationalError("no index")
        return reader.execute("SELECT count(*) FROM folder_times").fetchone()[0]

    def folder_row_span(self) -> tuple[int, int] | None:
        """The first and last row numbers of the previous build's folder rows (to split a
        check of them between workers); None without any. Raises sqlite3.Error."""
        reader = self._read()
        if reader is None or not reader.execute(
                "SELECT 1 FROM meta WHERE name = 'folder_times'").fetchone():
            raise sqlite3.OperationalError("no folder times")
        row = reader.execute("SELECT min(rowid), max(rowid) FROM folder_times").fetchone()
        return (row[0], row[1]) if row and row[0] is not None else None

    def folder_rows_between(self, first: int, last: int) -> Iterator[FolderRow]:
        """The previous build's folder rows in a span of row numbers; raises sqlite3.Error."""
        reader = self._read()
        if reader is None:
            raise sqlite3.OperationalError("no index")
        for path, mtime, ctime in reader.execute(
                "SELECT path, mtime, ctime FROM folder_times WHERE rowid BETWEEN ? AND ?",
                (first, last)):
            yield os.fsdecode(path), mtime, ctime

    def knows_folder(self, path: str) -> bool:
        """Whether the previous build's folder rows have one for `path`; raises
        sqlite3.Error."""
        reader = self._read()
        return reader is not None and reader.execute(
            "SELECT 1 FROM folder_times WHERE path = ?", (os.fsencode(path),)
        ).fetchone() is not None

    def replaced_files(self) -> Iterator[str]:
        """Files of the previous build that this build's index (recorded so far) does not
        list for the same unit — of units made again, or gone — and the previous build's
        site-wide files; raises sqlite3.Error or ValueError when they cannot be told."""
        writer = self._settle()
        if writer is None or not self.path.is_file():
            raise sqlite3.OperationalError("no index")
        site_files = self.meta("site_files")
        if site_files is None:
            raise sqlite3.OperationalError("the previous build noted no site-wide files")
        yield from (str(path) for path in json.loads(site_files))
        self._attach_previous()
        for old, new in writer.execute(
                "SELECT o.entry, n.entry FROM previous.units AS o LEFT JOIN main.units AS n "
                "ON n.key = o.key WHERE n.entry IS NULL OR n.entry <> o.entry"):
            kept = {path for path, _, _ in UnitEntry.from_json(new).files} if new else set()
            yield from (path for path, _, _ in UnitEntry.from_json(old).files
                        if path not in kept)

    def _attach_previous(self) -> None:
        """Open the previous build's index beside this build's, as `previous`."""
        assert self._writer is not None
        if not self._writer.execute("SELECT 1 FROM pragma_database_list "
                                    "WHERE name = 'previous'").fetchone():
            if not self.path.is_file():  # (ATTACH would make an empty one)
                raise sqlite3.OperationalError("no previous index")
            self._writer.commit()  # (no ATTACH within a transaction)
            self._writer.execute("ATTACH DATABASE ? AS previous", (str(self.path),))

    def keep_folder_rows(self, rows: Iterable[FolderRow], gone: set[str], carry: bool
                         ) -> None:
        """Add to this build's folder rows: the previous build's (when `carry`), then
        `rows` in place of theirs, without `gone`."""
        if self._settle() is None:
            return
        try:
            if carry and not self.carried:  # (a carried index has them already)
                self._attach_previous()
                self._writer.execute("INSERT OR REPLACE INTO folder_times "
                                     "SELECT path, mtime, ctime FROM previous.folder_times")
            _change_rows(self._writer, rows, gone)
            self._writer.execute("INSERT OR REPLACE INTO meta VALUES ('folder_times', '1')")
        except sqlite3.Error:
            self._writer = None  # no index: the next build is cold, nothing worse

    def drop_folder_rows(self) -> None:
        """Forget this build's folder rows (its output was swapped in whole, or is listed
        again)."""
        if self._writer is not None:
            try:
                self._writer.execute("DELETE FROM folder_times")
                self._writer.execute("DELETE FROM meta WHERE name = 'folder_times'")
            except sqlite3.Error:
                self._writer = None

    def remember_folder_rows(self, rows: Iterable[FolderRow], gone: set[str], fresh: bool
                             ) -> None:
        """Change the previous build's folder rows after a check of its output found it
        as that build left it (`fresh`: `rows` are all of them)."""
        try:
            with closing(sqlite3.connect(self.path, timeout=2.0)) as db, db:
                db.execute(_FOLDER_TABLE)
                if fresh:
                    db.execute("DELETE FROM folder_times")
                _change_rows(db, rows, gone)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('folder_times', '1')")
        except (OSError, sqlite3.Error):
            pass  # only costs time next build

    def start(self, guard: str, carry: bool = False) -> None:
        """Begin this build's index (beside the old one until `finish`).

        With `carry` (the previous index was made by this code for this output), it begins
        as a copy of the previous index, and a unit kept unchanged is recorded by its key
        alone: one file copy instead of writing every unit's entry again (~190 MB at
        100,000 awards); the units this build did not record are dropped once all are in.
        """
        temp = self.path.with_suffix(".new")
        self.carried = self._settled = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp.unlink(missing_ok=True)
            if carry and self.path.is_file():
                shutil.copyfile(self.path, temp)
                self.carried = True
            self._writer = sqlite3.connect(temp)
            self._writer.executescript(
                "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                "CREATE TABLE IF NOT EXISTS units (key TEXT PRIMARY KEY, entry TEXT);"
                "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT);"
                "DELETE FROM meta;"  # (the previous build's notes are not this build's)
                "CREATE TEMP TABLE recorded (key TEXT);" + _FOLDER_TABLE + ";")
            self._writer.execute("INSERT INTO meta VALUES ('guard', ?)", (guard,))
        except (OSError, sqlite3.Error):
            self._writer, self.carried = None, False  # no index: the next build is cold

    def record(self, key: str, entry: str | None) -> None:
        """Remember a unit of this build (`entry`: a UnitEntry's JSON, made in the worker;
        None for a unit kept as the previous build left it, when the index is `carried`).
        Every unit is recorded before the index is read back (`replaced_files`) or noted."""
        if self._writer is not None:
            self._recorded.append((key, entry))
            if len(self._recorded) >= _RECORD_BATCH:
                self._flush()

    def _flush(self) -> sqlite3.Connection | None:
        """The writer, with the units recorded so far written into it (in batches: one
        statement a unit costs the parent ~10 µs per unit)."""
        if self._writer is not None and self._recorded:
            try:
                self._writer.executemany("INSERT OR REPLACE INTO units VALUES (?, ?)",
                                         [row for row in self._recorded if row[1] is not None])
                if self.carried:
                    self._writer.executemany("INSERT INTO temp.recorded VALUES (?)",
                                             [(key,) for key, _ in self._recorded])
            except sqlite3.Error:
                self._writer = None
        self._recorded = []
        return self._writer

    def _settle(self) -> sqlite3.Connection | None:
        """`_flush`, and once every unit is in: a carried index drops the previous build's
        units this build did not record (gone from the site, or keyed otherwise)."""
        writer = self._flush()
        if writer is not None and self.carried and not self._settled:
            try:
                writer.execute("DELETE FROM units WHERE key NOT IN "
                               "(SELECT key FROM temp.recorded)")
            except sqlite3.Error:
                self._writer = writer = None
        self._settled = True
        return writer

    def note(self, name: str, value: str) -> None:
        """Keep a value with this build's index (read back with `meta` by the next build)."""
        if self._settle() is not None:
            try:
                self._writer.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))
            except sqlite3.Error:
                self._writer = None

    def finish(self) -> None:
        """Replace the old index with this build's (after the output swap)."""
        if self._settle() is None:
            return
        try:
            self._writer.commit()
            self._writer.close()
            os.replace(self.path.with_suffix(".new"), self.path)
        except (OSError, sqlite3.Error):
            pass
        self._writer = None

    def abandon(self) -> None:
        self._recorded = []
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.path.with_suffix(".new").unlink(missing_ok=True)


# a folder of the output ("" for the output itself, else ending in "/") with its mtime and
# ctime in ns when it held exactly one build's files; NULL times: not known
_FOLDER_TABLE = ("CREATE TABLE IF NOT EXISTS folder_times "
                 "(path BLOB PRIMARY KEY, mtime INTEGER, ctime INTEGER)")
FolderRow = tuple[str, int | None, int | None]


def _change_rows(db: sqlite3.Connection, rows: Iterable[FolderRow], gone: set[str]) -> None:
    # paths as bytes: a folder name need not be valid UTF-8 (kept as surrogates in Python)
    db.executemany("INSERT OR REPLACE INTO folder_times VALUES (?, ?, ?)",
                   ((os.fsencode(path), mtime, ctime) for path, mtime, ctime in rows))
    db.executemany("DELETE FROM folder_times WHERE path = ?",
                   ((os.fsencode(path),) for path in gone))


def unchanged_files(files: Iterable[Sequence[Any]], output: Path,
                    folders: RealFolders | None = None) -> bool:
    """Whether every file (path, size, mtime_ns: an entry's `files`) is still in `output`,
    as it was written (and in real folders: `folders`, for `output`, remembers those
    already checked)."""
    root = str(output) + "/"  # paths in an entry are relative POSIX paths, checked on write
    folders = folders or RealFolders(output)
    last = ""
    for path, size, mtime in files:
        try:
            info = os.lstat(root + path)
        except OSError:
            return False
        if not stat.S_ISREG(info.st_mode) or info.st_size != size or \
                info.st_mtime_ns != mtime:
            return False
        if not path.startswith(last) or "/" in path[len(last):]:  # another folder
            if not folders.hold(path):
                return False
            last = path[:path.rfind("/") + 1]
    return True
