"""`rugzak import awards.csv`: award badges in bulk from a spreadsheet export.

The file is read completely and every row is checked before anything is written; one problem
anywhere means every problem is reported and nothing is written. Row numbers are the
spreadsheet's (the header is row 1). Re-importing the same file creates nothing: an award with
the same learner, badge and issue date is recognised and skipped.

Columns (header names in Dutch or English; case, spaces and hyphens do not matter; a column
whose name starts with `#` is a note column and ignored):

    naam / name              learner's name (needed to create a new learner)
    e-mail / email           learner's e-mail address (or URL/DID): finds or creates the learner
    leerling-id / slug       an existing learner's slug (instead of, or besides, the e-mail)
    badge                    badge id (or the badge's exact name)
    datum / date             issue date: 1-3-2025, 01-03-2025, 01/03/2025 or 2025-03-01
    verhaal / narrative      what the learner did (optional)
    bewijs / evidence        evidence URL(s), separated by spaces (optional)
    zichtbaarheid / visibility  new learners only: openbaar/public, onvermeld/unlisted,
                             privé/private (optional; default unlisted)
    verloopt / expires       expiry date (optional)
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from generator.errors import ContentError, Diagnostic, UsageError, did_you_mean
from generator.newrecord import (SiteIndex, add_status_indices, award_key, identifier_problem,
                                 is_slug, next_award_ids, normal_identifier, parse_day,
                                 read_site, record_path, record_text, text_problem, unique_slug,
                                 unknown, write_new_files)
from generator.progress import Progress
from generator.validate import suggest_slug, url_problem

MAX_CSV_BYTES = 20_000_000
# field → (label shown in messages, accepted header names after normalising)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": ("naam/name", ("naam", "name", "volledigenaam", "fullname")),
    "email": ("e-mail/email", ("email", "emailadres", "mail", "emailaddress", "identifier")),
    "slug": ("leerling-id/slug", ("leerlingid", "leerling", "slug", "learner", "learnerid")),
    "badge": ("badge", ("badge", "badgeid")),
    "issued": ("datum/date", ("datum", "date", "issued", "uitgereikt")),
    "narrative": ("verhaal/narrative", ("verhaal", "narrative", "toelichting")),
    "evidence": ("bewijs/evidence", ("bewijs", "evidence")),
    "visibility": ("zichtbaarheid/visibility", ("zichtbaarheid", "visibility")),
    "expires": ("verloopt/expires", ("verloopt", "expires", "geldigtot", "validuntil")),
}
_VISIBILITY = {"openbaar": "public", "public": "public", "onvermeld": "unlisted",
               "unlisted": "unlisted", "prive": "private", "private": "private"}
# OWASP "CSV injection": spreadsheets run a cell starting with these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_REFUSED = "\0refused"  # stands in for a formula cell (a CSV cell never holds NUL)
_EXPORT_HINT = ("in Excel: Save as → 'CSV UTF-8 (comma delimited)'; in LibreOffice: "
                "character set 'Unicode (UTF-8)'")


def _normal(header: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    return "".join(c for c in ascii_text.lower() if c.isalnum())


@dataclass(frozen=True)
class PlannedAward:
    """One award the import will write."""

    line: int
    learner: str
    badge: str
    values: dict[str, Any]
    award_id: str = ""


@dataclass
class ImportPlan:
    """What an import would do, row by row; `problems` empty means it can be written."""

    display: str
    awards: list[PlannedAward] = field(default_factory=list)
    learners: dict[str, dict[str, Any]] = field(default_factory=dict)  # new slug → values
    new_learner_lines: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)

    def report(self) -> list[str]:
        """One line per row that would change or be skipped, in row order."""
        lines = [(a.line, f"{self.display}:{a.line}: new award {a.award_id}: '{a.badge}' for "
                  f"'{a.learner}' ({a.values['issued'].isoformat()})"
                  + (" and new learner" if self.new_learner_lines.get(a.learner) == a.line
                     else "")) for a in self.awards]
        lines += [(line, f"{self.display}:{line}: already awarded ({where}); skipped")
                  for line, where in self.skipped]
        return [text for _, text in sorted(lines)]

    def summary(self) -> str:
        """Counts of new awards, new learners and skipped rows."""
        n, m, k = len(self.awards), len(self.learners), len(self.skipped)
        return (f"{self.display}: {n} new award{'s' if n != 1 else ''}, {m} new "
                f"learner{'s' if m != 1 else ''}, {k} already present")


def read_rows(path: Path, display: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and rows (with spreadsheet row numbers) of a UTF-8 CSV with `;` or `,`."""
    def fail(message: str, hint: str = "", line: int = 0) -> ContentError:
        return ContentError([Diagnostic(display, line, message, hint)])
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise fail(f"file is too large (the limit is {MAX_CSV_BYTES:,} bytes)")
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {display}: {exc.strerror or exc}") from None
    if raw.startswith(b"PK\x03\x04"):
        raise fail("this is a spreadsheet workbook (.xlsx/.ods), not CSV; export as 'CSV UTF-8'",
                   _EXPORT_HINT)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise fail("file is UTF-16 ('Unicode text'), not UTF-8; export as 'CSV UTF-8'",
                   _EXPORT_HINT)
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise fail(f"not UTF-8 (byte 0x{raw[exc.start]:02x} at line {line}); export as "
                   "'CSV UTF-8'", _EXPORT_HINT) from None
    if "\x00" in text:
        raise fail("file contains NUL bytes; it is not a CSV text file", _EXPORT_HINT)
    first, _, rest = text.partition("\n")
    if re.fullmatch(r"sep=[;,\t]\r?", first):  # Excel's hint line; Excel does not show it
        delimiter, text = first[4], rest
    else:
        delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(reader, start=1):
            records.append((number, cells))
    except csv.Error as exc:
        raise fail(f"CSV syntax error: {exc}", "check the quotes (\") in this row",
                   len(records) + 1) from None
    if not records or not any(c.strip() for c in records[0][1]):
        raise fail("the file is empty or its first line (the column names) is empty")
    return records[0][1], records[1:]


