"""Per-record units in worker processes (generator/units.py, via build)."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import ROOT
from generator.build import build
from generator.errors import ContentError
from generator.parallel import MIN_ITEMS_PER_WORKER
from generator.write import OUTPUT_SIGNATURE

sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import generate  # noqa: E402

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)
AWARDS = 2 * MIN_ITEMS_PER_WORKER + 6  # enough for the work to be spread over processes


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("units") / "content"
    generate(folder, AWARDS, AWARDS // 5, 4)
    return folder


def test_output_is_identical_for_any_worker_count(content: Path, tmp_path: Path,
                                                  keyring) -> None:
    one = build(content, tmp_path / "one", None, keyring, NOW, workers=1)
    two = build(content, tmp_path / "two", None, keyring, NOW, workers=2)
    assert one.files == two.files > 10 * AWARDS
    assert tree(tmp_path / "one") == tree(tmp_path / "two")


def test_a_template_error_in_a_worker_is_a_content_error(content: Path, tmp_path: Path,
                                                         keyring) -> None:
    site = tmp_path / "site"
    (site / "themes/broken/templates").mkdir(parents=True)
    (site / "themes/broken/theme.yaml").write_text("extends: default\n")
    (site / "themes/broken/templates/award.html").write_text(
        "{% extends 'default/award.html' %}{% block main %}{{ award.no_such_field }}"
        "{% endblock %}\n")
    records = site / "content"
    import shutil
    shutil.copytree(content, records)
    (records / "site.yaml").write_text((records / "site.yaml").read_text() + "theme: broken\n")
    out = tmp_path / "out"
    out.mkdir()
    previous = {"keep.txt": b"previous build", "_headers": OUTPUT_SIGNATURE + b"\n"}
    for name, data in previous.items():  # (what an earlier build left: it has _headers)
        (out / name).write_bytes(data)
    with pytest.raises(ContentError) as caught:
        build(records, out, None, keyring, NOW, workers=2)
    assert "award.html" in str(caught.value) and "no_such_field" in str(caught.value)
    assert tree(out) == previous  # nothing half-written
    assert not list(tmp_path.glob(".rugzak-tmp-*"))


def test_a_privacy_leak_found_in_a_worker_stops_the_build(content: Path, tmp_path: Path,
                                                          keyring) -> None:
    import shutil
    site = tmp_path / "site"
    records = site / "content"
    shutil.copytree(content, records)
    # (a record's text with a phone number is refused by validation, before any worker
    # starts; a theme's text reaches only the output guard, in the workers)
    (site / "themes/leaky/templates").mkdir(parents=True)
    (site / "themes/leaky/templates/award.html").write_text(
        "{% extends 'default/award.html' %}{% block main %}<p>Bel 06-12345678</p>"
        "{{ super() }}{% endblock %}\n")
    (records / "site.yaml").write_text((records / "site.yaml").read_text() + "theme: leaky\n")
    award = sorted((records / "awards").glob("*.yaml"))[-1]
    with pytest.raises(ContentError) as caught:
        build(records, tmp_path / "out", None, keyring, NOW, workers=2)
    assert "privacy guard: the phone number '06-12345678'" in str(caught.value)
    assert f"a/{award.stem}/" in str(caught.value)
    assert not (tmp_path / "out").exists()
