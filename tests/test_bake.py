"""Baking: PNG iTXt and SVG elements per digest §B, checked against the 1EdTech samples,
Pillow, a namespace-aware XML parser and openbadges-bakery (the `unbake` oracle)."""

from __future__ import annotations

import io
import json
import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from conftest import ROOT, png_bytes
from generator.bake import (OB2_KEYWORD, OB2_SVG_NS, OB3_KEYWORD, OB3_SVG_NS, BakeError,
                            _cdata, bake_png, bake_svg, extract_png, extract_svg, strip_png,
                            strip_svg)
from oracles import run_oracle

SAMPLES = ROOT / "tests" / "fixtures" / "baking"
JWS = "eyJhbGciOiJSUzI1NiJ9.eyJpZCI6ImEifQ.c2lnbmF0dXJlLWJ5dGVz"
HOSTED = json.dumps({"@context": "https://w3id.org/openbadges/v2", "type": "Assertion",
                     "id": "https://badges.example.org/assertions/a1?x=1&y=2",
                     "verification": {"type": "hosted"}, "narrative": "Lassen & zagen"})
CREDENTIAL = json.dumps({"@context": ["https://www.w3.org/ns/credentials/v2"],
                         "type": ["VerifiableCredential", "OpenBadgeCredential"],
                         "name": "Teamwerk – één ]]> twee", "proof": [{"proofValue": "z1"}]},
                        ensure_ascii=False)
DRAWING = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">\n'
           '  <circle cx="5" cy="5" r="4" fill="#c00"/>\n</svg>\n')


def chunks_of(png: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """(type, data, whole chunk) for every chunk, read independently of generator.bake."""
    out, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset:offset + 4])
        out.append((png[offset + 4:offset + 8], png[offset + 8:offset + 8 + length],
                    png[offset:offset + 12 + length]))
        offset += 12 + length
    return out


def text_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    return [(kind, data.split(b"\0", 1)[0]) for kind, data, _ in chunks_of(png)
            if kind in (b"iTXt", b"tEXt", b"zTXt")]


def with_text(png: bytes, add: list[tuple[str, str, str]]) -> bytes:
    """`png` re-saved by Pillow with text chunks ("itxt", "itxt-z", "text", "ztxt", key, value)."""
    info = PngImagePlugin.PngInfo()
    for how, key, value in add:
        if how.startswith("itxt"):
            info.add_itxt(key, value, zip=how == "itxt-z")
        else:
            info.add_text(key, value, zip=how == "ztxt")
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


# --- PNG: layout against the 1EdTech samples ---------------------------------------------------

def test_ob3_sample_rebakes_byte_for_byte() -> None:
    """The OB 3.0 sample has its iTXt just before IEND: stripping and re-baking it with the same
    text gives the identical file, so keyword, flags, separators and CRC match exactly."""
    sample = (SAMPLES / "simple-json.png").read_bytes()
    payload = extract_png(sample)
    assert list(payload) == [OB3_KEYWORD] and payload[OB3_KEYWORD].startswith("{")
    assert bake_png(strip_png(sample), payload) == sample


def test_ob2_sample_chunk_is_reproduced_exactly() -> None:
    sample = (SAMPLES / "simple-badge.png").read_bytes()
    payload = extract_png(sample)
    assert list(payload) == [OB2_KEYWORD]
    baked = bake_png(sample, payload)
    [original] = [raw for kind, _, raw in chunks_of(sample) if kind == b"iTXt"]
    ours = chunks_of(baked)
    # Same chunk bytes; ours sits just before IEND (the sample put it right after IHDR).
    assert ours[-2][2] == original and ours[-1][0] == b"IEND"
    assert [c[2] for c in ours if c[0] != b"iTXt"] == \
        [c[2] for c in chunks_of(sample) if c[0] != b"iTXt"]


def test_chunk_layout_spelled_out() -> None:
    baked = bake_png(png_bytes(), {OB2_KEYWORD: JWS})
    kind, data, raw = chunks_of(baked)[-2]
    assert kind == b"iTXt"
    # keyword NUL, compression flag 0, method 0, empty language tag NUL, empty translated
    # keyword NUL, UTF-8 text without terminator; CRC over type + data only.
    assert data == b"openbadges\x00\x00\x00\x00\x00" + JWS.encode()
    assert raw[:4] == struct.pack(">I", len(data))
    assert raw[-4:] == struct.pack(">I", zlib.crc32(b"iTXt" + data))


