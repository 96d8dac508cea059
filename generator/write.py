"""Write the rendered site to disk atomically — the only stage that touches `output/`.

Files go into a fresh temporary folder beside the output folder; only when every file is
written is the old output swapped out (two renames on the same file system). A build that
fails or is killed leaves the previous output as it was; leftover temporary folders from a
killed build are removed by the next one.
"""

from __future__ import annotations

import os
import shutil
import stat
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


class Staging:
    """A fresh temporary folder beside `output` that a build streams its files into.

    Files are written as soon as they are made, so a build holds no more than one record's
    files in memory; forked worker processes write into the same folder. `commit` swaps it
    in for `output`; `abort` (or leaving the `with` block with an exception) removes it, and
    the previous output stays as it was.
    """

    def __init__(self, output: Path, keep_identical: bool = False):
        self.output = output.absolute()
        # With keep_identical, a file whose bytes equal the previous output's file is linked
        # to it instead of written anew: it keeps its inode and mtime, so deploy tools see
        # only files that really changed.
        self.previous = self.output if keep_identical and self.output.is_dir() else None
        parent = self.output.parent
        parent.mkdir(parents=True, exist_ok=True)
        if self.output.exists() and not self.output.is_dir():
            raise NotADirectoryError(f"output path exists and is not a folder: {self.output}")
        remove_stale(parent, self.output.name)
        self.root = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{self.output.name}-",
                                          dir=parent))
        self._folders: set[Path] = set()

    def write(self, item: OutputFile) -> Path:
        """Write one file; refuses unsafe paths and a second file at the same path."""
        target = self._target(item.path)
        if self.previous is not None and self._link_identical(item, target):
            return target
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

    def _link_identical(self, item: OutputFile, target: Path) -> bool:
        old = _lexical_target(self.previous, item.path)  # type: ignore[arg-type]
        try:
            info = os.lstat(old)
            if not stat.S_ISREG(info.st_mode) or info.st_size != len(item.data) or \
                    old.read_bytes() != item.data:
                return False
            os.link(old, target, follow_symlinks=False)
        except FileExistsError:
            raise UnsafeOutputPath(f"two files would be written to {item.path!r}") from None
        except OSError:
            return False
        return True

    def link(self, source: Path, relative: str) -> None:
        """Hard-link an unchanged file of the previous output into the staging folder (no
        copy: same inode, same mtime). OSError when the file system cannot link."""
        try:
            os.link(source, self._target(relative), follow_symlinks=False)
        except FileExistsError:
            raise UnsafeOutputPath(f"two files would be written to {relative!r}") from None

    def remove(self, relative: str) -> None:
        """Take back a file written or linked into the staging folder."""
        try:
            os.unlink(_lexical_target(self.root, relative))
        except FileNotFoundError:
            pass

    def _target(self, relative: str) -> Path:
        target = _lexical_target(self.root, relative)
        folder = target.parent
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)
        return target

    def commit(self) -> None:
        """Make the staged site the output (two renames on one file system)."""
        _make_readable(self.root)
        _swap(self.root, self.output)

    def abort(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is not None:
            self.abort()


def _lexical_target(root: Path, relative: str) -> Path:
    # The staging folder is new and only Rugzak writes into it (never symlinks), so checking
    # the path's text is enough — and much cheaper than resolving it for every file.
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or "\\" in relative \
            or "\x00" in relative:
        raise UnsafeOutputPath(f"refusing to write outside the output folder: {relative!r}")
    return root.joinpath(*pure.parts)


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
    os.replace(output, old)
    os.replace(staging, output)
    shutil.rmtree(old, ignore_errors=True)
