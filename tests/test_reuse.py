"""Warm rebuilds keep unchanged records' files (generator/reuse.py, via build)."""

from __future__ import annotations

import json
import random
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import make_site
from generator.build import build
from generator.errors import ContentError
from generator.reuse import Fingerprinter, UnitIndex, index_path

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)
THIRD = {"learners/piet.yaml": "name: Piet Bakker\nidentifier: piet@example.org\n"
                               "visibility: public\n",
         "awards/wp-0003.yaml": "learner: piet\nbadge: lassen-basis\nissued: 2025-05-01\n"}
STATUS = "indices:\n  wp-0001: 17\n  wp-0002: 4242\n  wp-0003: 99\n"


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def inodes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_ino
            for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_site(tmp_path, {**THIRD, "status.yaml": STATUS})


def test_unchanged_rebuild_keeps_every_record_and_equals_a_cold_build(
        site: Path, tmp_path: Path, keyring) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    first = build(site, out, None, keyring, NOW, index_folder=cache)
    assert first.reused == 0
    before = inodes(out)
    again = build(site, out, None, keyring, NOW, index_folder=cache)
    units = 3 + 2  # three awards; fatima and piet have profiles (jan is private)
    assert again.reused == units and again.files == first.files
    build(site, tmp_path / "cold", None, keyring, NOW)
    assert tree(out) == tree(tmp_path / "cold")
    after = inodes(out)
    kept = [p for p in before if p.startswith(("a/", "en/a/", "assertions/"))]
    assert kept and all(after[p] == before[p] for p in kept)  # not rewritten: same inode


def test_changing_one_award_makes_only_that_award_again(site: Path, tmp_path: Path,
                                                        keyring) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache)
    before = inodes(out)
    award = site / "awards/wp-0003.yaml"
    award.write_text(award.read_text() + "narrative: {nl: Nieuw., en: New.}\n")
    report = build(site, out, None, keyring, NOW, index_folder=cache)
    after = inodes(out)
    changed = {p for p in after if after[p] != before.get(p)}
    assert {"a/wp-0003/index.html", "a/wp-0003/credential.json"} <= changed
    assert not any(p.startswith(("a/wp-0001/", "a/wp-0002/", "en/a/wp-0001/",
                                 "assertions/wp-0001")) for p in changed)
    assert report.reused == 3  # the two other awards and fatima's profile
    # site-wide files that came out the same are not rewritten either
    assert not changed & {".well-known/did.json", "issuers/acme.json", "sitemap.xml",
                          "_headers", "a/wp-0003/qr.png"}
    assert not any(p.startswith("assets/") for p in changed)
    build(site, tmp_path / "cold", None, keyring, NOW)
    assert tree(out) == tree(tmp_path / "cold")


@pytest.mark.parametrize("workers", [1, 2])  # 2: the files are checked beside loading
def test_a_hand_edited_or_deleted_output_file_is_made_again(site: Path, tmp_path: Path,
                                                            keyring, workers: int) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache)
    page = out / "a/wp-0001/index.html"
    original = page.read_bytes()
    page.write_bytes(b"defaced")
    (out / "a/wp-0002/qr.png").unlink()
    report = build(site, out, None, keyring, NOW, index_folder=cache, workers=workers)
    assert page.read_bytes() == original
    assert (out / "a/wp-0002/qr.png").is_file()
    assert report.reused == 3


def test_a_site_wide_change_makes_everything_again(site: Path, tmp_path: Path,
                                                   keyring) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache)
    (site / "site.yaml").write_text((site / "site.yaml").read_text().replace(
        "Testsite", "Andere site"))
    report = build(site, out, None, keyring, NOW, index_folder=cache)
    assert report.reused == 0
    assert "Andere site" in (out / "a/wp-0001/index.html").read_text()


