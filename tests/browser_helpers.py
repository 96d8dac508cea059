"""Browser tests' helpers: headless Debian Chromium driven by Playwright, a loopback server whose
served folder can be switched, and ways to tamper with a built site.

`playwright install` cannot download browsers here, so the system Chromium is launched by path.
The server keeps one port for a module, so a tampered copy of a site is served at the same base
URL — and so under the same did:web — as the site it was copied from.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

CHROMIUM = Path(os.environ.get("RUGZAK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
MOBILE = {"width": 390, "height": 844}

# Page scripts that take capabilities away, to test the fallbacks.
WITHOUT_ED25519 = """
for (const name of ['importKey', 'generateKey', 'verify']) {
  const original = SubtleCrypto.prototype[name];
  SubtleCrypto.prototype[name] = function (...args) {
    const algorithm = args[name === 'importKey' ? 2 : 0];
    const label = String(typeof algorithm === 'string' ? algorithm : algorithm && algorithm.name);
    if (label.toLowerCase() === 'ed25519') {
      return Promise.reject(new DOMException('Algorithm: Unrecognized name', 'NotSupportedError'));
    }
    return original.apply(this, args);
  };
}
"""
WITHOUT_WEBCRYPTO = "Object.defineProperty(Crypto.prototype, 'subtle', {get() { return undefined; }});"


def require_playwright() -> Any:
    """`sync_playwright`, or skip (users' clones) / fail (CI=true) when the browser is missing."""
    problems = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
        problems.append("the Python package playwright is not installed "
                        "(pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        problems.append(f"{CHROMIUM} is missing (apt-get install chromium, or "
                        "../shared/oracles/setup)")
    if problems:
        message = "browser tests not run: " + "; ".join(problems)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " — CI must run them")
        pytest.skip(message)
    return sync_playwright


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".json": "application/json",
                      ".jsonld": "application/ld+json", ".jwt": "text/plain",
                      ".jws": "text/plain", ".svg": "image/svg+xml"}

    def __init__(self, request: Any, client_address: Any, server: Any) -> None:
        super().__init__(request, client_address, server, directory=str(server.root))

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a switched folder must never be stale
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class SiteServer:
    """A static server on a free loopback port; `serving(folder)` switches what it serves."""

    def __init__(self) -> None:
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.root = Path(".")  # type: ignore[attr-defined]
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + path

    @contextmanager
    def serving(self, folder: Path) -> Iterator["SiteServer"]:
        previous = self._httpd.root  # type: ignore[attr-defined]
        self._httpd.root = folder  # type: ignore[attr-defined]
        try:
            yield self
        finally:
            self._httpd.root = previous  # type: ignore[attr-defined]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def tamper_jws(token: str, change: Callable[[dict[str, Any]], None]) -> str:
    """The compact JWS with its payload changed by `change` and the old signature kept."""
    header, payload, signature = token.strip().split(".")
    document = json.loads(_unb64url(payload))
    change(document)
    return ".".join([header, _b64url(json.dumps(document).encode("utf-8")), signature])


def copy_site(site: Path, target: Path) -> Path:
    """A copy of a built site to tamper with."""
    shutil.copytree(site, target)
    return target


def did_document_path(site: Path) -> Path:
    return next(p for p in (site / ".well-known" / "did.json", site / "did.json") if p.is_file())


def replace_did_keys(site: Path) -> None:
    """Swap every key in the site's DID document for a freshly made one of the same type."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    from generator.multibase import ed25519_multikey
    path = did_document_path(site)
    document = json.loads(path.read_text("utf-8"))
    for method in document["verificationMethod"]:
        if "publicKeyMultibase" in method:
            raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            method["publicKeyMultibase"] = ed25519_multikey(raw)
        else:
            numbers = rsa.generate_private_key(65537, 2048).public_key().public_numbers()
            method["publicKeyJwk"]["n"] = _b64url(numbers.n.to_bytes(256, "big"))
    path.write_text(json.dumps(document, indent=2), "utf-8")


def rebake_png(png: bytes, change: Callable[[str, str], str]) -> bytes:
    """The PNG with each baked payload replaced by `change(keyword, payload)`."""
    from generator import bake
    payloads = bake.extract_png(png)
    return bake.bake_png(bake.strip_png(png), {k: change(k, v) for k, v in payloads.items()})
