"""Validate loaded records: field types, unknown keys, unique ids and cross-references.

Input: `LoadedContent` (plain values + line numbers). Output: cleaned values (dates as aware
datetimes, localized text as `{lang: str}`, URLs checked, image files sniffed) and every problem
found, all at once, each with `path:line` and a hint.
"""

from __future__ import annotations

import calendar
import functools
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlsplit

from generator.errors import Diagnostic, Suggestions, did_you_mean, shown
from generator.images import ImageProblem, inspect_image
from generator.validate_extra import (StructuredFields, check_signed_endorsement,
                                      cross_check_paths, unreadable)
from generator.cleaned import KEPT_KINDS, context_digest, keep_values, kept_values
from generator.load import FieldPath, LoadedContent, LoadError, RawRecord
from generator.personal import PRIVACY_HINT, Contacts, may_hold_personal_data, personal_data
from generator.schema import (DID_PATTERN, DURATION_PATTERN, LINE_CONTROLS, MAX_SLUG_LENGTH,
                              MAX_YEAR, MIN_YEAR, ONE_LINE_FIELDS, REVOCATION_SPECS,
                              SPECS, STATUS_LIST_BITS, TEXT_CONTROLS, FieldSpec, is_safe_id)

_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# OB 2.0 validator: email "must match ^[^@\s]+@[^@\s]+$"; we also ask for a dot in the domain.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TELEPHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164, as OB 2.0 `telephone` asks
_DID = re.compile(DID_PATTERN)
_DURATION = re.compile(DURATION_PATTERN)
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")  # \s: what str.isspace calls space
_TEXT_CONTROL = re.compile(f"[{TEXT_CONTROLS}]")
_LINE_CONTROL = re.compile(f"[{LINE_CONTROLS}]")
# Python-Markdown parses nested lists recursively: a line nested a few hundred levels deep
# (`- - - … x`, or ever deeper indentation) exhausts Python's recursion limit when the page
# is rendered. A level takes at least one character of indentation or markers, so only a
# line whose run of them is longer than the limit needs a closer look (`_too_deep`).
MAX_MARKDOWN_NESTING = 50
_NESTED_PREFIX = re.compile(r"^[ \t>*+\-.)0-9]{%d,}" % (MAX_MARKDOWN_NESTING + 1), re.MULTILINE)
_LIST_MARKER = re.compile(r"(?:[-*+]|[0-9]{1,9}[.)])(?=[ \t])")
# Python-Markdown tries its link patterns from every "[" onwards: time grows with the square
# of their number (500 in one text take 0.05 s, 12,000 took 19 s; 1 MB would take days).
MAX_MARKDOWN_BRACKETS = 500
DEFAULT_LANGUAGES = ("nl", "en")


@dataclass(frozen=True, slots=True)
class CleanRecord:
    """A record whose fields passed validation, with normalised values."""

    kind: str
    id: str
    path: Path
    display: str
    values: dict[str, Any]
    body: str | None = None


@dataclass(frozen=True)
class ValidContent:
    """All records of a site, validated and cross-checked (awards only when they were not
    handed over one by one as they were checked: see `validate_content`)."""

    root: Path
    site: CleanRecord
    records: tuple[CleanRecord, ...]
    revocations: dict[str, dict[str, Any]] = field(default_factory=dict)
    status_indices: dict[str, int] = field(default_factory=dict)

    def of_kind(self, kind: str) -> tuple[CleanRecord, ...]:
        """Records of one kind, in file-name order."""
        return tuple(r for r in self.records if r.kind == kind)


