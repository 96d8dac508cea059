"""Awards' own checks kept in the record cache (generator/cleaned.py, via validate)."""

from __future__ import annotations

import sqlite3
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import make_site
from generator import record_cache, validate
from generator.build import build
from generator.load import stream_content
from generator.validate import validate_content

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)
_REAL_TIME_NS = time.time_ns


@pytest.fixture(autouse=True)
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """The record cache sees every file as written long ago (not 'just changed')."""
    monkeypatch.setattr(record_cache.time, "time_ns", lambda: _REAL_TIME_NS() + 60 * 10**9)


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the awards whose own fields are checked (not taken as kept)."""
    seen: list[str] = []
    real = validate._clean_record

    def counting(record, *args, **kwargs):
        if record.kind == "award":
            seen.append(record.id)
        return real(record, *args, **kwargs)

    monkeypatch.setattr(validate, "_clean_record", counting)
    return seen


def validated(content: Path, cache: Path) -> tuple[list, list]:
    loaded, problems = stream_content(content, cache)
    awards: list = []
    valid, more = validate_content(loaded, NOW, None,
                                   lambda award, _default: awards.append(award))
    return awards, problems + more


def test_unchanged_awards_are_not_checked_again_and_come_out_the_same(
        tmp_path: Path, checked: list[str]) -> None:
    content, cache = make_site(tmp_path), tmp_path / "cache"
    first, problems = validated(content, cache)
    assert not problems and len(checked) == len(first) >= 2
    checked.clear()
    again, problems = validated(content, cache)
    assert not problems and checked == []
    assert [(a.id, a.values) for a in again] == [(a.id, a.values) for a in first]
    assert [repr(a.values) for a in again] == [repr(a.values) for a in first]  # same types
    award = content / "awards/wp-0002.yaml"
    award.write_text(award.read_text() + "narrative: Nieuw.\n")
    changed, problems = validated(content, cache)
    assert not problems and checked == ["wp-0002"]
    assert changed[1].values["narrative"] == {"nl": "Nieuw."}


def test_an_address_no_longer_public_is_found_in_an_unchanged_award(
        tmp_path: Path, checked: list[str]) -> None:
    content = make_site(tmp_path, {"awards/wp-0003.yaml": (
        "learner: fatima\nbadge: lassen-basis\nissued: 2025-05-01\n"
        "narrative: Vragen aan badges@acme.example.org.\n"),
        "status.yaml": "indices:\n  wp-0001: 17\n  wp-0002: 4242\n  wp-0003: 99\n"})
    cache = tmp_path / "cache"
    assert not validated(content, cache)[1]  # the issuer's published address
    issuer = content / "issuers/acme.yaml"
    issuer.write_text(issuer.read_text().replace("badges@acme", "info@acme"))
    checked.clear()
    _, problems = validated(content, cache)
    assert "wp-0003" in checked
    assert any("wp-0003" in p.path and "narrative" in p.message for p in problems)


def test_damaged_kept_values_are_checked_again(tmp_path: Path, checked: list[str]) -> None:
    content, cache = make_site(tmp_path), tmp_path / "cache"
    first, _ = validated(content, cache)
    (database,) = (cache / "records").glob("*.sqlite3")
    with sqlite3.connect(database) as db:
        db.execute("UPDATE cleaned SET value = 'not json'")
        db.execute("UPDATE records SET value = 'not json either' WHERE path LIKE '%wp-0001%'")
    checked.clear()
    again, problems = validated(content, cache)
    assert not problems and sorted(checked) == sorted(a.id for a in first)
    assert [(a.id, a.values) for a in again] == [(a.id, a.values) for a in first]


def test_a_warm_build_with_kept_checks_equals_a_cold_build(tmp_path: Path, keyring,
                                                          checked: list[str]) -> None:
    content, cache, out = make_site(tmp_path), tmp_path / "cache", tmp_path / "out"
    build(content, out, None, keyring, NOW, index_folder=cache)
    (content / "site.yaml").write_text((content / "site.yaml").read_text() + "\n")
    checked.clear()
    build(content, out, None, keyring, NOW, index_folder=cache)
    assert checked == []
    build(content, tmp_path / "cold", None, keyring, NOW)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files and all((out / f).read_bytes() == (tmp_path / "cold" / f).read_bytes()
                         for f in files)


def test_awards_modelled_from_kept_values_share_their_language_codes(tmp_path: Path,
                                                                     checked: list[str]
                                                                     ) -> None:
    from generator.model import draft_award
    content, cache = make_site(tmp_path), tmp_path / "cache"
    validated(content, cache)
    checked.clear()
    kept, _ = validated(content, cache)
    assert checked == [] and len(kept) >= 2
    drafts = [draft_award(award, "nl") for award in kept]
    texts = [draft.narrative for draft in drafts if draft.narrative] + [
        item.name for draft in drafts for item in draft.evidence if item.name]
    assert len(texts) >= 2
    codes = [code for text in texts for code in text.values] + [text.default for text in texts]
    assert all(code is sys.intern(code) for code in codes)  # one string per language
