"""Baked badges: the credential embedded in the badge image (digest §B).

PNG: one uncompressed iTXt chunk per keyword, spliced in before IEND; the pixel data is copied
byte for byte, never decoded. SVG: one element per version right after the opening <svg> tag;
the rest of the issuer's drawing is kept as it is. Both are pure functions of their inputs.

Sources quoted below: Open Badges Baking 1.0 (OB 2.0), OB 3.0 §5.3 "Baked Badge", and the
PNG specification (W3C, 3rd edition).
"""

from __future__ import annotations

import functools
import json
import re
import struct
import xml.parsers.expat
import zlib
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr


class BakeError(ValueError):
    """An image that cannot be baked or read, or a payload that cannot be baked."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# "An iTXt chunk should be inserted into the PNG with keyword `openbadges`" (OB 2.0 baking) /
# "... with keyword `openbadgecredential`" (OB 3.0 §5.3.2).
OB2_KEYWORD = "openbadges"
OB3_KEYWORD = "openbadgecredential"
BAKED_KEYWORDS = (OB2_KEYWORD, OB3_KEYWORD)

# ---------------------------------------------------------------------------------------------
# PNG

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG §5.3: the length's "value shall not exceed 2^31-1 bytes".
MAX_CHUNK_LENGTH = 2**31 - 1
# Reading a compressed iTXt of someone else's image: stop before a zip bomb fills memory.
MAX_TEXT_BYTES = 16 * 1024 * 1024
_TEXT_CHUNKS = (b"iTXt", b"tEXt", b"zTXt")


@dataclass(frozen=True)
class _Chunk:
    kind: bytes
    data: memoryview  # views, not copies: a large image is copied once, into the result
    raw: memoryview  # the whole chunk as found: length, type, data, CRC

    @property
    def keyword(self) -> bytes | None:
        """The keyword of a text chunk ("1-79 bytes ... Null separator"), else None."""
        if self.kind not in _TEXT_CHUNKS:
            return None
        return bytes(self.data[:80]).split(b"\x00", 1)[0]


def _read_chunks(png: bytes) -> list[_Chunk]:
    """Split a PNG into chunks, checking its structure; BakeError says what is wrong where."""
    if not png.startswith(PNG_SIGNATURE):
        raise BakeError("not a PNG file (the 8-byte PNG signature is missing)")
    chunks: list[_Chunk] = []
    view = memoryview(png)
    offset = len(PNG_SIGNATURE)
    while offset < len(png):
        if offset + 8 > len(png):
            raise BakeError(f"truncated PNG: chunk header at byte {offset} is cut off")
        length, kind = struct.unpack_from(">I4s", png, offset)
        # PNG §5.3: "Chunk types are restricted to consist of uppercase and lowercase ASCII
        # letters (A-Z and a-z, or 65-90 and 97-122 decimal)."
        if not kind.isalpha():  # bytes.isalpha() is ASCII-only
            raise BakeError(f"corrupt PNG: invalid chunk type {kind!r} at byte {offset}")
        if length > MAX_CHUNK_LENGTH:
            raise BakeError(f"corrupt PNG: {kind.decode()} chunk at byte {offset} claims "
                            f"{length} bytes (more than 2^31-1)")
        end = offset + 12 + length
        if end > len(png):
            raise BakeError(f"truncated PNG: {kind.decode()} chunk at byte {offset} needs "
                            f"{length} data bytes, the file ends {end - len(png)} bytes early")
        data = view[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack_from(">I", png, end - 4)
        if crc != zlib.crc32(data, zlib.crc32(kind)):
            raise BakeError(f"corrupt PNG: CRC mismatch in {kind.decode()} chunk at byte "
                            f"{offset}")
        chunks.append(_Chunk(kind, data, view[offset:end]))
        offset = end
        if kind == b"IEND":
            break
    # PNG §5.6: "IHDR shall be first" ... "IEND shall be last"; "There may be multiple IDAT
    # chunks"; at least one is required.
    if not chunks or chunks[0].kind != b"IHDR":
        raise BakeError("corrupt PNG: the first chunk is not IHDR")
    if chunks[-1].kind != b"IEND":
        raise BakeError("truncated PNG: no IEND chunk at the end")
    if offset != len(png):
        raise BakeError(f"corrupt PNG: {len(png) - offset} bytes after the IEND chunk")
    if not any(chunk.kind == b"IDAT" for chunk in chunks):
        raise BakeError("corrupt PNG: no IDAT (image data) chunk")
    return chunks


def _keyword_bytes(keyword: str) -> bytes:
    # PNG §11.3.2.1 (tEXt, also for iTXt): "Keywords shall contain only printable Latin-1
    # characters and spaces ... The keyword shall be at least one character and less than 80
    # characters long"; no leading, trailing or consecutive spaces.
    try:
        raw = keyword.encode("latin-1")
    except UnicodeEncodeError:
        raise BakeError(f"PNG keyword {keyword!r} is not Latin-1") from None
    printable = all(32 <= byte <= 126 or byte >= 161 for byte in raw)
    if not 1 <= len(raw) <= 79 or not printable or raw != raw.strip() or b"  " in raw:
        raise BakeError(f"invalid PNG keyword {keyword!r} (1-79 printable Latin-1 characters, "
                        "no leading, trailing or double spaces)")
    return raw


def _itxt_chunk(keyword: bytes, text: str) -> bytes:
    # "Compression MUST NOT be used. At the moment, language tag and translated keyword have no
    # semantics related to badge baking." (OB 2.0 baking; same words in OB 3.0 §5.3.2.1):
    # keyword, NUL, compression flag 0, method 0, empty language tag + NUL, empty translated
    # keyword + NUL, then the UTF-8 text, not NUL-terminated.
    try:
        payload = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BakeError(f"text for {keyword.decode('latin-1')!r} is not valid Unicode "
                        f"({exc.reason})") from None
    data = keyword + b"\x00\x00\x00\x00\x00" + payload
    if len(data) > MAX_CHUNK_LENGTH:
        raise BakeError("text is too long for one PNG chunk")
    # PNG §5.3: the CRC is "calculated on the preceding bytes in the chunk, including the
    # chunk type field and chunk data fields, but not the length field".
    crc = zlib.crc32(b"iTXt" + data)
    return struct.pack(">I", len(data)) + b"iTXt" + data + struct.pack(">I", crc)


def bake_png(png: bytes, chunks: dict[str, str]) -> bytes:
    """`png` with one uncompressed iTXt chunk per keyword → text, inserted just before IEND.

    Keywords are `OB2_KEYWORD` ("openbadges": the assertion JSON or compact JWS) and
    `OB3_KEYWORD` ("openbadgecredential": the credential JSON or VC-JWT). Every text chunk
    already carrying one of these (or a given) keyword is removed first: the result holds
    exactly the data given, never a stale credential left in the source image. All other
    chunks, pixel data included, are copied byte for byte.
    Raises BakeError for a damaged PNG, a bad keyword or empty text.
    """
    if not chunks:
        raise BakeError("nothing to bake: no keyword → text given")
    new = []
    for keyword, text in chunks.items():
        if not text:
            raise BakeError(f"empty text for PNG keyword {keyword!r}")
        new.append(_itxt_chunk(_keyword_bytes(keyword), text))
    # "An iTXt chunk with the keyword "openbadges" MUST NOT appear in a PNG more than once. When
    # baking a badge that already contains OpenBadges data, the implementor may choose whether
    # to pass the user an error or overwrite the existing chunk." We overwrite.
    replaced = {_keyword_bytes(keyword) for keyword in (*BAKED_KEYWORDS, *chunks)}
    kept = [chunk.raw for chunk in _read_chunks(png) if chunk.keyword not in replaced]
    return b"".join([PNG_SIGNATURE, *kept[:-1], *new, kept[-1]])


def strip_png(png: bytes) -> bytes:
    """`png` without any baked Open Badges text chunk (iTXt, tEXt or zTXt, either keyword)."""
    baked = {keyword.encode("latin-1") for keyword in BAKED_KEYWORDS}
    return b"".join([PNG_SIGNATURE, *(chunk.raw for chunk in _read_chunks(png)
                                      if chunk.keyword not in baked)])


# What a published copy of someone's PNG keeps: the chunks that draw it (PNG §11.2, §11.3.2
# colour, §11.3.3 transparency and size, APNG frames). Text, EXIF and time chunks go: they
# can carry personal data (an author's e-mail address, a camera's position) that the
# privacy guard cannot see in a compressed or binary chunk.
_DRAWING_CHUNKS = frozenset({b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM",
                             b"sRGB", b"iCCP", b"sBIT", b"cICP", b"mDCv", b"cLLi", b"pHYs",
                             b"bKGD", b"hIST", b"acTL", b"fcTL", b"fdAT"})


def png_check(png: bytes) -> None:
    """Raise BakeError (saying what and where) for a PNG whose chunk structure is damaged."""
    _read_chunks(png)


def without_metadata(png: bytes) -> bytes:
    """`png` with only the chunks that draw it (see _DRAWING_CHUNKS), each byte for byte."""
    return b"".join([PNG_SIGNATURE, *(chunk.raw for chunk in _read_chunks(png)
                                      if chunk.kind in _DRAWING_CHUNKS)])


def extract_png(png: bytes) -> dict[str, str]:
    """Keyword → text of the baked Open Badges data in `png` ({} when there is none).

    "Parse the PNG datastream until the first iTXt chunk is found with the keyword
    openbadges." The first iTXt per keyword wins; a legacy `tEXt` chunk ("the URL pointing to
    the hosted assertion was baked into a tEXt:openbadges chunk") is used only when there is
    no iTXt. Compressed iTXt chunks, which other bakers should not but may write, are read too.
    """
    found: dict[str, str] = {}
    legacy: dict[str, str] = {}
    for chunk in _read_chunks(png):
        keyword = chunk.keyword
        if keyword is None or keyword.decode("latin-1") not in BAKED_KEYWORDS:
            continue
        name = keyword.decode("latin-1")
        if chunk.kind == b"iTXt" and name not in found:
            found[name] = _itxt_text(bytes(chunk.data), name)
        elif chunk.kind == b"tEXt" and name not in legacy:
            legacy[name] = bytes(chunk.data[len(keyword) + 1:]).decode("latin-1")
    return {**{k: v for k, v in legacy.items() if k not in found}, **found}


def _itxt_text(data: bytes, name: str) -> str:
    # iTXt: keyword NUL, compression flag, compression method, language tag NUL, translated
    # keyword NUL, text.
    rest = data[len(name) + 1:]
    if len(rest) < 2:
        raise BakeError(f"corrupt iTXt chunk {name!r}: no compression fields")
    flag, method, rest = rest[0], rest[1], rest[2:]
    parts = rest.split(b"\x00", 2)
    if len(parts) != 3:
        raise BakeError(f"corrupt iTXt chunk {name!r}: language tag or translated keyword "
                        "is not terminated")
    text = parts[2]
    if flag == 1:
        if method != 0:
            raise BakeError(f"iTXt chunk {name!r} uses unknown compression method {method}")
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(text, MAX_TEXT_BYTES)
        except zlib.error as exc:
            raise BakeError(f"corrupt compressed iTXt chunk {name!r}: {exc}") from None
        if inflater.unconsumed_tail:
            raise BakeError(f"iTXt chunk {name!r} inflates to more than {MAX_TEXT_BYTES} bytes")
        if not inflater.eof:
            raise BakeError(f"corrupt compressed iTXt chunk {name!r}: the stream is cut off")
    elif flag != 0:
        raise BakeError(f"corrupt iTXt chunk {name!r}: compression flag {flag}")
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise BakeError(f"iTXt chunk {name!r} is not valid UTF-8") from None


# ---------------------------------------------------------------------------------------------
# SVG

SVG_NS = "http://www.w3.org/2000/svg"
# OB 2.0 baking: "add an xmlns:openbadges attribute to the <svg> tag with the value
# "http://openbadges.org". Directly after the <svg> tag, add an <openbadges:assertion> tag".
OB2_SVG_NS = "http://openbadges.org"
# OB 3.0 §5.3.2.3: "add an xmlns:openbadges attribute to the <svg> tag with the value
# "https://purl.imsglobal.org/ob/v3p0". Directly after the <svg> tag, add an
# <openbadges:credential> tag."
OB3_SVG_NS = "https://purl.imsglobal.org/ob/v3p0"
PREFIX = "openbadges"
_ELEMENTS = {OB2_KEYWORD: (OB2_SVG_NS, "assertion"), OB3_KEYWORD: (OB3_SVG_NS, "credential")}
_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
_URL = re.compile(r"^https?://\S+$")
_PREFIX_DECL = re.compile(rb"""\sxmlns:openbadges\s*=\s*("[^"]*"|'[^']*')""")
# A start tag up to its closing '>' ('>' is allowed inside quoted attribute values).
_TAG = re.compile(rb"""<([^\s/>]+)[^"'>]*(?:(?:"[^"]*"|'[^']*')[^"'>]*)*>""")


