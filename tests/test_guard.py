"""The privacy patterns (generator/personal.py) and the output guard (generator/guard.py);
builds that it stops: tests/test_build.py."""

from __future__ import annotations

import functools
import html
import json
import re
import sys
import unicodedata
from datetime import datetime, timezone
from html.entities import codepoint2name, html5
from pathlib import Path
from typing import Callable
from xml.sax.saxutils import escape as xml_escape

import markupsafe
import pytest

from conftest import make_site
from generator.build import load_site
from generator.guard import OutputGuard
from generator.write import OutputFile

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


@pytest.fixture
def guard(tmp_path: Path, keyring) -> OutputGuard:
    return OutputGuard(load_site(make_site(tmp_path), NOW, None), keyring)


@pytest.fixture(scope="module")
def shared_guard(tmp_path_factory: pytest.TempPathFactory, keyring) -> OutputGuard:
    """One guard for the many parametrized address cases (checking a file changes nothing)."""
    return OutputGuard(load_site(make_site(tmp_path_factory.mktemp("g")), NOW, None), keyring)


@pytest.mark.parametrize("text", [
    "Bel 06-12345678.", "tel:06-12345678", "+31 6 1234 5678", "(010 123 4567)",
    "0031 6 12345678", "bel 0612345678 of mail"])
def test_phone_numbers_are_found(guard: OutputGuard, text: str) -> None:
    problem = guard.privacy_problem(OutputFile("a/x/index.html", text.encode()))
    assert problem is not None and problem.startswith("the phone number")


@pytest.mark.parametrize("text", [
    # credential ids whose first UUID groups are digits (found at 20,000 generated awards)
    '"id": "urn:uuid:00469673-7327-5433-8f2e-1c9a4e0b7d21"',
    '"id": "urn:uuid:00853446-8937-5b2e-9c1d-0a7f3e2b6c54"',
    "urn:uuid:06123456-1234-5123-8123-123456789012",
    '"validFrom": "2025-03-01T00:00:00Z"', "M4 4h7v1H4z", "sha256-0123456789abcdef",
    "eyJhbGciOiJSUzI1NiJ9.eyJ0ZWwiOiIwMDQ2OTY3MzczMjcifQ"])
def test_ids_dates_and_encodings_are_not_phone_numbers(guard: OutputGuard, text: str) -> None:
    assert guard.privacy_problem(OutputFile("a/x/credential.json", text.encode())) is None


def test_binary_files_are_checked_for_identifiers_only(guard: OutputGuard) -> None:
    data = b"\x89PNG...bel 06-12345678...info@elders.example.org"
    assert guard.privacy_problem(OutputFile("a/x/badge.png", data)) is None
    assert guard.privacy_problem(OutputFile("a/x/index.html", data)) is not None


def test_private_key_material_is_refused(guard: OutputGuard, keyring) -> None:
    secret = keyring.site_secret.hex().encode()
    problems = guard.check(OutputFile("assets/app.js", b"var s='" + secret + b"';"))
    assert problems and "private key material" in problems[0].message


def test_phone_runs_find_exactly_what_the_full_pattern_finds() -> None:
    """The run prefilter is an optimisation only: same matches as scanning everything."""
    import random

    from generator import personal

    def everywhere(data: bytes) -> list[bytes]:
        return [m.group() for m in personal._PHONE_LIKE.finditer(data)]

    def in_runs(data: bytes) -> list[bytes]:
        return [m.group() for start, end in personal.phone_runs(data)
                for m in personal._PHONE_LIKE.finditer(data, start, end + 1)]

    rng = random.Random(7)
    alphabet = b"00001123456789   ++--.a/$=_x\n"
    texts = [bytes(rng.choice(alphabet) for _ in range(rng.randint(5, 40)))
             for _ in range(20000)]
    context = b"a/$=.-_ x\n"
    for _ in range(5000):  # phone-like numbers with every kind of neighbour
        digits = "".join(rng.choice("0123456789" + " -" * 2) for _ in range(rng.randint(6, 14)))
        number = rng.choice(["+31", "0031", "0", "06", "+", "00"]) + digits
        texts.append(bytes([rng.choice(context)]) + number.encode() + bytes([rng.choice(context)]))
    texts += [b"bel +31 6 1234 5678.", b"06-12345678", b"010 123 4567", b"tel:0612345678<",
              b"M 12.5 0.1234567 L 0 0612345678 Z", b"urn:uuid:00469673-7327-5433-a1b2",
              b"0612345678", b" - -0612345678", b"x 0612345678", b"- - - - 1234567",
              b"\xff0612345678\x00", b"+31612345678 +31612345678"]
    assert sum(bool(everywhere(t)) for t in texts) > 200  # the texts do contain numbers
    for text in texts:
        assert in_runs(text) == everywhere(text), text


