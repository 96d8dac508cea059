"""Revocation, expiry, visibility and erasure across a whole build."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from conftest import NOW, make_site
from generator.build import build
from generator.model import add_period
from generator.status import allocate, bit_is_set, decode_bitstring, encode_bitstring

REVOKED = {"revocations.yaml": "wp-0001:\n  date: 2025-06-01\n"
                               "  reason: {nl: Per vergissing., en: By mistake.}\n"}


def all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_bitstring_encoding() -> None:
    encoded = encode_bitstring([0, 9, 131071])
    bits = decode_bitstring(encoded)
    assert encoded.startswith("u") and len(bits) * 8 == 131072
    assert bits[0] == 0x80 and bits[1] == 0x40 and bits[-1] == 0x01
    assert bit_is_set(bits, 9) and not bit_is_set(bits, 10)
    assert encode_bitstring([5]) == encode_bitstring([5])  # gzip without a timestamp


def test_allocation_keeps_indices_and_never_reuses() -> None:
    first = allocate({}, ["a", "b", "c"])
    assert len(set(first.values())) == 3
    second = allocate({k: v for k, v in first.items() if k != "b"} | {"b": first["b"]},
                      ["a", "c", "d"])
    assert {k: second[k] for k in first} == first          # b's index stays reserved
    assert second["d"] not in first.values()
    sequence = iter([5, 5, 5, 7])
    assert allocate({"x": 5}, ["y"], lambda _: next(sequence)) == {"x": 5, "y": 7}


def test_revoked_award_everywhere(tmp_path: Path, keyring) -> None:
    out = tmp_path / "out"
    build(make_site(tmp_path, REVOKED), out, None, keyring, NOW)
    hosted = json.loads((out / "assertions/wp-0001.json").read_text())
    assert hosted == {"@context": "https://w3id.org/openbadges/v2",
                      "id": "https://badges.example.org/assertions/wp-0001.json",
                      "revoked": True, "revocationReason": "Per vergissing."}
    revocations = json.loads((out / "issuers/acme/revocations.json").read_text())
    assert len(revocations["revokedAssertions"]) == 2
    status_list = json.loads((out / "status/revocation-1.json").read_text())
    bits = decode_bitstring(status_list["credentialSubject"]["encodedList"])
    assert bit_is_set(bits, 17) and not bit_is_set(bits, 4242)
    assert status_list["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    credential = json.loads((out / "a/wp-0001/credential.json").read_text())
    assert credential["credentialStatus"]["statusListIndex"] == "17"
    page_nl = (out / "a/wp-0001/index.html").read_text()
    assert "Ingetrokken badge" in page_nl and "Per vergissing." in page_nl
    assert "1 juni 2025" in page_nl
    page_en = (out / "en/a/wp-0001/index.html").read_text()
    assert "Revoked badge" in page_en and "By mistake." in page_en
    assert "Ingetrokken" in (out / "p/fatima/index.html").read_text()


def test_validity_period_and_expires_soon(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path, {
        "badges/lassen-basis.md": "---\nname: Lassen\ndescription: Lassen.\n"
                                  "image: lassen-basis.png\nvalid_for: P2Y\n---\nTekst\n",
        "awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2024-12-10\n"})
    out = tmp_path / "out"
    build(content, out, None, keyring, NOW)
    assertion = json.loads((out / "assertions/wp-0001.json").read_text())
    assert assertion["expires"] == "2026-12-10T00:00:00Z"
    credential = json.loads((out / "a/wp-0001/credential.json").read_text())
    assert credential["validUntil"] == "2026-12-10T00:00:00Z"
    assert "Verloopt binnenkort" in (out / "p/fatima/index.html").read_text()


def test_add_period_clamps_month_end() -> None:
    start = datetime(2024, 1, 31, tzinfo=timezone.utc)
    assert add_period(start, 1, 0) == datetime(2024, 2, 29, tzinfo=timezone.utc)
    assert add_period(start, 24, 10) == datetime(2026, 2, 10, tzinfo=timezone.utc)


def test_erasure_removes_everything_and_keeps_other_indices(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path)
    out = tmp_path / "out"
    build(content, out, None, keyring, NOW)
    before = json.loads((out / "a/wp-0002/credential.json").read_text())["credentialStatus"]
    assert b"Fatima" in all_bytes(out)
    (content / "learners/fatima.yaml").unlink()
    (content / "awards/wp-0001.yaml").unlink()
    build(content, out, None, keyring, NOW)
    everything = all_bytes(out)
    for trace in (b"Fatima", b"fatima", b"El Amrani", b"wp-0001", b"Laste een frame"):
        assert trace not in everything, trace
    after = json.loads((out / "a/wp-0002/credential.json").read_text())["credentialStatus"]
    assert after == before


def test_private_learner_name_appears_nowhere(tmp_path: Path, keyring) -> None:
    out = tmp_path / "out"
    build(make_site(tmp_path), out, None, keyring, NOW)
    assert b"Jan de Vries" not in all_bytes(out)
    assert not (out / "p/jan").exists()
    assert "Een deelnemer die de naam niet openbaar maakt" in (
        out / "a/wp-0002/index.html").read_text()


def test_learner_did_is_the_credential_subject(tmp_path: Path, keyring) -> None:
    did = "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
    content = make_site(tmp_path, {"learners/fatima.yaml": "name: Fatima\nidentifier: "
                                   f"f@example.org\nvisibility: public\ndid: {did}\n"})
    out = tmp_path / "out"
    build(content, out, None, keyring, NOW)
    credential = json.loads((out / "a/wp-0001/credential.json").read_text())
    assert credential["credentialSubject"]["id"] == did
    import base64
    payload = (out / "a/wp-0001/credential.jwt").read_text().split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == did


def test_prebaked_source_image_is_stripped_before_baking(tmp_path: Path, keyring) -> None:
    from conftest import png_bytes
    from generator.bake import bake_png, extract_png
    stale = bake_png(png_bytes(), {"openbadges": "https://old.example.org/assertion.json"})
    content = make_site(tmp_path, {"badges/lassen-basis.png": stale})
    out = tmp_path / "out"
    build(content, out, None, keyring, NOW)
    baked = (out / "a/wp-0001/badge.png").read_bytes()
    assert baked.count(b"iTXtopenbadges\x00") == 1
    assert extract_png(baked)["openbadges"] == (out / "a/wp-0001/assertion.jws").read_text().strip()


def test_generated_badge_image_when_none_given(tmp_path: Path, keyring) -> None:
    from generator.images import inspect_image
    content = make_site(tmp_path, {"badges/lassen-basis.md": "---\nname: Lassen\n"
                                   "description: Lassen.\ncolour: '#1f6f8b'\n---\nTekst\n"})
    out = tmp_path / "out"
    build(content, out, None, keyring, NOW)
    assert inspect_image(out / "badges/lassen-basis.png").width == 512
    assert inspect_image(out / "badges/lassen-basis.svg").format == "svg"
    assert (out / "a/wp-0001/badge.svg").is_file() and (out / "a/wp-0001/badge.png").is_file()


def test_linkedin_add_to_profile_link(tmp_path: Path, keyring) -> None:
    from urllib.parse import parse_qs, urlsplit
    content = make_site(tmp_path, {"issuers/acme.yaml": "name: Acme\nurl: https://acme.example.org/"
                                   "\nemail: badges@acme.example.org\nlinkedin_id: 1337\n"})
    out = tmp_path / "out"
    build(content, out, None, keyring, NOW)
    import html
    import re
    page = (out / "a/wp-0001/index.html").read_text()
    url = html.unescape(re.search(r'<a class="button" href="([^"]+)"', page).group(1))
    parts = urlsplit(url)
    assert parts.netloc == "www.linkedin.com" and parts.path == "/profile/add"
    assert parse_qs(parts.query) == {
        "startTask": ["CERTIFICATION_NAME"], "name": ["Lassen basis"],
        "organizationId": ["1337"], "issueYear": ["2025"], "issueMonth": ["3"],
        "certUrl": ["https://badges.example.org/a/wp-0001/"], "certId": ["wp-0001"]}
    assert "Link kopiëren" in page
    assert "linkedin.com" not in (out / "a/wp-0002/index.html").read_text()  # private + expired


def test_the_ledger_keeps_ids_yaml_would_read_as_other_types(tmp_path: Path) -> None:
    from generator.status import read_indices, write_indices
    ids = {"yes": 1, "null": 2, "on": 3, "0x1f": 4, "0123": 5, "2025-01-01": 6, "wp-0001": 7}
    path = tmp_path / "status.yaml"
    write_indices(path, ids)
    assert read_indices(path) == ids
    assert "  wp-0001: 7\n" in path.read_text()  # plain ids stay unquoted (stable diffs)
    assert [p.name for p in tmp_path.iterdir()] == ["status.yaml"]


def test_an_id_with_a_trailing_line_break_is_no_id() -> None:
    from generator.schema import is_safe_id
    assert is_safe_id("wp-0001") and not is_safe_id("wp-0001\n") and not is_safe_id("")


def test_a_ledger_with_unquoted_ids_of_other_types_is_refused(tmp_path: Path) -> None:
    import pytest

    from generator.status import read_indices
    path = tmp_path / "status.yaml"
    path.write_text("indices:\n  0123: 77\n")  # written before ids were quoted: read as 83
    with pytest.raises(ValueError, match="the award id written as 83 is read as int"):
        read_indices(path)
