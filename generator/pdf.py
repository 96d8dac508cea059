"""Printable PDFs for an award: a certificate (A4/Letter) and a pocket card (business card/A6).

Why our own small writer instead of a PDF library: the project adds no dependency for two
one-page layouts, and the output must be reproducible byte for byte (no /CreationDate, an /ID
derived from the content, objects in a fixed order).

How things are drawn:
* The QR code is vector: one path of rectangles (horizontal runs of dark modules) filled once,
  on a white quiet zone — ISO/IEC 18004, quiet zone: "This is a region 4X wide which shall be
  free of all other markings, surrounding the symbol on all four sides." One fill,
  not one per module, so viewers draw no hairline seams between modules.
* Text is set with the bundled DejaVu Sans through Pillow (the same shaping as everywhere
  else, Arabic included) and placed as an image at 300–600 dpi whose soft mask is the glyph
  coverage, so it is crisp in print and transparent over the page. Over each line lies the
  same text, invisible (render mode 3), in a non-embedded font whose /ToUnicode map gives
  the real characters: copy, search, screen readers and `pdftotext` get the Unicode string,
  e.g. the verification URL. Embedding the TrueType font and drawing real glyphs would need
  glyph ids after shaping, which Pillow does not expose.
* Badge PNGs become an RGB image XObject plus a soft mask for their alpha channel.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import unicodedata
import weakref
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from generator.qr import QUIET_ZONE, dark_runs
from generator.artwork import (RGB, load_font, parse_colour, prepare_line, truncate_lines,
                               visual_order)

QrMatrix = Sequence[Sequence[bool]]
Style = Literal["heading", "name", "body", "small"]
Line = str | tuple[str, Style]
PageName = Literal["A4", "A4-landscape", "Letter", "Letter-landscape"]
CardSize = Literal["business-card", "A6"]

MM = 72 / 25.4
PAGES: dict[str, tuple[float, float]] = {
    "A4": (210 * MM, 297 * MM), "A4-landscape": (297 * MM, 210 * MM),
    "Letter": (612.0, 792.0), "Letter-landscape": (792.0, 612.0),
}
CARDS: dict[str, tuple[float, float]] = {
    "business-card": (85 * MM, 55 * MM),  # the common European size
    "A6": (148 * MM, 105 * MM),           # landscape
}
INK: RGB = (28, 28, 30)
MUTED: RGB = (80, 80, 86)
DEFAULT_ACCENT = "#1f4e79"
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_MIN_SCALE = 0.5


@dataclass(frozen=True)
class _TextStyle:
    size: float       # pt
    bold: bool
    colour: RGB
    space_before: float  # pt


# --- public API -----------------------------------------------------------------------------

def certificate_pdf(title: str, lines: Sequence[Line], qr_matrix: QrMatrix,
                    badge_png: bytes | None = None, *, qr_caption: str = "",
                    page: PageName = "A4-landscape", lang: str | None = None,
                    accent: str = DEFAULT_ACCENT) -> bytes:
    """A one-page certificate: badge image, `title`, then `lines`, and the QR bottom right.

    A line is a string (body text) or `(text, style)` with style "heading", "name", "body" or
    "small", e.g. `["Uitgereikt aan", ("Zeynep Çelik", "name"), "op 12 maart 2026"]`.
    `qr_matrix` is the QR code's modules (rows of booleans, True = dark) without quiet zone;
    `qr_caption` is printed beside it (e.g. the verification URL). Text that does not fit is
    shrunk, then cut with "…". Raises ValueError for a bad page, colour, language, matrix or PNG.
    """
    if page not in PAGES:
        raise ValueError(f"page must be one of {', '.join(PAGES)}, got {page!r}")
    width, height = PAGES[page]
    accent_rgb = parse_colour(accent)
    canvas = _Canvas(width, height, dpi=300)
    canvas.frame(accent_rgb)
    margin = 28 * MM if width > height else 24 * MM
    qr_size = 34 * MM
    qr_x, qr_y = width - margin - qr_size + 6 * MM, margin - 6 * MM
    canvas.qr(qr_matrix, qr_x, qr_y, qr_size)
    if qr_caption:
        caption_width = qr_x - margin - 8 * MM
        canvas.column([(qr_caption, "small")], _certificate_styles(accent_rgb), margin - 6 * MM,
                      qr_y, caption_width, qr_size, align="right", valign="bottom")
    top = height - margin
    if badge_png is not None:
        badge = 32 * MM
        canvas.image(badge_png, (width - badge) / 2, top - badge, badge)
        top -= badge + 6 * MM
    items: list[tuple[str, Style]] = [(title, "heading")] + [_normalise(line) for line in lines]
    bottom = qr_y + qr_size + 4 * MM
    canvas.column(items, _certificate_styles(accent_rgb), margin, bottom, width - 2 * margin,
                  top - bottom, align="center", valign="center")
    return canvas.to_pdf(title, lang)


def card_pdf(name: str, lines: Sequence[str], qr_matrix: QrMatrix,
             size: CardSize = "business-card", *, badge_png: bytes | None = None,
             qr_caption: str = "", lang: str | None = None,
             accent: str = DEFAULT_ACCENT) -> bytes:
    """A one-page pocket card: `name` in bold, `lines` below, the QR code on the right.

    `size` is "business-card" (85 × 55 mm) or "A6" (148 × 105 mm, landscape); the optional
    badge image sits above the name. Same matrix, caption and error rules as certificate_pdf.
    """
    if size not in CARDS:
        raise ValueError(f"size must be one of {', '.join(CARDS)}, got {size!r}")
    width, height = CARDS[size]
    scale = width / CARDS["business-card"][0]
    accent_rgb = parse_colour(accent)
    canvas = _Canvas(width, height, dpi=600)
    canvas.rect(0, 0, 2.2 * MM * scale, height, accent_rgb)
    margin = 4.5 * MM * scale
    caption_space = 4 * MM * scale if qr_caption else 0
    qr_size = min(height - 2 * margin + 3 * MM * scale - caption_space, 33 * MM * scale)
    qr_x = width - margin - qr_size + 2.5 * MM * scale  # the quiet zone may sit in the margin
    qr_y = (height - qr_size + caption_space) / 2
    canvas.qr(qr_matrix, qr_x, qr_y, qr_size)
    styles = _card_styles(accent_rgb, scale)
    if qr_caption:
        canvas.column([(qr_caption, "small")], styles, qr_x, margin * 0.6, qr_size,
                      qr_y - margin * 0.6, align="center", valign="top")
    left = margin + 1.5 * MM * scale
    text_width = qr_x - left - 1 * MM * scale
    top = height - margin
    if badge_png is not None:
        badge = 12 * MM * scale
        canvas.image(badge_png, left, top - badge, badge)
        top -= badge + 2 * MM * scale
    items: list[tuple[str, Style]] = [(name, "name")] + [(line, "body") for line in lines]
    canvas.column(items, styles, left, margin, text_width, top - margin, align="left",
                  valign="top" if badge_png is not None else "center")
    return canvas.to_pdf(name, lang)


def _normalise(line: Line) -> tuple[str, Style]:
    if isinstance(line, str):
        return line, "body"
    text, style = line
    if style not in ("heading", "name", "body", "small"):
        raise ValueError(f"unknown line style {style!r}; use heading, name, body or small")
    return text, style


def _certificate_styles(accent: RGB) -> dict[str, _TextStyle]:
    return {"heading": _TextStyle(30, True, accent, 0), "name": _TextStyle(34, True, INK, 14),
            "body": _TextStyle(15, False, INK, 8), "small": _TextStyle(9, False, MUTED, 4)}


def _card_styles(accent: RGB, scale: float) -> dict[str, _TextStyle]:
    return {"heading": _TextStyle(11 * scale, True, accent, 0),
            "name": _TextStyle(11 * scale, True, INK, 0),
            "body": _TextStyle(7.5 * scale, False, INK, 2.5 * scale),
            "small": _TextStyle(5.5 * scale, False, MUTED, 0)}


# --- page content ---------------------------------------------------------------------------

class _Canvas:
    """One page being drawn: a content stream plus the image XObjects it uses."""

    def __init__(self, width: float, height: float, dpi: int):
        self.width, self.height, self.dpi = width, height, dpi
        self.ops: list[str] = []
        self.images: list[tuple[Image.Image, Image.Image | None]] = []  # (RGB, alpha)
        self.fonts: list[dict[str, int]] = []  # character → one-byte code, per hidden font

    def rect(self, x: float, y: float, w: float, h: float, colour: RGB) -> None:
        """A filled rectangle."""
        self.ops.append(f"q {_rgb(colour)} rg {_n(x)} {_n(y)} {_n(w)} {_n(h)} re f Q")

    def frame(self, accent: RGB) -> None:
        """A certificate's double border: a strong accent rule and a fine one inside it."""
        w, h = self.width, self.height
        self.ops.append(f"q {_rgb(accent)} RG 2.5 w {_n(10 * MM)} {_n(10 * MM)} "
                        f"{_n(w - 20 * MM)} {_n(h - 20 * MM)} re S "
                        f"0.6 w {_n(12.5 * MM)} {_n(12.5 * MM)} {_n(w - 25 * MM)} "
                        f"{_n(h - 25 * MM)} re S Q")

    def qr(self, matrix: QrMatrix, x: float, y: float, size: float) -> None:
        """The QR code as vector rectangles, quiet zone included, in a `size` pt square."""
        rows = _check_matrix(matrix)
        count = len(rows) + 2 * QUIET_ZONE
        module = size / count
        # In module units (one module = 1, row 0 at the top): whole numbers, drawn through
        # a transformation to the symbol's place on the page.
        path = [f"{start} {r} {length} 1 re" for r, start, length in dark_runs(rows)]
        self.ops.append(f"q 1 1 1 rg {_n(x)} {_n(y)} {_n(size)} {_n(size)} re f "
                        f"0 0 0 rg {_n(module)} 0 0 {_n(-module)} "
                        f"{_n(x + QUIET_ZONE * module)} {_n(y + size - QUIET_ZONE * module)} cm\n"
                        + "\n".join(path) + "\nf Q")

    def image(self, png: bytes, x: float, y: float, box: float) -> None:
        """A PNG scaled to fit a `box` pt square (centred), its alpha kept as a soft mask."""
        rgb, alpha = _prepared_picture(png, max(1, round(box / 72 * self.dpi)))
        w_pt = box * rgb.width / max(rgb.size)
        h_pt = box * rgb.height / max(rgb.size)
        self._place(rgb, alpha, x + (box - w_pt) / 2, y + (box - h_pt) / 2, w_pt, h_pt)

    def text_line(self, line: str, style: _TextStyle, x: float, baseline: float,
                  align: str, width: float) -> None:
        """One line of text: an image of the glyphs plus invisible text for extraction."""
        px = max(4, round(style.size / 72 * self.dpi))
        drawn = _LINES.get(line, px, style.bold, style.colour)
        if drawn is None:
            return
        solid, coverage, left, bottom, advance_px = drawn
        unit = 72 / self.dpi
        advance = advance_px * unit
        start = {"left": x, "center": x + (width - advance) / 2, "right": x + width - advance}
        x0 = start[align] + (left - 1) * unit
        y0 = baseline - (bottom + 1) * unit
        self._place(solid, coverage, x0, y0, coverage.width * unit, coverage.height * unit)
        # Extractors (poppler, pdf.js) rebuild right-to-left text from visual order; for
        # left-to-right text visual order is the text itself.
        self._hidden_text(visual_order(unicodedata.normalize("NFC", line)), start[align],
                          baseline, style.size, advance)

    def _hidden_text(self, line: str, x: float, baseline: float, size: float,
                     advance: float) -> None:
        """Invisible text over a line's image, stretched to the image's width, for extraction.

        Characters get one-byte codes in fonts of at most 255 characters each (/F1, /F2 …);
        the fonts' /ToUnicode maps turn the codes back into the text.
        """
        runs: list[tuple[int, list[int]]] = []
        for ch in line:
            font, code = self._code_for(ch)
            if runs and runs[-1][0] == font:
                runs[-1][1].append(code)
            else:
                runs.append((font, [code]))
        natural = sum(_glyph_width(ch) for ch in line) / 1000 * size
        stretch = 100 * advance / natural if natural else 100
        ops = [f"BT 3 Tr {_n(stretch)} Tz 1 0 0 1 {_n(x)} {_n(baseline)} Tm"]
        for font, codes in runs:
            ops.append(f"/F{font + 1} {_n(size)} Tf <{bytes(codes).hex().upper()}> Tj")
        self.ops.append(" ".join(ops) + " ET")

    def _code_for(self, ch: str) -> tuple[int, int]:
        for index, codes in enumerate(self.fonts):
            if ch in codes:
                return index, codes[ch]
        if not self.fonts or len(self.fonts[-1]) == 255:
            self.fonts.append({})
        codes = self.fonts[-1]
        codes[ch] = len(codes) + 1  # code 0 stays unused
        return len(self.fonts) - 1, codes[ch]

    def column(self, items: Sequence[tuple[str, Style]], styles: dict[str, _TextStyle],
               x: float, y: float, width: float, height: float, align: str,
               valign: str) -> None:
        """Wrap `items` into the box (x, y, width, height), shrinking text until it fits."""
        scale = 1.0
        while True:
            laid = _wrap_items(items, styles, width, scale, self.dpi)
            total = sum(style.space_before * scale + style.size * scale * 1.25
                        for _, style in laid)
            if total <= height or scale <= _MIN_SCALE:
                break
            scale = max(_MIN_SCALE, scale * 0.9)
        while laid and total > height:  # still too long at the smallest size: drop the end
            _, style = laid.pop()
            total -= style.space_before * scale + style.size * scale * 1.25
        offset = {"top": 0, "center": (height - total) / 2, "bottom": height - total}[valign]
        cursor = y + height - offset
        for i, (line, style) in enumerate(laid):
            size = style.size * scale
            if i:
                cursor -= style.space_before * scale
            cursor -= size * 1.25
            scaled = _TextStyle(size, style.bold, style.colour, 0)
            self.text_line(line, scaled, x, cursor + size * 0.3, align, width)

    def _place(self, rgb: Image.Image, alpha: Image.Image | None, x: float, y: float,
               w: float, h: float) -> None:
        self.images.append((rgb, alpha))
        self.ops.append(f"q {_n(w)} 0 0 {_n(h)} {_n(x)} {_n(y)} cm /Im{len(self.images)} Do Q")

    def to_pdf(self, title: str, lang: str | None) -> bytes:
        """The finished one-page document."""
        if lang is not None and not _LANG.match(lang):
            raise ValueError(f"lang must be a BCP 47 tag such as 'nl' or 'en-GB', got {lang!r}")
        return _write_pdf(self.width, self.height, "\n".join(self.ops).encode("ascii"),
                          self.images, self.fonts, title, lang)


