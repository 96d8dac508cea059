"""`rugzak verify`: valid credentials pass, each kind of bad input fails with its reason."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import NOW, copy_test_keys, make_site
from generator.build import build
from generator.cli import main
from generator.keys import load_keyring, new_key, rotate_keyring
from generator.resolve import Resolver
from generator.sign import sign_jws
from generator.verify import verify_input

VECTORS = Path(__file__).parent / "fixtures" / "vectors"
LATER = datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("verify")
    keys = load_keyring(copy_test_keys(root / "keys"))
    build(make_site(root), root / "out", "https://badges.example.org/", keys, NOW)
    return root / "out"


def reports(path: Path | str, site: Path | None, now: datetime = LATER) -> list:
    return verify_input(str(path), Resolver(site=site, allow_network=False), now)


def only(path: Path | str, site: Path | None, now: datetime = LATER):
    found = reports(path, site, now)
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("name, kind", [
    ("a/wp-0001/credential.json", "OB 3.0 credential, Data Integrity proof"),
    ("a/wp-0001/credential.jwt", "OB 3.0 credential, VC-JWT (RS256)"),
    ("a/wp-0001/credential-eddsa.jws", "OB 3.0 credential, VC-JWT (EdDSA)"),
    ("a/wp-0001/assertion.jws", "OB 2.0 signed assertion (JWS)"),
    ("assertions/wp-0001.json", "OB 2.0 hosted assertion"),
])
def test_own_credentials_verify(site: Path, name: str, kind: str) -> None:
    report = only(site / name, site)
    assert report.kind == kind
    assert report.valid, report.format()
    assert {c.name for c in report.checks} >= {"dates"}


def test_expired_award_is_reported_expired(site: Path) -> None:
    report = only(site / "a/wp-0002/credential.json", site)
    assert not report.valid
    assert "FAIL  dates     expired on 2026-01-01T00:00:00Z" in report.format()
    assert only(site / "a/wp-0002/credential.json", site,
                datetime(2025, 6, 1, tzinfo=timezone.utc)).valid


def test_not_yet_valid(site: Path) -> None:
    report = only(site / "a/wp-0001/credential.jwt", site, datetime(2020, 1, 1,
                                                                     tzinfo=timezone.utc))
    assert "not yet valid: validFrom is 2025-03-01T00:00:00Z" in report.format()


def test_tampered_credential_json(site: Path, tmp_path: Path) -> None:
    doc = json.loads((site / "a/wp-0001/credential.json").read_text())
    doc["credentialSubject"]["achievement"]["name"] = "Meesterlasser"
    (tmp_path / "c.json").write_text(json.dumps(doc))
    report = only(tmp_path / "c.json", site)
    assert not report.valid and "signature mismatch: the credential or its proof" in report.format()


def test_undefined_term_is_explained(site: Path, tmp_path: Path) -> None:
    doc = json.loads((site / "a/wp-0001/credential.json").read_text())
    doc["credentialSubject"]["favouriteColour"] = "blauw"
    (tmp_path / "c.json").write_text(json.dumps(doc))
    text = only(tmp_path / "c.json", site).format()
    assert "favouriteColour" in text and "INVALID" in text


def _swap_payload(token: str, change) -> str:
    header, payload, signature = token.strip().split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(data)
    encoded = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{encoded}.{signature}"


@pytest.mark.parametrize("name", ["a/wp-0001/credential.jwt", "a/wp-0001/assertion.jws"])
def test_tampered_jwt_and_jws(site: Path, tmp_path: Path, name: str) -> None:
    token = (site / name).read_text()
    forged = _swap_payload(token, lambda d: d.update(issuedOn="2020-01-01T00:00:00Z",
                                                     name="Vals"))
    (tmp_path / "t.jwt").write_text(forged)
    text = only(tmp_path / "t.jwt", site).format()
    assert "signature does not verify with this key" in text and "INVALID" in text


def test_wrong_key_and_unknown_key_id(site: Path, tmp_path: Path) -> None:
    token = (site / "a/wp-0001/credential.jwt").read_text().strip()
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    payload = base64.urlsafe_b64decode(token.split(".")[1] + "==")
    intruder = new_key("RS256", NOW.date())
    (tmp_path / "wrong.jwt").write_text(sign_jws(payload, intruder, {"kid": header["kid"],
                                                                       "typ": "JWT"}))
    assert "signature does not verify" in only(tmp_path / "wrong.jwt", site).format()
    unknown = header["kid"].split("#")[0] + "#rsa-nosuchkey"
    (tmp_path / "unknown.jwt").write_text(sign_jws(payload, intruder, {"kid": unknown}))
    assert "rsa-nosuchkey is not in the controller document" in only(
        tmp_path / "unknown.jwt", site).format()


@pytest.mark.parametrize("content, reason", [
    ("abc.def", "neither JSON nor a compact JWS: a compact JWS has 3 dot-separated parts"),
    ("eyJhbGciOiJSUzI1NiJ9.e30.", "the signature is empty"),
    ('{"@context": ["https://www.w3.org/ns/credentials/v2"], "proof": ', "not valid JSON"),
    ("eyJhbGciOiJub25lIn0.e30.c2ln", "alg 'none'"),
    ('{"a": ' + "1" * 5000 + "}", "not JSON this verifier reads"),  # Python's digit limit
    ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "not JSON this verifier reads"),
])
def test_malformed_input(site: Path, tmp_path: Path, content: str, reason: str) -> None:
    (tmp_path / "bad").write_text(content)
    text = only(tmp_path / "bad", site).format()
    assert reason in text and "INVALID" in text


def test_truncated_credential(site: Path, tmp_path: Path) -> None:
    data = (site / "a/wp-0001/credential.json").read_bytes()
    (tmp_path / "half.json").write_bytes(data[: len(data) // 2])
    assert "a truncated or damaged file?" in only(tmp_path / "half.json", site).format()


def test_credentials_verify_after_key_rotation(tmp_path: Path) -> None:
    keys_dir = copy_test_keys(tmp_path / "keys")
    content = make_site(tmp_path)
    build(content, tmp_path / "old", None, load_keyring(keys_dir), NOW)
    rotate_keyring(keys_dir, NOW.date())
    build(content, tmp_path / "new", None, load_keyring(keys_dir), NOW)
    for name in ("credential.json", "credential.jwt", "credential-eddsa.jws", "assertion.jws"):
        old = tmp_path / "old" / "a/wp-0001" / name
        assert only(old, tmp_path / "new").valid, only(old, tmp_path / "new").format()
        new = tmp_path / "new" / "a/wp-0001" / name
        assert old.read_bytes() != new.read_bytes()


def test_kit_did_web_credential(tmp_path: Path) -> None:
    did_doc = VECTORS / "generated-by-kit" / "did-web-issuer.did.json"
    (tmp_path / "issuers/acme").mkdir(parents=True)
    shutil.copy(did_doc, tmp_path / "issuers/acme/did.json")
    report = only(VECTORS / "generated-by-kit" / "ob3-credential-eddsa-rdfc-2022.json", tmp_path)
    assert report.valid, report.format()


def test_1edtech_ob2_signed_samples() -> None:
    assets = VECTORS / "1edtech-validator-testfiles/ob20/assets"
    ob20 = VECTORS / "1edtech-validator-testfiles/ob20"
    assert only(ob20 / "simple.jwt", assets).valid
    revoked = only(ob20 / "simple-revoked.jwt", assets).format()
    assert "REVOKED: A good reason, for sure" in revoked


@pytest.mark.parametrize("name, reason", [
    ("simple.json", "offline: no local copy of https://example.com/issuers/876543"),
    ("simple-did-key-method.json", "the key belongs to did:key:z6MkjZRZ"),
    ("simple_v1.json", "unsupported proof type 'Ed25519Signature2020'"),
    ("simple-noproof.json", "JSON without a proof is not a verifiable credential"),
    ("simple.jwt", "the header names no key (no kid)"),
])
def test_1edtech_samples_rejected_with_reasons(name: str, reason: str) -> None:
    text = only(VECTORS / "1edtech-validator-testfiles/ob30" / name, None).format()
    assert reason in text and "INVALID" in text


def test_cli_exit_codes(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--site", str(site), str(site / "a/wp-0001/credential.json")]) == 0
    assert main(["verify", "--site", str(site), "--now", "2030-01-01T00:00:00Z",
                 str(site / "a/wp-0002/credential.jwt")]) == 1
    assert main(["verify", "--now", "gisteren", str(site / "a/wp-0002/credential.jwt")]) == 2
    assert "VALID" in capsys.readouterr().out
    assert main(["verify", ""]) == 2  # not "." (the current folder)
    assert "empty argument" in capsys.readouterr().err


@pytest.mark.parametrize("change, reason", [
    (lambda c: c.update(type={"a": 1}), "type does not include VerifiableCredential"),
    (lambda c: c.update(type=["VerifiableCredential", ["x"], {"y": 1}]), "INVALID"),
    (lambda c: c["proof"][0].update(cryptosuite=["eddsa-rdfc-2022"]), "wrong cryptosuite"),
    (lambda c: c["proof"][0].update(cryptosuite={"a": 1}), "wrong cryptosuite"),
])
def test_wrongly_typed_credential_fields_fail_verification(site: Path, tmp_path: Path,
                                                           change, reason: str) -> None:
    credential = json.loads((site / "a/wp-0001/credential.json").read_text())
    if isinstance(credential["proof"], dict):
        credential["proof"] = [credential["proof"]]
    change(credential)
    (tmp_path / "c.json").write_text(json.dumps(credential))
    text = only(tmp_path / "c.json", site).format()
    assert reason in text and "INVALID" in text


@pytest.mark.parametrize("verification", [5, True, ["x"], "text"])
def test_a_jws_with_a_wrongly_typed_verification_fails(site: Path, tmp_path: Path,
                                                       verification) -> None:
    token = (site / "a/wp-0001/assertion.jws").read_text()
    (tmp_path / "t.jws").write_text(_swap_payload(token, lambda d: d.update(
        verification=verification)))
    text = only(tmp_path / "t.jws", site).format()
    assert "verification.creator names no key" in text and "INVALID" in text


@pytest.mark.parametrize("change", [
    lambda d: d.update(verificationMethod=5), lambda d: d.update(assertionMethod=5),
    lambda d: d.update(assertionMethod=[["x"], 5, None]), lambda d: d.update(id=["x"]),
])
def test_a_malformed_did_document_fails_verification(site: Path, tmp_path: Path,
                                                     change) -> None:
    import shutil
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    did_path = copy / ".well-known" / "did.json"
    document = json.loads(did_path.read_text())
    change(document)
    did_path.write_text(json.dumps(document))
    for name in ("a/wp-0001/credential.json", "a/wp-0001/credential.jwt"):
        text = only(site / name, copy).format()
        assert "INVALID" in text and "internal error" not in text


@pytest.mark.parametrize("item", ["/dev/zero", "fifo", "http://a b/"])
def test_endless_files_and_unusable_urls_are_failed_checks(tmp_path: Path, item: str) -> None:
    import os
    if item == "fifo":
        item = str(tmp_path / "fifo")
        os.mkfifo(item)  # (opened without waiting for a writer)
    reports = verify_input(item, Resolver(allow_network=True), NOW)
    assert len(reports) == 1 and not reports[0].valid
    assert reports[0].checks[0].name == "format"
