"""A build whose inputs and output did not change is skipped (generator/uptodate.py)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import make_site
from generator import folder_times, uptodate
from generator.build import build, load_site
from generator.errors import ContentError
from generator.model import EXPIRES_SOON_DAYS
from generator.uptodate import InputDigest, TimeWindow, time_window
from generator.write import JOURNAL_PREFIX, TEMP_PREFIX

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)
EXPIRY = datetime(2026, 1, 1, tzinfo=timezone.utc)  # wp-0002's in the small site


def states(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every file's inode, size and mtime: what a skipped build must leave alone."""
    return {p.relative_to(root).as_posix(): (p.stat().st_ino, p.stat().st_size,
                                             p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by the test count as settled (outside a test, two seconds must pass)."""
    monkeypatch.setattr(uptodate, "_RACY_NS", -1)
    monkeypatch.setattr(folder_times, "RACY_NS", -1)


@pytest.fixture
def built(tmp_path: Path, keyring, settled) -> tuple[Path, Path, Path]:
    site = make_site(tmp_path)
    cache, out = tmp_path / "cache", tmp_path / "out"
    first = build(site, out, None, keyring, NOW, index_folder=cache, workers=1)
    assert not first.unchanged
    return site, cache, out


def test_an_unchanged_build_touches_nothing_and_reports_the_same(built, keyring) -> None:
    site, cache, out = built
    first = build(site, out, None, keyring, NOW, index_folder=cache)  # (the same again)
    before = states(out)
    again = build(site, out, None, keyring, NOW + timedelta(hours=5), index_folder=cache)
    assert again.unchanged and list(again.timings) == ["check"]
    assert (again.files, again.counts, again.warnings) == (first.files, first.counts,
                                                            first.warnings)
    assert again.reused == first.reused > 0
    assert states(out) == before
    assert "nothing changed" in again.summary()


def test_checked_by_several_workers_as_by_one(tmp_path: Path, keyring, settled,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uptodate, "_CHUNK_UNITS", 1)  # one task per unit: forked workers
    files = {f"awards/x-{n:03}.yaml": "learner: fatima\nbadge: lassen-basis\n"
             "issued: 2025-06-01\n" for n in range(80)}
    files["status.yaml"] = "indices:\n" + "".join(f"  x-{n:03}: {100 + n}\n" for n in range(80)) \
        + "  wp-0001: 17\n  wp-0002: 4242\n"
    site = make_site(tmp_path, files)
    cache, out = tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache, workers=2)
    skipped = build(site, out, None, keyring, NOW, index_folder=cache, workers=2)
    assert skipped.unchanged and skipped.reused == 82 + 1  # awards, and fatima's profile
    (out / "a/x-040/index.html").write_bytes(b"changed by hand")
    again = build(site, out, None, keyring, NOW, index_folder=cache, workers=2)
    assert not again.unchanged and again.reused == skipped.reused - 1


def test_a_warm_build_lets_go_of_the_output_however_it_ends(built, keyring) -> None:
    """The output is held (and its files checked) from the start of a warm build: a build
    that finds nothing changed, or stops at a key in content/, leaves nothing beside it."""
    site, cache, out = built
    beside = lambda: sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".rugzak"))
    assert build(site, out, None, keyring, NOW, index_folder=cache, workers=2).unchanged
    assert beside() == []
    (site / "badges/oops.pem").write_bytes(
        next((Path(__file__).parent / "fixtures/keys").glob("rsa-*.pem")).read_bytes())
    with pytest.raises(ContentError, match="private key material in the content folder"):
        build(site, out, None, keyring, NOW, index_folder=cache, workers=2)
    assert beside() == []
    (site / "badges/oops.pem").unlink()  # the inputs are as before: still nothing to do
    assert build(site, out, None, keyring, NOW, index_folder=cache, workers=2).unchanged
    (out / "a/wp-0001/index.html").write_bytes(b"changed by hand")  # a real build
    report = build(site, out, None, keyring, NOW, index_folder=cache, workers=2)
    assert not report.unchanged and report.reused == 2
    assert beside() == []


@pytest.mark.parametrize("change", ["content", "new content file", "theme", "output edited",
                                    "output deleted", "output stray", "site-wide output"])
def test_any_change_to_inputs_or_output_means_a_real_build(built, keyring, change: str
                                                           ) -> None:
    site, cache, out = built
    if change == "content":
        award = site / "awards/wp-0001.yaml"
        award.write_text(award.read_text().replace("2025-03-01", "2025-03-02"))
    elif change == "new content file":
        (site / "images").mkdir(exist_ok=True)
        (site / "images/unused.txt").write_text("not a record")
    elif change == "theme":
        (site.parent / "themes/extra").mkdir(parents=True)
        (site.parent / "themes/extra/theme.yaml").write_text("extends: default\n")
    elif change == "output edited":
        page = out / "a/wp-0001/index.html"
        page.write_bytes(page.read_bytes().replace(b"</body>", b"<p>hand</p></body>"))
    elif change == "output deleted":
        (out / "a/wp-0001/index.html").unlink()
    elif change == "output stray":
        (out / "a/wp-0001/notes.txt").write_text("put here by hand")
    else:
        (out / "sitemap.xml").write_text("<urlset/>")
    report = build(site, out, None, keyring, NOW, index_folder=cache)
    assert not report.unchanged
    build(site, out.parent / "cold", None, keyring, NOW)
    assert tree_of(out) == tree_of(out.parent / "cold")  # the real build repaired it
    assert build(site, out, None, keyring, NOW, index_folder=cache).unchanged


def tree_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_other_options_or_a_crossed_expiry_mean_a_real_build(built, keyring) -> None:
    site, cache, out = built
    assert not build(site, out, "https://elders.example.org/", keyring, NOW,
                     index_folder=cache).unchanged
    assert not build(site, out, None, keyring, NOW, index_folder=cache).unchanged  # back
    assert not build(site, out, None, keyring, NOW, index_folder=cache,
                     csp_script_hashes=("A" * 43 + "=",)).unchanged
    build(site, out, None, keyring, NOW, index_folder=cache)
    # back before wp-0002 expired: its status (and page) differ
    before_expiry = EXPIRY - timedelta(seconds=1)
    report = build(site, out, None, keyring, before_expiry, index_folder=cache)
    assert not report.unchanged and report.reused < report.counts["awards"] + 2


def test_another_keyring_means_a_real_build(built, tmp_path: Path) -> None:
    from generator.keys import create_keyring
    site, cache, out = built
    other = create_keyring(tmp_path / "other-keys", NOW.date())
    assert not build(site, out, None, other, NOW, index_folder=cache).unchanged


def test_a_file_changed_in_the_last_two_seconds_is_never_trusted(tmp_path: Path,
                                                                 keyring) -> None:
    # (conftest makes every file count as just written: as if the builds took no time)
    site = make_site(tmp_path)
    cache, out = tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache)
    assert not build(site, out, None, keyring, NOW, index_folder=cache).unchanged


def test_a_killed_builds_leftovers_are_cleared_before_the_check(built, keyring) -> None:
    site, cache, out = built
    leftover = out.parent / f"{TEMP_PREFIX}{out.name}-abcd1234"
    leftover.mkdir()
    (out.parent / f"{JOURNAL_PREFIX}{out.name}").write_text("not json")
    report = build(site, out, None, keyring, NOW, index_folder=cache)
    assert report.unchanged
    assert not leftover.exists() and not (out.parent / f"{JOURNAL_PREFIX}{out.name}").exists()


def test_a_damaged_stamp_only_costs_time(built, keyring) -> None:
    import sqlite3
    from generator.reuse import index_path
    site, cache, out = built
    with sqlite3.connect(index_path(cache, out)) as db:
        db.execute("UPDATE meta SET value = '{\"format\": \"rugzak-stamp-1\"' "
                   "WHERE name = 'stamp'")
    assert not build(site, out, None, keyring, NOW, index_folder=cache).unchanged
    assert build(site, out, None, keyring, NOW, index_folder=cache).unchanged


def test_the_window_is_bounded_by_the_nearest_dates_either_side(site_dir: Path) -> None:
    site = load_site(site_dir, NOW, None)
    window = time_window(site)
    dates = sorted({a.issued for a in site.awards} | {a.expires for a in site.awards
                                                      if a.expires}
                   | {a.expires - timedelta(days=EXPIRES_SOON_DAYS) for a in site.awards
                      if a.expires})
    assert window.after == max(d for d in dates if d < NOW)
    assert window.before == min((d for d in dates if d > NOW), default=None)
    assert window.admits(NOW) and window.admits(NOW + timedelta(days=1))
    assert not window.admits(window.after)
    assert window.admits(window.after + timedelta(seconds=1))


def test_every_clock_the_window_admits_gives_the_same_award_states(site_dir: Path) -> None:
    site = load_site(site_dir, NOW, None)
    soon = EXPIRY - timedelta(days=EXPIRES_SOON_DAYS)
    before_soon = load_site(site_dir, soon - timedelta(days=3), None)
    window = time_window(before_soon)
    assert window.before == soon
    states_at = lambda moment: [(a.status, a.expires_soon)  # noqa: E731
                                for a in load_site(site_dir, moment, None).awards]
    assert states_at(soon - timedelta(seconds=1)) == states_at(before_soon.now)
    assert not window.admits(soon)
    assert states_at(soon + timedelta(seconds=1)) != states_at(before_soon.now)
    assert states_at(EXPIRY) != states_at(EXPIRY - timedelta(seconds=1))
    assert any(a.status == "expired" for a in site.awards)


def test_touching_a_threshold_admits_only_that_exact_clock() -> None:
    window = TimeWindow(NOW, None, None, touching=True)
    assert window.admits(NOW) and not window.admits(NOW + timedelta(seconds=1))
    assert TimeWindow.from_json(window.to_json()) == window


def test_dates_inside_a_signed_endorsement_are_thresholds() -> None:
    document = {"validFrom": "2026-12-01T10:00:00Z", "nested": [{"validUntil": "2027-01-02"}],
                "name": "2026-not-a-date", "id": "urn:uuid:1"}
    found = sorted(uptodate._dates_in(document))
    assert found == [datetime(2026, 12, 1, 10, tzinfo=timezone.utc),
                     datetime(2027, 1, 2, tzinfo=timezone.utc),
                     datetime(2027, 1, 3, tzinfo=timezone.utc)]


def test_the_input_digest_ignores_listing_order_but_sees_every_identity(
        tmp_path: Path, settled) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a/one.yaml").write_text("1")
    (tmp_path / "two.yaml").write_text("2")
    first, second = InputDigest(), InputDigest()
    first.add("x", 1), first.add("y", 2)
    second.add("y", 2), second.add("x", 1)
    assert first.hexdigest() == second.hexdigest()

    def digest() -> str:
        found = InputDigest()
        found.add_tree("content", tmp_path)
        assert not found.racy
        return found.hexdigest()

    start = digest()
    assert digest() == start
    os.utime(tmp_path / "a/one.yaml", ns=(0, 0))
    assert digest() != start
    renamed = digest()
    (tmp_path / "a/one.yaml").rename(tmp_path / "a/uno.yaml")
    assert digest() != renamed


def test_a_link_to_a_folder_is_never_trusted(tmp_path: Path, settled) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "content").mkdir()
    (tmp_path / "content/linked").symlink_to(tmp_path / "real")
    found = InputDigest()
    found.add_tree("content", tmp_path / "content")
    assert found.racy


def test_a_file_younger_than_two_seconds_makes_the_digest_racy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uptodate, "_RACY_NS", 2_000_000_000)  # the real rule
    (tmp_path / "new.yaml").write_text("just written")
    found = InputDigest()
    found.add_tree("content", tmp_path)
    assert found.racy


def test_the_libraries_in_the_digest_are_the_projects_dependencies() -> None:
    import re
    import tomllib
    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    names = [re.match(r"[A-Za-z0-9_.-]+", item).group(0).lower()  # type: ignore[union-attr]
             for item in project["project"]["dependencies"]]
    assert sorted(names) == sorted(uptodate.LIBRARIES)


def test_the_cli_says_when_nothing_changed(tmp_path: Path, settled, capsys,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import copy_test_keys
    from generator.cli import main
    site = make_site(tmp_path)
    monkeypatch.setenv("RUGZAK_KEYS_DIR", str(copy_test_keys(tmp_path / "keys")))
    monkeypatch.setenv("RUGZAK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(NOW.timestamp())))
    command = ["build", "--content", str(site), "--output", str(tmp_path / "out"),
               "--workers", "1"]
    assert main(command) == 0
    assert "nothing changed" not in capsys.readouterr().out
    assert main(command) == 0
    out = capsys.readouterr().out
    assert "nothing changed since the last build" in out and "check" in out


def test_a_second_check_compares_folder_times_instead_of_listing_folders(
        built, keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    site, cache, out = built
    assert build(site, out, None, keyring, NOW, index_folder=cache).unchanged  # lists, notes

    def no_listing(*args, **kwargs):
        raise AssertionError("listed the output again")

    with monkeypatch.context() as patch:
        patch.setattr(uptodate, "find_strays", no_listing)
        assert build(site, out, None, keyring, NOW, index_folder=cache).unchanged


@pytest.mark.parametrize("change", ["stray file", "new folder", "stray at the top"])
def test_anything_added_after_the_folder_times_were_noted_is_found(
        built, keyring, change: str) -> None:
    site, cache, out = built
    assert build(site, out, None, keyring, NOW, index_folder=cache).unchanged  # notes times
    if change == "stray file":
        (out / "en/a/wp-0001/notes.txt").write_text("put here by hand")
    elif change == "new folder":
        (out / "a/wp-0001/extra").mkdir()
        (out / "a/wp-0001/extra/notes.txt").write_text("put here by hand")
    else:
        (out / "notes.txt").write_text("put here by hand")
    assert not build(site, out, None, keyring, NOW, index_folder=cache).unchanged
    assert tree_of(out) == tree_of(build_cold(site, keyring, out.parent / "cold"))


def build_cold(site: Path, keyring, target: Path) -> Path:
    build(site, target, None, keyring, NOW)
    return target


def test_folder_times_are_not_trusted_while_a_folder_is_young(
        built, keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.reuse import UnitIndex, index_path
    site, cache, out = built
    monkeypatch.setattr(folder_times, "RACY_NS", 2_000_000_000)  # the real rule
    now = folder_times.time.time_ns()
    assert folder_times.settled_times(now - 1000, now - 1000) is None
    assert folder_times.settled_times(now - 3_000_000_000, now - 5_000_000_000) == (
        now - 3_000_000_000, now - 5_000_000_000)
    assert build(site, out, None, keyring, NOW, index_folder=cache).unchanged  # notes rows
    rows = list(UnitIndex(index_path(cache, out)).folder_rows())
    assert rows and all(mtime is None and ctime is None for _, mtime, ctime in rows)
    (out / "a/wp-0001/notes.txt").write_text("put here by hand")  # within the same tick
    assert not build(site, out, None, keyring, NOW, index_folder=cache).unchanged


def test_folder_times_are_kept_whatever_a_folder_is_named(
        built, keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.reuse import UnitIndex, index_path
    site, cache, out = built
    (out / "a/odd\nname with spaces").mkdir()  # empty: not a stray, but an odd name
    assert build(site, out, None, keyring, NOW, index_folder=cache).unchanged  # notes times
    index = UnitIndex(index_path(cache, out))
    assert any("odd\nname with spaces" in path for path, _, _ in index.folder_rows())

    def no_listing(*args, **kwargs):
        raise AssertionError("listed the output again")

    with monkeypatch.context() as patch:
        patch.setattr(uptodate, "find_strays", no_listing)
        assert build(site, out, None, keyring, NOW, index_folder=cache).unchanged
    (out / "a/odd\nname with spaces/notes.txt").write_text("put here by hand")
    assert not build(site, out, None, keyring, NOW, index_folder=cache).unchanged


def test_the_check_copes_with_odd_folder_names_and_a_damaged_index(built, keyring) -> None:
    import os
    from test_folder_times import _damage_row_lookups
    site, cache, out = built
    assert build(site, out, None, keyring, NOW, index_folder=cache).unchanged  # notes rows
    os.mkdir(os.path.join(bytes(out), b"a", b"\xff"))  # empty: not a stray
    assert build(site, out, None, keyring, NOW, index_folder=cache).unchanged
    _damage_row_lookups(cache, out)
    assert build(site, out, None, keyring, NOW, index_folder=cache).unchanged  # listed instead
