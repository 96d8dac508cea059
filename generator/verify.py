"""`rugzak verify`: check a credential the way an employer's verifier would, and say why.

Accepts an OB 3.0 credential with a Data Integrity proof (JSON), a VC-JWT, an OB 2.0 signed
assertion (compact JWS), a hosted OB 2.0 assertion (JSON or URL) and baked PNG/SVG images.
Every check is reported — signature, key, issuer, dates, status — with the reason it failed.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from generator.jsonld import UndefinedTermError
from generator.resolve import ResolveError, Resolver, load_pem_public_key, resolve_method
from generator.status import bit_is_set, decode_bitstring
from generator.sign import JwsError, decode_jws, verify_data_integrity, verify_jws

OB2_CONTEXTS = {"https://w3id.org/openbadges/v2", "https://openbadgespec.org/v2/context.json"}
OB3_TYPES = {"OpenBadgeCredential", "AchievementCredential", "EndorsementCredential",
             "BitstringStatusListCredential"}


@dataclass(frozen=True)
class Check:
    """One verification step: ok (True), failed (False) or not applicable (None)."""

    name: str
    ok: bool | None
    detail: str


@dataclass
class Report:
    """Everything checked for one input."""

    subject: str
    kind: str = "unknown"
    checks: list[Check] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(c.ok is not False for c in self.checks)

    def add(self, name: str, ok: bool | None, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))

    def format(self) -> str:
        marks = {True: "ok  ", False: "FAIL", None: "--  "}
        lines = [f"{self.subject}: {self.kind}"]
        lines += [f"  {marks[c.ok]}  {c.name:<9} {c.detail}" for c in self.checks]
        lines.append("VALID" if self.valid else "INVALID")
        return "\n".join(lines)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _check_dates(report: Report, start: Any, end: Any, now: datetime,
                 start_name: str, end_name: str) -> None:
    begin = _parse_time(start)
    if begin is None:
        report.add("dates", False, f"{start_name} is missing or not a date-time with a zone")
        return
    finish = _parse_time(end) if end is not None else None
    if end is not None and finish is None:
        report.add("dates", False, f"{end_name} is not a date-time with a zone")
    elif begin > now:
        report.add("dates", False, f"not yet valid: {start_name} is {start}")
    elif finish is not None and finish <= now:
        report.add("dates", False, f"expired on {end}")
    else:
        until = f"valid until {end}" if finish else "does not expire"
        report.add("dates", True, f"{start_name} {start}; {until}")


# --- OB 3.0 status ------------------------------------------------------------------------------
def check_status(report: Report, credential: dict[str, Any], resolver: Resolver,
                 now: datetime) -> None:
    """Bitstring Status List (§C.5b): fetch and verify the list, test the credential's bit."""
    status = credential.get("credentialStatus")
    if status is None:
        report.add("status", None, "no credentialStatus: the issuer cannot revoke it")
        return
    if not isinstance(status, dict) or status.get("type") != "BitstringStatusListEntry":
        report.add("status", False, f"unsupported credentialStatus {status!r:.80}")
        return
    try:
        index = int(str(status.get("statusListIndex")))
        list_credential = resolver.json(str(status.get("statusListCredential")))
        inner = Report("status list")
        verify_credential_json(list_credential, resolver, now, inner, check_own_status=False)
        if not inner.valid:
            failed = "; ".join(c.detail for c in inner.checks if c.ok is False)
            report.add("status", False, f"the status list does not verify: {failed}")
            return
        subject = list_credential["credentialSubject"]
        if subject.get("statusPurpose") != status.get("statusPurpose"):
            report.add("status", False, "status list purpose does not match the entry")
            return
        bits = decode_bitstring(str(subject["encodedList"]))
    except (ResolveError, ValueError, KeyError, TypeError, OSError, EOFError) as exc:
        report.add("status", False, f"cannot read the status list: {exc}")
        return
    if not 0 <= index < len(bits) * 8:
        report.add("status", False, f"status index {index} is outside the list")
        return
    if bit_is_set(bits, index):
        report.add("status", False, f"REVOKED ({status.get('statusPurpose')} bit {index} "
                                    "is set in the issuer's status list)")
    else:
        report.add("status", True, f"not {status.get('statusPurpose')} (bit {index} clear)")


# --- OB 3.0 credentials ---------------------------------------------------------------------------
def _issuer_id(credential: dict[str, Any]) -> str:
    issuer = credential.get("issuer")
    return str(issuer.get("id") if isinstance(issuer, dict) else issuer or "")


