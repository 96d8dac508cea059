"""Run one build: load → validate → model → sign → render → guard → write, timing each stage."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from generator import media
from generator.parallel import map_ordered
from generator.scaffold import host_files
from generator.credentials import SignedSite, sign_site
from generator.errors import ContentError, Diagnostic
from generator.jsonld import UndefinedTermError
from generator.keys import Keyring, find_private_key_material
from generator.load import load_content
from generator.model import Site, build_site, missing_completions
from generator.render import RenderError, render_site
from generator.sign import SignatureCache
from generator.theme import check_templates, make_environment, resolve_theme
from generator.validate import validate_content
from generator.write import OutputFile, write_site


@dataclass
class BuildReport:
    """What a build did: record counts, files written and seconds per stage."""

    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in self.counts.items())
        stages = " · ".join(f"{k} {v * 1000:.0f} ms" for k, v in self.timings.items())
        return f"{counts}; {self.files} files\n{stages}"


def build_clock(environ: dict[str, str] | os._Environ = os.environ) -> datetime:
    """The build's notion of 'now': SOURCE_DATE_EPOCH when set (reproducible builds), else now."""
    epoch = environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, "
                             f"not {epoch!r}") from None
    return datetime.now(timezone.utc).replace(microsecond=0)


class _Timer:
    def __init__(self, report: BuildReport, on_stage: Callable[[str, float], None] | None = None):
        self.report, self.on_stage = report, on_stage

    def run(self, name: str, step: Callable[[], object]) -> object:
        start = time.perf_counter()
        result = step()
        seconds = time.perf_counter() - start
        self.report.timings[name] = self.report.timings.get(name, 0.0) + seconds
        if self.on_stage is not None:
            self.on_stage(name, seconds)
        return result


def site_warnings(site: Site) -> list[str]:
    """Things worth a maintainer's attention that do not stop a build."""
    return [f"warning: learner '{learner.slug}' completed the path '{path.id}' but has no "
            f"'{path.completion.id}' award\n  hint: create it with "  # type: ignore[union-attr]
            f"`rugzak new award --path-completions`"
            for learner, path in missing_completions(site)]


def load_site(content: Path, now: datetime, base_url: str | None,
              report: BuildReport | None = None) -> Site:
    """Load and validate everything, then model it; raises ContentError with all problems."""
    timer = _Timer(report or BuildReport())
    loaded, problems = timer.run("load", lambda: load_content(content))  # type: ignore[misc]
    valid, more = timer.run("validate",  # type: ignore[misc]
                            lambda: validate_content(loaded, now, base_url))
    problems = problems + more
    if problems or valid is None:
        raise ContentError(problems or [Diagnostic(str(content), 0, "nothing to build")])
    return timer.run("model", lambda: build_site(valid, now))  # type: ignore[return-value]


