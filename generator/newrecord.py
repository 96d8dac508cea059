"""`rugzak new badge|learner|award`: write one well-formed record, and the helpers it shares
with `rugzak import` (reading what a site already holds, choosing ids, writing files safely).

Records are written with `yaml.safe_dump` (so any text a person types is quoted correctly) under
the `# yaml-language-server: $schema=…` line editors use. Files are never overwritten: each is
written to a temporary file and hard-linked into place, which fails if the name was taken.
"""

from __future__ import annotations

import difflib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from generator.errors import Diagnostic, UsageError, did_you_mean
from generator.load import RECORD_FOLDERS, RawRecord, load_content
from generator.personal import PRIVACY_HINT, Contacts, personal_data
from generator.schema import MAX_SLUG_LENGTH, RECIPIENT_PATTERN, VISIBILITIES, is_safe_id
from generator.status import STATUS_FILE, allocate, read_indices, write_indices
from generator.validate import DEFAULT_LANGUAGES, parse_date, suggest_slug, url_problem

Ask = Callable[[str], str]
_RECIPIENT = re.compile(RECIPIENT_PATTERN)
_COLOUR = re.compile(r"^#?([0-9a-fA-F]{6})$")
_SCHEMA_REF = re.compile(r"\$schema=([A-Za-z0-9._/:-]+\.schema\.json)")
# prefix-NNNN award ids (wp26-0015): the next award continues the series.
_NUMBERED = re.compile(r"^(?P<prefix>[a-z0-9]+(?:-[a-z0-9]+)*-)(?P<number>\d+)$")
_DAY_FIRST = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{4})$")  # 1-3-2025, 01/03/2025
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SHORT_YEAR = re.compile(r"^\d{1,2}[-/.]\d{1,2}[-/.]\d{2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# --- reading the site ------------------------------------------------------------------

@dataclass(frozen=True)
class SiteIndex:
    """What a content folder already holds, as far as new records need to know."""

    content: Path
    default_language: str
    badges: dict[str, RawRecord]
    learners: dict[str, RawRecord]          # by slug (the `slug` field, else the file name)
    awards: dict[str, RawRecord]
    status: dict[str, int]
    problems: list[Diagnostic] = field(default_factory=list)
    # learners' e-mail identifiers and the issuers' published contacts (for `text_problem`)
    contacts: Contacts = field(default_factory=Contacts)

    def taken_learner_names(self) -> set[str]:
        """Slugs and learner file names in use (a new learner may take neither)."""
        return set(self.learners) | {r.id for r in self.learners.values()}

    def taken_award_ids(self) -> set[str]:
        """Award ids in use, including ids of deleted awards that keep their status index."""
        return set(self.awards) | set(self.status)


def read_site(content: Path) -> SiteIndex:
    """Load the records of `content` (without judging them) for `new` and `import`."""
    if not (content / "site.yaml").is_file():
        raise UsageError(f"{content} is not a content folder (no site.yaml); use --content DIR "
                         "or create a site with `rugzak init DIR`")
    loaded, problems = load_content(content)
    languages = loaded.site.data.get("languages") if loaded.site else None
    default = languages[0] if isinstance(languages, list) and languages and isinstance(
        languages[0], str) else DEFAULT_LANGUAGES[0]
    kinds: dict[str, dict[str, RawRecord]] = {"badge": {}, "learner": {}, "award": {}}
    contacts = Contacts()
    for record in loaded.records:
        if record.kind == "issuer":
            email, telephone = record.data.get("email"), record.data.get("telephone")
            contacts.add_public(email if isinstance(email, str) else None,
                                telephone if isinstance(telephone, str) else None)
        elif record.kind == "learner" and "@" in str(record.data.get("identifier", "")):
            contacts.add_learner(str(record.data["identifier"]).strip())
        if record.kind in kinds:
            slug = record.data.get("slug") if record.kind == "learner" else None
            kinds[record.kind][slug if isinstance(slug, str) else record.id] = record
    status_path = content / STATUS_FILE
    try:
        status = read_indices(status_path)
    except (ValueError, TypeError, AttributeError, yaml.YAMLError) as exc:
        problems.append(Diagnostic(str(status_path), 0, f"cannot read the status ledger: {exc}",
                                   "fix status.yaml first (`rugzak check` shows the problem)"))
        status = {}
    return SiteIndex(content, default, kinds["badge"], kinds["learner"], kinds["award"],
                     status, problems, contacts)


def award_key(record: RawRecord) -> tuple[str, str, str] | None:
    """(learner, badge, issued day) of an existing award, to spot the same award twice."""
    issued = parse_date(record.data.get("issued"))
    learner, badge = record.data.get("learner"), record.data.get("badge")
    if isinstance(issued, str) or not isinstance(learner, str) or not isinstance(badge, str):
        return None
    return learner, badge, issued.date().isoformat()


def normal_identifier(text: str) -> str:
    """An identifier as compared (and hashed): trimmed, e-mail addresses lowercased."""
    text = text.strip()
    return text.lower() if "@" in text and not text.startswith(("http", "did:")) else text


# --- values ------------------------------------------------------------------------------

def parse_day(text: str) -> date | str:
    """A date typed by a person: ISO (2025-03-01) or day first (1-3-2025, 01/03/2025)."""
    text = text.strip()
    if iso := _ISO_DAY.match(text):
        year, month, day = (int(g) for g in iso.groups())
    elif dutch := _DAY_FIRST.match(text):
        day, month, year = int(dutch[1]), int(dutch[3]), int(dutch[4])
    elif _SHORT_YEAR.match(text):
        return f"date {text!r} has a two-digit year; write the year in full (1-3-2025)"
    else:
        return f"{text!r} is not a date; write 2025-03-01 or 1-3-2025 (day first)"
    try:
        return date(year, month, day)
    except ValueError:
        return f"{text!r} is not a real date (day first: dd-mm-yyyy)"


def text_problem(text: str, what: str, single_line: bool = False,
                 contacts: Contacts | None = None) -> str:
    """Why `text` cannot be a name (one line) or a description, or ''. With `contacts`, an
    e-mail address or phone number other than an issuer's published one is a problem too:
    the build would refuse to publish it."""
    if not text.strip():
        return f"{what} is empty"
    if _CONTROL.search(text) or (single_line and ("\n" in text or "\r" in text)):
        return f"{what} must be {'one line of ' if single_line else ''}text without control " \
               "characters"
    if contacts is not None and (found := personal_data(text.encode(), contacts)):
        return f"{what} holds {found}, which would be published; {PRIVACY_HINT}"
    return ""


def identifier_problem(text: str) -> str:
    """Why `text` cannot be a learner identifier (e-mail, URL or DID), or ''."""
    return "" if _RECIPIENT.fullmatch(text.strip()) else (
        f"identifier {text.strip()!r} is not an e-mail address, http(s) URL or DID")


def is_slug(text: str) -> bool:
    """Whether `text` is a safe id (lowercase letters, digits, single hyphens, ≤ 64)."""
    return is_safe_id(text)


def unique_slug(name: str, taken: set[str]) -> str:
    """A slug from `name` that is not in `taken` (jan-de-vries, jan-de-vries-2, …)."""
    base = suggest_slug(name)[:MAX_SLUG_LENGTH - 4].strip("-") or "learner"
    slug, counter = base, 1
    while slug in taken:
        counter += 1
        slug = f"{base}-{counter}"
    return slug


def next_award_ids(existing: Iterable[str], taken: set[str], count: int) -> list[str]:
    """`count` new award ids: the site's prefix-NNNN series continued, else short random ids."""
    numbered = [m for m in map(_NUMBERED.match, existing) if m]
    ids: list[str] = []
    if numbered:
        latest = max(numbered, key=lambda m: (m["prefix"], int(m["number"])))
        prefix, width = latest["prefix"], len(latest["number"])
        number = max(int(m["number"]) for m in numbered if m["prefix"] == prefix)
        while len(ids) < count:
            number += 1
            candidate = f"{prefix}{number:0{width}d}"
            if candidate not in taken and is_slug(candidate):
                ids.append(candidate)
        return ids
    while len(ids) < count:
        candidate = f"award-{secrets.token_hex(3)}"
        if candidate not in taken and candidate not in ids:
            ids.append(candidate)
    return ids


# --- writing -------------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # records may not contain &anchors/*aliases
        return True


def dump_yaml(values: dict[str, Any]) -> str:
    """Values as block YAML, every string quoted as it needs to be."""
    return yaml.dump(values, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)


def schema_ref(content: Path, kind: str) -> str:
    """The `$schema` reference for a record: what its neighbours use, else the site layout's."""
    folder = content / RECORD_FOLDERS[kind][0]
    for sibling in sorted(folder.glob("*"))[:20] if folder.is_dir() else []:
        if not sibling.is_file():  # a named pipe would block the read
            continue
        try:
            with sibling.open(encoding="utf-8") as stream:
                head = stream.read(400)
        except (OSError, UnicodeDecodeError):
            continue
        match = _SCHEMA_REF.search(head)
        if match and match[1].endswith(f"/{kind}.schema.json"):
            return match[1]
    for candidate in ("generator/schemas", "schemas"):  # Rugzak's own repo, or `rugzak init`
        if (content.parent / candidate / f"{kind}.schema.json").is_file():
            return f"../../{candidate}/{kind}.schema.json"
    return f"../../schemas/{kind}.schema.json"


def record_text(content: Path, kind: str, values: dict[str, Any], body: str = "") -> str:
    """The text of a new record file of `kind` (badges: front matter + Markdown body)."""
    head = f"# yaml-language-server: $schema={schema_ref(content, kind)}\n"
    if kind == "badge":
        return f"---\n{head}{dump_yaml(values)}---\n{body}"
    return head + dump_yaml(values)


def record_path(content: Path, kind: str, record_id: str) -> Path:
    """Where a new record goes; refuses a record folder that links out of the content folder."""
    folder, extensions = RECORD_FOLDERS[kind]
    directory = content / folder
    if directory.exists() and not directory.resolve().is_relative_to(content.resolve()):
        raise UsageError(f"{directory} is a link to outside the content folder")
    return directory / f"{record_id}{extensions[0]}"


def write_new_files(files: list[tuple[Path, str]]) -> None:
    """Write every file or none; never overwrite (FileExistsError names the first taken path).

    Each file is written completely to a temporary name first, then hard-linked into place
    (atomic, and fails if the name exists); a failure removes the files already placed.
    """
    staged: list[tuple[Path, Path]] = []
    created: list[Path] = []
    try:
        for path, text in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            staged.append((Path(temp), path))
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
            os.chmod(temp, 0o644)
        for temp, path in staged:
            try:
                os.link(temp, path)
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links: exclusive create instead
                with path.open("x", encoding="utf-8", newline="\n") as stream:
                    stream.write(temp.read_text("utf-8"))
            created.append(path)
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise
    finally:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)


