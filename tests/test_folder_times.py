"""In-place updates find strays from the folder times the unit index keeps
(generator/folder_times.py): only changed folders are listed, and the output is always
exactly what a cold build makes."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import make_site
from generator import folder_times
from generator.build import build
from generator.reuse import UnitIndex, index_path

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)
EXTRA_BADGE = ("---\nname: {nl: Solderen, en: Soldering}\n"
               "description: {nl: Solderen., en: Soldering.}\nimage: lassen-basis.png\n---\n"
               "Je soldeert.\n\n<!-- lang: en -->\nYou solder.\n")
THIRD = {"learners/piet.yaml": "name: Piet Bakker\nidentifier: piet@example.org\n"
                               "visibility: public\n",
         "awards/wp-0003.yaml": "learner: piet\nbadge: lassen-basis\nissued: 2025-05-01\n",
         "status.yaml": "indices:\n  wp-0001: 17\n  wp-0002: 4242\n  wp-0003: 99\n",
         "badges/solderen.md": EXTRA_BADGE}


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Folder times noted by a test count as settled (outside a test: two seconds old)."""
    monkeypatch.setattr(folder_times, "RACY_NS", -1)


@pytest.fixture
def warm(tmp_path: Path, keyring, settled) -> tuple[Path, Path, Path]:
    """A site built twice: the second (in-place) build notes every folder's times."""
    site = make_site(tmp_path, THIRD)
    cache, out = tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache)
    build(site, out, None, keyring, NOW, index_folder=cache)
    assert rows(cache, out)
    time.sleep(0.05)  # past the file system clock's tick: a later change shows in the times
    return site, cache, out


def rows(cache: Path, out: Path) -> dict[str, tuple[int | None, int | None]]:
    return {path: (mtime, ctime)
            for path, mtime, ctime in UnitIndex(index_path(cache, out)).folder_rows()}


def cold(site: Path, keyring, target: Path) -> dict[str, bytes]:
    build(site, target, None, keyring, NOW)
    return tree(target)


@pytest.fixture
def no_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("listed the whole output")
    monkeypatch.setattr(folder_times, "find_strays", refuse)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_change_lists_only_changed_folders_and_equals_a_cold_build(
        warm, keyring, tmp_path: Path, no_listing, monkeypatch: pytest.MonkeyPatch,
        workers: int) -> None:
    from generator import parallel
    site, cache, out = warm
    if workers > 1:  # rows compared by worker processes, a few at a time
        monkeypatch.setattr(folder_times, "_CHUNK_ROWS", 3)
        monkeypatch.setattr(parallel, "MIN_ITEMS_PER_WORKER", 1)
    award = site / "awards/wp-0003.yaml"
    award.write_text(award.read_text() + "narrative: {nl: Nieuw., en: New.}\n")
    (out / "a/wp-0001/notes.txt").write_text("put here by hand")
    (out / "a/wp-0002/extra").mkdir()
    (out / "a/wp-0002/extra/deeper").mkdir()
    (out / "a/wp-0002/extra/deeper/notes.txt").write_text("put here by hand")
    root = out.stat().st_ino
    report = build(site, out, None, keyring, NOW, index_folder=cache, workers=workers)
    assert report.reused >= 3 and out.stat().st_ino == root  # updated in place
    assert tree(out) == cold(site, keyring, tmp_path / "cold")
    assert not (out / "a/wp-0002/extra").exists()


def test_files_no_longer_made_are_deleted_from_folders_nobody_touched(
        warm, keyring, tmp_path: Path, no_listing) -> None:
    site, cache, out = warm
    badge_files = [p for p in tree(out) if "solderen" in p]
    assert badge_files  # site-wide files of a badge class nobody holds
    for name in ("awards/wp-0003.yaml", "learners/piet.yaml", "badges/solderen.md"):
        (site / name).unlink()  # a unit gone (and its profile), and site-wide files
    (site / "status.yaml").write_text("indices:\n  wp-0001: 17\n  wp-0002: 4242\n")
    root = out.stat().st_ino
    build(site, out, None, keyring, NOW, index_folder=cache)
    assert out.stat().st_ino == root  # updated in place
    assert tree(out) == cold(site, keyring, tmp_path / "cold")
    assert not any("solderen" in p or "wp-0003" in p for p in tree(out))