# --- PNG: behaviour ----------------------------------------------------------------------------

def test_round_trip_both_keywords_and_unicode() -> None:
    payload = {OB2_KEYWORD: HOSTED, OB3_KEYWORD: CREDENTIAL}
    baked = bake_png(png_bytes(), payload)
    assert extract_png(baked) == payload
    # Pillow, an independent PNG reader, sees the same texts.
    assert {k: v for k, v in Image.open(io.BytesIO(baked)).text.items()} == payload


def test_baking_twice_leaves_one_chunk_per_keyword() -> None:
    once = bake_png(png_bytes(), {OB2_KEYWORD: "first", OB3_KEYWORD: "first"})
    twice = bake_png(once, {OB2_KEYWORD: HOSTED, OB3_KEYWORD: CREDENTIAL})
    assert sorted(text_chunks(twice)) == [(b"iTXt", b"openbadgecredential"),
                                          (b"iTXt", b"openbadges")]
    assert extract_png(twice) == {OB2_KEYWORD: HOSTED, OB3_KEYWORD: CREDENTIAL}
    assert bake_png(twice, {OB2_KEYWORD: HOSTED, OB3_KEYWORD: CREDENTIAL}) == twice


def test_stale_chunks_of_every_kind_are_removed() -> None:
    """iTXt (plain and compressed), legacy tEXt and zTXt with either keyword all go; other
    text chunks stay."""
    source = with_text(png_bytes(), [("itxt", OB2_KEYWORD, "old"), ("itxt-z", OB3_KEYWORD, "old"),
                                     ("text", OB2_KEYWORD, "https://old.example/a"),
                                     ("ztxt", OB2_KEYWORD, "old"), ("text", "Author", "Acme")])
    assert len(text_chunks(source)) == 5
    baked = bake_png(source, {OB3_KEYWORD: CREDENTIAL})
    assert text_chunks(baked) == [(b"tEXt", b"Author"), (b"iTXt", b"openbadgecredential")]
    assert extract_png(baked) == {OB3_KEYWORD: CREDENTIAL}
    assert text_chunks(strip_png(source)) == [(b"tEXt", b"Author")]


def test_extract_reads_compressed_itxt_and_legacy_text() -> None:
    assert extract_png(with_text(png_bytes(), [("itxt-z", OB3_KEYWORD, CREDENTIAL)])) == \
        {OB3_KEYWORD: CREDENTIAL}
    legacy = with_text(png_bytes(), [("text", OB2_KEYWORD, "https://example.org/a.json")])
    assert extract_png(legacy) == {OB2_KEYWORD: "https://example.org/a.json"}
    # An iTXt wins over a legacy tEXt; the first iTXt wins over a later one.
    both = with_text(png_bytes(), [("text", OB2_KEYWORD, "legacy"), ("itxt", OB2_KEYWORD, "new"),
                                   ("itxt", OB2_KEYWORD, "later")])
    assert extract_png(both) == {OB2_KEYWORD: "new"}
    assert extract_png(png_bytes()) == {}


def test_pixels_and_image_data_are_untouched() -> None:
    for source in [(SAMPLES / "simple-json.png").read_bytes(), png_bytes(32)]:
        baked = bake_png(source, {OB2_KEYWORD: HOSTED, OB3_KEYWORD: CREDENTIAL})
        before, after = Image.open(io.BytesIO(source)), Image.open(io.BytesIO(baked))
        assert (before.mode, before.size) == (after.mode, after.size)
        assert before.tobytes() == after.tobytes()
        assert [raw for kind, _, raw in chunks_of(source) if kind == b"IDAT"] == \
            [raw for kind, _, raw in chunks_of(baked) if kind == b"IDAT"]


# --- PNG: damaged input and bad arguments ------------------------------------------------------

def _corrupt(png: bytes) -> dict[str, tuple[bytes, str]]:
    first = chunks_of(png)
    ihdr_end = 8 + len(first[0][2])
    crc_bad = bytearray(png)
    crc_bad[ihdr_end - 1] ^= 0xFF
    huge = png[:ihdr_end] + struct.pack(">I", 2**31) + b"IDAT" + png[ihdr_end + 8:]
    no_ihdr = png[:8] + png[ihdr_end:]
    return {
        "not a png": (b"GIF89a" + png[6:], "PNG signature is missing"),
        "empty": (b"", "PNG signature is missing"),
        "signature only": (png[:8], "first chunk is not IHDR"),
        "cut in a header": (png[:ihdr_end + 5], "chunk header at byte 33 is cut off"),
        "cut in data": (png[:-20], "file ends"),
        "no IEND": (png[:-12], "no IEND chunk"),
        "bad crc": (bytes(crc_bad), "CRC mismatch in IHDR chunk at byte 8"),
        "huge length": (huge, "more than 2^31-1"),
        "bad type": (png[:ihdr_end + 4] + b"ID\x00T" + png[ihdr_end + 8:], "invalid chunk type"),
        "IHDR not first": (no_ihdr, "first chunk is not IHDR"),
        "trailing bytes": (png + b"junk", "4 bytes after the IEND chunk"),
    }


