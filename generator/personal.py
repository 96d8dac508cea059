"""Personal data in published text: e-mail addresses and phone numbers.

Shared by the output guard (every file a build writes) and validation (every record text, so
`rugzak check` finds what a build would refuse and names the record and field). An address
is found in any script and any form a reader would see as one — see `email_addresses`; a
phone number in international or Dutch national form. Only the issuers' own published
`email` and `telephone` may appear.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from html.entities import html5
from typing import Iterator
from urllib.parse import unquote_to_bytes

# An address: a whole run of local-part characters (or a quoted local part), "@", then a
# domain with a dot and a TLD of two or more letters, or an IP literal in brackets. Letters,
# digits and marks may be any script's (internationalized addresses, RFC 6531). The text is
# read as a reader sees it: HTML character references (&#233; &eacute; &#64; &quot;) and JSON
# escapes (\u00e9, \") count as the characters they stand for.
#
# Matching runs on "shapes": an ASCII character is its own shape; any other character is
# replaced by one byte for its class. So raw ASCII text (nearly every address) is matched as it
# is, and decoding is only needed where an escape or a non-ASCII byte touches a candidate.
_LETTER, _NUMBER, _MARK, _SYMBOL, _CONTROL = 0x80, 0x81, 0x82, 0x83, 0x00
_SHAPE_OF_CATEGORY = {"L": _LETTER, "N": _NUMBER, "M": _MARK, "P": _SYMBOL, "S": _SYMBOL,
                      "Z": _SYMBOL}  # C (control, format, surrogate, unassigned): _CONTROL
# Characters that IDNA allows inside a label although they are no letters (RFC 5892 CONTEXTJ
# and CONTEXTO): the zero-width (non-)joiner of Persian and Indic words, Catalan "l·l", the
# Greek keraia, Hebrew geresh and gershayim, the katakana middle dot. Taken as marks, so that
# "joan@col·legi.cat" is not cut short at "col".
_IN_WORD = dict.fromkeys("\u200c\u200d\u00b7\u0375\u05f3\u05f4\u30fb", _MARK)
_LOCAL_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-"
_LOCAL_SHAPES = frozenset(_LOCAL_CHARS + bytes([_LETTER, _NUMBER, _MARK]))
_WORD_SHAPES = frozenset(_LOCAL_CHARS[:62] + bytes([_LETTER, _NUMBER, _MARK]))
_DOMAIN_SHAPES = frozenset(_LOCAL_CHARS[:62] + b".-[]:" + bytes([_LETTER, _NUMBER, _MARK]))
# inside quotes: printable ASCII but '"', "\", "<", ">" and "@" (which would make a quoted
# part overlap the address found at that "@"), and any other character but control ones
_QUOTED_SHAPES = frozenset(set(range(0x20, 0x7F)) - set(b'"\\<>@')
                           | {_LETTER, _NUMBER, _MARK, _SYMBOL})
_QUOTED_MAX = 64  # characters between the quotes (RFC 5321's limit for a local part)
# A domain: labels of letters, digits, marks and "-", and a TLD of two or more letters (marks
# may follow them: Devanagari ".भारत"); or an IP literal: [192.0.2.1], [IPv6:2001:db8::1].
_W = rb"A-Za-z0-9\x80-\x82"  # letters, digits, marks
_L = rb"A-Za-z\x80"  # letters
_DOMAIN_PART = re.compile(
    rb"[%s-]+(?:\.[%s-]+)*\.[%s]\x82*[%s][%s\x82]*" % (_W, _W, _L, _L, _L)
    + rb"|\[(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|(?:[Ii][Pp][Vv]6:)?[0-9A-Fa-f]*"
      rb"(?::[0-9A-Fa-f.]*){2,8})\]")
# The bytes an ASCII-only domain or IP literal is made of; a run of them followed by none of
# "&", "\" or a non-ASCII byte is matched as it is, without decoding.
_PLAIN_DOMAIN = re.compile(rb"[A-Za-z0-9.\-\[\]:]*")
_DECODE_STARTS = frozenset(b"&\\" + bytes(range(0x80, 0x100)))
_ENTITY = re.compile(rb"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});")
_ENTITY_MAX = 34  # "&" + the longest HTML5 entity name (32) + ";"
_JSON_ESCAPE = re.compile(rb'\\u([0-9a-fA-F]{4})|\\"')
# Every form of "@" — escaped, or the full-width "＠" and small "﹫" that read as one; a
# pattern with several possible first bytes is searched for slowly, so it is only used in a
# file that has such a form.
_WIDE_AT_SIGNS = ("\uff20".encode(), "\ufe6b".encode())
_AT_SIGN = re.compile(rb"@|&#(?:0*64|[xX]0*40);|&commat;|\\u0040|" +
                      b"|".join(_WIDE_AT_SIGNS))
# An address in a URL, with its "@" percent-encoded (?user=jan%40example.org): the run of
# URL characters around each "%40" is decoded and searched again.
_PERCENT_AT = b"%40"
_URL_DOMAIN_CHARS = _LOCAL_CHARS[:62] + b".-%"
# Whether a file has an escaped "@" at all is asked of each "&" in turn: finding one byte is
# ~15 times faster than a regex search for a pattern (or "&#64;" as a substring), and most
# files have no "&" or a few ("&amp;" in a URL); the search takes over after the first 32.
_ESCAPED_AT_ENTITY = re.compile(rb"&(?:#(?:0*64|[xX]0*40)|commat);")
_AMPERSANDS_ONE_BY_ONE = 32
_ESCAPED_AT_JSON = re.compile(rb"\\u0040")  # (a regex search: faster than `in` for this one)
# What may stand before the closing quote of a quoted local part: a letter or digit, the end
# of an escape (&#233; \u00e9) or of a non-ASCII character, or the "\" of \". Other "@"s
# after a quote ("@context", "@id" in every JSON-LD file) are passed over at once.
_QUOTED_TAIL = frozenset(_LOCAL_CHARS[:62] + b";\\" + bytes(range(0x80, 0x100)))
# International (+31 6 1234 5678, 0031…) or national with a leading 0 (06-12345678,
# 010 123 4567); never inside a longer token, so hashes, keys and ids do not match — nor
# the start of a UUID whose first groups happen to be digits (urn:uuid:00469673-7327-5433-…),
# hence no hyphen may follow.
_PHONE_LIKE = re.compile(rb"(?<![\w$/+=.-])(?:(?:\+|00)[1-9]\d{0,2}[ -]?\d(?:[ -]?\d){6,11}"
                         rb"|0\d{1,3}[ -]\d(?:[ -]?\d){5,8}|06-?\d{8})(?![\w-])")
# Every phone match is at least eight characters of "+", digits, "-" and space, so it lies
# inside a run of them (`phone_runs`). Finding the runs first is much faster on text full of
# short numbers (SVG path data, CSS); the full pattern then runs on each run alone, with one
# character of context either side for its look-behind and look-ahead.
_PHONE_RUN_TEXT = re.compile(r"[+0-9][0-9 +-]{7,}", re.ASCII)
# Those characters marked "1", every other byte "0": runs are then found by `bytes.find` (a
# regular expression tried every digit of a badge's SVG coordinates, ~80 µs a file)
_RUN_MARKS = bytes(0x31 if byte in b"+0123456789 -" else 0x30 for byte in range(256))
_RUN_MIN = b"1" * 8
PRIVACY_HINT = ("remove it from the records (narratives, evidence, criteria); an address "
                 "meant to be public belongs in an issuer's email/telephone")


def _normal(address: str) -> str:
    """An address as it is compared: lower case, and composed (NFC), so that "jürgen" typed
    with a combining diaeresis is the same address as with "ü"."""
    return unicodedata.normalize("NFC", address).lower()


def _digits(text: bytes | str) -> str:
    value = text.decode() if isinstance(text, bytes) else text
    return re.sub(r"\D", "", value.replace("+", "00", 1) if value.startswith("+") else value)


@functools.cache
def _shape(char: str) -> int:
    """The byte a character is matched as (see above)."""
    if len(char) != 1:  # a few HTML5 entities stand for two characters (none a letter)
        return _SYMBOL
    if char < "\x80":
        return ord(char)
    return _IN_WORD.get(char) or _SHAPE_OF_CATEGORY.get(unicodedata.category(char)[0], _CONTROL)


def _entity_char(entity: bytes) -> str | None:
    """What an HTML character reference `&…;` stands for; None for an unknown name."""
    if entity[1:2] != b"#":
        return html5.get(entity[1:].decode("ascii"))
    code = int(entity[3:-1], 16) if entity[2:3] in b"xX" else int(entity[2:-1])
    return chr(code) if code <= 0x10FFFF else "\ufffd"


def _token_at(data: bytes, at: int) -> tuple[int, str]:
    """The character that starts at `at`, decoded, and where its bytes end."""
    byte = data[at]
    if byte == 0x26:  # "&"
        entity = _ENTITY.match(data, at)
        char = _entity_char(entity.group()) if entity else None
        if entity and char:
            return entity.end(), char
    elif byte == 0x5C:  # "\"
        escape = _JSON_ESCAPE.match(data, at)
        if escape:
            if not escape.group(1):
                return at + 2, '"'
            code = int(escape.group(1), 16)
            if 0xD800 <= code < 0xDC00:  # a character outside the BMP: a surrogate pair
                low = _JSON_ESCAPE.match(data, at + 6)
                if low and low.group(1) and 0xDC00 <= int(low.group(1), 16) < 0xE000:
                    code = 0x10000 + ((code - 0xD800) << 10) + int(low.group(1), 16) - 0xDC00
                    return at + 12, chr(code)
            return at + 6, chr(code)
    elif byte >= 0x80:
        size = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
        try:
            return at + size, data[at:at + size].decode()
        except UnicodeDecodeError:
            pass
    return at + 1, chr(byte) if byte < 0x80 else "\ufffd"


def _token_before(data: bytes, end: int, lo: int) -> tuple[int, str]:
    """The character whose bytes end at `end` (and start at `lo` or later), decoded, and where
    its bytes start. Escapes are recognised from their end exactly as `_token_at` reads them
    from their start: none can contain another's first byte."""
    byte = data[end - 1]
    if byte == 0x3B:  # ";": the end of a character reference?
        amp = data.rfind(b"&", max(lo, end - _ENTITY_MAX), end - 1)
        if amp >= 0 and _ENTITY.fullmatch(data, amp, end):
            char = _entity_char(data[amp:end])
            if char:
                return amp, char
    elif byte == 0x22 and end - 2 >= lo and data[end - 2] == 0x5C:
        return end - 2, '"'
    elif end - 6 >= lo and data[end - 6] == 0x5C and _JSON_ESCAPE.fullmatch(data, end - 6, end):
        code = int(data[end - 4:end], 16)
        if 0xDC00 <= code < 0xE000 and end - 12 >= lo and data[end - 12] == 0x5C:
            high = _JSON_ESCAPE.fullmatch(data, end - 12, end - 6)
            if high and 0xD800 <= int(high.group(1), 16) < 0xDC00:
                return end - 12, _token_at(data, end - 12)[1]
        return end - 6, chr(code)
    elif byte >= 0x80:
        for size in (2, 3, 4):
            if end - size < lo:
                break
            try:
                return end - size, data[end - size:end].decode()
            except UnicodeDecodeError:
                continue
        return end - 1, "\ufffd"
    return end - 1, chr(byte)


