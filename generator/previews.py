"""Open Graph preview images (1200 × 630 PNG) for badge and award pages.

A link shared in a chat or on social media shows `og:image`; 1200 × 630 (1.91:1) is the size
Facebook and LinkedIn recommend. The card shows the badge image, the title (wrapped, shrunk to
fit), a subtitle, the site name and optionally the award's status as a coloured pill.

Pillow cannot draw SVG and we add no SVG renderer, so an SVG badge image is replaced by a
neutral emblem; pass `generate_badge_png()` output for badges that have no image at all.
Pure and deterministic: the same arguments give byte-identical PNG bytes.
"""

from __future__ import annotations

import io
import math
import unicodedata
from functools import lru_cache
from typing import Literal

from PIL import Image, ImageChops, ImageDraw, ImageOps, ImageStat, UnidentifiedImageError

from generator.artwork import (RGB, baseline_offset, fit_block, line_height, parse_colour,
                               prepare_line, readable_text_colour, truncate_lines)

WIDTH, HEIGHT = 1200, 630
BACKGROUND: RGB = (246, 243, 236)
INK: RGB = (28, 28, 30)        # 15.9:1 on BACKGROUND
MUTED: RGB = (84, 84, 88)      # 6.9:1 on BACKGROUND, still AA for small text
DEFAULT_ACCENT = "#1f4e79"
_BADGE_BOX = 400
_TEXT_LEFT, _TEXT_RIGHT = 560, WIDTH - 64
_TITLE_SIZES = (66, 60, 54, 48, 44, 40)
_SUBTITLE_SIZES = (34, 31, 28)
_MAX_PNG_PIXELS = 4096 * 4096
_MAX_PALETTE_RMS = 1.5  # per channel, 0…255

Tone = Literal["ok", "warning", "danger", "neutral"]
# Pill colours, each with white text ≥ 4.5:1 (checked by the tests).
TONES: dict[str, RGB] = {"ok": (27, 110, 50), "warning": (138, 80, 0),
                         "danger": (170, 30, 35), "neutral": (80, 84, 92)}
# Guesses for `status_tone` from the status word, for the site's languages. Checked in this
# order, because "ongeldig", "invalid" and "ungültig" contain the "ok" words.
_TONE_WORDS: tuple[tuple[Tone, tuple[str, ...]], ...] = (
    ("danger", ("ingetrokken", "ongeldig", "revoked", "invalid", "widerrufen", "ungültig",
                "iptal", "geçersiz", "unieważn", "nieważn", "cofni")),
    ("warning", ("verlopen", "expired", "abgelaufen", "süresi dolmuş", "wygas")),
    ("ok", ("geldig", "valid", "gültig", "actief", "active", "aktiv", "geçerli", "ważn")),
)


def preview_png(title: str, subtitle: str, badge_image: bytes | None, badge_format: str | None,
                site_name: str, status: str | None = None, *,
                status_tone: Tone | None = None, accent: str = DEFAULT_ACCENT) -> bytes:
    """A 1200×630 PNG social preview.

    `badge_image`/`badge_format`: PNG bytes with "png" (scaled to fit, alpha kept), anything
    with "svg" (drawn as a neutral emblem), or None/None (emblem). `status` ("Geldig",
    "Verlopen", "Ingetrokken", …) appears as a pill; its colour comes from `status_tone`, or is
    guessed from the word. `accent` (`#rrggbb`) colours the edge stripe. Raises ValueError for a
    bad colour, an unknown format or PNG bytes that do not decode.
    """
    accent_rgb = parse_colour(accent)
    status = (status or "").strip() or None
    tone = (status_tone or guess_tone(status)) if status else None
    canvas = _backdrop(badge_image, badge_format, accent_rgb)
    _draw_text(ImageDraw.Draw(canvas), title, subtitle, site_name, status, tone)
    out = io.BytesIO()
    # zlib level 3 without Pillow's `optimize` pass: measured on 40 learner previews,
    # 3.7 ms and 37.6 KB per file; level 6 took 8.7 ms for 31.8 KB, level 9 41 ms for 29.8 KB
    _palette_or_full(canvas, _palette(badge_image, badge_format, accent_rgb, tone)).save(
        out, format="PNG", compress_level=3)
    return out.getvalue()


def _backdrop(badge_image: bytes | None, badge_format: str | None, accent: RGB) -> Image.Image:
    """The card without its text: background, accent stripe and badge."""
    canvas = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    ImageDraw.Draw(canvas).rectangle((0, 0, 15, HEIGHT), fill=accent)
    _draw_badge(canvas, badge_image, badge_format)
    return canvas


# Antialiased text on a flat colour only has colours between the two: a ramp of this many
# steps each is visually lossless at these sizes (an error of at most 1/62 of the way).
_RAMP_STEPS = 32
_BACKDROP_COLOURS = 256 - 3 * _RAMP_STEPS - 2


