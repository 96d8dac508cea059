"""Markdown → sanitized HTML.

Criteria and narratives are written by maintainers but shown to the public; raw HTML in them is
never trusted. Markdown renders first, then nh3 (the Ammonia sanitizer) keeps only a small set
of harmless tags: no script, no event handlers, no styles, no iframes, links only to http(s)
and mailto, and every link gets rel="noopener noreferrer".
"""

from __future__ import annotations

import functools
import re

import markdown as _markdown
import nh3

_ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody",
    "tr", "th", "td", "abbr", "sub", "sup", "dl", "dt", "dd",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"},
                       "td": set(), "ol": {"start"}}
_HEADING = re.compile(r"<(/?)h([1-6])>")
_LANG_MARKER = re.compile(r"^<!--\s*lang:\s*([a-z]{2,3})\s*-->\s*$", re.MULTILINE)


@functools.cache
def _converter() -> _markdown.Markdown:
    # One converter per process, reset after each use: building one registers ~70 patterns,
    # which costs more than converting a short narrative.
    return _markdown.Markdown(extensions=["sane_lists", "tables"], output_format="html")


def render_markdown(source: str, heading_offset: int = 1) -> str:
    """Render Markdown to safe HTML; headings are shifted down so pages keep one <h1>."""
    converter = _converter()
    try:
        html = converter.convert(source)
    finally:
        converter.reset()

    def shift(match: re.Match[str]) -> str:
        level = min(6, int(match.group(2)) + heading_offset)
        return f"<{match.group(1)}h{level}>"

    html = _HEADING.sub(shift, html)
    return nh3.clean(html, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer",
                     strip_comments=True).strip()


def split_languages(body: str, default: str) -> dict[str, str]:
    """Split a badge body into per-language parts at `<!-- lang: xx -->` lines."""
    parts: dict[str, str] = {}
    language, start = default, 0
    for match in _LANG_MARKER.finditer(body):
        parts[language] = parts.get(language, "") + body[start:match.start()]
        language, start = match.group(1), match.end()
    parts[language] = parts.get(language, "") + body[start:]
    return {lang: text.strip() for lang, text in parts.items() if text.strip()}


def plain_text(source: str) -> str:
    """Markdown source reduced to plain text (for meta descriptions and JSON summaries)."""
    html = render_markdown(source)
    text = nh3.clean(html, tags=set())
    return re.sub(r"\s+", " ", text).strip()