def _decode(data: bytes, start: int, end: int) -> str:
    """data[start:end] as a reader sees it (escapes decoded)."""
    chars = []
    while start < end:
        start, char = _token_at(data, start)
        chars.append(char)
    return "".join(chars)


def _run_start(data: bytes, at: int, lo: int) -> tuple[int, bool]:
    """Where the run of local-part characters that ends at `at` starts (`lo` at the earliest),
    and whether it is plain ASCII (no escapes, nothing to decode)."""
    start, plain = at, True
    while start > lo:
        if data[start - 1] in _LOCAL_CHARS:
            # ASCII at C speed, a window at a time: a long file is not copied for each "@"
            window = max(lo, start - 256)
            start = window + len(data[window:start].rstrip(_LOCAL_CHARS))
            continue
        # "\" then "u" and four hex digits, stripped above as local-part characters:
        if data[start - 1] == 0x5C and data[start:start + 1] == b"u":
            token_start, char = _token_before(data, min(start + 5, at), lo)
            if token_start < start:  # (a JSON escape indeed)
                if _shape(char) not in _LOCAL_SHAPES:
                    return start + 5, plain  # the run begins after it
                start, plain = token_start, False
                continue
            return start, plain
        token_start, char = _token_before(data, start, lo)
        if _shape(char) not in _LOCAL_SHAPES:
            break
        start, plain = token_start, False
    return start, plain