def test_the_build_clock_reaches_kept_pages_through_the_award_status(
        site: Path, tmp_path: Path, keyring) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    early = datetime(2025, 12, 1, tzinfo=timezone.utc)  # before wp-0002 expires
    build(site, out, None, keyring, early, index_folder=cache)
    report = build(site, out, None, keyring, NOW, index_folder=cache)
    assert report.reused == 4  # only wp-0002, which expired in between, is made again
    build(site, tmp_path / "cold", None, keyring, NOW)
    assert tree(out) == tree(tmp_path / "cold")


def test_kept_files_pass_the_guard_again_when_it_learns_new_identifiers(
        site: Path, tmp_path: Path, keyring) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    portfolio = "https://portfolio.example.org/kim"
    award = site / "awards/wp-0001.yaml"
    award.write_text(award.read_text().replace("https://acme.example.org/portfolio/1",
                                               portfolio))
    build(site, out, None, keyring, NOW, index_folder=cache)
    # a new learner whose identifier is that URL: wp-0001's unchanged page now leaks it
    (site / "learners/kim.yaml").write_text(f"name: Kim\nidentifier: {portfolio}\n")
    with pytest.raises(ContentError) as caught:
        build(site, out, None, keyring, NOW, index_folder=cache)
    assert "a/wp-0001/" in str(caught.value) and "privacy guard" in str(caught.value)


def test_a_failed_build_keeps_the_previous_index(site: Path, tmp_path: Path,
                                                 keyring) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache)
    index = index_path(cache, out)
    saved = index.read_bytes()
    (site / "awards/wp-0003.yaml").write_text("learner: nobody\nbadge: lassen-basis\n"
                                              "issued: 2025-05-01\n")
    with pytest.raises(ContentError):
        build(site, out, None, keyring, NOW, index_folder=cache)
    assert index.read_bytes() == saved and not index.with_suffix(".new").exists()


def test_a_damaged_index_only_costs_time(site: Path, tmp_path: Path, keyring) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache)
    index_path(cache, out).write_bytes(b"not a database")
    assert UnitIndex(index_path(cache, out)).lookup("award:wp-0001") is None
    report = build(site, out, None, keyring, NOW, index_folder=cache)
    assert report.reused == 0
    assert build(site, out, None, keyring, NOW, index_folder=cache).reused == 5


@pytest.mark.parametrize("workers", [1, 2])
def test_a_damaged_entry_with_its_fingerprint_intact_is_made_again(
        site: Path, tmp_path: Path, keyring, workers: int) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache)
    with sqlite3.connect(index_path(cache, out)) as db:
        (entry,) = db.execute("SELECT entry FROM units WHERE key = 'award:wp-0001'").fetchone()
        damaged = json.loads(entry)
        damaged[3] = None  # its host-rule keys, as a damaged file might have them
        db.execute("UPDATE units SET entry = ? WHERE key = 'award:wp-0001'",
                   (json.dumps(damaged),))
    report = build(site, out, None, keyring, NOW, index_folder=cache, workers=workers)
    assert report.reused == 4
    build(site, tmp_path / "cold", None, keyring, NOW)
    assert tree(out) == tree(tmp_path / "cold")


def test_fingerprints_see_nested_changes_and_ignore_identity() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Inner:
        text: str
        data: bytes

    @dataclass(frozen=True)
    class Outer:
        inner: Inner
        items: tuple[str, ...]

    prints = Fingerprinter()
    one = Outer(Inner("a", b"x"), ("p",))
    assert prints.of(one) == Fingerprinter().of(Outer(Inner("a", b"x"), ("p",)))
    assert prints.of(one) != prints.of(Outer(Inner("a", b"y"), ("p",)))
    assert prints.of(one) != prints.of(Outer(Inner("a", b"x"), ("p", "q")))
    assert prints.of(("ab", "c")) != prints.of(("a", "bc"))


