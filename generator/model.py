"""The frozen site model: issuers, badge classes, learners and awards, linked and with URLs.

Built once from validated records; every later stage (sign, render) only reads it. All URLs
are computed here, from `base_url`, so an `id` always equals the URL a file is served at.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Mapping

from generator.cache import Cache, cached
from generator.artwork import generate_badge_png, generate_badge_svg
from generator.images import inspect_image, published_bytes
from generator.identity import normalise_email
from generator.markup import render_markdown, split_languages
# add_period lives in validate, which checks that `valid_for` expiries stay in range
from generator.validate import CleanRecord, ValidContent, add_period

# Expiry this close counts as "expires soon" on profiles.
EXPIRES_SOON_DAYS = 30


@dataclass(frozen=True, slots=True)
class Localized:
    """Text in one or more languages, falling back to the site's default language."""

    values: Mapping[str, str]
    default: str

    def get(self, language: str) -> str:
        """The text in `language`, or in the default language when not given."""
        return self.values.get(language) or self.values[self.default]

    def __str__(self) -> str:
        return self.values[self.default]


@dataclass(frozen=True)
class Issuer:
    id: str
    name: Localized
    url: str
    email: str
    description: Localized | None
    telephone: str | None
    image: Path | None
    image_format: str | None
    linkedin_id: str | None = None


@dataclass(frozen=True)
class BadgeClass:
    id: str
    name: Localized
    description: Localized
    criteria: Localized          # Markdown source per language
    criteria_html: Localized     # sanitized HTML per language
    image: Path | None           # the maintainer's image; None when generated
    image_format: str            # "png" or "svg"
    issuer: Issuer
    tags: tuple[str, ...]
    valid_for: tuple[int, int] | None  # (months, days) each award stays valid
    image_data: bytes = b""      # the published image's bytes (read or generated once)
    generated_svg: str | None = None  # SVG twin of a generated image
    alignments: tuple["Alignment", ...] = ()
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Alignment:
    """A badge's alignment to an ESCO concept or a qualifications-framework level."""

    framework: str               # esco | eqf | nlqf
    url: str                     # targetUrl
    code: str                    # targetCode: ESCO uuid or the level
    name: Localized
    kind: str                    # skill | occupation | level


_FRAMEWORK_NAMES = {"esco": "ESCO", "eqf": "European Qualifications Framework",
                    "nlqf": "Nederlands Kwalificatieraamwerk (NLQF)"}


def framework_name(alignment: Alignment) -> str:
    """targetFramework: a name, not a URL (OB 2.0 §A.11)."""
    return _FRAMEWORK_NAMES[alignment.framework]


def make_alignment(entry: dict, default: str) -> Alignment:
    """From a validated alignment item; EQF/NLQF get their standard URIs and labels."""
    framework, value = entry["framework"], entry["value"]
    if framework == "esco":
        kind = "occupation" if "/occupation/" in value else "skill"
        return Alignment("esco", value, value.rsplit("/", 1)[1],
                         Localized(entry["name"], default), kind)
    if framework == "eqf":
        # EQF level concept URIs: http://data.europa.eu/snb/eqf/<1..8> (digest §F.3)
        names = entry.get("name") or {default: f"EQF {value}"}
        return Alignment("eqf", f"http://data.europa.eu/snb/eqf/{value}", str(value),
                         Localized(names, default), "level")
    # No machine-readable NLQF concept URIs were found (digest §F.3, UNSURE); the NCP NLQF
    # level page is the most stable human-readable target.
    label = "Entree" if value == "entree" else str(value)
    names = entry.get("name") or {default: f"NLQF {label}"}
    return Alignment("nlqf", "https://www.nlqf.nl/nlqf-niveaus", label,
                     Localized(names, default), "level")


@dataclass(frozen=True)
class PathStep:
    badges: tuple["BadgeClass", ...]
    name: Localized | None


@dataclass(frozen=True)
class LearningPath:
    id: str
    name: Localized
    description: Localized
    description_html: Localized
    target_name: Localized | None
    target_esco: str | None
    steps: tuple[PathStep, ...]
    completion: "BadgeClass | None"


@dataclass(frozen=True)
class Endorser:
    id: str
    name: Localized
    url: str
    description: Localized | None


@dataclass(frozen=True)
class Endorsement:
    id: str
    endorser: Endorser
    badge: "BadgeClass | None"
    issuer: Issuer | None
    date: datetime
    comment: Localized
    comment_html: Localized
    signed: dict | None          # the endorser-signed EndorsementCredential, verified