def add_status_indices(content: Path, award_ids: list[str]) -> dict[str, int]:
    """Give new awards their status list index in status.yaml; returns the new indices."""
    path = content / STATUS_FILE
    existing = read_indices(path)
    updated = allocate(existing, award_ids)
    write_indices(path, updated)
    return {a: updated[a] for a in award_ids}


# --- prompting -----------------------------------------------------------------------------

def require(value: str | None, option: str, label: str, command: str, ask: Ask | None) -> str:
    """`value`, or ask for it on a terminal; without a terminal a usage error names the option."""
    if value is not None and value.strip():
        return value.strip()
    if ask is None:
        raise UsageError(f"{command}: missing {option} ({label}); give it as an option "
                         "(there is no terminal to ask on)")
    for _ in range(3):
        answer = ask(f"{label}: ").strip()
        if answer:
            return answer
    raise UsageError(f"{command}: no {label} given ({option})")


def suggestion(word: str, candidates: Iterable[str]) -> str:
    """`did you mean 'x'?` for a close id, also when the word is close to one part of it
    ('lasen' → 'lassen-basis'), or ''."""
    candidates = sorted(candidates)
    if hint := did_you_mean(word, candidates):
        return hint
    parts = {part: c for c in reversed(candidates) for part in c.split("-") if len(part) > 2}
    match = difflib.get_close_matches(word, parts, n=1, cutoff=0.75)
    return f"did you mean '{parts[match[0]]}'?" if match else ""


