"""Data Integrity proofs, compact JWS and VC-JWT claims (generator/sign.py)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from generator import sign
from generator.jsonld import UndefinedTermError, canonicalize
from generator.keys import SigningKey, key_id_for, new_key, public_jwk, public_key_from_multikey
from generator.multibase import multibase_decode
from generator.sign import (JwsSignatureError, MalformedJws, decode_jws, sign_data_integrity,
                            sign_jws, vc_jwt_claims, verify_data_integrity, verify_jws)

VECTORS = Path(__file__).parent / "fixtures" / "vectors"
W3C = VECTORS / "w3c-vc-di-eddsa"
KIT = VECTORS / "generated-by-kit"
OB_LDP = VECTORS / "ob_v3p0-ldp-test-vector"
OB30 = VECTORS / "1edtech-validator-testfiles" / "ob30"
OB20 = VECTORS / "1edtech-validator-testfiles" / "ob20"
TODAY = date(2025, 3, 1)


def read_json(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


def ed25519_key(private: ed25519.Ed25519PrivateKey) -> SigningKey:
    public = private.public_key()
    return SigningKey(key_id_for(public), "Ed25519", "active", TODAY, public, private)


@pytest.fixture(scope="module")
def w3c_key() -> SigningKey:
    """The published W3C test key (vc-di-eddsa keyPair.json); also signs the kit's vectors."""
    secret = multibase_decode(read_json(W3C / "keyPair.json")["privateKeyMultibase"])
    return ed25519_key(ed25519.Ed25519PrivateKey.from_private_bytes(secret[2:]))


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return new_key("RS256", TODAY)


def html_example(title: str) -> dict:
    html = (OB_LDP / "linked-data-proof-ob.html").read_text("utf-8")
    return json.loads(re.search(rf'title="{re.escape(title)}">(.*?)</pre', html, re.S).group(1))


def resolve_key(method: str) -> ed25519.Ed25519PublicKey:
    """Test resolver: the kit's did:web document, did:key, or a `#z6Mk...` fragment.

    The fragment form is how the 1EdTech validator reads its own sample credentials.
    """
    did_document = read_json(KIT / "did-web-issuer.did.json")
    for entry in did_document["verificationMethod"]:
        if entry["id"] == method:
            return public_key_from_multikey(entry["publicKeyMultibase"])
    if method.startswith("did:key:"):
        return public_key_from_multikey(method.removeprefix("did:key:").split("#")[0])
    if "#z6Mk" in method:
        return public_key_from_multikey(method.split("#", 1)[1])
    raise LookupError("not a test verification method")


@pytest.fixture
def signed() -> dict:
    return read_json(KIT / "ob3-credential-eddsa-rdfc-2022.json")


# --- Data Integrity: published vectors ------------------------------------------------------

def test_w3c_eddsa_rdfc_2022_vector(w3c_key):
    folder = W3C / "eddsa-rdfc-2022"
    unsigned = read_json(W3C / "unsigned.json")
    config = read_json(folder / "proofConfigDataInt.json")
    proof_hash = hashlib.sha256(canonicalize(config).encode()).hexdigest()
    doc_hash = hashlib.sha256(canonicalize(unsigned).encode()).hexdigest()
    assert proof_hash == (folder / "proofHashDataInt.txt").read_text().strip()
    assert doc_hash == (folder / "docHashDataInt.txt").read_text().strip()
    assert proof_hash + doc_hash == (folder / "combinedHashDataInt.txt").read_text().strip()

    result = sign_data_integrity(unsigned, w3c_key, config["verificationMethod"],
                                 config["created"])
    proof = result["proof"][0]
    assert proof["proofValue"] == (folder / "sigBTC58DataInt.txt").read_text().strip()
    assert multibase_decode(proof["proofValue"]).hex() == (
        folder / "sigHexDataInt.txt").read_text().strip()
    expected = read_json(folder / "signedDataInt.json")
    assert proof == expected["proof"]  # the vector has a single proof object
    assert {k: v for k, v in result.items() if k != "proof"} == unsigned
    assert verify_data_integrity(expected, resolve_key) == []


