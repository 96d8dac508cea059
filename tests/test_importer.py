"""`rugzak import`: bulk awards from a spreadsheet export; all-or-nothing; idempotent.

Fixtures in tests/fixtures/import/: `broken.csv` (5 broken rows among good ones),
`latin1.csv` (saved in the wrong encoding), `comma-iso.csv` (`,` and ISO dates, no BOM).
"""

from __future__ import annotations

import hashlib
import io
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from conftest import NOW, ROOT
from generator.build import load_site
from generator.newrecord import next_award_ids
from generator.progress import Progress
from test_scaffold import run_cli

FIXTURES = ROOT / "tests" / "fixtures" / "import"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A copy of the demo content (imports write into it)."""
    return Path(shutil.copytree(ROOT / "content", tmp_path / "content"))


def next_ids(content: Path, count: int) -> list[str]:
    """The award ids an import into `content` will hand out (the demo grows over time)."""
    from generator.newrecord import read_site
    site = read_site(content)
    return next_award_ids(site.awards, site.taken_award_ids(), count)


def tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` with a hash of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def awards_csv(content: Path, rows: int = 200) -> bytes:
    """A spreadsheet export as Dutch Excel writes it: BOM, `;`, CRLF, day-first dates."""
    learners = [yaml.safe_load(p.read_text()) for p in sorted((content / "learners").glob("*"))]
    badges = sorted(p.stem for p in (content / "badges").glob("*.md"))
    lines = ["Naam;E-mail;Badge;Datum;Verhaal;Bewijs;Zichtbaarheid"]
    for i in range(rows):
        if i % 5 == 0:  # 20 new learners, two rows each
            n = i // 10
            name, email = f"Deelnemer {n:02d} van Dijk-Özdemir", f"Deelnemer{n}@Example.org"
            visibility = ("openbaar", "onvermeld", "privé")[n % 3]
        else:
            learner = learners[i % len(learners)]
            name, email, visibility = learner["name"], learner["identifier"], ""
        day = date(2023, 1, 1) + timedelta(days=i)
        shown = f"{day.day}-{day.month}-{day.year}" if i % 2 else day.strftime("%d/%m/%Y")
        narrative = f'"Werkte aan ""opdracht {i}""; netjes\nafgerond."' if i % 4 == 0 else ""
        evidence = f"https://westpractice.nl/portfolio/{i}" if i % 3 == 0 else ""
        lines.append(";".join([name, email, badges[i % len(badges)], shown, narrative,
                               evidence, visibility]))
    return b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode("utf-8")


def test_import_200_rows_then_reimport_creates_nothing(demo: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    csv_path = tmp_path / "awards.csv"
    csv_path.write_bytes(awards_csv(demo))
    before = tree(demo)
    first_id = next_ids(demo, 1)[0]
    awards_before = len(list((demo / "awards").glob("*.yaml")))
    learners_before = len(list((demo / "learners").glob("*.yaml")))
    assert run_cli(["import", str(csv_path), "--content", str(demo), "--dry-run"]) == (0, "")
    out = capsys.readouterr().out
    assert tree(demo) == before
    assert out.count(": new award ") == 200
    assert f"{csv_path.as_posix()}:2: new award {first_id}: '3d-printen' for " \
           "'deelnemer-00-van-dijk-ozdemir' (2023-01-01) and new learner" in out
    assert out.rstrip().endswith("200 new awards, 20 new learners, 0 already present; "
                                 "dry run: nothing was written")

    assert run_cli(["import", str(csv_path), "--content", str(demo)]) == (0, "")
    assert "200 new awards, 20 new learners, 0 already present; written" in \
        capsys.readouterr().out
    site = load_site(demo, NOW, None)  # the site still validates
    assert len(site.awards) == awards_before + 200
    assert len(site.learners) == learners_before + 20
    new_learner = yaml.safe_load((demo / "learners/deelnemer-01-van-dijk-ozdemir.yaml")
                                 .read_text())
    assert new_learner == {"name": "Deelnemer 01 van Dijk-Özdemir",
                           "identifier": "Deelnemer1@Example.org", "visibility": "unlisted"}
    first = yaml.safe_load((demo / f"awards/{first_id}.yaml").read_text())
    assert first["narrative"] == 'Werkte aan "opdracht 0"; netjes\nafgerond.'
    assert first["evidence"] == ["https://westpractice.nl/portfolio/0"]
    assert first["issued"] == date(2023, 1, 1)
    assert (demo / f"awards/{first_id}.yaml").read_text().startswith(
        "# yaml-language-server: $schema=../../generator/schemas/award.schema.json\n")

    after = tree(demo)
    assert run_cli(["import", str(csv_path), "--content", str(demo)]) == (0, "")
    assert "0 new awards, 0 new learners, 200 already present; nothing to write" in \
        capsys.readouterr().out
    assert tree(demo) == after


def test_five_broken_rows_are_all_reported_and_nothing_is_written(
        demo: Path, capsys: pytest.CaptureFixture) -> None:
    before = tree(demo)
    ids = next_ids(demo, 3)  # rows 2, 4 and 6 are good
    csv_path = FIXTURES / "broken.csv"
    shown = csv_path.as_posix()
    for extra in (["--dry-run"], []):
        code, err = run_cli(["import", str(csv_path), "--content", str(demo), *extra])
        assert code == 1
        errors = [line for line in err.splitlines() if ": error: " in line]
        assert errors == [
            f"{shown}:3: error: unknown badge 'lasen' — did you mean 'lassen-basis'?",
            f"{shown}:5: error: datum/date: '31-02-2023' is not a real date (day first: "
            "dd-mm-yyyy)",
            f"{shown}:7: error: cell 'Verhaal' starts with '=': formulas are not accepted",
            f"{shown}:8: error: duplicate row: same learner, badge and date as row 2",
            f"{shown}:10: error: no learner has the identifier 'onbekend@example.org'",
        ]
        assert err.endswith("5 errors found; nothing was written.")
        assert tree(demo) == before
    out = capsys.readouterr().out  # the dry run also reported the good rows
    assert f"{shown}:4: new award {ids[1]}: 'cnc-frezen' for 'chloe-verbeek'" in out
    assert f"{shown}:6: new award {ids[2]}: 'veilig-werken' for 'nieuwe-deelnemer' " \
           "(2023-02-01) and new learner" in out


def test_wrong_encoding_is_refused_with_byte_and_line(demo: Path) -> None:
    code, err = run_cli(["import", str(FIXTURES / "latin1.csv"), "--content", str(demo)])
    assert code == 1
    assert err.splitlines()[0] == (f"{(FIXTURES / 'latin1.csv').as_posix()}: error: not UTF-8 "
                                   "(byte 0xe9 at line 3); export as 'CSV UTF-8'")


def test_comma_separator_iso_dates_and_english_columns(demo: Path) -> None:
    first_id = next_ids(demo, 1)[0]
    assert run_cli(["import", str(FIXTURES / "comma-iso.csv"), "--content",
                    str(demo)]) == (0, "")
    jos = yaml.safe_load((demo / "learners/jos-brouwer.yaml").read_text())
    assert jos["visibility"] == "private"
    award = yaml.safe_load((demo / f"awards/{first_id}.yaml").read_text())
    assert award["narrative"] == "Welded a frame, then a gate."
    assert award["evidence"] == ["https://westpractice.nl/p/2", "https://westpractice.nl/p/3"]
    load_site(demo, NOW, None)


@pytest.mark.parametrize("data, message", [
    (b"Naam;Badge;Opmerking\nA;lassen-basis;x\n",
     ":1: error: missing columns: datum/date, e-mail/email (or leerling-id/slug) (the header "
     "line is: 'Naam;Badge;Opmerking')"),
    (b"naam;email;badge;datum;verhal\n", ":1: error: unknown column 'verhal' — did you mean "
                                        "'verhaal'?"),
    (b"naam;email;email;badge;datum\n", ":1: error: two columns mean e-mail/email: 'email' "
                                       "and 'email'"),
    (b"\xff\xfen\x00a\x00", ": error: file is UTF-16 ('Unicode text'), not UTF-8"),
    (b"PK\x03\x04rest", ": error: this is a spreadsheet workbook (.xlsx/.ods), not CSV"),
    (b"", ": error: the file is empty"),
    (b"email;badge;datum\nfatima.elamrani@example.org;lassen-basis;1-2-2023;extra\n",
     ":2: error: row has 4 cells but the header names 3 columns"),
    (b"email;badge;datum\nfatima.elamrani@example.org;lassen-basis;1-2-23\n",
     ":2: error: datum/date: date '1-2-23' has a two-digit year"),
    (b"email;badge;datum\nfatima.elamrani@example.org;lassen-basis;1-2-2099\n",
     ":2: error: datum/date 2099-02-01 is in the future"),
    (b"email;badge;datum;bewijs\nfatima.elamrani@example.org;lassen-basis;1-2-2023;"
     b"javascript:x\n", ":2: error: bewijs/evidence 'javascript:x' is not a usable URL"),
    (b"email;badge;datum\n@SUM(1);lassen-basis;1-2-2023\n",
     ":2: error: cell 'email' starts with '@': formulas are not accepted"),
    (b"leerling-id;badge;datum\nfatma;lassen-basis;1-2-2023\n",
     ":2: error: unknown learner 'fatma' — did you mean 'fatima-el-amrani'?"),
    (b"leerling-id;email;badge;datum\nfatima-el-amrani;anouk.dijkstra@example.org;"
     b"lassen-basis;1-2-2023\n",
     ":2: error: 'anouk.dijkstra@example.org' belongs to learner 'anouk-dijkstra', not "
     "'fatima-el-amrani'"),
    (b"naam;email;badge;datum\nA;a@example.org;lassen-basis;1-2-2023\n"
     b"B;A@example.org;cnc-frezen;1-2-2023\n",
     ":3: error: new learner 'A@example.org' has two names: 'A' (row 2) and 'B'"),
    (b'email;badge;datum\n"fatima.elamrani@example.org;lassen-basis;1-2-2023\n',
     ":2: error: CSV syntax error: unexpected end of data"),
    (b"email;badge;datum;verhaal\nfatima.elamrani@example.org;lassen-basis;1-2-2023;"
     b"Bel 06-12345678\n", ":2: error: verhaal/narrative holds the phone number "
                          "'06-12345678', which would be published"),
    (b"naam;email;badge;datum\nJan jan.prive@example.com;jan@example.org;lassen-basis;"
     b"1-2-2023\n", ":2: error: naam/name holds the e-mail address 'jan.prive@example.com'"),
    (b"email;badge;datum;bewijs\nfatima.elamrani@example.org;lassen-basis;1-2-2023;"
     b"https://example.org/?user=anouk.dijkstra%40example.org\n",
     ":2: error: bewijs/evidence holds a learner's identifier (e-mail address)"),
])
def test_bad_files_and_rows(demo: Path, tmp_path: Path, data: bytes, message: str) -> None:
    csv_path = tmp_path / "in.csv"
    csv_path.write_bytes(data)
    before = tree(demo)
    code, err = run_cli(["import", str(csv_path), "--content", str(demo)])
    assert code == 1 and f"{csv_path.as_posix()}{message}" in err, err
    assert tree(demo) == before


def test_note_columns_and_existing_slugs(demo: Path) -> None:
    first_id = next_ids(demo, 1)[0]
    csv_path = demo.parent / "in.csv"
    csv_path.write_text("# opmerking;Leerling-ID;Badge;Datum\nbelde later;fatima-el-amrani;"
                        "Lassen basis;2023-05-04\n", encoding="utf-8")
    assert run_cli(["import", str(csv_path), "--content", str(demo)]) == (0, "")
    assert yaml.safe_load((demo / f"awards/{first_id}.yaml").read_text())["learner"] == \
        "fatima-el-amrani"


def test_progress_draws_only_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True
    ticks = iter(range(100))
    screen = Terminal()
    with Progress(3, "import", screen, enabled=True, clock=lambda: next(ticks)) as progress:
        progress.advance()
        progress.advance(2, "wp26-0016")
    assert screen.getvalue().startswith("\rimport: 1/3 (33%)")
    assert "\rimport: 3/3 (100%) wp26-0016" in screen.getvalue()
    assert screen.getvalue().endswith("\r")  # the line is erased at the end
    quiet = io.StringIO()  # not a terminal: nothing at all
    with Progress(3, "import", quiet) as progress:
        progress.advance(3)
    assert quiet.getvalue() == ""
    from generator.progress import is_interactive
    assert not is_interactive(Terminal(), {"CI": "true"})
    assert is_interactive(Terminal(), {})