@dataclass
class _SvgScan:
    """What one parse of an SVG found, as byte offsets into its UTF-8 text."""

    root: re.Match[bytes] | None = None  # the opening <svg ...> tag
    baked: list[tuple[int, int]] = field(default_factory=list)  # elements to remove
    found: dict[str, str] = field(default_factory=dict)  # keyword → payload, first one wins
    prefix_used: bool = False  # the drawing itself uses the "openbadges" prefix


@dataclass
class _Baked:
    keyword: str
    start: int
    verify: str | None
    texts: list[str] = field(default_factory=list)
    depth: int = 0  # open child elements (their content counts as the body, as for StAX)


@functools.lru_cache(maxsize=32)
def _scan_badge_svg(text: bytes) -> _SvgScan:
    """`_scan_svg` of a badge image, once per image: every award of a badge bakes the same
    drawing (the result is only read, never changed)."""
    return _scan_svg(text)


def _scan_svg(text: bytes) -> _SvgScan:
    """Parse the SVG with expat, namespace aware; find the <svg> tag and baked elements."""
    scan = _SvgScan()
    parser = xml.parsers.expat.ParserCreate(encoding="utf-8", namespace_separator=" ")
    parser.namespace_prefixes = True  # names arrive as "uri local prefix"
    current: list[_Baked] = []  # the baked element being read, if any

    def start(name: str, attributes: dict[str, str]) -> None:
        if current:
            current[0].depth += 1
            return
        uri, local, prefix = (name.split(" ") + ["", ""])[:3] if " " in name else ("", name, "")
        if scan.root is None:
            if (uri, local) != (SVG_NS, "svg"):
                raise BakeError("the root element is not <svg> in the SVG namespace "
                                f'(add xmlns="{SVG_NS}")')
            scan.root = _TAG.match(text, parser.CurrentByteIndex)
        keyword = _baked_keyword(uri, local, prefix)
        if keyword is not None:
            current.append(_Baked(keyword, parser.CurrentByteIndex, attributes.get("verify")))
        elif PREFIX in [prefix] + [a.split(" ")[-1] for a in attributes if a.count(" ") == 2]:
            scan.prefix_used = True

    def end(name: str) -> None:
        if not current:
            return
        element = current[0]
        if element.depth:
            element.depth -= 1
            return
        tag = _TAG.match(text, element.start)
        assert tag is not None  # expat has just parsed this start tag
        if tag.group(0).endswith(b"/>"):
            stop = tag.end()
        else:  # expat's position for an end tag is its "</"
            stop = text.index(b">", parser.CurrentByteIndex) + 1
        scan.baked.append((element.start, stop))
        body = "".join(element.texts).strip()
        scan.found.setdefault(element.keyword, body or (element.verify or "").strip())
        current.clear()

    def characters(data: str) -> None:
        if current:
            current[0].texts.append(data)

    def declaration(version: str, encoding: str | None, standalone: int) -> None:
        if encoding and encoding.lower() != "utf-8":
            raise BakeError(f"the SVG declares encoding {encoding!r}; save it as UTF-8")

    def entity(*_: object) -> None:
        raise BakeError("the SVG declares entities; remove the DOCTYPE's internal subset")

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler, parser.XmlDeclHandler = characters, declaration
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(text, True)
    except xml.parsers.expat.ExpatError as exc:
        raise BakeError(f"the SVG is not well-formed XML ({exc})") from None
    return scan


