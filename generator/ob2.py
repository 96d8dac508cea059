"""Open Badges 2.0 hosted documents: issuer Profile, BadgeClass and Assertion.

Exact per the OB 2.0 spec (digest §A): every object carries the v2 context, its `id` is the URL
it is served at (the validator compares them byte for byte), the recipient is an IdentityHash,
dates are ISO 8601 with a zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from generator import model
from generator.identity import award_salt, identity_hash
from generator.markup import plain_text
from generator.model import Award, BadgeClass, Issuer, Site

OB2_CONTEXT = "https://w3id.org/openbadges/v2"


def iso_datetime(moment: datetime) -> str:
    """UTC `YYYY-MM-DDTHH:MM:SSZ` ("DateTime: ISO 8601 string WITH time zone ... Publish UTC")."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def issuer_profile(site: Site, issuer: Issuer, extra: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """The Issuer Profile. "For an issuer, required: id, type, name, url, email"."""
    lang = site.default_language
    doc: dict[str, Any] = {
        "@context": OB2_CONTEXT,
        "type": "Issuer",
        "id": site.url(model.issuer_json(issuer)),
        "@language": lang,
        "name": issuer.name.get(lang),
        "url": issuer.url,
        "email": issuer.email,
    }
    if issuer.description:
        doc["description"] = issuer.description.get(lang)
    if issuer.telephone:
        doc["telephone"] = issuer.telephone
    if issuer.image:
        doc["image"] = site.url(model.issuer_image(issuer) or "")
    endorsed = [e for e in site.endorsements if e.issuer == issuer]
    if endorsed:
        doc["endorsement"] = [site.url(endorsement_path(e)) for e in endorsed]
    # No `verification` policy: the default (§A.9 "allowedOrigins = authority of the issuer
    # Profile id") already binds hosted assertions to this site's host.
    doc.update(extra or {})
    return doc


def badge_class(site: Site, badge: BadgeClass) -> dict[str, Any]:
    """The BadgeClass: name, description, image, criteria (page + narrative), issuer."""
    lang = site.default_language
    doc: dict[str, Any] = {
        "@context": OB2_CONTEXT,
        "type": "BadgeClass",
        "id": site.url(model.badge_json(badge)),
        "@language": lang,
        "name": badge.name.get(lang),
        "description": badge.description.get(lang),
        "image": site.url(model.badge_image(badge)),
        "criteria": {"id": site.url(model.badge_page(badge)),
                     "narrative": badge.criteria.get(lang)},
        "issuer": site.url(model.issuer_json(badge.issuer)),
    }
    if badge.alignments:
        doc["alignment"] = [alignment_object(a, lang) for a in badge.alignments]
    if badge.tags:
        doc["tags"] = list(badge.tags)
    endorsed = [e for e in site.endorsements if e.badge == badge]
    if endorsed:
        doc["endorsement"] = [site.url(endorsement_path(e)) for e in endorsed]
    return doc


def alignment_object(alignment: model.Alignment, lang: str) -> dict[str, Any]:
    """AlignmentObject: "targetName MUST, targetUrl MUST ... targetFramework is a name" (§A.11)."""
    return {"targetName": alignment.name.get(lang), "targetUrl": alignment.url,
            "targetFramework": model.framework_name(alignment), "targetCode": alignment.code}


def endorsement_path(endorsement: model.Endorsement) -> str:
    return f"endorsements/{endorsement.id}.json"


def endorser_path(endorser: model.Endorser) -> str:
    return f"endorsers/{endorser.id}.json"


def endorser_profile(site: Site, endorser: model.Endorser) -> dict[str, Any]:
    """The endorser's Profile, hosted by this site on the endorser's behalf."""
    lang = site.default_language
    doc: dict[str, Any] = {"@context": OB2_CONTEXT, "type": "Profile",
                           "id": site.url(endorser_path(endorser)),
                           "name": endorser.name.get(lang), "url": endorser.url}
    if endorser.description:
        doc["description"] = endorser.description.get(lang)
    return doc


def endorsement(site: Site, item: model.Endorsement) -> dict[str, Any]:
    """A hosted OB 2.0 Endorsement: "like an Assertion without badge ... claim MUST" (§A.6)."""
    lang = site.default_language
    claimed = (site.url(model.badge_json(item.badge)) if item.badge
               else site.url(model.issuer_json(item.issuer)))  # type: ignore[arg-type]
    return {"@context": OB2_CONTEXT, "type": "Endorsement",
            "id": site.url(endorsement_path(item)),
            "claim": {"id": claimed, "endorsementComment": item.comment.get(lang)},
            "issuer": site.url(endorser_path(item.endorser)),
            "issuedOn": iso_datetime(item.date), "verification": {"type": "hosted"}}


def recipient(site_secret: bytes, award: Award) -> dict[str, Any]:
    """Hashed e-mail IdentityObject with a per-award salt (§A.7)."""
    salt = award_salt(site_secret, award.id)
    # "validator accepts only id, email, url, telephone" as the identity type (§A.7)
    kind = {"email": "email", "url": "url", "did": "id"}[award.learner.identifier_type]
    return {"type": kind, "hashed": True, "salt": salt,
            "identity": identity_hash(award.learner.identifier, salt)}


def assertion_body(site: Site, award: Award, site_secret: bytes) -> dict[str, Any]:
    """Assertion properties shared by the hosted and the signed form (no id/verification)."""
    lang = site.default_language
    doc: dict[str, Any] = {
        "recipient": recipient(site_secret, award),
        "badge": site.url(model.badge_json(award.badge)),
        "issuedOn": iso_datetime(award.issued),
    }
    if award.expires:
        doc["expires"] = iso_datetime(award.expires)
    if award.narrative:
        doc["narrative"] = award.narrative.get(lang)
    if award.evidence:
        doc["evidence"] = [_evidence(e, lang) for e in award.evidence]
    return doc


def _evidence(evidence: model.Evidence, lang: str) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "Evidence", "id": evidence.url}
    if evidence.name:
        item["name"] = evidence.name.get(lang)
    if evidence.description:
        item["description"] = plain_text(evidence.description.get(lang))
    return item


def revoked_assertion(site: Site, award: Award) -> dict[str, Any]:
    """The spec's revoked form of a hosted assertion (§A.9: a static host cannot answer 410,
    "any response whose body declares revoked: true" means invalid)."""
    assert award.revocation is not None
    return {"@context": OB2_CONTEXT, "id": site.url(model.assertion_json(award)),
            "revoked": True,
            "revocationReason": award.revocation.reason.get(site.default_language)}


def hosted_assertion(site: Site, award: Award, site_secret: bytes) -> dict[str, Any]:
    """The hosted Assertion, served at its own `id` (its revoked form once revoked)."""
    if award.revocation is not None:
        return revoked_assertion(site, award)
    return {
        "@context": OB2_CONTEXT,
        "type": "Assertion",
        "id": site.url(model.assertion_json(award)),
        **assertion_body(site, award, site_secret),
        "verification": {"type": "hosted"},
    }
