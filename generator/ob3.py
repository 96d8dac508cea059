"""Open Badges 3.0 documents: the OpenBadgeCredential of an award, the Achievement, the
issuer Profile — unsigned; `credentials` signs them.

Shapes follow the digest §C.1–C.4 and pitfall list §G: VC 2.0 context first, OB 3.0.3 second
(plus extensions.json for `1EdTechJsonSchemaValidator2019`); `type` is an array everywhere
except `Image.type` and `IdentityObject.type`; `image` is an object; `issuer` is an embedded
Profile whose `id` is the site's did:web.
"""

from __future__ import annotations

import uuid
from typing import Any

from generator import model
from generator.identity import award_salt, identity_hash
from generator.model import Award, BadgeClass, Issuer, Site
from generator.ob2 import iso_datetime

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB3_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
CONTEXTS = [VC_CONTEXT, OB3_CONTEXT, OB3_EXTENSIONS]
ACHIEVEMENT_SCHEMA = ("https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
                      "ob_v3p0_achievementcredential_schema.json")
STATUS_LIST_PATH = "status/revocation-1.json"
# Fixed namespace for credential ids: uuid5(namespace, award URL) is stable across rebuilds.
_CREDENTIAL_NAMESPACE = uuid.UUID("6f1c3b1e-8a52-4a8e-9d0e-7a1f0b6c2d41")


def credential_id(site: Site, award: Award, kind: str = "ob3") -> str:
    """A stable `urn:uuid` (version 5) per award and format; OB 2.0 and 3.0 ids differ (§C.12)."""
    return "urn:uuid:" + str(uuid.uuid5(_CREDENTIAL_NAMESPACE,
                                        f"{kind}:{site.url(model.award_page(award))}"))


def achievement_path(badge: BadgeClass) -> str:
    return f"achievements/{badge.id}.json"


def profile(site: Site, issuer: Issuer, profile_id: str) -> dict[str, Any]:
    """An OB 3.0 Profile; links to the OB 2.0 profile via otherIdentifier (§C.12)."""
    lang = site.default_language
    doc: dict[str, Any] = {"id": profile_id, "type": ["Profile"], "name": issuer.name.get(lang),
                           "url": issuer.url, "email": issuer.email}
    if issuer.description:
        doc["description"] = issuer.description.get(lang)
    if issuer.image:
        doc["image"] = {"id": site.url(model.issuer_image(issuer) or ""), "type": "Image"}
    # The JSON Schema wants IdentifierEntry.type as a plain string (§C.12 note).
    doc["otherIdentifier"] = [{"type": "IdentifierEntry",
                               "identifier": site.url(model.issuer_json(issuer)),
                               "identifierType": "identifier"}]
    return doc


def achievement(site: Site, badge: BadgeClass, issuer_did: str) -> dict[str, Any]:
    """The Achievement of a badge class, dereferenceable at its HTTPS id (§C.11)."""
    lang = site.default_language
    doc: dict[str, Any] = {
        "id": site.url(achievement_path(badge)),
        "type": ["Achievement"],
        "achievementType": "Badge",
        "name": badge.name.get(lang),
        "description": badge.description.get(lang),
        "criteria": {"id": site.url(model.badge_page(badge)),
                     "narrative": badge.criteria.get(lang)},
        "image": {"id": site.url(model.badge_image(badge)), "type": "Image",
                  "caption": badge.name.get(lang)},
        "inLanguage": lang,
    }
    if badge.issuer != site.issuer:
        # The partner wrote the badge; the site's issuer awards and signs it.
        doc["creator"] = profile(site, badge.issuer, site.url(model.issuer_json(badge.issuer)))
    alignments = [_alignment(a, lang) for a in badge.alignments]
    alignments += [{"type": ["Alignment"], "targetName": path.name.get(lang),
                    "targetUrl": site.url(f"paths/{path.id}/"),
                    "targetDescription": "Learning path step",
                    "targetFramework": site.title.get(lang), "targetType": "ext:LearningPath"}
                   for path in site.paths
                   if any(badge in step.badges for step in path.steps)
                   or path.completion == badge]
    if alignments:
        doc["alignment"] = alignments
    signed = [e.signed for e in site.endorsements if e.badge == badge and e.signed]
    if signed:
        # Only endorsements the endorser signed themselves: each carries its own proof (§C.2).
        doc["endorsement"] = signed
    if badge.tags:
        doc["tag"] = list(badge.tags)
    doc["related"] = [{"id": site.url(model.badge_json(badge)),
                       "type": ["Related", "https://w3id.org/openbadges#BadgeClass"],
                       "version": "Open Badges v2p0"}]
    return doc


