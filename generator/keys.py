"""Signing keys: the key folder, the CI bundle, and public key formats.

Where the keys come from (first match wins):

1. an explicit folder argument;
2. `RUGZAK_KEYS_BUNDLE` — base64 of a JSON bundle (see `export_bundle`), for CI secrets;
3. `RUGZAK_KEYS_DIR`;
4. `keys/` in the current directory.

The key folder (never inside content/ or output/, never in Git)::

    keys/                   0700
      keyring.json          0600  {"format": "rugzak-keyring/1", "keys": [{"id", "algorithm",
                                  "status", "created", "file", "public_key"}, ...]}
      ed25519-<hash>.pem    0600  PKCS#8 private key of an active key
      rsa-<hash>.pem        0600
      site-secret           0600  32 random bytes as hex (HMAC key for per-award salts)

`algorithm` is "Ed25519" (Data Integrity eddsa-rdfc-2022, VC-JWT EdDSA) or "RS256" (OB 2.0
JWS and VC-JWT). `status` is active, retired or compromised. Every key keeps its public key
(SPKI PEM) in keyring.json so credentials signed before a rotation still verify; only active
keys keep a private key file — rotation and compromise delete it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import stat
import tempfile
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping, Union

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from .multibase import (ED25519_PRIV_MULTICODEC, ed25519_multikey, ed25519_raw_from_multikey,
                        multibase_encode)

PublicKey = Union[ed25519.Ed25519PublicKey, rsa.RSAPublicKey]
PrivateKey = Union[ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey]

ED25519, RS256 = "Ed25519", "RS256"
ACTIVE, RETIRED, COMPROMISED = "active", "retired", "compromised"
KEYRING_FILE, SECRET_FILE = "keyring.json", "site-secret"
KEYRING_FORMAT, BUNDLE_FORMAT = "rugzak-keyring/1", "rugzak-keys-bundle/1"
DEFAULT_DIR, ENV_DIR, ENV_BUNDLE = "keys", "RUGZAK_KEYS_DIR", "RUGZAK_KEYS_BUNDLE"
RSA_BITS = 2048  # digest A.10: "RSA key (2048-bit or larger is the usual choice)"


class KeyringError(Exception):
    """A problem with the signing keys, with a hint saying what to do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message, self.hint = message, hint
        super().__init__(f"{message}\n  hint: {hint}" if hint else message)


@dataclass(frozen=True)
class SigningKey:
    """One key pair; `private_key` is None for retired and compromised keys."""

    key_id: str
    algorithm: str
    status: str
    created: date
    public_key: PublicKey = field(repr=False)
    private_key: PrivateKey | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Keyring:
    """All keys of a site plus the site secret."""

    keys: tuple[SigningKey, ...]
    site_secret: bytes = field(repr=False)
    source: str = field(default="", compare=False)

    def _active(self, algorithm: str) -> SigningKey:
        for key in reversed(self.keys):  # the newest active key wins
            if key.algorithm == algorithm and key.status == ACTIVE \
                    and key.private_key is not None:
                return key
        raise KeyringError(f"no active {algorithm} signing key in {self.source or 'keyring'}",
                           "create a new one with `rugzak keys rotate`")

    @property
    def active_ed25519(self) -> SigningKey:
        """The Ed25519 key that signs Data Integrity proofs."""
        return self._active(ED25519)

    @property
    def active_rsa(self) -> SigningKey:
        """The RSA key that signs RS256 JWS (OB 2.0, VC-JWT)."""
        return self._active(RS256)

    @property
    def published(self) -> tuple[SigningKey, ...]:
        """Keys to publish (DID document, JWKS): active and retired, never compromised."""
        return tuple(key for key in self.keys if key.status != COMPROMISED)

    def get(self, key_id: str) -> SigningKey:
        """The key with this id; KeyringError if there is none."""
        for key in self.keys:
            if key.key_id == key_id:
                return key
        raise KeyringError(f"no key {key_id!r} in {self.source or 'keyring'}",
                           "known keys: " + ", ".join(k.key_id for k in self.keys))

    @cached_property
    def _needles(self) -> tuple[tuple[bytes, str], ...]:
        # computed once per keyring: find_private_key_material runs on every output file
        return _private_needles(self)


# --- public key formats -------------------------------------------------------------------

