"""Run one build: load → validate → model → sign → render → guard → write, timing each stage."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from generator.credentials import SignedSite, sign_site
from generator.errors import ContentError, Diagnostic
from generator.jsonld import UndefinedTermError
from generator.keys import Keyring, find_private_key_material
from generator.load import load_content
from generator.model import Site, build_site
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
    def __init__(self, report: BuildReport):
        self.report = report

    def run(self, name: str, step: Callable[[], object]) -> object:
        start = time.perf_counter()
        result = step()
        self.report.timings[name] = self.report.timings.get(name, 0.0) + (
            time.perf_counter() - start)
        return result


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


_EMAIL_LIKE = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
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
    that was not declared public (issuers' `email` and `telephone`), found in the output."""
    secrets = sorted({l.identifier for l in site.learners}, key=len, reverse=True)
    identifiers = re.compile("|".join(re.escape(s) for s in secrets).encode("utf-8"),
                             re.IGNORECASE) if secrets else None
    public_emails = {i.email.lower() for i in site.issuers}
    public_phones = {_digits(i.telephone) for i in site.issuers if i.telephone}
    public_phones |= {"0" + p[4:] for p in public_phones if p.startswith("0031")}
    found: list[tuple[str, str]] = []
    for item in files:
        if identifiers is not None and identifiers.search(item.data):
            found.append((item.path, "a learner's identifier (e-mail, URL or DID)"))
            continue
        if not item.path.endswith(_TEXT_SUFFIXES):
            continue
        for match in _EMAIL_LIKE.finditer(item.data):
            if match.group().decode("utf-8", "replace").lower() not in public_emails:
                found.append((item.path, f"the e-mail address {match.group().decode()!r}"))
                break
        for match in _PHONE_LIKE.finditer(item.data):
            if _digits(match.group()) not in public_phones:
                found.append((item.path, f"the phone number {match.group().decode()!r}"))
                break
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


def build(content: Path, output: Path, base_url: str | None, keyring: Keyring,
          now: datetime, cache: SignatureCache | None = None) -> BuildReport:
    """Build the site from `content` into `output`; raises ContentError on bad records.

    Nothing is written unless every stage succeeded and the output passed the privacy and
    key-material guards.
    """
    report = BuildReport()
    timer = _Timer(report)
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
            site, keyring, cache))
    except UndefinedTermError as exc:
        raise ContentError([Diagnostic(str(content), 0, f"cannot sign credentials: {exc}",
                                       "every JSON-LD term must be defined by a context")]
                           ) from None
    try:
        files = timer.run("render", lambda: render_site(  # type: ignore[misc]
            site, theme, keyring.site_secret, signed.links, signed.issuer_extra))
    except RenderError as exc:
        raise ContentError([Diagnostic(str(exc).split(": error: ")[0], 0,
                                       str(exc).split(": error: ", 1)[-1])]) from None
    files = files + signed.files
    exposed = key_material_leaks(files, keyring)
    if exposed:
        raise ContentError([Diagnostic(item, 0, "private key material would be published",
                                       "never put keys or the site secret in records or "
                                       "themes") for item in exposed])
    leaks = privacy_leaks(files, site)
    if leaks:
        raise ContentError([Diagnostic(path, 0, f"privacy guard: {what} would be published "
                                       "in this file", "remove it from the records "
                                       "(narratives, evidence, criteria); an address meant "
                                       "to be public belongs in an issuer's email/telephone")
                            for path, what in leaks])
    report.files = timer.run("write", lambda: write_site(files, output))  # type: ignore[assignment]
    report.counts = {"issuers": len(site.issuers), "badges": len(site.badges),
                     "learners": len(site.learners), "awards": len(site.awards)}
    return report
