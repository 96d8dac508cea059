"""`rugzak publish`: put a built site on a Git branch (default gh-pages) or in a folder.

The branch is written without touching the user's working tree, index or current branch: the
output folder is staged into a *temporary* index (`GIT_INDEX_FILE`, `--work-tree=output`),
turned into a tree and a commit with `git commit-tree`, and the branch is moved with a
compare-and-swap `git update-ref`. Before anything, the output is checked to be a built site
holding no private key material, key files or caches, and content/ must be committed, so the
published site is the one Git describes. The commit message says which awards are new,
changed, revoked or removed (from `assertions/*.json` and the status list).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

from generator.errors import ContentError, Diagnostic, UsageError
from generator.keys import find_private_key_material
from generator.scaffold import host_files
from generator.status import decode_bitstring
from generator.write import interrupts_held

STATUS_LIST = "status/revocation-1.json"
# Names that never belong in a published site: the key folder's files, caches, repositories.
FORBIDDEN_NAMES = {"keyring.json", "site-secret", ".rugzak-cache", ".git", ".env"}
FORBIDDEN_SUFFIXES = (".pem", ".key", ".p12", ".pfx")
_LIST_LIMIT = 30  # award ids named in a commit message per kind
# Variables that would point git at another repository, index or work tree (e.g. in a hook).
_GIT_LOCATION = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                 "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE",
                 "GIT_PREFIX")


# --- git --------------------------------------------------------------------------------------

class Git:
    """The few git plumbing commands publishing needs, run in one repository."""

    def __init__(self, toplevel: Path, git_dir: Path, environ: Mapping[str, str]):
        self.toplevel, self.git_dir = toplevel, git_dir
        self.env = {k: v for k, v in environ.items() if k not in _GIT_LOCATION}
        self.env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C")

    def run(self, *args: str, data: bytes | None = None, env: Mapping[str, str] = {},
            cwd: Path | None = None, check: bool = True) -> bytes:
        """Run `git ARGS`; a failure becomes a ContentError quoting git's message."""
        try:
            result = subprocess.run(["git", *args], cwd=cwd or self.toplevel, input=data,
                                    env={**self.env, **env}, capture_output=True)
        except FileNotFoundError:
            raise UsageError("git is not installed; install it, or use --folder DIR") from None
        if check and result.returncode:
            message = result.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ContentError([Diagnostic(self.toplevel.as_posix(), 0, f"git {args[0]} "
                                           f"failed: {message[-1] if message else '?'}")])
        return result.stdout

    def resolve(self, rev: str) -> str | None:
        """The object id `rev` names, or None (e.g. a branch that does not exist yet)."""
        out = self.run("rev-parse", "-q", "--verify", rev, check=False).decode().strip()
        return out or None

    def check_branch_name(self, branch: str) -> None:
        """Refuse names git would not accept (and anything that looks like an option)."""
        if branch.startswith("-") or self.run("check-ref-format", "--branch", branch,
                                              check=False).strip() != branch.encode():
            raise UsageError(f"--branch {branch!r} is not a valid branch name")

    def refuse_checked_out(self, branch: str) -> None:
        """Moving a branch that a working tree has checked out would leave it inconsistent."""
        lines = self.run("worktree", "list", "--porcelain").decode("utf-8", "replace")
        worktree = ""
        for line in lines.splitlines():
            if line.startswith("worktree "):
                worktree = line[len("worktree "):]
            elif line == f"branch refs/heads/{branch}":
                raise UsageError(f"the branch '{branch}' is checked out in {worktree}; "
                                 "publish to another branch, or switch that working tree to "
                                 "another branch first")

    def tree_of_folder(self, folder: Path, extra: list[tuple[str, bytes]]) -> str:
        """A tree object of every file in `folder` (plus `extra`), via a temporary index."""
        with tempfile.TemporaryDirectory(prefix="rugzak-index-") as temp:
            env = {"GIT_INDEX_FILE": str(Path(temp) / "index"), "GIT_DIR": str(self.git_dir),
                   "GIT_WORK_TREE": str(folder)}
            # -c: store bytes exactly as built, whatever the user's line-ending settings
            self.run("-c", "core.autocrlf=false", "-c", "core.safecrlf=false", "-c",
                     f"core.attributesFile={os.devnull}", "add", "--all", "--force", "--", ".",
                     env=env, cwd=folder)
            for name, data in extra:
                blob = self.run("hash-object", "-w", "--stdin", data=data).decode().strip()
                self.run("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}",
                         env=env, cwd=folder)
            return self.run("write-tree", env=env, cwd=folder).decode().strip()

    def list_tree(self, rev: str) -> dict[str, str]:
        """Path → blob id of every file in a commit or tree."""
        entries = {}
        for entry in self.run("ls-tree", "-r", "-z", "--full-tree", rev).split(b"\0"):
            if entry:
                meta, path = entry.split(b"\t", 1)
                entries[path.decode("utf-8", "surrogateescape")] = meta.split()[2].decode()
        return entries

    def read_blobs(self, blobs: list[str], paths: list[str]) -> dict[str, bytes]:
        """Contents of `blobs`, keyed by the matching `paths` (one `cat-file --batch`)."""
        out = self.run("cat-file", "--batch", data="".join(f"{b}\n" for b in blobs).encode())
        result, position = {}, 0
        for path in paths:
            header_end = out.index(b"\n", position)
            size = int(out[position:header_end].split()[2])
            result[path] = out[header_end + 1:header_end + 1 + size]
            position = header_end + 1 + size + 1
        return result

    def commit(self, tree: str, parent: str | None, message: str) -> str:
        """`git commit-tree`; dates from SOURCE_DATE_EPOCH when set, so commits reproduce."""
        env: dict[str, str] = {}
        epoch = self.env.get("SOURCE_DATE_EPOCH")
        if epoch:
            if not epoch.isdigit():
                raise UsageError(f"SOURCE_DATE_EPOCH must be whole seconds, not {epoch!r}")
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{epoch} +0000"
        if self.run("var", "GIT_COMMITTER_IDENT", check=False) == b"":
            # no name/e-mail configured (a fresh CI machine): sign as Rugzak, not fail
            env.update(GIT_AUTHOR_NAME="Rugzak", GIT_AUTHOR_EMAIL="rugzak@localhost",
                       GIT_COMMITTER_NAME="Rugzak", GIT_COMMITTER_EMAIL="rugzak@localhost")
        parents = ["-p", parent] if parent else []
        return self.run("commit-tree", tree, *parents, "-F", "-", data=message.encode(),
                        env=env).decode().strip()

    def update_branch(self, branch: str, commit: str, old: str | None) -> None:
        """Move the branch, only if nobody moved it meanwhile (compare-and-swap)."""
        self.run("update-ref", "-m", "rugzak publish", f"refs/heads/{branch}", commit, old or "")


