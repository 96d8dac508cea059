"""Generated artwork for badge classes without an image, plus the colour and text helpers that
previews.py and pdf.py share.

A badge without an image still needs one: OB 2.0 BadgeClass requires `image`, and a page full
of identical placeholders tells badges apart badly. So the shape, band pattern and colour are
chosen from a hash of the badge's `seed` (its id), and the name (or its initials) is set in the
bundled DejaVu Sans, never a system font, so every machine renders the same pixels.

Everything here is a pure function of its arguments: same input, byte-identical output.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from PIL import Image, ImageChops, ImageDraw, ImageFont, features

SIZE = 512
_SCALE = 2  # draw at 2× and downsample: Pillow's polygons and ellipses are not antialiased
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
SHAPES = ("circle", "hexagon", "shield", "octagon", "rosette")
PATTERNS = ("stripes", "dots", "rays", "rings", "ticks")
# Medallion (the disc that carries the text) and the ring around it, in 512-px units.
_MEDALLION_R = 158
_RING_GAP, _RING_WIDTH = 10, 5
_NAME_SIZES = (72, 64, 56, 50, 44, 40, 36)
_INITIALS_SIZES = (150, 128, 110, 96, 80)
SVG_FONT_FAMILY = "'DejaVu Sans', Verdana, 'Segoe UI', Arial, sans-serif"

RGB = tuple[int, int, int]


# --- colour ---------------------------------------------------------------------------------

def parse_colour(value: str) -> RGB:
    """Parse a `#rrggbb` colour; raise ValueError naming the bad value otherwise."""
    if not isinstance(value, str) or not _COLOUR.match(value):
        raise ValueError(f"colour must look like '#1f6f8b' (# and six hex digits), "
                         f"got {value!r}")
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def hex_colour(rgb: RGB) -> str:
    """`(31, 111, 139)` → `'#1f6f8b'`."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def relative_luminance(rgb: RGB) -> float:
    """WCAG relative luminance of an sRGB colour.

    WCAG 2.2, "relative luminance": "L = 0.2126 * R + 0.7152 * G + 0.0722 * B where R, G and B
    are defined as: if RsRGB <= 0.04045 then R = RsRGB/12.92 else R = ((RsRGB+0.055)/1.055) ^ 2.4"
    (WCAG 2.0/2.1 print 0.03928; no 8-bit channel value falls between the two thresholds.)
    """
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGB, b: RGB) -> float:
    """WCAG contrast ratio "(L1 + 0.05) / (L2 + 0.05)", L1 the lighter colour; 1 … 21."""
    la, lb = relative_luminance(a), relative_luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


# WCAG 2.2 SC 1.4.3 Contrast (Minimum): "The visual presentation of text and images of text
# has a contrast ratio of at least 4.5:1" (large text may go down to 3:1; we do not rely on it).
MIN_CONTRAST = 4.5
_TEXT_CANDIDATES: tuple[RGB, ...] = ((255, 255, 255), (17, 17, 17), (0, 0, 0))


def readable_text_colour(background: RGB) -> RGB:
    """The candidate text colour with the best contrast on `background`.

    White or black always reaches at least 4.58:1 against any opaque colour, so the 4.5:1 rule
    can always be met; near-black (#111) is preferred to pure black when it also passes.
    """
    white, soft_black, black = _TEXT_CANDIDATES
    if contrast_ratio(white, background) >= contrast_ratio(black, background):
        return white
    return soft_black if contrast_ratio(soft_black, background) >= MIN_CONTRAST else black


def mix(a: RGB, b: RGB, amount: float) -> RGB:
    """Blend `amount` (0…1) of colour `b` into colour `a`."""
    return tuple(round(x + (y - x) * amount) for x, y in zip(a, b))  # type: ignore[return-value]


def seed_colour(seed: str) -> RGB:
    """A mid-tone colour derived from `seed`, so each generated badge has its own hue."""
    digest = hashlib.sha256(("colour:" + seed).encode()).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    saturation = 0.45 + digest[2] / 255 * 0.30
    lightness = 0.30 + digest[3] / 255 * 0.22
    r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
    return round(r * 255), round(g * 255), round(b * 255)


