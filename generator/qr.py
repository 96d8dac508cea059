"""QR codes for the URLs printed on posters and cards at job fairs.

One module matrix per text, computed once (`qr_matrix`) and drawn twice: as a compact SVG for
inline use in pages and as a small PNG for print and download. Everything here is a pure
function of its arguments, so results can be cached by a hash of the text.

qrcode's encoder is deterministic: it fits the smallest version by a table lookup and picks the
mask by trying all eight in order and keeping the first with the lowest penalty score, with no
randomness, clock or hash-ordered iteration involved (tests check this across processes).
"""

from __future__ import annotations

import re
import struct
import zlib
from functools import lru_cache
from html import escape

import qrcode
from qrcode import util
from qrcode.constants import ERROR_CORRECT_M, ERROR_CORRECT_Q
from qrcode.exceptions import DataOverflowError
from qrcode.main import precomputed_qr_blanks

Matrix = tuple[tuple[bool, ...], ...]

# ISO/IEC 18004 §7.3.7: "The quiet zone shall be free of all other markings, its width shall be
# 4X" (X = module width). It is drawn by the renderers below, never stored in the matrix.
QUIET_ZONE = 4
# Beyond version 10 (57 × 57 modules) a code printed a few centimetres wide gets hard to scan
# from a phone at arm's length; such long URLs are a content error, not something to render.
MAX_VERSION = 10


@lru_cache(maxsize=64)  # SVG, PNG and qr_version of one page reuse the matrix
def qr_matrix(text: str) -> Matrix:
    """The dark (True) / light modules of the QR code for `text`, without the quiet zone.

    Uses the smallest version that holds `text` at error correction level M, and level Q
    instead when it still fits in that same version (more damage tolerance at no size cost).
    Raises ValueError for empty text or text that would need a version above 10.
    """
    if not text:
        raise ValueError("cannot make a QR code of empty text")
    version = _smallest_version(text, ERROR_CORRECT_M)
    if version > MAX_VERSION:
        raise ValueError(f"text of {len(text.encode())} bytes needs QR version {version}; "
                         f"the limit is {MAX_VERSION} — use a shorter URL")
    level = ERROR_CORRECT_Q if _smallest_version(text, ERROR_CORRECT_Q) == version \
        else ERROR_CORRECT_M
    code = _new_code(text, level)
    code.version = version
    return tuple(tuple(bool(module) for module in row) for row in _masked_modules(code))


# --- mask selection ---------------------------------------------------------------------------
#
# ISO/IEC 18004 §7.8.2: the encoder applies each of the eight mask patterns and keeps the one
# with the lowest penalty (N1 runs, N2 2×2 blocks, N3 finder-like patterns, N4 dark share).
# qrcode does this by placing all data eight times and scoring in pure Python (~7 ms); here
# the data is placed once, each mask is an XOR of per-row bit masks, and the score is
# computed with integer and regular-expression operations — the same score as qrcode's
# `util.lost_point` (which, like the library, sees the format information as light modules
# while choosing), hence the same mask and the same symbol (checked by the tests).

_RUNS = re.compile(r"0{5,}|1{5,}")
_FINDER_LIKE = re.compile(r"(?=10111010000|00001011101)")


def _masked_modules(code: qrcode.QRCode) -> list[list[bool]]:
    code.makeImpl(True, 0)  # data placed with mask 0, format information light
    size = code.modules_count
    first = [_row_bits(row) for row in code.modules]
    masks = _data_masks(code.version, size, tuple(
        tuple(cell is None for cell in row) for row in precomputed_qr_blanks[code.version]))
    best, best_score = 0, -1
    for pattern in range(8):
        rows = [bits ^ masks[0][r] ^ masks[pattern][r] for r, bits in enumerate(first)]
        score = penalty(rows, size)
        if best_score < 0 or score < best_score:
            best, best_score = pattern, score
    rows = [bits ^ masks[0][r] ^ masks[best][r] for r, bits in enumerate(first)]
    code.modules = [[bool(bits >> (size - 1 - c) & 1) for c in range(size)] for bits in rows]
    code.setup_type_info(False, best)  # now the real format (and version) information
    if code.version >= 7:
        code.setup_type_number(False)
    code.mask_pattern = best
    return code.modules


def _row_bits(row: list[bool | None]) -> int:
    value = 0
    for cell in row:
        value = value << 1 | bool(cell)
    return value


@lru_cache(maxsize=16)
def _data_masks(version: int, size: int, free: tuple[tuple[bool, ...], ...]
                ) -> tuple[tuple[int, ...], ...]:
    """Per mask pattern, per row: the bits the pattern flips, on data modules only (`free`
    in the blank symbol, minus the format and version information areas)."""
    reserved = _information_areas(version, size)
    masks = []
    for pattern in range(8):
        flip = util.mask_func(pattern)
        masks.append(tuple(_row_bits([free[r][c] and (r, c) not in reserved and flip(r, c)
                                      for c in range(size)]) for r in range(size)))
    return tuple(masks)