def _wrap_items(items: Sequence[tuple[str, Style]], styles: dict[str, _TextStyle],
                width: float, scale: float, dpi: int) -> list[tuple[str, _TextStyle]]:
    laid: list[tuple[str, _TextStyle]] = []
    for text, style_name in items:
        style = styles[style_name]
        px = max(4, round(style.size * scale / 72 * dpi))
        width_px = width / 72 * dpi
        max_lines = 2 if style_name in ("heading", "name") else 4
        for i, line in enumerate(truncate_lines(" ".join(text.split()), px, style.bold,
                                                width_px, max_lines)):
            laid.append((line, style if i == 0 else _TextStyle(style.size, style.bold,
                                                               style.colour, 0)))
    return laid


class _LineImages:
    """Drawn lines kept for reuse, within a memory budget.

    On a large site most certificate lines ("Uitgereikt aan", each badge's name and
    description) repeat from award to award, and reusing the same Image objects also lets
    `_image_object` reuse their compressed streams. A line image at print resolution is
    ~0.1 MB, so what is kept is bounded: a line is kept only when it is drawn a second time
    within the last `WINDOW` lines (a learner's name or an issue date is not, and would only
    push out the lines that do repeat), and the least recently used go first once the
    images kept exceed `BUDGET` bytes. The images are never modified."""

    WINDOW = 512
    BUDGET = 12_000_000

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple, tuple] = OrderedDict()
        self._bytes = 0
        self._recent: OrderedDict[tuple, None] = OrderedDict()

    def get(self, line: str, px: int, bold: bool, colour: RGB
            ) -> tuple[Image.Image, Image.Image, int, int, float] | None:
        key = (line, px, bold, colour)
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
            return found
        drawn = _draw_line(line, px, bold, colour)
        if key in self._recent:
            del self._recent[key]
            if drawn is not None:
                self._keep(key, drawn)
        else:
            self._recent[key] = None
            if len(self._recent) > self.WINDOW:
                self._recent.popitem(last=False)
        return drawn

    def _keep(self, key: tuple, drawn: tuple) -> None:
        size = drawn[1].width * drawn[1].height
        self._kept[key] = drawn
        self._bytes += size
        while self._bytes > self.BUDGET and len(self._kept) > 1:
            _, (_, old, *_rest) = self._kept.popitem(last=False)
            self._bytes -= old.width * old.height