def find_repo(repo: Path, environ: Mapping[str, str]) -> Git:
    """The repository containing `repo`; a usage error when there is none."""
    if not repo.is_dir():
        raise UsageError(f"--repo {repo}: not a folder")
    probe = Git(repo.resolve(), repo.resolve(), environ)
    out = probe.run("rev-parse", "--show-toplevel", "--absolute-git-dir", cwd=repo.resolve(),
                    check=False).decode("utf-8", "surrogateescape").splitlines()
    if len(out) != 2:
        raise UsageError(f"{repo} is not inside a Git repository; run `git init` there, or "
                         "publish to a folder with --folder DIR")
    return Git(Path(out[0]), Path(out[1]), environ)


# --- checks -----------------------------------------------------------------------------------

def site_files(output: Path) -> list[str]:
    """Relative POSIX paths of every file in a built site (links included, to be refused)."""
    found = []
    for folder, dirs, files in os.walk(output, followlinks=False):
        base = Path(folder).relative_to(output)
        found += [(base / n).as_posix() for n in files + [d for d in dirs
                                                         if (Path(folder) / d).is_symlink()]]
    return sorted(found)


def check_built_site(output: Path, forbidden_dirs: Iterable[Path] = ()) -> list[str]:
    """The site's files; refuses a folder that is not a built site or holds secrets."""
    def fail(message: str, hint: str = "", where: Path = output) -> Diagnostic:
        return Diagnostic(where.as_posix(), 0, message, hint)
    if not (output / "index.html").is_file():
        raise ContentError([fail("no built site here: index.html is missing",
                                 "run `rugzak build` first (or give --output)")])
    if not ((output / ".well-known" / "did.json").is_file() or (output / "did.json").is_file()):
        raise ContentError([fail("no built site here: .well-known/did.json (or did.json) is "
                                 "missing", "run `rugzak build` first (or give --output)")])
    problems = [fail(f"{folder} is inside the output folder, so it would be published",
                     "keep keys and caches outside the output folder")
                for folder in forbidden_dirs
                if folder.resolve().is_relative_to(output.resolve())]
    paths = site_files(output)
    for relative in paths:
        path = output / relative
        name = relative.rsplit("/", 1)[-1]
        if path.is_symlink():
            problems.append(fail("symbolic link in the output", "a built site has no links; "
                                 "rebuild it", path))
        elif set(relative.split("/")) & FORBIDDEN_NAMES or name.endswith(FORBIDDEN_SUFFIXES) \
                or name.startswith((".rugzak-tmp-", ".rugzak-old-", ".rugzak-trash-")):
            problems.append(fail("this file must never be published (keys, cache or "
                                 "repository data)", "rebuild into a fresh output folder", path))
        elif b"PRIVATE KEY" in (data := path.read_bytes()) or find_private_key_material(data):
            problems.append(fail("private key material in the output", "rebuild; never put "
                                 "keys in records or themes", path))
    if problems:
        raise ContentError(problems)
    return paths


