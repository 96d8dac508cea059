"""Render the site model into output files: HTML pages per language, OB 2.0 JSON, images,
sitemap and robots.txt. Pure: returns `OutputFile`s, writes nothing.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import tempfile
from pathlib import Path
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Collection, Iterable, Iterator

import jinja2

from functools import partial

from generator import model, ob2
from generator.images import published_bytes
from generator.share import linkedin_url
from generator.model import Award, Learner, Site
from generator.theme import Theme, make_environment
from generator.write import OutputFile, write_all


class RenderError(Exception):
    """A template failed while rendering a page; names the template line and the page."""


def json_bytes(document: Any) -> bytes:
    """Stable, readable JSON: insertion order, UTF-8, 2-space indent, trailing newline."""
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def relative(from_page: str, target: str) -> str:
    """Relative link from the page at `from_page` (a folder path ending in '/') to `target`."""
    depth = from_page.count("/")
    prefix = "../" * depth
    return (prefix + target) or "./"


@dataclass(frozen=True)
class Page:
    """One HTML page to render: template, site path (without language prefix), values."""

    template: str
    path: str
    values: dict[str, Any] = field(default_factory=dict)
    noindex: bool = False
    listed: bool = True       # in sitemap


def public_learners(site: Site) -> tuple[Learner, ...]:
    return tuple(l for l in site.learners if l.visibility == "public")


def learner_progress(site: Site, awards: list[Award]) -> list[dict[str, Any]]:
    """Per learning path the learner has started: steps done, the next step, completion."""
    held = {a.badge.id for a in awards if a.status != "revoked"}
    rows = []
    for path in site.paths:
        done, next_step = model.path_progress(path, held)
        if done:
            rows.append({"path": path, "done": done, "total": len(path.steps),
                         "next": next_step, "complete": next_step is None})
    return rows


LISTING_PAGE_SIZE = 100  # names per page of a long list (learners, a badge's earners)


def listing_pages(folder: str, items: list[tuple[str, str]], values: dict[str, Any]
                  ) -> Iterator[Page]:
    """A long list of (name, page path) split over `folder`, `folder`2/, `folder`3/ …"""
    count = max(1, -(-len(items) // LISTING_PAGE_SIZE))

    def page_path(number: int) -> str:
        return folder if number == 1 else f"{folder}{number}/"

    for number in range(1, count + 1):
        start = (number - 1) * LISTING_PAGE_SIZE
        yield Page("listing.html", page_path(number), {
            **values, "items": items[start:start + LISTING_PAGE_SIZE],
            "page_number": number, "page_count": count,
            "previous": page_path(number - 1) if number > 1 else None,
            "next": page_path(number + 1) if number < count else None})


def site_pages(site: Site) -> Iterator[Page]:
    """The site-wide pages, in a stable order: home, verify, paths, issuers, badge classes,
    and the full lists behind the first names shown on the home and badge pages.
    (Award and profile pages come from `award_pages` and `profile_pages`.)"""
    by_badge: dict[str, list[Award]] = {}
    for award in site.awards:
        by_badge.setdefault(award.badge.id, []).append(award)
    learners = public_learners(site)
    yield Page("home.html", "", {"learners": learners[:LISTING_PAGE_SIZE],
                                 "learner_count": len(learners), "all_learners": "learners/",
                                 "preview": "preview.png"})
    if len(learners) > LISTING_PAGE_SIZE:
        yield from listing_pages("learners/", [(l.name, model.profile_page(l))
                                               for l in learners],
                                 {"badge": None, "preview": "preview.png"})
    yield Page("verify.html", "verify/", {"preview": "preview.png"})
    for path in site.paths:
        yield Page("path.html", f"paths/{path.id}/", {"path": path, "preview": "preview.png"})
    for issuer in site.issuers:
        yield Page("issuer.html", model.issuer_page(issuer), {
            "issuer": issuer, "badges": [b for b in site.badges if b.issuer == issuer],
            "endorsements": [e for e in site.endorsements if e.issuer == issuer],
            "preview": f"issuers/{issuer.id}/preview.png"})
    for badge in site.badges:
        earners = [a for a in by_badge.get(badge.id, ()) if a.learner.visibility == "public"]
        all_earners = model.badge_page(badge) + "earners/"
        if len(earners) > LISTING_PAGE_SIZE:
            yield from listing_pages(all_earners, [(a.learner.name, model.award_page(a))
                                                   for a in earners],
                                     {"badge": badge,
                                      "preview": f"badges/{badge.id}/preview.png"})
        yield Page("badge.html", model.badge_page(badge),
                   {"badge": badge, "count": len(by_badge.get(badge.id, ())),
                    "earners": earners[:LISTING_PAGE_SIZE], "earner_count": len(earners),
                    "all_earners": all_earners,
                    "preview": f"badges/{badge.id}/preview.png",
                    "endorsements": [e for e in site.endorsements if e.badge == badge],
                    "paths": [p for p in site.paths if p.completion == badge
                              or any(badge in step.badges for step in p.steps)]})


def award_pages(award: Award, links: dict[str, Any]) -> list[Page]:
    """An award's verification page and, with a certificate, its printable page.

    `links` names the files other stages made for it: downloads, QR code, preview.
    """
    public = award.learner.visibility == "public"
    values = {"award": award, "links": links,
              "preview": links.get("preview_png", "preview.png")}
    found = [Page("award.html", model.award_page(award), values, noindex=not public,
                  listed=public)]
    if links.get("certificate_pdf"):
        found.append(Page("certificate.html", model.award_page(award) + "certificate/", values,
                          noindex=True, listed=False))
    return found


def profile_pages(site: Site, learner: Learner, awards: list[Award],
                  links: dict[str, Any]) -> list[Page]:
    """A learner's profile page (newest award first) and, with cards, its printable page."""
    public = learner.visibility == "public"
    values = {"learner": learner, "awards": awards, "links": links,
              "preview": links.get("preview_png", "preview.png"),
              "progress": learner_progress(site, awards)}
    found = [Page("profile.html", model.profile_page(learner), values, noindex=not public,
                  listed=public)]
    if links.get("card_pdf"):
        found.append(Page("card.html", model.profile_page(learner) + "card/", values,
                          noindex=True, listed=False))
    return found