def test_kit_ob3_credential_is_reproduced_byte_for_byte(w3c_key, signed):
    unsigned = read_json(KIT / "ob3-credential-unsigned.json")
    options = signed["proof"][0]
    result = sign_data_integrity(unsigned, w3c_key, options["verificationMethod"],
                                 options["created"])
    assert json.dumps(result, indent=2) == json.dumps(signed, indent=2)
    intermediate = read_json(KIT / "ob3-credential-eddsa-rdfc-2022.intermediate.json")
    assert multibase_decode(result["proof"][0]["proofValue"]).hex() == intermediate[
        "signatureHex"]


def test_1edtech_ob3_ldp_vector():
    pair = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(
        "6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4"))
    key = ed25519_key(pair)
    proof = html_example("Proof")
    result = sign_data_integrity(html_example("Credential"), key,
                                 proof["verificationMethod"], proof["created"])
    assert result["proof"][0]["proofValue"] == (
        "z5x9aCBYovW3CQCbKdNyhEm7ffYSw1YpEdPywQJoNbzDD2gkzQDKJ1sYKJaWvqZtkMtSbz35HcbgXVEDYHxCzgkCr")
    assert verify_data_integrity(html_example("Signed credential"), resolve_key) == []


VALID_1EDTECH = ["simple.json", "simple-did-key-method.json", "simple-did-web-method.json",
                 "simple-multiple-proofs.json", "simple-eddsa-2022.json", "complete.json",
                 "endorsement-valid.json", "simple-err-expired.json", "simple-err-issued.json",
                 "bit-string-list/credential-status-revoked.json"]


@pytest.mark.parametrize("name", VALID_1EDTECH)
def test_1edtech_validator_samples_verify(name):
    # "err" samples fail the validator for dates, not for their proof
    assert verify_data_integrity(read_json(OB30 / name), resolve_key) == []


@pytest.mark.parametrize("name, reason", [
    ("simple-err-proof-value.json", "signature mismatch"),
    ("simple-err-type.json", "undefined term: type: 'OtherCredential'"),
    ("simple-err-context.json", "undefined term"),
    ("simple_v1.json", "unsupported proof type 'Ed25519Signature2020'"),
    ("simple-noproof.json", "no proof"),
])
def test_1edtech_validator_bad_samples_fail(name, reason):
    reasons = verify_data_integrity(read_json(OB30 / name), resolve_key)
    assert len(reasons) == 1 and reason in reasons[0]


# --- Data Integrity: behaviour ------------------------------------------------------------

def test_signing_twice_is_byte_identical(w3c_key):
    unsigned = read_json(KIT / "ob3-credential-unsigned.json")
    vm, created = "did:web:badges.example.org:issuers:acme#key-1", "2025-03-01T09:00:00Z"
    first = json.dumps(sign_data_integrity(unsigned, w3c_key, vm, created)).encode()
    second = json.dumps(sign_data_integrity(copy.deepcopy(unsigned), w3c_key, vm,
                                            created)).encode()
    assert first == second
    assert "proof" not in unsigned  # the input is not modified


def test_proof_may_be_a_single_object(signed):
    signed["proof"] = signed["proof"][0]
    assert verify_data_integrity(signed, resolve_key) == []


def _set(path: str, value):
    def change(doc):
        *parents, last = path.split(".")
        target = doc
        for name in parents:
            target = target[int(name)] if name.isdigit() else target[name]
        target[int(last) if last.isdigit() else last] = value
    return change


@pytest.mark.parametrize("change, reason", [
    (_set("name", "Veilig werken op grote hoogte"), "signature mismatch"),
    (_set("validFrom", "2025-03-02T09:00:00Z"), "signature mismatch"),
    (_set("credentialSubject.identifier.0.salt", "other"), "signature mismatch"),
    (_set("issuer.id", "did:web:evil.example"), "signature mismatch"),
    (_set("proof.0.created", "2025-03-01T09:00:01Z"), "signature mismatch"),
    (_set("proof.0.cryptosuite", "eddsa-jcs-2022"), "wrong cryptosuite 'eddsa-jcs-2022'"),
    (_set("proof.0.proofPurpose", "authentication"), "proofPurpose is 'authentication'"),
    (_set("proof.0.proofValue", "u" + "A" * 86), "bad proofValue encoding"),
    (_set("proof.0.proofValue", "z0OIl"), "bad proofValue encoding"),
    (_set("proof.0.proofValue", "z3JKCbPU"), "bad proofValue encoding"),
    (_set("proof.0.verificationMethod", "did:web:badges.example.org:issuers:acme#key-2"),
     "unknown verification method"),
    (_set("proof.0.verificationMethod",
          "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"), "signature mismatch"),
    (_set("credentialSubject.achievement.level", "expert"),
     "undefined term: credentialSubject.achievement.level"),
    (_set("proof.0.type", "Ed25519Signature2020"), "unsupported proof type"),
    (_set("@context", ["https://www.w3.org/ns/credentials/v2", "https://example.org/ctx"]),
     "JSON-LD processing failed: JSON-LD context https://example.org/ctx is not bundled"),
])
def test_tampering_is_detected_with_a_reason(signed, change, reason):
    change(signed)
    reasons = verify_data_integrity(signed, resolve_key)
    assert len(reasons) == 1 and reason in reasons[0], reasons


