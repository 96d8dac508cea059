"""Parsed records kept between builds, so a warm build reads only the files that changed.

A record file is known by its identity on disk — size, modification and change times, inode
and device — taken before it is read. Only a change of all of those without a change of
content could fool this, and `ctime` cannot be set back by hand. As Git does for its index
("racy git"), a file modified within the last two seconds is not remembered: on file systems
with coarse timestamps it could still change within the same tick. Entries are made by this
version of Rugzak's code only (its digest is stored beside them).

One SQLite database per content folder, in the cache folder, one row per record file. Why
not one JSON file: a build that changed one record of 100,000 would rewrite the whole file,
and reading it would decode every record at once (memory that grows with the site). Here a
record is decoded only when asked for, and a build writes only the rows that changed.
Values are JSON with tagged dates, times, bytes and tuples, never pickle: a cache folder
restored from somewhere else (a CI cache) must not be able to run code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

from generator.cache import code_digest

_RACY_NS = 2_000_000_000
_PARK_ROWS = 1000  # new rows held in memory before they move to a temporary table
Stamp = tuple[int, int, int, int, int]
_SCHEMA = ("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
           "CREATE TABLE IF NOT EXISTS records (path TEXT PRIMARY KEY, stamp TEXT NOT NULL, "
           "value TEXT NOT NULL) WITHOUT ROWID;"
           "CREATE TABLE IF NOT EXISTS clean (path TEXT PRIMARY KEY, stamp TEXT NOT NULL) "
           "WITHOUT ROWID;"
           "CREATE TABLE IF NOT EXISTS cleaned (path TEXT PRIMARY KEY, stamp TEXT NOT NULL, "
           "value TEXT NOT NULL) WITHOUT ROWID;")


def stamp(path: Path) -> Stamp:
    """The identity of a file's current content: (size, mtime, ctime, inode, device)."""
    info = os.stat(path)
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def _key(path: Path | str) -> str | None:
    """The row key of a file: its path, when SQLite can store it (UTF-8)."""
    key = str(path)
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return None  # a name with undecodable bytes: that file is parsed each time
    return key


def stamp_of(info: os.stat_result) -> Stamp:
    """`stamp` from a stat result the caller already has (a folder listing's entry)."""
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def _stamp_text(current: Stamp) -> str:
    return ",".join(map(str, current))


def _database(folder: Path | None, root: Path) -> Path | None:
    """The cache database of the content folder `root` (one per content folder)."""
    return None if folder is None else folder / "records" / (
        hashlib.sha256(str(root.absolute()).encode("utf-8")).hexdigest()[:20] + ".sqlite3")


def _connect(path: Path) -> sqlite3.Connection | None:
    """The database at `path`, emptied when other code made it; None when it cannot be used
    (locked by another build, unreadable). A damaged file is replaced, once."""
    for _attempt in range(2):
        db = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=2.0, isolation_level=None)
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            row = db.execute("SELECT value FROM meta WHERE key='code'").fetchone()
            if row is None or row[0] != code_digest():
                # made by other code: its values may not be what this code parses, and
                # what it found clean may not be what this code finds clean
                db.execute("BEGIN IMMEDIATE")
                db.execute("DELETE FROM records")
                db.execute("DELETE FROM clean")
                db.execute("DELETE FROM cleaned")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('code', ?)", (code_digest(),))
                db.execute("COMMIT")
            return db
        except sqlite3.OperationalError:  # locked by another build, unreadable, ...
            if db is not None:
                db.close()
            return None
        except sqlite3.DatabaseError:  # damaged, or not a database: start again, once
            if db is not None:
                db.close()
            try:  # with its journal: a left-over one would be played into the new file
                for name in (path.name, path.name + "-journal", path.name + "-wal",
                             path.name + "-shm"):
                    (path.parent / name).unlink(missing_ok=True)
            except OSError:
                return None
        except OSError:
            return None
    return None


