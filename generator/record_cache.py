"""Parsed records kept between builds, so a warm build reads only the files that changed.

A record file is known by its identity on disk — size, modification and change times, inode
and device — taken before it is read. Only a change of all of those without a change of
content could fool this, and `ctime` cannot be set back by hand. As Git does for its index
("racy git"), a file modified within the last two seconds is not remembered: on file systems
with coarse timestamps it could still change within the same tick. Entries are made by this
version of Rugzak's code only (its digest is in the file). One cache file per content folder,
in the cache folder; replaced atomically, and only when something changed.

The file is JSON with tagged values (dates, times, bytes, tuples), never pickle: a cache
folder restored from somewhere else (a CI cache) must not be able to run code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from generator.cache import code_digest

_RACY_NS = 2_000_000_000
Stamp = tuple[int, int, int, int, int]


def stamp(path: Path) -> Stamp:
    """The identity of a file's current content: (size, mtime, ctime, inode, device)."""
    info = os.stat(path)
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


class RecordCache:
    """Values of unchanged record files from the last load of the same content folder."""

    def __init__(self, folder: Path | None, root: Path):
        self.path = None if folder is None else folder / "records" / (
            hashlib.sha256(str(root.absolute()).encode("utf-8")).hexdigest()[:20] + ".json")
        self._old: dict[str, tuple[Stamp, Any]] = self._read()
        self._new: dict[str, tuple[Stamp, Any]] = {}
        self._now = time.time_ns()

    def _read(self) -> dict[str, tuple[Stamp, Any]]:
        if self.path is None:
            return {}
        try:
            with open(self.path, "rb") as handle:
                digest, entries = json.load(handle)
            if digest != code_digest() or not isinstance(entries, dict):
                return {}
            return {path: (tuple(stamp), _decode(value))
                    for path, (stamp, value) in entries.items()}
        except Exception:  # noqa: BLE001 - missing, damaged or old: it only costs time
            return {}

    def get(self, path: Path, current: Stamp) -> Any | None:
        """What `put` stored for this file when it had the stamp `current`, or None."""
        entry = self._old.get(str(path))
        if entry is None or entry[0] != current:
            return None
        self._new[str(path)] = entry
        return entry[1]

    def put(self, path: Path, current: Stamp, value: Any) -> None:
        if self._now - max(current[1], current[2]) > _RACY_NS:
            self._new[str(path)] = (current, value)

    def save(self) -> None:
        """Write the entries used or made by this load, when they differ from the last."""
        if self.path is None or self._new.keys() == self._old.keys() and all(
                self._new[key][0] == self._old[key][0] for key in self._new):
            return
        temp = self.path.with_suffix(f".{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            entries = {}
            for path, (current, value) in self._new.items():
                try:
                    entries[path] = (current, _encode(value))
                except TypeError:
                    continue  # a value JSON cannot carry: that file is parsed each time
            with open(temp, "w", encoding="utf-8") as handle:
                json.dump((code_digest(), entries), handle, ensure_ascii=False,
                          separators=(",", ":"))
            os.replace(temp, self.path)
        except OSError:
            temp.unlink(missing_ok=True)  # a cache only saves time


def _encode(value: Any) -> Any:
    """A YAML value as JSON: str, numbers, booleans and None as they are, the rest tagged."""
    kind = type(value)
    if value is None or kind in (str, int, float, bool):
        return value
    if kind is list:
        return ["l", [_encode(item) for item in value]]
    if kind is dict and all(type(key) is str for key in value):
        return ["d", {key: _encode(item) for key, item in value.items()}]
    if kind is tuple:
        return ["u", [_encode(item) for item in value]]
    if kind is datetime:
        return ["t", value.isoformat()]
    if kind is date:
        return ["D", value.isoformat()]
    if kind is bytes:
        return ["b", base64.b64encode(value).decode("ascii")]
    raise TypeError(f"cannot cache a {kind.__name__}")


def _decode(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    tag, payload = value
    if tag == "l":
        return [_decode(item) for item in payload]
    if tag == "d":
        return {key: _decode(item) for key, item in payload.items()}
    if tag == "u":
        return tuple(_decode(item) for item in payload)
    if tag == "t":
        return datetime.fromisoformat(payload)
    if tag == "D":
        return date.fromisoformat(payload)
    if tag == "b":
        return base64.b64decode(payload)
    raise ValueError(f"unknown tag {tag!r}")