@dataclass(frozen=True, slots=True)
class Learner:
    slug: str
    name: str
    identifier: str              # normalised e-mail, URL or DID; only ever published hashed
    visibility: str              # public | unlisted | private
    did: str | None = None       # the learner's own DID, published as credentialSubject.id

    @property
    def identifier_type(self) -> str:
        """email, url or did — how the identifier is labelled when hashed."""
        if self.identifier.startswith("did:"):
            return "did"
        return "url" if self.identifier.startswith(("http://", "https://")) else "email"

    @property
    def has_profile(self) -> bool:
        """Private learners get no profile page at all."""
        return self.visibility != "private"


@dataclass(frozen=True, slots=True)
class Evidence:
    url: str
    name: Localized | None
    description: Localized | None


@dataclass(frozen=True, slots=True)
class Revocation:
    date: datetime
    reason: Localized


# Slots on the classes made per award (no instance dictionary): ~0.4 KB less per award,
# which is what bounds the memory of a 100,000-award build.
@dataclass(frozen=True, slots=True)
class Award:
    id: str
    learner: Learner
    badge: BadgeClass
    issued: datetime
    expires: datetime | None
    narrative: Localized | None
    evidence: tuple[Evidence, ...]
    status: str                  # valid | expired | revoked
    expires_soon: bool
    status_index: int            # this award's bit in the site's status list
    revocation: Revocation | None = None

    @property
    def narrative_html(self) -> Localized | None:
        """The narrative as safe HTML, per language. Rendered when a page first asks for it —
        in the worker that renders the award, never for an award whose files are kept — and
        remembered for the award asked about last only: its pages in every language ask in
        turn, and kept on every award it would grow a worker with each award it renders."""
        if not self.narrative:
            return None
        award, html = _LAST_NARRATIVE
        if award is not self:
            html = Localized({lang: render_markdown(text)
                              for lang, text in self.narrative.values.items()},
                             self.narrative.default)
            _LAST_NARRATIVE[:] = [self, html]
        return html


_LAST_NARRATIVE: list = [None, None]  # [award, its narrative_html]


@dataclass(frozen=True)
class Site:
    """Everything a build publishes, with the build clock it was judged against."""

    title: Localized
    description: Localized | None
    base_url: str
    languages: tuple[str, ...]
    theme: str
    issuer: Issuer
    issuers: tuple[Issuer, ...]
    badges: tuple[BadgeClass, ...]
    learners: tuple[Learner, ...]
    awards: tuple[Award, ...]
    now: datetime
    content_root: Path
    paths: tuple[LearningPath, ...] = ()
    endorsers: tuple[Endorser, ...] = ()
    endorsements: tuple[Endorsement, ...] = ()

    @property
    def default_language(self) -> str:
        return self.languages[0]

    def url(self, path: str) -> str:
        """Absolute URL of a site path such as `badges/x.json`."""
        return self.base_url + path

    def awards_of(self, learner: Learner) -> tuple[Award, ...]:
        """A learner's awards, newest first."""
        return tuple(sorted((a for a in self.awards if a.learner == learner),
                            key=lambda a: (a.issued, a.id), reverse=True))

    def awards_for(self, badge: BadgeClass) -> tuple[Award, ...]:
        return tuple(a for a in self.awards if a.badge == badge)


# --- URL layout (paths relative to the site root; pages end in '/') ---------------------------
def issuer_json(issuer: Issuer) -> str:
    return f"issuers/{issuer.id}.json"


def issuer_page(issuer: Issuer) -> str:
    return f"issuers/{issuer.id}/"


def issuer_image(issuer: Issuer) -> str | None:
    return f"issuers/{issuer.id}.{issuer.image_format}" if issuer.image else None


def badge_json(badge: BadgeClass) -> str:
    return f"badges/{badge.id}.json"


def badge_page(badge: BadgeClass) -> str:
    return f"badges/{badge.id}/"


def badge_image(badge: BadgeClass) -> str:
    return f"badges/{badge.id}.{badge.image_format}"


def assertion_json(award: Award) -> str:
    return f"assertions/{award.id}.json"


def award_page(award: Award) -> str:
    """Short on purpose: this URL goes into QR codes."""
    return f"a/{award.id}/"


def profile_page(learner: Learner) -> str:
    """Short on purpose: this URL goes into QR codes."""
    return f"p/{learner.slug}/"


def localized_page(path: str, language: str, default: str) -> str:
    """The default language lives at the plain path, others under `<lang>/`."""
    return path if language == default else f"{language}/{path}"


