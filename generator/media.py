"""The media stage: QR codes, baked badges, social previews and printable PDFs.

Pure functions of the site model and the signed credentials, returning `OutputFile`s. The
expensive ones (QR mask selection, preview drawing, PDFs) are cached by a hash of their inputs
in the build cache, so a rebuild redoes only what changed and stays byte-identical.
"""

from __future__ import annotations

import hashlib
import json

from generator import model
from generator.cache import cached
from generator.bake import OB2_KEYWORD, OB3_KEYWORD, bake_png, bake_svg
from generator.i18n import format_day, translations
from generator.model import Award, BadgeClass, Learner, Site
from generator.pdf import card_pdf, certificate_pdf
from generator.previews import preview_png
from generator.qr import Matrix, qr_matrix, qr_png, qr_svg
from generator.sign import SignatureCache
from generator.write import OutputFile

STATUS_TONES = {"valid": "ok", "expired": "warning", "revoked": "danger"}


def _matrix(url: str, cache: SignatureCache | None) -> Matrix:
    # The matrix is computed once per URL and shared by the SVG, the PNG and the PDFs.
    found = _MATRICES.get(url)
    if found is None:
        rows = cached(cache, "qr", url, lambda: json.dumps(
            ["".join("1" if cell else "0" for cell in row) for row in qr_matrix(url)]).encode())
        found = tuple(tuple(c == "1" for c in row) for row in json.loads(rows))
        if len(_MATRICES) >= 64:
            _MATRICES.clear()
        _MATRICES[url] = found
    return found


_MATRICES: dict[str, Matrix] = {}


def qr_files(path: str, url: str, title: str, cache: SignatureCache | None
             ) -> tuple[list[OutputFile], str]:
    """`qr.svg` and `qr.png` in the folder `path`; also returns the SVG for inlining."""
    matrix = _matrix(url, cache)
    svg = qr_svg(matrix, title)
    return [OutputFile(path + "qr.svg", svg.encode("utf-8")),
            OutputFile(path + "qr.png", qr_png(matrix))], svg


def badge_png_bytes(badge: BadgeClass) -> bytes | None:
    """The badge image as PNG bytes, when it is a PNG (PDFs and previews cannot draw SVG)."""
    return badge.image_data if badge.image_format == "png" else None


def baked_files(award: Award, jws: str, credential_json: str) -> list[OutputFile]:
    """Baked badge images for download: PNG always, SVG when the badge image is SVG.

    OB 2.0 `openbadges` holds the signed assertion (JWS), OB 3.0 `openbadgecredential` the
    credential with its embedded proof (digest §B.1); written by splicing chunks, so the
    issuer's image bytes are kept.
    """
    folder = model.award_page(award)
    badge = award.badge
    files = []
    if badge.image_format == "png":
        files.append(OutputFile(folder + "badge.png", bake_png(
            badge.image_data, {OB2_KEYWORD: jws, OB3_KEYWORD: credential_json})))
    else:
        svg = badge.image_data.decode("utf-8")
        files.append(OutputFile(folder + "badge.svg", bake_svg(svg, ob2=jws,
                                                               ob3=credential_json).encode()))
    if badge.generated_svg is not None:
        files.append(OutputFile(folder + "badge.svg", bake_svg(
            badge.generated_svg, ob2=jws, ob3=credential_json).encode()))
    return files


def _status_word(award: Award, language: str) -> str:
    gettext = translations(language).gettext
    return {"valid": gettext("Valid"), "expired": gettext("Expired"),
            "revoked": gettext("Revoked")}[award.status]


def preview_file(path: str, title: str, subtitle: str, badge: BadgeClass | None, site: Site,
                 cache: SignatureCache | None, status: str | None = None,
                 tone: str | None = None) -> OutputFile:
    """A 1200 × 630 Open Graph preview image."""
    image = badge_png_bytes(badge) if badge else None
    fmt = badge.image_format if badge else None
    site_name = site.title.get(site.default_language)
    digest = hashlib.sha256(image or b"").hexdigest()
    data = cached(cache, "preview", [title, subtitle, digest, fmt, site_name, status, tone],
                   lambda: preview_png(title, subtitle, image, fmt if image else None,
                                       site_name, status, status_tone=tone))
    return OutputFile(path, data)