def check_content_committed(git: Git, content: Path) -> None:
    """Refuse when content/ has uncommitted or untracked changes (the site would not match Git)."""
    if not content.resolve().is_relative_to(git.toplevel):
        return
    relative = content.resolve().relative_to(git.toplevel).as_posix() or "."
    lines = git.run("status", "--porcelain", "--untracked-files=all", "--", relative
                    ).decode("utf-8", "replace").splitlines()
    if lines:
        shown = "; ".join(line.strip() for line in lines[:5]) + (
            f" and {len(lines) - 5} more" if len(lines) > 5 else "")
        raise ContentError([Diagnostic(content.as_posix(), 0, f"uncommitted changes in "
                                       f"{relative}/: {shown}", "commit them (and rebuild), so "
                                       "the published site matches what Git holds")])


# --- what changed -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SiteChange:
    """Awards new, changed, revoked, reinstated and removed between two versions of a site."""

    first: bool
    new: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    revoked: tuple[str, ...] = ()
    reinstated: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    status_bits_set: int = 0
    files: tuple[int, int, int] = (0, 0, 0)  # added, changed, removed

    def _groups(self) -> list[tuple[tuple[str, ...], str]]:
        return [(self.new, "new"), (self.changed, "changed"), (self.revoked, "revoked"),
                (self.reinstated, "reinstated"), (self.removed, "removed")]

    def subject(self) -> str:
        """The commit message's first line, e.g. `Publish: 2 new, 1 revoked awards`."""
        if self.first:
            return f"Publish the badge site: {len(self.new)} award" + (
                "s" if len(self.new) != 1 else "")
        counts = [(len(ids), word) for ids, word in self._groups() if ids]
        if counts:
            total = sum(n for n, _ in counts)
            return "Publish: " + ", ".join(f"{n} {w}" for n, w in counts) + (
                " award" if total == 1 else " awards")
        if self.status_bits_set:
            return f"Publish: {self.status_bits_set} more revoked in the status list"
        return "Publish: site updated, no award changes"

    def body(self) -> str:
        """The lists of award ids, and file counts."""
        lines = []
        for ids, word in self._groups():
            if ids and not (self.first and word == "new"):
                more = f" and {len(ids) - _LIST_LIMIT} more" if len(ids) > _LIST_LIMIT else ""
                lines.append(f"{word}: {', '.join(ids[:_LIST_LIMIT])}{more}")
        added, changed, removed = self.files
        lines.append(f"files: {added} added, {changed} changed, {removed} removed")
        return "\n".join(lines)