def test_fingerprints_tell_types_apart_and_ignore_dict_order() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Text:
        values: dict

    @dataclass(frozen=True)
    class Record:  # a record (it has an id): hashed once, then remembered
        id: str
        text: Text

    prints = Fingerprinter()
    values = [1, True, 1.0, "1", None, b"1", (1,), [1], {"a": 1}, {1: "a"}, {1}, frozenset({1})]
    assert len({prints.of(v) for v in values}) == len(values)
    assert prints.of(Text({"nl": "x", "en": "y"})) == prints.of(Text({"en": "y", "nl": "x"}))
    assert prints.of({1: "a", "1": "a"}) == prints.of({"1": "a", 1: "a"})  # mixed keys
    assert prints.of({1: "x"}) != prints.of({"1": "x"})
    assert prints.of({"'a'": 1, "1": 2}) != prints.of({"a": 1, 1: 2})
    nan = float("nan")
    prints.of({nan: "a", float("nan"): ("x",), 1: 2})  # keys with one repr: no TypeError

    from collections import namedtuple
    Pair = namedtuple("Pair", "left right")
    assert prints.of(Pair(1, "a")) != prints.of((1, "a"))
    assert prints.of(Pair(1, "a")) != prints.of(Pair(1, "b"))
    assert prints.of(Text({"nl": "x"})) != prints.of(Text({"nl": "y"}))
    record = Record("r1", Text({"nl": "x"}))
    first = prints.of(record)
    assert prints.of((record, record)) == Fingerprinter().of((record, record))
    assert prints.of(record) == first == Fingerprinter().of(Record("r1", Text({"nl": "x"})))
    assert prints.of(Record("r2", Text({"nl": "x"}))) != first


def test_a_theme_that_lists_every_learner_on_award_pages_gets_them_remade(
        site: Path, tmp_path: Path, keyring) -> None:
    theme = tmp_path / "themes/telling/templates"
    theme.mkdir(parents=True)
    (theme.parent / "theme.yaml").write_text("name: telling\nextends: default\n")
    (theme / "award.html").write_text(
        '{% extends "default/award.html" %}{% block main %}{{ super() }}'
        "<p>{{ site.learners|length }} lerenden</p>{% endblock %}\n")
    (site / "site.yaml").write_text((site / "site.yaml").read_text() + "theme: telling\n")
    cache, out = tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache)
    assert "3 lerenden" in (out / "a/wp-0001/index.html").read_text()
    (site / "learners/kim.yaml").write_text("name: Kim\nidentifier: kim@example.org\n")
    report = build(site, out, None, keyring, NOW, index_folder=cache)
    assert report.reused == 0
    assert "4 lerenden" in (out / "a/wp-0001/index.html").read_text()


def test_a_warm_rebuild_updates_in_place_and_drops_stray_and_withdrawn_files(
        site: Path, tmp_path: Path, keyring) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache)
    root_inode = out.stat().st_ino
    (out / "left-by-hand.html").write_text("stray")
    (out / "a/wp-0001/notes.txt").write_text("stray")
    (site / "awards/wp-0003.yaml").unlink()  # piet's only award: his profile goes too
    (site / "learners/piet.yaml").unlink()
    (site / "status.yaml").write_text("indices:\n  wp-0001: 17\n  wp-0002: 4242\n")
    report = build(site, out, None, keyring, NOW, index_folder=cache)
    assert report.reused == 3
    assert out.stat().st_ino == root_inode  # few files changed: updated in place
    build(site, tmp_path / "cold", None, keyring, NOW)
    assert tree(out) == tree(tmp_path / "cold")
    assert not (out / "a/wp-0003").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rugzak-")]


def test_a_warm_rebuild_carries_the_index_without_the_units_gone(
        site: Path, tmp_path: Path, keyring) -> None:
    cache, out = tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache, workers=2)
    with closing(sqlite3.connect(index_path(cache, out))) as db:
        before = dict(db.execute("SELECT key, entry FROM units"))
    (site / "awards/wp-0003.yaml").unlink()
    (site / "learners/piet.yaml").unlink()
    (site / "status.yaml").write_text("indices:\n  wp-0001: 17\n  wp-0002: 4242\n")
    assert build(site, out, None, keyring, NOW, index_folder=cache, workers=2).reused == 3
    with closing(sqlite3.connect(index_path(cache, out))) as db:
        after = dict(db.execute("SELECT key, entry FROM units"))
    gone = {key for key in before if key.endswith(("wp-0003", "piet"))}
    assert len(gone) == 2 and after == {k: v for k, v in before.items() if k not in gone}