def unknown(kind: str, value: str, known: Iterable[str]) -> str:
    """`unknown badge 'lasen' — did you mean 'lassen-basis'?` (or the list of known ids)."""
    known = sorted(known)
    if hint := suggestion(value, known):
        return f"unknown {kind} '{value}' — {hint}"
    shown = ", ".join(known[:10]) + (" …" if len(known) > 10 else "")
    return f"unknown {kind} '{value}'" + (f"; known: {shown}" if known else f"; no {kind}s yet")


def check_reference(kind: str, value: str, known: Iterable[str]) -> None:
    """Refuse an unknown badge/learner with a suggestion."""
    known = list(known)
    if value not in known:
        raise UsageError(unknown(kind, value, known))


def colour_value(text: str | None) -> str | None:
    """'#rrggbb' (lowercase) from '#1F6F8B' or '1f6f8b'; None when not given."""
    if text is None:
        return None
    match = _COLOUR.fullmatch(text.strip())
    if not match:
        raise UsageError(f"--colour must be like '#1f6f8b', not {text!r}")
    return f"#{match[1].lower()}"


def visibility_value(text: str | None) -> str | None:
    """A visibility from the command line (public, unlisted, private)."""
    if text is not None and text not in VISIBILITIES:
        raise UsageError(f"--visibility must be one of {', '.join(VISIBILITIES)}, not {text!r}")
    return text