def learner_name(award: Award, language: str) -> str:
    """The name to print, or a neutral phrase for learners who keep their name private."""
    if award.learner.visibility == "private":
        return translations(language).gettext("A learner who keeps their name private")
    return award.learner.name


def award_media(site: Site, award: Award, jws: str, credential_json: str,
                cache: SignatureCache | None) -> tuple[list[OutputFile], str]:
    """Everything visual for one award; returns the files and the inline QR SVG."""
    lang = site.default_language
    gettext = translations(lang).gettext
    folder = model.award_page(award)
    url = site.url(folder)
    files, svg = qr_files(folder, url, gettext("QR code to this badge page"), cache)
    files += baked_files(award, jws, credential_json)
    badge_name = award.badge.name.get(lang)
    issued = format_day(award.issued, lang)
    lines = [(gettext("Awarded to"), "small"), (learner_name(award, lang), "name"),
             (gettext("Issued by %(issuer)s on %(date)s") % {
                 "issuer": award.badge.issuer.name.get(lang), "date": issued}, "body"),
             (award.badge.description.get(lang), "small")]
    if award.status != "valid":
        lines.append((_status_word(award, lang), "heading"))
    matrix = _matrix(url, cache)
    # Not cached: a certificate belongs to one award, and an unchanged award keeps its
    # files anyway (generator/reuse.py); a copy in the cache would double the disk used.
    pdf = certificate_pdf(badge_name, lines, matrix, badge_png_bytes(award.badge),
                          qr_caption=url, lang=lang)
    files.append(OutputFile(folder + "certificate.pdf", pdf))
    return files, svg


def award_preview_path(award: Award) -> str:
    """Award pages share one preview per badge and status: it shows what and from whom,
    never the learner's name — social sites keep previews long after a learner changes their
    mind about visibility — and it is drawn once, not once per award."""
    return f"badges/{award.badge.id}/preview-{award.status}.png"


def award_previews(site: Site, cache: SignatureCache | None) -> list[OutputFile]:
    """The shared award previews for every (badge, status) that occurs."""
    lang = site.default_language
    seen: dict[str, Award] = {}
    for award in site.awards:
        seen.setdefault(award_preview_path(award), award)
    return [preview_file(path, award.badge.name.get(lang),
                         award.badge.issuer.name.get(lang), award.badge, site, cache,
                         _status_word(award, lang), STATUS_TONES[award.status])
            for path, award in sorted(seen.items())]


def learner_media(site: Site, learner: Learner, awards: list[Award],
                  cache: SignatureCache | None) -> tuple[list[OutputFile], str]:
    """QR, preview and pocket cards (business card and A6) for a learner with a profile."""
    lang = site.default_language
    gettext = translations(lang).gettext
    folder = model.profile_page(learner)
    url = site.url(folder)
    files, svg = qr_files(folder, url, gettext("QR code to this profile"), cache)
    valid = [a for a in awards if a.status == "valid"]
    names = [a.badge.name.get(lang) for a in valid]
    subtitle = ", ".join(names[:4]) or site.title.get(lang)
    first = valid[0].badge if valid else None
    files.append(preview_file(folder + "preview.png", learner.name, subtitle, first, site,
                              cache))
    matrix = _matrix(url, cache)
    for size, name in (("business-card", "card.pdf"), ("A6", "card-a6.pdf")):
        shown = names[:3] if size == "business-card" else names[:8]
        pdf = card_pdf(learner.name, shown, matrix, size, qr_caption=url, lang=lang)
        files.append(OutputFile(folder + name, pdf))
    return files, svg


def site_previews(site: Site, cache: SignatureCache | None) -> list[OutputFile]:
    """Previews for the home page, issuers and badge classes."""
    lang = site.default_language
    description = site.description.get(lang) if site.description else ""
    files = [preview_file("preview.png", site.title.get(lang), description, None, site, cache)]
    for issuer in site.issuers:
        files.append(preview_file(f"issuers/{issuer.id}/preview.png", issuer.name.get(lang),
                                  issuer.url, None, site, cache))
    for badge in site.badges:
        files.append(preview_file(f"badges/{badge.id}/preview.png", badge.name.get(lang),
                                  badge.description.get(lang), badge, site, cache))
    return files