def _quoted_part(data: bytes, at: int, lo: int) -> str | None:
    """The quoted local part ("jan doe") that ends at `at` (and starts at `lo` or later),
    decoded, if there is one. Its first and last characters must be letters, digits or marks:
    that keeps out the quote before
    "@" in JSON ("x": "@context"), attribute values (title="@rugzak.nl") and script
    ("a" + "@b.org"), where the text up to the previous quote is ': ', ' title=', ' + '."""
    close, char = _token_before(data, at, lo)
    if char != '"':
        return None
    content: list[str] = []
    end = close
    while end > lo and len(content) <= _QUOTED_MAX:
        start, char = _token_before(data, end, lo)
        if char == '"':
            if content and _shape(content[-1]) in _WORD_SHAPES:
                return '"' + "".join(reversed(content)) + '"'
            return None
        shape = _shape(char)
        if shape not in _QUOTED_SHAPES or (not content and shape not in _WORD_SHAPES):
            return None
        content.append(char)
        end = start
    return None


def _domain_at(data: bytes, at: int) -> tuple[int, bytes, bool] | None:
    """The domain or IP literal that starts at `at`, if any: where it ends, its text (decoded),
    and whether its last character is a local-part one (a letter, not "]")."""
    run = _PLAIN_DOMAIN.match(data, at).end()
    if run == len(data) or data[run] not in _DECODE_STARTS:
        found = _DOMAIN_PART.match(data, at, run)
        return (found.end(), found.group(), data[found.end() - 1] != 0x5D) if found else None
    # the plain ASCII part as it is, then character by character from the first escape or
    # non-ASCII byte
    chars: list[str] = list(data[at:run].decode("ascii"))
    ends: list[int] = list(range(at + 1, run + 1))
    shapes = bytearray(data[at:run])
    end = run
    while end < len(data):
        next_end, char = _token_at(data, end)
        shape = _shape(char)
        if shape not in _DOMAIN_SHAPES:
            break
        chars.append(char)
        ends.append(next_end)
        shapes.append(shape)
        end = next_end
    found = _DOMAIN_PART.match(shapes)
    if not found:
        return None
    size = found.end()
    return ends[size - 1], "".join(chars[:size]).encode(), shapes[size - 1] != 0x5D