def _check_issuer(report: Report, credential: dict[str, Any], controller: str) -> None:
    issuer_id = _issuer_id(credential)
    issuer = credential.get("issuer")
    name = issuer.get("name", "") if isinstance(issuer, dict) else ""
    if not issuer_id:
        report.add("issuer", False, "the credential has no issuer id")
    elif controller != issuer_id:
        report.add("issuer", False, f"the key belongs to {controller}, not to the issuer "
                                    f"{issuer_id}")
    else:
        report.add("issuer", True, f"{issuer_id}" + (f" ({name})" if name else ""))


def verify_credential_json(credential: Any, resolver: Resolver, now: datetime,
                           report: Report, check_own_status: bool = True) -> Report:
    """Verify an OB 3.0 / VC 2.0 credential secured with an embedded Data Integrity proof."""
    if not isinstance(credential, dict):
        report.add("format", False, "not a JSON object")
        return report
    types = credential.get("type", [])
    types = [t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)]
    report.kind = "OB 3.0 credential, Data Integrity proof" if OB3_TYPES & set(types) \
        else "verifiable credential, Data Integrity proof"
    if "VerifiableCredential" not in types:
        report.add("format", False, "type does not include VerifiableCredential")
        return report
    proofs = credential.get("proof")
    first = (proofs[0] if isinstance(proofs, list) and proofs else proofs) or {}
    used: dict[str, Any] = {}

    def resolve_key(method_id: str) -> Any:
        found = resolve_method(resolver, method_id)
        if not isinstance(first, dict) or first.get("proofPurpose") != "assertionMethod":
            raise ValueError("proofPurpose must be assertionMethod")
        used["key"] = found
        return found.public_key

    try:
        reasons = verify_data_integrity(credential, resolve_key)
    except (ResolveError, UndefinedTermError) as exc:
        reasons = [str(exc)]
    if reasons:
        report.add("signature", False, "; ".join(reasons))
        return report
    key = used["key"]
    report.add("signature", True, f"eddsa-rdfc-2022 proof made with {key.method_id}")
    report.add("key", True, f"{key.description}, listed under assertionMethod")
    _check_issuer(report, credential, key.controller)
    _check_dates(report, credential.get("validFrom", credential.get("issuanceDate")),
                 credential.get("validUntil", credential.get("expirationDate")), now,
                 "validFrom", "validUntil")
    if check_own_status:
        check_status(report, credential, resolver, now)
    return report


def verify_vc_jwt(token: str, header: dict[str, Any], payload: dict[str, Any],
                  resolver: Resolver, now: datetime, report: Report) -> Report:
    """Verify a VC-JWT (§C.7.1): key by `kid`, claims against the credential."""
    report.kind = f"OB 3.0 credential, VC-JWT ({header.get('alg')})"
    if "kid" not in header:
        detail = ("the key is embedded in the token (jwk): anyone can make such a key, and "
                  "nothing shows the issuer published it" if "jwk" in header else
                  "the header names no key (no kid), so the signature cannot be checked")
        report.add("key", False, detail)
        return report
    try:
        key = resolve_method(resolver, str(header["kid"]))
        verify_jws(token, key.public_key)
    except (ResolveError, JwsError, ValueError) as exc:
        report.add("signature", False, str(exc))
        return report
    report.add("signature", True, f"{header.get('alg')} signature made with {key.method_id}")
    report.add("key", True, f"{key.description}, listed under assertionMethod")
    credential = payload.get("vc", payload) if isinstance(payload.get("vc"), dict) else payload
    problems = []
    if payload.get("iss") != _issuer_id(credential):
        problems.append("iss does not equal issuer.id")
    if "jti" in payload and payload["jti"] != credential.get("id"):
        problems.append("jti does not equal the credential id")
    subject = credential.get("credentialSubject", {})
    if "sub" in payload and isinstance(subject, dict) and payload["sub"] != subject.get("id"):
        problems.append("sub does not equal credentialSubject.id")
    begin = _parse_time(credential.get("validFrom"))
    if "nbf" in payload and begin and int(payload["nbf"]) != int(begin.timestamp()):
        problems.append("nbf does not equal validFrom")
    end = _parse_time(credential.get("validUntil"))
    if "exp" in payload and (end is None or int(payload["exp"]) != int(end.timestamp())):
        problems.append("exp does not equal validUntil")
    report.add("claims", not problems, "; ".join(problems) or "iss, jti, nbf, exp agree "
                                                                "with the credential")
    _check_issuer(report, credential, key.controller)
    _check_dates(report, credential.get("validFrom", credential.get("issuanceDate")),
                 credential.get("validUntil", credential.get("expirationDate")), now,
                 "validFrom", "validUntil")
    check_status(report, credential, resolver, now)
    return report


# --- OB 2.0 ------------------------------------------------------------------------------------------
def _ob2_issuer(assertion: dict[str, Any], resolver: Resolver) -> tuple[str, dict[str, Any]]:
    badge = assertion.get("badge")
    badge_doc = badge if isinstance(badge, dict) else resolver.json(str(badge))
    issuer = badge_doc.get("issuer")
    issuer_url = issuer.get("id") if isinstance(issuer, dict) else str(issuer)
    return issuer_url, resolver.json(issuer_url)