# --- building ----------------------------------------------------------------------------------
def _localized(values: Mapping[str, str] | None, default: str) -> Localized | None:
    # not copied: cleaned values are made fresh for the model (awards' texts are copied,
    # with their language codes interned: see `_shared_localized`)
    return Localized(values, default) if values else None


def _build_issuer(record: CleanRecord, default: str) -> Issuer:
    v = record.values
    image = v.get("image")
    return Issuer(record.id, Localized(v["name"], default), v["url"], v["email"],
                  _localized(v.get("description"), default), v.get("telephone"), image,
                  inspect_image(image).format if image else None, v.get("linkedin_id"))


def _build_badge(record: CleanRecord, issuers: dict[str, Issuer], site_issuer: str,
                 default: str, cache: Cache | None = None) -> BadgeClass:
    v = record.values
    criteria = split_languages(record.body or "", default) or {
        default: v["description"][default]}
    if default not in criteria:
        criteria[default] = v["description"][default]
    html = {lang: render_markdown(text) for lang, text in criteria.items()}
    image: Path | None = v.get("image")
    if image is not None:
        image_format, data, svg = inspect_image(image).format, published_bytes(image), None
    else:
        # No image given: a distinctive, deterministic one from the name and colour.
        name = v["name"][default]
        image_format = "png"
        inputs = [name, v.get("colour"), record.id]
        data = cached(cache, "badge-png", inputs,
                      lambda: generate_badge_png(name, v.get("colour"), record.id))
        svg = cached(cache, "badge-svg", inputs, lambda: generate_badge_svg(
            name, v.get("colour"), record.id).encode("utf-8")).decode("utf-8")
    return BadgeClass(record.id, Localized(v["name"], default),
                      Localized(v["description"], default), Localized(criteria, default),
                      Localized(html, default), image, image_format,
                      issuers[v.get("issuer", site_issuer)], tuple(v.get("tags", ())),
                      v.get("valid_for"), data, svg,
                      tuple(make_alignment(a, default) for a in v.get("alignment", ())),
                      tuple(v.get("requires", ())))


@dataclass(frozen=True, slots=True)
class AwardDraft:
    """An award's own values, made from its cleaned record as soon as it is validated (so a
    build never holds every cleaned award); `build_site` links it to its learner and badge."""

    id: str
    learner: str
    badge: str
    issued: datetime
    expires: datetime | None
    narrative: Localized | None
    evidence: tuple[Evidence, ...]


def draft_award(record: CleanRecord, default: str) -> AwardDraft:
    """The model's values of a validated award record (`default`: the site's language)."""
    v = record.values
    evidence = tuple(Evidence(e["url"], _shared_localized(e.get("name"), default),
                              _shared_localized(e.get("description"), default))
                     for e in v.get("evidence", ()))
    return AwardDraft(record.id, v["learner"], v["badge"], v["issued"], v.get("expires"),
                      _shared_localized(v.get("narrative"), default), evidence)


def _shared_localized(values: Mapping[str, str] | None, default: str) -> Localized | None:
    """An award's text, its language codes interned: the model holds 100,000 awards' texts,
    and cleaned values read back from the record cache each have their own copy of "nl" and
    "en" (~50 bytes each, megabytes in all, inherited by every worker)."""
    return Localized({sys.intern(language): text for language, text in values.items()},
                     sys.intern(default)) if values else None


def _build_award(draft: AwardDraft, learners: dict[str, Learner],
                 badges: dict[str, BadgeClass], now: datetime, default: str,
                 status_index: int, revocation: dict | None) -> Award:
    badge = badges[draft.badge]
    expires = draft.expires
    if expires is None and badge.valid_for is not None:
        expires = add_period(draft.issued, *badge.valid_for)
    expired = expires is not None and expires <= now
    revoked = (Revocation(revocation["date"], Localized(revocation["reason"], default))
               if revocation else None)
    soon = (expires is not None and not expired and revoked is None
            and (expires - now).days < EXPIRES_SOON_DAYS)
    status = "revoked" if revoked else "expired" if expired else "valid"
    return Award(draft.id, learners[draft.learner], badge, draft.issued, expires,
                 draft.narrative, draft.evidence, status, soon, status_index, revoked)


def _markdown(values: Mapping[str, str], default: str) -> tuple[Localized, Localized]:
    return (Localized(dict(values), default),
            Localized({k: render_markdown(t) for k, t in values.items()}, default))


