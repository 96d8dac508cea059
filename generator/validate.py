"""Validate loaded records: field types, unknown keys, unique ids and cross-references.

Input: `LoadedContent` (plain values + line numbers). Output: cleaned values (dates as aware
datetimes, localized text as `{lang: str}`, URLs checked, image files sniffed) and every problem
found, all at once, each with `path:line` and a hint.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from generator.errors import Diagnostic, did_you_mean
from generator.images import ImageProblem, inspect_image
from generator.validate_extra import (StructuredFields, check_signed_endorsement,
                                      cross_check_paths)
from generator.load import FieldPath, LoadedContent, RawRecord
from generator.schema import (DID_PATTERN, DURATION_PATTERN, MAX_SLUG_LENGTH, REVOCATION_SPECS,
                              SLUG_PATTERN, SPECS, STATUS_LIST_BITS, FieldSpec)

_SLUG = re.compile(SLUG_PATTERN)
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# OB 2.0 validator: email "must match ^[^@\s]+@[^@\s]+$"; we also ask for a dot in the domain.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TELEPHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164, as OB 2.0 `telephone` asks
_DID = re.compile(DID_PATTERN)
_DURATION = re.compile(DURATION_PATTERN)
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")  # \s: what str.isspace calls space
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

    def __init__(self, record: RawRecord, languages: tuple[str, ...], root: Path):
        self.record, self.langs, self.root = record, languages, root
        self.problems: list[Diagnostic] = []

    def error(self, path: FieldPath, message: str, hint: str = "") -> None:
        self.problems.append(Diagnostic(self.record.display, self.record.line_of(path),
                                        message, hint))

    # -- field types ----------------------------------------------------------------------
    def text(self, path: FieldPath, value: Any, name: str) -> dict[str, str] | None:
        if isinstance(value, str):
            return {self.langs[0]: value} if value.strip() else self._empty(path, name)
        if isinstance(value, dict):
            result: dict[str, str] = {}
            for lang, text in value.items():
                if lang not in self.langs:
                    self.error(path + (lang,), f"'{name}' has text in language '{lang}', "
                               f"which the site does not use",
                               f"site languages: {', '.join(self.langs)}; "
                               + did_you_mean(str(lang), self.langs))
                elif not isinstance(text, str) or not text.strip():
                    self.error(path + (lang,), f"'{name}.{lang}' must be non-empty text")
                else:  # keyed by the site's own string: one "nl" for all records, not one each
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
        if not isinstance(value, str):
            self.error(path, f"'{name}' must be text, not {_describe(value)}",
                       "put the value in quotes")
            return None
        return value if value.strip() else self._empty(path, name)

    def url(self, path: FieldPath, value: Any, name: str) -> str | None:
        text = self.string(path, value, name)
        if text is None:
            return None
        problem = url_problem(text)
        if problem:
            self.error(path, f"'{name}' is not a valid URL: {problem}",
                       "write a full address such as https://example.org/")
            return None
        return text

    def email(self, path: FieldPath, value: Any, name: str) -> str | None:
        text = self.string(path, value, name)
        if text is not None and not _EMAIL.match(text.strip()):
            self.error(path, f"'{name}' is not an e-mail address: {text!r}")
            return None
        return text.strip() if text else None

    def recipient(self, path: FieldPath, value: Any, name: str) -> str | None:
        text = self.string(path, value, name)
        if text is None:
            return None
        text = text.strip()
        if _EMAIL.match(text) or _DID.match(text) or (text.startswith(("http://", "https://"))
                                                      and not url_problem(text)):
            return text
        self.error(path, f"'{name}' must be an e-mail address, a URL or a DID, not {text!r}",
                   "for example name@example.org")
        return None

    def did(self, path: FieldPath, value: Any, name: str) -> str | None:
        text = self.string(path, value, name)
        if text is not None and not _DID.match(text):
            self.error(path, f"'{name}' is not a DID (did:method:identifier): {text!r}")
            return None
        return text

    def duration(self, path: FieldPath, value: Any, name: str) -> tuple[int, int] | None:
        text = self.string(path, value, name)
        match = _DURATION.match(text or "")
        if text is None or not match or not any(match.groups()):
            if text is not None:
                self.error(path, f"'{name}' must be an ISO 8601 period such as P2Y, P18M or "
                           f"P90D, not {text!r}")
            return None
        years, months, days = (int(g[:-1]) if g else 0 for g in match.groups())
        return years * 12 + months, days

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
        if text is not None and not _TELEPHONE.match(text):
            self.error(path, f"'{name}' must be an international number such as "
                       f"+31101234567 (E.164), not {text!r}")
            return None
        return text

    def slug(self, path: FieldPath, value: Any, name: str) -> str | None:
        text = self.string(path, value, name)
        if text is None:
            return None
        if len(text) > MAX_SLUG_LENGTH or not _SLUG.match(text):
            self.error(path, f"'{name}' must be lowercase letters, digits and single hyphens "
                       f"(at most {MAX_SLUG_LENGTH}), not {text!r}",
                       f"for example '{suggest_slug(text)}'")
            return None
        return text

    def date(self, path: FieldPath, value: Any, name: str) -> datetime | None:
        result = parse_date(value)
        if isinstance(result, str):
            self.error(path, f"'{name}' {result}",
                       "write YYYY-MM-DD or 2025-03-01T09:00:00Z (with a time zone)")
            return None
        return result

    def path(self, path: FieldPath, value: Any, name: str) -> Path | None:
        text = self.string(path, value, name)
        if text is None:
            return None
        target = (self.record.path.parent / text)
        if text.startswith(("/", "\\")) or not target.resolve().is_relative_to(
                self.root.resolve()):
            self.error(path, f"'{name}' points outside the content folder: {text!r}",
                       "give a path relative to the record, inside the content folder")
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
        ok = all(isinstance(v, str) and _LANGUAGE.match(v) for v in value)
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
                    self.error(where + (key,), f"unknown field '{key}' in '{name}[{i}]'",
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


@functools.lru_cache(maxsize=4096)
def _utc_midnight(day: date) -> datetime:
    # one object per day, not per record: awards are issued on a few days each (~5 MB less
    # at 100,000 awards)
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def parse_date(value: Any) -> datetime | str:
    """A YAML date/datetime/string as an aware UTC datetime, or the reason it is not one."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return "has a time but no time zone (add Z for UTC, or +01:00)"
        return value.astimezone(timezone.utc)
    if isinstance(value, date):
        return _utc_midnight(value)
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


