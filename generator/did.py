"""The site's `did:web` identifier, its DID document and its JWKS.

did:web (digest §D.1): the DID `did:web:<host>[%3A<port>][:<path segments>]` resolves to
`https://<host>/.well-known/did.json`, or `https://<host>/<path>/did.json` when it has a path.
The document lists every key that ever signed and was not compromised, so credentials issued
before a rotation keep verifying (§C.7.4 "keep old keys listed while credentials signed with
them should verify").
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from generator.keys import ED25519, Keyring, SigningKey, multikey, public_jwk

DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1",
                "https://w3id.org/security/jwk/v1"]


def site_did(base_url: str) -> str:
    """`did:web` of a site: host (port colon percent-encoded) plus its path segments."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.port:
        host += "%3A" + str(parts.port)
    segments = [quote(s, safe="") for s in parts.path.split("/") if s]
    return ":".join(["did:web", host, *segments])


def did_document_path(base_url: str) -> str:
    """Where the DID document goes inside the site: `.well-known/did.json` or `did.json`."""
    return "did.json" if urlsplit(base_url).path.strip("/") else ".well-known/did.json"


def verification_method_id(did: str, key: SigningKey) -> str:
    """Full DID URL of a key (the 1EdTech resolver compares full strings)."""
    return f"{did}#{key.key_id}"


def _verification_method(did: str, key: SigningKey) -> dict[str, Any]:
    method: dict[str, Any] = {"id": verification_method_id(did, key), "controller": did}
    if key.algorithm == ED25519:
        # Multikey: "z" + base58btc(0xed01 + raw key) (§C.7.4); eddsa-rdfc-2022 verifiers expect it
        method.update(type="Multikey", publicKeyMultibase=multikey(key.public_key))
    else:
        jwk = {k: v for k, v in public_jwk(key).items() if k != "kid"}
        method.update(type="JsonWebKey", publicKeyJwk=jwk)
    return method


def did_document(base_url: str, keyring: Keyring, also_known_as: list[str]) -> dict[str, Any]:
    """The DID document: every published key as a verification and assertion method."""
    did = site_did(base_url)
    keys = keyring.published
    return {
        "@context": DID_CONTEXTS,
        "id": did,
        "alsoKnownAs": also_known_as,
        "verificationMethod": [_verification_method(did, k) for k in keys],
        "assertionMethod": [verification_method_id(did, k) for k in keys],
    }


def jwks(keyring: Keyring) -> dict[str, Any]:
    """JWK Set of every published key (OB 3.0 Implementation Guide, "Key provenance")."""
    return {"keys": [public_jwk(k) for k in keyring.published]}
