"""What a page or style sheet would load from another origin (generator/origins.py)."""

from __future__ import annotations

import pytest

from generator.origins import origin, remote_loads

OWN = origin("https://badges.example.org/west/")


@pytest.mark.parametrize("html, found", [
    (b'<script src="https://cdn.example/x.js"></script>', "https://cdn.example/x.js"),
    (b'<SCRIPT SRC=https://cdn.example/x.js></SCRIPT>', "https://cdn.example/x.js"),
    (b'<link rel="stylesheet" href="//fonts.example/a.css">', "//fonts.example/a.css"),
    (b'<link href="https://x.example/i.png" rel="icon shortcut">', "https://x.example/i.png"),
    (b'<link rel=preconnect href="https://x.example">', "https://x.example"),
    (b'<img srcset="a.png 1x, https://cdn.example/b.png 2x" src="a.png">',
     "https://cdn.example/b.png"),
    (b'<img src="&#47;&#47;encoded.example/x.png">', "//encoded.example/x.png"),
    (b'<img src="\\\\backslash.example/x.png">', "\\\\backslash.example/x.png"),
    (b'<img src="http://badges.example.org/a.png">', "http://badges.example.org/a.png"),
    (b'<img src="https://badges.example.org:8443/a.png">',
     "https://badges.example.org:8443/a.png"),
    (b'<iframe src="https://video.example/embed/1"></iframe>', "https://video.example/embed/1"),
    (b'<video poster="https://x.example/p.jpg"></video>', "https://x.example/p.jpg"),
    (b'<object data="https://x.example/a.swf"></object>', "https://x.example/a.swf"),
    (b'<base href="https://elsewhere.example/">', "https://elsewhere.example/"),
    (b'<img alt="a<b>c" src="https://x.example/q.png">', "https://x.example/q.png"),
    (b'<svg><image href="https://x.example/i.png"/></svg>', "https://x.example/i.png"),
    (b'<svg><use xlink:href="https://x.example/s.svg#i"/></svg>', "https://x.example/s.svg#i"),
    (b'<style>@import "https://x.example/a.css";</style>', "https://x.example/a.css"),
    (b'<style>body{background:url(//x.example/bg.png)}</style>', "//x.example/bg.png"),
    (b'<p style="background: url(&quot;https://x.example/p.gif&quot;)">',
     "https://x.example/p.gif"),
])
def test_loads_from_another_origin_are_found(html: bytes, found: str) -> None:
    assert list(remote_loads(html, OWN)) == [found]


@pytest.mark.parametrize("html", [
    b'<script src="/west/assets/verify.js"></script><img src="../a/x/qr.svg">',
    b'<img src="https://badges.example.org/west/a/x/badge.png">',  # this site, absolute
    b'<img src="HTTPS://BADGES.EXAMPLE.ORG/a.png">',
    b'<img src="data:image/png;base64,iVBORw0KGgo=">',
    b'<a href="https://www.linkedin.com/sharing/">Share</a>',  # followed, not loaded
    b'<link rel="canonical" href="https://elsewhere.example/">',
    b'<link rel="alternate" hreflang="en" href="https://elsewhere.example/en/">',
    b'<meta property="og:image" content="https://elsewhere.example/p.png">',
    b'<p>Use url(https://prose.example/) or @import "https://prose.example/"</p>',
    b'<!-- <script src="https://commented.example/x.js"></script> -->',
    b'<svg><![CDATA[{"narrative": "<img src=https://quoted.example/x>"}]]></svg>',
    b'<p>&lt;script src="https://escaped.example/x.js"&gt;</p>',
])
def test_addresses_that_load_nothing_elsewhere_are_allowed(html: bytes) -> None:
    assert list(remote_loads(html, OWN)) == []


def test_style_sheets_are_read_as_css() -> None:
    css = (b"@import 'https://fonts.example/a.css';\nbody { background: url(/west/bg.png) }\n"
           b"h1 { background: url( \"https://x.example/h.png\" ) }\n")
    assert list(remote_loads(css, OWN, css_only=True)) == [
        "https://fonts.example/a.css", "https://x.example/h.png"]
    assert list(remote_loads(b"a { color: red }", OWN, css_only=True)) == []


def test_an_origin_is_scheme_host_and_port_in_lower_case() -> None:
    assert origin("HTTPS://Badges.Example.org:8443/x/?q#f") == "https://badges.example.org:8443"
    assert OWN == "https://badges.example.org"
