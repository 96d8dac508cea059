"""`rugzak publish`: the built site onto a Git branch (or a folder) — never keys, never the
user's working tree — with a commit message that says what changed."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import NOW, make_site
from generator.build import build
from generator.keys import find_private_key_material
from test_scaffold import run_cli

REVOCATION = ("wp-0001:\n  date: 2025-05-01\n  reason: {nl: Per vergissing., "
              "en: By mistake.}\n")


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """A known committer, and no user or system git configuration (gpg signing, hooks…)."""
    for name, value in {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
                        "GIT_AUTHOR_NAME": "Maintainer", "GIT_AUTHOR_EMAIL": "m@example.org",
                        "GIT_COMMITTER_NAME": "Maintainer",
                        "GIT_COMMITTER_EMAIL": "m@example.org"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, keyring) -> tuple[Path, Path]:
    """The small site built once as is and once with wp-0001 revoked (builds are slow)."""
    work = tmp_path_factory.mktemp("builds")
    content = make_site(work)
    build(content, work / "plain", None, keyring, NOW)
    (content / "revocations.yaml").write_text(REVOCATION)
    build(content, work / "revoked", None, keyring, NOW)
    return work / "plain", work / "revoked"


def rebuild(repo: Path, built: Path) -> None:
    """Stand-in for `rugzak build`: put a prepared build into repo/output."""
    shutil.rmtree(repo / "output", ignore_errors=True)
    shutil.copytree(built, repo / "output")


@pytest.fixture
def repo(tmp_path: Path, builds: tuple[Path, Path]) -> Path:
    """A repository with committed content/ and a build in output/ (git-ignored)."""
    repo = tmp_path / "repo"
    make_site(repo)
    (repo / ".gitignore").write_text("/output/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "content")
    rebuild(repo, builds[0])
    return repo


def publish(repo: Path, *extra: str) -> tuple[int, str]:
    return run_cli(["publish", "--repo", str(repo), "--output", str(repo / "output"),
                    "--content", str(repo / "content"), *extra])


def branch_files(repo: Path, branch: str) -> dict[str, bytes]:
    archive = subprocess.run(["git", "archive", branch], cwd=repo, capture_output=True,
                             check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_publish_commits_the_site_and_nothing_else(repo: Path, keyring,
                                                   capsys: pytest.CaptureFixture) -> None:
    (repo / "notes.md").write_text("work in progress\n")  # the user's own, unrelated work
    git(repo, "add", "notes.md")
    state = (git(repo, "status", "--porcelain"), git(repo, "rev-parse", "HEAD"),
             git(repo, "diff", "--cached"))
    assert publish(repo) == (0, "")
    assert "to gh-pages: Publish the badge site: 2 awards" in capsys.readouterr().out
    files = branch_files(repo, "gh-pages")
    for name in ("index.html", ".well-known/did.json", "assertions/wp-0001.json",
                 "a/wp-0001/credential.json", ".nojekyll", "_headers"):
        assert name in files
    assert not [n for n in files if n.startswith(("content/", ".rugzak-cache/")) or
                n.endswith((".pem", "keyring.json", "site-secret"))]
    assert all(n.endswith(".json") for n in files if n.startswith("keys/"))  # public JWKs
    assert not [n for n, data in files.items() if find_private_key_material(data, keyring)]
    assert state == (git(repo, "status", "--porcelain"), git(repo, "rev-parse", "HEAD"),
                     git(repo, "diff", "--cached"))
    assert git(repo, "branch", "--show-current").strip() == "main"
    # publishing the same build again changes nothing
    tip = git(repo, "rev-parse", "gh-pages")
    assert publish(repo) == (0, "")
    assert "gh-pages already holds this site" in capsys.readouterr().out
    assert git(repo, "rev-parse", "gh-pages") == tip


def test_second_publish_names_the_revoked_award(repo: Path, builds: tuple[Path, Path]
                                                ) -> None:
    assert publish(repo) == (0, "")
    first = git(repo, "rev-parse", "gh-pages").strip()
    (repo / "content/revocations.yaml").write_text(REVOCATION)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "revoke wp-0001")
    rebuild(repo, builds[1])
    assert publish(repo) == (0, "")
    message = git(repo, "log", "-1", "--format=%B", "gh-pages")
    assert message.startswith("Publish: 1 revoked award\n")
    assert "revoked: wp-0001" in message
    assert f"Built from {git(repo, 'rev-parse', 'main').strip()}." in message
    assert git(repo, "rev-parse", "gh-pages^").strip() == first


def test_uncommitted_content_is_refused(repo: Path) -> None:
    (repo / "content/awards/wp-0001.yaml").write_text("learner: fatima\nbadge: lassen-basis\n"
                                                      "issued: 2025-03-02\n")
    (repo / "content/learners/new.yaml").write_text("name: N\nidentifier: n@example.org\n")
    code, err = publish(repo)
    assert code == 1
    assert ("error: uncommitted changes in content/: M content/awards/wp-0001.yaml; "
            "?? content/learners/new.yaml") in err
    assert "commit them (and rebuild)" in err
    assert git(repo, "branch", "--list", "gh-pages") == ""


def test_missing_build_is_refused(repo: Path, tmp_path: Path) -> None:
    code, err = run_cli(["publish", "--repo", str(repo), "--content", str(repo / "content"),
                         "--output", str(tmp_path / "nothing")])
    assert code == 1
    assert f"{(tmp_path / 'nothing').as_posix()}: error: no built site here: index.html is " \
           "missing\n  hint: run `rugzak build` first" in err
    (repo / "output/.well-known/did.json").unlink()
    code, err = publish(repo)
    assert "no built site here: .well-known/did.json (or did.json) is missing" in err


@pytest.mark.parametrize("name, data, message", [
    ("assets/leak.txt", b"-----BEGIN PRIVATE KEY-----\nMC4CAQ\n", "private key material in "
                                                                    "the output"),
    ("keyring.json", b"{}", "this file must never be published"),
    (".rugzak-cache/x", b"cached", "this file must never be published"),
    ("keys/ed25519-x.pem", b"x", "this file must never be published"),
])
def test_secrets_in_the_output_are_refused(repo: Path, name: str, data: bytes,
                                           message: str) -> None:
    path = repo / "output" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    code, err = publish(repo)
    assert code == 1 and f"{path.as_posix()}: error: {message}" in err
    assert git(repo, "branch", "--list", "gh-pages") == ""


def test_keys_folder_inside_output_is_refused(repo: Path, monkeypatch) -> None:
    monkeypatch.setenv("RUGZAK_KEYS_DIR", str(repo / "output" / "secret-keys"))
    code, err = publish(repo)
    assert code == 1 and "secret-keys is inside the output folder" in err


def test_branch_checked_out_or_invalid_is_refused(repo: Path) -> None:
    code, err = publish(repo, "--branch", "main")
    assert code == 2 and "the branch 'main' is checked out in" in err
    for bad in ("-f", "a..b", "x y"):
        assert publish(repo, f"--branch={bad}")[1] == \
            f"rugzak: error: --branch {bad!r} is not a valid branch name"


def test_not_a_repository(tmp_path: Path, builds: tuple[Path, Path]) -> None:
    content = make_site(tmp_path)
    rebuild(tmp_path, builds[0])
    code, err = run_cli(["publish", "--repo", str(tmp_path), "--output",
                         str(tmp_path / "output"), "--content", str(content)])
    assert code == 2 and "is not inside a Git repository" in err


def test_commits_are_reproducible_with_source_date_epoch(repo: Path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    assert publish(repo, "--branch", "site-a", "--message", "Nieuwe badges") == (0, "")
    assert publish(repo, "--branch", "site-b", "--message", "Nieuwe badges") == (0, "")
    assert git(repo, "rev-parse", "site-a") == git(repo, "rev-parse", "site-b")
    assert git(repo, "log", "-1", "--format=%s|%at|%ct", "site-a").strip() == \
        "Nieuwe badges|1767225600|1767225600"


def test_publish_to_a_folder(repo: Path, tmp_path: Path, builds: tuple[Path, Path],
                             capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "www"
    assert publish(repo, "--folder", str(target)) == (0, "")
    assert (target / "index.html").is_file() and (target / ".nojekyll").is_file()
    assert (target / "_headers").read_text().count("Content-Type: application/json") >= 3
    (repo / "content/revocations.yaml").write_text(REVOCATION)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "revoke")
    rebuild(repo, builds[1])
    assert publish(repo, "--folder", str(target)) == (0, "")
    assert "Publish: 1 revoked award" in capsys.readouterr().out
    assert b'"revoked": true' in (target / "assertions/wp-0001.json").read_bytes()
    other = tmp_path / "documents"
    other.mkdir()
    (other / "letter.txt").write_text("mine")
    code, err = publish(repo, "--folder", str(other))
    assert code == 2 and "is not a published Rugzak site; refusing to replace it" in err
    assert (other / "letter.txt").read_text() == "mine"


def test_an_update_a_killed_build_left_half_done_is_finished_before_publishing(
        repo: Path, tmp_path: Path, builds: tuple[Path, Path]) -> None:
    # the build was killed while it moved its new files into output/: the journal names them
    staged = repo / ".rugzak-tmp-output-abcd1234"
    new_assertion = (builds[1] / "assertions/wp-0001.json").read_bytes()
    (staged / "assertions").mkdir(parents=True)
    (staged / "assertions/wp-0001.json").write_bytes(new_assertion)
    (repo / ".rugzak-journal-output").write_text(json.dumps({"staging": staged.name,
                                                             "delete": []}))
    target = tmp_path / "www"
    assert publish(repo, "--folder", str(target)) == (0, "")
    assert (target / "assertions/wp-0001.json").read_bytes() == new_assertion
    assert sorted(p.name for p in repo.iterdir() if p.name.startswith(".rugzak")) == []


def test_a_publish_killed_between_its_renames_is_cleaned_up(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "www"
    assert publish(repo, "--folder", str(target)) == (0, "")
    left = tmp_path / ".rugzak-publish-www-abcd1234"  # killed: the site set aside, no target
    left.mkdir()
    target.rename(left / "old")
    assert publish(repo, "--folder", str(target)) == (0, "")
    assert (target / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".rugzak")) == []


def test_an_output_that_cannot_be_held_is_published_as_it_is(
        repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from generator import write

    def read_only(output: Path):
        raise PermissionError(errno.EROFS, "Read-only file system", str(output.parent))
    monkeypatch.setattr(write, "held_output", read_only)  # a read-only mount, an artifact
    assert publish(repo, "--folder", str(tmp_path / "www")) == (0, "")
    assert (tmp_path / "www" / "index.html").is_file()