# --- text -----------------------------------------------------------------------------------
# Shared with previews.py and pdf.py. Latin, Greek and Cyrillic text always uses Pillow's basic
# layout, so it renders identically whether or not libraqm is present. Right-to-left text needs
# shaping (joining forms) and reordering: libraqm does both when Pillow has it; otherwise a
# small fallback below substitutes Arabic presentation forms and reverses RTL runs, which reads
# correctly for plain names but ignores finer points (mark positioning, optional ligatures).

FONT_DIR = Path(__file__).parent / "data"
REGULAR_FONT = FONT_DIR / "DejaVuSans.ttf"
BOLD_FONT = FONT_DIR / "DejaVuSans-Bold.ttf"
ELLIPSIS = "…"


@lru_cache(maxsize=None)
def raqm_available() -> bool:
    """Whether Pillow can shape complex scripts (libraqm with FriBiDi and HarfBuzz)."""
    return bool(features.check("raqm"))


@lru_cache(maxsize=64)
def load_font(size: int, bold: bool = False, shaped: bool = False) -> ImageFont.FreeTypeFont:
    """The bundled DejaVu Sans at `size` px; `shaped` selects the libraqm layout engine."""
    engine = ImageFont.Layout.RAQM if shaped else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(BOLD_FONT if bold else REGULAR_FONT), size,
                              layout_engine=engine)


def line_height(size: int) -> int:
    """Distance between baselines for text set at `size` px."""
    return math.ceil(size * 1.25)


def baseline_offset(size: int) -> float:
    """Where the baseline sits below the top of a `line_height(size)` box (glyphs centred)."""
    ascent, descent = load_font(size).getmetrics()
    return (line_height(size) - ascent - descent) / 2 + ascent


def prepare_line(text: str, size: int, bold: bool = False) -> tuple[str, ImageFont.FreeTypeFont]:
    """The string to draw and the font to draw it with, shaping RTL text when needed.

    Right-to-left text comes back either unchanged with a libraqm font (which shapes and
    orders it) or already shaped and in visual order for the basic layout.
    """
    text = unicodedata.normalize("NFC", text)
    if not _needs_shaping(text):
        return text, load_font(size, bold)
    if raqm_available():
        return text, load_font(size, bold, shaped=True)
    return shape_fallback(text), load_font(size, bold)


def text_width(text: str, size: int, bold: bool = False) -> float:
    """Advance width of one line of text in px, as `prepare_line` will draw it."""
    return _text_width(text, size, bold, raqm_available())


# Wrapping measures the same lines (badge names, labels, first names) on every card and
# preview of a build: remembered, they are measured once per worker.
@lru_cache(maxsize=8192)
def _text_width(text: str, size: int, bold: bool, shaped: bool) -> float:
    shown, font = prepare_line(text, size, bold)
    return font.getlength(shown)