@pytest.mark.parametrize("case", list(_corrupt(png_bytes())))
def test_damaged_png_is_refused_with_a_reason(case: str) -> None:
    data, reason = _corrupt(png_bytes())[case]
    for function in (lambda d: bake_png(d, {OB2_KEYWORD: JWS}), extract_png, strip_png):
        with pytest.raises(BakeError, match=reason.replace("^", r"\^")) as error:
            function(data)
        assert isinstance(error.value, ValueError) and error.value.reason


def test_every_truncation_is_a_bake_error() -> None:
    sample = (SAMPLES / "simple-badge.png").read_bytes()
    for length in range(len(sample)):
        with pytest.raises(BakeError):
            bake_png(sample[:length], {OB2_KEYWORD: JWS})


@pytest.mark.parametrize("keyword", ["", "x" * 80, "badge\u20ac", " openbadges", "open  badges",
                                     "open\x00badges"])
def test_invalid_keywords_are_refused(keyword: str) -> None:
    with pytest.raises(BakeError, match="keyword"):
        bake_png(png_bytes(), {keyword: "text"})


def test_empty_payloads_are_refused() -> None:
    with pytest.raises(BakeError, match="empty text"):
        bake_png(png_bytes(), {OB2_KEYWORD: ""})
    with pytest.raises(BakeError, match="nothing to bake"):
        bake_png(png_bytes(), {})


@pytest.mark.parametrize("data, reason", [
    (b"openbadges\x00\x01\x00\x00\x00not zlib", "corrupt compressed iTXt"),
    (b"openbadges\x00\x01\x00\x00\x00" + zlib.compress(b"{}" * 50)[:-5], "stream is cut off"),
    (b"openbadges\x00\x02\x00\x00\x00{}", "compression flag 2"),
    (b"openbadges\x00\x00\x00en", "not terminated"),
    (b"openbadges\x00\x00\x00\x00\x00\xff\xfe", "not valid UTF-8"),
])
def test_damaged_baked_chunk_is_reported(data: bytes, reason: str) -> None:
    crc = zlib.crc32(b"iTXt" + data)
    chunk = struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", crc)
    png = png_bytes()
    with pytest.raises(BakeError, match=reason):
        extract_png(png[:-12] + chunk + png[-12:])


# --- SVG ---------------------------------------------------------------------------------------

def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode())


def test_ob3_samples_round_trip_and_keep_the_drawing() -> None:
    for name, is_jwt in [("simple-json.svg", False), ("simple-jwt.svg", True)]:
        sample = (SAMPLES / name).read_text()
        payload = extract_svg(sample)[OB3_KEYWORD]
        assert payload.startswith("eyJ" if is_jwt else "{")
        baked = bake_svg(sample, ob3=payload, ob3_is_jwt=is_jwt)
        assert extract_svg(baked) == {OB3_KEYWORD: payload}
        # Only the element was replaced: prologue, <svg> tag and drawing are byte-identical.
        assert strip_svg(baked) == strip_svg(sample)
        root = parsed(baked)
        assert root[0].tag == f"{{{OB3_SVG_NS}}}credential"
        assert (root[0].get("verify") is not None) == is_jwt


def test_spec_forms_of_each_element() -> None:
    signed = bake_svg(DRAWING, ob2=JWS)
    assert f'<svg xmlns:openbadges="{OB2_SVG_NS}" xmlns=' in signed
    assert f'>\n<openbadges:assertion verify="{JWS}"/>\n  <circle' in signed

    hosted = bake_svg(DRAWING, ob2=HOSTED)
    element = parsed(hosted)[0]
    assert element.tag == f"{{{OB2_SVG_NS}}}assertion"
    assert element.get("verify") == "https://badges.example.org/assertions/a1?x=1&y=2"
    assert 'verify="https://badges.example.org/assertions/a1?x=1&amp;y=2"><![CDATA[{' in hosted
    assert json.loads(element.text) == json.loads(HOSTED)

    jwt = bake_svg(DRAWING, ob3=JWS, ob3_is_jwt=True)
    assert f'xmlns:openbadges="{OB3_SVG_NS}"' in jwt
    assert f'<openbadges:credential verify="{JWS}"></openbadges:credential>' in jwt

    embedded = parsed(bake_svg(DRAWING, ob3=CREDENTIAL))[0]
    assert embedded.tag == f"{{{OB3_SVG_NS}}}credential" and "verify" not in embedded.attrib
    assert json.loads(embedded.text) == json.loads(CREDENTIAL)