class Renderer:
    """Holds one Jinja environment per language, created and checked once per build."""

    def __init__(self, site: Site, theme: Theme, csp_script_hashes: tuple[str, ...] = (),
                 bytecode_cache: jinja2.BytecodeCache | None = None):
        self.site, self.theme = site, theme
        self.envs = {lang: make_environment(theme, lang, bytecode_cache)
                     for lang in site.languages}
        self.csp_script_hashes = csp_script_hashes
        for env in self.envs.values():
            env.globals["model"] = model  # URL helpers, also inside imported macros
            env.globals["csp_script_hashes"] = csp_script_hashes
            env.globals["linkedin_url"] = partial(linkedin_url, site)

    def render_page(self, page: Page, language: str) -> OutputFile:
        site = self.site
        default = site.default_language
        here = model.localized_page(page.path, language, default)

        # A 404 page is served at any URL, so its links must not be relative.
        absolute = page.path.endswith(".html")

        def link(path: str) -> str:
            target = model.localized_page(path, language, default)
            return site.url(target) if absolute else relative(here, target)

        def asset(path: str) -> str:
            return site.url(path) if absolute else relative(here, path)

        alternates = [(lang, site.url(model.localized_page(page.path, lang, default)))
                      for lang in site.languages]
        values = dict(page.values, site=site, page=page, here=here, link=link, asset=asset,
                      model=model, alternates=alternates,
                      canonical=site.url(here), lang=language)
        try:
            template = self.envs[language].get_template(page.template)
            html = template.render(values)
        except jinja2.TemplateNotFound as exc:
            looked = ", ".join(str(f / "templates") for f in self.theme.folders)
            raise RenderError(f"{self.theme.name}: error: template '{exc.name}' not found "
                              f"(needed for page '/{here}'); looked in: {looked}") from None
        except jinja2.TemplateError as exc:
            where = _template_location(exc)
            raise RenderError(f"{where}: error: {exc} (while rendering page "
                              f"'/{here}')") from None
        return OutputFile(here + "index.html" if here.endswith("/") or not here
                          else here, html.encode("utf-8"))

    def render_each_language(self, page: Page) -> tuple[list[OutputFile], list[str]]:
        """The page in every language, and the paths of those that go in the sitemap."""
        site = self.site
        rendered = [self.render_page(page, language) for language in site.languages]
        listed = [model.localized_page(page.path, language, site.default_language)
                  for language in site.languages] if page.listed else []
        return rendered, listed

    def render_404(self, language: str) -> OutputFile:
        page = Page("404.html", "404.html", noindex=True, listed=False)
        rendered = self.render_page(page, language)
        return rendered