def map_columns(header: list[str], display: str, problems: list[Diagnostic]
                ) -> dict[str, int]:
    """Field → column index; unknown, duplicate and missing columns become problems."""
    aliases = {alias: name for name, (_, names) in COLUMNS.items() for alias in names}
    labels = ", ".join(label for label, _ in COLUMNS.values())
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        title = title.strip()
        if not title or title.startswith("#"):
            continue  # blank trailing columns from the spreadsheet, or a note column
        name = aliases.get(_normal(title))
        if name is None:
            hint = did_you_mean(_normal(title), aliases)
            problems.append(Diagnostic(display, 1, f"unknown column '{title}'"
                                       + (f" — {hint}" if hint else ""),
                                       f"known columns: {labels}; start a note column's name "
                                       "with '#' to keep it (it is ignored)"))
        elif name in columns:
            problems.append(Diagnostic(display, 1, f"two columns mean "
                                       f"{COLUMNS[name][0]}: '{header[columns[name]].strip()}' "
                                       f"and '{title}'"))
        else:
            columns[name] = index
    missing = [COLUMNS[n][0] for n in ("badge", "issued") if n not in columns]
    if "email" not in columns and "slug" not in columns:
        missing.append("e-mail/email (or leerling-id/slug)")
    if missing:
        shown = ";".join(header) if len(header) < 40 else ";".join(header[:40]) + "…"
        problems.append(Diagnostic(display, 1, f"missing column{'s' if len(missing) > 1 else ''}"
                                   f": {', '.join(missing)} (the header line is: {shown!r})",
                                   f"the first line names the columns: {labels}"))
    return columns