# The lookbehind makes a match start only at the beginning of a run of address characters, so
# long base64 runs (keys, JWTs) are scanned once instead of once per position.
_EMAIL_LIKE = re.compile(rb"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++@[A-Za-z0-9-]+"
                         rb"(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# International (+31 6 1234 5678, 0031…) or national with a leading 0 (06-12345678,
# 010 123 4567); never inside a longer token, so hashes, keys and ids do not match.
_PHONE_LIKE = re.compile(rb"(?<![\w$/+=.-])(?:(?:\+|00)[1-9]\d{0,2}[ -]?\d(?:[ -]?\d){6,11}"
                         rb"|0\d{1,3}[ -]\d(?:[ -]?\d){5,8}|06-?\d{8})(?![\w])")
_TEXT_SUFFIXES = (".html", ".json", ".xml", ".txt", ".jwt", ".jws", ".svg", ".css", ".js")


def _digits(text: bytes | str) -> str:
    value = text.decode() if isinstance(text, bytes) else text
    return re.sub(r"\D", "", value.replace("+", "00", 1) if value.startswith("+") else value)


def privacy_leaks(files: list[OutputFile], site: Site) -> list[tuple[str, str]]:
    """(file, what) for every learner identifier, and every e-mail address or phone number
    that was not declared public (issuers' `email` and `telephone`), found in the output.

    Fast on large sites: e-mail identifiers are found by one e-mail pattern plus a set lookup
    (no alternation over thousands of addresses); URL/DID identifiers by substring search.
    Binary files (images, PDFs) are checked for identifiers only.
    """
    email_ids = {l.identifier.lower() for l in site.learners if l.identifier_type == "email"}
    other_ids = [l.identifier.lower().encode("utf-8") for l in site.learners
                 if l.identifier_type != "email"]
    public_emails = {i.email.lower() for i in site.issuers}
    public_phones = {_digits(i.telephone) for i in site.issuers if i.telephone}
    public_phones |= {"0" + p[4:] for p in public_phones if p.startswith("0031")}
    found: list[tuple[str, str]] = []
    for item in files:
        is_text = item.path.endswith(_TEXT_SUFFIXES)
        problem = None
        if other_ids:
            lowered = item.data.lower()
            if any(identifier in lowered for identifier in other_ids):
                problem = "a learner's identifier (URL or DID)"
        for match in _EMAIL_LIKE.finditer(item.data) if problem is None else ():
            address = match.group().decode("utf-8", "replace").lower()
            if address in email_ids:
                problem = "a learner's identifier (e-mail address)"
                break
            if is_text and address not in public_emails:
                problem = f"the e-mail address {match.group().decode()!r}"
                break
        if problem is None and is_text:
            for match in _PHONE_LIKE.finditer(item.data):
                if _digits(match.group()) not in public_phones:
                    problem = f"the phone number {match.group().decode()!r}"
                    break
        if problem:
            found.append((item.path, problem))
    return found


def key_material_leaks(files: list[OutputFile], keyring: Keyring) -> list[str]:
    """Output files holding private key material or the site secret (scanned before the swap)."""
    return [f"{f.path}: {what}" for f in files
            if (what := find_private_key_material(f.data, keyring))]


def content_key_leaks(content: Path) -> list[str]:
    """Files in the content folder that hold private key material (they would end up in Git)."""
    found = []
    for path in sorted(content.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 5_000_000:
            what = find_private_key_material(path.read_bytes())
            if what:
                found.append(f"{path}: {what}")
    return found


def _award_media(context: tuple, award: Any) -> tuple[list[OutputFile], str]:
    site, signed, cache = context
    jws, credential_json = signed.baked_payloads[award.id]
    return media.award_media(site, award, jws, credential_json, cache)


def _learner_media(context: tuple, item: tuple) -> tuple[list[OutputFile], str]:
    site, _, cache = context
    learner, awards = item
    return media.learner_media(site, learner, awards, cache)


def make_media(site: Site, signed: SignedSite, cache: SignatureCache | None,
               workers: int = 1) -> tuple[list[OutputFile], dict[str, dict]]:
    """QR codes, baked badges, previews and PDFs; adds their paths to the award links."""
    files: list[OutputFile] = media.site_previews(site, cache) + media.award_previews(site,
                                                                                     cache)
    by_learner: dict[str, list] = {}
    context = (site, signed, cache)
    made = map_ordered(_award_media, site.awards, context, workers)
    for award, (award_files, svg) in zip(site.awards, made):
        by_learner.setdefault(award.learner.slug, []).append(award)
        files += award_files
        links = signed.links[award.id]
        links["qr_inline"] = svg
        for item in award_files:
            links[item.path.rsplit("/", 1)[-1].replace(".", "_")] = item.path
        links["preview_png"] = media.award_preview_path(award)
    profile_links: dict[str, dict] = {}
    with_profile = [(learner, sorted(by_learner.get(learner.slug, []),
                                     key=lambda a: (a.issued, a.id), reverse=True))
                    for learner in site.learners if learner.has_profile]
    made_learners = map_ordered(_learner_media, with_profile, context, workers)
    for (learner, _), (learner_files, svg) in zip(with_profile, made_learners):
        files += learner_files
        profile_links[learner.slug] = {"qr_inline": svg, **{
            item.path.rsplit("/", 1)[-1].replace(".", "_").replace("-", "_"): item.path
            for item in learner_files}}
    return files, profile_links


def build(content: Path, output: Path, base_url: str | None, keyring: Keyring,
          now: datetime, cache: SignatureCache | None = None,
          csp_script_hashes: tuple[str, ...] = (), workers: int = 1,
          on_stage: Callable[[str, float], None] | None = None) -> BuildReport:
    """Build the site from `content` into `output`; raises ContentError on bad records.

    Nothing is written unless every stage succeeded and the output passed the privacy and
    key-material guards.
    """
    report = BuildReport()
    timer = _Timer(report, on_stage)
    site = load_site(content, now, base_url, report)
    in_content = content_key_leaks(content)
    if in_content:
        raise ContentError([Diagnostic(item.split(": ")[0], 0, "private key material in the "
                                       "content folder: " + item.split(": ", 1)[1],
                                       "move keys out of content/ (they would be committed); "
                                       "keys belong in RUGZAK_KEYS_DIR") for item in in_content])
    try:
        theme = resolve_theme(site.theme, content.parent / "themes")
    except ValueError as exc:
        raise ContentError([Diagnostic(str(content / "site.yaml"), 0, str(exc))]) from None
    template_problems = check_templates(make_environment(theme, site.default_language))
    if template_problems:
        raise ContentError(template_problems)
    try:
        signed: SignedSite = timer.run("sign", lambda: sign_site(  # type: ignore[assignment]
            site, keyring, cache, workers))
    except UndefinedTermError as exc:
        raise ContentError([Diagnostic(str(content), 0, f"cannot sign credentials: {exc}",
                                       "every JSON-LD term must be defined by a context")]
                           ) from None
    media_files, profile_links = timer.run(  # type: ignore[misc]
        "media", lambda: make_media(site, signed, cache, workers))
    try:
        files = timer.run("render", lambda: render_site(  # type: ignore[misc]
            site, theme, keyring.site_secret, signed.links, signed.issuer_extra,
            profile_links, csp_script_hashes))
    except RenderError as exc:
        raise ContentError([Diagnostic(str(exc).split(": error: ")[0], 0,
                                       str(exc).split(": error: ", 1)[-1])]) from None
    files = files + signed.files + media_files
    files += [OutputFile(p, d) for p, d in host_files([f.path for f in files])]
    exposed = timer.run("guard", lambda: key_material_leaks(files, keyring))
    if exposed:
        raise ContentError([Diagnostic(item, 0, "private key material would be published",
                                       "never put keys or the site secret in records or "
                                       "themes") for item in exposed])
    leaks = timer.run("guard", lambda: privacy_leaks(files, site))
    if leaks:
        raise ContentError([Diagnostic(path, 0, f"privacy guard: {what} would be published "
                                       "in this file", "remove it from the records "
                                       "(narratives, evidence, criteria); an address meant "
                                       "to be public belongs in an issuer's email/telephone")
                            for path, what in leaks])
    report.files = timer.run("write", lambda: write_site(files, output))  # type: ignore[assignment]
    report.warnings = site_warnings(site)
    report.counts = {"issuers": len(site.issuers), "badges": len(site.badges),
                     "learners": len(site.learners), "awards": len(site.awards)}
    return report