def test_both_versions_in_one_svg() -> None:
    baked = bake_svg(DRAWING, ob2=HOSTED, ob3=CREDENTIAL)
    root = parsed(baked)
    # Namespace-aware lookup, as the 1EdTech validator does (QName = namespace + local name).
    assert [child.tag for child in root][:2] == [f"{{{OB3_SVG_NS}}}credential",
                                                f"{{{OB2_SVG_NS}}}assertion"]
    assert f'<svg xmlns:openbadges="{OB3_SVG_NS}"' in baked
    assert f'<openbadges:assertion xmlns:openbadges="{OB2_SVG_NS}" verify=' in baked
    found = extract_svg(baked)
    assert json.loads(found[OB2_KEYWORD]) == json.loads(HOSTED)
    assert json.loads(found[OB3_KEYWORD]) == json.loads(CREDENTIAL)


def test_cdata_end_marker_in_json_round_trips_in_one_section() -> None:
    baked = bake_svg(DRAWING, ob3=CREDENTIAL)
    assert baked.count("<![CDATA[") == 1 and "]]\\u003e" in baked
    element = parsed(baked)[0]
    assert json.loads(element.text)["name"] == "Teamwerk – één ]]> twee"
    assert json.loads(extract_svg(baked)[OB3_KEYWORD]) == json.loads(CREDENTIAL)


def test_split_cdata_from_other_bakers_is_joined() -> None:
    assert _cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"
    svg = DRAWING.replace(">\n", f' xmlns:openbadges="{OB3_SVG_NS}">\n<openbadges:credential>'
                          f'{_cdata(CREDENTIAL)}</openbadges:credential>\n', 1)
    assert extract_svg(svg) == {OB3_KEYWORD: CREDENTIAL}


def test_rebaking_replaces_and_is_idempotent() -> None:
    first = bake_svg(DRAWING, ob2=JWS, ob3=CREDENTIAL)
    again = bake_svg(first, ob2=JWS, ob3=CREDENTIAL)
    assert again == first
    only_ob2 = bake_svg(first, ob2=HOSTED)
    assert list(extract_svg(only_ob2)) == [OB2_KEYWORD]
    assert only_ob2.count("openbadges:assertion") == 2  # start and end tag of one element
    assert f'xmlns:openbadges="{OB2_SVG_NS}"' in only_ob2 and OB3_SVG_NS not in only_ob2
    assert strip_svg(only_ob2) == DRAWING.replace(
        "<svg ", f'<svg xmlns:openbadges="{OB2_SVG_NS}" ', 1)


def test_drawing_text_that_only_looks_like_an_element_is_kept() -> None:
    tricky = ('<?xml version="1.0" encoding="UTF-8"?>\r\n<!-- <openbadges:assertion> -->\r\n'
              '<svg xmlns="http://www.w3.org/2000/svg" data-x="a>b" viewBox="0 0 1 1">'
              '<desc><![CDATA[</openbadges:assertion> ]]></desc></svg>')
    baked = bake_svg(tricky, ob3=JWS, ob3_is_jwt=True)
    assert extract_svg(baked) == {OB3_KEYWORD: JWS}
    assert baked.startswith(tricky[:tricky.index("<svg")])
    assert baked.endswith('<desc><![CDATA[</openbadges:assertion> ]]></desc></svg>')


def test_self_closing_svg_root() -> None:
    baked = bake_svg('<svg xmlns="http://www.w3.org/2000/svg"/>', ob2=JWS)
    assert extract_svg(baked) == {OB2_KEYWORD: JWS}
    assert baked.endswith("/>\n</svg>")


