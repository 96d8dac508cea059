"""Badge and logo images: sniff the real format and refuse what is unsafe or broken.

OB 2.0 §A.11: "Images: only PNG or SVG", served with the right Content-Type. We trust the
bytes, not the file name: a JPEG renamed to .png is an error, as is a truncated PNG or an SVG
that could run script or fetch something from another origin when a page shows it.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from generator.bake import BakeError, png_check, without_metadata

MAX_IMAGE_BYTES = 2_000_000
MAX_DIMENSION = 4096
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_FORBIDDEN_SVG_ELEMENTS = {"script", "foreignObject", "iframe", "embed", "object", "handler"}
_SAFE_DATA_URI = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$")
# SMIL animation can set any attribute, a link's href to javascript: included
_ANIMATIONS = {"set", "animate", "animateColor", "animateMotion", "animateTransform"}
_EXTERNAL_URL = re.compile(r"url\s*\(\s*['\"]?(?!#)|@import", re.IGNORECASE)
_SIDE_WORDS = {"width": "wide", "height": "high"}
_SIZE = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(px)?\s*$")


class ImageProblem(ValueError):
    """An image that cannot be published, with a hint for the maintainer."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class ImageInfo:
    """What we know about a valid image."""

    format: str  # "png" or "svg"
    media_type: str
    width: int | None
    height: int | None


def inspect_image(path: Path) -> ImageInfo:
    """Check that `path` is a safe PNG or SVG within the limits; describe it."""
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise ImageProblem(f"image is too large ({size:,} bytes; the limit is "
                           f"{MAX_IMAGE_BYTES:,})", "export it smaller, e.g. 512 × 512 pixels")
    data = path.read_bytes()
    if data.startswith(PNG_SIGNATURE):
        info = _inspect_png(data)
    elif _looks_like_svg(data):
        info = _inspect_svg(data)
    else:
        raise ImageProblem("is not a PNG or SVG image" + _guess_format(data),
                           "Open Badges images must be PNG or SVG")
    expected = ".svg" if info.format == "svg" else ".png"
    if path.suffix.lower() != expected:
        raise ImageProblem(f"is a {info.format.upper()} image but its name ends in "
                           f"'{path.suffix}'", f"rename it to end in '{expected}'")
    return info


def _guess_format(data: bytes) -> str:
    signatures = {b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"RIFF": "WebP", b"%PDF": "PDF"}
    for magic, name in signatures.items():
        if data.startswith(magic):
            return f" (it is a {name} file)"
    return ""


def published_bytes(path: Path) -> bytes:
    """An image file's bytes as the site publishes them: a PNG without its text, EXIF and
    time chunks (see bake.without_metadata); an SVG as it is (its text is checked by the
    privacy guard like any page). The file passed `inspect_image` before."""
    data = path.read_bytes()
    return without_metadata(data) if data.startswith(PNG_SIGNATURE) else data


def _inspect_png(data: bytes) -> ImageInfo:
    try:
        png_check(data)  # the chunk structure, as baking reads it (Pillow forgives more)
    except BakeError as exc:
        raise ImageProblem(f"PNG file is damaged ({exc})", "export the image again") from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width > MAX_DIMENSION or height > MAX_DIMENSION:
                raise ImageProblem(f"image is {width} × {height} pixels; the limit is "
                                   f"{MAX_DIMENSION} × {MAX_DIMENSION}")
            image.load()  # decodes every pixel: finds truncated and corrupt files
    except ImageProblem:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageProblem(f"PNG file is damaged or truncated ({exc})",
                           "export the image again") from None
    except Image.DecompressionBombError:
        raise ImageProblem("PNG expands to too many pixels (decompression bomb)") from None
    return ImageInfo("png", "image/png", width, height)


def _looks_like_svg(data: bytes) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and b"<svg" in data[:4096]


def _inspect_svg(data: bytes) -> ImageInfo:
    if re.search(rb"<!(DOCTYPE|ENTITY)", data, re.IGNORECASE):
        raise ImageProblem("SVG contains a DOCTYPE or ENTITY declaration",
                           "remove it; entities can expand without limit")
    if re.search(rb"<\?xml-stylesheet", data, re.IGNORECASE):
        raise ImageProblem("SVG links a style sheet (<?xml-stylesheet?>)",
                           "put the styles inside the file; pages may not load anything "
                           "from another origin")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ImageProblem(f"SVG is not well-formed XML ({exc})") from None
    if root.tag != f"{{{SVG_NS}}}svg":
        raise ImageProblem("SVG root element must be <svg> in the SVG namespace",
                           f'add xmlns="{SVG_NS}"')
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1]
        if local in _FORBIDDEN_SVG_ELEMENTS:
            raise ImageProblem(f"SVG contains a <{local}> element",
                               "badge images must not run script or embed documents")
        if local in _ANIMATIONS and \
                element.attrib.get("attributeName", "").rsplit(":", 1)[-1].lower() == "href":
            raise ImageProblem(f"SVG animates a link (<{local} attributeName="
                               f"\"{element.attrib['attributeName']}\">)",
                               "badge images must not run script or change their links")
        for name, value in element.attrib.items():
            attr = name.rsplit("}", 1)[-1]
            if attr.lower().startswith("on"):
                raise ImageProblem(f"SVG has an event handler attribute '{attr}'",
                                   "remove scripting from the image")
            if "url" in value.lower() and _EXTERNAL_URL.search(value):  # fill="url(https:…)"
                raise ImageProblem(f"SVG attribute '{attr}' loads an external resource: "
                                   f"{value[:80]!r}", "refer only to parts of the image "
                                   "itself, as url(#id)")
            if name in ("href", _XLINK_HREF) and not (value.startswith("#") or
                                                       _SAFE_DATA_URI.match(value)):
                raise ImageProblem(f"SVG refers to an external resource: {value[:80]!r}",
                                   "embed everything in the file; pages may not load "
                                   "anything from another origin")
        if local == "style" or "style" in element.attrib:
            css = (element.text or "") + element.attrib.get("style", "")
            if _EXTERNAL_URL.search(css):
                raise ImageProblem("SVG style loads an external resource (url() or @import)")
    for side in ("width", "height"):
        found = _SIZE.match(root.attrib.get(side, ""))
        if found and float(found.group(1)) > MAX_DIMENSION:
            raise ImageProblem(f"SVG is {root.attrib[side].strip()} {_SIDE_WORDS[side]}"
                               f"; the limit is {MAX_DIMENSION} pixels",
                               "give it a smaller width and height (the viewBox keeps the "
                               "drawing)")
    width, height = _svg_size(root)
    return ImageInfo("svg", "image/svg+xml", width, height)


def _svg_size(root: ET.Element) -> tuple[int | None, int | None]:
    box = root.attrib.get("viewBox", "").replace(",", " ").split()
    if len(box) == 4:
        try:
            return round(float(box[2])), round(float(box[3]))
        except ValueError:
            pass
    return None, None
