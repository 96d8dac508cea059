"""A content-addressed disk cache for expensive pure results (signatures, canonical forms).

Entries are keyed by a hash of everything that went into them, so a stale entry can never be
returned: a changed input simply has another key. The folder is git-ignored and can be deleted
at any time; a damaged entry is treated as a miss.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Protocol

DEFAULT_CACHE_DIR = ".rugzak-cache"


class DiskCache:
    """`get`/`put` of small byte values under hex keys, in `folder/ab/cdef…`."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / key[2:]

    def get(self, key: str) -> bytes | None:
        """The stored value, or None when absent or unreadable."""
        try:
            return self._path(key).read_bytes()
        except OSError:
            return None

    def put(self, key: str, value: bytes) -> None:
        """Store a value atomically; a cache that cannot be written is silently skipped."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(handle, "wb") as stream:
                stream.write(value)
            os.replace(temp, path)
        except OSError:
            pass  # the cache only saves time; a read-only disk must not fail the build


def cache_dir(environ: dict[str, str] | os._Environ = os.environ) -> Path:
    """`RUGZAK_CACHE_DIR`, or `.rugzak-cache/` in the current folder."""
    return Path(environ.get("RUGZAK_CACHE_DIR") or DEFAULT_CACHE_DIR)


class Cache(Protocol):
    """What the stages need of a cache (DiskCache, or a dict-like stand-in in tests)."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes) -> None: ...


@functools.cache
def code_digest() -> str:
    """A hash of Rugzak's own code and bundled data (fonts, contexts, catalogs), so cached
    results made by another version are never used: no version numbers to remember to bump."""
    package = Path(__file__).parent
    hasher = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if p.is_file()
                       and "__pycache__" not in p.parts and p.suffix != ".pyc"):
        hasher.update(path.relative_to(package).as_posix().encode() + b"\0")
        hasher.update(hashlib.sha256(path.read_bytes()).digest())
    return hasher.hexdigest()


def cached(cache: Cache | None, kind: str, parts: Any, make: Callable[[], bytes]) -> bytes:
    """`make()`, or its stored result for the same `kind`, `parts` and Rugzak code."""
    if cache is None:
        return make()
    key = hashlib.sha256(json.dumps([code_digest(), kind, parts], sort_keys=True,
                                    ensure_ascii=False, default=str).encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = make()
        cache.put(key, found)
    return found
