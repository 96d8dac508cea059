"""Generated badge artwork, and the colour and text helpers the image modules share."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from PIL import Image, ImageChops, ImageDraw, ImageStat

from conftest import ROOT
from generator import artwork
from generator.artwork import (contrast_ratio, design_badge, generate_badge_png,
                               generate_badge_svg, parse_colour, readable_text_colour)
from generator.images import inspect_image

DEMO_NAMES = ["Zeynep Çelik", "Małgorzata Wiśniewska", "Chloë", "Paweł Kowalczyk"]
ARABIC = "محمد عبد الله"
SVG_NS = "{http://www.w3.org/2000/svg}"


def decode(png: bytes) -> Image.Image:
    """The PNG as RGBA pixels (the file itself is a palette image with transparency)."""
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGBA")


def demo_learner_names() -> list[str]:
    """Every learner name in the demo content: all must render with the bundled font."""
    names = [yaml.safe_load(path.read_text(encoding="utf-8")).get("name", "")
             for path in sorted((ROOT / "content" / "learners").glob("*.yaml"))]
    return [name for name in names if name]


# --- PNG ------------------------------------------------------------------------------------

def test_png_is_a_512_square_with_transparent_corners() -> None:
    with Image.open(io.BytesIO(generate_badge_png("Python Basics", "#1f6f8b", "b"))) as raw:
        assert (raw.format, raw.mode, "transparency" in raw.info) == ("PNG", "P", True)
    image = decode(generate_badge_png("Python Basics", "#1f6f8b", "badge-1"))
    assert image.size == (512, 512)
    assert image.getpixel((256, 256))[3] == 255  # the medallion is opaque …
    shapes = {design_badge("x", None, f"seed-{i}").shape for i in range(40)}
    assert shapes == set(artwork.SHAPES)
    corner = decode(generate_badge_png("x", None, "seed-0")).getpixel((2, 510))
    assert corner[3] == 0 or design_badge("x", None, "seed-0").shape == "shield"


def test_palette_keeps_the_look(monkeypatch: pytest.MonkeyPatch) -> None:
    # 256 colours must not be visible: compare with the same drawing kept in full colour.
    design = design_badge("Zeynep Çelik", "#ffffff", "c")
    to_palette = artwork._to_palette
    full: dict[str, Image.Image] = {}
    monkeypatch.setattr(artwork, "_to_palette",
                        lambda image, _design: full.setdefault("image", image))
    generate_badge_png("Zeynep Çelik", "#ffffff", "c")
    reduced = to_palette(full["image"], design).convert("RGBA")
    error = ImageStat.Stat(ImageChops.difference(full["image"], reduced)).rms
    assert max(error) < 3


def test_png_is_deterministic() -> None:
    first = generate_badge_png("Zeynep Çelik", None, "https://example.org/badges/a")
    again = generate_badge_png("Zeynep Çelik", None, "https://example.org/badges/a")
    assert first == again


def test_png_carries_no_metadata_chunks() -> None:
    # A timestamp (tIME) or text chunk would make builds differ; only image chunks are allowed.
    data = generate_badge_png("Python Basics", None, "b")
    chunks, offset = [], 8
    while offset < len(data):
        length = int.from_bytes(data[offset:offset + 4], "big")
        chunks.append(data[offset + 4:offset + 8].decode())
        offset += 12 + length
    assert set(chunks) <= {"IHDR", "PLTE", "tRNS", "IDAT", "IEND"}


def test_seed_varies_the_design_and_colour() -> None:
    designs = [design_badge("Python Basics", None, f"https://example.org/badges/{i}")
               for i in range(60)]
    assert {d.shape for d in designs} == set(artwork.SHAPES)
    assert {d.pattern for d in designs} == set(artwork.PATTERNS)
    assert len({d.base for d in designs}) == 60
    assert (generate_badge_png("Python Basics", "#336699", "one")
            != generate_badge_png("Python Basics", "#336699", "two"))


def test_given_colour_is_used_for_the_medallion() -> None:
    image = decode(generate_badge_png("Python Basics", "#1f6f8b", "s")).convert("RGB")
    assert image.getpixel((256, 256 + 120)) == (0x1F, 0x6F, 0x8B)


@pytest.mark.parametrize("bad", ["red", "#fff", "#12345g", "123456", "#1234567", "", " #123456"])
def test_colour_must_be_rrggbb(bad: str) -> None:
    with pytest.raises(ValueError, match=r"colour must look like '#1f6f8b'"):
        generate_badge_png("Python Basics", bad, "s")
    with pytest.raises(ValueError, match=repr(bad).replace("(", r"\(")):
        generate_badge_svg("Python Basics", bad, "s")


# --- contrast -------------------------------------------------------------------------------

def test_contrast_ratio_matches_wcag_examples() -> None:
    assert contrast_ratio((255, 255, 255), (0, 0, 0)) == pytest.approx(21)
    assert contrast_ratio((10, 20, 30), (10, 20, 30)) == pytest.approx(1)
    # #767676 on white is the well-known lightest grey that passes 4.5:1; #777777 fails.
    assert contrast_ratio((0x76, 0x76, 0x76), (255, 255, 255)) >= 4.5
    assert contrast_ratio((0x77, 0x77, 0x77), (255, 255, 255)) < 4.5


def test_text_colour_reaches_4_5_to_1_on_every_background() -> None:
    steps = range(0, 256, 15)
    for r in steps:
        for g in steps:
            for b in steps:
                background = (r, g, b)
                assert contrast_ratio(readable_text_colour(background), background) >= 4.5


@pytest.mark.parametrize("colour", [None, "#ffffff", "#000000", "#777777", "#ffd700",
                                    "#1f6f8b", "#ff0000", "#00ff00"])
def test_rendered_text_and_medallion_meet_the_contrast_rule(colour: str | None) -> None:
    # Judge the pixels, not the design: the two commonest colours in the middle of the
    # medallion are its background and the text.
    image = decode(generate_badge_png("Python Basics", colour, "contrast")).convert("RGB")
    middle = image.crop((156, 200, 356, 312))
    counts = sorted(middle.getcolors(maxcolors=1 << 16), reverse=True)
    (_, background), (_, ink) = counts[:2]
    design = design_badge("Python Basics", colour, "contrast")
    assert background == design.base and ink == design.text
    assert contrast_ratio(background, ink) >= 4.5


# --- text -----------------------------------------------------------------------------------

def notdef_mask(bold: bool) -> bytes:
    font = artwork.load_font(40, bold)
    return bytes(font.getmask("\uffff"))


@pytest.mark.parametrize("bold", [False, True])
def test_bundled_font_has_every_letter_of_the_demo_names(bold: bool) -> None:
    font = artwork.load_font(40, bold)
    missing = notdef_mask(bold)
    names = DEMO_NAMES + demo_learner_names() + [ARABIC]
    for ch in sorted(set("".join(names)) - {" "}):
        assert bytes(font.getmask(ch)) != missing, f"no glyph for {ch!r} (U+{ord(ch):04X})"


def test_font_files_and_licence_are_bundled() -> None:
    data = Path(artwork.__file__).parent / "data"
    assert artwork.REGULAR_FONT.is_file() and artwork.BOLD_FONT.is_file()
    licence = (data / "LICENSE-DejaVu.txt").read_text(encoding="utf-8")
    assert "Bitstream Vera Fonts Copyright" in licence and "Arev Fonts Copyright" in licence
    assert sum(p.stat().st_size for p in data.iterdir()) < 2_000_000


@pytest.mark.parametrize("name", DEMO_NAMES + [ARABIC, "Ünïcödé Çhàrs — 3D-printen (basis)",
                                               "x" * 300, "", "   ", "🙂 Emoji"])
def test_any_name_renders(name: str) -> None:
    assert decode(generate_badge_png(name, None, name)).size == (512, 512)
    ET.fromstring(generate_badge_svg(name, None, name))


def test_initials_skip_small_words() -> None:
    assert artwork.initials("Zeynep Çelik") == "ZÇ"
    assert artwork.initials("Introduction to Accessible Web Development") == "IAW"
    assert artwork.initials("samenwerken in teams") == "SIT"
    assert artwork.initials("3D-printen") == "3"
    assert artwork.initials("— !") == "?"


def test_long_names_fall_back_to_initials_and_short_ones_wrap() -> None:
    assert design_badge("Python Basics", None, "s").lines == ("Python", "Basics")
    long = design_badge("Introduction to Accessible Web Development for Everyone", None, "s")
    assert long.lines == ("IAW",)


def test_fit_block_shrinks_then_cuts_with_an_ellipsis() -> None:
    size, lines = artwork.fit_block("Python Basics", (60, 40), True, 1000, 2)
    assert (size, lines) == (60, ["Python Basics"])
    size, lines = artwork.fit_block("word " * 50, (60, 40), False, 300, 2)
    assert size == 40 and len(lines) == 2 and lines[-1].endswith("…")
    assert all(artwork.text_width(line, 40) <= 300 for line in lines)
    size, lines = artwork.fit_block("W" * 100, (40,), True, 300, 2)
    assert lines[0].startswith("WWW") and lines[-1].endswith("…")


# --- right-to-left --------------------------------------------------------------------------

def test_fallback_shaping_uses_joining_forms_in_visual_order() -> None:
    # محمد: meem initial, hah medial, meem medial, dal final — drawn right to left.
    assert artwork.shape_fallback("محمد") == "\uFEAA\uFEE4\uFEA4\uFEE3"
    assert artwork.shape_fallback("لا") == "\uFEFB"  # the obligatory lam-alef ligature
    assert artwork.shape_fallback("Ali") == "Ali"


def test_visual_order_keeps_numbers_and_latin_in_reading_order() -> None:
    assert artwork.visual_order("abc 123") == "abc 123"
    assert artwork.visual_order("אב 12") == "12 בא"  # Hebrew paragraph: digits stay 1-2
    assert artwork.visual_order("abc אב def") == "abc בא def"
    assert artwork.visual_order("אב (x)") == "(x) בא"
    assert artwork.visual_order("אב 12:30") == "12:30 בא"


def test_arabic_renders_without_raqm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artwork, "raqm_available", lambda: False)
    assert decode(generate_badge_png(ARABIC, None, "ar")).size == (512, 512)


@pytest.mark.skipif(not artwork.raqm_available(), reason="this Pillow has no libraqm")
def test_fallback_shaping_looks_like_raqm() -> None:
    # The same word through libraqm (HarfBuzz + FriBiDi) and through the fallback: the glyphs
    # must match, give or take antialiasing at the joins.
    def render(text: str, font) -> Image.Image:
        image = Image.new("L", (400, 120), 0)
        ImageDraw.Draw(image).text((200, 60), text, font=font, fill=255, anchor="mm")
        return image
    for word in ["محمد", "عبد الله", "سلام"]:
        shaped = render(word, artwork.load_font(60, True, shaped=True))
        fallback = render(artwork.shape_fallback(word), artwork.load_font(60, True))
        difference = ImageStat.Stat(ImageChops.difference(shaped, fallback)).mean[0]
        assert difference < 6, word


# --- SVG ------------------------------------------------------------------------------------

def test_svg_is_safe_self_contained_and_titled(tmp_path: Path) -> None:
    svg = generate_badge_svg("Zeynep Çelik & <Co>", "#1f6f8b", "badge-1")
    assert svg == generate_badge_svg("Zeynep Çelik & <Co>", "#1f6f8b", "badge-1")
    root = ET.fromstring(svg)
    assert root.tag == SVG_NS + "svg" and root.get("viewBox") == "0 0 512 512"
    assert root.find(SVG_NS + "title").text == "Zeynep Çelik & <Co>"
    assert "<script" not in svg and "http://" not in svg.replace("http://www.w3.org/2000/svg", "")
    path = tmp_path / "badge.svg"
    path.write_text(svg, encoding="utf-8")
    info = inspect_image(path)  # the project's own safety check for badge images
    assert (info.format, info.width, info.height) == ("svg", 512, 512)


def test_svg_uses_the_same_design_as_the_png() -> None:
    design = design_badge("Python Basics", None, "same")
    root = ET.fromstring(generate_badge_svg("Python Basics", None, "same"))
    texts = [t.text for t in root.iter(SVG_NS + "text")]
    assert tuple(texts) == design.lines
    fills = {e.get("fill") for e in root.iter()}
    assert artwork.hex_colour(design.base) in fills and artwork.hex_colour(design.text) in fills


def test_svg_ids_differ_between_badges() -> None:
    # Several badges inlined in one page must not share clip-path ids.
    def ids(seed: str) -> set[str]:
        return {e.get("id") for e in ET.fromstring(generate_badge_svg("x", None, seed)).iter()
                if e.get("id")}
    assert ids("a").isdisjoint(ids("b"))


def test_parse_colour() -> None:
    assert parse_colour("#1F6f8b") == (0x1F, 0x6F, 0x8B)
    assert artwork.hex_colour((0x1F, 0x6F, 0x8B)) == "#1f6f8b"
