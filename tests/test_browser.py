"""In a real browser: award pages verify their own credential, /verify/ checks dropped files.

Headless Debian Chromium driven by Playwright (see browser_helpers). One small site is built per
module for a loopback base URL; tampered copies are served at the same URL, so under the same
did:web. Screenshots at 390 × 844 are saved to a temporary folder and, with
RUGZAK_SCREENSHOTS=DIR, also to DIR, for review.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from browser_helpers import (CHROMIUM, CHROMIUM_ARGS, MOBILE, WITHOUT_ED25519, WITHOUT_WEBCRYPTO,
                             SiteServer, copy_site, rebake_png, replace_did_keys, require_playwright,
                             tamper_jws)
from conftest import make_site

# BASE_FILES (wp-0001 valid, wp-0002 expired since 2026-01-01) plus an award of a badge with a
# generated image (baked PNG and SVG) and a revoked award whose status bit is the list's last.
EXTRA_FILES = {
    "badges/veilig.md": "---\nname: {nl: Veilig werken, en: Working safely}\n"
                        "description: {nl: Veilig werken in de werkplaats., en: Working safely in "
                        "the workshop.}\n---\nJe werkt veilig.\n",
    "awards/wp-0003.yaml": "learner: fatima\nbadge: veilig\nissued: 2025-05-01\n",
    "awards/wp-0004.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-02-01\n",
    "revocations.yaml": "wp-0004:\n  date: 2025-06-01\n"
                        "  reason: {nl: Per vergissing toegekend., en: Awarded by mistake.}\n",
    "status.yaml": "indices:\n  wp-0001: 17\n  wp-0002: 4242\n  wp-0003: 99\n  wp-0004: 131071\n",
}
ALL_OK = {name: "true" for name in ("signature", "key", "claims", "issuer", "dates", "status")}


def dutch(message: str) -> str:
    """The Dutch catalog's translation of a UI string (the default language's pages)."""
    from generator.i18n import translations
    return translations("nl").gettext(message)


def jws_header(path: Path) -> dict[str, Any]:
    part = path.read_text("utf-8").split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@dataclass
class Visit:
    """A page opened in a fresh browser context, with what it requested and any script error."""

    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def verdict(self, selector: str = "#live-check") -> str:
        self.page.wait_for_selector(f"{selector}[data-verdict]")
        return self.page.get_attribute(selector, "data-verdict")

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def checks(self, selector: str = "#live-check") -> dict[str, str]:
        """Check name → 'true' | 'false' | 'null', as the page rendered them."""
        items = self.page.query_selector_all(f"{selector} li[data-check]")
        return {i.get_attribute("data-check"): i.get_attribute("data-ok") for i in items}

    def check_file(self, file: Path | dict[str, Any]) -> str:
        """Pick a file on /verify/ (as a drop would) and wait for the overall verdict."""
        self.page.set_input_files("#verify-file", file)
        self.page.wait_for_selector("#verify-results[data-state=done]")
        return self.page.get_attribute("#verify-results", "data-verdict")

    def assert_clean(self, base_url: str) -> None:
        assert not self.errors, self.errors
        foreign = [url for url in self.requests if not url.startswith(base_url)]
        assert not foreign, f"requests to another origin: {foreign}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = require_playwright()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server() -> Iterator[SiteServer]:
    require_playwright()
    running = SiteServer()
    yield running
    running.close()


@pytest.fixture(scope="module")
def site(server: SiteServer, keyring: Any, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Path]:
    """The small site, built for the server's base URL and served by it."""
    from generator.build import build
    root = tmp_path_factory.mktemp("browser")
    content = make_site(root, EXTRA_FILES)
    # The browser checks dates against the real clock, so the build's "now" is the real one too.
    build(content, root / "site", server.base_url, keyring,
          datetime.now(timezone.utc).replace(microsecond=0))
    with server.serving(root / "site"):
        yield root / "site"