def _load_ob2_issuer(report: Report, assertion: dict[str, Any], resolver: Resolver
                     ) -> tuple[str, dict[str, Any]] | None:
    """The assertion's issuer URL and profile, or None after reporting why they failed."""
    try:
        return _ob2_issuer(assertion, resolver)
    except (ResolveError, AttributeError) as exc:
        report.add("issuer", False, f"cannot load badge class or issuer: {exc}")
        return None


def _check_ob2_dates(report: Report, assertion: dict[str, Any], now: datetime) -> None:
    _check_dates(report, assertion.get("issuedOn"), assertion.get("expires"), now,
                 "issuedOn", "expires")


def _check_ob2_revocation(report: Report, assertion_id: str, profile: dict[str, Any],
                          resolver: Resolver) -> None:
    url = profile.get("revocationList")
    if not url:
        report.add("status", None, "the issuer publishes no revocation list")
        return
    try:
        revoked = resolver.json(str(url)).get("revokedAssertions", [])
    except (ResolveError, AttributeError) as exc:
        report.add("status", False, f"cannot read the revocation list: {exc}")
        return
    for entry in revoked if isinstance(revoked, list) else [revoked]:
        entry_id = entry if isinstance(entry, str) else (entry or {}).get("id")
        if entry_id == assertion_id:
            reason = entry.get("revocationReason", "") if isinstance(entry, dict) else ""
            report.add("status", False, "REVOKED" + (f": {reason}" if reason else ""))
            return
    report.add("status", True, "not in the issuer's revocation list")


def verify_ob2_jws(token: str, payload: dict[str, Any], resolver: Resolver, now: datetime,
                   report: Report) -> Report:
    """Verify an OB 2.0 signed assertion (§A.10)."""
    report.kind = "OB 2.0 signed assertion (JWS)"
    verification = payload.get("verification")
    creator = verification.get("creator") if isinstance(verification, dict) else None
    if not creator:
        report.add("key", False, "verification.creator names no key")
        return report
    try:
        key_doc = resolver.json(str(creator))
        public_key = load_pem_public_key(str(key_doc.get("publicKeyPem", "")))
        verify_jws(token, public_key)
    except (ResolveError, JwsError, ValueError, AttributeError) as exc:
        report.add("signature", False, str(exc))
        return report
    report.add("signature", True, f"RS256 signature made with {creator}")
    loaded = _load_ob2_issuer(report, payload, resolver)
    if loaded is None:
        return report
    issuer_url, profile = loaded
    keys = profile.get("publicKey", [])
    keys = keys if isinstance(keys, list) else [keys]
    key_ids = {k if isinstance(k, str) else (k or {}).get("id") for k in keys}
    if key_doc.get("owner") != issuer_url or creator not in key_ids:
        report.add("key", False, f"the key and the issuer {issuer_url} do not name each other "
                                 "(key owner / issuer publicKey)")
    else:
        report.add("key", True, "owned by the issuer and listed in its publicKey")
    report.add("issuer", True, f"{issuer_url} ({profile.get('name', '')})")
    _check_ob2_dates(report, payload, now)
    _check_ob2_revocation(report, str(payload.get("id")), profile, resolver)
    return report


def verify_ob2_hosted(assertion: dict[str, Any], resolver: Resolver, now: datetime,
                      report: Report) -> Report:
    """Verify a hosted OB 2.0 assertion: the issuer's hosted copy is what counts (§A.9)."""
    report.kind = "OB 2.0 hosted assertion"
    url = str(assertion.get("id", ""))
    try:
        hosted = resolver.json(url)
    except ResolveError as exc:
        report.add("hosted", False, str(exc))
        return report
    if hosted.get("revoked") is True:
        reason = hosted.get("revocationReason", "")
        report.add("status", False, "REVOKED" + (f": {reason}" if reason else ""))
        return report
    if hosted.get("id") != url:
        report.add("hosted", False, "the hosted copy has a different id")
        return report
    report.add("hosted", True, f"fetched from {url}")
    loaded = _load_ob2_issuer(report, hosted, resolver)
    if loaded is None:
        return report
    issuer_url, profile = loaded
    same_host = url.split("/")[2:3] == issuer_url.split("/")[2:3]
    report.add("issuer", same_host, f"{issuer_url} ({profile.get('name', '')})" if same_host
               else "the assertion is not hosted on the issuer's host")
    _check_ob2_dates(report, hosted, now)
    return report


# --- dispatch -------------------------------------------------------------------------------------
def _short(error: BaseException) -> str:
    """An exception's message, cut short: the input it quotes can be megabytes."""
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:200] + "..."


