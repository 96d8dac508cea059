"""The sign stage inside a build: keys in the DID document, caching, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import NOW, ROOT, copy_test_keys, make_site
from generator import ob3
from generator.build import build
from generator.cache import DiskCache
from generator.did import did_document_path, site_did
from generator.errors import ContentError
from generator.keys import load_keyring, mark_compromised, rotate_keyring


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_did_web_forms() -> None:
    assert site_did("https://badges.example.org/") == "did:web:badges.example.org"
    assert site_did("http://127.0.0.1:8765/") == "did:web:127.0.0.1%3A8765"
    assert site_did("https://u.github.io/badges/") == "did:web:u.github.io:badges"
    assert did_document_path("https://badges.example.org/") == ".well-known/did.json"
    assert did_document_path("https://u.github.io/badges/") == "did.json"


def test_credential_shape(tmp_path: Path, keyring) -> None:
    out = tmp_path / "out"
    build(make_site(tmp_path), out, None, keyring, NOW)
    credential = json.loads((out / "a/wp-0001/credential.json").read_text())
    assert credential["@context"][:2] == ["https://www.w3.org/ns/credentials/v2",
                                          "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert credential["issuer"]["id"] == "did:web:badges.example.org"
    assert credential["issuer"]["type"] == ["Profile"]
    assert credential["validFrom"] == "2025-03-01T00:00:00Z"
    assert isinstance(credential["proof"], list) and len(credential["proof"]) == 1
    proof = credential["proof"][0]
    assert (proof["type"], proof["cryptosuite"], proof["created"]) == (
        "DataIntegrityProof", "eddsa-rdfc-2022", "2025-03-01T00:00:00Z")
    identifier = credential["credentialSubject"]["identifier"][0]
    assert identifier["type"] == "IdentityObject" and identifier["hashed"] is True
    assert credential["credentialSubject"]["achievement"]["image"]["type"] == "Image"
    did = json.loads((out / ".well-known/did.json").read_text())
    assert proof["verificationMethod"] in did["assertionMethod"]
    assert {m["type"] for m in did["verificationMethod"]} == {"Multikey", "JsonWebKey"}
    issuer = json.loads((out / "issuers/acme.json").read_text())
    key_doc = json.loads((out / issuer["publicKey"][0].split("org/", 1)[1]).read_text())
    assert key_doc["owner"] == issuer["id"] and "BEGIN PUBLIC KEY" in key_doc["publicKeyPem"]


def test_warm_build_with_cache_equals_cold_build(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path)
    cache = DiskCache(tmp_path / "cache")
    build(content, tmp_path / "cold", None, keyring, NOW)
    build(content, tmp_path / "first", None, keyring, NOW, cache)
    assert any((tmp_path / "cache").rglob("*"))
    build(content, tmp_path / "warm", None, keyring, NOW, cache)
    assert tree(tmp_path / "cold") == tree(tmp_path / "first") == tree(tmp_path / "warm")


def test_rotation_keeps_old_keys_and_compromise_removes_them(tmp_path: Path) -> None:
    keys = copy_test_keys(tmp_path / "keys")
    old = load_keyring(keys)
    rotate_keyring(keys, NOW.date())
    content = make_site(tmp_path)
    build(content, tmp_path / "out", None, load_keyring(keys), NOW)
    did = (tmp_path / "out/.well-known/did.json").read_text()
    assert old.active_ed25519.key_id in did and old.active_rsa.key_id in did
    mark_compromised(keys, old.active_ed25519.key_id)
    build(content, tmp_path / "out", None, load_keyring(keys), NOW)
    assert old.active_ed25519.key_id not in (tmp_path / "out/.well-known/did.json").read_text()
    signed = (tmp_path / "out/a/wp-0001/credential.json").read_text()
    assert old.active_ed25519.key_id not in signed


def test_private_key_in_theme_output_is_refused(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path, {"site.yaml": "title: T\nbase_url: https://b.example.org/\n"
                                                "issuer: acme\ntheme: leaky\n"})
    static = tmp_path / "themes" / "leaky" / "static"
    static.mkdir(parents=True)
    (tmp_path / "themes" / "leaky" / "templates").mkdir()
    pem = next((ROOT / "tests/fixtures/keys").glob("ed25519-*.pem")).read_text()
    (static / "oops.txt").write_text(pem)
    with pytest.raises(ContentError) as caught:
        build(content, tmp_path / "out", None, keyring, NOW)
    assert "assets/oops.txt" in str(caught.value)
    assert "private key material would be published" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_undefined_term_is_a_build_error(tmp_path: Path, keyring,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    original = ob3.credential

    def with_extra(*args, **kwargs):
        doc = original(*args, **kwargs)
        doc["credentialSubject"]["shoeSize"] = 44
        return doc

    monkeypatch.setattr(ob3, "credential", with_extra)
    with pytest.raises(ContentError) as caught:
        build(make_site(tmp_path), tmp_path / "out", None, keyring, NOW)
    assert "shoeSize" in str(caught.value)
    assert not (tmp_path / "out").exists()