def test_url_and_did_identifiers_are_found_as_the_naive_search_finds_them() -> None:
    """One set lookup per identifier length where "http" or "did:" starts, instead of one
    search per learner: the same answers as searching for every identifier."""
    import random

    from generator.guard import _Needles

    rng = random.Random(7)
    ids = [f"https://school.example/learners/{n}".encode() for n in range(0, 3000, 7)]
    ids += [f"did:web:school.example:l{n}".encode() for n in range(50)]
    needles = _Needles(ids)
    pieces = [b"https://school.example/learners/", b"did:web:school.example:l", b"http",
              b"did:", b"<a href=\"", b"\">", b" ", b"x"] + [str(n).encode() for n in range(40)]
    for _ in range(3000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert needles.found_in(data) == any(i in data for i in ids), data
    assert needles.found_in(b"see https://school.example/learners/14/profile")  # inside a URL
    assert not _Needles([])


def test_a_learner_url_identifier_in_a_page_is_refused(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path)
    learner = next((content / "learners").iterdir())
    text = learner.read_text()
    old = next(line for line in text.splitlines() if line.startswith("identifier:"))
    learner.write_text(text.replace(old, "identifier: https://school.example/u/Anna"))
    guard = OutputGuard(load_site(content, NOW, None), keyring)
    page = OutputFile("a/x/index.html", b"<p>HTTPS://school.example/u/anna</p>")
    assert guard.privacy_problem(page) == "a learner's identifier (URL or DID)"
    assert guard.privacy_problem(OutputFile("a/x/index.html", b"<p>school</p>")) is None


# The reference for `email_addresses`: the text decoded as a reader sees it (HTML character
# references, JSON \u escapes and \"), then one pattern tried at every position. Letters, digits
# and marks of any script are local-part and domain characters; a TLD has two or more letters.
_NAMED = "|".join(re.escape(name) for name in sorted(
    (name for name in html5 if name.endswith(";")), key=len, reverse=True))
_ESCAPES = re.compile(r"&#([0-9]{1,7});|&#[xX]([0-9a-fA-F]{1,6});|&(%s)"
                      r"|\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
                      r"|\\u([0-9a-fA-F]{4})|\\(\")" % _NAMED)


def _unescape(match: re.Match[str]) -> str:
    decimal, hexadecimal, name, high, low, code, quote = match.groups()
    if name:
        return html5[name]
    if high:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + int(low, 16) - 0xDC00)
    if quote:
        return quote
    number = int(decimal) if decimal else int(hexadecimal or code, 16)
    return chr(number) if number <= 0x10FFFF else "\ufffd"


@functools.cache
def _reference_pattern() -> re.Pattern[str]:
    """The address pattern over decoded text, with the Unicode classes spelled out."""
    ranges: dict[str, list[list[int]]] = {"L": [], "N": [], "M": [], "P": [], "S": [], "Z": []}
    for code in range(0x80, sys.maxunicode + 1):
        group = ranges.get(unicodedata.category(chr(code))[0])
        if group is not None:
            if group and group[-1][1] == code - 1:
                group[-1][1] = code
            else:
                group.append([code, code])

    def chars(*kinds: str) -> str:
        return "".join(f"{chr(a)}-{chr(b)}" for kind in kinds for a, b in ranges[kind])

    in_word = "\u200c\u200d\u00b7\u0375\u05f3\u05f4\u30fb"  # (IDNA's CONTEXTJ, CONTEXTO)
    word = "A-Za-z0-9" + chars("L", "N", "M") + in_word
    local = word + "._%+\\-"
    letter, mark = "A-Za-z" + chars("L"), chars("M") + in_word
    quoted = "(?:(?![\"\\\\<>@])[ -~]|[%s])" % (chars("L", "N", "M", "P", "S", "Z") + in_word)
    return re.compile(
        f"(?:(?<![{local}])[{local}]++|\"[{word}](?:{quoted}{{0,62}}[{word}])?\")@"
        f"(?:[{word}\\-]+(?:\\.[{word}\\-]+)*\\.[{letter}][{mark}]*[{letter}][{letter}{mark}]*"
        r"|\[(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|(?:[Ii][Pp][Vv]6:)?[0-9A-Fa-f]*"
        r"(?::[0-9A-Fa-f.]*){2,8})\])")