class _Planner:
    """Checks rows one by one, remembering what earlier rows created or used."""

    def __init__(self, site: SiteIndex, display: str, today: date, columns: dict[str, int],
                 header: list[str]):
        self.site, self.today, self.columns, self.header = site, today, columns, header
        self.plan = ImportPlan(display)
        self.by_identifier = {normal_identifier(r.data["identifier"]): slug
                              for slug, r in site.learners.items()
                              if isinstance(r.data.get("identifier"), str)}
        self.existing = {k: r.display for r in site.awards.values() if (k := award_key(r))}
        self.seen: dict[tuple[str, str, str], int] = {}
        self.badge_names = {str(n).casefold(): b for b, r in site.badges.items()
                            for n in _texts(r.data.get("name"))}
        # learner slugs and file names in use, with those this import adds (one set that
        # grows: made again per row, 100,000 new learners took hours)
        self.taken_names = site.taken_learner_names()

    def error(self, line: int, message: str, hint: str = "") -> None:
        self.plan.problems.append(Diagnostic(self.plan.display, line, message, hint))

    def cells(self, line: int, row: list[str]) -> dict[str, str] | None:
        extra = [c for c in row[len(self.header):] if c.strip()]
        if extra:
            self.error(line, f"row has {len(row)} cells but the header names "
                       f"{len(self.header)} columns", "a separator inside a cell? put that "
                       "cell's text in double quotes")
            return None
        values = {name: (row[i].strip() if i < len(row) else "")
                  for name, i in self.columns.items()}
        for name, value in list(values.items()):
            if value.startswith(_FORMULA_STARTS):
                self.error(line, f"cell '{self.header[self.columns[name]].strip()}' starts "
                           f"with '{value[0]}': formulas are not accepted",
                           "spreadsheets run such a cell as a formula (CSV injection); remove "
                           "the leading character")
                values[name] = _REFUSED
        return values

    def learner(self, line: int, cells: dict[str, str]) -> str | None:
        slug, email, name = cells.get("slug", ""), cells.get("email", ""), cells.get("name", "")
        if email and (problem := identifier_problem(email)):
            self.error(line, problem)
            return None
        known = self.by_identifier.get(normal_identifier(email)) if email else None
        if known and slug and known != slug:
            self.error(line, f"{email!r} belongs to learner '{known}', not '{slug}'",
                       "check the e-mail address or the leerling-id/slug")
            return None
        if known is None and slug and (slug in self.site.learners or slug in self.plan.learners):
            if email:
                self.error(line, f"learner '{slug}' has another identifier than {email!r}",
                           "check the e-mail address or the leerling-id/slug")
                return None
            known = slug
        if known:
            first = self.plan.learners.get(known, {}).get("name")
            if first and name and name != first:
                self.error(line, f"new learner {email!r} has two names: {first!r} (row "
                           f"{self.plan.new_learner_lines[known]}) and {name!r}")
                return None
            return known
        if slug and (not is_slug(slug) or slug in self.taken_names):
            self.error(line, f"'{slug}' cannot be a new learner's slug" + (
                       " (a learner file has that name)" if is_slug(slug) else ""),
                       f"for example '{unique_slug(slug, self.taken_names)}'")
            return None
        if not email or not name:
            self.error(line, unknown("learner", slug, self.site.learners) if slug
                       else f"no learner has the identifier {email!r}",
                       "to add a new learner, fill in both naam/name and e-mail/email")
            return None
        if problem := text_problem(name, "naam/name", single_line=True,
                                   contacts=self.site.contacts):
            self.error(line, problem)
            return None
        visibility = _VISIBILITY.get(_normal(cells.get("visibility", "")))
        if cells.get("visibility") and visibility is None:
            self.error(line, f"zichtbaarheid/visibility must be openbaar/public, "
                       f"onvermeld/unlisted or privé/private, not {cells['visibility']!r}")
            return None
        new_slug = slug or unique_slug(name, self.taken_names)
        self.taken_names.add(new_slug)
        values: dict[str, Any] = {"name": name, "identifier": email}
        if visibility:
            values["visibility"] = visibility
        self.plan.learners[new_slug] = values
        self.plan.new_learner_lines[new_slug] = line
        self.by_identifier[normal_identifier(email)] = new_slug
        return new_slug

    def badge(self, line: int, text: str) -> str | None:
        if not text:
            self.error(line, "the badge cell is empty")
            return None
        for candidate in (text, suggest_slug(text), self.badge_names.get(text.casefold())):
            if candidate in self.site.badges:
                return candidate
        self.error(line, unknown("badge", text, self.site.badges))
        return None

    def day(self, line: int, text: str, label: str) -> date | None:
        value = parse_day(text) if text else f"the {label} cell is empty"
        if isinstance(value, str):
            self.error(line, f"{label}: {value}")
            return None
        return value

    def row(self, line: int, raw: list[str]) -> None:
        cells = self.cells(line, raw)
        if cells is None:
            return
        refused = {name for name, value in cells.items() if value == _REFUSED}
        # a refused cell is reported once; the checks that need it are skipped
        learner = None if refused & {"name", "email", "slug", "visibility"} \
            else self.learner(line, cells)
        badge = None if "badge" in refused else self.badge(line, cells.get("badge", ""))
        issued = None if "issued" in refused else \
            self.day(line, cells.get("issued", ""), "datum/date")
        expires = self.day(line, cells["expires"], "verloopt/expires") \
            if cells.get("expires") and "expires" not in refused else None
        if issued and issued > self.today:
            self.error(line, f"datum/date {issued.isoformat()} is in the future")
        if issued and expires and expires <= issued:
            self.error(line, "verloopt/expires must be after datum/date")
        evidence = cells.get("evidence", "").split() if "evidence" not in refused else []
        for url in evidence:
            if problem := url_problem(url):
                self.error(line, f"bewijs/evidence {url!r} is not a usable URL: {problem}")
            elif problem := text_problem(url, "bewijs/evidence", single_line=True,
                                         contacts=self.site.contacts):
                self.error(line, problem)  # (an address in it would be published)
        if not (learner and badge and issued) or any(p.line == line
                                                     for p in self.plan.problems):
            return
        key = (learner, badge, issued.isoformat())
        if key in self.seen:
            self.error(line, f"duplicate row: same learner, badge and date as row "
                       f"{self.seen[key]}", "remove one of the two rows")
            return
        self.seen[key] = line
        if key in self.existing:
            self.plan.skipped.append((line, self.existing[key]))
            return
        values: dict[str, Any] = {"learner": learner, "badge": badge, "issued": issued}
        if cells.get("narrative"):
            if problem := text_problem(cells["narrative"], "verhaal/narrative",
                                       contacts=self.site.contacts):
                self.error(line, problem)
                return
            values["narrative"] = cells["narrative"]
        if evidence:
            values["evidence"] = evidence
        if expires:
            values["expires"] = expires
        self.plan.awards.append(PlannedAward(line, learner, badge, values))


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value.values() if isinstance(v, str)] if isinstance(value, dict) else []