@pytest.mark.parametrize("svg, arguments, reason", [
    ("<svg", {"ob2": JWS}, "not well-formed XML"),
    ("<html/>", {"ob2": JWS}, "root element is not <svg>"),
    ('<?xml version="1.0" encoding="ISO-8859-1"?><svg xmlns="http://www.w3.org/2000/svg"/>',
     {"ob2": JWS}, "save it as UTF-8"),
    ('<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg"/>', {"ob2": JWS},
     "declares entities"),
    ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="urn:x"><openbadges:x/></svg>',
     {"ob2": JWS}, "drawing itself uses the 'openbadges' namespace prefix"),
    (DRAWING, {}, "nothing to bake"),
    (DRAWING, {"ob3": CREDENTIAL, "ob3_is_jwt": True}, "not a compact JWS"),
    (DRAWING, {"ob3": "not json"}, "OB 3.0 credential is not valid JSON"),
    (DRAWING, {"ob3": "[1]"}, "not a JSON object"),
    (DRAWING, {"ob2": json.dumps({"type": "Assertion"})}, "needs its http\\(s\\) URL as 'id'"),
])
def test_svg_problems_are_refused(svg: str, arguments: dict, reason: str) -> None:
    with pytest.raises(BakeError, match=reason):
        bake_svg(svg, **arguments)


def test_extract_svg_without_baked_data() -> None:
    assert extract_svg(DRAWING) == {}
    assert strip_svg(DRAWING) == DRAWING


# --- the unbake oracle (openbadges-bakery 2.0.0) -----------------------------------------------

def test_oracle_unbakes_our_pngs(tmp_path: Path) -> None:
    files = {"hosted.png": ({OB2_KEYWORD: HOSTED}, "json"),
             "signed.png": ({OB2_KEYWORD: JWS}, "jws"),
             # The bakery knows only "openbadges"; the OB 3.0 chunk must not confuse it.
             "both.png": ({OB2_KEYWORD: JWS, OB3_KEYWORD: CREDENTIAL}, "jws")}
    for name, (payload, kind) in files.items():
        path = tmp_path / name
        path.write_bytes(bake_png(png_bytes(), payload))
        run = run_oracle("unbake", "--expect-kind", kind, path)
        assert run.ok == 1, run.output
        assert run.output.splitlines()[1] == payload[OB2_KEYWORD]


def test_oracle_unbakes_our_svgs(tmp_path: Path) -> None:
    # The bakery returns the verify attribute when there is one: the URL for hosted assertions.
    cases = {"signed.svg": ({"ob2": JWS}, "jws", JWS),
             "hosted.svg": ({"ob2": HOSTED}, "url",
                            "https://badges.example.org/assertions/a1?x=1&y=2"),
             "both.svg": ({"ob2": JWS, "ob3": CREDENTIAL}, "jws", JWS)}
    for name, (arguments, kind, expected) in cases.items():
        path = tmp_path / name
        path.write_text(bake_svg((SAMPLES / "simple-json.svg").read_text(), **arguments),
                        encoding="utf-8")
        run = run_oracle("unbake", "--expect-kind", kind, path)
        assert run.ok == 1, run.output
        assert run.output.splitlines()[1] == expected


def _with_chunks(png: bytes, *chunks: tuple[bytes, bytes]) -> bytes:
    """`png` with extra chunks inserted after IHDR (as cameras and editors write them)."""
    made = b"".join(struct.pack(">I", len(data)) + kind + data
                    + struct.pack(">I", zlib.crc32(kind + data)) for kind, data in chunks)
    ihdr_end = 8 + 12 + 13
    return png[:ihdr_end] + made + png[ihdr_end:]


def test_a_published_png_keeps_what_draws_it_and_drops_text_exif_and_time() -> None:
    from generator.bake import without_metadata
    source = _with_chunks(png_bytes(), (b"tEXt", b"Author\0fatima@example.org"),
                          (b"zTXt", b"Comment\0\0" + zlib.compress(b"jan@example.org")),
                          (b"iTXt", b"Author\0\0\0\0\0piet@example.org"),
                          (b"eXIf", b"MM\0*fake"), (b"tIME", b"\x07\xea\x0b\x1d\0\0\0"),
                          (b"gAMA", struct.pack(">I", 45455)))
    published = without_metadata(source)
    assert b"example.org" not in published and b"eXIf" not in published
    assert b"tIME" not in published and b"zTXt" not in published
    assert b"gAMA" in published
    with Image.open(io.BytesIO(published)) as image:  # still the same picture
        with Image.open(io.BytesIO(source)) as original:
            assert image.tobytes() == original.tobytes()
    assert without_metadata(png_bytes()) == png_bytes()  # nothing to drop: the same bytes