def _reference_addresses(data: bytes) -> list[bytes]:
    # the wide "@" signs count as "@" as written, not when escaped
    text = data.decode("utf-8").replace("\uff20", "@").replace("\ufe6b", "@")
    text = _ESCAPES.sub(_unescape, text)
    return [m.group().encode("utf-8") for m in _reference_pattern().finditer(text)]


def test_addresses_found_from_each_at_sign_are_what_the_full_pattern_finds() -> None:
    """`email_addresses` is an optimisation only: the same addresses as the reference pattern
    tried everywhere in the decoded text, with every kind of escape, script and neighbour."""
    import random

    from generator import personal

    rng = random.Random(11)
    pieces = [b"@", b"&#64;", b"&#x40;", b"&commat;", b"\\u0040", "＠".encode(), "﹫".encode(),
              b"&#65312;", b"a", b"Z9", b".", b"-",
              b"_", b"%", b"+", b"example", b".org", b".n", b" ", b'"', b'\\"', b"&quot;",
              b"&#34;", b"\\u0022", b"@context", "é".encode(), b"&eacute;", b"&#233;", b"&#xE9;",
              b"\\u00e9", b"u00e9", b"e\xcc\x81", b"\\u0301", "用".encode(), ".广告".encode(),
              ".भारत".encode(), "𠀀".encode(), b"\\ud840\\udc00", "—".encode(),
              "\u200b".encode(),  # (a zero-width space: a format character)
              "\u200c".encode(), "·".encode(), b"&middot;", b"l",
              b"x@y.com@z.org", b"..", b"\n", b"[", b"]", b"192.168.1.1", b"IPv6:",
              b"2001:db8::1", b":", b"&amp;", b"&", b";", b"\\", b"<", b">", b"jan doe",
              b"&foo;", b"&#1114112;", b"&#0000233;"]
    # whole candidates too, so that quoted parts and IP literals are not left to chance
    local_parts = [b"jan", b'"jan doe"', b'\\"jan doe\\"', b"&quot;jan doe&quot;",
                   b"&#34;a&#34;", b'" jan"', b'"a"', b'""', b'"a<b"', b'"a\\u00e9"',
                   b"j\\u00fcrgen", b"j&uuml;rgen", b"ju\xcc\x88rgen", b"+", b""]
    domains = [b"example.org", b"[192.168.1.1]", b"[IPv6:2001:db8::1]", b"[::1]", b"[1.2.3]",
               b"[IPv6:x]", "例子.广告".encode(), b"priv\\u00e9.nl",
               b"priv&eacute;.n", b"priv&#xe9;.nl", b"x", b"x.y\xcc\x88"]
    found = {"quoted": 0, "bracketed": 0, "non-ASCII": 0, "escaped": 0}
    for n in range(20000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 3 if n % 2 else 14)))
        if n % 2:
            data += b"".join([rng.choice(local_parts), rng.choice(pieces[:7]),
                              rng.choice(domains), rng.choice(pieces), rng.choice(pieces)])
        expected = _reference_addresses(data)
        assert list(personal.email_addresses(data)) == expected, data
        for address in expected:
            found["quoted"] += address.startswith(b'"')
            found["bracketed"] += address.endswith(b"]")
            found["non-ASCII"] += not address.isascii()
            found["escaped"] += address not in data
    assert min(found.values()) > 500, found  # every kind of address did occur
    assert list(personal.email_addresses(b'{"@context": 1, "x": "info@west.example.org"}')) == [
        b"info@west.example.org"]
    many = b"&amp;" * 40  # (the first 32 "&" are looked at one by one, then searched)
    assert list(personal.email_addresses(many + b"jan&#64;example.org" + many)) == [
        b"jan@example.org"]


