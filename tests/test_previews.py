"""Open Graph preview images: size, determinism, badge image handling, text and status pill."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from conftest import png_bytes
from generator import artwork
from generator.artwork import contrast_ratio, generate_badge_png, readable_text_colour
from generator.previews import (BACKGROUND, INK, MUTED, TONES, guess_tone, preview_png)

ARABIC = "محمد عبد الله"
BADGE_CENTRE = (80 + 200, 315)  # the middle of the 400-px badge box


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def colours(png: bytes) -> set[tuple[int, int, int]]:
    image = decode(png).convert("RGB")
    return {colour for _, colour in image.getcolors(maxcolors=1 << 20)}


def transparent_png() -> bytes:
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    image.paste((200, 30, 40, 255), (25, 25, 75, 75))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_size_and_determinism() -> None:
    badge = generate_badge_png("Python Basics", None, "b")
    args = ("Python Basics", "Zeynep Çelik", badge, "png", "Hogeschool Rugzak", "Geldig")
    first = preview_png(*args)
    assert first == preview_png(*args)
    image = decode(first)
    assert image.format == "PNG" and image.size == (1200, 630)
    assert len(first) < 300_000


def test_forgetting_the_caches_changes_no_preview() -> None:
    from generator.previews import _fitted_badge, clear_caches
    args = ("Python Basics", "Zeynep Çelik", png_bytes(64, (200, 30, 40)), "png", "Site")
    first = preview_png(*args)
    assert _fitted_badge.cache_info().currsize
    clear_caches()
    assert _fitted_badge.cache_info().currsize == 0
    assert preview_png(*args) == first and preview_png("T", "S", None, None, "Site")


def test_png_badge_is_scaled_into_the_box() -> None:
    red = (200, 30, 40)
    image = decode(preview_png("T", "S", png_bytes(64, red), "png", "Site")).convert("RGB")
    assert image.getpixel(BADGE_CENTRE) == red
    assert image.getpixel((80 + 5, 315 - 195)) == red  # 64 px grew to fill 400 px


def test_png_alpha_is_kept() -> None:
    image = decode(preview_png("T", "S", transparent_png(), "png", "Site")).convert("RGB")
    assert image.getpixel(BADGE_CENTRE) == (200, 30, 40)
    corner = image.getpixel((80 + 20, 315 - 180))  # transparent: the background shows
    # (the 256-colour palette may move a colour by a step; the file is checked visually
    # lossless, rms ≤ 1.5, elsewhere)
    assert all(abs(a - b) <= 2 for a, b in zip(corner, BACKGROUND))


@pytest.mark.parametrize("badge, fmt", [(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "svg"),
                                        (None, None), (None, "png")])
def test_svg_or_missing_badge_gets_the_neutral_emblem(badge: bytes | None,
                                                      fmt: str | None) -> None:
    emblem = decode(preview_png("T", "S", None, None, "Site")).convert("RGB")
    image = decode(preview_png("T", "S", badge, fmt, "Site")).convert("RGB")
    box = (80, 115, 480, 515)
    assert image.crop(box).tobytes() == emblem.crop(box).tobytes()
    assert image.getpixel(BADGE_CENTRE) != BACKGROUND  # something is drawn


@pytest.mark.parametrize("badge, fmt, message", [
    (b"not a png", "png", "does not decode as PNG"),
    (png_bytes(8)[:30], "png", "does not decode as PNG"),
    (png_bytes(8), "gif", "badge_format must be"),
    (png_bytes(8), None, "badge_format .* is required"),
])
def test_bad_badge_images_are_errors(badge: bytes, fmt: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        preview_png("T", "S", badge, fmt, "Site")


def test_jpeg_passed_as_png_is_an_error() -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="JPEG")
    with pytest.raises(ValueError, match="JPEG, not PNG"):
        preview_png("T", "S", out.getvalue(), "png", "Site")


def test_accent_colour_is_validated_and_used() -> None:
    with pytest.raises(ValueError, match="colour must look like"):
        preview_png("T", "S", None, None, "Site", accent="blue")
    image = decode(preview_png("T", "S", None, None, "Site", accent="#123456")).convert("RGB")
    assert image.getpixel((5, 300)) == (0x12, 0x34, 0x56)


@pytest.mark.parametrize("title, subtitle", [
    ("Zeynep Çelik", "Małgorzata Wiśniewska · Chloë · Paweł"),
    (ARABIC, "شارة التعلم"),
    ("Introduction to Accessible Web Development for Absolutely Everyone " * 4, "x " * 400),
    ("Supercalifragilisticexpialidociouslylongwordwithoutanyspacesatallreally" * 2, ""),
    ("", ""),
])
def test_any_text_renders(title: str, subtitle: str) -> None:
    assert decode(preview_png(title, subtitle, None, None, "Site", "Geldig")).size == (1200, 630)


def test_arabic_renders_without_raqm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artwork, "raqm_available", lambda: False)
    assert decode(preview_png(ARABIC, ARABIC, None, None, ARABIC)).size == (1200, 630)


def test_title_text_is_drawn_in_ink() -> None:
    without = colours(preview_png("", "", None, None, ""))
    with_title = colours(preview_png("Python Basics", "", None, None, ""))
    assert INK not in without and INK in with_title


@pytest.mark.parametrize("status, tone", [
    ("Geldig", "ok"), ("Verlopen", "warning"), ("Ingetrokken", "danger"),
    ("Ongeldig", "danger"), ("Invalid", "danger"), ("ungültig", "danger"),
    ("Expired", "warning"), ("Valid", "ok"), ("Ważny", "ok"), ("Concept", "neutral"),
])
def test_status_tone_is_guessed_from_the_word(status: str, tone: str) -> None:
    assert guess_tone(status) == tone


def test_status_pill_is_drawn_in_its_tone() -> None:
    assert TONES["danger"] in colours(preview_png("T", "S", None, None, "Site", "Ingetrokken"))
    explicit = preview_png("T", "S", None, None, "Site", "Herroepen", status_tone="warning")
    assert TONES["warning"] in colours(explicit)
    assert not set(TONES.values()) & colours(preview_png("T", "S", None, None, "Site", None))
    assert not set(TONES.values()) & colours(preview_png("T", "S", None, None, "Site", "  "))


def test_text_colours_meet_the_contrast_rule() -> None:
    assert contrast_ratio(INK, BACKGROUND) >= 4.5
    assert contrast_ratio(MUTED, BACKGROUND) >= 4.5
    for fill in TONES.values():
        assert contrast_ratio(readable_text_colour(fill), fill) >= 4.5


def test_photographic_badges_keep_full_colour_and_flat_ones_use_a_palette() -> None:
    flat = decode(preview_png("T", "S", generate_badge_png("x", None, "s"), "png", "Site"))
    assert flat.mode == "P"
    noise = Image.frombytes("RGB", (128, 128), bytes((i * 7919) % 251 for i in range(128 * 384)))
    out = io.BytesIO()
    noise.save(out, format="PNG")
    assert decode(preview_png("T", "S", out.getvalue(), "png", "Site")).mode == "RGB"
