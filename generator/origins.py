"""Find what a page or style sheet would load from another origin.

Nothing in a Rugzak page may load from another origin (a learner's profile must not tell a
third party who looked at it, and a page must work offline at a job fair). The built-in
theme's Content-Security-Policy enforces that in browsers, but a site's own theme may drop
it or add a `<script src="https://…">`; the output guard calls `remote_loads` on every
HTML and CSS file so such a theme fails the build with the file named, instead of
publishing pages that leak their visitors or break.

Fast enough for every page of a large site (~30 µs for a page of 9 KB): only the tags
around an absolute address ("//") are parsed, unless the page has an encoded "/".

Only what a browser fetches by itself counts: `src`, `srcset`, `data` and `poster` of
embedding elements, `<link>` of a loading kind (style sheets, icons, preloads, manifests),
`<base href>` (it moves every relative load), and CSS `url()` and `@import`. Links people
follow (`<a href>`, canonical and alternate links, Open Graph addresses) are not loads.
"""

from __future__ import annotations

import html
import re
from typing import Iterator
from urllib.parse import urlsplit

# a tag of an element that loads what its attributes name; `<link>` is sorted out by its rel
# (quoted values may hold ">" and "<")
_TAG = re.compile(rb"<(script|img|iframe|frame|embed|object|source|track|video|audio|input"
                  rb"""|image|use|feimage|link|base)\b(?:[^>"']|"[^"]*"|'[^']*')*>""",
                  re.IGNORECASE)
_ATTRIBUTE = re.compile(rb"""\s(src|srcset|data|poster|href|xlink:href|rel)\s*=\s*"""
                        rb"""(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.IGNORECASE)
_LOADING_RELS = frozenset({"stylesheet", "icon", "shortcut", "apple-touch-icon", "manifest",
                           "preload", "modulepreload", "prefetch", "prerender", "preconnect",
                           "dns-prefetch", "mask-icon"})
# CSS: url(...) and @import "..." — in a style sheet, or in an HTML/SVG file's <style>
# elements and style attributes (elsewhere such text is prose: a narrative may quote CSS)
_CSS_URL = re.compile(rb"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))"""
                      rb"""|@import\s+(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_STYLE = re.compile(rb"""<style\b[^>]*>(.*?)</style\s*>|\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""",
                    re.IGNORECASE | re.DOTALL)
# an encoded "/" (&#47; &#x2F; &sol;) could start an address no plain search finds
_ENCODED_SLASH = re.compile(rb"&(?:#0*47|#[xX]0*2[fF]|sol);")
# comments and CDATA sections (a baked SVG's credential) load nothing
_INERT = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>", re.DOTALL)
# what may begin another origin's address: a scheme and "//", or "//" alone (this page's
# scheme); browsers read "\" as "/" there. data: and relative addresses stay on this origin
_ABSOLUTE = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9+.-]*:)?[\\/]{2}")


def origin(url: str) -> str:
    """The origin of an absolute http(s) URL: scheme, host and port, lower case."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{(parts.netloc.rsplit('@', 1)[-1]).lower()}"


def remote_loads(data: bytes, own_origin: str, css_only: bool = False) -> Iterator[str]:
    """Every address in an HTML/SVG file (or, with `css_only`, a style sheet) that a browser
    would load from an origin other than `own_origin` (see `origin`)."""
    if b"//" not in data and b"\\" not in data and b"&" not in data:
        return  # no absolute address, not even an encoded one: the usual style sheet
    if css_only:
        yield from _css_loads(data, own_origin)
        return
    if _INERT.search(data):  # (one pass: the pattern starts with "<!")
        data = _INERT.sub(b"", data)
    if _ENCODED_SLASH.search(data):
        tags = _TAG.finditer(data)  # (rare) every loading tag, its values decoded
    else:  # only the tags around an absolute address: a page has a few dozen
        tags = _tags_around(data, _slashes(data))
    for tag in tags:
        yield from _tag_loads(tag, own_origin)
    lower = data.lower()
    if b"url(" in lower or b"@import" in lower:  # CSS can only load through these
        for style in _STYLE.finditer(data):
            text = next(group for group in style.groups() if group is not None)
            if style.group(1) is None:  # an attribute: browsers decode character references
                text = html.unescape(text.decode("utf-8", "replace")).encode("utf-8")
            yield from _css_loads(text, own_origin)


def _slashes(data: bytes) -> list[int]:
    """Where "//" (or a backslash for either "/": browsers read it as one) occurs."""
    found = []
    for pair in (b"//", b"\\\\", b"\\/", b"/\\") if b"\\" in data else (b"//",):
        at = data.find(pair)
        while at >= 0:
            found.append(at)
            at = data.find(pair, at + 2)
    return sorted(found)


def _tags_around(data: bytes, positions: list[int]) -> Iterator[re.Match[bytes]]:
    """The loading tags (see _TAG) that hold one of `positions`, each once."""
    last = -1
    for at in positions:
        start = data.rfind(b"<", 0, at)
        for _ in range(8):  # a "<" inside a quoted value: the tag begins further back
            if start <= last:
                break  # in the tag just looked at, or in no tag
            tag = _TAG.match(data, start)
            if tag is not None and tag.end() > at:
                last = start
                yield tag
                break
            start = data.rfind(b"<", 0, start)


def _css_loads(css: bytes, own_origin: str) -> Iterator[str]:
    for found in _CSS_URL.finditer(css):
        address = next(group for group in found.groups() if group is not None)
        text = address.decode("utf-8", "replace")
        if _elsewhere(text, own_origin):
            yield text


def _tag_loads(tag: re.Match[bytes], own_origin: str) -> Iterator[str]:
    name = tag.group(1).lower()
    values: dict[bytes, str] = {}
    for attribute in _ATTRIBUTE.finditer(tag.group()):
        value = next(g for g in attribute.groups()[1:] if g is not None)
        # browsers decode character references in attribute values (&#47;&#47;host)
        values.setdefault(attribute.group(1).lower(),
                          html.unescape(value.decode("utf-8", "replace")))
    if name == b"link" and not _LOADING_RELS & set(values.get(b"rel", "").lower().split()):
        return  # canonical, alternate, license, ...: addresses, not loads
    for attribute, value in values.items():
        if attribute == b"rel":
            continue
        candidates = [part.split()[0] for part in value.split(",") if part.split()] \
            if attribute == b"srcset" else [value]
        for address in candidates:
            if _elsewhere(address, own_origin):
                yield address


def _elsewhere(address: str, own_origin: str) -> bool:
    """Whether `address` is absolute and not on `own_origin`."""
    if not _ABSOLUTE.match(address):
        return False
    text = address.strip().replace("\\", "/")
    if text.startswith("//"):
        text = own_origin.split(":", 1)[0] + ":" + text
    try:
        return origin(text) != own_origin
    except ValueError:  # not even a URL (an invalid port, ...): not this site's address
        return True