_LINES = _LineImages()


def _draw_line(line: str, px: int, bold: bool, colour: RGB
               ) -> tuple[Image.Image, Image.Image, int, int, float] | None:
    """(solid colour, glyph coverage, left, bottom, advance) of one line at `px`, or None
    for a blank line."""
    shown, font = prepare_line(line, px, bold)
    if not shown.strip():
        return None
    ascent, descent = font.getmetrics()
    left, top, right, bottom = font.getbbox(shown, anchor="ls")
    left, top = min(left, 0), min(top, -ascent)
    right, bottom = max(right, math.ceil(font.getlength(shown))), max(bottom, descent)
    coverage = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(coverage).text((1 - left, 1 - top), shown, font=font, fill=255,
                                  anchor="ls")
    # The colour is one pixel stretched over the line: a soft mask may have other
    # dimensions than its image (ISO 32000-1 §11.6.5.3; only with /Matte must they match),
    # and a full-size solid image would triple what each line costs to compress.
    solid = Image.new("RGB", (1, 1), colour)
    return solid, coverage, left, bottom, font.getlength(shown)


def _check_matrix(matrix: QrMatrix) -> list[list[bool]]:
    rows = [list(row) for row in matrix]
    if not rows or any(len(row) != len(rows) for row in rows):
        raise ValueError("qr_matrix must be a non-empty square of rows of booleans")
    if any(not isinstance(cell, bool) for row in rows for cell in row):
        raise ValueError("qr_matrix cells must be True (dark) or False (light)")
    return rows