class RecordCache:
    """Values of unchanged record files from earlier loads of the same content folder, and
    beside them what validation made of a record (`put_cleaned`, see validate.py).

    Any database problem (locked by another build, damaged, a full disk) turns the cache off
    for this load: it only saves time."""

    def __init__(self, folder: Path | None, root: Path):
        self.path = _database(folder, root)
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[str, str, str]] = []
        self._cleaned: list[tuple[str, str, str]] = []
        self._parked = False  # whether rows wait in the temporary table `pending`
        # hashes of the paths asked for that have (or will have) a row: what is not among
        # them when the table has more rows is a file that is gone, whose row is dropped
        self._kept: set[int] = set()
        self._now = time.time_ns()
        # Files are asked for in name order, folder by folder: rows are read in the same
        # order from one cursor (a merge, ~10x cheaper than a query per file).
        self._rows: sqlite3.Cursor | None = None
        self._ahead: tuple[str, str, str] | None = None
        self._last = ""
        if self.path is not None:
            self._db = _connect(self.path)

    def fetch(self, path: Path, current: Stamp) -> tuple[str, str | None] | None:
        """What `put` and `put_cleaned` stored for this file when it had the stamp
        `current`, as text (see `decode`), or None."""
        key = _key(path)
        if self._db is None or key is None:
            return None
        try:
            row = self._row(key)
            if row is None:
                return None
            self._kept.add(hash(key))
            if row[1] != _stamp_text(current):
                return None
            return row[2], row[3]
        except sqlite3.Error:
            return None

    def _row(self, key: str) -> tuple[str, str, str, str | None] | None:
        """The row of `key`, read by moving forward through the table in path order."""
        if self._rows is None or key < self._last:
            if self._rows is not None:
                self._rows.close()
            self._rows = self._db.execute(  # type: ignore[union-attr]
                "SELECT r.path, r.stamp, r.value, c.value FROM records AS r LEFT JOIN "
                "cleaned AS c ON c.path = r.path AND c.stamp = r.stamp WHERE r.path >= ? "
                "ORDER BY r.path", (key,))
            self._ahead = self._rows.fetchone()
        self._last = key
        while self._ahead is not None and self._ahead[0] < key:
            self._ahead = self._rows.fetchone()
        return self._ahead if self._ahead is not None and self._ahead[0] == key else None

    def put(self, path: Path, current: Stamp, value: Any) -> None:
        """Remember `value` for this file at stamp `current` (unless it changed just now)."""
        if self._db is None or self._now - max(current[1], current[2]) <= _RACY_NS:
            return
        try:
            text = encode(value)
        except TypeError:
            return  # a value JSON cannot carry: that file is parsed each time
        key = _key(path)
        if key is None:
            return
        self._pending.append((key, _stamp_text(current), text))
        self._kept.add(hash(key))
        if len(self._pending) >= _PARK_ROWS:
            self._park()

    def put_cleaned(self, path: Path, current: Stamp, text: str) -> None:
        """Remember, beside the file's values, what validation made of them (`text`, made by
        the caller with `encode`); dropped with the file's row or when the file changes."""
        key = _key(path)
        if self._db is None or key is None or self._now - max(current[1], current[2]) \
                <= _RACY_NS:
            return
        self._cleaned.append((key, _stamp_text(current), text))
        if len(self._cleaned) >= _PARK_ROWS:
            self._park()

    def _park(self) -> None:
        """Move the rows made so far into a temporary table until `save`. Held in a list,
        the rows of a cold build (JSON of every record: ~60 MB at 100,000 awards) would add
        to the build's peak memory — which forked workers inherit. (Not straight into
        `records`: that table is being read with an open cursor.)"""
        try:
            for table, rows in (("pending", self._pending), ("pending_cleaned", self._cleaned)):
                # no key: each file is put once per load, and rows only wait for `save`
                # (a key's B-tree made parking cost more than parsing at 100,000 awards)
                self._db.execute(  # type: ignore[union-attr]
                    f"CREATE TEMP TABLE IF NOT EXISTS {table} (path TEXT, stamp TEXT, "
                    "value TEXT)")
                self._db.executemany(  # type: ignore[union-attr]
                    f"INSERT INTO temp.{table} VALUES (?, ?, ?)", rows)
            self._parked = True
        except sqlite3.Error:
            pass  # these rows are not remembered: their files are parsed again next time
        self._pending.clear()
        self._cleaned.clear()

    def save(self) -> None:
        """Write the rows made by this load; drop the rows of files no longer asked for."""
        if self._db is None:
            return
        count = "SELECT count(*) FROM records"
        if self._rows is not None:
            self._rows.close()  # (an open cursor keeps a read lock)
            self._rows = None

        def write(db: sqlite3.Connection) -> None:
            if self._parked:
                db.execute("INSERT OR REPLACE INTO records SELECT path, stamp, value "
                           "FROM temp.pending")
                db.execute("INSERT OR REPLACE INTO cleaned SELECT path, stamp, value "
                           "FROM temp.pending_cleaned")
            db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", self._pending)
            db.executemany("INSERT OR REPLACE INTO cleaned VALUES (?, ?, ?)", self._cleaned)
            if db.execute(count).fetchone()[0] > len(self._kept):
                gone = [(path,) for (path,) in db.execute("SELECT path FROM records")
                        if hash(path) not in self._kept]
                db.executemany("DELETE FROM records WHERE path=?", gone)
                db.executemany("DELETE FROM cleaned WHERE path=?", gone)

        try:
            if self._pending or self._cleaned or self._parked or \
                    self._db.execute(count).fetchone()[0] > len(self._kept):
                _transaction(self._db, write)  # else nothing new, nothing gone: no write
        except sqlite3.Error:
            pass
        finally:
            self._pending.clear()
            self._cleaned.clear()
            self._db.close()
            self._db = None