def test_folders_an_update_changed_are_listed_next_time_and_others_keep_their_times(
        warm, keyring) -> None:
    site, cache, out = warm
    before = rows(cache, out)
    award = site / "awards/wp-0003.yaml"
    award.write_text(award.read_text() + "narrative: {nl: Nieuw., en: New.}\n")
    build(site, out, None, keyring, NOW, index_folder=cache)
    after = rows(cache, out)
    assert after["a/wp-0003/"] == (None, None)  # a file in it was replaced
    assert after["a/wp-0001/"] == before["a/wp-0001/"] != (None, None)
    assert set(after) == set(before)


def test_an_update_killed_before_its_index_was_kept_is_put_right(
        warm, keyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, cache, out = warm
    for name in ("awards/wp-0003.yaml", "learners/piet.yaml"):
        (site / name).unlink()
    (site / "status.yaml").write_text("indices:\n  wp-0001: 17\n  wp-0002: 4242\n")
    with monkeypatch.context() as patch:
        def killed(self: UnitIndex) -> None:
            raise KeyboardInterrupt
        patch.setattr(UnitIndex, "finish", killed)
        with pytest.raises(KeyboardInterrupt):
            build(site, out, None, keyring, NOW, index_folder=cache)
    assert not (out / "a/wp-0003").exists()  # the output was updated, the old index stayed
    (out / "a/wp-0001/notes.txt").write_text("put here by hand")
    build(site, out, None, keyring, NOW, index_folder=cache)
    assert tree(out) == cold(site, keyring, tmp_path / "cold")


def test_many_changed_folders_are_listed_in_one_go(
        warm, keyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site, cache, out = warm
    monkeypatch.setattr(folder_times, "MANY_CHANGED", 0)
    monkeypatch.setattr(folder_times, "CHANGED_SHARE", 0.0)
    listed = []
    real = folder_times.find_strays
    monkeypatch.setattr(folder_times, "find_strays",
                        lambda *args: listed.append(1) or real(*args))
    (out / "a/wp-0001/notes.txt").write_text("put here by hand")
    build(site, out, None, keyring, NOW, index_folder=cache)
    assert listed
    assert tree(out) == cold(site, keyring, tmp_path / "cold")
    assert rows(cache, out)  # noted again by the listing


def test_times_too_young_to_trust_are_kept_as_unknown(
        warm, keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    site, cache, out = warm
    monkeypatch.setattr(folder_times, "RACY_NS", 2_000_000_000)  # the real rule
    (out / "notes.txt").write_text("put here by hand")  # the top folder changes now
    build(site, out, None, keyring, NOW, index_folder=cache)
    assert not (out / "notes.txt").exists()
    assert rows(cache, out)[""] == (None, None)


def test_a_folder_replaced_by_a_link_never_leads_a_build_outside_the_output(
        warm, keyring, tmp_path: Path) -> None:
    site, cache, out = warm
    # an award added: the award folder's row is kept again, after those of the folders in it
    (site / "awards/wp-0004.yaml").write_text("learner: fatima\nbadge: solderen\n"
                                              "issued: 2025-06-01\n")
    (site / "status.yaml").write_text(THIRD["status.yaml"] + "  wp-0004: 5\n")
    build(site, out, None, keyring, NOW, index_folder=cache)
    time.sleep(0.05)
    outside = tmp_path / "elsewhere"
    (out / "a/wp-0003").rename(outside)  # the folder moved away, a link in its place
    (out / "a/wp-0003").symlink_to(outside)
    kept = sorted(p.name for p in outside.iterdir())
    for name in ("awards/wp-0003.yaml", "learners/piet.yaml"):  # its files become strays
        (site / name).unlink()
    (site / "status.yaml").write_text("indices:\n  wp-0001: 17\n  wp-0002: 4242\n"
                                      "  wp-0004: 5\n")
    build(site, out, None, keyring, NOW, index_folder=cache)
    assert sorted(p.name for p in outside.iterdir()) == kept  # nothing deleted out there
    assert not (out / "a/wp-0003").is_symlink()
    assert tree(out) == cold(site, keyring, tmp_path / "cold")


def _award_changed(site: Path) -> None:
    award = site / "awards/wp-0003.yaml"
    lines = [line for line in award.read_text().splitlines() if
             not line.startswith("narrative:")]
    award.write_text("\n".join(lines) + f"\nnarrative: Nieuw {time.time_ns()}.\n")


def _damage_row_lookups(cache: Path, out: Path) -> None:
    """Overwrite the folder rows' lookup index (the table itself stays readable)."""
    import sqlite3
    path = index_path(cache, out)
    db = sqlite3.connect(path)
    size, = db.execute("PRAGMA page_size").fetchone()
    page, = db.execute("SELECT rootpage FROM sqlite_master "
                       "WHERE name = 'sqlite_autoindex_folder_times_1'").fetchone()
    db.execute("UPDATE folder_times SET mtime = NULL WHERE path = x''")  # the top is listed
    db.commit()
    db.close()
    with open(path, "r+b") as handle:
        handle.seek((page - 1) * size)
        handle.write(b"\xee" * size)


@pytest.mark.parametrize("full_listing", [False, True])
@pytest.mark.parametrize("with_file", [False, True])
def test_folder_names_that_are_not_utf8_are_kept_and_checked(
        warm, keyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_file: bool,
        full_listing: bool) -> None:
    import os
    site, cache, out = warm
    if full_listing:
        monkeypatch.setattr(folder_times, "MANY_CHANGED", 0)
        monkeypatch.setattr(folder_times, "CHANGED_SHARE", 0.0)
    odd = os.path.join(bytes(out), b"a", b"wp-0001", b"\xff")
    os.mkdir(odd)
    if with_file:
        with open(os.path.join(odd, b"x.txt"), "wb") as handle:
            handle.write(b"put here by hand")
    _award_changed(site)
    build(site, out, None, keyring, NOW, index_folder=cache)
    assert tree(out) == cold(site, keyring, tmp_path / "cold")
    time.sleep(0.05)
    _award_changed(site)  # and once more, with the odd name among the rows
    build(site, out, None, keyring, NOW, index_folder=cache)
    assert tree(out) == cold(site, keyring, tmp_path / "cold2")


def test_a_damaged_index_costs_a_listing_and_nothing_else(
        warm, keyring, tmp_path: Path) -> None:
    site, cache, out = warm
    _damage_row_lookups(cache, out)
    assert rows(cache, out)  # (a scan of the rows still works, lookups fail)
    (out / "a/wp-0001/notes.txt").write_text("put here by hand")
    _award_changed(site)
    build(site, out, None, keyring, NOW, index_folder=cache)
    assert tree(out) == cold(site, keyring, tmp_path / "cold")


@pytest.mark.parametrize("workers", [1, 2])  # 2: the files are checked beside loading
def test_an_award_folder_moved_away_and_linked_back_is_made_again(
        warm, keyring, tmp_path: Path, workers: int) -> None:
    site, cache, out = warm
    outside = tmp_path / "elsewhere"
    (out / "a/wp-0002").rename(outside)  # its files look unchanged through the link
    (out / "a/wp-0002").symlink_to(outside)
    kept = sorted(p.name for p in outside.iterdir())
    _award_changed(site)
    build(site, out, None, keyring, NOW, index_folder=cache, workers=workers)
    assert sorted(p.name for p in outside.iterdir()) == kept
    assert tree(out) == cold(site, keyring, tmp_path / "cold")


def test_a_key_behind_a_linked_folder_is_not_taken_for_one_in_the_output(
        warm, keyring, tmp_path: Path) -> None:
    site, cache, out = warm
    outside = tmp_path / "elsewhere"
    (out / "a/wp-0003").rename(outside)
    (out / "a/wp-0003").symlink_to(outside)
    (outside / "certificate/mine.pem").write_text(
        "-----BEGIN " + "PRIVATE KEY-----\nabc\n-----END " + "PRIVATE KEY-----\n")
    for name in ("awards/wp-0003.yaml", "learners/piet.yaml"):
        (site / name).unlink()
    (site / "status.yaml").write_text("indices:\n  wp-0001: 17\n  wp-0002: 4242\n")
    build(site, out, None, keyring, NOW, index_folder=cache)
    assert (outside / "certificate/mine.pem").exists()
    assert tree(out) == cold(site, keyring, tmp_path / "cold")
