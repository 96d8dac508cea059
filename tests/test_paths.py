"""Learning paths, endorsements and alignment: progress, warnings, outputs and bad input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from conftest import NOW, make_site
from generator.build import build, load_site, site_warnings
from generator.errors import ContentError
from generator.keys import multikey, new_key
from generator.model import path_progress
from generator.sign import sign_data_integrity

ESCO_WELDING = "http://data.europa.eu/esco/skill/5fd5c985-eaaa-47aa-8314-62359c54505a"
ESCO_JOB = "http://data.europa.eu/esco/occupation/1f1b1b1b-2c2c-4d4d-8e8e-9f9f9f9f9f9f"
SECOND_BADGE = {"badges/cnc.md": "---\nname: CNC\ndescription: Frezen.\ncolour: '#335577'\n"
                                 "requires: [lassen-basis]\n---\nTekst\n"}
PATH = ("name: {nl: Leerpad metaal, en: Metal path}\ndescription: Naar de haven.\n"
        f"target: {{name: Lasser, esco: '{ESCO_JOB}'}}\n"
        "steps:\n  - badge: lassen-basis\n  - any: [cnc, lassen-basis]\n    name: Machine\n"
        "completion: cnc\n")


def alignment_badge() -> str:
    return ("---\nname: {nl: Lassen basis, en: Welding basics}\n"
            "description: {nl: Basis lassen., en: Basic welding.}\nimage: lassen-basis.png\n"
            f"alignment:\n  - esco: '{ESCO_WELDING}'\n    name: {{nl: lassen, en: weld}}\n"
            "  - eqf: 2\n  - nlqf: entree\n---\nTekst\n")


def signed_endorsement(subject: str) -> str:
    key = new_key("Ed25519", date(2026, 1, 1))
    did = "did:key:" + multikey(key.public_key)
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                     "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"],
        "id": "urn:uuid:0b6f3c1e-1d2a-4c4b-8e9f-1234567890ab",
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "name": "Aanbeveling", "issuer": {"id": did, "type": ["Profile"], "name": "Haven BV"},
        "validFrom": "2026-02-16T00:00:00Z",
        "credentialSubject": {"id": subject, "type": ["EndorsementSubject"],
                              "endorsementComment": "Sterk."}}
    return json.dumps(sign_data_integrity(document, key, f"{did}#{did[8:]}",
                                          "2026-02-16T00:00:00Z"))


def endorsement_files(signed: str | None = None) -> dict:
    files = {"endorsers/haven.yaml": "name: Haven BV\nurl: https://haven.example.com/\n",
             "endorsements/haven-lassen.yaml": "endorser: haven\nbadge: lassen-basis\n"
                                               "date: 2026-02-16\ncomment: Sterk.\n"}
    if signed is not None:
        files["endorsements/haven-lassen.yaml"] += "signed: haven.json\n"
        files["endorsements/haven.json"] = signed
    return files


def test_progress_and_completion_warning(tmp_path: Path) -> None:
    content = make_site(tmp_path, {**SECOND_BADGE, "paths/metaal.yaml": PATH})
    site = load_site(content, NOW, None)
    path = site.paths[0]
    assert path_progress(path, set()) == (0, path.steps[0])
    assert path_progress(path, {"lassen-basis"}) == (2, None)
    warnings = site_warnings(site)
    assert warnings == ["warning: learner 'fatima' completed the path 'metaal' but has no 'cnc' "
                        "award\n  hint: create it with `rugzak new award --path-completions`",
                        "warning: learner 'jan' completed the path 'metaal' but has no 'cnc' "
                        "award\n  hint: create it with `rugzak new award --path-completions`"]


def test_path_page_profile_progress_and_ob3_relation(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path, {**SECOND_BADGE, "paths/metaal.yaml": PATH.replace(
        "  - any: [cnc, lassen-basis]", "  - any: [cnc]")})
    out = tmp_path / "out"
    build(content, out, None, keyring, NOW)
    assert "Leerpad metaal" in (out / "paths/metaal/index.html").read_text()
    assert "Metal path" in (out / "en/paths/metaal/index.html").read_text()
    profile = (out / "p/fatima/index.html").read_text()
    assert "1 van 2 stappen" in profile and 'href="../../badges/cnc/"' in profile
    achievement = json.loads((out / "a/wp-0001/credential.json").read_text())[
        "credentialSubject"]["achievement"]
    assert {"targetName": "Leerpad metaal", "targetType": "ext:LearningPath"}.items() <= \
        achievement["alignment"][0].items()


def test_alignment_in_ob2_and_ob3(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path, {"badges/lassen-basis.md": alignment_badge()})
    out = tmp_path / "out"
    build(content, out, None, keyring, NOW)
    badge = json.loads((out / "badges/lassen-basis.json").read_text())
    assert badge["alignment"][0] == {"targetName": "lassen", "targetUrl": ESCO_WELDING,
                                     "targetFramework": "ESCO",
                                     "targetCode": ESCO_WELDING.rsplit("/", 1)[1]}
    assert badge["alignment"][1]["targetUrl"] == "http://data.europa.eu/snb/eqf/2"
    assert badge["alignment"][2]["targetCode"] == "Entree"
    achievement = json.loads((out / "a/wp-0001/credential.json").read_text())[
        "credentialSubject"]["achievement"]
    assert achievement["alignment"][0]["type"] == ["Alignment"]
    assert achievement["alignment"][0]["targetType"] == "ext:ESCOSkill"
    assert "Sluit aan bij" in (out / "badges/lassen-basis/index.html").read_text()


def test_hosted_and_signed_endorsements(tmp_path: Path, keyring) -> None:
    signed = signed_endorsement("https://badges.example.org/achievements/lassen-basis.json")
    content = make_site(tmp_path, endorsement_files(signed))
    out = tmp_path / "out"
    build(content, out, None, keyring, NOW)
    hosted = json.loads((out / "endorsements/haven-lassen.json").read_text())
    assert hosted["type"] == "Endorsement" and hosted["claim"]["id"].endswith(
        "badges/lassen-basis.json")
    badge = json.loads((out / "badges/lassen-basis.json").read_text())
    assert badge["endorsement"] == [hosted["id"]]
    assert json.loads((out / "endorsements/haven-lassen.credential.json").read_text()) == \
        json.loads(signed)
    achievement = json.loads((out / "a/wp-0001/credential.json").read_text())[
        "credentialSubject"]["achievement"]
    assert achievement["endorsement"] == [json.loads(signed)]
    assert "Ondertekend door de aanbeveler" in (out / "badges/lassen-basis/index.html").read_text()


def test_unsigned_endorsement_is_labelled(tmp_path: Path, keyring) -> None:
    out = tmp_path / "out"
    build(make_site(tmp_path, endorsement_files()), out, None, keyring, NOW)
    assert "niet ondertekend door de aanbeveler" in (
        out / "badges/lassen-basis/index.html").read_text()


def problems(tmp_path: Path, files: dict) -> str:
    with pytest.raises(ContentError) as caught:
        load_site(make_site(tmp_path, files), NOW, None)
    return str(caught.value)


def test_path_with_unknown_badge(tmp_path: Path) -> None:
    text = problems(tmp_path, {**SECOND_BADGE, "paths/metaal.yaml": PATH.replace(
        "badge: lassen-basis", "badge: lasen-basis")})
    assert "content/paths/metaal.yaml:5: error: step 1 names unknown badge 'lasen-basis'" in text
    assert "did you mean 'lassen-basis'?" in text


def test_prerequisite_cycle(tmp_path: Path) -> None:
    text = problems(tmp_path, {**SECOND_BADGE, "badges/lassen-basis.md":
                               "---\nname: X\ndescription: Y\nimage: lassen-basis.png\n"
                               "requires: [cnc]\n---\n"})
    assert "error: prerequisite cycle: cnc → lassen-basis → cnc" in text


@pytest.mark.parametrize("item, message", [
    ("  - esco: 'http://data.europa.eu/esco/skill/NOT-A-UUID'\n    name: x\n",
     "'alignment[0].esco' is not an ESCO concept URI"),
    ("  - esco: 'https://data.europa.eu/esco/skill/5fd5c985-eaaa-47aa-8314-62359c54505a'\n"
     "    name: x\n", "'alignment[0].esco' is not an ESCO concept URI"),
    ("  - eqf: 9\n", "EQF level must be 1 to 8, not 9"),
    ("  - nlqf: 0\n", "NLQF level must be entree or 1 to 8, not 0"),
    ("  - eqf: 2\n    nlqf: 2\n", "'alignment[0]' needs exactly one of esco, eqf, nlqf"),
])
def test_bad_alignment(tmp_path: Path, item: str, message: str) -> None:
    badge = ("---\nname: X\ndescription: Y\nimage: lassen-basis.png\nalignment:\n" + item +
             "---\n")
    text = problems(tmp_path, {"badges/lassen-basis.md": badge})
    assert message in text and "content/badges/lassen-basis.md:" in text


def test_target_must_be_an_esco_occupation(tmp_path: Path) -> None:
    text = problems(tmp_path, {**SECOND_BADGE, "paths/metaal.yaml": PATH.replace(
        ESCO_JOB, ESCO_WELDING)})
    assert "'target.esco' must be an ESCO occupation" in text


def test_endorsement_with_bad_signature(tmp_path: Path) -> None:
    signed = json.loads(signed_endorsement(
        "https://badges.example.org/achievements/lassen-basis.json"))
    signed["credentialSubject"]["endorsementComment"] = "Vervalst."
    text = problems(tmp_path, endorsement_files(json.dumps(signed)))
    assert "content/endorsements/haven-lassen.yaml:5: error: signed endorsement " \
           "'haven.json' rejected: signature: signature mismatch" in text


def test_endorsement_for_another_badge(tmp_path: Path) -> None:
    signed = signed_endorsement("https://badges.example.org/achievements/cnc.json")
    text = problems(tmp_path, endorsement_files(signed))
    assert "rejected: it endorses 'https://badges.example.org/achievements/cnc.json', not this " \
           "record's subject" in text


def test_endorsement_needs_exactly_one_subject(tmp_path: Path) -> None:
    files = endorsement_files()
    files["endorsements/haven-lassen.yaml"] += "issuer: acme\n"
    assert "an endorsement names exactly one of 'badge' or 'issuer'" in problems(tmp_path, files)