def _baked_keyword(uri: str, local: str, prefix: str) -> str | None:
    """OB 2.0/3.0 keyword of a baked element, matched by namespace (as the 1EdTech validator
    does) or by the name `openbadges:assertion`/`…:credential` (as openbadges-bakery does)."""
    for keyword, (namespace, name) in _ELEMENTS.items():
        if local == name and (uri == namespace or prefix == PREFIX):
            return keyword
    return None


def _remove_spans(text: bytes, spans: list[tuple[int, int]]) -> bytes:
    """`text` without the spans, each with the line break and indentation just before it."""
    parts, offset = [], 0
    for start, end in sorted(spans):
        cut = start
        while cut > offset and text[cut - 1] in b" \t":
            cut -= 1
        if cut > offset and text[cut - 1] == ord("\n"):
            cut -= 1 + (cut > offset + 1 and text[cut - 2] == ord("\r"))
        parts.append(text[offset:cut])
        offset = end
    parts.append(text[offset:])
    return b"".join(parts)


def _cdata(text: str) -> str:
    # CDATA cannot contain "]]>"; digest §B.3: "escape as ]]]]><![CDATA[>".
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _json_for_cdata(text: str, what: str) -> str:
    """`text` checked to be a JSON object, with "]]>" written as "]]\\u003e".

    In valid JSON "]]>" can only occur inside a string, where "\\u003e" means the same ">".
    This keeps the JSON in one CDATA section: split sections ("]]]]><![CDATA[>") are read
    wrongly by openbadges-bakery (keeps the last section) and by non-coalescing StAX readers
    such as the 1EdTech validator's (keeps the first).
    """
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise BakeError(f"{what} is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise BakeError(f"{what} is not a JSON object")
    return text.replace("]]>", "]]\\u003e")


def _ob2_element(payload: str, declare: bool) -> tuple[str, str]:
    """(element, expected extract) for an OB 2.0 assertion: compact JWS or hosted JSON."""
    xmlns = f" xmlns:{PREFIX}={quoteattr(OB2_SVG_NS)}" if declare else ""
    if _JWS.match(payload):
        # "If a signature is being baked, no tag body is necessary and the tag should be self
        # closing."
        return f"<{PREFIX}:assertion{xmlns} verify={quoteattr(payload)}/>", payload
    # "The value of verify should either be a signed OpenBadges assertion or the URL from
    # verify.url in the badge assertion" (OB 2.0: the hosted assertion's id). "If an assertion
    # is being baked, the JSON representation of the assertion should go into the body of the
    # tag, wrapped in <![CDATA[...]]>."
    body = _json_for_cdata(payload, "the OB 2.0 assertion")
    url = json.loads(payload).get("id")
    if not isinstance(url, str) or not _URL.match(url):
        raise BakeError("a hosted OB 2.0 assertion needs its http(s) URL as 'id' (the SVG "
                        "verify attribute); bake a signed assertion as its compact JWS")
    return (f"<{PREFIX}:assertion{xmlns} verify={quoteattr(url)}>{_cdata(body)}"
            f"</{PREFIX}:assertion>", body)


def _ob3_element(payload: str, is_jwt: bool, declare: bool) -> tuple[str, str]:
    """(element, expected extract) for an OB 3.0 credential: VC-JWT or embedded-proof JSON."""
    xmlns = f" xmlns:{PREFIX}={quoteattr(OB3_SVG_NS)}" if declare else ""
    if is_jwt:
        if not _JWS.match(payload):
            raise BakeError("the OB 3.0 VC-JWT is not a compact JWS (header.payload.signature)")
        # "add a verify attribute to the <openbadges:credential> tag. The value of verify
        # attribute MUST be the Compact JWS string" (element left empty, as in the spec example).
        return (f"<{PREFIX}:credential{xmlns} verify={quoteattr(payload)}>"
                f"</{PREFIX}:credential>", payload)
    # "If an embedded proof method is used instead, omit the verify attribute, and the JSON
    # representation of the OpenBadgeCredential MUST go into the body of the tag, wrapped in
    # <![CDATA[...]]>."
    body = _json_for_cdata(payload, "the OB 3.0 credential")
    return f"<{PREFIX}:credential{xmlns}>{_cdata(body)}</{PREFIX}:credential>", body


def bake_svg(svg: str, ob2: str | None = None, ob3: str | None = None,
             ob3_is_jwt: bool = False) -> str:
    """`svg` with the OB 2.0 assertion and/or OB 3.0 credential baked in.

    `ob2`: compact JWS (signed; empty element, verify = JWS) or hosted assertion JSON
    (verify = its id, JSON in CDATA). `ob3`: credential JSON with embedded proof (CDATA), or a
    VC-JWT when `ob3_is_jwt` (verify = JWT, empty element). Existing baked elements are
    removed first; everything else is kept byte for byte. Both versions may share one file:
    the <svg> tag binds `openbadges` to the OB 3.0 namespace (to the OB 2.0 one when only OB
    2.0 is baked) and the OB 2.0 element re-binds the prefix on itself, so readers that match
    the qualified name `openbadges:assertion` (openbadges-bakery) and readers that match by
    namespace (the 1EdTech validator) both find their element. Raises BakeError.
    """
    if ob2 is None and ob3 is None:
        raise BakeError("nothing to bake: give an OB 2.0 assertion, an OB 3.0 credential or both")
    elements, expected = [], {}
    if ob3 is not None:
        element, expected[OB3_KEYWORD] = _ob3_element(ob3, ob3_is_jwt, declare=False)
        elements.append(element)
    if ob2 is not None:
        element, expected[OB2_KEYWORD] = _ob2_element(ob2, declare=ob3 is not None)
        elements.append(element)
    root_namespace = OB3_SVG_NS if ob3 is not None else OB2_SVG_NS

    text = svg.encode("utf-8")
    scan = _scan_badge_svg(text)
    assert scan.root is not None  # expat refuses a document without a root element
    if scan.prefix_used:
        raise BakeError(f"the drawing itself uses the '{PREFIX}' namespace prefix; rename it")
    opening, name = scan.root.group(0), scan.root.group(1)
    declaration = f" xmlns:{PREFIX}={quoteattr(root_namespace)}".encode()
    if _PREFIX_DECL.search(opening):
        opening = _PREFIX_DECL.sub(lambda _: declaration, opening, count=1)
    else:
        opening = b"<" + name + declaration + opening[1 + len(name):]
    inserted = "".join("\n" + element for element in elements).encode("utf-8")
    if opening.endswith(b"/>"):  # <svg .../> has no drawing to keep
        opening = opening[:-2].rstrip() + b">"
        inserted += b"\n</" + name + b">"
    rest = text[scan.root.end():]
    spans = [(start - scan.root.end(), end - scan.root.end()) for start, end in scan.baked]
    result = text[:scan.root.start()] + opening + inserted + _remove_spans(rest, spans)
    # Check our own work: the result parses and reads back exactly what we meant to bake.
    if _scan_svg(result).found != {key: _normal(value) for key, value in expected.items()}:
        raise BakeError("internal error: the baked SVG does not read back as baked")
    return result.decode("utf-8")


def _normal(text: str) -> str:
    # What an XML parser returns for text we wrote: line ends normalised (XML 1.0 §2.11), and
    # extract_svg trims the outer whitespace.
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def extract_svg(svg: str) -> dict[str, str]:
    """Keyword (`OB2_KEYWORD`, `OB3_KEYWORD`) → payload baked in `svg` ({} when none).

    "Parse the SVG until you reach the first <openbadges:assertion> tag" (first
    <openbadges:credential> for OB 3.0). "If the tag has no body, the verify attribute will
    contain the signature of the badge. If there is a body, it will be the JSON": the body
    (CDATA sections joined, outer whitespace trimmed) when it has any text, else `verify`.
    """
    return _scan_svg(svg.encode("utf-8")).found


def strip_svg(svg: str) -> str:
    """`svg` without baked elements; the `xmlns:openbadges` declaration is left in place."""
    text = svg.encode("utf-8")
    return _remove_spans(text, _scan_svg(text).baked).decode("utf-8")
