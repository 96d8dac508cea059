"""The published JSON Schemas match the field specs, accept the demo and reject bad records."""

import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from generator.schema import SCHEMA_DIR, SPECS, json_schema, schema_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_committed_schema_is_current(kind: str) -> None:
    committed = (SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(kind), "run: python -m generator.schema"


def _front_matter(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return text.split("---", 2)[1] if path.suffix == ".md" else text


@pytest.mark.parametrize("folder, kind", [("issuers", "issuer"), ("badges", "badge"),
                                          ("learners", "learner"), ("awards", "award")])
def test_demo_records_validate_and_reference_their_schema(folder: str, kind: str) -> None:
    validator = jsonschema.Draft202012Validator(json_schema(kind))
    files = sorted((ROOT / "content" / folder).glob("*.md" if kind == "badge" else "*.yaml"))
    assert files
    for path in files:
        text = _front_matter(path)
        assert f"$schema=../../generator/schemas/{kind}.schema.json" in text.split("\n", 2)[
            0 if kind != "badge" else 1], path
        data = yaml.safe_load(text)
        data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
        errors = list(validator.iter_errors(data))
        assert not errors, f"{path}: {errors[0].message}"


def test_schema_rejects_unknown_key_and_bad_visibility() -> None:
    validator = jsonschema.Draft202012Validator(json_schema("learner"))
    assert not validator.is_valid({"name": "A", "identifier": "a@example.org", "x": 1})
    assert not validator.is_valid({"name": "A", "identifier": "a@example.org",
                                   "visibility": "publik"})


def test_readme_documents_every_field() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for kind, specs in SPECS.items():
        heading = "### `site.yaml`" if kind == "site" else f"### `{kind}s/" if kind != "badge" \
            else "### `badges/"
        section = readme.split(heading, 1)[1].split("\n### ", 1)[0]
        for spec in specs:
            assert re.search(rf"^\| `{spec.name}` \|", section, re.MULTILINE), \
                f"README section {heading} does not document '{spec.name}'"


def test_schema_rejects_what_validation_rejects_in_dates_and_text() -> None:
    """Editors flag the same dates and characters as `rugzak check`."""
    award = jsonschema.Draft202012Validator(json_schema("award"))
    base = {"learner": "a", "badge": "b", "issued": "2025-03-01"}
    assert award.is_valid({**base, "narrative": "- een\n\t- twee\r\n",
                           "expires": "9999-12-31T23:59:59Z"})
    for bad in ({"issued": "0001-01-01"}, {"issued": "1899-12-31"},
                {"narrative": "Goed\x1b[2J"}, {"narrative": {"nl": "a\u202eb"}},
                {"evidence": [{"url": "https://e.org/", "name": "a\nb"}]}):
        assert not award.is_valid({**base, **bad}), bad
    learner = jsonschema.Draft202012Validator(json_schema("learner"))
    assert learner.is_valid({"name": "Anouk Dijkstra", "identifier": "a@example.org"})
    for name in ("Anouk\x00", "Anouk\u2066x\u2069", "Anouk\tD", "Anouk\x9b"):
        assert not learner.is_valid({"name": name, "identifier": "a@example.org"}), name
    issuer = jsonschema.Draft202012Validator(json_schema("issuer"))
    base = {"name": "Acme", "url": "https://a.org/", "email": "a@a.org"}
    assert issuer.is_valid({**base, "description": "Wij\nlassen."})
    assert not issuer.is_valid({**base, "name": "Acme\nLeer"})