def _template_location(exc: jinja2.TemplateError) -> str:
    import traceback
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith((".html", ".xml", ".txt")):
            return f"{frame.filename}:{frame.lineno}"
    return getattr(exc, "filename", None) or "template"


SITEMAP_LIMIT = 50_000  # sitemaps.org: "no more than 50,000 URLs" per sitemap file
# Above that, parts of 10,000 (~0.7 MB): each is made, checked and written in memory, and a
# build's last seconds should not need much more than the model does.
SITEMAP_PART = 10_000


class SitemapPaths:
    """The paths a sitemap lists, in the order they were added, kept in a temporary file:
    as strings in the build's memory they would be tens of MB at 100,000 awards (and every
    worker forked after them would start with them)."""

    _BATCH = 4096

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._pending: list[str] = []
        self._count = 0

    def extend(self, paths: Iterable[str]) -> None:
        """Add paths (after those added before)."""
        before = len(self._pending)
        self._pending.extend(paths)
        self._count += len(self._pending) - before
        if len(self._pending) >= self._BATCH:
            self._flush()

    def _flush(self) -> None:
        # Unbuffered writes of whole batches: workers forked in between inherit no file
        # buffer that they could write out a second time.
        if not self._pending:
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(buffering=0)
        write_all(self._file, "".join(json.dumps(p) + "\n" for p in self._pending)
                  .encode("utf-8"))  # one line each, whatever a path holds
        self._pending.clear()

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        self._flush()
        if self._file is None:
            return
        with open(os.dup(self._file.fileno()), encoding="utf-8") as lines:
            lines.seek(0)
            for line in lines:
                yield json.loads(line)
        self._file.seek(0, os.SEEK_END)  # (so that more can be added)

    def close(self) -> None:
        """Remove the temporary file."""
        if self._file is not None:
            self._file.close()
        self._file, self._pending, self._count = None, [], 0


