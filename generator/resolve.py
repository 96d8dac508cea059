"""Fetching what a verifier needs: documents by URL, DID documents, verification keys.

Offline against a local site folder (`--site DIR`: any http(s) URL is looked up by its path
inside DIR, below the site's own base path), or online with a small, bounded HTTP client.
DID methods: did:web (digest §D.1) and did:key for Ed25519 (§D.3).
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from generator.keys import public_key_from_multikey
from generator.sign import public_key_from_jwk

MAX_DOCUMENT_BYTES = 5_000_000
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey


class ResolveError(Exception):
    """A document or key that could not be obtained, with the reason."""


@dataclass
class Resolver:
    """Gets documents from a local site folder or over HTTP(S); caches per run."""

    site: Path | None = None
    allow_network: bool = True
    _cache: dict[str, bytes] = field(default_factory=dict)

    def base_path(self) -> str:
        """The site's URL path prefix, learned from its own DID document (`/` when at root)."""
        if self.site is None:
            return "/"
        for candidate in (self.site / "did.json", self.site / ".well-known" / "did.json"):
            try:
                did = json.loads(candidate.read_text("utf-8")).get("id", "")
            except (OSError, ValueError, AttributeError, RecursionError):
                continue
            if not isinstance(did, str):
                continue
            segments = did.split(":")[3:] if did.startswith("did:web:") else []
            return "/" + "".join(unquote(s) + "/" for s in segments)
        return "/"

    def _local_path(self, url: str) -> Path:
        assert self.site is not None
        path = unquote(urlsplit(url).path)
        base = self.base_path()
        relative = path[len(base):] if path.startswith(base) else path.lstrip("/")
        pure = PurePosixPath(relative)
        if ".." in pure.parts:
            raise ResolveError(f"refusing a path outside the site folder: {url}")
        target = self.site.joinpath(*pure.parts) if pure.parts else self.site
        if target.is_dir():
            target = target / "index.json" if (target / "index.json").is_file() \
                else target / "index.html"
        return target

    def fetch(self, url: str) -> bytes:
        """The bytes at an http(s) URL (from the site folder when one is given)."""
        if url in self._cache:
            return self._cache[url]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ResolveError(f"cannot fetch {url!r}: only http(s) URLs are fetched")
        if self.site is not None:
            target = self._local_path(url)
            try:
                data = target.read_bytes()
            except OSError:
                raise ResolveError(f"offline: {url} is not in the site folder "
                                   f"(looked for {target})") from None
        elif not self.allow_network:
            raise ResolveError(f"offline: no local copy of {url}")
        else:
            data = self._download(url)
        self._cache[url] = data
        return data

    def _download(self, url: str) -> bytes:
        request = urllib.request.Request(url, headers={
            "Accept": "application/ld+json, application/json;q=0.9, */*;q=0.1",
            "User-Agent": "rugzak-verify"})
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
                data = response.read(MAX_DOCUMENT_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            # (InvalidURL, a space in the host say, is an HTTPException, not a ValueError)
            raise ResolveError(f"cannot fetch {url}: {getattr(exc, 'reason', exc)}") from None
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ResolveError(f"{url} is larger than {MAX_DOCUMENT_BYTES:,} bytes")
        return data

    def json(self, url: str) -> Any:
        """A JSON document by URL."""
        try:
            return json.loads(self.fetch(url).decode("utf-8"))
        except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, too long, too deep
            raise ResolveError(f"{url} is not JSON: {str(exc)[:200]}") from None

    def did_document(self, did: str) -> dict[str, Any]:
        """Resolve a did:web or did:key DID to its DID document."""
        if did.startswith("did:key:"):
            return did_key_document(did)
        if not did.startswith("did:web:"):
            raise ResolveError(f"unsupported DID method in {did!r} (did:web and did:key are)")
        document = self.json(did_web_url(did))
        if not isinstance(document, dict) or document.get("id") != did:
            raise ResolveError(f"the DID document of {did} does not have that id "
                               "(did:web: 'The document's id MUST equal the DID')")
        return document


def did_web_url(did: str) -> str:
    """did:web → https URL of its document (§D.1); loopback hosts use http (local testing)."""
    segments = did[len("did:web:"):].split("#")[0].split("?")[0].split(":")
    host = unquote(segments[0])
    path = "/".join(unquote(s) for s in segments[1:])
    scheme = "http" if urlsplit(f"//{host}").hostname in LOOPBACK_HOSTS else "https"
    return f"{scheme}://{host}/{path + '/' if path else '.well-known/'}did.json"


def did_key_document(did: str) -> dict[str, Any]:
    """The implied DID document of an Ed25519 did:key (its only key is the DID itself)."""
    fingerprint = did[len("did:key:"):].split("#")[0]
    try:
        public_key_from_multikey(fingerprint)
    except ValueError as exc:
        raise ResolveError(f"{did} is not an Ed25519 did:key: {exc}") from None
    method_id = f"did:key:{fingerprint}#{fingerprint}"
    return {"id": f"did:key:{fingerprint}",
            "verificationMethod": [{"id": method_id, "type": "Multikey",
                                    "controller": f"did:key:{fingerprint}",
                                    "publicKeyMultibase": fingerprint}],
            "assertionMethod": [method_id]}


@dataclass(frozen=True)
class VerificationKey:
    """A public key found for a verification method, and who controls it."""

    method_id: str
    controller: str
    public_key: PublicKey
    description: str


def key_from_method(method: dict[str, Any]) -> PublicKey:
    """The public key in a verification method (Multikey or JsonWebKey)."""
    if "publicKeyMultibase" in method:
        return public_key_from_multikey(str(method["publicKeyMultibase"]))
    if isinstance(method.get("publicKeyJwk"), dict):
        return public_key_from_jwk(method["publicKeyJwk"])
    raise ResolveError(f"verification method {method.get('id')!r} has neither "
                       "publicKeyMultibase nor publicKeyJwk")


def _controller_document(resolver: Resolver, method_id: str) -> dict[str, Any]:
    base = method_id.split("#")[0]
    if method_id.startswith("did:"):
        return resolver.did_document(base)
    if method_id.startswith(("https://", "http://")):
        document = resolver.json(base)
        if isinstance(document, dict):
            return document
        raise ResolveError(f"{base} is not a JSON object")
    raise ResolveError(f"cannot dereference verification method {method_id!r} (not a DID URL "
                       "or http(s) URL)")


def _listed(value: Any) -> list[Any]:
    """A DID document property that may hold one value or a list of them (DID Core §5.1)."""
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def resolve_method(resolver: Resolver, method_id: str) -> VerificationKey:
    """Dereference a verification method to its key, requiring it be an assertion method.

    Follows W3C CID "Retrieve Verification Method": fetch the controller document (a DID
    document, or a controller document at an https URL), find the method by its full id, and
    require it under `assertionMethod`. A stand-alone key document at the method URL (with its
    own `controller`) is accepted too (digest §C.7.4 form 4).
    """
    if method_id.startswith("did:key:") and "#" not in method_id:
        method_id = f"{method_id}#{method_id[len('did:key:'):]}"
    document = _controller_document(resolver, method_id)
    base = method_id.split("#")[0]
    if document.get("id") == method_id and "verificationMethod" not in document:
        return VerificationKey(method_id, str(document.get("controller", "")),
                               key_from_method(document), f"key document {base}")
    methods = [m for m in _listed(document.get("verificationMethod")) if isinstance(m, dict)]
    method = next((m for m in methods if m.get("id") == method_id), None)
    if method is None:
        raise ResolveError(f"{method_id} is not in the controller document {base} (an unknown "
                           "or withdrawn key)")
    listed = {a if isinstance(a, str) else a.get("id") if isinstance(a, dict) else None
              for a in _listed(document.get("assertionMethod"))}
    if method_id not in listed:
        raise ResolveError(f"{method_id} is not listed under assertionMethod in {base}")
    return VerificationKey(method_id, str(method.get("controller", "")),
                           key_from_method(method), f"{method.get('type', 'key')} in {base}")


def load_pem_public_key(pem: str) -> PublicKey:
    """An OB 2.0 CryptographicKey's publicKeyPem as a key object."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ResolveError(f"publicKeyPem is not a PEM public key: {exc}") from None
    if not isinstance(key, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
        raise ResolveError("publicKeyPem is neither an RSA nor an Ed25519 key")
    return key