def _transaction(db: sqlite3.Connection, write: Callable[[sqlite3.Connection], None]) -> None:
    """Run `write` in one write transaction; rolled back (and the error ignored: a cache
    only saves time) when SQLite fails."""
    try:
        db.execute("BEGIN IMMEDIATE")
        write(db)
        db.execute("COMMIT")
    except sqlite3.Error:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass


class CleanFiles:
    """The content files a scan for private key material found clean, by stamp, so a warm
    build reads only the files that changed (reading all of a large content folder again
    costs seconds, and minutes when the files are no longer in the page cache).

    Same database and same rules as `RecordCache`: a file changed within the last two
    seconds is not remembered, and any database problem only turns the memory off."""

    def __init__(self, folder: Path | None, root: Path):
        path = _database(folder, root)
        self._db = None if path is None else _connect(path)
        self._known: dict[str, str] = {}
        self._new: list[tuple[str, str]] = []
        self._kept: set[str] = set()  # rows still true: the others are dropped on `save`
        self._now = time.time_ns()
        if self._db is not None:
            try:
                self._known = dict(self._db.execute("SELECT path, stamp FROM clean"))
            except sqlite3.Error:
                self.close()

    def known_clean(self, path: str, current: Stamp) -> bool:
        """Whether this file, with this stamp, was found clean before."""
        if self._known.get(path) != _stamp_text(current):
            return False
        self._kept.add(path)
        return True

    def remember(self, path: str, current: Stamp) -> None:
        """Note a file found clean at stamp `current` (unless it changed just now)."""
        if self._db is not None and self._now - max(current[1], current[2]) > _RACY_NS \
                and _key(path) is not None:
            self._new.append((path, _stamp_text(current)))
            self._kept.add(path)

    def save(self) -> None:
        """Write what was found clean; drop the rows of files that are gone or changed."""
        if self._db is None:
            return
        gone = [(path,) for path in self._known if path not in self._kept]

        def write(db: sqlite3.Connection) -> None:
            db.executemany("DELETE FROM clean WHERE path=?", gone)
            db.executemany("INSERT OR REPLACE INTO clean VALUES (?, ?)", self._new)

        if self._new or gone:
            _transaction(self._db, write)
        self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = None
        self._known, self._new, self._kept = {}, [], set()


def encode(value: Any) -> str:
    """A YAML value as JSON text (ASCII: no lone surrogate can reach SQLite)."""
    return json.dumps(_tagged(value), separators=(",", ":"))


def decode(text: str) -> Any:
    """The value `encode` was given; raises ValueError or KeyError on damaged text."""
    return _DECODER.decode(text)


# Types JSON has no word for become a one-key object whose key starts with NUL; no YAML
# record of ours has such a key (a mapping that does is not cached, see `_tagged`).
_TAGS = {"\0u": tuple, "\0t": datetime.fromisoformat, "\0D": date.fromisoformat,
         "\0b": base64.b64decode}


def _tagged(value: Any) -> Any:
    kind = type(value)
    if value is None or kind in (str, int, float, bool):
        return value
    if kind is list:
        return [_tagged(item) for item in value]
    if kind is dict and all(type(key) is str and key[:1] != "\0" for key in value):
        return {key: _tagged(item) for key, item in value.items()}
    if kind is tuple:
        return {"\0u": [_tagged(item) for item in value]}
    if kind is datetime:
        return {"\0t": value.isoformat()}
    if kind is date:
        return {"\0D": value.isoformat()}
    if kind is bytes:
        return {"\0b": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"cannot cache a {kind.__name__}")


def _untag(mapping: dict[str, Any]) -> Any:
    if len(mapping) == 1:
        ((key, payload),) = mapping.items()
        if key[:1] == "\0":
            return _TAGS[key](payload)
    return mapping


# one decoder for every row: json.loads with an object_hook makes a new one per call (~8 µs,
# a tenth of reading a cached record)
_DECODER = json.JSONDecoder(object_hook=_untag)
