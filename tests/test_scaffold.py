"""`rugzak init`: a new site that builds at once; CI files; host files (.nojekyll, _headers)."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from conftest import NOW, ROOT
from generator.errors import ContentError, UsageError, format_diagnostics
from generator.workflow_cli import add_commands
from generator.write import OUTPUT_SIGNATURE


def run_cli(argv: list[str], now: datetime = NOW) -> tuple[int, str]:
    """Run one workflow command as `cli.main` would: (exit code, error text).

    Used by the other workflow test modules too (`from test_scaffold import run_cli`).
    """
    parser = argparse.ArgumentParser(prog="rugzak")
    handlers = add_commands(parser.add_subparsers(dest="command"), argparse.ArgumentParser)
    args = parser.parse_args(argv)
    try:
        return handlers[args.command](args, now), ""
    except ContentError as exc:
        return 1, format_diagnostics(exc.diagnostics)
    except UsageError as exc:
        return 2, f"rugzak: error: {exc}"


def documented_commands() -> set[str]:
    """The `rugzak` subcommands the README's CLI reference documents."""
    text = (ROOT / "README.md").read_text("utf-8")
    reference = text.split("## CLI reference", 1)[1]
    return set(re.findall(r"^\| `rugzak ([a-z]+)", reference, flags=re.M))


ORACLE_BASE = "http://127.0.0.1:8765/"