def test_a_carried_index_keeps_neither_the_notes_nor_the_units_not_recorded(
        tmp_path: Path) -> None:
    path = tmp_path / "units.sqlite"
    first = UnitIndex(path)
    first.start("guard")
    first.record("award:a", '["print-a",[],[],[]]')
    first.record("award:b", '["print-b",[],[],[]]')
    first.note("stamp", "an identical next build may skip")
    first.finish()
    second = UnitIndex(path)
    second.start("guard 2", carry=True)
    assert second.carried
    second.record("award:a", None)  # kept as it was
    second.record("award:c", '["print-c",[],[],[]]')
    second.finish()
    third = UnitIndex(path)
    assert third.lookup("award:a") == '["print-a",[],[],[]]'
    assert third.lookup("award:b") is None and third.lookup("award:c") == '["print-c",[],[],[]]'
    assert third.meta("stamp") is None and third.guard == "guard 2"


def test_lookups_in_any_order_find_every_entry_read_ahead_or_not(tmp_path: Path) -> None:
    path = tmp_path / "units.sqlite"
    made = UnitIndex(path)
    made.start("guard")
    entries = {f"award:{n:03d}": f'["print-{n}",[],[],[]]' for n in range(300)}
    for key, entry in entries.items():
        made.record(key, entry)
    made.finish()
    with closing(sqlite3.connect(path)) as db, db:  # an entry that is not text: damaged
        db.execute("UPDATE units SET entry = x'00' WHERE key = 'award:150'")
    entries["award:150"] = None
    keys = list(entries)
    orders = {"as recorded": keys, "backwards": keys[::-1],
              "shuffled": random.Random(7).sample(keys, len(keys)),
              "with gaps and unknown units": [k if n % 7 else "award:gone" for n, k in
                                              enumerate(keys)]}
    for name, order in orders.items():
        index = UnitIndex(path)
        queries: list[str] = []
        index._read().set_trace_callback(queries.append)
        found = [index.lookup(key) for key in order]
        assert found == [entries.get(key) for key in order], name
        assert index.lookup(keys[0]) == entries[keys[0]]  # (asked again: read again)
        if name == "as recorded":  # read ahead: a query for many units
            assert len(queries) < len(keys) / 10


