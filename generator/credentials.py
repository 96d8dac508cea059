"""The sign stage: every award's signed credentials, and the keys and DID that verify them.

Per award, beside its page (`a/<id>/`):
  credential.json        OB 3.0 OpenBadgeCredential with a DataIntegrityProof (eddsa-rdfc-2022)
  credential.jwt         the same credential as a VC-JWT, RS256 (what OB 3.0 requires for JWT)
  credential-eddsa.jws   the same VC-JWT signed with EdDSA (Ed25519)
  assertion.jws          OB 2.0 signed assertion (compact JWS, RS256)
Site-wide: the did:web document, a JWKS, per-key JWKs, the OB 3.0 issuer Profile, the OB 3.0
Achievements, and per issuer the OB 2.0 CryptographicKey documents and RevocationList.

Times come from the award (`issued`), never from the clock, so a rebuild with the same keys is
byte-identical (Ed25519 and RSA PKCS#1 v1.5 are deterministic).
"""

from __future__ import annotations

from typing import Any, Callable

from generator import model, ob2, ob3
from generator.did import did_document, did_document_path, jwks, site_did, \
    verification_method_id
from generator.keys import RS256, Keyring, SigningKey, public_jwk, public_pem
from generator.model import Award, Issuer, Site
from generator.render import json_bytes
from generator.status import encode_bitstring
from generator.sign import SignatureCache, compact_json, sign_data_integrity, sign_jws, \
    vc_jwt_claims
from generator.write import OutputFile

# Download names beside each award page, by the key the theme uses.
DOWNLOADS = {"credential_json": "credential.json", "credential_jwt": "credential.jwt",
             "credential_eddsa": "credential-eddsa.jws", "assertion_jws": "assertion.jws"}


def key_document_path(issuer: Issuer, key: SigningKey) -> str:
    """OB 2.0 CryptographicKey of an issuer (each issuer owns its copy: `owner` must match)."""
    return f"issuers/{issuer.id}/keys/{key.key_id}.json"


def revocation_list_path(issuer: Issuer) -> str:
    return f"issuers/{issuer.id}/revocations.json"


def jwk_path(key: SigningKey) -> str:
    return f"keys/{key.key_id}.json"


def issuer_extra(site: Site, keyring: Keyring) -> Callable[[Issuer], dict[str, Any]]:
    rsa_keys = [k for k in keyring.published if k.algorithm == RS256]

    def extra(issuer: Issuer) -> dict[str, Any]:
        # §A.6: "There must be a two-way link: Profile publicKey -> key id, key owner -> Profile"
        return {"publicKey": [site.url(key_document_path(issuer, k)) for k in rsa_keys],
                "revocationList": site.url(revocation_list_path(issuer))}
    return extra


def _issuer_documents(site: Site, keyring: Keyring) -> list[OutputFile]:
    files = []
    for issuer in site.issuers:
        owner = site.url(model.issuer_json(issuer))
        for key in (k for k in keyring.published if k.algorithm == RS256):
            path = key_document_path(issuer, key)
            files.append(OutputFile(path, json_bytes({
                "@context": ob2.OB2_CONTEXT, "type": "CryptographicKey", "id": site.url(path),
                "owner": owner, "publicKeyPem": public_pem(key)})))
        path = revocation_list_path(issuer)
        revoked = [{"id": assertion_id, "revocationReason":
                    award.revocation.reason.get(site.default_language)}
                   for award in site.awards
                   if award.revocation is not None and award.badge.issuer == issuer
                   for assertion_id in (ob3.credential_id(site, award, "ob2"),
                                        site.url(model.assertion_json(award)))]
        files.append(OutputFile(path, json_bytes({
            "@context": ob2.OB2_CONTEXT, "type": "RevocationList", "id": site.url(path),
            "issuer": owner, "revokedAssertions": revoked})))
    return files


