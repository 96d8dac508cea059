"""Warm loads: unchanged record files are not parsed again (generator/record_cache.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import make_site
from generator import load, record_cache
from generator.load import load_content


_REAL_TIME_NS = time.time_ns


class _Clock:
    """The time the record cache sees; starts a minute after the files were written."""

    def __init__(self) -> None:
        self.now = _REAL_TIME_NS() + 60 * 10**9

    def wait(self) -> None:
        self.now += 60 * 10**9

    def __call__(self) -> int:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    clock = _Clock()
    monkeypatch.setattr(record_cache.time, "time_ns", clock)
    return clock


def _records(loaded) -> dict[str, tuple]:
    return {r.display: (r.kind, r.id, r.data, r.body, r.body_line, r.line_of(())) for r in
            (loaded.site, *loaded.special.values(), *loaded.records)}


@pytest.fixture
def content(tmp_path: Path) -> Path:
    return make_site(tmp_path)


def test_a_warm_load_equals_a_cold_one_and_parses_only_changed_files(
        content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: _Clock) -> None:
    cache = tmp_path / "cache"
    cold, problems = load_content(content, cache)
    assert not problems and list((cache / "records").iterdir())
    parsed: list[str] = []
    real = load._load_record
    monkeypatch.setattr(load, "_load_record",
                        lambda kind, path, *rest: parsed.append(path.name) or
                        real(kind, path, *rest))
    warm, _ = load_content(content, cache)
    assert parsed == [] and _records(warm) == _records(cold)
    learner = next((content / "learners").iterdir())
    learner.write_text(learner.read_text().replace("visibility: public", "visibility: private"))
    clock.now = _REAL_TIME_NS()  # the build runs right after the edit
    again, _ = load_content(content, cache)
    assert parsed == [learner.name]  # changed just now: parsed, and not remembered yet
    assert _records(again) == _records(load_content(content)[0])  # (parses every file)
    parsed.clear()
    load_content(content, cache)
    assert parsed == [learner.name]
    clock.wait()
    load_content(content, cache)
    load_content(content, cache)
    assert parsed == [learner.name] * 2  # remembered once it is older than the window


def test_problems_are_found_again_on_every_load(content: Path, tmp_path: Path) -> None:
    bad = content / "learners" / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    for _ in range(2):
        _, problems = load_content(content, tmp_path / "cache")
        assert [p.path for p in problems] == ["content/learners/bad.yaml"]


def test_a_damaged_or_foreign_cache_only_costs_time(content: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold, _ = load_content(content, cache)
    for damage in (b"not a database", b"", b'["x", {"a": ["q", 1]}]'):
        for file in list((cache / "records").glob("*.sqlite3")):
            file.write_bytes(damage)
            (file.parent / (file.name + "-journal")).write_bytes(damage)
        warm, problems = load_content(content, cache)
        assert not problems and _records(warm) == _records(cold)
        assert not list((cache / "records").glob("*-journal"))  # replaced with its file


def test_every_yaml_value_survives_the_cache() -> None:
    from datetime import date, datetime, timedelta, timezone

    value = ("award", {"issued": datetime(2025, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=1))),
                       "day": date(2025, 3, 1), "naive": datetime(2025, 3, 1, 9, 30),
                       "raw": b"\x00\xff", "list": [1, 2.5, True, None, "€ ok", "\ud800"],
                       "nested": {"nl": "Tekst", "deep": [{"x": (1, 2)}]},
                       "tagged-looking": ["d", {"a": 1}]}, "body", 3)
    decoded = record_cache.decode(record_cache.encode(value))
    assert decoded == value
    assert type(decoded[1]["nested"]["deep"][0]["x"]) is tuple
    assert type(decoded[1]["tagged-looking"]) is list
    for uncacheable in ({"a set": {1, 2}}, {"\0D": "2025-01-01"}, {1: "x"}):
        with pytest.raises(TypeError):  # such a file is parsed each time
            record_cache.encode(uncacheable)


def _rows(cache: Path) -> dict[str, str]:
    import sqlite3
    (database,) = (cache / "records").glob("*.sqlite3")
    with sqlite3.connect(database) as db:
        return dict(db.execute("SELECT path, stamp FROM records"))


def test_only_changed_rows_are_written_and_rows_of_deleted_files_are_dropped(
        content: Path, tmp_path: Path, clock: _Clock) -> None:
    cache = tmp_path / "cache"
    cold, _ = load_content(content, cache)
    first = _rows(cache)
    assert len(first) == len(_records(cold))  # site, special files and records: one row each
    learners = sorted((content / "learners").iterdir())
    learners[0].write_text(learners[0].read_text() + "\n")
    learners[1].unlink()
    clock.wait()
    load_content(content, cache)
    second = _rows(cache)
    assert str(learners[1]) not in second and str(learners[0]) in second
    changed = {path for path in second if second[path] != first[path]}
    assert changed == {str(learners[0])}


def test_rows_parked_in_the_temporary_table_are_saved(content: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      clock: _Clock) -> None:
    monkeypatch.setattr(record_cache, "_PARK_ROWS", 2)  # park every second row
    cache = tmp_path / "cache"
    cold, _ = load_content(content, cache)
    assert len(_rows(cache)) == len(_records(cold))
    parsed: list[str] = []
    real = load._load_record
    monkeypatch.setattr(load, "_load_record",
                        lambda kind, path, *rest: parsed.append(path.name) or
                        real(kind, path, *rest))
    # rows parked while the table is read with an open cursor, in the middle of a folder
    learners = sorted((content / "learners").iterdir())[:3]
    for learner in learners:
        learner.write_text(learner.read_text() + "\n")
    clock.wait()
    changed, _ = load_content(content, cache)
    assert sorted(parsed) == sorted(p.name for p in learners)
    parsed.clear()
    warm, _ = load_content(content, cache)
    assert parsed == [] and _records(warm) == _records(changed)
    assert len(_rows(cache)) == len(_records(cold))


def test_a_damaged_row_or_a_locked_database_only_costs_time(content: Path, tmp_path: Path,
                                                            clock: _Clock) -> None:
    import sqlite3
    cache = tmp_path / "cache"
    cold, _ = load_content(content, cache)
    (database,) = (cache / "records").glob("*.sqlite3")
    with sqlite3.connect(database) as db:
        db.execute("UPDATE records SET value = '[\"?\", 1]'")  # an unknown tag in every row
    warm, problems = load_content(content, cache)
    assert not problems and _records(warm) == _records(cold)
    locker = sqlite3.connect(database, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another build holds it
    try:
        clock.wait()
        held, problems = load_content(content, cache)
        assert not problems and _records(held) == _records(cold)
    finally:
        locker.execute("ROLLBACK")
        locker.close()


def test_a_file_name_that_is_not_utf8_is_reported_not_cached(content: Path,
                                                             tmp_path: Path) -> None:
    import os
    odd = os.path.join(os.fsencode(content / "learners"), b"\xff.yaml")
    with open(odd, "wb") as handle:
        handle.write(b"name: X\nidentifier: x@example.org\n")
    for _ in range(2):  # the second load reads the cache written by the first
        loaded, problems = load_content(content, tmp_path / "cache")
        assert not problems
        assert [r.data["name"] for r in loaded.records if r.id == "\udcff"] == ["X"]
    assert len(_rows(tmp_path / "cache")) == len(_records(loaded)) - 1  # all but that one


def _scan(content: Path, cache: Path | None, monkeypatch: pytest.MonkeyPatch
          ) -> tuple[list[str], list[str]]:
    """(what the key scan found, the files it read)."""
    from generator import build
    read: list[str] = []
    real = build.find_private_key_material
    monkeypatch.setattr(build, "find_private_key_material",
                        lambda data: read.append(data[:40].decode("latin-1")) or real(data))
    return build.content_key_leaks(content, cache), read


def test_the_key_scan_reads_only_files_changed_since_they_were_found_clean(
        content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: _Clock) -> None:
    cache = tmp_path / "cache"
    count = sum(1 for path in content.rglob("*") if path.is_file())
    found, read = _scan(content, cache, monkeypatch)
    assert found == [] and len(read) == count
    found, read = _scan(content, cache, monkeypatch)
    assert found == [] and read == []  # nothing changed: nothing read
    pem = next((Path(__file__).parent / "fixtures/keys").glob("rsa-*.pem")).read_text()
    learner = next((content / "learners").iterdir())
    learner.write_text(learner.read_text() + "# " + pem.replace("\n", "\n# ") + "\n")
    clock.wait()
    found, read = _scan(content, cache, monkeypatch)
    assert [line.split(": ")[0] for line in found] == [str(learner)] and len(read) == 1
    found, read = _scan(content, cache, monkeypatch)  # a leak is never remembered as clean
    assert [line.split(": ")[0] for line in found] == [str(learner)] and len(read) == 1
    # without a cache folder every file is read, as before
    found, read = _scan(content, None, monkeypatch)
    assert len(found) == 1 and len(read) == count


def test_the_key_scan_does_not_remember_files_changed_just_now(
        content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: _Clock) -> None:
    clock.now = _REAL_TIME_NS()  # the files were written within the last two seconds
    cache = tmp_path / "cache"
    _scan(content, cache, monkeypatch)
    found, read = _scan(content, cache, monkeypatch)
    assert found == [] and len(read) == sum(1 for p in content.rglob("*") if p.is_file())


def test_the_key_scan_works_with_a_damaged_cache(
        content: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    _scan(content, cache, monkeypatch)
    for database in (cache / "records").iterdir():
        database.write_bytes(b"not a database" * 100)
    pem = next((Path(__file__).parent / "fixtures/keys").glob("rsa-*.pem")).read_text()
    (content / "oops.pem").write_text(pem)
    found, _ = _scan(content, cache, monkeypatch)
    assert [line.split(": ")[0] for line in found] == [str(content / "oops.pem")]