def _has_escaped_at(data: bytes) -> bool:
    """Whether `data` has &#64;, &#x40;, &commat;, \\u0040 (see _ESCAPED_AT_ENTITY), or a
    wide "@"."""
    if any(sign in data for sign in _WIDE_AT_SIGNS):
        return True
    amp = data.find(b"&")
    for _ in range(_AMPERSANDS_ONE_BY_ONE):
        if amp < 0:
            break
        if _ESCAPED_AT_ENTITY.match(data, amp):
            return True
        amp = data.find(b"&", amp + 1)
    else:
        if amp >= 0 and _ESCAPED_AT_ENTITY.search(data, amp):
            return True
    return b"\\" in data and _ESCAPED_AT_JSON.search(data) is not None


def _at_signs(data: bytes) -> Iterator[tuple[int, int]]:
    """Where each "@" starts and ends: "@" itself, &#64;, &#x40;, &commat;, \\u0040, "＠"
    or "﹫"."""
    if _has_escaped_at(data):
        for found in _AT_SIGN.finditer(data):
            yield found.start(), found.end()
        return
    at = data.find(b"@")
    while at >= 0:
        yield at, at + 1
        at = data.find(b"@", at + 1)


def email_addresses(data: bytes) -> Iterator[bytes]:
    """Every e-mail-like address in `data`, decoded (UTF-8): what the reference pattern in
    tests/test_guard.py finds in the text with its escapes decoded — a whole run of
    local-part characters or a quoted local part, "@", a domain or IP literal — but found from
    each "@" instead of by trying the pattern at every word (JSON-LD files have an "@" in every
    "@context"), and decoding only around an "@" that escapes or non-ASCII text touch."""
    end = 0  # where the last address ended: the next starts there at the earliest
    end_local = False  # whether it ended in a local-part character (a letter of its TLD)
    for at, after in _at_signs(data):
        if at <= end:
            continue  # right after the last address: no local part of its own
        byte = data[at - 1]
        local: bytes | str | None = None
        if byte in _LOCAL_CHARS or byte >= 0x80 or byte == 0x3B:  # (";" may end &eacute;)
            start, plain = _run_start(data, at, end)
            # a run that reaches back to the last address began inside it: it does not count
            if start < at and not (start == end and end_local):
                local = data[start:at] if plain else _decode(data, start, at)
        if local is None and byte in b'";2' and at - 2 >= end and data[at - 2] in _QUOTED_TAIL:
            local = _quoted_part(data, at, end)  # ('"', or the end of &quot; &#34; \u0022)
        if local is None:
            continue
        domain = _domain_at(data, after)
        if domain:
            end, text, end_local = domain
            if isinstance(local, str):
                local = local.encode("utf-8", "replace")
            yield local + b"@" + text