def _status_list(site: Site, keyring: Keyring, did: str,
                 cache: SignatureCache | None) -> OutputFile:
    """The signed revocation status list; `validFrom` is the newest date in the records."""
    revoked = [a.status_index for a in site.awards if a.revocation is not None]
    dates = [a.issued for a in site.awards] + [a.revocation.date for a in site.awards
                                               if a.revocation is not None]
    valid_from = ob2.iso_datetime(max(dates)) if dates else "2000-01-01T00:00:00Z"
    unsigned = ob3.status_list_credential(site, did, encode_bitstring(revoked), valid_from)
    key = keyring.active_ed25519
    signed = sign_data_integrity(unsigned, key, verification_method_id(did, key), valid_from,
                                 cache)
    return OutputFile(ob3.STATUS_LIST_PATH, json_bytes(signed))


def signed_assertion(site: Site, award: Award, keyring: Keyring) -> str:
    """OB 2.0 signed assertion as compact JWS, RS256 (§A.10)."""
    key = keyring.active_rsa
    payload = {
        "@context": ob2.OB2_CONTEXT,
        "type": "Assertion",
        "id": ob3.credential_id(site, award, "ob2"),
        **ob2.assertion_body(site, award, keyring.site_secret),
        "verification": {"type": "SignedBadge",
                         "creator": site.url(key_document_path(award.badge.issuer, key))},
    }
    return sign_jws(compact_json(payload), key, {"alg": "RS256"})


def award_files(site: Site, award: Award, keyring: Keyring, did: str,
                cache: SignatureCache | None) -> tuple[list[OutputFile], tuple[str, str]]:
    """One award's signed files, and the (OB 2.0 JWS, OB 3.0 credential JSON) to bake."""
    folder = model.award_page(award)
    unsigned = ob3.credential(site, award, keyring.site_secret, did)
    ed_key, rsa_key = keyring.active_ed25519, keyring.active_rsa
    signed = sign_data_integrity(unsigned, ed_key, verification_method_id(did, ed_key),
                                 unsigned["validFrom"], cache)
    claims = compact_json(vc_jwt_claims(unsigned))
    rs256 = sign_jws(claims, rsa_key, {"kid": verification_method_id(did, rsa_key),
                                       "typ": "JWT"})
    eddsa = sign_jws(claims, ed_key, {"kid": verification_method_id(did, ed_key),
                                      "typ": "JWT"})
    credential_json = json_bytes(signed)
    jws = signed_assertion(site, award, keyring)
    return [OutputFile(folder + "credential.json", credential_json),
            OutputFile(folder + "credential.jwt", (rs256 + "\n").encode("ascii")),
            OutputFile(folder + "credential-eddsa.jws", (eddsa + "\n").encode("ascii")),
            OutputFile(folder + "assertion.jws", (jws + "\n").encode("ascii"))
            ], (jws, credential_json.decode("utf-8"))


def download_links(award: Award) -> dict[str, str]:
    """The signed downloads beside an award's page, by the names the theme uses."""
    folder = model.award_page(award)
    return {key: folder + name for key, name in DOWNLOADS.items()}


def site_documents(site: Site, keyring: Keyring, cache: SignatureCache | None = None
                   ) -> list[OutputFile]:
    """What verifiers need to check every award's signatures: the DID document, JWKS and
    JWKs, the OB 3.0 issuer profile and achievements, per issuer the OB 2.0 keys and
    revocation list, and the signed status list. (Awards are signed by `award_files`.)"""
    did = site_did(site.base_url)
    files: list[OutputFile] = [
        OutputFile(did_document_path(site.base_url), json_bytes(
            did_document(site.base_url, keyring, [site.url(model.issuer_json(site.issuer))]))),
        OutputFile(".well-known/jwks.json", json_bytes(jwks(keyring))),
        OutputFile("issuer-ob3.json", json_bytes(ob3.issuer_profile_document(site, did))),
    ]
    files += [OutputFile(jwk_path(k), json_bytes(public_jwk(k))) for k in keyring.published]
    files += [OutputFile(ob3.achievement_path(b), json_bytes(ob3.achievement_document(
        site, b, did))) for b in site.badges]
    files += _issuer_documents(site, keyring)
    files.append(_status_list(site, keyring, did, cache))
    return files