@lru_cache(maxsize=64)
def _prepared_picture(png: bytes, limit: int) -> tuple[Image.Image, Image.Image | None]:
    """Decoded and downscaled once per badge image: every certificate of a badge reuses it
    (decode + resize + compress is most of a certificate's cost)."""
    picture = _load_png(png)
    if max(picture.size) > limit:  # no point storing more pixels than print resolution
        picture = ImageOps.contain(picture, (limit, limit), Image.Resampling.LANCZOS)
    alpha = picture.getchannel("A")
    return picture.convert("RGB"), None if alpha.getextrema() == (255, 255) else alpha


# Encoded image streams of the kept pictures and line images, by object identity. An entry
# refers to its image weakly and goes with it, so this keeps no image alive (the kept line
# images are bounded by `_LineImages`); the check `ref() is image` guards against an id
# reused by a new image before the callback ran.
_ENCODED: dict[tuple[int, str, str], tuple[weakref.ref, bytes]] = {}


def _load_png(data: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise ValueError(f"badge image is {image.format}, not PNG")
            return image.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"badge image does not decode as PNG ({exc})") from None


# --- PDF file -------------------------------------------------------------------------------

def _write_pdf(width: float, height: float, content: bytes,
               images: list[tuple[Image.Image, Image.Image | None]],
               fonts: list[dict[str, int]], title: str, lang: str | None) -> bytes:
    """Serialise one page: catalog, pages, page, content, info, then images and fonts."""
    objects: list[bytes] = [b""] * 5  # 1 catalog, 2 pages, 3 page, 4 content, 5 info
    names = []
    for number, (rgb, alpha) in enumerate(images, start=1):
        smask = ""
        if alpha is not None:
            # A text line (one pixel of colour under its glyph coverage) is mostly unique to
            # its document — a name, an address — where zlib level 6 takes 3× the time of
            # level 3 for ~15 % fewer bytes; badge pictures are compressed once per build.
            level = 3 if rgb.size == (1, 1) else 6
            objects.append(_image_object(alpha, "/DeviceGray", "", level))
            smask = f" /SMask {len(objects)} 0 R"
        objects.append(_image_object(rgb, "/DeviceRGB", smask))
        names.append(f"/Im{number} {len(objects)} 0 R")
    font_names = []
    for number, codes in enumerate(fonts, start=1):
        objects.append(_stream("", _to_unicode(codes)))
        objects.append(_font_object(codes, len(objects)))
        font_names.append(f"/F{number} {len(objects)} 0 R")
    lang_entry = f" /Lang ({lang})" if lang else ""
    objects[0] = (f"<< /Type /Catalog /Pages 2 0 R{lang_entry} "
                  f"/ViewerPreferences << /DisplayDocTitle true >> >>").encode()
    objects[1] = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    objects[2] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_n(width)} {_n(height)}] "
                  f"/Contents 4 0 R /Resources << /XObject << {' '.join(names)} >> "
                  f"/Font << {' '.join(font_names)} >> >> "
                  f"/Group << /S /Transparency /CS /DeviceRGB >> >>").encode()
    objects[3] = _stream("", content)
    objects[4] = (f"<< /Title {_text_string(title)} /Producer (Rugzak) >>").encode()
    return _assemble(objects)


