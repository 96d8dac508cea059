"""The output guard's patterns (generator/guard.py); builds that it stops: tests/test_build.py."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import make_site
from generator.build import load_site
from generator.guard import OutputGuard
from generator.write import OutputFile

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


@pytest.fixture
def guard(tmp_path: Path, keyring) -> OutputGuard:
    return OutputGuard(load_site(make_site(tmp_path), NOW, None), keyring)


@pytest.mark.parametrize("text", [
    "Bel 06-12345678.", "tel:06-12345678", "+31 6 1234 5678", "(010 123 4567)",
    "0031 6 12345678", "bel 0612345678 of mail"])
def test_phone_numbers_are_found(guard: OutputGuard, text: str) -> None:
    problem = guard.privacy_problem(OutputFile("a/x/index.html", text.encode()))
    assert problem is not None and problem.startswith("the phone number")


@pytest.mark.parametrize("text", [
    # credential ids whose first UUID groups are digits (found at 20,000 generated awards)
    '"id": "urn:uuid:00469673-7327-5433-8f2e-1c9a4e0b7d21"',
    '"id": "urn:uuid:00853446-8937-5b2e-9c1d-0a7f3e2b6c54"',
    "urn:uuid:06123456-1234-5123-8123-123456789012",
    '"validFrom": "2025-03-01T00:00:00Z"', "M4 4h7v1H4z", "sha256-0123456789abcdef",
    "eyJhbGciOiJSUzI1NiJ9.eyJ0ZWwiOiIwMDQ2OTY3MzczMjcifQ"])
def test_ids_dates_and_encodings_are_not_phone_numbers(guard: OutputGuard, text: str) -> None:
    assert guard.privacy_problem(OutputFile("a/x/credential.json", text.encode())) is None


def test_binary_files_are_checked_for_identifiers_only(guard: OutputGuard) -> None:
    data = b"\x89PNG...bel 06-12345678...info@elders.example.org"
    assert guard.privacy_problem(OutputFile("a/x/badge.png", data)) is None
    assert guard.privacy_problem(OutputFile("a/x/index.html", data)) is not None


def test_private_key_material_is_refused(guard: OutputGuard, keyring) -> None:
    secret = keyring.site_secret.hex().encode()
    problems = guard.check(OutputFile("assets/app.js", b"var s='" + secret + b"';"))
    assert problems and "private key material" in problems[0].message


def test_phone_runs_find_exactly_what_the_full_pattern_finds() -> None:
    """The run prefilter is an optimisation only: same matches as scanning everything."""
    import random

    from generator import guard

    def everywhere(data: bytes) -> list[bytes]:
        return [m.group() for m in guard._PHONE_LIKE.finditer(data)]

    def in_runs(data: bytes) -> list[bytes]:
        return [m.group() for run in guard._PHONE_RUN.finditer(data)
                for m in guard._PHONE_LIKE.finditer(data, run.start(), run.end() + 1)]

    rng = random.Random(7)
    alphabet = b"00001123456789   ++--.a/$=_x\n"
    texts = [bytes(rng.choice(alphabet) for _ in range(rng.randint(5, 40)))
             for _ in range(20000)]
    context = b"a/$=.-_ x\n"
    for _ in range(5000):  # phone-like numbers with every kind of neighbour
        digits = "".join(rng.choice("0123456789" + " -" * 2) for _ in range(rng.randint(6, 14)))
        number = rng.choice(["+31", "0031", "0", "06", "+", "00"]) + digits
        texts.append(bytes([rng.choice(context)]) + number.encode() + bytes([rng.choice(context)]))
    texts += [b"bel +31 6 1234 5678.", b"06-12345678", b"010 123 4567", b"tel:0612345678<",
              b"M 12.5 0.1234567 L 0 0612345678 Z", b"urn:uuid:00469673-7327-5433-a1b2"]
    assert sum(bool(everywhere(t)) for t in texts) > 200  # the texts do contain numbers
    for text in texts:
        assert in_runs(text) == everywhere(text), text


def test_url_and_did_identifiers_are_found_as_the_naive_search_finds_them() -> None:
    """One set lookup per identifier length where "http" or "did:" starts, instead of one
    search per learner: the same answers as searching for every identifier."""
    import random

    from generator.guard import _Needles

    rng = random.Random(7)
    ids = [f"https://school.example/learners/{n}".encode() for n in range(0, 3000, 7)]
    ids += [f"did:web:school.example:l{n}".encode() for n in range(50)]
    needles = _Needles(ids)
    pieces = [b"https://school.example/learners/", b"did:web:school.example:l", b"http",
              b"did:", b"<a href=\"", b"\">", b" ", b"x"] + [str(n).encode() for n in range(40)]
    for _ in range(3000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert needles.found_in(data) == any(i in data for i in ids), data
    assert needles.found_in(b"see https://school.example/learners/14/profile")  # inside a URL
    assert not _Needles([])


def test_a_learner_url_identifier_in_a_page_is_refused(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path)
    learner = next((content / "learners").iterdir())
    text = learner.read_text()
    old = next(line for line in text.splitlines() if line.startswith("identifier:"))
    learner.write_text(text.replace(old, "identifier: https://school.example/u/Anna"))
    guard = OutputGuard(load_site(content, NOW, None), keyring)
    page = OutputFile("a/x/index.html", b"<p>HTTPS://school.example/u/anna</p>")
    assert guard.privacy_problem(page) == "a learner's identifier (URL or DID)"
    assert guard.privacy_problem(OutputFile("a/x/index.html", b"<p>school</p>")) is None


def test_addresses_found_from_each_at_sign_are_what_the_full_pattern_finds() -> None:
    """`email_addresses` is an optimisation only: the same matches as the full pattern."""
    import random
    import re

    from generator import guard

    # the pattern the guard used before: a match starts only where a run of address
    # characters starts, and takes the whole run
    email_like = re.compile(rb"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++@[A-Za-z0-9-]+"
                            rb"(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
    rng = random.Random(11)
    pieces = [b"@", b"a", b"Z9", b".", b"-", b"_", b"%", b"+", b"example", b".org", b".n",
              b" ", b'"', b"@context", b"\xc3\xa9", b"x@y.com@z.org", b"..", b"\n"]
    for _ in range(5000):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        expected = [m.group() for m in email_like.finditer(data)]
        assert list(guard.email_addresses(data)) == expected, data
    assert list(guard.email_addresses(b'{"@context": 1, "x": "info@west.example.org"}')) == [
        b"info@west.example.org"]