def _spki_der(public_key: PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id_for(public_key: PublicKey) -> str:
    """Short, URL-fragment-safe id: `ed25519-`/`rsa-` + 12 chars of base32(SHA-256(SPKI))."""
    prefix = "ed25519" if isinstance(public_key, ed25519.Ed25519PublicKey) else "rsa"
    digest = base64.b32encode(hashlib.sha256(_spki_der(public_key)).digest())
    return f"{prefix}-{digest[:12].decode().lower()}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(number: int) -> bytes:
    return number.to_bytes((number.bit_length() + 7) // 8 or 1, "big")


def public_jwk(key: SigningKey) -> dict[str, str]:
    """The public JWK of a key (RFC 7517/7518/8037), with `kid` and `alg`; never private parts."""
    if isinstance(key.public_key, rsa.RSAPublicKey):
        numbers = key.public_key.public_numbers()
        return {"kty": "RSA", "n": _b64url(_int_bytes(numbers.n)),
                "e": _b64url(_int_bytes(numbers.e)), "kid": key.key_id, "alg": "RS256"}
    raw = key.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw), "kid": key.key_id,
            "alg": "EdDSA"}


def multikey(public_key: ed25519.Ed25519PublicKey) -> str:
    """`publicKeyMultibase` of an Ed25519 key: `z6Mk...` (digest C.7.4)."""
    return ed25519_multikey(public_key.public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw))


def public_key_from_multikey(value: str) -> ed25519.Ed25519PublicKey:
    """The Ed25519 public key of a `z6Mk...` Multikey (ValueError for anything else)."""
    return ed25519.Ed25519PublicKey.from_public_bytes(ed25519_raw_from_multikey(value))


def public_pem(key: SigningKey) -> str:
    """SPKI PEM of the public key (`-----BEGIN PUBLIC KEY-----`), as OB 2.0 publicKeyPem."""
    return key.public_key.public_bytes(serialization.Encoding.PEM,
                                       serialization.PublicFormat.SubjectPublicKeyInfo
                                       ).decode("ascii")


def private_pem(key: SigningKey) -> bytes:
    """Unencrypted PKCS#8 PEM of the private key (only for writing key files/bundles)."""
    if key.private_key is None:
        raise KeyringError(f"key {key.key_id} has no private key ({key.status})")
    return key.private_key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())


# --- creating keys ------------------------------------------------------------------------

def new_key(algorithm: str, today: date) -> SigningKey:
    """Generate a fresh active key of `algorithm` ("Ed25519" or "RS256")."""
    if algorithm == ED25519:
        private: PrivateKey = ed25519.Ed25519PrivateKey.generate()
    elif algorithm == RS256:
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    else:
        raise ValueError(f"unknown key algorithm {algorithm!r}")
    public = private.public_key()
    return SigningKey(key_id_for(public), algorithm, ACTIVE, today, public, private)


def new_keyring(today: date) -> Keyring:
    """A new in-memory keyring: active Ed25519 and RSA keys and a random site secret."""
    return Keyring((new_key(ED25519, today), new_key(RS256, today)), secrets.token_bytes(32))


# --- scanning output for private material ------------------------------------------------

# Matches "-----BEGIN PRIVATE KEY-----", "... RSA/EC/ENCRYPTED/OPENSSH PRIVATE KEY-----".
_PEM_PRIVATE = b"PRIVATE KEY-----"
_JWK_OBJECT = re.compile(rb'\{[^{}]*"kty"[^{}]*\}')  # JWKs are flat JSON objects
# RFC 7518 §6.2.2, §6.3.2, §6.4.1 and RFC 8037 §2: the private members of EC, RSA, oct and
# OKP keys ("d" for EC/OKP/RSA, CRT parameters for RSA, "k" for symmetric keys).
_JWK_PRIVATE_MEMBER = re.compile(rb'"(?:d|p|q|dp|dq|qi|k)"\s*:')


def _encodings(material: bytes, what: str) -> dict[bytes, str]:
    head = material[:32]
    aligned = material[:30]  # base64 of a 3-byte-aligned prefix is a prefix of the whole
    return {head: f"{what} (raw bytes)", head.hex().encode(): f"{what} (hex)",
            head.hex().upper().encode(): f"{what} (hex)",
            base64.b64encode(aligned): f"{what} (base64)",
            base64.urlsafe_b64encode(aligned): f"{what} (base64url)"}


