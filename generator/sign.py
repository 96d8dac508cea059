"""Signatures: Data Integrity `eddsa-rdfc-2022` proofs, compact JWS, VC-JWT claims.

Everything here is deterministic — Ed25519 (RFC 8032) and RSASSA-PKCS1-v1_5 have no random
input — so signing the same document with the same key, method and time gives the same bytes,
and a rebuild of an unchanged site is byte-identical.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import json
import re
from datetime import datetime
from typing import Any, Callable, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from pyld.jsonld import JsonLdError

from .cache import code_digest
from .jsonld import UndefinedTermError, canonicalize, jsonld_error_message
from .keys import ED25519, RS256, SigningKey
from .multibase import multibase_decode, multibase_encode

# --- Data Integrity (digest C.7.2) ----------------------------------------------------------

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
# Digest C.7: the 1EdTech validator accepts "eddsa-rdfc-2022, legacy name eddsa-2022"; the
# algorithm is the same, so we verify both but only ever sign with the current name.
LEGACY_CRYPTOSUITES = frozenset({"eddsa-2022"})
# Digest C.7.2: "proofPurpose": "assertionMethod" — "OB: MUST be assertionMethod".
PROOF_PURPOSE = "assertionMethod"
# `created` is an XML Schema dateTimeStamp: a date-time with a time zone.
_DATE_TIME_STAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class SignatureCache(Protocol):
    """Where signatures of unchanged documents are kept between builds."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes) -> None: ...


def _hash_data(unsecured: dict[str, Any], options: dict[str, Any]) -> bytes:
    # C.7.2 step 3: "proofConfig = copy of options with "@context" set to
    # unsecured["@context"]"; step 6: "hashData = SHA-256(canonicalProofConfig) ||
    # SHA-256(canonicalDocument) - proof config hash FIRST, 64 bytes total."
    proof_config = {**options, "@context": unsecured["@context"]}
    return (hashlib.sha256(canonicalize(proof_config).encode("utf-8")).digest()
            + hashlib.sha256(canonicalize(unsecured).encode("utf-8")).digest())