def _image_object(image: Image.Image, colour_space: str, extra: str, level: int = 6) -> bytes:
    key = (id(image), colour_space, extra)
    found = _ENCODED.get(key)
    if found is not None and found[0]() is image:
        return found[1]
    encoded = _stream(f"/Type /XObject /Subtype /Image /Width {image.width} "
                      f"/Height {image.height} /ColorSpace {colour_space} /BitsPerComponent 8"
                      f"{extra}", image.tobytes(), level)
    _ENCODED[key] = (weakref.ref(image, lambda _, key=key: _ENCODED.pop(key, None)), encoded)
    return encoded


def _font_object(codes: dict[str, int], to_unicode: int) -> bytes:
    """A non-embedded font for invisible text: only its widths and /ToUnicode matter."""
    ordered = sorted(codes, key=codes.get)
    names = " ".join("/" + _glyph_name(ch) for ch in ordered)
    widths = " ".join(str(_glyph_width(ch)) for ch in ordered)
    return (f"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /FirstChar 1 "
            f"/LastChar {len(ordered)} /Widths [{widths}] "
            f"/Encoding << /Type /Encoding /Differences [1 {names}] >> "
            f"/ToUnicode {to_unicode} 0 R >>").encode()


def _to_unicode(codes: dict[str, int]) -> bytes:
    """A ToUnicode CMap (PDF 1.7 §9.10.3) from one-byte codes to UTF-16BE."""
    pairs = [f"<{code:02X}> <{ch.encode('utf-16-be').hex().upper()}>"
             for ch, code in sorted(codes.items(), key=lambda item: item[1])]
    blocks = []
    for i in range(0, len(pairs), 100):  # "at most 100 entries" per bfchar block
        chunk = pairs[i:i + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<00> <FF>\nendcodespacerange\n" + "\n".join(blocks) +
            "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
            ).encode("ascii")