def test_plain_ascii_addresses_are_found_as_before() -> None:
    """Text without quotes, brackets, escapes or non-ASCII: exactly what the guard's earlier
    ASCII-only pattern found."""
    import random

    from generator import personal

    email_like = re.compile(rb"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++@[A-Za-z0-9-]+"
                            rb"(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
    rng = random.Random(11)
    pieces = [b"@", b"a", b"Z9", b".", b"-", b"_", b"%", b"+", b"example", b".org", b".n",
              b" ", b"@context", b"x@y.com@z.org", b"..", b"\n", b":", b";", b"/"]
    for _ in range(5000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert list(personal.email_addresses(data)) == [m.group() for m in
                                                      email_like.finditer(data)], data


# Addresses that got through before: internationalized (RFC 6531), IP literals, quoted local
# parts; and the Punycode form of an internationalized domain, which did not.
LEAKS = ["jan@privé.nl", "anouk@privé.nl", "jürgen@example.de", "用户@例子.广告",
         "jan@[192.168.1.1]", "jan@[IPv6:2001:db8::1]", '"jan doe"@gmail.com',
         "ju\u0308rgen@example.de",  # decomposed: "u" and a combining diaeresis
         "jan@डाटामेल.भारत", "𠀀@example.org", "joan@col·legi.cat",
         "info@می\u200cخواهم.ایران",  # (a zero-width non-joiner inside the Persian label)
         "jan@xn--priv-bpa.nl"]


def _entities(text: str) -> str:
    """Every non-ASCII character and quote as an HTML character reference, named where HTML
    has a name (&eacute;) and numeric otherwise (&#29992;)."""
    return "".join(f"&{codepoint2name[ord(c)]};" if ord(c) in codepoint2name and c != "&"
                   else f"&#{ord(c)};" if ord(c) > 0x7F else c for c in text)


# How text reaches an output file: Jinja's autoescape ("&#34;"), Markdown through nh3 (as it
# is), attribute values ("&quot;"), character references, JSON with and without ensure_ascii
# (\" and \u00e9), SVG text and a credential baked into an SVG.
CONTEXTS: dict[str, Callable[[str], tuple[str, bytes]]] = {
    "html-jinja": lambda a: ("a/x/index.html", f"<p>Mail {markupsafe.escape(a)}</p>".encode()),
    "html-markdown": lambda a: ("a/x/index.html", f'<div class="prose"><p>{a}</p></div>'.encode()),
    "html-href": lambda a: ("a/x/index.html", f'<a href="mailto:{html.escape(a)}">x</a>'.encode()),
    "html-entities": lambda a: ("a/x/index.html", f"<p>{_entities(a)}</p>".encode()),
    "json": lambda a: ("a/x/credential.json", json.dumps(
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "narrative": f"Mail {a}"},
        ensure_ascii=False).encode()),
    "json-ascii": lambda a: ("a/x/credential.json", json.dumps(
        {"@id": "urn:uuid:1", "narrative": f"Mail {a}"}).encode()),
    "svg-text": lambda a: ("a/x/badge.svg", f'<svg xmlns="http://www.w3.org/2000/svg"><text>'
                                            f"{xml_escape(a)}</text></svg>".encode()),
    "svg-baked": lambda a: ("a/x/badge.svg", (
        '<svg xmlns="http://www.w3.org/2000/svg"><openbadges:credential><![CDATA['
        + json.dumps({"@context": "x", "narrative": a}) + "]]></openbadges:credential></svg>"
    ).encode()),
}


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("address", LEAKS)
def test_every_form_of_address_is_refused(shared_guard: OutputGuard, address: str,
                                          context: str) -> None:
    problem = shared_guard.privacy_problem(OutputFile(*CONTEXTS[context](address)))
    assert problem == f"the e-mail address {address!r}"  # (reported as a reader sees it)


@pytest.mark.parametrize("text, address", [
    ("jan&#64;example.org", "jan@example.org"), ("jan&#x40;example.org", "jan@example.org"),
    ("jan&#064;example.org", "jan@example.org"), ("jan&commat;example.org", "jan@example.org"),
    ("jan\\u0040example.org", "jan@example.org"), ("JAN@EXAMPLE.ORG", "JAN@EXAMPLE.ORG"),
    ("jan+badges@example.org", "jan+badges@example.org"),
    ("j&#97;n&#64;priv&eacute;.nl", "jan@privé.nl"), ("jan@priv\\u00e9.nl", "jan@privé.nl"),
    ("jan@priv&#xE9;.nl", "jan@privé.nl"), ("&#x7528;&#25143;@例子.广告", "用户@例子.广告"),
    ("\\ud840\\udc00@example.org", "𠀀@example.org"),
    ("&quot;jan doe&quot;@gmail.com", '"jan doe"@gmail.com'),
    ('\\"jan doe\\"@gmail.com', '"jan doe"@gmail.com'),
    ("jan&#64;&#91;192.168.1.1&#93;", "jan@[192.168.1.1]"),
    ("jan＠example.org", "jan@example.org"), ("jan﹫example.org", "jan@example.org"),
    ("https://portfolio.example.org/?user=jan%40example.org&amp;p=1", "jan@example.org"),
    ("https://portfolio.example.org/?to=jan%2Bbadges%40example.org", "jan+badges@example.org"),
    ("https://portfolio.example.org/jan%40ex%61mple.org/", "jan@example.org")])
@pytest.mark.parametrize("path", ["a/x/index.html", "a/x/credential.json", "a/x/badge.svg"])
def test_escaped_upper_case_and_tagged_addresses_are_refused(shared_guard: OutputGuard,
                                                            text: str, address: str,
                                                            path: str) -> None:
    problem = shared_guard.privacy_problem(OutputFile(path, f"<p>Mail {text} x</p>".encode()))
    assert problem == f"the e-mail address {address!r}"


@pytest.mark.parametrize("text", ["fatima&#64;example.org", "FATIMA\\u0040EXAMPLE.ORG",
                                  "Jan.de.Vries&#x40;example.org", "fatima＠example.org",
                                  "https://x.example/?u=fatima%40example.org"])
def test_an_escaped_learner_address_is_the_learner_s(shared_guard: OutputGuard,
                                                     text: str) -> None:
    problem = shared_guard.privacy_problem(OutputFile("a/x/credential.json", text.encode()))
    assert problem == "a learner's identifier (e-mail address)"


@pytest.mark.parametrize("path, text", [
    ("a/x/credential.json", json.dumps({
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     {"@vocab": "https://badges.example.org/#", "@language": "nl"}],
        "@id": "urn:uuid:00469673-7327-5433-8f2e-1c9a4e0b7d21", "@type": ["Achievement"],
        "name": {"@value": "Lassen", "@language": "nl"}, "tags": {"@list": ["a", "b"]},
        "@graph": [], "issuer": {"id": "did:web:badges.example.org:issuers:acme"},
        "sameAs": "@rugzak.bsky.social", "quote": 'Volg "@rugzak.nl"'}, indent=2)),
    ("a/x/credential.json", json.dumps({"@context": "x", "@id": "y", "name": "café",
                                        "sameAs": ["@rugzak.nl", "@jürgen.example.de"]},
                                       separators=(",", ":"), ensure_ascii=False)),
    ("assets/site.css", "@media (max-width: 40em) { .a { color: red } }\n"
                        "@font-face { src: url(x.woff2) }\n@import url(\"a.css\");"),
    ("a/x/badge.svg", "<svg><style>@media (prefers-color-scheme: dark) {}</style></svg>"),
    ("a/x/index.html", '<p>Volg @rugzak en @rugzak.nl, <a href="https://mastodon.social/@user"'
                       ' title="@rugzak.nl">@user</a> of @jürgen; "@privé.nl"</p>'),
    ("a/x/index.html", '<meta name="twitter:site" content="@rugzak.nl"><p>5 € @ café</p>'),
    ("assets/app.js", 'var a = "x" + "@rugzak.nl", b = "y"+name+"@rugzak.nl";'),
    ("a/x/credential.jwt", "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJkaWQ6d2ViOmJhZGdlcyJ9.c2ln"),
    ("a/x/index.html", "<p>jan@privé, jan@privé.n, jan@[192.168.1], \"jan doe\"@gmail, "
                       "jan@[IPv6:x], jan@priv&eacute;</p>"),
    ("a/x/index.html", "<p>Vragen: badges&#64;acme.example.org, "
                       "&quot;jan doe&quot; @gmail.com</p>"),
    ("a/x/index.html", '<p>100%40 korting, <a href="https://mastodon.social/%40rugzak">'
                       "a%40%40b.org, https://x.example/?to=badges%40acme.example.org</a></p>"),
])
def test_at_signs_that_are_no_addresses_are_allowed(shared_guard: OutputGuard, path: str,
                                                    text: str) -> None:
    assert shared_guard.privacy_problem(OutputFile(path, text.encode())) is None