def _cache_key(unsecured: dict[str, Any], key: SigningKey, options: dict[str, Any]) -> str:
    text = json.dumps([code_digest(), unsecured, key.key_id, options], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sign_data_integrity(document: dict[str, Any], key: SigningKey, verification_method: str,
                        created: str, cache: SignatureCache | None = None) -> dict[str, Any]:
    """Return a copy of `document` with an eddsa-rdfc-2022 `proof` (a one-element array).

    The OB 3.0 JSON Schema wants `proof` as an array. Raises UndefinedTermError when the
    document uses a term no context defines. With `cache`, an unchanged document (same key,
    method and `created`) reuses its signature and skips canonicalization.
    """
    if "proof" in document:
        raise ValueError("document already has a proof; sign the unsecured document")
    if key.algorithm != ED25519 or not isinstance(key.private_key, ed25519.Ed25519PrivateKey):
        raise ValueError(f"key {key.key_id} cannot make {CRYPTOSUITE} proofs "
                         f"({key.algorithm}, {key.status})")
    if not _DATE_TIME_STAMP.match(created):
        raise ValueError(f"proof created {created!r} is not a date-time with a time zone")
    options = {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "created": created,
               "verificationMethod": verification_method, "proofPurpose": PROOF_PURPOSE}
    cache_key = _cache_key(document, key, options) if cache is not None else ""
    signature = cache.get(cache_key) if cache is not None else None
    if signature is None or len(signature) != 64:
        # C.7.2 step 7: "Ed25519 (pure EdDSA, RFC 8032) over hashData (not pre-hashed again)"
        signature = key.private_key.sign(_hash_data(document, options))
        if cache is not None:
            cache.put(cache_key, signature)
    # C.7.2 step 8: proofValue = "z" + base58btc(signature)
    return {**document, "proof": [{**options, "proofValue": multibase_encode(signature)}]}


def _check_proof(unsecured: dict[str, Any], proof: Any,
                 resolve_key: Callable[[str], ed25519.Ed25519PublicKey]) -> str | None:
    """Why one proof does not verify, or None when it does."""
    if not isinstance(proof, dict):
        return "proof is not a JSON object"
    if proof.get("type") != PROOF_TYPE:
        return f"unsupported proof type {proof.get('type')!r} (expected {PROOF_TYPE})"
    suite = proof.get("cryptosuite")
    if not isinstance(suite, str) or (suite != CRYPTOSUITE and suite not in LEGACY_CRYPTOSUITES):
        return f"wrong cryptosuite {suite!r} (expected {CRYPTOSUITE})"
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        return f"proofPurpose is {proof.get('proofPurpose')!r}, not {PROOF_PURPOSE!r}"
    if "created" in proof and not _DATE_TIME_STAMP.match(str(proof["created"])):
        return f"proof created {proof['created']!r} is not a date-time with a time zone"
    encoded = proof.get("proofValue")
    if not isinstance(encoded, str):
        return "bad proofValue encoding: proofValue is missing or not a string"
    try:
        signature = multibase_decode(encoded)
    except ValueError as error:
        return f"bad proofValue encoding: {error}"
    if len(signature) != 64:
        return f"bad proofValue encoding: {len(signature)} bytes, an Ed25519 signature has 64"
    method = proof.get("verificationMethod")
    try:
        public_key = resolve_key(method) if isinstance(method, str) else None
    except (LookupError, ValueError) as error:
        return f"unknown verification method {method!r}: {error}"
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        return f"unknown verification method {method!r}"
    options = {name: value for name, value in proof.items() if name != "proofValue"}
    try:
        data = _hash_data(unsecured, options)
    except UndefinedTermError as error:
        return f"undefined term: {error}"
    except JsonLdError as error:
        return f"JSON-LD processing failed: {jsonld_error_message(error)}"
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return ("signature mismatch: the credential or its proof options changed after "
                "signing, or it was signed with another key")
    return None


def verify_data_integrity(document: dict[str, Any],
                          resolve_key: Callable[[str], ed25519.Ed25519PublicKey]
                          ) -> list[str]:
    """Check the eddsa-rdfc-2022 proof(s) of `document`; [] means valid.

    `proof` may be an object or an array. Digest C.8: "Any one valid proof suffices", so the
    result is empty as soon as one proof verifies; otherwise one reason per proof.
    `resolve_key` maps a verificationMethod to its Ed25519 public key and raises LookupError
    or ValueError (or returns None) for an unknown one. It is also where the caller checks
    that the method is authorised by the issuer (C.7.2: "the key is authorised by the issuer
    (DID assertionMethod / controller == issuer.id)"); this function checks the signature.
    """
    if not isinstance(document, dict) or "@context" not in document:
        return ["not a JSON-LD document (no @context)"]
    proofs = document.get("proof")
    if not proofs:
        return ["no proof"]
    proofs = proofs if isinstance(proofs, list) else [proofs]
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    reasons = []
    for index, proof in enumerate(proofs):
        reason = _check_proof(unsecured, proof, resolve_key)
        if reason is None:
            return []
        reasons.append(f"proof[{index}]: {reason}" if len(proofs) > 1 else reason)
    return reasons


# --- compact JWS (RFC 7515), digest A.10 and C.7.1 ------------------------------------------

class JwsError(ValueError):
    """A JWS that cannot be trusted; `reason` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class MalformedJws(JwsError):
    """The token is not a well-formed compact JWS we accept."""


class JwsSignatureError(JwsError):
    """The JWS is well-formed but its signature does not verify with the given key."""


# A.10: "RS256 = RSASSA-PKCS1-v1_5 with SHA-256"; RFC 8037: "EdDSA" for Ed25519.
_ALG_FOR = {RS256: "RS256", ED25519: "EdDSA"}
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(part: str, what: str) -> bytes:
    # RFC 7515 §2: base64url "with all trailing '=' characters omitted"
    if not _B64URL.match(part) or len(part) % 4 == 1:
        raise MalformedJws(f"the {what} is not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise MalformedJws(f"the {what} is not unpadded base64url") from None


def compact_json(value: Any) -> bytes:
    """UTF-8 JSON without whitespace, keys in the given order (for JWS payloads)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_jws(payload: bytes, key: SigningKey, header: dict[str, Any]) -> str:
    """Compact JWS of `payload`; `alg` is set from the key (RS256 or EdDSA).

    The header is serialized with sorted keys and no whitespace, so the token is the same
    on every build.
    """
    alg = _ALG_FOR.get(key.algorithm)
    if key.private_key is None or alg is None:
        raise ValueError(f"key {key.key_id} cannot sign ({key.algorithm}, {key.status})")
    if header.get("alg", alg) != alg:
        raise ValueError(f"header alg {header['alg']!r} does not match the {key.algorithm} key")
    protected = json.dumps({**header, "alg": alg}, sort_keys=True, separators=(",", ":"))
    signing_input = f"{_b64url_encode(protected.encode())}.{_b64url_encode(payload)}"
    if isinstance(key.private_key, rsa.RSAPrivateKey):
        signature = key.private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(),
                                         hashes.SHA256())
    else:
        signature = key.private_key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{_b64url_encode(signature)}"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 7515 §5.2: duplicate header parameter names MUST be rejected (or the last used)
    if len({name for name, _ in pairs}) != len(pairs):
        raise MalformedJws("the header repeats a parameter name")
    return dict(pairs)