def _information_areas(version: int, size: int) -> frozenset[tuple[int, int]]:
    """Modules of the format (and version) information, found by letting qrcode draw them."""
    probe = qrcode.QRCode(version=version, border=0)
    probe.modules_count = size
    probe.modules = [[None] * size for _ in range(size)]
    probe.setup_type_info(True, 0)
    if version >= 7:
        probe.setup_type_number(True)
    return frozenset((r, c) for r in range(size) for c in range(size)
                     if probe.modules[r][c] is not None)


def penalty(rows: list[int], size: int) -> int:
    """ISO/IEC 18004 §7.8.3 penalty of a symbol given as one integer per row (bit size-1 is
    column 0, 1 = dark), scored exactly as qrcode's `util.lost_point`."""
    lines = [format(bits, f"0{size}b") for bits in rows]
    # every row and column in one text, separated so no run or pattern spans two of them
    text = "|".join(lines) + "|" + "|".join(map("".join, zip(*lines)))
    runs = _RUNS.findall(text)
    score = sum(map(len, runs)) - 2 * len(runs)  # N1: 3 for five in a row, +1 per module
    score += 40 * len(_FINDER_LIKE.findall(text))  # N3
    full, pairs = (1 << size) - 1, (1 << (size - 1)) - 1
    for upper, lower in zip(rows, rows[1:]):
        same = ~(upper ^ lower) & full  # module equals the one below it
        level = ~(upper ^ (upper >> 1)) & pairs  # module equals its neighbour
        score += 3 * (same & (same >> 1) & level).bit_count()  # N2, per 2×2 block
    dark = sum(bits.bit_count() for bits in rows)
    score += int(abs(float(dark) / size ** 2 * 100 - 50) / 5) * 10  # N4
    return score


def qr_version(text: str) -> int:
    """The QR version (1–10) `qr_matrix` uses for `text`: a version-v code is 4v + 17 wide."""
    return (len(qr_matrix(text)) - 17) // 4


def _new_code(text: str, level: int) -> qrcode.QRCode:
    code = qrcode.QRCode(version=None, error_correction=level, border=0)
    # optimize=20: runs of 20+ digits or upper-case URL characters get the denser numeric or
    # alphanumeric mode, everything else byte mode (UTF-8); lower-case URLs stay in byte mode.
    code.add_data(text, optimize=20)
    return code


def _smallest_version(text: str, level: int) -> int:
    try:
        return _new_code(text, level).best_fit()
    except DataOverflowError:
        return 41  # does not fit even version 40


def dark_runs(matrix: Matrix) -> list[tuple[int, int, int]]:
    """(row, first column, length) of every horizontal run of dark modules (no quiet zone);
    SVG paths and PDF rectangles are both drawn from these."""
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append((y, start, x - start))
    return runs


def qr_svg(matrix: Matrix, title: str) -> str:
    """A compact SVG of `matrix` with the quiet zone, for inlining in HTML5 or standalone use.

    One <path> draws every horizontal run of dark modules as one rectangle; a white rect is the
    background (the code must stay readable on dark page themes). No XML declaration, so it can
    be pasted into HTML; `xmlns` makes the same text a valid .svg file. No width/height: CSS
    or the container sizes it.
    """
    size = len(matrix) + 2 * QUIET_ZONE
    # Fill closes each subpath implicitly, so the trailing "z" is left out.
    runs = [f"M{x + QUIET_ZONE} {y + QUIET_ZONE}h{n}v1h-{n}" for y, x, n in dark_runs(matrix)]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
            f'role="img" shape-rendering="crispEdges"><title>{escape(title, quote=False)}'
            f'</title><rect width="{size}" height="{size}" fill="#fff"/>'
            f'<path fill="#000" d="{"".join(runs)}"/></svg>')


def qr_png(matrix: Matrix, scale: int = 8) -> bytes:
    """A 1-bit greyscale PNG of `matrix` with the quiet zone, `scale` pixels per module.

    Written by hand (signature, IHDR, one IDAT, IEND) so the bytes depend only on the matrix,
    the scale and zlib: no time stamps, no metadata chunks, no encoder version strings.
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1, not {scale}")
    modules = len(matrix) + 2 * QUIET_ZONE
    width = modules * scale
    row_bytes = (width + 7) // 8
    padding = row_bytes * 8 - width
    light = "1" * (QUIET_ZONE * scale)
    blank_row = b"\x00" + b"\xff" * row_bytes  # filter type 0, then all white pixels
    raw = [blank_row * (QUIET_ZONE * scale)]
    for row in matrix:
        # Greyscale bit depth 1: sample 0 is black, 1 is white.
        bits = light + "".join(("0" if dark else "1") * scale for dark in row) + light
        line = b"\x00" + int(bits + "1" * padding, 2).to_bytes(row_bytes, "big")
        raw.append(line * scale)
    raw.append(blank_row * (QUIET_ZONE * scale))
    # IHDR: width, height, bit depth 1, colour type 0 (greyscale), deflate, filter 0, no interlace.
    header = struct.pack(">IIBBBBB", width, width, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"".join(raw), 9)) + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    # PNG §5.3: length, type, data, then a CRC-32 "calculated on the preceding bytes in the
    # chunk, including the chunk type field and chunk data fields, but not the length field".
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data)))