# --- the three commands ----------------------------------------------------------------------

@dataclass(frozen=True)
class NewRecord:
    """A record `rugzak new` wrote (and, for an award, its status list index)."""

    path: Path
    record_id: str
    status_index: int | None = None


_CRITERIA = {
    "nl": "## Wat je laat zien\n\n- Beschrijf hier wat iemand doet of maakt om deze badge te "
          "krijgen.\n",
    "en": "## What you show\n\n- Describe here what someone does or makes to earn this "
          "badge.\n",
}


def _write_one(path: Path, text: str) -> None:
    try:
        write_new_files([(path, text)])
    except FileExistsError:
        raise UsageError(f"{path} already exists; refusing to overwrite it") from None


def _checked(text: str, what: str, single_line: bool = False,
             contacts: Contacts | None = None) -> str:
    if problem := text_problem(text, what, single_line, contacts):
        raise UsageError(problem)
    return text


def new_badge(content: Path, *, name: str | None = None, description: str | None = None,
              colour: str | None = None, badge_id: str | None = None,
              ask: Ask | None = None) -> NewRecord:
    """Write badges/<id>.md without an image (Rugzak draws one from the name and colour)."""
    site = read_site(content)
    name = _checked(require(name, "--name", "badge name", "new badge", ask), "--name", True,
                    site.contacts)
    description = _checked(require(description, "--description", "one-sentence description",
                                   "new badge", ask), "--description", contacts=site.contacts)
    values: dict[str, Any] = {"name": name, "description": description}
    if (colour := colour_value(colour)) is not None:
        values["colour"] = colour
    badge_id = badge_id or suggest_slug(name)
    if not is_slug(badge_id):
        raise UsageError(f"--id {badge_id!r} is not a safe id (lowercase letters, digits, "
                         f"single hyphens); for example '{suggest_slug(badge_id)}'")
    if badge_id in site.badges:
        raise UsageError(f"badge '{badge_id}' already exists ({site.badges[badge_id].display}); "
                         "choose another id with --id")
    path = record_path(content, "badge", badge_id)
    body = _CRITERIA.get(site.default_language, _CRITERIA["en"])
    _write_one(path, record_text(content, "badge", values, body))
    return NewRecord(path, badge_id)