@pytest.fixture(scope="module")
def path_site(server: SiteServer, keyring: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small site built for a base URL with a path (its DID document is badges/did.json);
    serve the returned folder."""
    from generator.build import build
    root = tmp_path_factory.mktemp("browser-path")
    build(make_site(root), root / "served" / "badges", server.url("badges/"), keyring,
          datetime.now(timezone.utc).replace(microsecond=0))
    return root / "served"


@pytest.fixture(scope="module")
def screenshot(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Visit, str], None]:
    folders = [tmp_path_factory.mktemp("screenshots")]
    if os.environ.get("RUGZAK_SCREENSHOTS"):
        folders.append(Path(os.environ["RUGZAK_SCREENSHOTS"]))
        folders[-1].mkdir(parents=True, exist_ok=True)

    def save(visit: Visit, name: str) -> None:
        image = visit.page.screenshot(full_page=True)
        for folder in folders:
            (folder / f"{name}.png").write_bytes(image)
    return save


@pytest.fixture
def visit(browser: Any, server: SiteServer, site: Path) -> Iterator[Callable[..., Visit]]:
    """Open a site path at 390 × 844 in a fresh context (own cache), optionally with a script
    that runs before the page's own, or with JavaScript off."""
    contexts = []

    def open_page(path: str, script: str | None = None, javascript: bool = True) -> Visit:
        context = browser.new_context(viewport=MOBILE, java_script_enabled=javascript)
        context.set_default_timeout(30_000)
        contexts.append(context)
        if script:
            context.add_init_script(script)
        page = context.new_page()
        opened = Visit(page)
        page.on("request", lambda request: opened.requests.append(request.url))
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        page.goto(server.url(path))
        return opened
    yield open_page
    for context in contexts:
        context.close()


# --- the award page ---------------------------------------------------------------------------

def test_award_page_verifies_its_credential_in_the_browser(visit, site, server, screenshot):
    page = visit("a/wp-0001/")
    assert page.verdict() == "valid"
    assert page.checks() == ALL_OK
    assert page.text("#verdict-heading") == dutch("Valid badge")  # the server's stays
    text = page.text("#live-check")
    assert f"{dutch('Checked in your browser')}: {dutch('Valid')}" in text
    # EdDSA (Chromium has WebCrypto Ed25519), with the key the token names, from the DID document
    assert jws_header(site / "a/wp-0001/credential-eddsa.jws")["kid"] in text
    assert "(EdDSA)" in text
    page.assert_clean(server.base_url)
    assert server.url(".well-known/did.json") in page.requests
    assert server.url("status/revocation-1.json") in page.requests
    screenshot(page, "award-nl-valid")


def test_award_page_speaks_english_under_en(visit, server, screenshot):
    page = visit("en/a/wp-0001/")
    assert page.verdict() == "valid"
    text = page.text("#live-check")
    assert "Checked in your browser: Valid" in text
    assert "iss, jti, nbf and exp agree with the credential" in text
    page.assert_clean(server.base_url)
    screenshot(page, "award-en-valid")


def test_without_webcrypto_ed25519_the_rs256_copy_is_checked(visit, site, server):
    page = visit("en/a/wp-0001/", script=WITHOUT_ED25519)
    assert page.verdict() == "valid"
    assert page.checks() == ALL_OK
    text = page.text("#live-check")
    assert jws_header(site / "a/wp-0001/credential.jwt")["kid"] in text
    assert "cannot check Ed25519 signatures with WebCrypto, so the RS256 copy" in text
    assert server.url("a/wp-0001/credential.jwt") in page.requests
    assert server.url("a/wp-0001/credential-eddsa.jws") not in page.requests


@pytest.mark.parametrize("path, verdict, failing", [("a/wp-0004/", "revoked", "status"),
                                                     ("a/wp-0002/", "expired", "dates")])
def test_revoked_and_expired_awards_say_so(visit, screenshot, path, verdict, failing):
    page = visit(path)
    assert page.verdict() == verdict
    assert page.checks() == {**ALL_OK, failing: "false"}
    word = {"revoked": "Revoked", "expired": "Expired"}[verdict]
    assert f"{dutch('Checked in your browser')}: {dutch(word)}" in page.text("#live-check")
    screenshot(page, f"award-nl-{verdict}")


@pytest.mark.parametrize("script", [None, WITHOUT_ED25519], ids=["eddsa", "rs256"])
def test_tampered_credential_shows_invalid(visit, server, site, tmp_path, screenshot, script):
    tampered = copy_site(site, tmp_path / "site")
    for name in ("credential.jwt", "credential-eddsa.jws"):
        path = tampered / "a/wp-0001" / name
        path.write_text(tamper_jws(path.read_text("utf-8"),
                                   lambda vc: vc.update(name="Lassen gevorderd")), "utf-8")
    with server.serving(tampered):
        page = visit("a/wp-0001/", script=script)
        assert page.verdict() == "invalid"
        assert page.checks() == {"signature": "false"}
        assert dutch("Invalid") in page.text("#live-check")
        # the green server verdict at the top does not stay above a failed check
        assert page.text("#verdict-heading") == dutch("Invalid badge")
        assert dutch("Valid badge") not in page.text("main")
        assert page.text(".facts .status") == dutch("Invalid")
        if script is None:
            screenshot(page, "award-nl-tampered")


@pytest.mark.parametrize("script", [None, WITHOUT_ED25519], ids=["eddsa", "rs256"])
def test_tampered_did_document_shows_invalid(visit, server, site, tmp_path, script):
    tampered = copy_site(site, tmp_path / "site")
    replace_did_keys(tampered)
    with server.serving(tampered):
        page = visit("en/a/wp-0001/", script=script)
        assert page.verdict() == "invalid"
        assert page.checks() == {"signature": "false"}
        assert "the signature does not match" in page.text("#live-check")


def test_key_missing_from_did_document_shows_invalid(visit, server, site, tmp_path):
    tampered = copy_site(site, tmp_path / "site")
    did_path = tampered / ".well-known" / "did.json"
    document = json.loads(did_path.read_text("utf-8"))
    document["assertionMethod"] = []
    did_path.write_text(json.dumps(document), "utf-8")
    with server.serving(tampered):
        page = visit("en/a/wp-0001/")
        assert page.verdict() == "invalid"
        assert page.checks() == {"key": "false"}
        assert "is not listed under assertionMethod" in page.text("#live-check")


def test_credential_of_another_issuer_is_not_checked(visit, server, site, tmp_path):
    tampered = copy_site(site, tmp_path / "site")
    for name in ("credential.jwt", "credential-eddsa.jws"):
        path = tampered / "a/wp-0001" / name
        header, rest = path.read_text("utf-8").split(".", 1)
        claims = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        claims["kid"] = "did:web:badges.example.org#key-1"
        encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        path.write_text(encoded + "." + rest, "utf-8")
    with server.serving(tampered):
        page = visit("en/a/wp-0001/")
        assert page.verdict() == "foreign"
        text = page.text("#live-check")
        assert "Checked in your browser: Not checked" in text
        assert "only credentials of this site's issuer are checked here" in text
        assert "The verdict at the top of this page is the one the issuer's site published" in text
        page.assert_clean(server.base_url)


def test_without_javascript_the_rendered_verdict_stays(visit):
    page = visit("a/wp-0001/", javascript=False)
    assert page.page.is_hidden("#live-check")
    assert page.page.is_visible(".verdict-valid")
    assert dutch("Valid badge") in page.text(".verdict-valid h1")


def test_without_webcrypto_the_page_says_so_and_keeps_the_rendered_verdict(visit):
    page = visit("en/a/wp-0001/", script=WITHOUT_WEBCRYPTO)
    assert page.verdict() == "unchecked"
    text = page.text("#live-check")
    assert "WebCrypto is missing" in text
    assert "The verdict at the top of this page" in text
    assert page.page.is_visible(".verdict-valid")


def test_award_page_of_a_site_with_a_base_path(visit, server, path_site):
    with server.serving(path_site):
        page = visit("badges/en/a/wp-0001/")
        assert page.verdict() == "valid"
        assert page.checks() == ALL_OK
        text = page.text("#live-check")
        assert f"did:web:127.0.0.1%3A{server.base_url.split(':')[2].strip('/')}:badges#" in text
        assert server.url("badges/did.json") in page.requests
        page.assert_clean(server.base_url)


# --- the /verify/ page ------------------------------------------------------------------------

def test_verify_page_accepts_a_baked_png(visit, site, server, screenshot):
    page = visit("verify/")
    assert page.check_file(site / "a/wp-0001/badge.png") == "valid"
    results = page.page.query_selector_all("#verify-results .live-result")
    assert [r.get_attribute("data-verdict") for r in results] == ["valid", "valid"]
    marks = [li.get_attribute("data-ok")
             for li in page.page.query_selector_all("#verify-results li[data-check]")]
    assert len(marks) == 10 and set(marks) == {"true"}, marks
    text = page.text("#verify-results")
    assert "eddsa-rdfc-2022" in text and "jsonld.js" in text  # the Data Integrity proof
    assert "RS256" in text  # the OB 2.0 signed assertion
    # the library and the contexts come from the site itself, only for this page
    assert server.url("assets/vendor/jsonld/jsonld.esm.min.js") in page.requests
    assert server.url("contexts/index.json") in page.requests
    page.assert_clean(server.base_url)
    screenshot(page, "verify-nl-png-valid")


def test_verify_page_rejects_a_tampered_png(visit, site, server, screenshot):
    def change(keyword: str, payload: str) -> str:
        if payload.startswith("{"):  # OB 3.0 credential with its Data Integrity proof
            credential = json.loads(payload)
            credential["credentialSubject"]["achievement"]["name"] = "Lassen gevorderd"
            return json.dumps(credential)
        return tamper_jws(payload, lambda assertion: assertion.update(expires="2099-01-01T00:00:00Z"))

    png = rebake_png((site / "a/wp-0001/badge.png").read_bytes(), change)
    page = visit("en/verify/")
    verdict = page.check_file({"name": "badge.png", "mimeType": "image/png", "buffer": png})
    assert verdict == "invalid"
    results = page.page.query_selector_all("#verify-results .live-result")
    assert [r.get_attribute("data-verdict") for r in results] == ["invalid", "invalid"]
    for result in results:
        assert result.query_selector("li[data-check=signature]").get_attribute("data-ok") == "false"
    assert page.text("#verify-results").count("the signature does not match") == 2
    screenshot(page, "verify-en-png-tampered")


def test_verify_page_accepts_a_file_dropped_on_it(visit, site):
    page = visit("en/verify/")
    png = (site / "a/wp-0003/badge.png").read_bytes()
    transfer = page.page.evaluate_handle(
        "bytes => { const transfer = new DataTransfer();"
        " transfer.items.add(new File([new Uint8Array(bytes)], 'dropped.png', {type: 'image/png'}));"
        " return transfer; }", list(png))
    page.page.dispatch_event("#verify-app", "drop", {"dataTransfer": transfer})
    page.page.wait_for_selector("#verify-results[data-state=done]")
    assert page.page.get_attribute("#verify-results", "data-verdict") == "valid"
    assert "dropped.png · baked Open Badges 3.0 credential: Valid" in page.text("#verify-results")


def test_verify_page_without_javascript_says_it_needs_it(visit):
    page = visit("en/verify/", javascript=False)
    assert page.page.is_hidden("#verify-app")
    assert "needs JavaScript" in page.text("main")


def test_verify_page_checks_a_baked_svg(visit, site):
    page = visit("en/verify/")
    assert page.check_file(site / "a/wp-0003/badge.svg") == "valid"
    text = page.text("#verify-results")
    assert "baked Open Badges 3.0 credential: Valid" in text
    assert "baked Open Badges 2.0 assertion: Valid" in text


def test_verify_page_pasted_vc_jwt_of_a_revoked_award(visit, site):
    page = visit("en/verify/")
    page.page.fill("#verify-text", (site / "a/wp-0004/credential.jwt").read_text("utf-8"))
    page.page.click("#verify-run")
    page.page.wait_for_selector("#verify-results[data-state=done]")
    assert page.page.get_attribute("#verify-results", "data-verdict") == "revoked"
    assert page.checks("#verify-results") == {**ALL_OK, "status": "false"}
    assert "bit 131071 is set in the issuer's status list (revocation)" in page.text(
        "#verify-results")


def test_verify_page_checks_the_status_list_proof(visit, server, site, tmp_path):
    """A status list changed without re-signing: /verify/ notices, as its proof is checked."""
    from generator.status import encode_bitstring
    tampered = copy_site(site, tmp_path / "site")
    path = tampered / "status/revocation-1.json"
    status_list = json.loads(path.read_text("utf-8"))
    status_list["credentialSubject"]["encodedList"] = encode_bitstring([])
    path.write_text(json.dumps(status_list), "utf-8")
    with server.serving(tampered):
        page = visit("en/verify/")
        assert page.check_file(tampered / "a/wp-0004/credential.json") == "invalid"
        assert page.checks("#verify-results")["status"] == "false"
        assert "the status list's own proof does not verify" in page.text("#verify-results")


def test_verify_page_of_a_site_with_a_base_path(visit, server, path_site):
    with server.serving(path_site):
        page = visit("badges/verify/")
        assert page.check_file(path_site / "badges/a/wp-0001/badge.png") == "valid"
        assert server.url("badges/contexts/index.json") in page.requests
        page.assert_clean(server.base_url)


def test_verify_page_refuses_what_is_not_a_credential(visit, site):
    page = visit("en/verify/")
    assert page.check_file(site / "badges/lassen-basis.png") == "invalid"
    assert "no Open Badges data is baked into this image" in page.text("#verify-results")


# --- strings and vendored code ----------------------------------------------------------------

JS = Path(__file__).resolve().parent.parent / "themes" / "default" / "static" / "js"
PAGE_ONLY = {"statusOkSigned"}  # the core uses it only when /verify/ checks the list's proof


def page_strings(html: Path) -> dict[str, str]:
    import html as markup
    import re
    found = re.search(r"data-strings='([^']*)'", html.read_text("utf-8"))
    assert found, f"no data-strings in {html}"
    return json.loads(markup.unescape(found.group(1)))


def message_keys(*names: str) -> set[str]:
    """Message keys the scripts look up: camelCase string literals, and check_<name> for every
    check they report."""
    import re
    text = "".join((JS / name).read_text("utf-8") for name in names)
    not_messages = {"assertionMethod", "iTXt", "tEXt", "zTXt"}  # a JSON term, PNG chunk types
    keys = set(re.findall(r"'([a-z]+[A-Z]\w*)'", text)) - not_messages
    checks = re.findall(r"(?:CheckError\(|\.add\()'(\w+)', (?:'|true|false|null|!)", text)
    checks += re.findall(r"\.fail\(\w+, '(\w+)'", text)
    return keys | {"check_" + name for name in checks} | {
        "valid", "invalid", "revoked", "expired", "unchecked", "error", "unreachable"}


@pytest.mark.parametrize("language", ["", "en/"])
def test_every_message_the_scripts_show_is_in_the_page(site, language):
    award = page_strings(site / language / "a/wp-0001/index.html")
    verify = page_strings(site / language / "verify/index.html")
    assert message_keys("verify-award.js", "verify-core.js") - PAGE_ONLY - set(award) == set()
    assert message_keys("verify-page.js", "verify-core.js") - set(verify) == set()
    if not language:  # Dutch: every string translated (the catalog test checks the .po too)
        english = page_strings(site / "en/a/wp-0001/index.html")
        same = {k for k in award if award[k] == english[k] and k not in {"check_status"}}
        assert same == set(), same


def test_vendored_jsonld_is_the_recorded_npm_file():
    import hashlib
    vendor = JS.parent / "vendor" / "jsonld"
    recorded = next(line.split()[1] for line in (vendor / "SOURCE.txt").read_text().splitlines()
                    if line.startswith("sha256"))
    assert hashlib.sha256((vendor / "jsonld.esm.min.js").read_bytes()).hexdigest() == recorded
    assert "BSD" in (vendor / "LICENSE").read_text()
    version = next(line for line in (JS / "verify-page.js").read_text().splitlines()
                   if line.startswith("const JSONLD_VERSION"))
    assert "jsonld 9.0.0" in (vendor / "SOURCE.txt").read_text() and "'9.0.0'" in version


# --- keyboard ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["a/wp-0001/", "verify/"])
def test_keyboard_reaches_the_language_switch(visit, path):
    page = visit(path)
    if path.startswith("a/"):
        page.verdict()  # the live check has rendered its link too
    focused = []
    for _ in range(12):
        page.page.keyboard.press("Tab")
        focused.append(page.page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.matches('.languages a[hreflang]') ? 'language:' + e.hreflang"
            " : e.className || e.id || e.tagName }"))
        if focused[-1].startswith("language:"):
            break
    assert focused[0] == "skip", focused  # the skip link comes first
    assert focused[-1] == "language:en", focused