def _private_needles(keyring: Keyring) -> tuple[tuple[bytes, str], ...]:
    needles = _encodings(keyring.site_secret, "the site secret")
    for key in keyring.keys:
        if key.private_key is None:
            continue
        what = f"private key {key.key_id}"
        der = key.private_key.private_bytes(serialization.Encoding.DER,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
        # the last full 64-character line of the PEM body: finds a PEM without its header
        start = (len(der) // 48 - 1) * 48
        needles[base64.b64encode(der[start:start + 48])] = f"{what} (PKCS#8 base64)"
        if isinstance(key.private_key, rsa.RSAPrivateKey):
            d = key.private_key.private_numbers().d  # minimal and modulus-length encodings
            needles.update(_encodings(_int_bytes(d), what))
            needles.update(_encodings(d.to_bytes((key.private_key.key_size + 7) // 8, "big"),
                                      what))
        else:
            seed = key.private_key.private_bytes(serialization.Encoding.Raw,
                                                 serialization.PrivateFormat.Raw,
                                                 serialization.NoEncryption())
            needles.update(_encodings(seed, what))
            needles[multibase_encode(ED25519_PRIV_MULTICODEC + seed).encode()] = \
                f"{what} (multibase)"
    return tuple(needles.items())


def _has_private_jwk(data: bytes) -> bool:
    # also catch JWKs embedded in HTML attributes or JavaScript strings
    text = data.replace(b'\\"', b'"').replace(b"&quot;", b'"').replace(b"&#34;", b'"')
    return any(_JWK_PRIVATE_MEMBER.search(match.group())
               for match in _JWK_OBJECT.finditer(text))


def find_private_key_material(data: bytes, keyring: Keyring | None = None) -> str | None:
    """What private material `data` contains (a short description), or None.

    Run over every file before publishing: PEM private keys, JWKs with private members, and
    the raw/hex/base64 forms of the keyring's private keys and site secret. Plain substring
    searches (the needles are computed once per keyring), so it is fast on large files.
    """
    if _PEM_PRIVATE in data:
        return "a PEM private key block"
    if b"kty" in data and _has_private_jwk(data):
        return "a JWK with private key members"
    for needle, what in keyring._needles if keyring else ():
        if needle in data:
            return what
    return None


# --- the key folder and the bundle -------------------------------------------------------

def keys_dir(directory: str | os.PathLike[str] | None = None,
             env: Mapping[str, str] = os.environ) -> Path:
    """The key folder: the argument, else `RUGZAK_KEYS_DIR`, else `keys/`."""
    return Path(directory if directory is not None else env.get(ENV_DIR) or DEFAULT_DIR)


def _shown(directory: Path) -> str:
    return f"{directory}/" if str(directory) != "/" else "/"


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder + os.replace; created with mode 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_private_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyringError(f"{path} is missing",
                           "restore it from your backup, or replace the keys with "
                           "`rugzak keys rotate`") from None
    if not stat.S_ISREG(mode):  # a folder or pipe by that name: no mode would make it a key
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise KeyringError(f"{path} is {kind}, not a key file",
                           "put the key file back in its place from your backup, or replace "
                           "the keys with `rugzak keys rotate`")
    if os.name != "nt" and mode & 0o077:
        raise KeyringError(f"{path} can be read by other users (mode "
                           f"{stat.S_IMODE(mode):04o}); refusing to use it",
                           f"chmod 600 {path}")
    return path.read_bytes()


def _entry(key: SigningKey) -> dict[str, object]:
    return {"id": key.key_id, "algorithm": key.algorithm, "status": key.status,
            "created": key.created.isoformat(),
            "file": f"{key.key_id}.pem" if key.private_key is not None else None,
            "public_key": public_pem(key)}


def _load_pem(data: bytes, where: str, private: bool) -> Any:  # checked by the caller
    try:
        if private:
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise KeyringError(f"cannot read the {'private' if private else 'public'} key in "
                           f"{where}: {error}",
                           "restore the file from your backup; keys cannot be recovered "
                           "from anywhere else") from None


def _parse_key(entry: dict, private_pem_bytes: bytes | None, where: str,
               private_where: str | None = None) -> SigningKey:
    try:
        key_id, algorithm, status = entry["id"], entry["algorithm"], entry["status"]
        created = date.fromisoformat(entry["created"])
        public = _load_pem(entry["public_key"].encode(), where, private=False)
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise KeyringError(f"{where}: malformed key entry ({error!r})",
                           "restore keyring.json from your backup") from None
    kind = ed25519.Ed25519PublicKey if algorithm == ED25519 else rsa.RSAPublicKey
    if algorithm not in (ED25519, RS256) or status not in (ACTIVE, RETIRED, COMPROMISED) \
            or not isinstance(public, kind) or key_id_for(public) != key_id:
        raise KeyringError(f"{where}: key entry {key_id!r} is inconsistent (algorithm, "
                           "status or id does not match its public key)",
                           "restore keyring.json from your backup")
    private = None
    if private_pem_bytes is not None:
        private = _load_pem(private_pem_bytes, private_where or f"{where} ({key_id})",
                            private=True)
        if not isinstance(private, (ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey)) \
                or _spki_der(private.public_key()) != _spki_der(public):
            raise KeyringError(f"the private key of {key_id} does not match its public key",
                               "restore the matching .pem file from your backup")
    return SigningKey(key_id, algorithm, status, created, public, private)


def _read_json(data: bytes) -> object:
    try:
        return json.loads(data)
    except ValueError:  # also UnicodeDecodeError
        return None


def _field(document: object, expected_format: str, name: str, kind: type) -> Any:
    """`document[name]` if `document` is a `expected_format` object and the value a `kind`."""
    if not isinstance(document, dict) or document.get("format") != expected_format:
        return None
    value = document.get(name)
    return value if isinstance(value, kind) else None


def _parse_secret(text: str, where: str) -> bytes:
    try:
        secret = bytes.fromhex(text.strip())
    except ValueError:
        secret = b""
    if len(secret) != 32:
        raise KeyringError(f"{where} does not hold a 64-character hex site secret",
                           "restore it from your backup (per-award salts depend on it)")
    return secret


def _read_folder(directory: Path, require_private: bool = True) -> Keyring:
    meta_path = directory / KEYRING_FILE
    if directory.exists() and not directory.is_dir():
        raise KeyringError(f"the key folder {_shown(directory)} is a file, not a folder",
                           "point RUGZAK_KEYS_DIR at a folder (`rugzak keys new` creates it)")
    if not meta_path.is_file():
        raise KeyringError(f"no signing keys in {_shown(directory)}",
                           "create them with `rugzak keys new` (or set RUGZAK_KEYS_DIR / "
                           "RUGZAK_KEYS_BUNDLE)")
    entries = _field(_read_json(meta_path.read_bytes()), KEYRING_FORMAT, "keys", list)
    if entries is None:
        raise KeyringError(f"{meta_path} is not a Rugzak keyring ({KEYRING_FORMAT})",
                           "restore it from your backup")
    keys = []
    for entry in entries:
        name = entry.get("file") if isinstance(entry, dict) else None
        if name is not None and (not isinstance(name, str) or Path(name).name != name):
            raise KeyringError(f"{meta_path}: bad key file name {name!r}",
                               "key files must be plain names inside the key folder")
        pem = None
        if name and (require_private or (directory / name).exists()):
            pem = _read_private_file(directory / name)
        keys.append(_parse_key(entry, pem, str(meta_path),
                               str(directory / name) if name else None))
    secret_text = _read_private_file(directory / SECRET_FILE).decode("ascii", "replace")
    return Keyring(tuple(keys), _parse_secret(secret_text, str(directory / SECRET_FILE)),
                   _shown(directory))


def _write_folder(directory: Path, keyring: Keyring) -> Keyring:
    """Write key files, then the site secret, then keyring.json (the commit point)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    for key in keyring.keys:
        if key.private_key is not None:
            _write_atomic(directory / f"{key.key_id}.pem", private_pem(key))
    _write_atomic(directory / SECRET_FILE, keyring.site_secret.hex().encode() + b"\n")
    meta = {"format": KEYRING_FORMAT, "keys": [_entry(key) for key in keyring.keys]}
    _write_atomic(directory / KEYRING_FILE, json.dumps(meta, indent=2).encode() + b"\n")
    for key in keyring.keys:  # retired/compromised keys: the private key goes
        if key.private_key is None:
            (directory / f"{key.key_id}.pem").unlink(missing_ok=True)
    return replace(keyring, source=_shown(directory))


def keyring_exists(directory: str | os.PathLike[str]) -> bool:
    """Whether `directory` already holds a keyring (for `rugzak keys new --if-missing`)."""
    return any((Path(directory) / name).exists() for name in (KEYRING_FILE, SECRET_FILE))


def create_keyring(directory: str | os.PathLike[str], today: date, *,
                   force: bool = False) -> Keyring:
    """Create Ed25519 + RSA-2048 active keys and a site secret in a new key folder.

    Refuses when the folder already holds keys, unless `force` (which discards them).
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise KeyringError(f"the key folder {_shown(directory)} is a file, not a folder",
                           "point RUGZAK_KEYS_DIR at a new folder")
    if not force and keyring_exists(directory):
        raise KeyringError(f"signing keys already exist in {_shown(directory)}",
                           "use `rugzak keys rotate` to replace them; existing keys are "
                           "never overwritten")
    if force and (directory / KEYRING_FILE).exists():
        for old in _read_folder(directory, require_private=False).keys:
            (directory / f"{old.key_id}.pem").unlink(missing_ok=True)
    return _write_folder(directory, new_keyring(today))


def load_keyring(directory: str | os.PathLike[str] | None = None,
                 env: Mapping[str, str] = os.environ) -> Keyring:
    """Load the keys: `directory`, else `RUGZAK_KEYS_BUNDLE`, else `RUGZAK_KEYS_DIR`/keys/."""
    if directory is None and env.get(ENV_BUNDLE):
        return keyring_from_bundle(env[ENV_BUNDLE])
    return _read_folder(keys_dir(directory, env))


def rotate_keyring(directory: str | os.PathLike[str], today: date) -> Keyring:
    """New active Ed25519 and RSA keys; the old active keys are retired (public key kept)."""
    keyring = _read_folder(Path(directory), require_private=False)
    old = tuple(replace(key, status=RETIRED, private_key=None) if key.status == ACTIVE
                else key for key in keyring.keys)
    fresh = (new_key(ED25519, today), new_key(RS256, today))
    return _write_folder(Path(directory), replace(keyring, keys=old + fresh))


def mark_compromised(directory: str | os.PathLike[str], key_id: str) -> Keyring:
    """Mark a key compromised: it is no longer published and its private key is deleted.

    If it was the active key, `rugzak keys rotate` must create a replacement.
    """
    keyring = _read_folder(Path(directory), require_private=False)
    keyring.get(key_id)  # raises with the list of known ids
    keys = tuple(replace(key, status=COMPROMISED, private_key=None)
                 if key.key_id == key_id else key for key in keyring.keys)
    return _write_folder(Path(directory), replace(keyring, keys=keys))


def export_bundle(keyring: Keyring) -> str:
    """The keyring as one base64 string for the `RUGZAK_KEYS_BUNDLE` CI secret."""
    bundle = {"format": BUNDLE_FORMAT, "keys": [_entry(key) for key in keyring.keys],
              "private_keys": {key.key_id: private_pem(key).decode("ascii")
                               for key in keyring.keys if key.private_key is not None},
              "site_secret": keyring.site_secret.hex()}
    return base64.b64encode(json.dumps(bundle, separators=(",", ":")).encode()).decode()


def keyring_from_bundle(text: str, source: str = ENV_BUNDLE) -> Keyring:
    """Parse a bundle made by `export_bundle` (whitespace and line breaks are ignored)."""
    try:
        bundle = _read_json(base64.b64decode("".join(text.split()), validate=True))
    except ValueError:
        bundle = None
    entries = _field(bundle, BUNDLE_FORMAT, "keys", list)
    pems = _field(bundle, BUNDLE_FORMAT, "private_keys", dict)
    secret = _field(bundle, BUNDLE_FORMAT, "site_secret", str)
    if entries is None or pems is None or secret is None \
            or not all(isinstance(pem, str) for pem in pems.values()):
        raise KeyringError(f"{source} is not a Rugzak key bundle (base64 of "
                           f"{BUNDLE_FORMAT} JSON)",
                           "export it again with `rugzak keys export`")
    keys = tuple(_parse_key(entry, pems[entry["id"]].encode()
                            if isinstance(entry, dict) and entry.get("id") in pems else None,
                            source)
                 for entry in entries)
    return Keyring(keys, _parse_secret(secret, source), source)


def assert_outside(keyring_dir: str | os.PathLike[str],
                   forbidden: list[Path]) -> None:
    """Refuse a key folder inside a folder that gets published or committed (content/, output/)."""
    resolved = Path(keyring_dir).resolve()
    for folder in forbidden:
        if resolved.is_relative_to(Path(folder).resolve()):
            raise KeyringError(f"the key folder {_shown(Path(keyring_dir))} is inside "
                               f"{_shown(Path(folder))}, so private keys could be published "
                               "or committed",
                               "move it elsewhere and point RUGZAK_KEYS_DIR at it")