def _build_path(record: CleanRecord, badges: dict[str, BadgeClass], default: str
                ) -> LearningPath:
    v = record.values
    description, description_html = _markdown(v["description"], default)
    target = v.get("target") or {}
    steps = tuple(PathStep(tuple(badges[b] for b in step["badges"]),
                           _localized(step.get("name"), default)) for step in v["steps"])
    completion = badges[v["completion"]] if v.get("completion") else None
    return LearningPath(record.id, Localized(v["name"], default), description,
                        description_html, _localized(target.get("name"), default),
                        target.get("esco"), steps, completion)


def _build_endorsement(record: CleanRecord, endorsers: dict[str, Endorser],
                       badges: dict[str, BadgeClass], issuers: dict[str, Issuer],
                       default: str) -> Endorsement:
    v = record.values
    comment, comment_html = _markdown(v["comment"], default)
    signed = v.get("signed")
    return Endorsement(record.id, endorsers[v["endorser"]], badges.get(v.get("badge", "")),
                       issuers.get(v.get("issuer", "")), v["date"], comment, comment_html,
                       signed["document"] if signed else None)


def path_progress(path: LearningPath, held: set[str]) -> tuple[int, PathStep | None]:
    """(completed steps, first open step) for a learner holding the badge ids `held`."""
    done = [any(b.id in held for b in step.badges) for step in path.steps]
    next_step = next((step for step, ok in zip(path.steps, done) if not ok), None)
    return sum(done), next_step


def missing_completions(site: "Site") -> list[tuple[Learner, LearningPath]]:
    """(learner, path) for every finished path whose completion badge the learner lacks."""
    held: dict[str, set[str]] = {}
    for award in site.awards:
        if award.status != "revoked":
            held.setdefault(award.learner.slug, set()).add(award.badge.id)
    missing = []
    for learner in site.learners:
        badges = held.get(learner.slug, set())
        for path in site.paths:
            if path.completion is None or path.completion.id in badges:
                continue
            done, next_step = path_progress(path, badges)
            if next_step is None:
                missing.append((learner, path))
    return missing


def build_site(content: ValidContent, now: datetime, cache: Cache | None = None,
               drafts: list[AwardDraft] | None = None) -> Site:
    """Link validated records into the frozen `Site` (ids sorted, so output order is stable).

    `cache` keeps generated badge images between builds. `drafts` are the awards when
    validation handed them over one by one (see `validate_content`); they are used up."""
    s = content.site.values
    languages: tuple[str, ...] = tuple(s["languages"])
    default = languages[0]
    issuers = {r.id: _build_issuer(r, default) for r in content.of_kind("issuer")}
    badges = {r.id: _build_badge(r, issuers, s["issuer"], default, cache)
              for r in content.of_kind("badge")}
    learners = {}
    for r in content.of_kind("learner"):
        slug = r.values.get("slug", r.id)
        identifier = r.values["identifier"]
        if "@" in identifier and not identifier.startswith(("did:", "http")):
            identifier = normalise_email(identifier)
        learners[slug] = Learner(slug, r.values["name"], identifier,
                                 r.values.get("visibility", "unlisted"), r.values.get("did"))
    if drafts is None:
        drafts = [draft_award(r, default) for r in content.of_kind("award")]
    awards = []
    while drafts:  # each draft freed as its award is made
        draft = drafts.pop()
        awards.append(_build_award(draft, learners, badges, now, default,
                                   content.status_indices[draft.id],
                                   content.revocations.get(draft.id)))
    paths = tuple(_build_path(r, badges, default) for r in content.of_kind("path"))
    endorsers = {r.id: Endorser(r.id, Localized(r.values["name"], default), r.values["url"],
                                _localized(r.values.get("description"), default))
                 for r in content.of_kind("endorser")}
    endorsements = tuple(_build_endorsement(r, endorsers, badges, issuers, default)
                         for r in content.of_kind("endorsement"))
    return Site(
        paths=paths, endorsers=tuple(sorted(endorsers.values(), key=lambda e: e.id)),
        endorsements=endorsements,
        title=Localized(s["title"], default),
        description=_localized(s.get("description"), default),
        base_url=s["base_url"], languages=languages, theme=s.get("theme", "default"),
        issuer=issuers[s["issuer"]],
        issuers=tuple(sorted(issuers.values(), key=lambda i: i.id)),
        badges=tuple(sorted(badges.values(), key=lambda b: b.id)),
        learners=tuple(sorted(learners.values(), key=lambda l: l.slug)),
        awards=tuple(sorted(awards, key=lambda a: a.id)),
        now=now, content_root=content.root)
