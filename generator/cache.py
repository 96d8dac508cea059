"""A content-addressed disk cache for expensive pure results (signatures, canonical forms).

Entries are keyed by a hash of everything that went into them, so a stale entry can never be
returned: a changed input simply has another key. The folder is git-ignored and can be deleted
at any time; a damaged entry is treated as a miss.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

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