def _clean_fields(record: RawRecord, check: _Checker) -> dict[str, Any] | None:
    specs = {s.name: s for s in SPECS[record.kind]}
    values: dict[str, Any] = {}
    for key in record.data:
        if key not in specs:
            check.error((key,), f"unknown field '{key}' in {record.kind} record",
                        did_you_mean(key, specs) or f"known fields: {', '.join(specs)}")
    for name, spec in specs.items():
        if name not in record.data or record.data[name] is None:
            if spec.required:
                check.error((name,) if name in record.data else (),
                            f"required field '{name}' is missing", spec.doc)
            continue
        raw, path = record.data[name], (name,)
        if spec.type in ("text", "markdown"):
            cleaned = check.text(path, raw, name)
        elif spec.type == "enum":
            cleaned = check.enum(path, raw, spec)
        else:
            cleaned = getattr(check, {"id": "slug"}.get(spec.type, spec.type))(path, raw, name)
        if cleaned is not None:
            values[name] = cleaned
    return values


def _clean_record(record: RawRecord, languages: tuple[str, ...], root: Path,
                  problems: list[Diagnostic]) -> CleanRecord | None:
    check = _Checker(record, languages, root)
    if record.kind != "site" and (len(record.id) > MAX_SLUG_LENGTH or
                                  not _SLUG.match(record.id)):
        check.error((), f"file name '{record.path.name}' is not a safe id: use lowercase "
                    f"letters, digits and hyphens", f"rename it to '{suggest_slug(record.id)}"
                    f"{record.path.suffix}'")
    values = _clean_fields(record, check)
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
    for record in raw.all():
        if record.kind == "site":
            continue
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
            check.error(where, f"revocation of '{award_id}' needs 'date' and 'reason'")
            continue
        names = [spec.name for spec in REVOCATION_SPECS]
        for key in entry:
            if key not in names:
                check.error(where + (key,), f"unknown field '{key}' in revocation of "
                            f"'{award_id}'", did_you_mean(str(key), names))
        cleaned: dict[str, Any] = {}
        for spec in REVOCATION_SPECS:
            if entry.get(spec.name) is None:
                check.error(where, f"revocation of '{award_id}' needs '{spec.name}'", spec.doc)
                continue
            method = check.date if spec.type == "date" else check.text
            value = method(where + (spec.name,), entry[spec.name], spec.name)
            if value is not None:
                cleaned[spec.name] = value
        result[award_id] = cleaned
    problems.extend(check.problems)
    return result


def _clean_status(record: RawRecord | None, root: Path, problems: list[Diagnostic]
                  ) -> dict[str, int]:
    """status.yaml: award id → status list index, unique and inside the list. (That every
    award has one is checked as awards arrive: `_AwardChecks`.)"""
    indices: dict[str, int] = {}
    if record is None:
        return indices
    check = _Checker(record, DEFAULT_LANGUAGES, root)
    for key in record.data:
        if key != "indices":
            check.error((key,), f"unknown field '{key}' in status.yaml",
                        "status.yaml holds only 'indices'")
    raw = record.data.get("indices") or {}
    if not isinstance(raw, dict):
        check.error(("indices",), "'indices' must map award ids to numbers")
        raw = {}
    owners: dict[int, str] = {}
    for award_id, index in raw.items():
        where = ("indices", award_id)
        if isinstance(index, bool) or not isinstance(index, int) or not (
                0 <= index < STATUS_LIST_BITS):
            check.error(where, f"status index of '{award_id}' must be a whole number from "
                        f"0 to {STATUS_LIST_BITS - 1}, not {index!r}")
            continue
        if index in owners:
            check.error(where, f"status index collision: {index} is used by both "
                        f"'{owners[index]}' and '{award_id}'",
                        "indices are allocated once and never shared; give one of them a "
                        "new index with `rugzak status allocate` after removing its line")
            continue
        owners[index] = str(award_id)
        indices[str(award_id)] = index
    problems.extend(check.problems)
    return indices