@pytest.fixture(scope="module")
def new_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`rugzak init`, `rugzak keys new` and a build, as a maintainer does: (site, output)."""
    from generator.build import build
    from generator.keys import load_keyring
    work = tmp_path_factory.mktemp("init")
    site = work / "mysite"
    code, err = run_cli(["init", str(site), "--title", 'Leerwerk "Zuid": badges',
                         "--organisation", "Stichting Leerwerk Zuid"])
    assert (code, err) == (0, "")
    env = {k: v for k, v in os.environ.items() if k != "RUGZAK_KEYS_BUNDLE"}
    result = subprocess.run([sys.executable, "-m", "generator", "keys", "new"], cwd=site,
                            env={**env, "RUGZAK_KEYS_DIR": str(work / "keys")},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    report = build(site / "content", work / "out", ORACLE_BASE,
                   load_keyring(work / "keys"), NOW)
    assert report.counts == {"issuers": 1, "badges": 1, "learners": 1, "awards": 1}
    return site, work / "out"


def test_init_creates_a_site_that_builds(new_site: tuple[Path, Path]) -> None:
    site, output = new_site
    assert (site / "content/awards/slz26-0001.yaml").is_file()
    assert "slz26-0001:" in (site / "content/status.yaml").read_text()
    assert not list((site / "content/badges").glob("*.png"))  # the image is drawn
    gitignore = (site / ".gitignore").read_text()
    for entry in ("keys/", "/output/", ".rugzak-cache/", ".venv/"):
        assert entry in gitignore.splitlines()
    readme = (site / "README.md").read_text()
    assert "## Nederlands" in readme and "## English" in readme
    assert 'Leerwerk "Zuid": badges' in readme
    site_yaml = yaml.safe_load((site / "content/site.yaml").read_text())
    assert site_yaml["title"] == 'Leerwerk "Zuid": badges'
    assert (output / ".well-known/did.json").is_file()
    assert (output / "a/slz26-0001/credential.json").is_file()


def test_new_site_passes_the_third_party_validators(new_site: tuple[Path, Path]) -> None:
    from oracles import run_oracle
    _, output = new_site
    run = run_oracle("ob2-validate", output, ORACLE_BASE)
    assert (run.ok, run.failed) == (1, 0), run.output[-3000:]
    run = run_oracle("vc-verify", "--site", output, "--base-url", ORACLE_BASE)
    assert (run.ok, run.failed) == (3, 0), run.output[-3000:]  # 2 credentials + status list


def test_ci_files_are_valid_yaml_and_use_only_documented_commands(tmp_path: Path) -> None:
    site = tmp_path / "s"
    assert run_cli(["init", str(site)])[0] == 0
    documented = documented_commands()
    assert {"build", "check", "keys"} <= documented
    github = yaml.safe_load((site / ".github/workflows/publish.yml").read_text())
    gitlab = yaml.safe_load((site / ".gitlab-ci.yml").read_text())
    steps = github["jobs"]["build"]["steps"]
    uses = [s["uses"].split("@")[0] for s in steps + github["jobs"]["deploy"]["steps"]
            if "uses" in s]
    assert "actions/upload-pages-artifact" in uses and "actions/deploy-pages" in uses
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"] == {"path": "output", "include-hidden-files": True}
    build_step = next(s for s in steps if s.get("name") == "Build the site")
    assert build_step["env"]["RUGZAK_KEYS_BUNDLE"] == "${{ secrets.RUGZAK_KEYS_BUNDLE }}"
    assert gitlab["pages"]["artifacts"]["paths"] == ["public"]
    scripts = "\n".join(s.get("run", "") for s in steps) + "\n" + "\n".join(
        gitlab["pages"]["script"])
    used = set(re.findall(r"(?:^|\s)rugzak ([a-z]+)", scripts))
    assert used and used <= documented, used - documented
    assert "rugzak build --output public" in scripts
    assert "pip install -e" in scripts  # installed from a clone of Rugzak's repository


def test_init_refuses_a_non_empty_folder_and_writes_nothing(tmp_path: Path) -> None:
    site = tmp_path / "busy"
    site.mkdir()
    (site / "notes.txt").write_text("mine")
    code, err = run_cli(["init", str(site)])
    assert code == 2
    assert f"rugzak: error: {site} is not empty (notes.txt); nothing was written." in err
    assert [p.name for p in site.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["busy"]  # no temporary folder left


def test_init_accepts_a_fresh_git_repository(tmp_path: Path) -> None:
    site = tmp_path / "repo"
    (site / ".git").mkdir(parents=True)
    assert run_cli(["init", str(site)])[0] == 0
    assert (site / "content/site.yaml").is_file() and (site / ".git").is_dir()


@pytest.mark.parametrize("option, value, message", [
    ("--base-url", "ftp://x.example.org/", "--base-url 'ftp://x.example.org/' is not usable: "
                                           "it must start with http:// or https://"),
    ("--email", "not-an-address", "--email 'not-an-address' is not an e-mail address"),
    ("--title", "two\nlines", "--title must be one line of text"),
])
def test_init_refuses_bad_options(tmp_path: Path, option: str, value: str,
                                  message: str) -> None:
    code, err = run_cli(["init", str(tmp_path / "s"), option, value])
    assert code == 2 and message in err
    assert not (tmp_path / "s").exists()


def test_init_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    assert run_cli(["init", str(tmp_path / "f")]) == (
        2, f"rugzak: error: {tmp_path / 'f'} exists and is not a folder")


def test_init_refuses_a_link_to_nowhere_and_follows_a_link_to_a_folder(tmp_path: Path) -> None:
    (tmp_path / "site").symlink_to(tmp_path / "missing")
    assert run_cli(["init", str(tmp_path / "site")]) == (
        2, f"rugzak: error: {tmp_path / 'site'} is a symbolic link to {tmp_path / 'missing'}, "
           "which does not exist; create that folder first, or give another path")
    assert (tmp_path / "site").is_symlink() and sorted(os.listdir(tmp_path)) == ["site"]
    (tmp_path / "missing").mkdir()
    assert run_cli(["init", str(tmp_path / "site")])[0] == 0
    assert (tmp_path / "site").is_symlink() and (tmp_path / "missing/content/site.yaml").is_file()


def test_host_files(tmp_path: Path) -> None:
    from generator.scaffold import host_files
    paths = [".well-known/did.json", ".well-known/jwks.json", "index.html", "issuer-ob3.json",
             "assertions/a-1.json", "assertions/a-2.json", "a/a-1/credential.json",
             "a/a-1/credential.jwt", "a/a-1/assertion.jws", "a/a-1/index.html",
             "a/a-2/credential.json", "badges/x.json", "badges/x.png",
             "issuers/acme.json", "issuers/acme/index.html", "issuers/acme/keys/rsa-1.json",
             "status/revocation-1.json"]
    files = dict(host_files(paths))
    assert files[".nojekyll"] == b""
    headers = files["_headers"].decode()
    assert OUTPUT_SIGNATURE.decode() in headers  # how a later build knows its own output
    blocks = {b.split("\n")[0]: b.split("\n")[1:] for b in headers.split("\n/")[1:]}
    rules = {"/" + k.lstrip("/"): v for k, v in blocks.items()}
    json_rule = ["  Content-Type: application/json", "  Access-Control-Allow-Origin: *"]
    for pattern in ("/.well-known/*", "/assertions/*", "/status/*", "/issuer-ob3.json",
                    "/a/:id/credential.json", "/badges/x.json", "/issuers/acme.json",
                    "/issuers/:id/keys/*"):
        assert rules[pattern][:2] == json_rule, pattern
    assert rules["/a/:id/credential.jwt"][0] == "  Content-Type: text/plain; charset=utf-8"
    assert rules["/a/:id/assertion.jws"][0] == "  Content-Type: text/plain; charset=utf-8"
    assert "/badges/*" not in rules  # badges/ also holds PNG images
    assert not any("index.html" in r for r in rules)
    # one rule per kind of file, not per award: the count does not grow with the site
    many = [f"a/a-{i}/credential.json" for i in range(500)] + paths
    assert host_files(many) == host_files(paths)


def test_host_rule_keys_give_the_same_rules_and_stay_few() -> None:
    """A build passes `host_files` the keys of its paths, not the paths: the same rules,
    and as many keys for 300 awards as for 3 — in every language."""
    from generator.scaffold import host_files, host_rule_key

    def site(awards: int) -> list[str]:
        paths = [".well-known/did.json", "index.html", "en/index.html", "assertions/a-1.json",
                 "badges/x.json", "badges/x/index.html", "en/badges/x/index.html",
                 "badges/x/earners/index.html", "en/badges/x/earners/index.html",
                 "issuers/acme.json", "issuers/acme/keys/rsa-1.json", "status/list-1.json"]
        for i in range(awards):
            paths += [f"a/a-{i}/credential.json", f"a/a-{i}/credential.jwt",
                      f"a/a-{i}/index.html", f"en/a/a-{i}/index.html",
                      f"a/a-{i}/certificate/index.html", f"en/a/a-{i}/certificate/index.html",
                      f"p/l-{i}/index.html", f"en/p/l-{i}/index.html",
                      f"p/l-{i}/card/index.html", f"en/p/l-{i}/card/index.html"]
        return paths

    counts = []
    for awards in (3, 300):
        paths = site(awards)
        keys = {host_rule_key(p, ("en",)) for p in paths}
        assert host_files(sorted(keys)) == host_files(paths)
        counts.append(len(keys))
    assert counts[0] == counts[1] < 30


def test_templates_are_package_data_friendly() -> None:
    """Template names have no leading dots, so the pyproject glob picks every one up."""
    from generator.scaffold import TEMPLATES
    names = [p.name for p in TEMPLATES.iterdir()]
    assert names and not [n for n in names if n.startswith(".")]
    assert not [p for p in TEMPLATES.iterdir() if p.is_dir()]
    assert os.access(TEMPLATES / "site.yaml", os.R_OK)


def test_host_paths_held_small_give_the_same_rules_as_all_of_them() -> None:
    import random
    from generator.scaffold import HostPaths, host_files, host_rule_key
    rng = random.Random(7)
    names = ["credential.json", "credential.jwt", "assertion.jws", "index.html", "badge.png",
             "qr.svg", "certificate/index.html", "certificate/data.json"]
    for _ in range(200):
        paths = {"index.html", "sitemap.xml", ".well-known/did.json"}
        for n in range(rng.randint(0, 40)):
            paths.add(f"assertions/a-{n}.json")
            paths.add(f"a/a-{n}/{rng.choice(names)}")
            if rng.random() < 0.1:  # now and then a folder of mixed types
                paths.add(f"{rng.choice(['assertions', 'badges'])}/x-{n}"
                          f"{rng.choice(['.png', '.json', '.jwt', ''])}")
        keys = [host_rule_key(path, ("en",)) for path in sorted(paths)]
        held = HostPaths()
        held._BATCH = 64  # (spilled to the temporary file early)
        for start in range(0, len(keys), 5):
            held.update(keys[start:start + 5])
        assert host_files(held.paths()) == host_files(keys)
        held.close()
