"""QR codes: size limits, error correction, quiet zone, determinism, and decoding by zxing."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import qrcode
from PIL import Image

from conftest import ROOT
from generator.qr import QUIET_ZONE, qr_matrix, qr_png, qr_svg, qr_version
from oracles import run_oracle

DEMO_URL = "https://badges.westpractice.nl/a/wp25-0001/"
SVG = "{http://www.w3.org/2000/svg}"
# Bases of up to 30 characters, as used for printed learner pages "<base>/p/<16-char slug>/".
PAGE_URLS = [
    "https://badges.example-org.nl" + "/p/abcdefghijklmnop/",
    "https://a.nl" + "/p/0123456789abcdef/",
    "http://127.0.0.1:8765/badges1" + "/p/zzzzzzzzzzzzzzzz/",
    "https://xn--bdges-bsa.example" + "/p/AbCdEfGhIjKlMnOp/",
]


def ec_level(matrix: tuple[tuple[bool, ...], ...]) -> str:
    """Error correction level read back from the format information beside the finders.

    ISO/IEC 18004 §7.9: 15 bits (2 level bits, 3 mask bits, 10 BCH bits) XOR 101010000010010;
    the level bits are 01 = L, 00 = M, 11 = Q, 10 = H. Copy read: column 8, rows 0-5, 7, 8
    (bits 0-7), then the bottom seven rows (bits 8-14).
    """
    n = len(matrix)
    rows = [0, 1, 2, 3, 4, 5, 7, 8] + list(range(n - 7, n))
    bits = sum(matrix[row][8] << i for i, row in enumerate(rows)) ^ 0b101010000010010
    return {0b01: "L", 0b00: "M", 0b11: "Q", 0b10: "H"}[bits >> 13]


def test_ec_level_reader_agrees_with_the_encoder() -> None:
    """The helper above is right (else the level tests below prove nothing)."""
    for constant, name in [(qrcode.ERROR_CORRECT_L, "L"), (qrcode.ERROR_CORRECT_M, "M"),
                           (qrcode.ERROR_CORRECT_Q, "Q"), (qrcode.ERROR_CORRECT_H, "H")]:
        code = qrcode.QRCode(error_correction=constant, border=0)
        code.add_data(DEMO_URL)
        code.make()
        assert ec_level(tuple(tuple(row) for row in code.modules)) == name


def test_demo_url_is_version_4_with_level_q() -> None:
    # 43 bytes: version 4 at M (62 bytes) and still at Q (46 bytes), so Q costs nothing.
    matrix = qr_matrix(DEMO_URL)
    assert qr_version(DEMO_URL) == 4
    assert len(matrix) == 33 and all(len(row) == 33 for row in matrix)
    assert ec_level(matrix) == "Q"


@pytest.mark.parametrize("url", PAGE_URLS)
def test_learner_page_urls_fit_version_4(url: str) -> None:
    assert len(url) <= 50
    assert qr_version(url) <= 4
    assert ec_level(qr_matrix(url)) in ("M", "Q")


def test_level_m_when_q_would_need_a_bigger_version() -> None:
    url = PAGE_URLS[0]  # 50 bytes: version 4 holds 62 at M but only 46 at Q
    assert (qr_version(url), ec_level(qr_matrix(url))) == (4, "M")


def test_upper_case_urls_use_the_denser_alphanumeric_mode() -> None:
    assert qr_version(DEMO_URL.upper()) < qr_version(DEMO_URL)


def test_too_long_or_empty_text_is_refused() -> None:
    with pytest.raises(ValueError, match="needs QR version 1[1-9].*limit is 10"):
        qr_matrix("https://badges.example.org/" + "a" * 200)
    assert qr_version("https://badges.example.org/" + "a" * 180) == 10
    with pytest.raises(ValueError, match="empty"):
        qr_matrix("")


def _library_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """What qrcode itself makes for the version and level qr_matrix chose (the reference)."""
    ours = qr_matrix(text)
    level = {"M": qrcode.constants.ERROR_CORRECT_M, "Q": qrcode.constants.ERROR_CORRECT_Q}[
        ec_level(ours)]
    code = qrcode.QRCode(version=qr_version(text), error_correction=level, border=0)
    code.add_data(text, optimize=20)
    code.make(fit=False)
    return tuple(tuple(bool(m) for m in row) for row in code.modules)


@pytest.mark.parametrize("seed", range(4))
def test_fast_mask_selection_gives_the_library_symbol(seed: int) -> None:
    import random
    rng = random.Random(seed)
    texts = [f"https://badges.example.org/a/{rng.getrandbits(40):x}/" for _ in range(25)]
    texts += ["".join(rng.choice("abcXYZ019/:.-é€ ") for _ in range(rng.randint(1, 90)))
              for _ in range(25)]
    texts += [f"HTTPS://BADGES.EXAMPLE.ORG/A/{rng.getrandbits(100)}/" for _ in range(5)]
    texts += ["x" * 210]  # version 10 at level M: about the largest we make
    for text in texts:
        assert qr_matrix(text) == _library_matrix(text), text


def test_penalty_equals_the_library_score_on_any_symbol() -> None:
    import random
    from qrcode import util
    from generator.qr import _row_bits, penalty
    rng = random.Random(5)
    for _ in range(200):
        size = rng.choice([21, 25, 33, 45, 57])
        share = rng.choice([0.1, 0.35, 0.5, 0.65, 0.9])
        modules = [[rng.random() < share for _ in range(size)] for _ in range(size)]
        assert penalty([_row_bits(row) for row in modules], size) == util.lost_point(modules)


def test_matrix_has_no_quiet_zone() -> None:
    """The finder pattern's dark outer ring touches the matrix edges."""
    matrix = qr_matrix(DEMO_URL)
    n = len(matrix)
    for top, left in [(0, 0), (0, n - 7), (n - 7, 0)]:
        assert all(matrix[top][left + i] and matrix[top + i][left] for i in range(7))