def _palette(badge_image: bytes | None, badge_format: str | None, accent: RGB,
             tone: str | None) -> Image.Image:
    """The palette image for `_palette_colours`. Made afresh each time: Pillow attaches a
    ~1 MB colour lookup table to a palette once it maps an image with it (kept, 128 of them
    held 110 MB per process; building the table again costs ~2 ms)."""
    palette = Image.new("P", (1, 1))
    palette.putpalette(_palette_colours(badge_image, badge_format, accent, tone))
    return palette


@lru_cache(maxsize=128)
def _palette_colours(badge_image: bytes | None, badge_format: str | None, accent: RGB,
                     tone: str | None) -> tuple[int, ...]:
    """256 colours (as R, G, B, R, …) for every card with this badge, accent and pill: the
    backdrop's own colours (quantized once per badge instead of once per card, a tenth of a
    card's cost) and ramps for text on the background and on the pill."""
    backdrop = _backdrop(badge_image, badge_format, accent)
    quantized = backdrop.quantize(colors=_BACKDROP_COLOURS, method=Image.Quantize.FASTOCTREE,
                                  dither=Image.Dither.NONE)
    flat = quantized.getpalette() or []
    colours: list[RGB] = [BACKGROUND, accent]
    colours += [(flat[i], flat[i + 1], flat[i + 2])
                for i in range(0, min(len(flat), 3 * _BACKDROP_COLOURS), 3)]
    ramps = [(BACKGROUND, INK), (BACKGROUND, MUTED)]
    if tone is not None:
        ramps.append((TONES[tone], readable_text_colour(TONES[tone])))
    for start, end in ramps:
        colours += [tuple(round(a + (b - a) * step / (_RAMP_STEPS - 1))  # type: ignore[misc]
                          for a, b in zip(start, end)) for step in range(_RAMP_STEPS)]
    unique = list(dict.fromkeys(colours))[:256]
    unique += [BACKGROUND] * (256 - len(unique))  # (a repeat never wins a nearest match)
    return tuple(channel for colour in unique for channel in colour)


def _palette_or_full(canvas: Image.Image, palette: Image.Image) -> Image.Image:
    """256 colours when that is visually lossless (flat artwork, text: files ~2.5× smaller);
    full colour when a photographic badge image would band."""
    fitted = canvas.quantize(palette=palette, dither=Image.Dither.NONE)
    if _error(canvas, fitted) <= _MAX_PALETTE_RMS:
        return fitted
    # Fast octree over the whole card: the backdrop's share of the palette was too small.
    fitted = canvas.quantize(colors=256, method=Image.Quantize.FASTOCTREE,
                             dither=Image.Dither.NONE)
    return fitted if _error(canvas, fitted) <= _MAX_PALETTE_RMS else canvas


def _error(canvas: Image.Image, fitted: Image.Image) -> float:
    """The worst channel's root-mean-square difference between two versions of a card."""
    return max(ImageStat.Stat(ImageChops.difference(canvas, fitted.convert("RGB"))).rms)


def guess_tone(status: str) -> Tone:
    """"Verlopen" → "warning", "Ingetrokken" → "danger", "Geldig" → "ok", else "neutral"."""
    word = status.casefold()
    for tone, words in _TONE_WORDS:
        if any(hint in word for hint in words):
            return tone
    return "neutral"


# --- badge ----------------------------------------------------------------------------------

