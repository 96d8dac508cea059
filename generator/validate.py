"""Validate loaded records: field types, unknown keys, unique ids and cross-references.

Input: `LoadedContent` (plain values + line numbers). Output: cleaned values (dates as aware
datetimes, localized text as `{lang: str}`, URLs checked, image files sniffed) and every problem
found, all at once, each with `path:line` and a hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from generator.errors import Diagnostic, did_you_mean
from generator.images import ImageProblem, inspect_image
from generator.load import FieldPath, LoadedContent, RawRecord
from generator.schema import MAX_SLUG_LENGTH, SLUG_PATTERN, SPECS, FieldSpec

_SLUG = re.compile(SLUG_PATTERN)
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
# OB 2.0 validator: email "must match ^[^@\s]+@[^@\s]+$"; we also ask for a dot in the domain.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TELEPHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164, as OB 2.0 `telephone` asks
DEFAULT_LANGUAGES = ("nl", "en")


@dataclass(frozen=True)
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
    """All records of a site, validated and cross-checked."""

    root: Path
    site: CleanRecord
    records: tuple[CleanRecord, ...]

    def of_kind(self, kind: str) -> tuple[CleanRecord, ...]:
        """Records of one kind, in file-name order."""
        return tuple(r for r in self.records if r.kind == kind)


class _Checker:
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
                else:
                    result[lang] = text
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
    if any(c.isspace() or ord(c) < 32 for c in text):
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


def parse_date(value: Any) -> datetime | str:
    """A YAML date/datetime/string as an aware UTC datetime, or the reason it is not one."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return "has a time but no time zone (add Z for UTC, or +01:00)"
        return value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
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


def _record_key(record: RawRecord) -> str:
    slug = record.data.get("slug")
    return slug if record.kind == "learner" and isinstance(slug, str) else record.id


def _cross_check(site: CleanRecord, records: list[CleanRecord], raw: dict[Path, RawRecord],
                 now: datetime, problems: list[Diagnostic]) -> None:
    """Unique ids, references between records, and date order.

    Pools of known ids come from every *loaded* record, so a record with a bad field does not
    also make every reference to it look unknown.
    """
    def error(record: RawRecord, field: str, message: str, hint: str = "") -> None:
        problems.append(Diagnostic(record.display, record.line_of((field,)), message, hint))

    pools: dict[str, dict[str, RawRecord]] = {k: {} for k in SPECS}
    for record in sorted(raw.values(), key=lambda r: r.display):
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
            error(raw[record.path], field, f"unknown {kind} '{value}'",
                  did_you_mean(value, pools[kind]) or f"no {kind} record has that id")

    reference(site, "issuer", "issuer")
    for record in records:
        if record.kind == "badge":
            reference(record, "issuer", "issuer")
        if record.kind != "award":
            continue
        reference(record, "learner", "learner")
        reference(record, "badge", "badge")
        issued, expires = record.values.get("issued"), record.values.get("expires")
        if issued and issued > now:
            error(raw[record.path], "issued",
                  f"'issued' is in the future ({issued.date().isoformat()})",
                  "badges cannot be awarded ahead of time; verifiers reject them")
        if issued and expires and expires <= issued:
            error(raw[record.path], "expires", "'expires' must be after 'issued'")


def validate_content(loaded: LoadedContent, now: datetime,
                     base_url: str | None = None) -> tuple[ValidContent | None, list[Diagnostic]]:
    """Check every record; return the cleaned content, or None and the list of problems.

    `now` is the build clock (passed in, so tests and reproducible builds control it);
    `base_url` overrides site.yaml's (e.g. a loopback URL for validators).
    """
    problems: list[Diagnostic] = []
    if loaded.site is None:
        return None, problems
    site_raw = loaded.site
    if base_url is not None:
        site_raw = RawRecord("site", "site", site_raw.path, site_raw.display,
                             {**site_raw.data, "base_url": base_url}, site_raw.lines)
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
    raw_by_path = {r.path: r for r in loaded.records}
    cleaned = [c for r in loaded.records
               if (c := _clean_record(r, languages, loaded.root, problems)) is not None]
    if site is not None:
        raw_by_path[site.path] = site_raw
        _cross_check(site, cleaned, raw_by_path, now, problems)
    if problems or site is None:
        return None, problems
    return ValidContent(loaded.root, site, tuple(cleaned)), problems