def test_every_failing_proof_gets_a_reason(signed):
    signed["proof"].append({"type": "SomeProof"})
    signed["name"] = "changed"
    reasons = verify_data_integrity(signed, resolve_key)
    assert reasons[0].startswith("proof[0]: signature mismatch")
    assert reasons[1].startswith("proof[1]: unsupported proof type")


class DictCache:
    def __init__(self):
        self.data: dict[str, bytes] = {}

    def get(self, key):
        return self.data.get(key)

    def put(self, key, value):
        self.data[key] = value


def test_cache_skips_canonicalization_of_unchanged_documents(w3c_key, signed, monkeypatch):
    unsigned = read_json(KIT / "ob3-credential-unsigned.json")
    options = signed["proof"][0]
    cache = DictCache()
    args = (w3c_key, options["verificationMethod"], options["created"])
    assert sign_data_integrity(unsigned, *args, cache=cache) == signed
    assert len(cache.data) == 1

    def no_canonicalization(document):
        raise AssertionError("canonicalized although cached")

    monkeypatch.setattr(sign, "canonicalize", no_canonicalization)
    assert sign_data_integrity(copy.deepcopy(unsigned), *args, cache=cache) == signed
    unsigned["name"] = "changed"
    with pytest.raises(AssertionError, match="although cached"):
        sign_data_integrity(unsigned, *args, cache=cache)


def test_signing_refuses_undefined_terms_and_bad_input(w3c_key, rsa_key, signed):
    unsigned = read_json(KIT / "ob3-credential-unsigned.json")
    vm, created = "did:web:badges.example.org:issuers:acme#key-1", "2025-03-01T09:00:00Z"
    broken = {**unsigned, "badgeColour": "red"}
    with pytest.raises(UndefinedTermError, match="badgeColour"):
        sign_data_integrity(broken, w3c_key, vm, created)
    with pytest.raises(ValueError, match="already has a proof"):
        sign_data_integrity(signed, w3c_key, vm, created)
    with pytest.raises(ValueError, match="cannot make eddsa-rdfc-2022 proofs"):
        sign_data_integrity(unsigned, rsa_key, vm, created)
    with pytest.raises(ValueError, match="time zone"):
        sign_data_integrity(unsigned, w3c_key, vm, "2025-03-01T09:00:00")


# --- compact JWS ----------------------------------------------------------------------------

def test_rs256_round_trip_is_deterministic(rsa_key):
    payload = b'{"hello":"world"}'
    token = sign_jws(payload, rsa_key, {"typ": "JWT", "kid": "https://x.example/k.json"})
    assert token == sign_jws(payload, rsa_key, {"kid": "https://x.example/k.json",
                                                "typ": "JWT"})
    header, body, _, _ = decode_jws(token)
    assert header == {"alg": "RS256", "kid": "https://x.example/k.json", "typ": "JWT"}
    assert base64.urlsafe_b64decode(token.split(".")[0] + "==") == (
        b'{"alg":"RS256","kid":"https://x.example/k.json","typ":"JWT"}')
    assert verify_jws(token, rsa_key.public_key) == body == payload


def test_eddsa_round_trip(w3c_key):
    token = sign_jws(b"payload", w3c_key, {})
    assert decode_jws(token)[0] == {"alg": "EdDSA"}
    assert verify_jws(token, w3c_key.public_key) == b"payload"


def test_jws_verification_failures(rsa_key, w3c_key):
    token = sign_jws(b'{"a":1}', rsa_key, {})
    other = new_key("RS256", TODAY)
    with pytest.raises(JwsSignatureError, match="does not verify"):
        verify_jws(token, other.public_key)
    with pytest.raises(JwsSignatureError, match="does not match"):
        verify_jws(token, w3c_key.public_key)  # RS256 token, Ed25519 key
    header, payload, signature = token.split(".")
    forged = base64.urlsafe_b64encode(b'{"a":2}').rstrip(b"=").decode()
    with pytest.raises(JwsSignatureError):
        verify_jws(f"{header}.{forged}.{signature}", rsa_key.public_key)
    with pytest.raises(ValueError, match="does not match"):
        sign_jws(b"x", rsa_key, {"alg": "HS256"})