def percent_encoded_addresses(data: bytes) -> Iterator[bytes]:
    """Addresses whose "@" is percent-encoded, as in a URL's query (?u=jan%40example.org):
    the run of URL characters around each "%40", percent-decoded, searched again."""
    at, end = data.find(_PERCENT_AT), 0
    while at >= 0:
        start = at
        while start > end and data[start - 1] in _LOCAL_CHARS:  # (never into the last run)
            start -= 1
        end = at + 3
        while end < len(data) and data[end] in _URL_DOMAIN_CHARS:
            end += 1
        yield from email_addresses(unquote_to_bytes(data[start:end]))
        at = data.find(_PERCENT_AT, end)


class Contacts:
    """The e-mail addresses and phone numbers the privacy guard knows: learners' (never to be
    published) and the issuers' own (published on purpose)."""

    def __init__(self) -> None:
        self.learner_emails: set[str] = set()
        self.public_emails: set[str] = set()
        self.public_phones: set[str] = set()

    def add_learner(self, email: str) -> None:
        self.learner_emails.add(_normal(email))

    def add_public(self, email: str | None, telephone: str | None) -> None:
        if email:
            self.public_emails.add(_normal(email))
        if telephone:
            digits = _digits(telephone)
            self.public_phones.add(digits)
            if digits.startswith("0031"):  # also as dialled within the Netherlands
                self.public_phones.add("0" + digits[4:])


def may_hold_personal_data(text: str) -> bool:
    """A quick test for texts that need no `personal_data` call: False only when that would
    find nothing (no "@", no escape that could spell one, no phone-like run of digits)."""
    return ("@" in text or "&" in text or "\\" in text or "%40" in text or "\uff20" in text
            or "\ufe6b" in text or _PHONE_RUN_TEXT.search(text) is not None)


def phone_runs(data: bytes) -> Iterator[tuple[int, int]]:
    """Where `data` has runs of at least eight "+", digits, "-" or spaces (start, end):
    every phone-like number in it lies inside one."""
    marks = data.translate(_RUN_MARKS)
    start = marks.find(_RUN_MIN)
    while start >= 0:
        end = marks.find(b"0", start)
        if end < 0:
            end = len(data)
        yield start, end
        start = marks.find(_RUN_MIN, end)


def personal_data(data: bytes, contacts: Contacts) -> str | None:
    """The first e-mail address or phone number in `data` that is not an issuer's published
    one, described for a message ("the e-mail address 'x'"); None when there is none. Used
    on every output file, and by validation on record texts (so `rugzak check` finds what
    the build would refuse, and names the record and field)."""
    for found in itertools.chain(email_addresses(data), percent_encoded_addresses(data)):
        address = _normal(found.decode("utf-8", "replace"))
        if address in contacts.learner_emails:
            return "a learner's identifier (e-mail address)"
        if address not in contacts.public_emails:
            return f"the e-mail address {found.decode('utf-8', 'replace')!r}"
    for start, end in phone_runs(data):
        for match in _PHONE_LIKE.finditer(data, start, end + 1):
            if _digits(match.group()) not in contacts.public_phones:
                return f"the phone number {match.group().decode()!r}"
    return None