def test_png_pixels_match_the_matrix_inside_a_white_quiet_zone() -> None:
    matrix = qr_matrix(DEMO_URL)
    scale = 8
    png = qr_png(matrix, scale)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "1"
    size = (len(matrix) + 2 * QUIET_ZONE) * scale
    assert image.size == (size, size)
    pixels = image.convert("L").load()
    margin = QUIET_ZONE * scale
    for i in range(size):
        for j in list(range(margin)) + list(range(size - margin, size)):
            assert pixels[i, j] == 255 and pixels[j, i] == 255
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            centre = margin + x * scale + scale // 2, margin + y * scale + scale // 2
            assert pixels[centre] == (0 if dark else 255)


def test_png_has_only_the_critical_chunks() -> None:
    png = qr_png(qr_matrix(DEMO_URL))
    kinds, offset = [], 8
    while offset < len(png):
        length = int.from_bytes(png[offset:offset + 4], "big")
        kinds.append(png[offset + 4:offset + 8])
        offset += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]


def test_png_scale_must_be_positive() -> None:
    with pytest.raises(ValueError):
        qr_png(qr_matrix(DEMO_URL), 0)


def svg_modules(svg: str) -> tuple[int, set[tuple[int, int]]]:
    """viewBox size and the dark module coordinates drawn by the one <path>."""
    root = ET.fromstring(svg)
    size = int(root.get("viewBox").split()[2])
    dark = set()
    for x, y, width in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3", root.find(SVG + "path").get("d")):
        dark |= {(int(x) + i, int(y)) for i in range(int(width))}
    return size, dark


def test_svg_structure() -> None:
    svg = qr_svg(qr_matrix(DEMO_URL), 'QR code: "Lassen" <basis> & meer')
    assert svg.startswith("<svg ") and "<?xml" not in svg
    root = ET.fromstring(svg)  # also proves it is a valid standalone document (xmlns)
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img" and root.get("shape-rendering") == "crispEdges"
    assert root[0].tag == SVG + "title" and root[0].text == 'QR code: "Lassen" <basis> & meer'
    assert [child.tag for child in root] == [SVG + "title", SVG + "rect", SVG + "path"]
    size = len(qr_matrix(DEMO_URL)) + 2 * QUIET_ZONE
    assert root.get("viewBox") == f"0 0 {size} {size}"
    assert root[1].attrib == {"width": str(size), "height": str(size), "fill": "#fff"}


def test_svg_draws_exactly_the_dark_modules_inside_the_quiet_zone() -> None:
    matrix = qr_matrix(DEMO_URL)
    size, dark = svg_modules(qr_svg(matrix, "QR"))
    assert size == len(matrix) + 8
    assert dark == {(x + QUIET_ZONE, y + QUIET_ZONE)
                    for y, row in enumerate(matrix) for x, on in enumerate(row) if on}


def test_svg_merges_horizontal_runs() -> None:
    matrix = qr_matrix(DEMO_URL)
    svg = qr_svg(matrix, "QR")
    runs = sum(1 for row in matrix for x, on in enumerate(row) if on and (x == 0 or not row[x - 1]))
    assert svg.count("M") == runs
    assert len(svg) < 4500  # ~3.8 kB for version 4


def test_output_is_deterministic_across_processes() -> None:
    """Same bytes from fresh interpreters with different hash seeds (and without the cache)."""
    code = ("import hashlib; from generator.qr import *; m = qr_matrix.__wrapped__(%r); "
            "print(hashlib.sha256(qr_png(m) + qr_svg(m, 'QR').encode()).hexdigest())" % DEMO_URL)
    digests = set()
    for seed in ("0", "1", "12345"):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                cwd=ROOT, env=dict(os.environ, PYTHONHASHSEED=seed), check=True)
        digests.add(result.stdout.strip())
    matrix = qr_matrix.__wrapped__(DEMO_URL)
    digests.add(hashlib.sha256(qr_png(matrix) + qr_svg(matrix, "QR").encode()).hexdigest())
    assert len(digests) == 1


@pytest.fixture(scope="module")
def decoded_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """URL → PNG, SVG and the PNG scaled down to 100 × 100 px (Lanczos and nearest)."""
    folder = tmp_path_factory.mktemp("qr")
    files: dict[str, list[Path]] = {}
    for n, url in enumerate([DEMO_URL, PAGE_URLS[0]]):
        matrix = qr_matrix(url)
        paths = [folder / f"{n}.png", folder / f"{n}.svg"]
        paths[0].write_bytes(qr_png(matrix))
        paths[1].write_text(qr_svg(matrix, "QR"))
        for name, method in [("lanczos", Image.LANCZOS), ("nearest", Image.NEAREST)]:
            small = Image.open(paths[0]).convert("L").resize((100, 100), method)
            paths.append(folder / f"{n}-100-{name}.png")
            small.save(paths[-1])
        files[url] = paths
    return files


@pytest.mark.parametrize("url", [DEMO_URL, PAGE_URLS[0]])
def test_zxing_decodes_png_svg_and_100px_png(url: str, decoded_files: dict) -> None:
    # --pure: no rotation/downscale/inversion help; a 100 px version-4 code is 41 modules with
    # the quiet zone, about 2.4 px per module, which zxing reads without help.
    run = run_oracle("qr-decode", "--pure", "--expect", url, *decoded_files[url])
    assert run.failed == 0 and run.ok == 4, run.output
    level = "Q" if url == DEMO_URL else "M"
    assert run.output.count(f"ec level {level}]") == 4, run.output