def _award_id(path: str) -> str | None:
    if path.startswith("assertions/") and path.endswith(".json") and path.count("/") == 1:
        return path[len("assertions/"):-len(".json")]
    return None


def _is_revoked(data: bytes | None) -> bool:
    try:
        return json.loads(data or b"{}").get("revoked") is True
    except (ValueError, AttributeError):
        return False


def _status_bits(data: bytes | None) -> int:
    try:
        bits = decode_bitstring(json.loads(data)["credentialSubject"]["encodedList"])
    except (ValueError, TypeError, KeyError, OSError, EOFError):
        return 0
    return int.from_bytes(bits, "big").bit_count()


def compare_sites(old: Mapping[str, str] | None, new: Mapping[str, str],
                  read: Callable[[str, list[str]], dict[str, bytes]]) -> SiteChange:
    """Compare two sites given as path → fingerprint; `read(side, paths)` fetches contents."""
    old = old or {}
    new_ids = {a: p for p in new if (a := _award_id(p))}
    old_ids = {a: p for p in old if (a := _award_id(p))}
    differing = sorted(a for a in new_ids.keys() & old_ids.keys()
                       if new[new_ids[a]] != old[old_ids[a]])
    want = [new_ids[a] for a in differing] + ([STATUS_LIST] if STATUS_LIST in new else [])
    before = read("old", [p for p in want if p in old])
    after = read("new", want)
    revoked = tuple(a for a in differing if _is_revoked(after.get(new_ids[a]))
                    and not _is_revoked(before.get(old_ids[a])))
    reinstated = tuple(a for a in differing if _is_revoked(before.get(old_ids[a]))
                       and not _is_revoked(after.get(new_ids[a])))
    bits = max(_status_bits(after.get(STATUS_LIST)) - _status_bits(before.get(STATUS_LIST)), 0)
    return SiteChange(
        first=not old,
        new=tuple(sorted(new_ids.keys() - old_ids.keys())),
        changed=tuple(a for a in differing if a not in revoked and a not in reinstated),
        revoked=revoked, reinstated=reinstated,
        removed=tuple(sorted(old_ids.keys() - new_ids.keys())),
        status_bits_set=bits,
        files=(len(new.keys() - old.keys()), sum(1 for p in new.keys() & old.keys()
                                                 if new[p] != old[p]),
               len(old.keys() - new.keys())))


# --- publishing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PublishResult:
    """What `publish` did: the commit (branch mode) or folder, and the change summary."""

    target: str
    change: SiteChange
    commit: str | None = None
    unchanged: bool = False