def test_an_awards_fingerprint_covers_every_field_of_the_model(site: Path) -> None:
    import dataclasses
    from generator.build import load_site
    from generator.model import Award, Evidence, Localized, Revocation
    from generator.reuse import (AWARD_FIELDS, EVIDENCE_FIELDS, LOCALIZED_FIELDS,
                                 award_fingerprint)

    for kind, hashed in ((Award, AWARD_FIELDS), (Evidence, EVIDENCE_FIELDS),
                         (Localized, LOCALIZED_FIELDS)):
        assert tuple(f.name for f in dataclasses.fields(kind) if f.compare) == hashed, kind
    model = load_site(site, NOW, None)
    award = next(a for a in model.awards if a.narrative and a.evidence)
    learner = next(item for item in model.learners if item != award.learner)
    text = Localized({"nl": "Anders", "en": "Other"}, "nl")
    changed = {
        "id": "other-id", "learner": learner,
        "badge": dataclasses.replace(award.badge, valid_for=(1, "years")),
        "issued": award.issued + timedelta(days=1), "expires": award.issued + timedelta(days=9),
        "narrative": text, "evidence": (*award.evidence, Evidence("https://e.example/2", None,
                                                                  None)),
        "status": "expired", "expires_soon": not award.expires_soon,
        "status_index": award.status_index + 1,
        "revocation": Revocation(award.issued, text)}
    assert set(changed) == set(AWARD_FIELDS)
    prints = Fingerprinter()
    first = award_fingerprint(b"base", prints, award)
    assert award_fingerprint(b"base", Fingerprinter(), award) == first
    assert award_fingerprint(b"other base", prints, award) != first
    for name, value in changed.items():
        assert award_fingerprint(b"base", prints, dataclasses.replace(award, **{name: value})
                                 ) != first, name
    evidence, narrative = award.evidence[0], award.narrative
    evidence_changed = {"url": evidence.url + "x", "name": text, "description": text}
    text_changed = {"values": {**narrative.values, "nl": narrative.values["nl"] + "."},
                    "default": "en"}
    assert set(evidence_changed) == set(EVIDENCE_FIELDS)
    assert set(text_changed) == set(LOCALIZED_FIELDS)
    for name, value in evidence_changed.items():
        item = dataclasses.replace(evidence, **{name: value})
        assert award_fingerprint(b"base", prints, dataclasses.replace(
            award, evidence=(item, *award.evidence[1:]))) != first, name
    for name, value in text_changed.items():
        changed_text = dataclasses.replace(narrative, **{name: value})
        assert award_fingerprint(b"base", prints, dataclasses.replace(
            award, narrative=changed_text)) != first, name
        item = dataclasses.replace(evidence, name=dataclasses.replace(evidence.name,
                                                                      **{name: value}))
        assert award_fingerprint(b"base", prints, dataclasses.replace(
            award, evidence=(item, *award.evidence[1:]))) != first, name
    assert award_fingerprint(b"base", prints, dataclasses.replace(award, narrative=Localized(
        {**narrative.values, "de": "Anders"}, narrative.default))) != first
    assert award_fingerprint(b"base", prints, dataclasses.replace(
        award, narrative=Localized(dict(reversed(narrative.values.items())),
                                   narrative.default))) == first  # the order does not count


def test_a_file_named_inside_a_named_tuple_is_fingerprinted_by_its_content(
        tmp_path: Path) -> None:
    from collections import namedtuple
    Asset = namedtuple("Asset", "name file")
    image = tmp_path / "logo.png"
    image.write_bytes(b"one")
    before = Fingerprinter().of(Asset("logo", image))
    image.write_bytes(b"two")
    assert Fingerprinter().of(Asset("logo", image)) != before


def test_an_awards_rendered_narrative_kept_on_it_does_not_change_its_fingerprint(
        site: Path) -> None:
    from generator.build import load_site

    awards = load_site(site, datetime(2026, 1, 1, tzinfo=timezone.utc), None).awards
    award = next(a for a in awards if a.narrative)
    before = Fingerprinter().of(award)
    assert "<p>" in award.narrative_html.get("nl")  # rendered, and now kept on the award
    assert award.narrative_html is award.narrative_html
    assert Fingerprinter().of(award) == before


@pytest.mark.parametrize("large_change", [False, True])
def test_a_private_key_put_in_the_output_stops_the_build_instead_of_being_deleted(
        site: Path, tmp_path: Path, keyring, large_change: bool) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    cache, out = tmp_path / "cache", tmp_path / "out"
    build(site, out, None, keyring, NOW, index_folder=cache)
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    (out / "backup").mkdir()
    (out / "backup/site.pem").write_bytes(pem)
    if large_change:  # every page changes: the new site is swapped in whole
        (site / "site.yaml").write_text((site / "site.yaml").read_text().replace(
            "Testsite", "Andere site"))
    before = tree(out)
    with pytest.raises(ContentError) as caught:
        build(site, out, None, keyring, NOW, index_folder=cache)
    problem = caught.value.diagnostics[0]
    assert problem.path == str(out / "backup/site.pem") and "private key" in problem.message
    assert tree(out) == before  # nothing deleted, nothing changed
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rugzak-")]
    (out / "backup/site.pem").unlink()  # moved out: the build goes on
    build(site, out, None, keyring, NOW, index_folder=cache)
    build(site, tmp_path / "cold", None, keyring, NOW)
    assert tree(out) == tree(tmp_path / "cold")
