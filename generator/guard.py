"""The last check before anything is published: private keys and personal data in output files.

Every file a build makes passes `OutputGuard.check` on its way to the staging folder (in the
worker that made it), so nothing is held back in memory for a final scan. A problem found
stops the build before the swap: the previous output stays as it was.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from generator.errors import Diagnostic
from generator.keys import Keyring, find_private_key_material
from generator.model import Site
from generator.write import OutputFile

# An address: a whole run of these characters, "@", then a domain with a dot and a TLD.
_LOCAL_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-"
_DOMAIN = re.compile(rb"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# International (+31 6 1234 5678, 0031…) or national with a leading 0 (06-12345678,
# 010 123 4567); never inside a longer token, so hashes, keys and ids do not match — nor
# the start of a UUID whose first groups happen to be digits (urn:uuid:00469673-7327-5433-…),
# hence no hyphen may follow.
_PHONE_LIKE = re.compile(rb"(?<![\w$/+=.-])(?:(?:\+|00)[1-9]\d{0,2}[ -]?\d(?:[ -]?\d){6,11}"
                         rb"|0\d{1,3}[ -]\d(?:[ -]?\d){5,8}|06-?\d{8})(?![\w-])")
# Every phone match is made of these characters only, so it lies inside such a run (starting
# at its first "+" or digit). Scanning for the runs first is much faster on text full of
# short numbers (SVG path data, CSS); the full pattern then runs on each run alone, with one
# character of context either side for its look-behind and look-ahead.
_PHONE_RUN = re.compile(rb"[+0-9][0-9 +-]{7,}")
_TEXT_SUFFIXES = (".html", ".json", ".xml", ".txt", ".jwt", ".jws", ".svg", ".css", ".js",
                  ".jsonld", "_headers")
_KEY_HINT = "never put keys or the site secret in records or themes"
_PRIVACY_HINT = ("remove it from the records (narratives, evidence, criteria); an address "
                 "meant to be public belongs in an issuer's email/telephone")


def _digits(text: bytes | str) -> str:
    value = text.decode() if isinstance(text, bytes) else text
    return re.sub(r"\D", "", value.replace("+", "00", 1) if value.startswith("+") else value)


def email_addresses(data: bytes) -> Iterator[bytes]:
    """Every e-mail-like address in `data`: a whole run of address characters, "@" and a
    domain — what the pattern `(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++@` + domain finds
    (tests/test_guard.py), but found from each "@" instead of by trying the pattern at every
    word (JSON-LD files have an "@" in every "@context")."""
    end = 0  # where the last address ended: the next starts there at the earliest
    at = data.find(b"@")
    while at >= 0:
        before = data[end:at].rstrip(_LOCAL_CHARS)
        start = end + len(before)
        # a local part that began before `end` (inside the last address) does not count
        whole_run_after_end = not before and end > 0 and data[end - 1] in _LOCAL_CHARS
        if start < at and not whole_run_after_end:
            domain = _DOMAIN.match(data, at + 1)
            if domain:
                yield data[start:domain.end()]
                end = domain.end()
        at = data.find(b"@", at + 1)


class _Needles:
    """Find any of many URL or DID identifiers in a file, as substrings, without searching
    once per identifier (20,000 learners identified by URL would make that 20,000 searches
    per file). Every identifier starts with "http" or "did:": at each place one of those
    starts, the bytes of each identifier length that occurs are looked up in a set."""

    def __init__(self, identifiers: Iterable[bytes]):
        self._by_length: dict[int, set[bytes]] = {}
        self._others: list[bytes] = []  # (not URLs or DIDs: searched one by one)
        for identifier in identifiers:
            if identifier.startswith(_STARTS):
                self._by_length.setdefault(len(identifier), set()).add(identifier)
            elif identifier:
                self._others.append(identifier)
        self._lengths = sorted(self._by_length)

    def __bool__(self) -> bool:
        return bool(self._by_length or self._others)

    def found_in(self, data: bytes) -> bool:
        """Whether any identifier occurs in `data` (lowercased, like the identifiers)."""
        for start in _STARTS:
            at = data.find(start)
            while at >= 0:
                for length in self._lengths:
                    if data[at:at + length] in self._by_length[length]:
                        return True
                at = data.find(start, at + 1)
        return any(identifier in data for identifier in self._others)


_STARTS = (b"http", b"did:")


class OutputGuard:
    """Finds private key material, learner identifiers and undeclared e-mail addresses or
    phone numbers in an output file.

    Fast on large sites: e-mail identifiers are found by one e-mail pattern plus a set lookup
    (no alternation over thousands of addresses); URL/DID identifiers by substring search.
    Binary files (PNG, PDF) are searched for identifiers and keys only: the text they carry
    (baked credentials, certificate lines) is published in the text files scanned in full,
    and their compressed streams would only give the patterns noise to chew on.
    """

    def __init__(self, site: Site, keyring: Keyring):
        self.keyring = keyring
        self.email_ids = {l.identifier.lower() for l in site.learners
                          if l.identifier_type == "email"}
        self.other_ids = _Needles(l.identifier.lower().encode("utf-8") for l in site.learners
                                  if l.identifier_type != "email")
        self.public_emails = {i.email.lower() for i in site.issuers}
        phones = {_digits(i.telephone) for i in site.issuers if i.telephone}
        self.public_phones = phones | {"0" + p[4:] for p in phones if p.startswith("0031")}

    def check(self, item: OutputFile) -> list[Diagnostic]:
        """The problems in one file (usually none)."""
        secret = find_private_key_material(item.data, self.keyring)
        if secret:
            return [Diagnostic(item.path, 0, f"private key material would be published: "
                                             f"{secret}", _KEY_HINT)]
        problem = self.privacy_problem(item)
        if problem:
            return [Diagnostic(item.path, 0, f"privacy guard: {problem} would be published "
                                             "in this file", _PRIVACY_HINT)]
        return []

    def privacy_problem(self, item: OutputFile) -> str | None:
        """What personal data the file would publish, or None."""
        data = item.data
        if self.other_ids and self.other_ids.found_in(data.lower()):
            return "a learner's identifier (URL or DID)"
        if not item.path.endswith(_TEXT_SUFFIXES):
            return None
        for found in email_addresses(data):
            address = found.decode("utf-8", "replace").lower()
            if address in self.email_ids:
                return "a learner's identifier (e-mail address)"
            if address not in self.public_emails:
                return f"the e-mail address {found.decode('utf-8', 'replace')!r}"
        for run in _PHONE_RUN.finditer(data):
            for match in _PHONE_LIKE.finditer(data, run.start(), run.end() + 1):
                if _digits(match.group()) not in self.public_phones:
                    return f"the phone number {match.group().decode()!r}"
        return None
