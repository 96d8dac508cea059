"""Run one build: load → validate → model → sign → render → guard → write, timing each stage."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from generator.errors import ContentError, Diagnostic
from generator.load import load_content
from generator.model import Site, build_site
from generator.render import RenderError, render_site
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


def privacy_leaks(files: list[OutputFile], site: Site) -> list[str]:
    """Output files containing a learner identifier (e-mail) from the records."""
    secrets = sorted({l.identifier for l in site.learners}, key=len, reverse=True)
    if not secrets:
        return []
    pattern = re.compile("|".join(re.escape(s) for s in secrets).encode("utf-8"),
                         re.IGNORECASE)
    return [f.path for f in files if pattern.search(f.data)]


def build(content: Path, output: Path, base_url: str | None, site_secret: bytes,
          now: datetime, extra_stage: Callable[[Site], tuple[list[OutputFile], dict, Callable | None]] | None
          = None) -> BuildReport:
    """Build the site from `content` into `output`; raises ContentError on bad records.

    `extra_stage` produces signed artefacts and per-award links (the sign stage) so this
    function stays independent of key handling.
    """
    report = BuildReport()
    timer = _Timer(report)
    site = load_site(content, now, base_url, report)
    try:
        theme = resolve_theme(site.theme, content.parent / "themes")
    except ValueError as exc:
        raise ContentError([Diagnostic(str(content / "site.yaml"), 0, str(exc))]) from None
    template_problems = check_templates(make_environment(theme, site.default_language))
    if template_problems:
        raise ContentError(template_problems)
    signed: list[OutputFile] = []
    links: dict = {}
    issuer_extra = None
    if extra_stage is not None:
        signed, links, issuer_extra = timer.run("sign", lambda: extra_stage(site))  # type: ignore[misc]
    try:
        files = timer.run("render", lambda: render_site(  # type: ignore[misc]
            site, theme, site_secret, links, issuer_extra))
    except RenderError as exc:
        raise ContentError([Diagnostic(str(exc).split(": error: ")[0], 0,
                                       str(exc).split(": error: ", 1)[-1])]) from None
    files = files + signed
    leaks = privacy_leaks(files, site)
    if leaks:
        raise ContentError([Diagnostic(path, 0, "a learner's e-mail address would be "
                                       "published in this file", "remove it from the "
                                       "records (narratives, evidence, names)")
                            for path in leaks])
    report.files = timer.run("write", lambda: write_site(files, output))  # type: ignore[assignment]
    report.counts = {"issuers": len(site.issuers), "badges": len(site.badges),
                     "learners": len(site.learners), "awards": len(site.awards)}
    return report
