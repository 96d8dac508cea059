"""Whole builds of small sites: output layout, privacy, reproducibility, atomicity."""

import json
from pathlib import Path

import pytest

from conftest import NOW, make_site, png_bytes
from generator.build import build, build_clock
from generator.errors import ContentError
from generator.identity import identity_hash


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_small_site_layout_and_ob2_documents(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path)
    out = tmp_path / "output"
    report = build(content, out, None, keyring, NOW)
    assert report.counts == {"issuers": 1, "badges": 1, "learners": 2, "awards": 2}
    files = tree(out)
    for expected in ["index.html", "en/index.html", "404.html", "sitemap.xml", "robots.txt",
                     "issuers/acme.json", "issuers/acme/index.html", "badges/lassen-basis.json",
                     "badges/lassen-basis.png", "badges/lassen-basis/index.html",
                     "assertions/wp-0001.json", "a/wp-0001/index.html", "en/a/wp-0001/index.html",
                     "p/fatima/index.html", "assets/style.css"]:
        assert expected in files, expected
    assertion = json.loads(files["assertions/wp-0001.json"])
    assert assertion["id"] == "https://badges.example.org/assertions/wp-0001.json"
    assert assertion["badge"] == "https://badges.example.org/badges/lassen-basis.json"
    assert assertion["verification"] == {"type": "hosted"}
    assert assertion["issuedOn"] == "2025-03-01T00:00:00Z"
    recipient = assertion["recipient"]
    assert recipient["hashed"] is True and recipient["type"] == "email"
    assert recipient["identity"] == identity_hash("fatima@example.org", recipient["salt"])
    badge = json.loads(files["badges/lassen-basis.json"])
    assert badge["criteria"]["narrative"].startswith("Je last een **T-verbinding**")
    assert badge["image"] == "https://badges.example.org/badges/lassen-basis.png"
    issuer = json.loads(files["issuers/acme.json"])
    assert {"id", "type", "name", "url", "email"} <= issuer.keys()


def test_identifiers_never_published_and_private_learners_hidden(tmp_path: Path, keyring) -> None:
    out = tmp_path / "output"
    build(make_site(tmp_path), out, None, keyring, NOW)
    everything = b"".join(tree(out).values())
    assert b"fatima@example.org" not in everything
    assert b"jan.de.vries@example.org" not in everything.lower()
    assert not (out / "p/jan").exists()
    award_page = (out / "a/wp-0002/index.html").read_text()
    assert "Jan de Vries" not in award_page
    assert "Jan de Vries" not in (out / "index.html").read_text()
    assert "Fatima El Amrani" in (out / "index.html").read_text()


def test_unlisted_profile_is_noindex_and_not_in_sitemap(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path, {"learners/fatima.yaml": "name: Fatima\n"
                                                           "identifier: f@example.org\n"})
    out = tmp_path / "output"
    build(content, out, None, keyring, NOW)
    assert '<meta name="robots" content="noindex">' in (out / "p/fatima/index.html").read_text()
    assert "p/fatima/" not in (out / "sitemap.xml").read_text()
    assert "p/fatima/" not in (out / "index.html").read_text()
    assert "badges/lassen-basis/" in (out / "sitemap.xml").read_text()


def test_expired_award_says_so(tmp_path: Path, keyring) -> None:
    out = tmp_path / "output"
    build(make_site(tmp_path), out, None, keyring, NOW)
    assert "Verlopen badge" in (out / "a/wp-0002/index.html").read_text()
    assert "Expired badge" in (out / "en/a/wp-0002/index.html").read_text()
    assert "Geldige badge" in (out / "a/wp-0001/index.html").read_text()


def test_two_builds_are_byte_identical(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path)
    build(content, tmp_path / "one", None, keyring, NOW)
    build(content, tmp_path / "two", None, keyring, NOW)
    assert tree(tmp_path / "one") == tree(tmp_path / "two")


def test_broken_record_leaves_previous_output_intact(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path)
    out = tmp_path / "output"
    build(content, out, None, keyring, NOW)
    before = tree(out)
    (content / "awards" / "wp-0001.yaml").write_text("learner: nobody\nbadge: lassen-basis\n"
                                                      "issued: 2025-01-01\n")
    with pytest.raises(ContentError) as caught:
        build(content, out, None, keyring, NOW)
    assert "unknown learner 'nobody'" in str(caught.value)
    assert tree(out) == before


def test_an_email_in_a_narrative_stops_the_build_at_its_record(tmp_path: Path,
                                                               keyring) -> None:
    content = make_site(tmp_path, {
        "awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-03-01\n"
                               "narrative: Mail haar op FATIMA@example.org\n"})
    with pytest.raises(ContentError) as caught:
        build(content, tmp_path / "output", None, keyring, NOW)
    assert ("content/awards/wp-0001.yaml:4: error: 'narrative' holds a learner's identifier "
            "(e-mail address), which would be published") in str(caught.value)
    assert not (tmp_path / "output").exists()


