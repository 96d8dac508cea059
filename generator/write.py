"""Write the rendered site to disk atomically — the only stage that touches `output/`.

Files go into a fresh temporary folder beside the output folder; only when every file is
written is the old output swapped out (two renames on the same file system). A build that
fails or is killed leaves the previous output as it was; leftover temporary folders from a
killed build are removed by the next one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable

TEMP_PREFIX = ".rugzak-tmp-"
OLD_PREFIX = ".rugzak-old-"


@dataclass(frozen=True)
class OutputFile:
    """One file of the built site: a relative POSIX path and its bytes."""

    path: str
    data: bytes


class UnsafeOutputPath(ValueError):
    """A rendered path that would land outside the output folder."""


def safe_target(root: Path, relative: str) -> Path:
    """`root/relative`, refusing absolute paths, `..` and anything resolving outside root."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or "\\" in relative:
        raise UnsafeOutputPath(f"refusing to write outside the output folder: {relative!r}")
    target = root.joinpath(*pure.parts)
    if not target.resolve().is_relative_to(root.resolve()):
        raise UnsafeOutputPath(f"refusing to write outside the output folder: {relative!r}")
    return target


def remove_stale(parent: Path, name: str) -> None:
    """Delete temporary folders left by builds of `name` that were killed."""
    for prefix in (TEMP_PREFIX, OLD_PREFIX):
        for stale in parent.glob(f"{prefix}{name}-*"):
            shutil.rmtree(stale, ignore_errors=True)


def write_site(files: Iterable[OutputFile], output: Path) -> int:
    """Write all files into a temporary folder, then swap it in for `output`. Returns count."""
    output = output.absolute()
    parent = output.parent
    parent.mkdir(parents=True, exist_ok=True)
    if output.exists() and not output.is_dir():
        raise NotADirectoryError(f"output path exists and is not a folder: {output}")
    remove_stale(parent, output.name)
    staging = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{output.name}-", dir=parent))
    count = 0
    try:
        seen: set[str] = set()
        for item in files:
            if item.path in seen:
                raise UnsafeOutputPath(f"two files would be written to {item.path!r}")
            seen.add(item.path)
            target = safe_target(staging, item.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(item.data)
            count += 1
        _make_readable(staging)
        _swap(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
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
    os.replace(output, old)
    os.replace(staging, output)
    shutil.rmtree(old, ignore_errors=True)