def fit_lines(text: str, size: int, bold: bool, width: float, max_lines: int) -> list[str] | None:
    """Greedy word wrap into ≤ `max_lines` lines of ≤ `width` px, or None if it cannot fit."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and text_width(candidate, size, bold) <= width:
            lines[-1] = candidate
        elif text_width(word, size, bold) <= width and len(lines) < max_lines:
            lines.append(word)
        else:
            return None
    return lines


def fit_block(text: str, sizes: tuple[int, ...], bold: bool, width: float,
              max_lines: int) -> tuple[int, list[str]]:
    """The largest size in `sizes` at which `text` wraps into the box; at the smallest size,
    what does not fit is cut with an ellipsis (a preview must never overflow)."""
    for size in sizes:
        lines = fit_lines(text, size, bold, width, max_lines)
        if lines is not None:
            return size, lines
    size = sizes[-1]
    return size, truncate_lines(text, size, bold, width, max_lines)


def truncate_lines(text: str, size: int, bold: bool, width: float, max_lines: int) -> list[str]:
    """Wrap `text`, breaking over-long words, and end with "…" if it needs more lines."""
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < max_lines:
        line = ""
        while words:
            candidate = f"{line} {words[0]}" if line else words[0]
            if text_width(candidate, size, bold) <= width:
                line, words = candidate, words[1:]
            elif not line:  # a single word wider than the box: break it
                cut = _longest_prefix(words[0], size, bold, width)
                line, words = words[0][:cut], [words[0][cut:]] + words[1:]
            else:
                break
        lines.append(line)
    if words and lines:
        last = lines[-1]
        while last and text_width(last + ELLIPSIS, size, bold) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + ELLIPSIS
    return lines


def _longest_prefix(word: str, size: int, bold: bool, width: float) -> int:
    cut = len(word)
    while cut > 1 and text_width(word[:cut], size, bold) > width:
        cut -= 1
    return cut


_RTL_CLASSES = {"R", "AL", "AN"}


def _needs_shaping(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in _RTL_CLASSES for ch in text)


@lru_cache(maxsize=1)
def _presentation_forms() -> dict[tuple[str, str], str]:
    """(letters, form) → Arabic Presentation Forms-B character, read from Unicode's own
    compatibility decompositions (e.g. U+FEE3 is "<initial> 0645")."""
    forms: dict[tuple[str, str], str] = {}
    for code in range(0xFE70, 0xFEFD):
        parts = unicodedata.decomposition(chr(code)).split()
        if parts and parts[0] in ("<isolated>", "<final>", "<initial>", "<medial>"):
            letters = "".join(chr(int(h, 16)) for h in parts[1:])
            forms[(letters, parts[0][1:-1])] = chr(code)
    return forms


_TATWEEL = "\u0640"
_LAM = "\u0644"
_MIRRORED = str.maketrans("()[]{}<>«»", ")(][}{><»«")


def shape_fallback(text: str) -> str:
    """Arabic joining forms and right-to-left order without libraqm (an approximation).

    Used only when Pillow lacks libraqm: picks isolated/initial/medial/final presentation
    forms, forms the obligatory lam-alef ligatures and reorders runs (simplified bidi: numbers
    and left-to-right words keep their own order inside right-to-left text).
    """
    return visual_order(_join_arabic(text))


def _join_arabic(text: str) -> str:
    forms = _presentation_forms()
    chars = list(text)
    # Obligatory lam + alef ligatures: the pair becomes one right-joining letter.
    merged: list[str] = []
    for ch in chars:
        if merged and merged[-1] == _LAM and (_LAM + ch, "isolated") in forms:
            merged[-1] = _LAM + ch
        else:
            merged.append(ch)

    def joins_left(unit: str) -> bool:  # can connect to the following letter
        return unit == _TATWEEL or (unit, "initial") in forms

    def joins_right(unit: str) -> bool:  # can connect to the preceding letter
        return unit == _TATWEEL or (unit, "final") in forms

    def neighbour(index: int, step: int) -> str:
        index += step
        while 0 <= index < len(merged) and unicodedata.category(merged[index][0]) == "Mn":
            index += step  # harakat are transparent to joining
        return merged[index] if 0 <= index < len(merged) else ""

    out = []
    for i, unit in enumerate(merged):
        if (unit, "isolated") not in forms:
            out.append(unit)
            continue
        before = joins_left(neighbour(i, -1)) and joins_right(unit)
        after = joins_left(unit) and joins_right(neighbour(i, 1))
        form = {(True, True): "medial", (True, False): "final",
                (False, True): "initial"}.get((before, after), "isolated")
        out.append(forms.get((unit, form)) or forms[(unit, "isolated")])
    return "".join(out)


def visual_order(text: str) -> str:
    """One line's characters in display order, left to right (the Unicode bidi algorithm,
    much simplified: strong types, numbers, neutrals between runs, rules L1–L2, mirroring)."""
    def strength(ch: str) -> str:
        kind = unicodedata.bidirectional(ch)
        return "R" if kind in ("R", "AL") else "L" if kind == "L" else \
            "N" if kind in ("EN", "AN") else ""
    clusters: list[str] = []  # base character plus its combining marks
    for ch in text:
        if clusters and unicodedata.category(ch) in ("Mn", "Me"):
            clusters[-1] += ch
        else:
            clusters.append(ch)
    kinds = [strength(cluster[0]) for cluster in clusters]
    for i in range(1, len(kinds) - 1):  # rules W4/W5: "12:30", "1.5", "50 %" stay one number
        kind = unicodedata.bidirectional(clusters[i][0])
        if kind in ("CS", "ES", "ET") and kinds[i - 1] == kinds[i + 1] == "N":
            kinds[i] = "N"
    rtl_paragraph = next((k for k in kinds if k in ("L", "R")), "L") == "R"
    levels = []
    for i, kind in enumerate(kinds):
        if kind == "R":
            levels.append(1)
        elif kind in ("L", "N"):  # numbers read left to right, even inside Arabic
            levels.append(2 if rtl_paragraph or kind == "N" and _between_rtl(kinds, i) else 0)
        else:  # neutral: follows its neighbours when they agree, else the paragraph
            before = next((k for k in reversed(kinds[:i]) if k in ("L", "R")), "")
            after = next((k for k in kinds[i + 1:] if k in ("L", "R")), "")
            rtl = before == after == "R" or (before != after and rtl_paragraph)
            levels.append(1 if rtl else (2 if rtl_paragraph else 0))
    for level in range(max(levels, default=0), 0, -1):
        i = 0
        while i < len(clusters):
            if levels[i] >= level:
                j = i
                while j < len(clusters) and levels[j] >= level:
                    j += 1
                clusters[i:j] = reversed(clusters[i:j])
                levels[i:j] = reversed(levels[i:j])
                i = j
            else:
                i += 1
    return "".join(c.translate(_MIRRORED) if lv % 2 else c for c, lv in zip(clusters, levels))


def _between_rtl(kinds: list[str], index: int) -> bool:
    before = next((k for k in reversed(kinds[:index]) if k in ("L", "R")), "")
    return before == "R"


# --- design ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Design:
    """Everything about one badge's look, decided once so that PNG and SVG agree."""

    name: str
    shape: str
    pattern: str
    angle: int        # stripe direction, degrees
    density: int      # how many rays, dots, ticks or rosette lobes
    base: RGB         # the medallion, behind the text
    text: RGB         # ≥ 4.5:1 against `base`
    band: RGB         # the outer band ...
    motif: RGB        # ... and its pattern
    outline: RGB
    outline_points: tuple[tuple[float, float], ...]
    lines: tuple[str, ...]  # the name wrapped, or its initials
    font_size: int