def new_learner(content: Path, *, name: str | None = None, identifier: str | None = None,
                visibility: str | None = None, slug: str | None = None,
                ask: Ask | None = None) -> NewRecord:
    """Write learners/<slug>.yaml; the slug comes from the name unless given."""
    site = read_site(content)
    name = _checked(require(name, "--name", "name as the learner wants it shown",
                            "new learner", ask), "--name", True, site.contacts)
    identifier = require(identifier, "--identifier", "e-mail address (never published)",
                         "new learner", ask)
    if problem := identifier_problem(identifier):
        raise UsageError(problem)
    for other_slug, record in site.learners.items():
        known = record.data.get("identifier")
        if isinstance(known, str) and normal_identifier(known) == normal_identifier(identifier):
            raise UsageError(f"learner '{other_slug}' ({record.display}) already has this "
                             "identifier; award badges to that learner instead")
    taken = site.taken_learner_names()
    if slug is not None:
        if not is_slug(slug):
            raise UsageError(f"--slug {slug!r} is not a safe slug (lowercase letters, digits, "
                             f"single hyphens); for example '{suggest_slug(slug)}'")
        if slug in taken:
            raise UsageError(f"the slug '{slug}' is already used by another learner")
    else:
        slug = unique_slug(name, taken)
    values: dict[str, Any] = {"name": name, "identifier": identifier}
    if (visibility := visibility_value(visibility)) is not None:
        values["visibility"] = visibility
    path = record_path(content, "learner", slug)
    _write_one(path, record_text(content, "learner", values))
    return NewRecord(path, slug)


def new_award(content: Path, today: date, *, learner: str | None = None,
              badge: str | None = None, issued: str | None = None,
              narrative: str | None = None, evidence: list[str] | None = None,
              award_id: str | None = None, ask: Ask | None = None) -> NewRecord:
    """Write awards/<id>.yaml (next id in the site's series) and allocate its status index."""
    site = read_site(content)
    learner = require(learner, "--learner", "the learner's slug", "new award", ask)
    check_reference("learner", learner, site.learners)
    badge = require(badge, "--badge", "the badge id", "new award", ask)
    check_reference("badge", badge, site.badges)
    day = today if issued is None else parse_day(issued)
    if isinstance(day, str):
        raise UsageError(f"--issued: {day}")
    if day > today:
        raise UsageError(f"--issued {day.isoformat()} is in the future; badges cannot be "
                         "awarded ahead of time")
    for url in evidence or []:
        if problem := url_problem(url):
            raise UsageError(f"--evidence {url!r} is not a usable URL: {problem}")
        _checked(url, "--evidence", single_line=True, contacts=site.contacts)
    for other in site.awards.values():
        if award_key(other) == (learner, badge, day.isoformat()):
            raise UsageError(f"'{learner}' already has '{badge}' issued on {day.isoformat()} "
                             f"({other.display}); give another --issued date for a second "
                             "award")
    taken = site.taken_award_ids()
    if award_id is not None and (not is_slug(award_id) or award_id in taken):
        raise UsageError(f"--id {award_id!r} is " + ("already used (an award id is never "
                         "reused, also not after deletion)" if award_id in taken
                         else "not a safe id (lowercase letters, digits, single hyphens)"))
    award_id = award_id or next_award_ids(site.awards, taken, 1)[0]
    values: dict[str, Any] = {"learner": learner, "badge": badge, "issued": day}
    if narrative and narrative.strip():
        values["narrative"] = _checked(narrative.strip(), "--narrative",
                                       contacts=site.contacts)
    if evidence:
        values["evidence"] = list(evidence)
    path = record_path(content, "award", award_id)
    _write_one(path, record_text(content, "award", values))
    try:
        index = add_status_indices(content, [award_id])[award_id]
    except BaseException:
        path.unlink(missing_ok=True)  # an award without an index would fail the next build
        raise
    return NewRecord(path, award_id, index)