def render_sitemaps(site: Site, listed: Collection[str]) -> Iterator[OutputFile]:
    """sitemap.xml of the public, indexable pages (no dates: those would break
    reproducibility). Above 50,000 pages, sitemap.xml becomes a sitemap index of
    `sitemaps/sitemap-N.xml` files of at most 50,000 each. Made one file at a time."""
    from xml.sax.saxutils import escape
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    namespace = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'

    def urlset(paths: Iterable[str]) -> bytes:
        # written row by row into one buffer: a list of rows, joined, wrapped and encoded,
        # would hold four copies of a sitemap of several MB at once
        out = io.BytesIO()
        out.write(f"{head}<urlset {namespace}>\n".encode("utf-8"))
        for path in paths:
            out.write(f"  <url><loc>{escape(site.url(path))}</loc></url>\n".encode("utf-8"))
        out.write(b"</urlset>\n")
        return out.getvalue()

    if len(listed) <= SITEMAP_LIMIT:
        yield OutputFile("sitemap.xml", urlset(listed))
        return
    parts = [f"sitemaps/sitemap-{n + 1}.xml"
             for n in range(-(-len(listed) // SITEMAP_PART))]
    rows = "".join(f"  <sitemap><loc>{escape(site.url(part))}</loc></sitemap>\n"
                   for part in parts)
    yield OutputFile("sitemap.xml",
                     f"{head}<sitemapindex {namespace}>\n{rows}</sitemapindex>\n".encode("utf-8"))
    paths = iter(listed)
    for part in parts:
        yield OutputFile(part, urlset(itertools.islice(paths, SITEMAP_PART)))


def render_robots(site: Site) -> OutputFile:
    text = f"User-agent: *\nAllow: /\nSitemap: {site.url('sitemap.xml')}\n"
    return OutputFile("robots.txt", text.encode("utf-8"))


def render_ob2(site: Site, site_secret: bytes,
               issuer_extra: Callable[[model.Issuer], dict[str, Any]] | None = None
               ) -> Iterator[OutputFile]:
    """OB 2.0 hosted JSON for every issuer, badge class and endorsement (the hosted
    assertions are made with each award's other files)."""
    for issuer in site.issuers:
        extra = issuer_extra(issuer) if issuer_extra else None
        yield OutputFile(model.issuer_json(issuer),
                         json_bytes(ob2.issuer_profile(site, issuer, extra)))
    for badge in site.badges:
        yield OutputFile(model.badge_json(badge), json_bytes(ob2.badge_class(site, badge)))
    for endorser in site.endorsers:
        yield OutputFile(ob2.endorser_path(endorser),
                         json_bytes(ob2.endorser_profile(site, endorser)))
    for item in site.endorsements:
        yield OutputFile(ob2.endorsement_path(item), json_bytes(ob2.endorsement(site, item)))
        if item.signed is not None:
            yield OutputFile(f"endorsements/{item.id}.credential.json", json_bytes(item.signed))


def render_images(site: Site) -> Iterator[OutputFile]:
    """Badge and issuer images: the maintainers' as they are drawn (a PNG's text and EXIF
    chunks are left out: see images.published_bytes), generated ones as made."""
    for issuer in site.issuers:
        if issuer.image:
            yield OutputFile(model.issuer_image(issuer) or "", published_bytes(issuer.image))
    for badge in site.badges:
        yield OutputFile(model.badge_image(badge), badge.image_data)
        if badge.generated_svg is not None:
            yield OutputFile(f"badges/{badge.id}.svg", badge.generated_svg.encode("utf-8"))


def render_static(theme: Theme) -> Iterator[OutputFile]:
    """The theme's static assets under `assets/` (a child theme's file wins)."""
    collected: dict[str, bytes] = {}
    for folder in theme.static_folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                collected["assets/" + path.relative_to(folder).as_posix()] = path.read_bytes()
    for name in sorted(collected):
        yield OutputFile(name, collected[name])


CONTEXTS = Path(__file__).resolve().parent / "contexts"


def render_contexts() -> Iterator[OutputFile]:
    """The bundled JSON-LD contexts and their index under `contexts/`: the /verify/ page's
    document loader reads them from the site itself (CSP connect-src 'self', no network)."""
    for path in sorted(CONTEXTS.iterdir()):
        if path.suffix in (".json", ".jsonld"):
            yield OutputFile("contexts/" + path.name, path.read_bytes())


def render_site_files(renderer: Renderer, site_secret: bytes,
                      issuer_extra: Callable[[model.Issuer], dict[str, Any]] | None = None
                      ) -> Iterator[tuple[OutputFile, list[str]]]:
    """Every site-wide file, each with the sitemap paths it adds: the site pages in each
    language, 404 pages, robots.txt, OB 2.0 JSON, images, theme assets and contexts. (The
    sitemap itself is written last, when every listed page is known.)"""
    site = renderer.site
    for page in site_pages(site):
        rendered, listed = renderer.render_each_language(page)
        for i, item in enumerate(rendered):
            yield item, listed[i:i + 1] if listed else []
    for language in site.languages:
        yield renderer.render_404(language), []
    yield render_robots(site), []
    for item in (*render_ob2(site, site_secret, issuer_extra), *render_images(site),
                 *render_static(renderer.theme), *render_contexts()):
        yield item, []