@pytest.mark.parametrize("narrative, what", [
    ("Bel haar op 06-12345678", "the phone number '06-12345678'"),
    ("Bel +31 6 1234 5678 voor info", "the phone number '+31 6 1234 5678'"),
    ("Vragen? 010 123 4567", "the phone number '010 123 4567'"),
    ("Mail de coach: coach@werkplaats.example.net", "the e-mail address "
                                                    "'coach@werkplaats.example.net'"),
    ("Mail de coach: coach＠werkplaats.example.net", "the e-mail address "
                                                    "'coach@werkplaats.example.net'"),
])
def test_undeclared_contacts_stop_the_build(tmp_path: Path, keyring, narrative: str,
                                            what: str) -> None:
    content = make_site(tmp_path, {
        "awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-03-01\n"
                               f"narrative: '{narrative}'\n"})
    with pytest.raises(ContentError) as caught:
        build(content, tmp_path / "output", None, keyring, NOW)
    assert f"'narrative' holds {what}, which would be published" in str(caught.value)
    # what validation does not see (a theme's text) the output guard still stops
    theme = tmp_path / "themes/leaky/templates"
    theme.mkdir(parents=True)
    (theme / "home.html").write_text('{% extends "default/home.html" %}{% block main %}'
                                     f"<p>{narrative}</p>{{{{ super() }}}}{{% endblock %}}")
    site = content / "site.yaml"
    site.write_text(site.read_text() + "theme: leaky\n")
    (content / "awards/wp-0001.yaml").unlink()
    with pytest.raises(ContentError) as caught:
        build(content, tmp_path / "output", None, keyring, NOW)
    assert f"privacy guard: {what} would be published" in str(caught.value)
    assert not (tmp_path / "output").exists()


@pytest.mark.parametrize("url", ["https://portfolio.example.org/?user=fatima%40example.org",
                                 "https://portfolio.example.org/u/fatima@example.org/"])
def test_a_learner_address_in_an_evidence_url_stops_the_build_at_its_record(
        tmp_path: Path, keyring, url: str) -> None:
    content = make_site(tmp_path, {
        "awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-03-01\n"
                               f"evidence:\n  - {url}\n"})
    with pytest.raises(ContentError) as caught:
        build(content, tmp_path / "output", None, keyring, NOW)
    assert ("content/awards/wp-0001.yaml:5: error: 'evidence[0]' holds a learner's identifier "
            "(e-mail address), which would be published") in str(caught.value)


def test_a_learner_address_in_a_badge_image_s_metadata_is_not_published(
        tmp_path: Path, keyring) -> None:
    import struct
    import zlib
    text = b"Author\0fatima@example.org"
    chunk = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(
        ">I", zlib.crc32(b"tEXt" + text))
    png = png_bytes()
    content = make_site(tmp_path, {"badges/lassen-basis.png": png[:33] + chunk + png[33:]})
    build(content, tmp_path / "output", None, keyring, NOW)
    leaks = [p for p in (tmp_path / "output").rglob("*")
             if p.is_file() and b"fatima@example.org" in p.read_bytes()]
    assert not leaks


def test_a_png_with_bytes_after_its_end_is_reported_at_its_record(tmp_path: Path,
                                                                   keyring) -> None:
    content = make_site(tmp_path, {"badges/lassen-basis.png": png_bytes() + b"junk"})
    with pytest.raises(ContentError) as caught:
        build(content, tmp_path / "output", None, keyring, NOW)
    assert "content/badges/lassen-basis.md" in str(caught.value)
    assert "4 bytes after the IEND chunk" in str(caught.value)
    assert not (tmp_path / "output").exists()


def test_issuer_contacts_are_public(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path, {
        "issuers/acme.yaml": "name: Acme\nurl: https://acme.example.org/\n"
                             "email: badges@acme.example.org\ntelephone: '+31101234567'\n",
        "awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-03-01\n"
                               "narrative: 'Vragen: badges@acme.example.org of 010 123 4567'\n"})
    build(content, tmp_path / "output", None, keyring, NOW)


def test_script_in_criteria_is_sanitized(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path, {"badges/lassen-basis.md":
                                   "---\nname: X\ndescription: Y\nimage: lassen-basis.png\n---\n"
                                   "Tekst <script>alert('x')</script> "
                                   "<img src=x onerror=alert(1)>\n"})
    out = tmp_path / "output"
    build(content, out, None, keyring, NOW)
    page = (out / "badges/lassen-basis/index.html").read_text()
    assert "<script" not in page and "onerror" not in page


def test_build_clock_honours_source_date_epoch() -> None:
    assert build_clock({"SOURCE_DATE_EPOCH": "1764331200"}).isoformat() == \
        "2025-11-28T12:00:00+00:00"
    with pytest.raises(ValueError, match="SOURCE_DATE_EPOCH"):
        build_clock({"SOURCE_DATE_EPOCH": "yesterday"})


def test_key_files_anywhere_in_content_are_found_without_opening_pipes(tmp_path: Path) -> None:
    import os

    from generator.build import content_key_leaks
    content = make_site(tmp_path)
    pem = next((Path(__file__).parent / "fixtures/keys").glob("rsa-*.pem")).read_text()
    (content / "badges/deep/er").mkdir(parents=True)
    (content / "badges/deep/er/oops.pem").write_text(pem)
    (content / "zz.pem").write_text(pem)
    os.mkfifo(content / "pipe")  # opening it would wait for a writer forever
    (content / "outside.pem").symlink_to(tmp_path / "nowhere")
    found = content_key_leaks(content)
    assert [line.split(": ")[0] for line in found] == [
        str(content / "badges/deep/er/oops.pem"), str(content / "zz.pem")]
    assert all("PEM private key" in line for line in found)
