"""`rugzak new badge|learner|award`: well-formed records, safe ids, prompts only on a TTY."""

from __future__ import annotations

import io
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from conftest import NOW, make_site
from generator.build import load_site
from generator.newrecord import next_award_ids, parse_day
from test_scaffold import run_cli


def new(content: Path, *args: str) -> tuple[int, str]:
    return run_cli(["new", args[0], "--content", str(content), *args[1:]])


def test_new_badge_learner_award_make_a_valid_site(site_dir: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    assert new(site_dir, "badge", "--name", "Solderen: basis #1", "--description",
               "Solderen van 'through-hole' onderdelen.", "--colour", "#B3261E") == (0, "")
    assert new(site_dir, "learner", "--name", "Jan de Vries", "--identifier",
               "jan.devries@example.org", "--visibility", "public") == (0, "")
    assert new(site_dir, "award", "--learner", "jan-de-vries", "--badge", "solderen-basis-1",
               "--issued", "3-11-2026", "--narrative", "Soldeerde: een *print*.",
               "--evidence", "https://acme.example.org/p/1") == (0, "")
    out = capsys.readouterr().out
    assert "wrote " in out and "content/awards/wp-0003.yaml (status list index" in out
    badge = (site_dir / "badges/solderen-basis-1.md").read_text()
    assert badge.startswith("---\n# yaml-language-server: $schema=")
    front = yaml.safe_load(badge.split("---\n")[1])
    assert front == {"name": "Solderen: basis #1", "colour": "#b3261e",
                     "description": "Solderen van 'through-hole' onderdelen."}
    award = (site_dir / "awards/wp-0003.yaml").read_text()
    assert award.startswith("# yaml-language-server: $schema=")
    assert yaml.safe_load(award) == {
        "learner": "jan-de-vries", "badge": "solderen-basis-1", "issued": date(2026, 11, 3),
        "narrative": "Soldeerde: een *print*.", "evidence": ["https://acme.example.org/p/1"]}
    assert "wp-0003:" in (site_dir / "status.yaml").read_text()
    site = load_site(site_dir, NOW, None)  # raises on any problem
    assert {a.id for a in site.awards} == {"wp-0001", "wp-0002", "wp-0003"}


def test_unknown_badge_is_refused_with_a_suggestion(site_dir: Path) -> None:
    code, err = new(site_dir, "award", "--learner", "fatima", "--badge", "lasen")
    assert (code, err) == (2, "rugzak: error: unknown badge 'lasen' — did you mean "
                              "'lassen-basis'?")
    code, err = new(site_dir, "award", "--learner", "fatma", "--badge", "lassen-basis")
    assert err == "rugzak: error: unknown learner 'fatma' — did you mean 'fatima'?"
    assert not (site_dir / "awards/wp-0003.yaml").exists()


def test_missing_value_without_a_terminal_names_the_option(site_dir: Path,
                                                           monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, err = new(site_dir, "badge", "--description", "x")
    assert (code, err) == (2, "rugzak: error: new badge: missing --name (badge name); give it "
                              "as an option (there is no terminal to ask on)")
    code, err = new(site_dir, "award", "--badge", "lassen-basis")
    assert "missing --learner (the learner's slug)" in err


def test_missing_value_is_asked_on_a_terminal(site_dir: Path, monkeypatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True
    monkeypatch.setattr(sys, "stdin", Terminal())
    answers = iter(["", "Veilig werken", "Werkt veilig in de werkplaats."])
    prompts: list[str] = []
    monkeypatch.setattr("builtins.input", lambda p: prompts.append(p) or next(answers))
    assert new(site_dir, "badge") == (0, "")
    assert prompts == ["badge name: ", "badge name: ", "one-sentence description: "]
    assert (site_dir / "badges/veilig-werken.md").is_file()


def test_never_overwrites_and_never_reuses_ids(site_dir: Path) -> None:
    code, err = new(site_dir, "badge", "--name", "Lassen basis", "--description", "x")
    assert err == ("rugzak: error: badge 'lassen-basis' already exists "
                   "(content/badges/lassen-basis.md); choose another id with --id")
    code, err = new(site_dir, "award", "--learner", "fatima", "--badge", "lassen-basis",
                    "--id", "wp-0001")
    assert code == 2 and "--id 'wp-0001' is already used" in err
    # a deleted award keeps its status index, so its id is not handed out again
    (site_dir / "awards/wp-0002.yaml").unlink()
    assert new(site_dir, "award", "--learner", "jan", "--badge", "lassen-basis") == (0, "")
    assert (site_dir / "awards/wp-0003.yaml").is_file()
    code, err = new(site_dir, "award", "--learner", "jan", "--badge", "lassen-basis")
    assert code == 2 and ("'jan' already has 'lassen-basis' issued on 2026-11-28 "
                          "(content/awards/wp-0003.yaml)") in err


def test_learner_slugs_are_safe_and_unique(site_dir: Path) -> None:
    assert new(site_dir, "learner", "--name", "Fátima  O'Neil-Ağa", "--identifier",
               "fo@example.org") == (0, "")
    assert (site_dir / "learners/fatima-o-neil-aga.yaml").is_file()
    assert new(site_dir, "learner", "--name", "Fátima O'Neil Aga", "--identifier",
               "fo2@example.org") == (0, "")
    assert (site_dir / "learners/fatima-o-neil-aga-2.yaml").is_file()
    code, err = new(site_dir, "learner", "--name", "X", "--identifier", "FATIMA@example.org")
    assert err == ("rugzak: error: learner 'fatima' (content/learners/fatima.yaml) already "
                   "has this identifier; award badges to that learner instead")
    code, err = new(site_dir, "learner", "--name", "X", "--identifier", "not an address")
    assert err == ("rugzak: error: identifier 'not an address' is not an e-mail address, "
                   "http(s) URL or DID")
    code, err = new(site_dir, "learner", "--name", "X", "--identifier", "x@example.org",
                    "--slug", "../../etc")
    assert code == 2 and "--slug '../../etc' is not a safe slug" in err
    code, err = new(site_dir, "learner", "--name", "Piet piet.prive@example.com",
                    "--identifier", "piet@example.org")
    assert code == 2 and "--name holds the e-mail address 'piet.prive@example.com'" in err


@pytest.mark.parametrize("options, message", [
    (["--issued", "31-02-2026"], "--issued: '31-02-2026' is not a real date"),
    (["--issued", "1-3-26"], "two-digit year"),
    (["--issued", "2027-01-01"], "--issued 2027-01-01 is in the future"),
    (["--evidence", "javascript:alert(1)"], "is not a usable URL: it must start with http"),
    (["--narrative", "Mail me: jan@privé.nl"], "--narrative holds the e-mail address "
                                              "'jan@privé.nl', which would be published"),
    (["--narrative", "Fatima (fatima@example.org)"], "--narrative holds a learner's identifier"),
])
def test_award_values_are_checked(site_dir: Path, options: list[str], message: str) -> None:
    code, err = new(site_dir, "award", "--learner", "fatima", "--badge", "lassen-basis",
                    *options)
    assert code == 2 and message in err


def test_hostile_text_round_trips_through_yaml(tmp_path: Path) -> None:
    content = make_site(tmp_path)
    tricky = "*alias &anchor: {x}\n- [not, a, list] # no comment 'quote' \"dq\" \\ yes"
    assert new(content, "award", "--learner", "fatima", "--badge", "lassen-basis",
               "--narrative", tricky) == (0, "")
    assert yaml.safe_load((content / "awards/wp-0003.yaml").read_text())["narrative"] == tricky
    load_site(content, NOW, None)


def test_next_award_ids_and_dates() -> None:
    assert next_award_ids(["wp25-0046", "wp26-0015", "wp24-0030"], set(), 2) == [
        "wp26-0016", "wp26-0017"]
    assert next_award_ids(["a-9"], {"a-10"}, 1) == ["a-11"]
    random = next_award_ids(["first", "second"], set(), 2)
    assert len(set(random)) == 2 and all(i.startswith("award-") for i in random)
    assert parse_day("1-3-2025") == parse_day("01/03/2025") == parse_day("2025-03-01") == \
        date(2025, 3, 1)
    assert "not a date" in parse_day("March 1")


def test_path_completions_awards_missing_completion_badges(tmp_path) -> None:
    import shutil
    import subprocess
    import sys
    from conftest import ROOT
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    run = [sys.executable, "-m", "generator"]
    before = subprocess.run(run + ["check", "--content", str(content)], capture_output=True,
                            text=True)
    assert "completed the path 'metaal' but has no 'leerpad-metaal' award" in before.stderr
    made = subprocess.run(run + ["new", "award", "--content", str(content),
                                 "--path-completions"], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert "pawel-kowalczyk completed 'metaal'" in made.stdout
    after = subprocess.run(run + ["check", "--content", str(content)], capture_output=True,
                           text=True)
    assert after.returncode == 0 and "completed the path" not in after.stderr


def test_a_named_pipe_among_the_records_does_not_block(site_dir: Path) -> None:
    import os
    os.mkfifo(site_dir / "awards" / "000.yaml")
    code, err = new(site_dir, "award", "--learner", "fatima", "--badge", "lassen-basis")
    assert code == 0, err
