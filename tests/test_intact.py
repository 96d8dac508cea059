"""The previous build's files, checked beside loading (generator/intact.py)."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

import generator.build
from conftest import make_site
from generator import folder_times
from generator.build import build
from generator.intact import IntactCheck, damaged_units
from generator.reuse import UnitIndex, index_path

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


@pytest.fixture
def built(tmp_path: Path, keyring) -> tuple[Path, Path, UnitIndex]:
    site, cache, out = make_site(tmp_path), tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache)
    return site, out, UnitIndex(index_path(cache, out))


def keys(index: UnitIndex) -> list[str]:
    span = index.row_span()
    assert span is not None
    return [key for key, _ in index.units_between(*span)]


def test_an_untouched_output_has_no_damaged_unit(built) -> None:
    _, out, index = built
    assert {"award:wp-0001", "award:wp-0002"} <= set(keys(index))
    with IntactCheck(index, out, 2) as check:
        assert check.damaged() == frozenset()


def test_edited_deleted_and_linked_files_damage_their_unit_only(built, tmp_path: Path) -> None:
    _, out, index = built
    page = out / "a/wp-0001/index.html"
    page.write_bytes(page.read_bytes() + b" ")  # same folder, one byte more
    (out / "en/a/wp-0002/index.html").unlink()
    outside = tmp_path / "elsewhere"
    (out / "p").rename(outside)  # the profiles' folder, moved away and linked back
    (out / "p").symlink_to(outside)
    profiles = {key for key in keys(index) if key.startswith("profile:")}
    assert profiles
    with IntactCheck(index, out, 1) as check:
        assert check.damaged() == {"award:wp-0001", "award:wp-0002", *profiles}


def test_a_span_is_checked_in_the_calling_process_too(built) -> None:
    _, out, index = built
    (out / "assertions/wp-0002.json").write_text("{}")
    span = index.row_span()
    assert damaged_units(index, out, span) == (len(keys(index)), ["award:wp-0002"])


def test_an_index_the_check_cannot_read_is_not_taken_as_undamaged(built, tmp_path: Path
                                                                  ) -> None:
    _, out, index = built
    span = index.row_span()
    index.path.rename(tmp_path / "elsewhere.sqlite")  # the cache cleared during a build
    assert damaged_units(UnitIndex(index.path), out, span) is None
    with IntactCheck(index, out, 1) as check:  # (the parent's reader was open before)
        assert check.damaged() is None


def test_an_unreadable_entry_leaves_each_unit_to_check_its_own_files(built) -> None:
    _, out, index = built
    with sqlite3.connect(index.path) as db:
        db.execute("UPDATE units SET entry = 'not json' WHERE key = 'award:wp-0001'")
    with IntactCheck(index, out, 1) as check:
        assert check.damaged() is None


def test_without_a_previous_index_there_is_nothing_to_check(tmp_path: Path) -> None:
    index = UnitIndex(tmp_path / "none.sqlite")
    check = IntactCheck(index, tmp_path, 1)
    assert check.damaged() is None


@pytest.fixture
def found(monkeypatch: pytest.MonkeyPatch) -> list[frozenset[str] | None]:
    """What the checks the builds started found."""
    results: list[frozenset[str] | None] = []

    class Recorded(IntactCheck):
        def damaged(self) -> frozenset[str] | None:
            results.append(super().damaged())
            return results[-1]

    monkeypatch.setattr(generator.build, "IntactCheck", Recorded)
    return results


def test_a_warm_build_with_workers_trusts_the_check_and_remakes_what_it_found(
        built, keyring, tmp_path: Path, found: list) -> None:
    site, out, _ = built
    page = out / "a/wp-0001/index.html"
    original = page.read_bytes()
    page.write_bytes(b"defaced")
    report = build(site, out, None, keyring, NOW, index_folder=tmp_path / "cache", workers=2)
    assert found == [{"award:wp-0001"}]
    assert page.read_bytes() == original
    assert report.reused >= 2  # the other award and the profiles were kept


def test_no_check_after_other_code_built_the_output(built, keyring, tmp_path: Path,
                                                    found: list) -> None:
    site, out, index = built
    with sqlite3.connect(index.path) as db:  # as if made by another version of Rugzak
        db.execute("UPDATE meta SET value = 'other' WHERE name = 'code'")
    build(site, out, None, keyring, NOW, index_folder=tmp_path / "cache", workers=2)
    assert found == []  # every unit is made again: nothing to check
    (site / "awards/wp-0002.yaml").write_text(
        (site / "awards/wp-0002.yaml").read_text() + "narrative: Nu anders.\n")
    build(site, out, None, keyring, NOW, index_folder=tmp_path / "cache", workers=2)
    assert found == [frozenset()]


def test_the_folder_rows_compared_beside_loading_find_what_was_put_in_the_output(
        built, keyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, out, _ = built
    monkeypatch.setattr(folder_times, "RACY_NS", -1)  # the times noted now count
    monkeypatch.setattr(folder_times, "_CHUNK_ROWS", 3)  # several tasks to share
    build(site, out, None, keyring, NOW, index_folder=tmp_path / "cache", workers=2)
    time.sleep(0.05)  # past the file system clock's tick
    (out / "a/wp-0001/notes.txt").write_text("put here by hand")
    (out / "p/extra").mkdir()
    (out / "p/extra/notes.txt").write_text("put here by hand")
    compared: list[object] = []

    class Recorded(IntactCheck):
        def folder_results(self):
            compared.append(super().folder_results())
            return compared[-1]

    def no_comparing_at_commit(*args, **kwargs):
        raise AssertionError("the folder rows were compared again at the commit")

    monkeypatch.setattr(generator.build, "IntactCheck", Recorded)
    monkeypatch.setattr(folder_times, "imap_ordered", no_comparing_at_commit)
    monkeypatch.setattr(folder_times, "find_strays", no_comparing_at_commit)
    build(site, out, None, keyring, NOW, index_folder=tmp_path / "cache", workers=2)
    assert len(compared) == 1 and isinstance(compared[0], list) and len(compared[0]) > 1
    assert sum(len(changed) for changed, _ in compared[0]) == 2  # the two folders touched
    assert not (out / "a/wp-0001/notes.txt").exists() and not (out / "p/extra").exists()
    assert (out / "a/wp-0001/index.html").is_file()


def test_after_a_site_wide_change_only_the_folder_rows_are_compared(built, keyring,
                                                                     tmp_path: Path,
                                                                     monkeypatch) -> None:
    site, out, index = built
    monkeypatch.setattr(folder_times, "RACY_NS", -1)
    build(site, out, None, keyring, NOW, index_folder=tmp_path / "cache", workers=2)
    index = UnitIndex(index.path)  # (that build's, with folder rows)
    with IntactCheck(index, out, 1) as check:
        check.skip_units()
        assert check.damaged() is None  # nothing checked: each unit is made again anyway
        compared = check.folder_results()
    assert compared and all(found == ([], []) for found in compared)  # nothing changed