def design_badge(name: str, colour: str | None, seed: str) -> Design:
    """Decide a badge's look: shape, pattern and (without `colour`) hue from a hash of `seed`."""
    digest = hashlib.sha256(("badge:" + seed).encode()).digest()
    base = parse_colour(colour) if colour is not None else seed_colour(seed)
    density = 8 + digest[3] % 5 * 2
    shape = SHAPES[digest[0] % len(SHAPES)]
    name = " ".join(name.split())
    lines, font_size = _badge_text(name)
    return Design(name=name, shape=shape, pattern=PATTERNS[digest[1] % len(PATTERNS)],
                  angle=15 + digest[2] % 5 * 30, density=density, base=base,
                  text=readable_text_colour(base), band=mix(base, (0, 0, 0), 0.25),
                  motif=mix(base, (255, 255, 255), 0.22), outline=mix(base, (0, 0, 0), 0.5),
                  outline_points=tuple(shape_points(shape, density)), lines=tuple(lines),
                  font_size=font_size)


def shape_points(shape: str, density: int) -> list[tuple[float, float]]:
    """The outline of `shape` as a closed polygon in 512-px units (circles: many points)."""
    c = SIZE / 2
    if shape == "circle":
        return _polygon(c, c, 246, 180, 0)
    if shape == "hexagon":
        return _polygon(c, c, 252, 6, -90)
    if shape == "octagon":
        return _polygon(c, c, 250, 8, 22.5)
    if shape == "rosette":  # a scalloped edge: radius swings between 238 and 250
        points = []
        for degree in range(360):
            t = math.radians(degree)
            r = 244 + 6 * math.cos(2 * density * t)
            points.append((c + r * math.cos(t), c + r * math.sin(t)))
        return points
    if shape == "shield":
        points = [(40.0, 28.0), (472.0, 28.0), (472.0, 270.0)]
        # Quadratic curve from the right side down to the point, then mirrored.
        curve = [_quad((472, 270), (468, 420), (256, 500), i / 24) for i in range(1, 25)]
        points += curve + [(SIZE - x, y) for x, y in reversed(curve[:-1])]
        return points + [(40.0, 270.0)]
    raise ValueError(f"unknown shape {shape!r}")