def _draw_badge(canvas: Image.Image, data: bytes | None, fmt: str | None) -> None:
    box = (80, (HEIGHT - _BADGE_BOX) // 2)
    if fmt not in ("png", "svg", None):
        raise ValueError(f"badge_format must be 'png', 'svg' or None, got {fmt!r}")
    if data is not None and fmt is None:
        raise ValueError("badge_format ('png' or 'svg') is required with badge_image")
    if fmt == "png" and data is not None:
        fitted = _fitted_badge(data)
        x = box[0] + (_BADGE_BOX - fitted.width) // 2
        y = box[1] + (_BADGE_BOX - fitted.height) // 2
        canvas.paste(fitted, (x, y), fitted)
    else:
        emblem = _emblem(_BADGE_BOX)
        canvas.paste(emblem, box, emblem)


@lru_cache(maxsize=64)
def _fitted_badge(data: bytes) -> Image.Image:
    """The badge scaled into its box — once per badge image, not once per preview (a
    learner's preview shows one of a site's few badge images). Never modified after."""
    return ImageOps.contain(_load_png(data), (_BADGE_BOX, _BADGE_BOX),
                            Image.Resampling.LANCZOS)


def clear_caches() -> None:
    """Forget the badge images, emblem and palettes remembered for previews (~1 MB per
    badge and colour). A build calls this once the site-wide previews are made: workers
    forked after would each start with them, counted in their memory, whether or not they
    draw a preview (those that do remember their own)."""
    for remembered in (_palette_colours, _fitted_badge, _emblem):
        remembered.cache_clear()


def _load_png(data: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise ValueError(f"badge image is {image.format}, not PNG")
            if image.width * image.height > _MAX_PNG_PIXELS:
                raise ValueError(f"badge image is too large ({image.width} × {image.height})")
            return image.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"badge image does not decode as PNG ({exc})") from None


@lru_cache(maxsize=4)
def _emblem(size: int) -> Image.Image:
    """A neutral rosette with ribbons: "a badge" without pretending to be this badge.

    Drawn once per size (at twice the size, then scaled down: ~25 ms) and shared by every
    preview without a PNG badge image, so never modified after."""
    scale = 2
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    c, r = big / 2, big * 0.34
    cy = big * 0.42
    for side in (-1, 1):  # two ribbon tails
        x0 = c + side * r * 0.25
        draw.polygon([(x0, cy), (x0 + side * r * 0.75, cy + r * 1.55),
                      (x0 + side * r * 0.35, cy + r * 1.4), (x0 + side * r * 0.05, cy + r * 1.6)],
                     fill=(150, 156, 166, 255))
    points = []
    for i in range(48):  # scalloped edge
        t = 2 * math.pi * i / 48
        radius = r if i % 2 == 0 else r * 0.93
        points.append((c + radius * math.cos(t), cy + radius * math.sin(t)))
    draw.polygon(points, fill=(104, 110, 122, 255))
    inner = r * 0.72
    draw.ellipse((c - inner, cy - inner, c + inner, cy + inner), fill=(236, 238, 241, 255),
                 outline=(104, 110, 122, 255), width=6 * scale)
    star = []
    for i in range(10):
        t = -math.pi / 2 + math.pi * i / 5
        radius = inner * (0.62 if i % 2 == 0 else 0.26)
        star.append((c + radius * math.cos(t), cy + radius * math.sin(t)))
    draw.polygon(star, fill=(104, 110, 122, 255))
    return image.resize((size, size), Image.Resampling.LANCZOS)


# --- text -----------------------------------------------------------------------------------

def _draw_text(draw: ImageDraw.ImageDraw, title: str, subtitle: str, site_name: str,
               status: str | None, status_tone: Tone | None) -> None:
    width = _TEXT_RIGHT - _TEXT_LEFT
    site_size = 28
    site_line = truncate_lines(site_name, site_size, False, width, 1)
    title_size, title_lines = fit_block(" ".join(title.split()), _TITLE_SIZES, True, width, 3)
    sub_size, sub_lines = fit_block(" ".join(subtitle.split()), _SUBTITLE_SIZES, False, width, 2)
    blocks: list[tuple[list[str], int, bool, RGB, int]] = [
        (site_line, site_size, False, MUTED, 0),
        (title_lines, title_size, True, INK, 22),
        (sub_lines, sub_size, False, MUTED, 18),
    ]
    pill_height = 56 if status else 0
    total = sum(len(lines) * line_height(size) + gap for lines, size, _, _, gap in blocks)
    total += pill_height + (30 if status else 0)
    y = (HEIGHT - total) / 2
    for lines, size, bold, colour, gap in blocks:
        y += gap
        for line in lines:
            _draw_line(draw, line, size, bold, colour, y)
            y += line_height(size)
    if status:
        _draw_pill(draw, status, status_tone or guess_tone(status), y + 30, pill_height)


def _draw_line(draw: ImageDraw.ImageDraw, line: str, size: int, bold: bool, colour: RGB,
               top: float) -> None:
    text, font = prepare_line(line, size, bold)
    baseline = top + baseline_offset(size)
    # Right-to-left lines hang from the right edge, as readers of those scripts expect.
    if _is_rtl(line):
        draw.text((_TEXT_RIGHT, baseline), text, font=font, fill=colour, anchor="rs")
    else:
        draw.text((_TEXT_LEFT, baseline), text, font=font, fill=colour, anchor="ls")


def _is_rtl(text: str) -> bool:
    first = next((unicodedata.bidirectional(ch) for ch in text
                  if unicodedata.bidirectional(ch) in ("L", "R", "AL")), "L")
    return first in ("R", "AL")


def _draw_pill(draw: ImageDraw.ImageDraw, status: str, tone: Tone, top: float,
               height: int) -> None:
    fill = TONES[tone]
    ink = readable_text_colour(fill)
    size = 28
    label = truncate_lines(" ".join(status.split()), size, True, 420, 1)[0]
    text, font = prepare_line(label, size, True)
    width = font.getlength(text) + 2 * 26
    draw.rounded_rectangle((_TEXT_LEFT, top, _TEXT_LEFT + width, top + height),
                           radius=height // 2, fill=fill)
    draw.text((_TEXT_LEFT + width / 2, top + height / 2), text, font=font, fill=ink, anchor="mm")
