"""Signing keys: key folder, rotation, bundle, permissions, leak scanner (generator/keys.py)."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from generator import keys
from generator.keys import (KeyringError, assert_outside, create_keyring, export_bundle,
                            find_private_key_material, load_keyring, mark_compromised,
                            multikey, public_jwk, public_pem, rotate_keyring)
from generator.multibase import base58btc_decode, base58btc_encode, multibase_decode

VECTORS = Path(__file__).parent / "fixtures" / "vectors"
TODAY = date(2025, 3, 1)
LATER = date(2026, 1, 15)


@pytest.fixture(scope="module")
def keyring_dir(tmp_path_factory) -> Path:
    """A key folder created once for the read-only tests of this module."""
    directory = tmp_path_factory.mktemp("site") / "keys"
    create_keyring(directory, TODAY)
    return directory


@pytest.fixture
def fresh_dir(tmp_path) -> Path:
    """A key folder of its own, for tests that change it."""
    directory = tmp_path / "keys"
    create_keyring(directory, TODAY)
    return directory


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- creating and loading ------------------------------------------------------------------

def test_create_writes_private_files_0600_in_a_0700_folder(keyring_dir):
    keyring = load_keyring(keyring_dir)
    assert mode(keyring_dir) == 0o700
    names = sorted(p.name for p in keyring_dir.iterdir())
    assert names == sorted(["keyring.json", "site-secret",
                            f"{keyring.active_ed25519.key_id}.pem",
                            f"{keyring.active_rsa.key_id}.pem"])
    for path in keyring_dir.iterdir():
        assert mode(path) == 0o600, path.name
    assert (keyring_dir / f"{keyring.active_rsa.key_id}.pem").read_bytes().startswith(
        b"-----BEGIN PRIVATE KEY-----")  # PKCS#8


def test_created_keys(keyring_dir):
    keyring = load_keyring(keyring_dir)
    ed, rsa_key = keyring.active_ed25519, keyring.active_rsa
    assert re.fullmatch(r"ed25519-[a-z2-7]{12}", ed.key_id)
    assert re.fullmatch(r"rsa-[a-z2-7]{12}", rsa_key.key_id)
    assert (ed.algorithm, ed.status, ed.created) == ("Ed25519", "active", TODAY)
    assert (rsa_key.algorithm, rsa_key.public_key.key_size) == ("RS256", 2048)
    assert len(keyring.site_secret) == 32
    assert keys.key_id_for(ed.public_key) == ed.key_id  # deterministic from the public key
    assert keyring.published == keyring.keys


def test_keyring_json_holds_no_secrets(keyring_dir):
    keyring = load_keyring(keyring_dir)
    meta = (keyring_dir / "keyring.json").read_bytes()
    assert find_private_key_material(meta, keyring) is None
    assert json.loads(meta)["format"] == "rugzak-keyring/1"


def test_load_returns_what_create_made(tmp_path):
    created = create_keyring(tmp_path / "k", TODAY)
    loaded = load_keyring(tmp_path / "k")
    assert loaded == created
    assert loaded.site_secret == created.site_secret
    message = b"same private key"
    assert (loaded.active_ed25519.private_key.sign(message)
            == created.active_ed25519.private_key.sign(message))


def test_create_refuses_to_overwrite(fresh_dir):
    with pytest.raises(KeyringError) as caught:
        create_keyring(fresh_dir, TODAY)
    assert "already exist" in caught.value.message
    assert "rugzak keys rotate" in caught.value.hint


def test_create_force_replaces_the_keys(fresh_dir):
    old = load_keyring(fresh_dir)
    new = create_keyring(fresh_dir, LATER, force=True)
    assert new.active_ed25519.key_id != old.active_ed25519.key_id
    assert not (fresh_dir / f"{old.active_ed25519.key_id}.pem").exists()
    assert load_keyring(fresh_dir) == new


def test_key_folder_from_env_and_default(keyring_dir, monkeypatch):
    expected = load_keyring(keyring_dir)
    assert load_keyring(env={"RUGZAK_KEYS_DIR": str(keyring_dir)}) == expected
    monkeypatch.chdir(keyring_dir.parent)
    assert load_keyring(env={}) == expected  # keys/ in the current directory


def test_missing_folder_says_how_to_create_keys(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(KeyringError) as caught:
        load_keyring(env={})
    assert caught.value.message == "no signing keys in keys/"
    assert "rugzak keys new" in caught.value.hint
    assert "create them with `rugzak keys new`" in str(caught.value)


def test_a_folder_in_place_of_a_key_file_is_named_as_such(fresh_dir):
    pem = fresh_dir / f"{load_keyring(fresh_dir).active_ed25519.key_id}.pem"
    pem.unlink()
    pem.mkdir()  # (a mode fix would not help: the message must not suggest one)
    with pytest.raises(KeyringError) as caught:
        load_keyring(fresh_dir)
    assert caught.value.message == f"{pem} is a folder, not a key file"
    assert "chmod" not in caught.value.hint and "backup" in caught.value.hint


def test_group_readable_private_key_is_refused(fresh_dir):
    pem = fresh_dir / f"{load_keyring(fresh_dir).active_ed25519.key_id}.pem"
    os.chmod(pem, 0o640)
    with pytest.raises(KeyringError) as caught:
        load_keyring(fresh_dir)
    assert "can be read by other users (mode 0640)" in caught.value.message
    assert caught.value.hint == f"chmod 600 {pem}"


def test_world_readable_site_secret_is_refused(fresh_dir):
    os.chmod(fresh_dir / "site-secret", 0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        load_keyring(fresh_dir)


def test_corrupt_pem_is_reported(fresh_dir):
    pem = fresh_dir / f"{load_keyring(fresh_dir).active_rsa.key_id}.pem"
    pem.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyringError) as caught:
        load_keyring(fresh_dir)
    assert "cannot read the private key" in caught.value.message
    assert "backup" in caught.value.hint


def test_swapped_private_key_is_reported(fresh_dir):
    keyring = load_keyring(fresh_dir)
    other = keys.new_key("Ed25519", TODAY)
    pem = fresh_dir / f"{keyring.active_ed25519.key_id}.pem"
    pem.write_bytes(keys.private_pem(other))
    with pytest.raises(KeyringError, match="does not match its public key"):
        load_keyring(fresh_dir)


def test_corrupt_keyring_json_is_reported(fresh_dir):
    (fresh_dir / "keyring.json").write_text("{not json", "utf-8")
    with pytest.raises(KeyringError, match="is not a Rugzak keyring"):
        load_keyring(fresh_dir)


# --- rotation and compromise -------------------------------------------------------------

def test_rotate_retires_old_keys_but_keeps_their_public_keys(fresh_dir):
    old = load_keyring(fresh_dir)
    rotated = rotate_keyring(fresh_dir, LATER)
    assert load_keyring(fresh_dir) == rotated
    assert rotated.site_secret == old.site_secret  # salts stay stable across rotation
    assert rotated.active_ed25519.created == LATER
    assert rotated.active_ed25519.key_id != old.active_ed25519.key_id
    retired = rotated.get(old.active_ed25519.key_id)
    assert retired.status == "retired" and retired.private_key is None
    assert retired.public_key == old.active_ed25519.public_key
    assert retired in rotated.published and len(rotated.published) == 4
    assert not (fresh_dir / f"{old.active_ed25519.key_id}.pem").exists()
    assert not (fresh_dir / f"{old.active_rsa.key_id}.pem").exists()


def test_mark_compromised(fresh_dir):
    keyring = load_keyring(fresh_dir)
    bad = keyring.active_rsa.key_id
    marked = mark_compromised(fresh_dir, bad)
    assert marked.get(bad).status == "compromised"
    assert bad not in {key.key_id for key in marked.published}
    assert not (fresh_dir / f"{bad}.pem").exists()
    with pytest.raises(KeyringError) as caught:
        load_keyring(fresh_dir).active_rsa
    assert "rugzak keys rotate" in caught.value.hint
    rotated = rotate_keyring(fresh_dir, LATER)
    assert rotated.active_rsa.key_id != bad
    assert rotated.get(bad).status == "compromised"


def test_mark_compromised_unknown_key(fresh_dir):
    with pytest.raises(KeyringError, match="no key 'rsa-nope'"):
        mark_compromised(fresh_dir, "rsa-nope")


# --- the CI bundle -------------------------------------------------------------------------

def test_bundle_round_trip_via_env(keyring_dir):
    keyring = load_keyring(keyring_dir)
    bundle = export_bundle(keyring)
    loaded = load_keyring(env={"RUGZAK_KEYS_BUNDLE": bundle,
                               "RUGZAK_KEYS_DIR": "/nonexistent"})
    assert loaded == keyring and loaded.site_secret == keyring.site_secret
    assert loaded.source == "RUGZAK_KEYS_BUNDLE"
    wrapped = "\n".join(bundle[i:i + 76] for i in range(0, len(bundle), 76))
    assert load_keyring(env={"RUGZAK_KEYS_BUNDLE": wrapped}) == keyring


def test_bundle_keeps_retired_public_keys(fresh_dir):
    rotated = rotate_keyring(fresh_dir, LATER)
    loaded = load_keyring(env={"RUGZAK_KEYS_BUNDLE": export_bundle(rotated)})
    assert loaded == rotated
    assert [k.status for k in loaded.keys] == ["retired", "retired", "active", "active"]


def test_bad_bundle_is_reported():
    with pytest.raises(KeyringError) as caught:
        load_keyring(env={"RUGZAK_KEYS_BUNDLE": "not-base64!"})
    assert "RUGZAK_KEYS_BUNDLE is not a Rugzak key bundle" in caught.value.message


# --- where keys may live -------------------------------------------------------------------

def test_key_folder_inside_output_or_content_is_refused(tmp_path):
    forbidden = [tmp_path / "content", tmp_path / "output"]
    assert_outside(tmp_path / "keys", forbidden)
    with pytest.raises(KeyringError, match="is inside"):
        assert_outside(tmp_path / "output" / "keys", forbidden)
    with pytest.raises(KeyringError):
        assert_outside(tmp_path / "content", forbidden)


# --- public key formats ----------------------------------------------------------------

def test_public_jwks(keyring_dir):
    keyring = load_keyring(keyring_dir)
    ed_jwk = public_jwk(keyring.active_ed25519)
    assert set(ed_jwk) == {"kty", "crv", "x", "kid", "alg"}
    assert (ed_jwk["kty"], ed_jwk["crv"], ed_jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    rsa_jwk = public_jwk(keyring.active_rsa)
    assert set(rsa_jwk) == {"kty", "n", "e", "kid", "alg"}
    assert (rsa_jwk["e"], rsa_jwk["alg"], rsa_jwk["kid"]) == ("AQAB", "RS256",
                                                             keyring.active_rsa.key_id)
    modulus = base64.urlsafe_b64decode(rsa_jwk["n"] + "==")
    assert int.from_bytes(modulus, "big") == keyring.active_rsa.public_key.public_numbers().n


def test_multikey_matches_the_w3c_test_key():
    pair = json.loads((VECTORS / "w3c-vc-di-eddsa" / "keyPair.json").read_text())
    secret = multibase_decode(pair["privateKeyMultibase"])
    assert secret[:2] == b"\x80\x26"
    public = ed25519.Ed25519PrivateKey.from_private_bytes(secret[2:]).public_key()
    assert multikey(public) == pair["publicKeyMultibase"]
    assert keys.public_key_from_multikey(pair["publicKeyMultibase"]) == public
    with pytest.raises(ValueError):
        keys.public_key_from_multikey(pair["privateKeyMultibase"])  # wrong multicodec


def test_base58btc_round_trip_and_leading_zeros():
    for data in (b"", b"\x00", b"\x00\x00\x01", bytes(range(256))):
        assert base58btc_decode(base58btc_encode(data)) == data
    assert base58btc_encode(b"\x00\x00\x01") == "112"
    with pytest.raises(ValueError):
        base58btc_decode("0OIl")


def test_public_pem(keyring_dir):
    pem = public_pem(load_keyring(keyring_dir).active_rsa)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n")


# --- the leak scanner -----------------------------------------------------------------------

def test_scanner_catches_private_material(keyring_dir):
    keyring = load_keyring(keyring_dir)
    ed, rsa_key = keyring.active_ed25519, keyring.active_rsa
    seed = ed.private_key.private_bytes_raw()
    pem = keys.private_pem(rsa_key)
    body = b"".join(pem.splitlines()[1:-1])
    d_member = base64.urlsafe_b64encode(
        rsa_key.private_key.private_numbers().d.to_bytes(256, "big")).rstrip(b"=")
    leaks = {
        "pem": b"<pre>" + keys.private_pem(ed) + b"</pre>",
        "pem body without header": b"key=" + body,
        "jwk with d": json.dumps({"kty": "OKP", "crv": "Ed25519", "x": "abc",
                                  "d": "secret"}).encode(),
        "jwk in html": b'<div data-key="{&quot;kty&quot;:&quot;RSA&quot;,&quot;d&quot;:1}">',
        "rsa d": b'{"n": "...", "d": "' + d_member + b'"}',
        "site secret hex": b"salt-key: " + keyring.site_secret.hex().encode(),
        "site secret base64": base64.b64encode(keyring.site_secret),
        "seed hex": seed.hex().upper().encode(),
        "seed raw": b"\x89PNG" + seed + b"IEND",
    }
    for name, data in leaks.items():
        assert find_private_key_material(data, keyring), name
    assert "site secret" in find_private_key_material(keyring.site_secret.hex().encode(),
                                                      keyring)
    # the generic checks work without a keyring
    assert find_private_key_material(leaks["pem"]) == "a PEM private key block"
    assert find_private_key_material(leaks["jwk with d"]) == "a JWK with private key members"


def test_scanner_ignores_public_material(keyring_dir):
    keyring = load_keyring(keyring_dir)
    ed, rsa_key = keyring.active_ed25519, keyring.active_rsa
    public = {
        "jwks": json.dumps({"keys": [public_jwk(k) for k in keyring.keys]}, indent=2),
        "did": (VECTORS / "generated-by-kit" / "did-web-issuer.did.json").read_text(),
        "multikey": json.dumps({"type": "Multikey", "publicKeyMultibase":
                                multikey(ed.public_key)}),
        "pem": public_pem(rsa_key),
        "credential": (VECTORS / "generated-by-kit" /
                       "ob3-credential-eddsa-rdfc-2022.json").read_text(),
        "page": "<html><body><p>Badge: {\"d\": 4}</p></body></html>",
    }
    for name, text in public.items():
        assert find_private_key_material(text.encode(), keyring) is None, name


def test_missing_private_key_file_is_reported(fresh_dir):
    pem = fresh_dir / f"{load_keyring(fresh_dir).active_rsa.key_id}.pem"
    pem.unlink()
    with pytest.raises(KeyringError, match="is missing"):
        load_keyring(fresh_dir)
    assert rotate_keyring(fresh_dir, LATER).active_rsa.private_key is not None  # recovery


def test_keyring_exists(tmp_path, keyring_dir):
    assert keys.keyring_exists(keyring_dir)
    assert not keys.keyring_exists(tmp_path / "nothing")


def test_bundle_of_another_format_is_refused():
    other = base64.b64encode(json.dumps({"format": "something-else"}).encode()).decode()
    with pytest.raises(KeyringError, match="is not a Rugzak key bundle"):
        load_keyring(env={"RUGZAK_KEYS_BUNDLE": other})


def test_a_key_folder_that_is_a_file_is_named_as_such(tmp_path: Path) -> None:
    from datetime import date

    from generator.keys import KeyringError, create_keyring, load_keyring
    path = tmp_path / "kfile"
    path.write_text("not a folder")
    for attempt in (lambda: load_keyring(path), lambda: create_keyring(path, date(2026, 1, 1))):
        with pytest.raises(KeyringError, match="is a file, not a folder"):
            attempt()


def test_a_damaged_key_file_is_named(tmp_path: Path) -> None:
    from datetime import date

    from generator.keys import KeyringError, create_keyring, load_keyring
    create_keyring(tmp_path / "k", date(2026, 1, 1))
    pem = sorted((tmp_path / "k").glob("ed25519-*.pem"))[0]
    pem.write_bytes(b"\x8f garbage")
    with pytest.raises(KeyringError, match=f"cannot read the private key in .*{pem.name}"):
        load_keyring(tmp_path / "k")