def _glyph_name(ch: str) -> str:
    """Adobe Glyph List style name ("uni0141", "u1F600"): a fallback for readers that ignore
    /ToUnicode."""
    code = ord(ch)
    return f"uni{code:04X}" if code <= 0xFFFF else f"u{code:05X}"


@lru_cache(maxsize=4096)
def _glyph_width(ch: str) -> int:
    """DejaVu Sans advance of `ch` in 1/1000 em, so the hidden text spans the visible line."""
    return round(load_font(1000).getlength(ch))


def _stream(entries: str, data: bytes, level: int = 6) -> bytes:
    packed = zlib.compress(data, level)  # level 9 is 3× slower for 4 % smaller files
    head = f"<< {entries} /Length {len(packed)} /Filter /FlateDecode >>".replace("<<  ", "<< ")
    return head.encode() + b"\nstream\n" + packed + b"\nendstream"


def _assemble(objects: list[bytes]) -> bytes:
    """Header, numbered objects, cross-reference table and trailer with byte offsets."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")  # binary comment: "this file is binary"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    # No timestamps anywhere, and the file identifier is a hash of the content (PDF 1.7
    # §14.4: the ID "should" be computed from, among others, the file's contents).
    file_id = hashlib.sha256(bytes(out)).hexdigest()[:32]
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset  # each entry exactly 20 bytes
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 5 0 R "
            f"/ID [<{file_id}> <{file_id}>] >>\nstartxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


def _text_string(text: str) -> str:
    """A PDF text string: UTF-16BE with byte order mark, as hex (no escaping pitfalls)."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _rgb(colour: RGB) -> str:
    return " ".join(_n(c / 255) for c in colour)


def _n(value: float) -> str:
    """Compact, stable number formatting: 3 decimals at most, no '-0'."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