def test_ob20_signed_assertion_vectors():
    def key(name):
        pem = read_json(OB20 / "assets" / name)["publicKeyPem"].encode()
        return serialization.load_pem_public_key(pem)

    payload = verify_jws((OB20 / "simple.jwt").read_text(), key("key1.json"))
    assertion = json.loads(payload)
    assert assertion["type"] == "Assertion"
    assert assertion["verification"]["creator"] == "http://example.org/key1.json"
    assert verify_jws((OB20 / "simple-revoked.jwt").read_text(), key("key3.json"))
    with pytest.raises(JwsSignatureError):
        verify_jws((OB20 / "simple.jwt").read_text(), key("key2.json"))


def test_decode_vc_1_1_jwt():
    header, payload, _, _ = decode_jws((OB30 / "simple.jwt").read_text())
    assert header["alg"] == "RS256"
    assert json.loads(payload)["vc"]["type"] == ["VerifiableCredential", "OpenBadgeCredential"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(header: bytes, signature: str = _b64(b"sig"), suffix: str = "") -> str:
    return f"{_b64(header)}{suffix}.{_b64(b'payload')}.{signature}"


@pytest.mark.parametrize("token, reason", [
    ("abc.def", "3 dot-separated parts, this has 2"),
    ("a.b.c.d", "this has 4"),
    (_token(b"{}", suffix="!"), "header is not unpadded base64url"),
    (_token(b"{}", suffix="="), "header is not unpadded base64url"),
    (_token(b'{"alg":"RS256"}', signature="a"), "signature is not unpadded base64url"),
    (_token(b"not json"), "header is not UTF-8 JSON"),
    (_token(b"\xff\xfe"), "header is not UTF-8 JSON"),
    (_token(b"[1]"), "header is not a JSON object"),
    (_token(b'{"typ":"JWT"}'), "header has no alg"),
    (_token(b'{"alg":"none"}'), "alg 'none'"),
    (_token(b'{"alg":"None"}', signature=""), "alg 'none'"),
    (_token(b'{"alg":"RS256"}', signature=""), "signature is empty"),
    (_token(b'{"alg":"RS256","alg":"none"}'), "repeats a parameter"),
    (_token(b'{"alg":"RS256","crit":["b64"]}'), "critical header"),
])
def test_malformed_jws(token, reason):
    with pytest.raises(MalformedJws) as caught:
        decode_jws(token)
    assert reason in caught.value.reason


def test_public_key_from_jwk(rsa_key, w3c_key):
    assert sign.public_key_from_jwk(public_jwk(rsa_key)) == rsa_key.public_key
    assert sign.public_key_from_jwk(public_jwk(w3c_key)) == w3c_key.public_key
    with pytest.raises(ValueError, match="private"):
        sign.public_key_from_jwk({**public_jwk(w3c_key), "d": "AAAA"})


# --- VC-JWT claims --------------------------------------------------------------------------

def test_vc_jwt_claims(signed):
    claims = vc_jwt_claims(signed)
    assert "proof" not in claims
    assert claims["iss"] == "did:web:badges.example.org:issuers:acme"
    assert claims["jti"] == signed["id"]
    assert claims["nbf"] == 1740819600  # 2025-03-01T09:00:00Z
    assert "sub" not in claims and "exp" not in claims  # subject has only an identifier
    assert claims["credentialSubject"] == signed["credentialSubject"]

    signed["credentialSubject"]["id"] = "did:example:learner"
    signed["validUntil"] = "2030-01-01T01:00:00+01:00"
    claims = vc_jwt_claims(signed)
    assert (claims["sub"], claims["exp"]) == ("did:example:learner", 1893456000)


def test_vc_jwt_claims_need_valid_from(signed):
    del signed["validFrom"]
    with pytest.raises(ValueError, match="validFrom"):
        vc_jwt_claims(signed)
    signed["validFrom"] = "2025-03-01T09:00:00"
    with pytest.raises(ValueError, match="time zone"):
        vc_jwt_claims(signed)
