"""Shared test helpers: small sites written inside tests (like Hugo's `Test(t, files)`)."""

from __future__ import annotations

import io
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)
FIXTURE_KEYS = ROOT / "tests" / "fixtures" / "keys"  # test-only keys, committed on purpose


def copy_test_keys(target: Path) -> Path:
    """Copy the committed test keys to `target` with the modes a real key folder has."""
    shutil.copytree(FIXTURE_KEYS, target)
    target.chmod(0o700)
    for path in target.iterdir():
        path.chmod(0o600)  # Git does not keep file modes; the loader refuses readable keys
    return target


@pytest.fixture(autouse=True)
def unsettled_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Within a test every input file counts as just changed, so a repeated build really
    builds (whether it may be skipped would otherwise depend on how fast the machine is);
    tests/test_uptodate.py turns this off."""
    from generator import folder_times, uptodate
    monkeypatch.setattr(uptodate, "_RACY_NS", 1 << 62)
    monkeypatch.setattr(folder_times, "RACY_NS", 1 << 62)


@pytest.fixture(scope="session")
def keyring(tmp_path_factory: pytest.TempPathFactory):
    """The committed test keyring, loaded."""
    from generator.keys import load_keyring
    return load_keyring(copy_test_keys(tmp_path_factory.mktemp("k") / "keys"))


def png_bytes(size: int = 64, colour: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    """A small valid PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


BASE_FILES: dict[str, str | bytes] = {
    "site.yaml": "title: {nl: Testsite, en: Test site}\n"
                 "base_url: https://badges.example.org/\n"
                 "issuer: acme\n",
    "issuers/acme.yaml": "name: Acme Leerbedrijf\nurl: https://acme.example.org/\n"
                         "email: badges@acme.example.org\n",
    "badges/lassen-basis.md": "---\nname: {nl: Lassen basis, en: Welding basics}\n"
                              "description: {nl: Basis lassen., en: Basic welding.}\n"
                              "image: lassen-basis.png\n---\n"
                              "Je last een **T-verbinding**.\n\n<!-- lang: en -->\n"
                              "You weld a **T joint**.\n",
    "badges/lassen-basis.png": png_bytes(),
    "learners/fatima.yaml": "name: Fatima El Amrani\nidentifier: fatima@example.org\n"
                            "visibility: public\n",
    "learners/jan.yaml": "name: Jan de Vries\nidentifier: Jan.de.Vries@Example.org\n"
                         "visibility: private\n",
    "awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-03-01\n"
                           "narrative: {nl: Laste een frame., en: Welded a frame.}\n"
                           "evidence:\n  - url: https://acme.example.org/portfolio/1\n"
                           "    name: Foto's\n",
    "awards/wp-0002.yaml": "learner: jan\nbadge: lassen-basis\nissued: 2025-04-01\n"
                           "expires: 2026-01-01\n",
    "status.yaml": "indices:\n  wp-0001: 17\n  wp-0002: 4242\n",
}


def make_site(root: Path, files: dict[str, str | bytes | None] | None = None,
              base: bool = True) -> Path:
    """Write a content folder under `root`: BASE_FILES updated with `files` (None deletes)."""
    content = root / "content"
    merged: dict[str, str | bytes | None] = dict(BASE_FILES) if base else {}
    merged.update(files or {})
    for name, data in merged.items():
        if data is None:
            continue
        path = content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    content.mkdir(parents=True, exist_ok=True)
    return content


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """The small valid site."""
    return make_site(tmp_path)


DEMO_BASE_URL = "http://127.0.0.1:8765/"


def build_demo(work: Path, *extra: str) -> Path:
    """Build the demo site with the real CLI and the test keys into `work/site`."""
    import os
    import subprocess
    env = dict(os.environ, RUGZAK_KEYS_DIR=str(copy_test_keys(work / "keys")),
               RUGZAK_CACHE_DIR=str(work / "cache"))
    env.pop("RUGZAK_KEYS_BUNDLE", None)
    result = subprocess.run([sys.executable, "-m", "generator", "build", "--content",
                             str(ROOT / "content"), "--output", str(work / "site"),
                             "--base-url", DEMO_BASE_URL, *extra],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return work / "site"


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo site, built once per test session (read-only for tests)."""
    return build_demo(tmp_path_factory.mktemp("demo"))