def decode_jws(token: str) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    """Split a compact JWS into (header, payload, signing input, signature), unverified.

    Raises MalformedJws for a wrong number of parts, bad base64url, a header that is not a
    JSON object, a missing alg, alg "none", or critical extensions we do not understand.
    """
    if not isinstance(token, str):
        raise MalformedJws("a compact JWS is a text string")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise MalformedJws(f"a compact JWS has 3 dot-separated parts, this has {len(parts)}")
    try:
        header = json.loads(_b64url_decode(parts[0], "header").decode("utf-8"),
                            object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedJws("the header is not UTF-8 JSON") from None
    if not isinstance(header, dict):
        raise MalformedJws("the header is not a JSON object")
    if not isinstance(header.get("alg"), str):
        raise MalformedJws("the header has no alg")
    if header["alg"].lower() == "none":
        raise MalformedJws("alg 'none' (an unsigned JWS) is never accepted")
    if "crit" in header:  # RFC 7515 §4.1.11: unknown critical extensions MUST be rejected
        raise MalformedJws(f"unsupported critical header parameters {header['crit']!r}")
    payload = _b64url_decode(parts[1], "payload")
    signature = _b64url_decode(parts[2], "signature")
    if not signature:
        raise MalformedJws("the signature is empty")
    return header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def verify_jws(token: str, public_key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey) -> bytes:
    """Verify a compact JWS with `public_key` and return its payload bytes.

    The header alg must fit the key type (RS256 for RSA, EdDSA for Ed25519), so a token
    cannot pick a weaker or different algorithm than the key was made for.
    """
    header, payload, signing_input, signature = decode_jws(token)
    alg = header["alg"]
    try:
        if isinstance(public_key, rsa.RSAPublicKey) and alg == "RS256":
            public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ed25519.Ed25519PublicKey) and alg == "EdDSA":
            public_key.verify(signature, signing_input)
        else:
            raise JwsSignatureError(f"alg {alg!r} does not match the "
                                    f"{type(public_key).__name__} verification key")
    except InvalidSignature:
        raise JwsSignatureError("signature does not verify with this key") from None
    return payload


def public_key_from_jwk(jwk: dict[str, Any]) -> rsa.RSAPublicKey | ed25519.Ed25519PublicKey:
    """The public key of an RSA or Ed25519 (OKP) JWK, e.g. a VC-JWT header's `jwk`.

    C.7.1: "Never include private members (d, p, q, ...)" — a JWK carrying them is refused.
    """
    if any(member in jwk for member in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise ValueError("the JWK contains private key members")
    if jwk.get("kty") == "RSA":
        modulus = int.from_bytes(_b64url_decode(str(jwk.get("n", "")), "JWK n"), "big")
        exponent = int.from_bytes(_b64url_decode(str(jwk.get("e", "")), "JWK e"), "big")
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        raw = _b64url_decode(str(jwk.get("x", "")), "JWK x")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    raise ValueError(f"unsupported JWK (kty {jwk.get('kty')!r}, crv {jwk.get('crv')!r})")


# --- VC-JWT (digest C.7.1) -----------------------------------------------------------------

def numeric_date(value: str) -> int:
    """A date-time with a time zone as a JWT NumericDate (whole seconds since the epoch)."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"date-time {value!r} has no time zone")
    return calendar.timegm(moment.utctimetuple())


def vc_jwt_claims(credential: dict[str, Any]) -> dict[str, Any]:
    """The OB 3.0 VC-JWT payload: the credential itself (no proof) plus JWT claims.

    C.7.1: iss = issuer.id, jti = id, nbf = validFrom, sub = credentialSubject.id (when the
    subject has one), exp = validUntil (when present).
    """
    try:
        issuer = credential["issuer"]
        claims = {name: value for name, value in credential.items() if name != "proof"}
        claims["iss"] = issuer["id"] if isinstance(issuer, dict) else issuer
        claims["jti"] = credential["id"]
        claims["nbf"] = numeric_date(credential["validFrom"])
    except KeyError as missing:
        raise ValueError(f"a VC-JWT needs the credential's {missing.args[0]}") from None
    subject = credential.get("credentialSubject")
    if isinstance(subject, dict) and subject.get("id"):
        claims["sub"] = subject["id"]
    if credential.get("validUntil"):
        claims["exp"] = numeric_date(credential["validUntil"])
    return claims