def _polygon(cx: float, cy: float, r: float, sides: int, start: float) -> list[tuple[float, float]]:
    return [(cx + r * math.cos(math.radians(start + 360 * i / sides)),
             cy + r * math.sin(math.radians(start + 360 * i / sides))) for i in range(sides)]


def _quad(p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float],
          t: float) -> tuple[float, float]:
    return tuple((1 - t) ** 2 * a + 2 * (1 - t) * t * b + t * t * c  # type: ignore[return-value]
                 for a, b, c in zip(p0, p1, p2))


def initials(name: str) -> str:
    """Up to three initials: "Zeynep Çelik" → "ZÇ", "Introduction to Web Design" → "IWD".

    When two or more words are capitalised, only those count ("to", "van", "de" are skipped).
    """
    letters = [next((ch for ch in word if ch.isalnum()), "") for word in name.split()]
    letters = [letter for letter in letters if letter]
    capitals = [letter for letter in letters if letter.isupper()]
    found = "".join(capitals if len(capitals) >= 2 else letters)
    return (found[:3] or "?").upper()


def _badge_text(name: str) -> tuple[list[str], int]:
    """The name wrapped to ≤ 3 lines in the medallion, or its initials when it cannot fit."""
    for size in _NAME_SIZES:
        lines = _fit_in_circle(name, size, max_lines=3)
        if lines:
            return lines, size
    short = initials(name)
    for size in _INITIALS_SIZES:
        if _fit_in_circle(short, size, max_lines=1):
            return [short], size
    return [short], _INITIALS_SIZES[-1]


def _fit_in_circle(text: str, size: int, max_lines: int) -> list[str] | None:
    # The block's top and bottom lines are the narrowest chords, so their width is the limit.
    step = line_height(size)
    for count in range(1, max_lines + 1):
        half = count * step / 2
        inner = _MEDALLION_R - 18
        if half >= inner:
            return None
        width = 2 * math.sqrt(inner ** 2 - half ** 2)
        lines = fit_lines(text, size, True, width, count)
        if lines is not None:
            return lines
    return None


# --- PNG ------------------------------------------------------------------------------------

def generate_badge_png(name: str, colour: str | None, seed: str) -> bytes:
    """A 512×512 PNG badge for a badge class without an image.

    `colour` is `#rrggbb` (ValueError otherwise) or None to derive one from `seed`; `seed`
    (use the badge id) picks shape and pattern, so different badges look different.
    """
    design = design_badge(name, colour, seed)
    big = SIZE * _SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    outline = [(x * _SCALE, y * _SCALE) for x, y in design.outline_points]
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).polygon(outline, fill=255)
    image.paste(design.band + (255,), (0, 0, big, big), mask)
    motif = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    _draw_pattern(ImageDraw.Draw(motif), design, _SCALE)
    image.paste(motif, (0, 0), ImageChops.multiply(motif.getchannel("A"), mask))  # clip
    draw = ImageDraw.Draw(image)
    draw.polygon(outline, outline=design.outline + (255,), width=6 * _SCALE)
    c = SIZE / 2 * _SCALE
    ring = (_MEDALLION_R + _RING_GAP) * _SCALE
    draw.ellipse((c - ring, c - ring, c + ring, c + ring), outline=design.text + (255,),
                 width=_RING_WIDTH * _SCALE)
    r = _MEDALLION_R * _SCALE
    draw.ellipse((c - r, c - r, c + r, c + r), fill=design.base + (255,))
    _draw_lines(draw, design, c)
    image = image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    _to_palette(image, design).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _to_palette(image: Image.Image, design: Design) -> Image.Image:
    """256 colours with alpha: no visible change for flat artwork, ~5× smaller files (baked
    award images copy this one). Palette entries that the quantizer averaged to within a
    shade of one of the design's flat colours are put back to it exactly, so the contrast
    computed for the text is the contrast shown."""
    quantized = image.quantize(256, method=Image.Quantize.FASTOCTREE,
                               dither=Image.Dither.NONE)
    flat = quantized.getpalette("RGBA") or []
    entries = [tuple(flat[i:i + 4]) for i in range(0, len(flat), 4)]
    for colour in (design.base, design.text, design.band, design.motif, design.outline):
        entries = [colour + (255,) if entry[3] >= 248 and
                   max(abs(a - b) for a, b in zip(entry, colour)) <= 4 else entry
                   for entry in entries]
    quantized.putpalette([value for entry in entries for value in entry], rawmode="RGBA")
    return quantized