_TARGET_TYPES = {"skill": "ext:ESCOSkill", "occupation": "ext:ESCOOccupation"}


def _alignment(alignment: model.Alignment, lang: str) -> dict[str, Any]:
    """OB 3.0 Alignment; targetType uses `ext:` terms (EQF: "ext:EQF", as edubadges does)."""
    target_type = _TARGET_TYPES.get(alignment.kind) or f"ext:{alignment.framework.upper()}"
    return {"type": ["Alignment"], "targetName": alignment.name.get(lang),
            "targetUrl": alignment.url, "targetFramework": model.framework_name(alignment),
            "targetCode": alignment.code, "targetType": target_type}


def achievement_document(site: Site, badge: BadgeClass, issuer_did: str) -> dict[str, Any]:
    """The Achievement as a stand-alone JSON-LD document."""
    return {"@context": CONTEXTS[:2], **achievement(site, badge, issuer_did)}


def issuer_profile_document(site: Site, issuer_did: str) -> dict[str, Any]:
    """The OB 3.0 issuer Profile of the site, with the did:web as its id."""
    return {"@context": CONTEXTS[:2], **profile(site, site.issuer, issuer_did)}


def credential(site: Site, award: Award, site_secret: bytes, issuer_did: str) -> dict[str, Any]:
    """The unsigned OpenBadgeCredential of an award."""
    lang = site.default_language
    salt = award_salt(site_secret, award.id)
    identity_type = "emailAddress" if award.learner.identifier_type == "email" \
        else "identifier"
    subject: dict[str, Any] = {"type": ["AchievementSubject"]}
    if award.learner.did:
        subject["id"] = award.learner.did
    subject["identifier"] = [{"type": "IdentityObject", "identityType": identity_type,
                              "hashed": True,
                              "identityHash": identity_hash(award.learner.identifier, salt),
                              "salt": salt}]
    subject["achievement"] = achievement(site, award.badge, issuer_did)
    if award.narrative:
        subject["narrative"] = award.narrative.get(lang)
    doc: dict[str, Any] = {
        "@context": CONTEXTS,
        "id": credential_id(site, award),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": award.badge.name.get(lang),
        "issuer": profile(site, site.issuer, issuer_did),
        "validFrom": iso_datetime(award.issued),
    }
    if award.expires:
        doc["validUntil"] = iso_datetime(award.expires)
    doc["awardedDate"] = iso_datetime(award.issued)
    doc["credentialSubject"] = subject
    evidence = [{"id": site.url(model.award_page(award)), "type": ["Evidence"],
                 "name": "Open Badges 2.0 assertion and award page"}]
    for item in award.evidence:
        entry: dict[str, Any] = {"id": item.url, "type": ["Evidence"]}
        if item.name:
            entry["name"] = item.name.get(lang)
        if item.description:
            entry["description"] = item.description.get(lang)
        evidence.append(entry)
    doc["evidence"] = evidence
    doc["credentialSchema"] = [{"id": ACHIEVEMENT_SCHEMA,
                                "type": "1EdTechJsonSchemaValidator2019"}]
    list_url = site.url(STATUS_LIST_PATH)
    # §C.5b: statusListIndex is "an integer >= 0 as a base-10 string"
    doc["credentialStatus"] = {"id": f"{list_url}#{award.status_index}",
                               "type": "BitstringStatusListEntry",
                               "statusPurpose": "revocation",
                               "statusListIndex": str(award.status_index),
                               "statusListCredential": list_url}
    return doc


def status_list_credential(site: Site, issuer_did: str, encoded_list: str,
                           valid_from: str) -> dict[str, Any]:
    """The unsigned BitstringStatusListCredential (signed like every credential)."""
    list_url = site.url(STATUS_LIST_PATH)
    return {
        "@context": [VC_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did,
        "validFrom": valid_from,
        "credentialSubject": {"id": f"{list_url}#list", "type": "BitstringStatusList",
                              "statusPurpose": "revocation", "encodedList": encoded_list},
    }