def publish_branch(output: Path, repo: Path, branch: str, content: Path,
                   message: str | None, environ: Mapping[str, str],
                   forbidden_dirs: Iterable[Path] = ()) -> PublishResult:
    """Commit the built site in `output` to `branch` of the repository at `repo`."""
    git = find_repo(repo, environ)
    git.check_branch_name(branch)
    check_content_committed(git, content)
    git.refuse_checked_out(branch)
    paths = check_built_site(output, forbidden_dirs)
    parent = git.resolve(f"refs/heads/{branch}")
    extra = [(name, data) for name, data in host_files(paths) if name not in paths]
    tree = git.tree_of_folder(output.resolve(), extra)
    bad = [p for p in git.list_tree(tree) if set(p.split("/")) & FORBIDDEN_NAMES]
    if bad:  # cannot happen after check_built_site; kept as the last line of defence
        raise ContentError([Diagnostic(p, 0, "would be published; refusing") for p in bad])
    old = git.list_tree(parent) if parent else None
    new = git.list_tree(tree)
    change = compare_sites(old, new, lambda side, ps: git.read_blobs(
        [(old if side == "old" else new)[p] for p in ps], ps))
    if parent and git.resolve(f"{parent}^{{tree}}") == tree:
        return PublishResult(branch, change, parent, unchanged=True)
    subject = message.strip() if message and message.strip() else change.subject()
    source = git.resolve("HEAD")
    text = f"{subject}\n\n{change.body()}\n" + (f"\nBuilt from {source}.\n" if source else "")
    commit = git.commit(tree, parent, text)
    git.update_branch(branch, commit, parent)
    return PublishResult(branch, change, commit)


def _fingerprints(folder: Path, paths: Iterable[str]) -> dict[str, str]:
    return {p: hashlib.sha256((folder / p).read_bytes()).hexdigest() for p in paths}


def _replaceable(folder: Path) -> bool:
    """An empty folder, or one that holds a site published before (never someone's files)."""
    if not folder.is_dir():
        return False
    if not any(folder.iterdir()):
        return True
    return (folder / "index.html").is_file() and (
        (folder / ".well-known" / "did.json").is_file() or (folder / "did.json").is_file())


def _finish_killed_publish(target: Path) -> None:
    """Put back the site a publish killed between its two renames left aside, and remove
    what killed publishes left beside the target folder."""
    for stale in sorted(target.parent.glob(f"{_PUBLISH_PREFIX}{target.name}-*")):
        if not os.path.lexists(target) and (stale / "old").is_dir():
            os.replace(stale / "old", target)
        shutil.rmtree(stale, ignore_errors=True)


_PUBLISH_PREFIX = ".rugzak-publish-"


def publish_folder(output: Path, folder: Path, content: Path, repo: Path | None,
                   environ: Mapping[str, str], forbidden_dirs: Iterable[Path] = ()
                   ) -> PublishResult:
    """Replace `folder` with a copy of the built site (all at once, via a temporary folder)."""
    if repo is not None:
        try:
            check_content_committed(find_repo(repo, environ), content)
        except UsageError:
            pass  # not a Git repository: nothing to compare with
    paths = check_built_site(output, forbidden_dirs)
    target, source = folder.resolve(), output.resolve()
    _finish_killed_publish(target)
    if target.is_relative_to(source) or source.is_relative_to(target) or \
            content.resolve().is_relative_to(target):
        raise UsageError(f"--folder {folder} overlaps the output or content folder")
    if target.exists() and not _replaceable(target):
        raise UsageError(f"--folder {folder} exists and is not a published Rugzak site; "
                         "refusing to replace it (give a new or empty folder)")
    old = _fingerprints(target, site_files(target)) if target.is_dir() else None
    new = _fingerprints(source, paths)
    change = compare_sites(old, new, lambda side, ps: {
        p: ((target if side == "old" else source) / p).read_bytes() for p in ps})
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{_PUBLISH_PREFIX}{target.name}-",
                                    dir=target.parent))
    try:
        shutil.copytree(source, staging / "site", symlinks=False)
        for name, data in host_files(paths):
            if name not in paths:
                (staging / "site" / name).write_bytes(data)
        with interrupts_held():  # never a moment without the site, but for a kill
            if target.exists():
                os.replace(target, staging / "old")
            try:
                os.replace(staging / "site", target)
            except OSError:
                if (staging / "old").exists():  # the published site stays as it was
                    os.replace(staging / "old", target)
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return PublishResult(folder.as_posix(), change)