def verify_text(text: str, subject: str, resolver: Resolver, now: datetime) -> Report:
    """Verify a credential given as text (JSON or compact JWS)."""
    report = Report(subject)
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except json.JSONDecodeError as exc:
            report.add("format", False, f"not valid JSON (line {exc.lineno}: {exc.msg}); a "
                                        "truncated or damaged file?")
            return report
        except (ValueError, RecursionError) as exc:  # a number too long, nesting too deep
            report.add("format", False, f"not JSON this verifier reads: "
                                        f"{_short(exc)}; a damaged or hostile file?")
            return report
        if isinstance(document, dict) and "proof" in document:
            return verify_credential_json(document, resolver, now, report)
        context = document.get("@context") if isinstance(document, dict) else None
        if isinstance(context, str) and context in OB2_CONTEXTS:
            return verify_ob2_hosted(document, resolver, now, report)
        report.add("format", False, "JSON without a proof is not a verifiable credential")
        return report
    if stripped.startswith(("http://", "https://")) and "\n" not in stripped:
        return verify_text(resolver.fetch(stripped).decode("utf-8", "replace"), subject,
                           resolver, now)
    try:
        header, payload_bytes, _, _ = decode_jws(stripped)
        payload = json.loads(payload_bytes.decode("utf-8"))
    except (JwsError, ValueError, RecursionError) as exc:  # (also bad UTF-8 and JSON)
        report.add("format", False, f"neither JSON nor a compact JWS: {_short(exc)}")
        return report
    if not isinstance(payload, dict):
        report.add("format", False, "the JWS payload is not a JSON object")
        return report
    context = payload.get("@context")
    if isinstance(context, str) and context in OB2_CONTEXTS:
        return verify_ob2_jws(stripped, payload, resolver, now, report)
    return verify_vc_jwt(stripped, header, payload, resolver, now, report)


def verify_bytes(data: bytes, subject: str, resolver: Resolver, now: datetime
                 ) -> list[Report]:
    """Verify a file's bytes: a baked PNG/SVG (every baked payload) or credential text."""
    if data.startswith(b"\x89PNG"):
        from generator import bake
        try:
            payloads = bake.extract_png(data)
        except bake.BakeError as exc:
            return [_failed(subject, "baked PNG", f"cannot read the PNG: {exc}")]
        kind = "PNG"
    elif data.lstrip()[:200].startswith(b"<") and b"<svg" in data[:4096]:
        from generator import bake
        try:
            payloads = bake.extract_svg(data.decode("utf-8"))
        except (bake.BakeError, UnicodeDecodeError) as exc:
            return [_failed(subject, "baked SVG", f"cannot read the SVG: {exc}")]
        kind = "SVG"
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return [_failed(subject, "unknown", "not text, PNG or SVG")]
        return [verify_text(text, subject, resolver, now)]
    if not payloads:
        return [_failed(subject, f"{kind} image", "no Open Badges data is baked into it")]
    return [verify_text(text, f"{subject} [{keyword}]", resolver, now)
            for keyword, text in sorted(payloads.items())]


def _failed(subject: str, kind: str, reason: str) -> Report:
    report = Report(subject, kind)
    report.add("format", False, reason)
    return report


def verify_input(item: str, resolver: Resolver, now: datetime) -> list[Report]:
    """Verify a path or an http(s) URL."""
    from pathlib import Path
    try:
        if item.startswith(("http://", "https://")):
            data = resolver.fetch(item)
        else:
            data = _read_file(Path(item))
            if data is None:
                return [_failed(item, "unknown", "not a regular file (a folder, device or "
                                                 "pipe); give a credential or badge file")]
            if len(data) > _MAX_FILE_BYTES:
                return [_failed(item, "unknown", "file is larger than 20 MB")]
    except (ResolveError, OSError) as exc:
        return [_failed(item, "unknown", f"cannot read it: {getattr(exc, 'strerror', None) or exc}")]
    try:
        return verify_bytes(data, item, resolver, now)
    except RecursionError:  # JSON nested thousands deep: hostile, never a credential
        return [_failed(item, "unknown", "nested too deeply to be a credential")]
    except (TypeError, AttributeError, KeyError) as exc:
        # a value of a type no check expected (a list where a text belongs) in the document
        # or in what it links to: a failed verification, not a crash
        return [_failed(item, "unknown", f"malformed document: {_short(exc)}")]


_MAX_FILE_BYTES = 20_000_000


def _read_file(path: "Path") -> bytes | None:
    """A regular file's bytes (at most one more than the limit), or None for anything else:
    /dev/zero or a pipe would be read without end."""
    with open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK)
              ) as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return handle.read(_MAX_FILE_BYTES + 1)


def now_utc() -> datetime:
    """The verifier's clock (a parameter everywhere else, so tests can fix it)."""
    return datetime.now(timezone.utc)