class _Checker(StructuredFields):
    """Collects diagnostics for one record while its fields are cleaned."""

    def __init__(self, record: RawRecord, languages: tuple[str, ...], root: Path,
                 now: datetime | None = None, contacts: Contacts | None = None):
        self.record, self.langs, self.root, self.now = record, languages, root, now
        self.problems: list[Diagnostic] = []
        # learners' and issuers' addresses, to find personal data in texts (see `text`)
        self.contacts = contacts

    def error(self, path: FieldPath, message: str, hint: str = "") -> None:
        self.problems.append(Diagnostic(self.record.display, self.record.line_of(path),
                                        message, hint))

    def _publishable(self, path: FieldPath, text: str, name: str, one_line: bool,
                     markdown: bool = False) -> bool:
        """Whether `text` is free of control characters (see `_text_problem`); if not, the
        problem is reported."""
        if not markdown and (_LINE_CONTROL if one_line else _TEXT_CONTROL).search(text) is None:
            return True  # the common case, without a call: this runs on every text
        problem = _text_problem(text, one_line, markdown)
        if problem is not None:
            self.error(path, f"'{name}' {problem[1]}", problem[2])
        return problem is None

    def _private(self, path: FieldPath, text: str, name: str) -> None:
        """Report personal data in a text that will be published (what the output guard
        would refuse at the end of a build, found here with its record and field)."""
        if self.contacts is None or not may_hold_personal_data(text):
            return  # the common case, without a call: this runs on every text
        found = personal_data(text.encode("utf-8", "surrogatepass"), self.contacts)
        if found is not None:
            self.error(path, _published(name, found), PRIVACY_HINT)

    # -- field types ----------------------------------------------------------------------
    def text(self, path: FieldPath, value: Any, name: str, markdown: bool = False
             ) -> dict[str, str] | None:
        """Text in the default language or per language; names are one line (see
        `ONE_LINE_FIELDS`), Markdown is checked for nesting too."""
        one_line = not markdown and bool(path) and path[-1] in ONE_LINE_FIELDS
        if isinstance(value, str):
            if not value.strip():
                return self._empty(path, name)
            if not self._publishable(path, value, name, one_line, markdown):
                return None
            self._private(path, value, name)
            return {self.langs[0]: value}
        if isinstance(value, dict):
            result: dict[str, str] = {}
            for lang, text in value.items():
                if lang not in self.langs:
                    self.error(path + (lang,), f"'{name}' has text in language {shown(str(lang))}, "
                               f"which the site does not use",
                               f"site languages: {', '.join(self.langs)}; "
                               + did_you_mean(str(lang), self.langs))
                elif not isinstance(text, str) or not text.strip():
                    self.error(path + (lang,), f"'{name}.{lang}' must be non-empty text")
                elif self._publishable(path + (lang,), text, f"{name}.{lang}", one_line,
                                       markdown):
                    self._private(path + (lang,), text, f"{name}.{lang}")
                    # keyed by the site's own string: one "nl" for all records, not one each
                    result[self.langs[self.langs.index(lang)]] = text
            if self.langs[0] not in value:
                self.error(path, f"'{name}' has no text in the default language "
                           f"'{self.langs[0]}'", "the default language is the fallback "
                           "for every other language, so it is required")
                return None
            return result if len(result) == len(value) else None
        self.error(path, f"'{name}' must be text or a mapping per language "
                   f"({{{self.langs[0]}: …}}), not {_describe(value)}")
        return None

    def _empty(self, path: FieldPath, name: str) -> None:
        self.error(path, f"'{name}' must not be empty")
        return None

    def string(self, path: FieldPath, value: Any, name: str) -> str | None:
        """One line of text (also the base of every other text-valued field type)."""
        if not isinstance(value, str):
            self.error(path, f"'{name}' must be text, not {_describe(value)}",
                       "put the value in quotes")
            return None
        if not value.strip():
            return self._empty(path, name)
        if _LINE_CONTROL.search(value) is None:  # (the common case, without a call)
            return value
        return value if self._publishable(path, value, name, one_line=True) else None

    def url(self, path: FieldPath, value: Any, name: str) -> str | None:
        text = self.string(path, value, name)
        if text is None:
            return None
        problem = url_problem(text)
        if problem:
            self.error(path, f"'{name}' is not a valid URL: {problem}",
                       "write a full address such as https://example.org/")
            return None
        self._private(path, text, name)  # (?user=jan%40example.org, mailto:)
        return text

    def email(self, path: FieldPath, value: Any, name: str) -> str | None:
        text = self.string(path, value, name)
        if text is not None and not _EMAIL.fullmatch(text.strip()):
            self.error(path, f"'{name}' is not an e-mail address: {text!r}")
            return None
        return text.strip() if text else None

    def recipient(self, path: FieldPath, value: Any, name: str) -> str | None:
        text = self.string(path, value, name)
        if text is None:
            return None
        text = text.strip()
        if _EMAIL.fullmatch(text) or _DID.fullmatch(text) or (text.startswith(("http://", "https://"))
                                                      and not url_problem(text)):
            return text
        self.error(path, f"'{name}' must be an e-mail address, a URL or a DID, not {text!r}",
                   "for example name@example.org")
        return None

    def did(self, path: FieldPath, value: Any, name: str) -> str | None:
        text = self.string(path, value, name)
        if text is not None and not _DID.fullmatch(text):
            self.error(path, f"'{name}' is not a DID (did:method:identifier): {text!r}")
            return None
        return text

    def duration(self, path: FieldPath, value: Any, name: str) -> tuple[int, int] | None:
        text = self.string(path, value, name)
        match = _DURATION.fullmatch(text or "")
        if text is None or not match or not any(match.groups()):
            if text is not None:
                self.error(path, f"'{name}' must be an ISO 8601 period such as P2Y, P18M or "
                           f"P90D, not {text!r}")
            return None
        groups = [g[:-1].lstrip("0") if g else "" for g in match.groups()]
        # more than 9 digits is too long in any case (and int() refuses 4,300 digits)
        too_long = any(len(g) > 9 for g in groups)
        groups = [g or "0" for g in groups]
        years, months, days = (0, 0, 0) if too_long else (int(g) for g in groups)
        months += years * 12
        if months == 0 and days == 0 and not too_long:  # as 'expires' must be after 'issued'
            self.error(path, f"'{name}' must be longer than zero, not {text!r}",
                       "leave it out for awards that do not expire")
            return None
        # awards are issued up to now, so none of them can expire later than an award
        # issued now would
        if too_long or (self.now is not None
                        and _expiry_year(self.now, months, days) > MAX_YEAR):
            self.error(path, f"'{name}' {text!r} is too long: an award issued now would "
                       f"expire after the year {MAX_YEAR}",
                       "leave it out for awards that do not expire")
            return None
        return months, days

    def digits(self, path: FieldPath, value: Any, name: str) -> str | None:
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(text, str) or not re.fullmatch(r"[0-9]{1,20}", text):
            self.error(path, f"'{name}' must be a number such as 1337, not {value!r}")
            return None
        return text

    def colour(self, path: FieldPath, value: Any, name: str) -> str | None:
        text = self.string(path, value, name)
        if text is not None and not re.match(r"^#[0-9a-fA-F]{6}$", text):
            self.error(path, f"'{name}' must be a colour like '#1f6f8b', not {text!r}",
                       "put it in quotes: '#' starts a comment in YAML")
            return None
        return text.lower() if text else None

    def telephone(self, path: FieldPath, value: Any, name: str) -> str | None:
        text = self.string(path, value, name)
        if text is not None and not _TELEPHONE.fullmatch(text):
            self.error(path, f"'{name}' must be an international number such as "
                       f"+31101234567 (E.164), not {text!r}")
            return None
        return text

    def slug(self, path: FieldPath, value: Any, name: str) -> str | None:
        text = self.string(path, value, name)
        if text is None:
            return None
        if not is_safe_id(text):
            self.error(path, f"'{name}' must be lowercase letters, digits and single hyphens "
                       f"(at most {MAX_SLUG_LENGTH}), not {text!r}",
                       f"for example '{suggest_slug(text)}'")
            return None
        return text

    def date(self, path: FieldPath, value: Any, name: str) -> datetime | None:
        result = parse_date(value)
        if isinstance(result, str):
            self.error(path, f"'{name}' {result}",
                       "check the year" if result.startswith(_OUT_OF_RANGE) else
                       "write YYYY-MM-DD or 2025-03-01T09:00:00Z (with a time zone)")
            return None
        return result

    def path(self, path: FieldPath, value: Any, name: str) -> Path | None:
        text = self.string(path, value, name)
        if text is None:
            return None
        try:
            return self._image(path, text, name)
        except (OSError, RuntimeError) as exc:  # a name too long, a link loop, no permission
            self.error(path, f"'{name}' {text!r} cannot be read: {unreadable(exc)}")
            return None

    def _image(self, path: FieldPath, text: str, name: str) -> Path | None:
        """The image file `text` names, inside the content folder and safe to publish."""
        target = (self.record.path.parent / text)
        if text.startswith(("/", "\\")) or not target.resolve().is_relative_to(
                self.root.resolve()):
            self.error(path, f"'{name}' points outside the content folder: {text!r}",
                       "give a path relative to the record, inside the content folder")
            return None
        if os.path.lexists(target) and not target.is_file():  # a folder, pipe or dead link
            self.error(path, f"'{name}' {text!r} is not a regular file",
                       "give the name of an image file (PNG or SVG)")
            return None
        if not target.is_file():
            siblings = [p.name for p in target.parent.glob("*")] if target.parent.is_dir() else []
            self.error(path, f"'{name}' file not found: {text!r}", did_you_mean(text, siblings))
            return None
        try:
            inspect_image(target)
        except ImageProblem as exc:
            self.error(path, f"'{name}' {text!r}: {exc}", exc.hint)
            return None
        return target

    def enum(self, path: FieldPath, value: Any, spec: FieldSpec) -> str | None:
        if value not in spec.choices:
            self.error(path, f"'{spec.name}' must be one of {', '.join(spec.choices)}, "
                       f"not {value!r}", did_you_mean(str(value), spec.choices))
            return None
        return value

    def tags(self, path: FieldPath, value: Any, name: str) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.error(path, f"'{name}' must be a list, not {_describe(value)}")
            return None
        items = [self.string(path + (i,), v, f"{name}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if None not in items else None  # type: ignore[arg-type]

    def languages(self, path: FieldPath, value: Any, name: str) -> tuple[str, ...] | None:
        if not isinstance(value, list) or not value:
            self.error(path, f"'{name}' must be a non-empty list such as [nl, en]")
            return None
        ok = all(isinstance(v, str) and _LANGUAGE.fullmatch(v) for v in value)
        if not ok or len(set(value)) != len(value):
            self.error(path, f"'{name}' must list distinct two- or three-letter language "
                       f"codes such as [nl, en], not {value!r}")
            return None
        return tuple(value)

    def evidence(self, path: FieldPath, value: Any, name: str) -> tuple[dict, ...] | None:
        if not isinstance(value, list):
            self.error(path, f"'{name}' must be a list of URLs or {{url, name}} items")
            return None
        items: list[dict[str, Any]] = []
        for i, item in enumerate(value):
            where = path + (i,)
            if isinstance(item, str):
                url = self.url(where, item, f"{name}[{i}]")
                items.append({"url": url})
                continue
            if not isinstance(item, dict):
                self.error(where, f"'{name}[{i}]' must be a URL or a {{url, name}} mapping")
                continue
            for key in item:
                if key not in ("url", "name", "description"):
                    self.error(where + (key,), f"unknown field {shown(key)} in '{name}[{i}]'",
                               did_you_mean(str(key), ("url", "name", "description")))
            if "url" not in item:
                self.error(where, f"'{name}[{i}]' needs a 'url'")
                continue
            entry = {"url": self.url(where + ("url",), item["url"], f"{name}[{i}].url")}
            for key in ("name", "description"):
                if key in item:
                    entry[key] = self.text(where + (key,), item[key], f"{name}[{i}].{key}")
            items.append(entry)
        if any(None in e.values() for e in items) or len(items) != len(value):
            return None
        return tuple(items)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"yes/no ({value})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, (date, datetime)):
        return f"a date ({value})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing (empty)"
    return repr(value)


def url_problem(text: str) -> str:
    """Why `text` is not an absolute http(s) URL we can publish, or '' if it is fine."""
    if _SPACE_OR_CONTROL.search(text):
        return "it contains spaces or control characters"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https"):
        return "it must start with http:// or https://"
    if not parts.hostname:
        return "it has no host name"
    if parts.username or parts.password:
        return "it must not contain a user name or password"
    return ""


# a host name as DNS and did:web have it: ASCII labels of letters, digits and inner hyphens
_DNS_HOST = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")


def _base_url_problem(url: str) -> str:
    """What makes an otherwise valid URL unusable as the site's address (every JSON id and
    the did:web DID are made from it), or ''."""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        return "must not have a ?query or #fragment"
    host = parts.hostname or ""
    if _DNS_HOST.match(host) or host.replace(".", "").isdigit() or ":" in host:
        return ""  # a DNS name, an IPv4 address or an [IPv6] literal
    if host.isascii():
        return f"has a host name that is not a valid DNS name: {host!r}"
    try:
        ascii_form = host.encode("idna").decode("ascii")
    except UnicodeError:
        return f"has a host name that is not a valid DNS name: {host!r}"
    return (f"has a host name that is not plain ASCII: {host!r}; write it in its ASCII (IDNA) "
            f"form, {ascii_form!r}, as DNS and did:web need it")


@functools.lru_cache(maxsize=4096)  # one object per expiry date, not per award
def add_period(start: datetime, months: int, days: int) -> datetime:
    """`start` plus a number of months (day clamped to the month's end) and days."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day) + timedelta(days=days)


def _expiry_year(start: datetime, months: int, days: int) -> int:
    """The year of `add_period`, or MAX_YEAR + 1 when that is past what a datetime holds."""
    try:
        return add_period(start, months, days).year
    except (ValueError, OverflowError):
        return MAX_YEAR + 1


_OUT_OF_RANGE = f"is out of range: the year must be from {MIN_YEAR} to {MAX_YEAR}"


@functools.lru_cache(maxsize=4096)
def _utc_midnight(day: date) -> datetime:
    # one object per day, not per record: awards are issued on a few days each (~5 MB less
    # at 100,000 awards)
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def parse_date(value: Any) -> datetime | str:
    """A YAML date/datetime/string as an aware UTC datetime, or the reason it is not one
    (also when its year is outside MIN_YEAR to MAX_YEAR: such a date is a mistake, and the
    credentials could not be written with it)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return "has a time but no time zone (add Z for UTC, or +01:00)"
        try:
            value = value.astimezone(timezone.utc)
        except OverflowError:  # e.g. 9999-12-31T23:00-01:00 is in the year 10000 in UTC
            return f"{_OUT_OF_RANGE} (in UTC)"
        return value if MIN_YEAR <= value.year <= MAX_YEAR else _OUT_OF_RANGE
    if isinstance(value, date):
        return _utc_midnight(value) if MIN_YEAR <= value.year <= MAX_YEAR else _OUT_OF_RANGE
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return f"is not a valid date: {value!r}"
        if len(value.strip()) == 10:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parse_date(parsed)
    return f"must be a date, not {_describe(value)}"


def suggest_slug(text: str) -> str:
    """A safe slug close to `text` (for hints)."""
    import unicodedata
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:MAX_SLUG_LENGTH].strip("-") or "record"


def _text_problem(text: str, one_line: bool = False, markdown: bool = False
                 ) -> tuple[int, str, str] | None:
    """Why `text` cannot be published as it is — (offset in `text`, what is wrong, hint) —
    or None. One regular-expression search (two for Markdown): it runs on every text of
    every record."""
    found = (_LINE_CONTROL if one_line else _TEXT_CONTROL).search(text)
    if found is not None:
        char = found.group()
        code = f"U+{ord(char):04X}"
        if char in "\t\n\r":
            return (found.start(), f"must be one line (it contains a tab or line break, "
                    f"{code})", "write it on one line")
        if "\u202a" <= char:
            return (found.start(), f"contains an invisible text-direction control ({code})",
                    "remove it: it can make text display in a misleading order")
        return (found.start(), f"contains a control character ({code})",
                "remove it: control characters are invisible and not allowed in text")
    if markdown:
        deep = _too_deep(text)
        if deep is not None:
            return (deep, f"has a list nested more than {MAX_MARKDOWN_NESTING} levels deep",
                    "use fewer levels of lists and indentation")
        if text.count("[") > MAX_MARKDOWN_BRACKETS:
            return (_nth(text, "[", MAX_MARKDOWN_BRACKETS + 1),
                    f"has more than {MAX_MARKDOWN_BRACKETS:,} '[' (the Markdown of links "
                    "and images: so many take minutes to render)",
                    "write fewer brackets, e.g. as a list")
    return None


def _nth(text: str, char: str, n: int) -> int:
    """Where the n-th `char` (counted from 1) is in `text`."""
    at = -1
    for _ in range(n):
        at = text.index(char, at + 1)
    return at


def _too_deep(markdown: str) -> int | None:
    """Offset of the first line of `markdown` whose lists nest deeper than
    MAX_MARKDOWN_NESTING, or None. Every list marker counts as a level, and every four
    columns of indentation (an over-estimate, which keeps it a cheap safe bound)."""
    if "\n" in markdown:
        found: Iterable[re.Match[str]] = _NESTED_PREFIX.finditer(markdown)
    else:  # one line, as most narratives: only its start can open a list (and match is
        first = _NESTED_PREFIX.match(markdown)  # a quarter of the cost of a search)
        found = (first,) if first else ()
    for match in found:
        prefix = match.group()
        levels = (len(_LIST_MARKER.findall(prefix))
                  + (prefix.count(" ") + 4 * prefix.count("\t")) // 4)
        if levels > MAX_MARKDOWN_NESTING:
            return match.start()
    return None


def _clean_fields(record: RawRecord, check: _Checker) -> dict[str, Any] | None:
    specs = {s.name: s for s in SPECS[record.kind]}
    values: dict[str, Any] = {}
    for key in record.data:
        if key not in specs:
            check.error((key,), f"unknown field {shown(key)} in {record.kind} record",
                        did_you_mean(key, specs) or f"known fields: {', '.join(specs)}")
    for name, spec in specs.items():
        if name not in record.data or record.data[name] is None:
            if spec.required:
                check.error((name,) if name in record.data else (),
                            f"required field '{name}' is missing", spec.doc)
            continue
        raw, path = record.data[name], (name,)
        if spec.type in ("text", "markdown"):
            cleaned = check.text(path, raw, name, spec.type == "markdown")
        elif spec.type == "enum":
            cleaned = check.enum(path, raw, spec)
        else:
            cleaned = getattr(check, {"id": "slug"}.get(spec.type, spec.type))(path, raw, name)
        if cleaned is not None:
            if spec.type == "string":  # published as written: a learner's name
                check._private(path, cleaned, name)
            values[name] = cleaned
    return values


def _clean_record(record: RawRecord, languages: tuple[str, ...], root: Path,
                  problems: list[Diagnostic], now: datetime | None = None,
                  contacts: Contacts | None = None) -> CleanRecord | None:
    check = _Checker(record, languages, root, now, contacts)
    if record.kind != "site" and not is_safe_id(record.id):
        check.error((), f"file name '{record.path.name}' is not a safe id: use lowercase "
                    f"letters, digits and hyphens", f"rename it to '{suggest_slug(record.id)}"
                    f"{record.path.suffix}'")
    values = _clean_fields(record, check)
    if record.body:  # a badge's criteria: Markdown below the front matter
        problem = _text_problem(record.body, markdown=True)
        if problem is not None:
            offset, message, hint = problem
            check.problems.append(Diagnostic(
                record.display, record.body_line + record.body.count("\n", 0, offset),
                f"the criteria (below the front matter) {message}", hint))
        elif check.contacts is not None:
            found = personal_data(record.body.encode("utf-8", "surrogatepass"), check.contacts)
            if found is not None:
                check.problems.append(Diagnostic(
                    record.display, record.body_line, f"the criteria (below the front matter) "
                    f"hold {found}, which would be published", PRIVACY_HINT))
    problems.extend(check.problems)
    if check.problems or values is None:
        return None
    return CleanRecord(record.kind, record.id, record.path, record.display, values, record.body)


def _site_languages(site: RawRecord, problems: list[Diagnostic]) -> tuple[str, ...]:
    raw = site.data.get("languages")
    if raw is None:
        return DEFAULT_LANGUAGES
    check = _Checker(site, DEFAULT_LANGUAGES, site.path.parent)
    languages = check.languages(("languages",), raw, "languages")
    return languages or DEFAULT_LANGUAGES


class _Sources:
    """Where each record came from, for error messages: its file, and a line when asked.

    A cleaned record stands for itself (its raw values are not kept: they would double the
    memory of a large site); a record that failed keeps a slim raw copy, so its id still
    counts as known and its errors do not multiply."""

    def __init__(self, root: Path):
        self.root = root
        self._by_path: dict[Path, CleanRecord | RawRecord] = {}

    def add(self, record: CleanRecord | RawRecord) -> None:
        self._by_path[record.path] = record

    def __getitem__(self, path: Path) -> RawRecord:
        return self.raw(self._by_path[path])

    def problem(self, record: CleanRecord | RawRecord, field: str, message: str,
                hint: str = "") -> Diagnostic:
        """A problem with one field of a record (`field` "" for the record as a whole)."""
        return Diagnostic(record.display, self.raw(record).line_of((field,) if field else ()),
                          message, hint)

    def raw(self, record: CleanRecord | RawRecord) -> RawRecord:
        """The record as loaded (values left out): it names the file and finds lines."""
        if isinstance(record, RawRecord):
            return record
        return RawRecord(record.kind, record.id, record.path, record.display, {},
                         root=self.root)

    def all(self) -> list[CleanRecord | RawRecord]:
        """Every loaded record, by file name as shown."""
        return sorted(self._by_path.values(), key=lambda r: r.display)


# kinds whose texts are checked for personal data as they are read (the others once every
# issuer's public contacts are known: see validate_content)
_PRIVATE_TEXT_KINDS = frozenset({"badge", "learner", "award", "path", "endorsement"})


def _published(name: str, found: str) -> str:
    return f"'{name}' holds {found}, which would be published"


def _personal_data_in_texts(records: list[CleanRecord], sources: _Sources, contacts: Contacts
                            ) -> list[Diagnostic]:
    """Personal data in the texts (one-line or per language) of cleaned `records`, found as
    `_Checker._private` finds it in the others' as they are read."""
    problems = []
    for record in records:
        for name, value in record.values.items():
            texts = value.items() if isinstance(value, dict) else [("", value)]
            for language, text in texts:
                if not isinstance(text, str) or not may_hold_personal_data(text):
                    continue
                found = personal_data(text.encode("utf-8", "surrogatepass"), contacts)
                if found is None:
                    continue
                raw = sources.raw(record)
                path = (name, language) if language and (name, language) in raw.lines \
                    else (name,)
                problems.append(Diagnostic(record.display, raw.line_of(path),
                                           _published(".".join(path), found), PRIVACY_HINT))
    return problems


def _identifier_key(identifier: str) -> str:
    """A learner identifier as compared: trimmed and lowercased, as the model normalises an
    e-mail address before hashing it and as the output guard matches every identifier."""
    return identifier.strip().lower()


def _record_key(record: CleanRecord | RawRecord) -> str:
    data = record.data if isinstance(record, RawRecord) else record.values
    slug = data.get("slug")
    return slug if record.kind == "learner" and isinstance(slug, str) else record.id


def _endorsement_subjects(record: CleanRecord, base_urls: set[str]) -> set[str]:
    """The ids an endorser's signed credential may name: the badge's Achievement or the
    issuer's profile/DID, under the site's published base URL or this build's."""
    from generator.did import site_did
    badge, issuer = record.values.get("badge"), record.values.get("issuer")
    if badge:
        return {f"{base}achievements/{badge}.json" for base in base_urls}
    return ({f"{base}issuers/{issuer}.json" for base in base_urls}
            | {site_did(base) for base in base_urls})


def _check_endorsements(records: list[CleanRecord],
                        pools: dict[str, dict[str, CleanRecord | RawRecord]], raw: _Sources,
                        base_urls: set[str], now: datetime, problems: list[Diagnostic]) -> None:
    for record in (r for r in records if r.kind == "endorsement"):
        source = raw[record.path]
        targets = [k for k in ("badge", "issuer") if k in record.values]
        if len(targets) != 1:
            problems.append(Diagnostic(record.display, source.line_of(()), "an endorsement "
                                       "names exactly one of 'badge' or 'issuer'"))
            continue
        for field_name, kind in (("endorser", "endorser"), (targets[0], targets[0])):
            value = record.values[field_name]
            if value not in pools[kind]:
                problems.append(Diagnostic(record.display, source.line_of((field_name,)),
                                           f"unknown {kind} '{value}'",
                                           did_you_mean(value, pools[kind])
                                           or f"no {kind} record has that id"))
        signed = record.values.get("signed")
        if signed:
            reason = check_signed_endorsement(signed["document"],
                                              _endorsement_subjects(record, base_urls), now)
            if reason:
                problems.append(Diagnostic(record.display, source.line_of(("signed",)),
                                           f"signed endorsement {signed['file']!r} rejected: "
                                           f"{reason}", "ask the endorser for a correctly "
                                           "signed file, or remove 'signed' to publish it as "
                                           "hosted (not signed by the endorser)"))


def _cross_check(site: CleanRecord, records: list[CleanRecord], raw: _Sources,
                 now: datetime, problems: list[Diagnostic],
                 base_urls: set[str] | None = None) -> None:
    """Unique ids and references between records other than awards (see `_AwardChecks`).

    Pools of known ids come from every *loaded* record, so a record with a bad field does not
    also make every reference to it look unknown.
    """
    def error(record: CleanRecord | RawRecord, field: str, message: str, hint: str = "") -> None:
        problems.append(raw.problem(record, field, message, hint))

    pools: dict[str, dict[str, CleanRecord | RawRecord]] = {k: {} for k in SPECS}
    identifiers: dict[str, CleanRecord] = {}
    for record in raw.all():
        if record.kind == "site":
            continue
        if record.kind == "learner" and isinstance(record, CleanRecord):
            # one person, one record: two would get two profiles and split their badges
            identifier = _identifier_key(record.values["identifier"])
            holder = identifiers.setdefault(identifier, record)
            if holder is not record:  # (the identifier itself is not shown: it is private)
                error(record, "identifier", f"learner identifier is already used by "
                      f"{holder.display}", "one learner, one record: award the badges to "
                      "that learner, or correct the identifier")
        key = _record_key(record)
        first = pools[record.kind].get(key)
        if first is None:
            pools[record.kind][key] = record
            continue
        label = "learner slug" if record.kind == "learner" else f"{record.kind} id"
        error(record, "slug" if record.kind == "learner" else "",
              f"duplicate {label} '{key}' (also used by {first.display})",
              "every id must be unique")

    def reference(record: CleanRecord, field: str, kind: str) -> None:
        value = record.values.get(field)
        if value is not None and value not in pools[kind]:
            error(record, field, f"unknown {kind} '{value}'",
                  did_you_mean(value, pools[kind]) or f"no {kind} record has that id")

    reference(site, "issuer", "issuer")
    cross_check_paths(records, pools, raw, problems)
    _check_endorsements(records, pools, raw, base_urls or {site.values["base_url"]}, now,
                        problems)
    for record in records:
        if record.kind == "badge":
            reference(record, "issuer", "issuer")


def _clean_revocations(record: RawRecord | None, languages: tuple[str, ...], root: Path,
                       problems: list[Diagnostic]) -> dict[str, dict[str, Any]]:
    """revocations.yaml: award id → {date, reason}. (Whether each award exists and was issued
    before its revocation is checked as awards arrive: `_AwardChecks`.)"""
    if record is None:
        return {}
    check = _Checker(record, languages, root)
    result: dict[str, dict[str, Any]] = {}
    for award_id, entry in record.data.items():
        where = (award_id,)
        if not isinstance(entry, dict):
            check.error(where, f"revocation of {shown(award_id)} needs 'date' and 'reason'")
            continue
        names = [spec.name for spec in REVOCATION_SPECS]
        for key in entry:
            if key not in names:
                check.error(where + (key,), f"unknown field {shown(key)} in revocation of "
                            f"{shown(award_id)}", did_you_mean(str(key), names))
        cleaned: dict[str, Any] = {}
        for spec in REVOCATION_SPECS:
            if entry.get(spec.name) is None:
                check.error(where, f"revocation of {shown(award_id)} needs '{spec.name}'", spec.doc)
                continue
            method = check.date if spec.type == "date" else check.text
            value = method(where + (spec.name,), entry[spec.name], spec.name)
            if value is not None:
                cleaned[spec.name] = value
        result[award_id] = cleaned
    problems.extend(check.problems)
    return result


def _clean_status(record: RawRecord | None, root: Path, problems: list[Diagnostic]
                  ) -> tuple[dict[str, int], set[str] | None]:
    """status.yaml: award id → status list index, unique and inside the list; and the ids
    whose entries were rejected (None: all of them, 'indices' is not a mapping), so that
    their awards are not also reported as having no index. (That every award has one is
    checked as awards arrive: `_AwardChecks`.)"""
    indices: dict[str, int] = {}
    rejected: set[str] = set()
    if record is None:
        return indices, rejected
    check = _Checker(record, DEFAULT_LANGUAGES, root)
    for key in record.data:
        if key != "indices":
            check.error((key,), f"unknown field {shown(key)} in status.yaml",
                        "status.yaml holds only 'indices'")
    raw = record.data.get("indices") or {}
    if not isinstance(raw, dict):
        check.error(("indices",), "'indices' must map award ids to numbers")
        problems.extend(check.problems)
        return indices, None
    owners: dict[int, str] = {}
    for award_id, index in raw.items():
        where = ("indices", award_id)
        if isinstance(index, bool) or not isinstance(index, int) or not (
                0 <= index < STATUS_LIST_BITS):
            check.error(where, f"status index of {shown(str(award_id))} must be a whole number from "
                        f"0 to {STATUS_LIST_BITS - 1}, not {index!r}")
            rejected.add(str(award_id))
            continue
        if index in owners:
            check.error(where, f"status index collision: {index} is used by both "
                        f"{shown(owners[index])} and {shown(str(award_id))}",
                        "indices are allocated once and never shared; give one of them a "
                        "new index with `rugzak status allocate` after removing its line")
            rejected.add(str(award_id))
            continue
        owners[index] = str(award_id)
        indices[str(award_id)] = index
    problems.extend(check.problems)
    return indices, rejected


# Receives each award that passed its own field checks, with the site's default language.
AwardTaker = Callable[[CleanRecord, str], None]


class _AwardChecks:
    """Everything checked about awards, one award at a time as it arrives, so that a build
    need not hold every cleaned award (100,000 of them, with their paths, would be ~100 MB).

    Learners and badges are read before awards (the order of `RECORD_FOLDERS`), so every id
    an award may name is known when the first award arrives. What needs all awards — unknown
    awards in revocations.yaml, awards without a status index — is checked by `finish`, from
    the awards' ids alone."""

    def __init__(self, sources: _Sources, now: datetime, revocations: dict[str, dict],
                 indices: dict[str, int], special: dict[str, RawRecord],
                 problems: list[Diagnostic], rejected: set[str] | None):
        self.sources, self.now, self.problems = sources, now, problems
        self.revocations, self.indices, self.special = revocations, indices, special
        self.rejected = rejected  # ids whose status.yaml entry was already reported
        # award id → where the first file with it lies, without the id: its folder (as shown)
        # and extension, "\0"-separated — one string shared by all awards of a folder, not
        # one path per award
        self.places: dict[str, str] = {}
        self._place_strings: dict[str, str] = {}
        self.failed: set[str] = set()  # ids of awards whose own fields did not pass
        self.unindexed: list[str] = []
        self._pools: dict[str, set[str]] | None = None
        self._hints: dict[str, Suggestions] = {}  # made at the first unknown reference

    def _error(self, record: CleanRecord | RawRecord, field: str, message: str,
               hint: str = "") -> None:
        self.problems.append(self.sources.problem(record, field, message, hint))

    def arrived(self, record: CleanRecord | RawRecord) -> None:
        """An award file was read (cleaned, or with problems of its own): its id is taken."""
        if isinstance(record, RawRecord):
            self.failed.add(record.id)
        folder = record.display[:len(record.display) - len(record.path.name)]
        place = self.places.get(record.id)
        if place is None:  # ids are file names without extension: unique but for that
            place = folder + "\0" + record.path.suffix
            self.places[record.id] = self._place_strings.setdefault(place, place)
            return
        first_folder, _, suffix = place.partition("\0")
        self._error(record, "", f"duplicate award id '{record.id}' (also used by "
                    f"{first_folder}{record.id}{suffix})",
                    "every id must be unique, in sub-folders too" if first_folder != folder
                    else "every id must be unique")

    def check(self, record: CleanRecord) -> None:
        """References, dates, revocation and status index of a cleaned award."""
        if self._pools is None:
            known = self.sources.all()
            self._pools = {kind: {_record_key(r) for r in known if r.kind == kind}
                           for kind in ("learner", "badge")}
        for field_name in ("learner", "badge"):
            value = record.values.get(field_name)
            if value is not None and value not in self._pools[field_name]:
                hints = self._hints.get(field_name)
                if hints is None:
                    hints = self._hints[field_name] = Suggestions(self._pools[field_name])
                self._error(record, field_name, f"unknown {field_name} '{value}'",
                            hints.hint(value) or f"no {field_name} record has that id")
        issued, expires = record.values.get("issued"), record.values.get("expires")
        if issued and issued > self.now:
            self._error(record, "issued",
                        f"'issued' is in the future ({issued.date().isoformat()})",
                        "badges cannot be awarded ahead of time; verifiers reject them")
        if issued and expires and expires <= issued:
            self._error(record, "expires", "'expires' must be after 'issued'")
        revoked = self.revocations.get(record.id, {}).get("date")
        if revoked and issued and revoked < issued:
            where = self.special["revocations"]
            self.problems.append(Diagnostic(where.display, where.line_of((record.id, "date")),
                                            f"'{record.id}' is revoked before it was issued"))
        if record.id not in self.indices and (self.rejected is not None
                                              and record.id not in self.rejected):
            self.unindexed.append(record.id)

    def finish(self) -> None:
        """The checks that need every award: revocations of unknown awards, missing indices."""
        revocations = self.special.get("revocations")
        known: Suggestions | None = None
        for award_id in self.revocations:
            if award_id not in self.places or award_id in self.failed:
                assert revocations is not None
                if known is None:
                    known = Suggestions(i for i in self.places if i not in self.failed)
                self.problems.append(Diagnostic(
                    revocations.display, revocations.line_of((award_id,)),
                    f"revocation of unknown award {shown(award_id)}",
                    known.hint(str(award_id)) or "no award file has that id"))
        if self.unindexed:
            missing = sorted(self.unindexed)
            listed = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more"
                                               if len(missing) > 5 else "")
            status = self.special.get("status")
            self.problems.append(Diagnostic(
                status.display if status else "status.yaml", 0,
                f"{len(missing)} award(s) have no status list index: {listed}",
                "run `rugzak status allocate` (it adds indices to status.yaml; commit that "
                "file)"))


def validate_content(loaded: LoadedContent, now: datetime, base_url: str | None = None,
                     take_award: AwardTaker | None = None
                     ) -> tuple[ValidContent | None, list[Diagnostic]]:
    """Check every record; return the cleaned content, or None and the list of problems.

    `now` is the build clock (passed in, so tests and reproducible builds control it);
    `base_url` overrides site.yaml's (e.g. a loopback URL for validators). With `take_award`,
    each award whose own fields passed is handed to it as soon as it is checked, instead of
    being kept among the result's records (a build models awards as they come: holding
    every cleaned award first would double its peak memory).
    """
    problems: list[Diagnostic] = []
    if loaded.site is None:
        return None, problems
    site_raw = loaded.site
    if base_url is not None:
        problem = url_problem(base_url) or _base_url_problem(base_url)
        if problem:  # the option's fault, not site.yaml's
            problems.append(Diagnostic("--base-url", 0, f"{base_url!r}: {problem}",
                                       "give the address the site is served at, e.g. "
                                       "https://badges.example.org/"))
            return None, problems
        site_raw = RawRecord("site", "site", site_raw.path, site_raw.display,
                             {**site_raw.data, "base_url": base_url}, site_raw.lines,
                             root=site_raw.root)
    languages = _site_languages(site_raw, problems)
    site = _clean_record(site_raw, languages, loaded.root, problems, now)
    if site is not None:
        url = site.values["base_url"]
        problem = _base_url_problem(url)
        if problem:
            problems.append(Diagnostic(site.display, site_raw.line_of(("base_url",)),
                                       f"'base_url' {problem}"))
        site.values["base_url"] = url if url.endswith("/") else url + "/"
        site.values.setdefault("languages", languages)
    revocations = _clean_revocations(loaded.special.get("revocations"), languages, loaded.root,
                                     problems)
    for award_id, entry in revocations.items():
        if entry.get("date") and entry["date"] > now:
            problems.append(Diagnostic(loaded.special["revocations"].display,
                                       loaded.special["revocations"].line_of((award_id, "date")),
                                       f"revocation date of {shown(award_id)} is in the future"))
    status_indices, rejected = _clean_status(loaded.special.get("status"), loaded.root,
                                             problems)
    sources = _Sources(loaded.root)
    awards = _AwardChecks(sources, now, revocations, status_indices, loaded.special, problems,
                          rejected)
    cleaned: list[CleanRecord] = []
    take = take_award or (lambda record, _default: cleaned.append(record))
    contacts = Contacts()  # issuers and learners are read before the records that cite them
    # Texts of the site, issuers and endorsers may name any issuer's public address, not
    # all known when they are read: they are checked for personal data once every record is
    # (they are few, so kept until then).
    deferred: list[CleanRecord] = [site] if site is not None else []
    context = ""  # of the awards' kept checks (see generator/cleaned.py): made at the first
    for record in loaded.records:  # one by one: a record's raw values are dropped once cleaned
        private = record.kind in _PRIVATE_TEXT_KINDS
        kept = None
        if record.kind in KEPT_KINDS:
            context = context or context_digest(languages, contacts, loaded.root)
            kept = kept_values(record, context)
        if kept is not None:
            clean = CleanRecord(record.kind, record.id, record.path, record.display, kept)
        else:
            try:
                record = record.with_values()
            except LoadError as exc:
                problems.append(exc.problem)
                continue
            clean = _clean_record(record, languages, loaded.root, problems, now,
                                  contacts if private else None)
            if clean is not None and context:
                keep_values(loaded.memory, record, context, clean.values)
        if clean is not None and not private:
            deferred.append(clean)
        if clean is not None and record.kind == "issuer":
            contacts.add_public(clean.values.get("email"), clean.values.get("telephone"))
        elif clean is not None and record.kind == "learner" and \
                "@" in clean.values["identifier"]:
            contacts.add_learner(clean.values["identifier"].strip())
        if record.kind == "award":
            awards.arrived(clean or record)
            if clean is not None:
                awards.check(clean)
                take(clean, languages[0])
            continue
        if clean is not None:
            cleaned.append(clean)
        sources.add(clean or record.slim())
    awards.finish()
    problems += _personal_data_in_texts(deferred, sources, contacts)
    if site is not None:
        sources.add(site_raw)
        published = loaded.site.data.get("base_url")
        base_urls = {site.values["base_url"]}
        if isinstance(published, str) and not url_problem(published):
            base_urls.add(published if published.endswith("/") else published + "/")
        _cross_check(site, cleaned, sources, now, problems, base_urls)
    if problems or site is None:
        return None, problems
    return ValidContent(loaded.root, site, tuple(cleaned), revocations,
                        status_indices), problems