def _draw_pattern(draw: ImageDraw.ImageDraw, design: Design, scale: int) -> None:
    colour = design.motif + (255,)
    c = SIZE / 2 * scale
    for shape in pattern_shapes(design):
        kind, *values = shape
        v = [value * scale for value in values]
        if kind == "line":
            draw.line(v[:4], fill=colour, width=round(v[4]))
        elif kind == "circle":
            draw.ellipse((v[0] - v[2], v[1] - v[2], v[0] + v[2], v[1] + v[2]), fill=colour)
        elif kind == "ring":
            draw.ellipse((c - v[0], c - v[0], c + v[0], c + v[0]), outline=colour,
                         width=round(v[1]))
        elif kind == "wedge":
            draw.polygon([(c, c), (v[0], v[1]), (v[2], v[3])], fill=colour)


def pattern_shapes(design: Design) -> list[tuple]:
    """The band's motif as simple primitives (512-px units), shared by PNG and SVG output.

    ("line", x1, y1, x2, y2, width) · ("circle", cx, cy, r) · ("ring", r, width) ·
    ("wedge", x1, y1, x2, y2) — a triangle from the centre.
    """
    c = SIZE / 2
    shapes: list[tuple] = []
    if design.pattern == "stripes":
        a = math.radians(design.angle)
        dx, dy = math.cos(a), math.sin(a)  # along the stripe
        for k in range(-12, 13):
            ox, oy = -dy * k * 24, dx * k * 24  # offset across the stripes
            shapes.append(("line", c + ox - dx * 400, c + oy - dy * 400,
                           c + ox + dx * 400, c + oy + dy * 400, 8))
    elif design.pattern == "dots":
        step = 20 + design.density
        for row in range(-(SIZE // step), SIZE // step + 1):
            for col in range(-(SIZE // step), SIZE // step + 1):
                x = c + col * step + (step / 2 if row % 2 else 0)
                y = c + row * step
                # Only the band shows: skip dots under the medallion or off the canvas.
                on_canvas = 0 < x < SIZE and 0 < y < SIZE
                if on_canvas and math.hypot(x - c, y - c) > _MEDALLION_R + _RING_GAP:
                    shapes.append(("circle", x, y, 4.5))
    elif design.pattern == "rays":
        count = design.density * 2
        for i in range(count):
            t1 = 2 * math.pi * i / count
            t2 = t1 + math.pi / count
            shapes.append(("wedge", c + 400 * math.cos(t1), c + 400 * math.sin(t1),
                           c + 400 * math.cos(t2), c + 400 * math.sin(t2)))
    elif design.pattern == "rings":
        for r in range(_MEDALLION_R + 26, 260, 16):
            shapes.append(("ring", r, 5))
    elif design.pattern == "ticks":  # a milled edge around the ring, like a medal's
        count = design.density * 6
        inner, outer = _MEDALLION_R + 22, _MEDALLION_R + 44
        for i in range(count):
            t = 2 * math.pi * i / count
            shapes.append(("line", c + inner * math.cos(t), c + inner * math.sin(t),
                           c + outer * math.cos(t), c + outer * math.sin(t), 6))
    return shapes


def _draw_lines(draw: ImageDraw.ImageDraw, design: Design, centre: float) -> None:
    size = design.font_size * _SCALE
    height = line_height(size)
    top = centre - height * len(design.lines) / 2
    for i, line in enumerate(design.lines):
        text, font = prepare_line(line, size, bold=True)
        baseline = top + i * height + baseline_offset(size)
        draw.text((centre, baseline), text, font=font, fill=design.text + (255,), anchor="ms")


# --- SVG ------------------------------------------------------------------------------------

def generate_badge_svg(name: str, colour: str | None, seed: str) -> str:
    """The same badge as `generate_badge_png`, as a self-contained 512×512 SVG.

    No script, no external references; ids carry a hash of the seed so that several badges
    inlined in one HTML page do not share clip-path ids. Text is left to the viewer's fonts
    (DejaVu Sans first), which also shape Arabic correctly.
    """
    design = design_badge(name, colour, seed)
    uid = "rz" + hashlib.sha256(("svg:" + seed).encode()).hexdigest()[:10]
    points = " ".join(f"{_n(x)},{_n(y)}" for x, y in design.outline_points)
    c = SIZE / 2
    motif = "".join(_svg_primitive(shape, hex_colour(design.motif))
                    for shape in pattern_shapes(design))
    text_colour = hex_colour(design.text)
    size = design.font_size
    height = line_height(size)
    top = c - height * len(design.lines) / 2
    texts = "".join(
        f'<text x="{_n(c)}" y="{_n(top + i * height + baseline_offset(size))}">'
        f"{escape(line)}</text>" for i, line in enumerate(design.lines))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" '
        f'width="{SIZE}" height="{SIZE}" role="img" aria-labelledby="{uid}-t">'
        f'<title id="{uid}-t">{escape(design.name)}</title>'
        f'<defs><clipPath id="{uid}-c"><polygon points="{points}"/></clipPath></defs>'
        f'<polygon points="{points}" fill="{hex_colour(design.band)}"/>'
        f'<g clip-path="url(#{uid}-c)">{motif}</g>'
        f'<polygon points="{points}" fill="none" stroke="{hex_colour(design.outline)}" '
        f'stroke-width="6" stroke-linejoin="round"/>'
        f'<circle cx="{_n(c)}" cy="{_n(c)}" r="{_MEDALLION_R + _RING_GAP - _RING_WIDTH / 2}" '
        f'fill="none" stroke="{text_colour}" stroke-width="{_RING_WIDTH}"/>'
        f'<circle cx="{_n(c)}" cy="{_n(c)}" r="{_MEDALLION_R}" '
        f'fill="{hex_colour(design.base)}"/>'
        f'<g fill="{text_colour}" font-family={quoteattr(SVG_FONT_FAMILY)} '
        f'font-weight="bold" font-size="{size}" text-anchor="middle" aria-hidden="true">'
        f"{texts}</g></svg>\n")


def _svg_primitive(shape: tuple, fill: str) -> str:
    kind, *v = shape
    if kind == "line":
        return (f'<line x1="{_n(v[0])}" y1="{_n(v[1])}" x2="{_n(v[2])}" y2="{_n(v[3])}" '
                f'stroke="{fill}" stroke-width="{_n(v[4])}"/>')
    if kind == "circle":
        return f'<circle cx="{_n(v[0])}" cy="{_n(v[1])}" r="{_n(v[2])}" fill="{fill}"/>'
    if kind == "ring":
        # Pillow's ellipse outline grows inwards from r; match that in SVG.
        return (f'<circle cx="256" cy="256" r="{_n(v[0] - v[1] / 2)}" fill="none" '
                f'stroke="{fill}" stroke-width="{_n(v[1])}"/>')
    return (f'<polygon points="256,256 {_n(v[0])},{_n(v[1])} {_n(v[2])},{_n(v[3])}" '
            f'fill="{fill}"/>')


def _n(value: float) -> str:
    """Short, stable number formatting for SVG (no '-0', at most 2 decimals)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
