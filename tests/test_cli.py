"""The command line: exit codes 0/1/2, readable errors, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, copy_test_keys, make_site


def rugzak(*args: str, cwd: Path | None = None, env: dict | None = None
           ) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "RUGZAK_KEYS_BUNDLE"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, env=full_env)


def test_version_and_help() -> None:
    assert rugzak("--version").stdout.startswith("rugzak ")
    result = rugzak("--help")
    assert result.returncode == 0 and "build" in result.stdout


def test_usage_errors_exit_2() -> None:
    assert rugzak().returncode == 2
    assert rugzak("frobnicate").returncode == 2
    assert rugzak("build", "--no-such-flag").returncode == 2


def test_check_reports_content_errors_with_exit_1(tmp_path: Path) -> None:
    content = make_site(tmp_path, {"awards/wp-0001.yaml": "learner: fatma\nbadge: lassen-basis\n"
                                                          "issued: 2025-01-01\n"})
    result = rugzak("check", "--content", str(content))
    assert result.returncode == 1
    assert "content/awards/wp-0001.yaml:1: error: unknown learner 'fatma'" in result.stderr
    assert "did you mean 'fatima'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_build_without_keys_says_how_to_create_them(tmp_path: Path) -> None:
    content = make_site(tmp_path)
    result = rugzak("build", "--content", str(content), "--output", str(tmp_path / "out"),
                    cwd=tmp_path, env={"RUGZAK_KEYS_DIR": str(tmp_path / "nokeys")})
    assert result.returncode == 1
    assert "rugzak keys new" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_build_refuses_keys_inside_content(tmp_path: Path) -> None:
    content = make_site(tmp_path)
    keys = copy_test_keys(content / "keys")
    result = rugzak("build", "--content", str(content), "--output", str(tmp_path / "out"),
                    cwd=tmp_path, env={"RUGZAK_KEYS_DIR": str(keys)})
    assert result.returncode == 1
    assert "is inside" in result.stderr and "private keys could be published" in result.stderr


def test_build_refuses_a_private_key_file_in_content(tmp_path: Path) -> None:
    content = make_site(tmp_path)
    pem = next((ROOT / "tests/fixtures/keys").glob("rsa-*.pem")).read_text()
    (content / "badges" / "oops.pem").write_text(pem)
    keys = copy_test_keys(tmp_path / "keys")
    result = rugzak("build", "--content", str(content), "--output", str(tmp_path / "out"),
                    cwd=tmp_path, env={"RUGZAK_KEYS_DIR": str(keys)})
    assert result.returncode == 1
    assert "private key material in the content folder" in result.stderr


def test_build_and_keys_lifecycle(tmp_path: Path) -> None:
    content = make_site(tmp_path)
    env = {"RUGZAK_KEYS_DIR": str(tmp_path / "keys"), "RUGZAK_CACHE_DIR": str(tmp_path / "c")}
    assert rugzak("keys", "new", cwd=tmp_path, env=env).returncode == 0
    assert (tmp_path / "keys").stat().st_mode & 0o077 == 0
    again = rugzak("keys", "new", cwd=tmp_path, env=env)
    assert again.returncode == 1 and "already exist" in again.stderr
    assert rugzak("keys", "new", "--if-missing", cwd=tmp_path, env=env).returncode == 0
    out = tmp_path / "out"
    result = rugzak("build", "--content", str(content), "--output", str(out), cwd=tmp_path,
                    env=env)
    assert result.returncode == 0, result.stderr
    assert "1 issuers, 1 badges, 2 learners, 2 awards" in result.stdout
    assert (out / "a/wp-0001/credential.json").is_file()
    bundle = rugzak("keys", "export", cwd=tmp_path, env=env).stdout.strip()
    from_bundle = rugzak("build", "--content", str(content), "--output", str(tmp_path / "o2"),
                         cwd=tmp_path, env={"RUGZAK_KEYS_BUNDLE": bundle,
                                            "RUGZAK_KEYS_DIR": str(tmp_path / "none")})
    assert from_bundle.returncode == 0, from_bundle.stderr


def test_build_never_replaces_a_folder_it_did_not_make(tmp_path: Path) -> None:
    content = make_site(tmp_path)
    keys = copy_test_keys(tmp_path / "keys")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "thesis.docx").write_bytes(b"years of work")
    env = {"RUGZAK_KEYS_DIR": str(keys)}
    for output in (theirs, content):
        result = rugzak("build", "--content", str(content), "--output", str(output),
                        cwd=tmp_path, env=env)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and "hint:" in result.stderr
    assert [p.name for p in theirs.iterdir()] == ["thesis.docx"]
    assert (content / "site.yaml").is_file()
    for _ in range(2):  # a new folder, then the same folder again: Rugzak's own output
        result = rugzak("build", "--content", str(content), "--output", str(tmp_path / "out"),
                        cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr


def test_a_worker_count_below_one_is_a_usage_error(tmp_path: Path) -> None:
    for count in ("0", "-1", "two"):
        result = rugzak("build", "--workers", count, cwd=tmp_path)
        assert result.returncode == 2 and "--workers" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_content_folder_at_the_top_of_the_file_system_is_shown_whole() -> None:
    result = rugzak("check", "--content", "/nonexistent-rugzak-site")
    assert result.returncode == 1
    assert "/nonexistent-rugzak-site/site.yaml" in result.stderr


def test_awards_in_sub_folders_get_indices_and_pages(tmp_path: Path) -> None:
    content = make_site(tmp_path, {"awards/2026/wp-0003.yaml": "learner: jan\nbadge: "
                                   "lassen-basis\nissued: 2026-01-05\n"})
    env = {"RUGZAK_KEYS_DIR": str(tmp_path / "keys"), "RUGZAK_CACHE_DIR": str(tmp_path / "c")}
    assert rugzak("keys", "new", cwd=tmp_path, env=env).returncode == 0
    missing = rugzak("check", "--content", str(content), cwd=tmp_path, env=env)
    assert missing.returncode == 1 and "wp-0003" in missing.stderr  # no status index yet
    allocated = rugzak("status", "allocate", "--content", str(content), cwd=tmp_path, env=env)
    assert allocated.returncode == 0, allocated.stderr
    assert "wp-0003:" in (content / "status.yaml").read_text()
    out = tmp_path / "out"
    result = rugzak("build", "--content", str(content), "--output", str(out), cwd=tmp_path,
                    env=env)
    assert result.returncode == 0, result.stderr
    assert (out / "a/wp-0003/credential.json").is_file()


def test_status_allocate_skips_file_names_that_are_no_ids(tmp_path: Path) -> None:
    award = "learner: jan\nbadge: lassen-basis\nissued: 2026-01-05\n"
    content = make_site(tmp_path, {"awards/a: b #c.yaml": award, "awards/yes.yaml": award})
    os.close(os.open(content / "awards" / os.fsdecode(b"x\xfey.yaml"), os.O_CREAT | os.O_WRONLY))
    result = rugzak("status", "allocate", "--content", str(content))
    assert result.returncode == 0, result.stderr
    import yaml
    ledger = yaml.safe_load((content / "status.yaml").read_text())["indices"]
    assert sorted(ledger) == ["wp-0001", "wp-0002", "yes"]
    assert sorted(p.name for p in content.iterdir() if p.name.startswith(".")) == []
    check = rugzak("check", "--content", str(content))
    assert "file name 'a: b #c.yaml' is not a safe id" in check.stderr
    assert "Traceback" not in check.stderr + result.stderr


def test_ctrl_c_while_loading_is_an_interrupt_without_traceback(
        monkeypatch, capsys) -> None:
    import importlib.abc

    from generator import entry

    class Interrupted(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "generator.cli":
                raise KeyboardInterrupt  # as Ctrl-C during the imports would
            return None

    monkeypatch.delitem(sys.modules, "generator.cli", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Interrupted(), *sys.meta_path])
    assert entry.main() == 130
    assert capsys.readouterr().err == "rugzak: interrupted\n"


def test_keys_are_never_written_into_a_content_or_output_folder(tmp_path: Path) -> None:
    content = make_site(tmp_path)
    env = {"RUGZAK_KEYS_DIR": str(tmp_path / "keys"), "RUGZAK_CACHE_DIR": str(tmp_path / "c")}
    assert rugzak("keys", "new", cwd=tmp_path, env=env).returncode == 0
    out = tmp_path / "site"  # a built site under another name than output/
    assert rugzak("build", "--content", str(content), "--output", str(out), cwd=tmp_path,
                  env=env).returncode == 0
    for inside in (content / "keys", out / "keys", tmp_path / "output" / "k"):
        for action in ("new", "rotate"):
            result = rugzak("keys", action, cwd=tmp_path,
                            env={**env, "RUGZAK_KEYS_DIR": str(inside)})
            assert result.returncode != 0 and "private keys could be published" in \
                result.stderr, (inside, action, result.stderr)
    assert not (content / "keys").exists() and not list((out / "keys").glob("*.pem"))