_EXTENSIONS = {".yaml": ".yaml", ".yml": ".yml"}
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
                 problems: list[Diagnostic]):
        self.sources, self.now, self.problems = sources, now, problems
        self.revocations, self.indices, self.special = revocations, indices, special
        self.suffixes: dict[str, str] = {}  # award id → extension of the first file with it
        self.failed: set[str] = set()  # ids of awards whose own fields did not pass
        self.unindexed: list[str] = []
        self._pools: dict[str, set[str]] | None = None

    def _error(self, record: CleanRecord | RawRecord, field: str, message: str,
               hint: str = "") -> None:
        self.problems.append(self.sources.problem(record, field, message, hint))

    def arrived(self, record: CleanRecord | RawRecord) -> None:
        """An award file was read (cleaned, or with problems of its own): its id is taken."""
        if isinstance(record, RawRecord):
            self.failed.add(record.id)
        suffix = self.suffixes.get(record.id)
        if suffix is None:  # ids are file names without extension: unique but for that
            # (the extension as one shared string, not one string per award)
            self.suffixes[record.id] = _EXTENSIONS.get(record.path.suffix, record.path.suffix)
            return
        first = record.display[:len(record.display) - len(record.path.suffix)] + suffix
        self._error(record, "", f"duplicate award id '{record.id}' (also used by {first})",
                    "every id must be unique")

    def check(self, record: CleanRecord) -> None:
        """References, dates, revocation and status index of a cleaned award."""
        if self._pools is None:
            known = self.sources.all()
            self._pools = {kind: {_record_key(r) for r in known if r.kind == kind}
                           for kind in ("learner", "badge")}
        for field_name in ("learner", "badge"):
            value = record.values.get(field_name)
            if value is not None and value not in self._pools[field_name]:
                self._error(record, field_name, f"unknown {field_name} '{value}'",
                            did_you_mean(value, self._pools[field_name])
                            or f"no {field_name} record has that id")
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
        if record.id not in self.indices:
            self.unindexed.append(record.id)

    def finish(self) -> None:
        """The checks that need every award: revocations of unknown awards, missing indices."""
        revocations = self.special.get("revocations")
        for award_id in self.revocations:
            if award_id not in self.suffixes or award_id in self.failed:
                assert revocations is not None
                known = [i for i in self.suffixes if i not in self.failed]
                self.problems.append(Diagnostic(
                    revocations.display, revocations.line_of((award_id,)),
                    f"revocation of unknown award '{award_id}'",
                    did_you_mean(str(award_id), known) or "no award file has that id"))
        if self.unindexed:
            missing = sorted(self.unindexed)
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more"
                                              if len(missing) > 5 else "")
            status = self.special.get("status")
            self.problems.append(Diagnostic(
                status.display if status else "status.yaml", 0,
                f"{len(missing)} award(s) have no status list index: {shown}",
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
        site_raw = RawRecord("site", "site", site_raw.path, site_raw.display,
                             {**site_raw.data, "base_url": base_url}, site_raw.lines,
                             root=site_raw.root)
    languages = _site_languages(site_raw, problems)
    site = _clean_record(site_raw, languages, loaded.root, problems)
    if site is not None:
        url = site.values["base_url"]
        parts = urlsplit(url)
        if parts.query or parts.fragment:
            problems.append(Diagnostic(site.display, site_raw.line_of(("base_url",)),
                                       "'base_url' must not have a ?query or #fragment"))
        site.values["base_url"] = url if url.endswith("/") else url + "/"
        site.values.setdefault("languages", languages)
    revocations = _clean_revocations(loaded.special.get("revocations"), languages, loaded.root,
                                     problems)
    for award_id, entry in revocations.items():
        if entry.get("date") and entry["date"] > now:
            problems.append(Diagnostic(loaded.special["revocations"].display,
                                       loaded.special["revocations"].line_of((award_id, "date")),
                                       f"revocation date of '{award_id}' is in the future"))
    status_indices = _clean_status(loaded.special.get("status"), loaded.root, problems)
    sources = _Sources(loaded.root)
    awards = _AwardChecks(sources, now, revocations, status_indices, loaded.special, problems)
    cleaned: list[CleanRecord] = []
    take = take_award or (lambda record, _default: cleaned.append(record))
    for record in loaded.records:  # one by one: a record's raw values are dropped once cleaned
        clean = _clean_record(record, languages, loaded.root, problems)
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