def plan_import(csv_path: Path, content: Path, today: date, display: str | None = None
                ) -> ImportPlan:
    """Read and check every row; the plan lists new awards/learners and all problems."""
    display = display or csv_path.as_posix()
    site = read_site(content)
    header, rows = read_rows(csv_path, display)
    plan = ImportPlan(display, problems=list(site.problems))
    columns = map_columns(header, display, plan.problems)
    if plan.problems:
        return plan
    planner = _Planner(site, display, today, columns, header)
    for line, raw in rows:
        if any(cell.strip() for cell in raw):
            planner.row(line, raw)
    plan = planner.plan
    ids = next_award_ids(site.awards, site.taken_award_ids(), len(plan.awards))
    plan.awards = [PlannedAward(a.line, a.learner, a.badge, a.values, award_id)
                   for a, award_id in zip(plan.awards, ids)]
    return plan


def write_import(plan: ImportPlan, content: Path, progress: Progress | None = None) -> None:
    """Write the planned learners and awards (all or nothing), then their status indices."""
    files = [(record_path(content, "learner", slug), record_text(content, "learner", values))
             for slug, values in plan.learners.items()]
    files += [(record_path(content, "award", a.award_id),
               record_text(content, "award", a.values)) for a in plan.awards]
    try:
        write_new_files(files)
    except FileExistsError as exc:
        raise ContentError([Diagnostic(str(exc.filename), 0, "a record with this name "
                                       "appeared while importing; nothing was written",
                                       "run the import again")]) from None
    if progress:
        progress.advance(len(files))
    try:
        add_status_indices(content, [a.award_id for a in plan.awards])
    except BaseException:
        for path, _ in files:
            path.unlink(missing_ok=True)
        raise
