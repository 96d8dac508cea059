"""The last check before anything is published: private keys and personal data in output files.

Every file a build makes passes `OutputGuard.check` on its way to the staging folder (in the
worker that made it), so nothing is held back in memory for a final scan. A problem found
stops the build before the swap: the previous output stays as it was.
"""

from __future__ import annotations

from typing import Iterable

from generator.errors import Diagnostic
from generator.keys import Keyring, find_private_key_material
from generator.model import Site
from generator.origins import origin, remote_loads
from generator.personal import PRIVACY_HINT, Contacts, personal_data
from generator.write import OutputFile

_TEXT_SUFFIXES = (".html", ".json", ".xml", ".txt", ".jwt", ".jws", ".svg", ".css", ".js",
                  ".jsonld", "_headers")
_KEY_HINT = "never put keys or the site secret in records or themes"
_ORIGIN_HINT = ("nothing in a page may load from another origin (it would tell that site who "
                "looks at the page, and fail offline): put the file in the theme's static/ "
                "folder and refer to it by a relative address")


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
    phone numbers in an output file, and what a page would load from another origin.

    Fast on large sites: e-mail identifiers are found by one e-mail pattern plus a set lookup
    (no alternation over thousands of addresses); URL/DID identifiers by substring search.
    Binary files (PNG, PDF) are searched for identifiers and keys only: the text they carry
    (baked credentials, certificate lines) is published in the text files scanned in full,
    and their compressed streams would only give the patterns noise to chew on.
    """

    def __init__(self, site: Site, keyring: Keyring):
        self.keyring = keyring
        self.own_origin = origin(site.base_url)
        self.contacts = Contacts()
        for learner in site.learners:
            if learner.identifier_type == "email":
                self.contacts.add_learner(learner.identifier)
        for issuer in site.issuers:
            self.contacts.add_public(issuer.email, issuer.telephone)
        self.other_ids = _Needles(l.identifier.lower().encode("utf-8") for l in site.learners
                                  if l.identifier_type != "email")

    def check(self, item: OutputFile) -> list[Diagnostic]:
        """The problems in one file (usually none)."""
        secret = find_private_key_material(item.data, self.keyring)
        if secret:
            return [Diagnostic(item.path, 0, f"private key material would be published: "
                                             f"{secret}", _KEY_HINT)]
        problem = self.privacy_problem(item)
        if problem:
            return [Diagnostic(item.path, 0, f"privacy guard: {problem} would be published "
                                             "in this file", PRIVACY_HINT)]
        # (SVG files are left out: badge images are refused at loading when they refer to
        # anything outside themselves, and an SVG shown as an image loads nothing anyway)
        if item.path.endswith((".html", ".css")):
            for address in remote_loads(item.data, self.own_origin,
                                        css_only=item.path.endswith(".css")):
                return [Diagnostic(item.path, 0, f"this file would load {address!r} from "
                                                 "another origin", _ORIGIN_HINT)]
        return []

    def privacy_problem(self, item: OutputFile) -> str | None:
        """What personal data the file would publish, or None."""
        data = item.data
        if self.other_ids and self.other_ids.found_in(data.lower()):
            return "a learner's identifier (URL or DID)"
        if not item.path.endswith(_TEXT_SUFFIXES):
            return None
        return personal_data(data, self.contacts)
