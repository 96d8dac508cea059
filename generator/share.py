"""Sharing links: LinkedIn's "Add to profile" (certifications) for an award page."""

from __future__ import annotations

from urllib.parse import urlencode

from generator import model
from generator.model import Award, Site

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"


def linkedin_url(site: Site, award: Award, language: str) -> str:
    """The add-to-profile URL: certification name, organisation (id when known, else name),
    issue and expiry month, and the award page as credential URL with the award id."""
    issuer = award.badge.issuer
    params: dict[str, str | int] = {"startTask": "CERTIFICATION_NAME",
                                    "name": award.badge.name.get(language)}
    if issuer.linkedin_id:
        params["organizationId"] = issuer.linkedin_id
    else:
        params["organizationName"] = issuer.name.get(language)
    params["issueYear"], params["issueMonth"] = award.issued.year, award.issued.month
    if award.expires:
        params["expirationYear"] = award.expires.year
        params["expirationMonth"] = award.expires.month
    params["certUrl"] = site.url(model.award_page(award))
    params["certId"] = award.id
    return f"{LINKEDIN_ADD}?{urlencode(params)}"
