"""Field specifications per record kind — the single source for validation, JSON Schema and docs.

Each record kind lists its fields with a type, whether it is required and a one-line meaning.
`validate` checks records against these specs; `json_schema()` publishes the same rules as JSON
Schema for editors (`# yaml-language-server: $schema=…`), and a test keeps the README in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}$"
VISIBILITIES = ("public", "unlisted", "private")
DID_PATTERN = r"^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$"
RECIPIENT_PATTERN = (r"^([^@\s]+@[^@\s]+\.[^@\s]+|https?://[^\s]+|"
                     r"did:[a-z0-9]+:[A-Za-z0-9._:%-]+)$")
# ESCO concept URIs as the EC publishes them (http, not https): digest §F.3.
ESCO_PATTERN = (r"^http://data\.europa\.eu/esco/(skill|occupation)/"
                r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DURATION_PATTERN = r"^P(?=\d)(\d+Y)?(\d+M)?(\d+D)?$"
MAX_SLUG_LENGTH = 64
# Years a date may have. Earlier ones are typing mistakes (Open Badges began in 2011), and a
# year below 1000 is not written with four digits in the credentials; 9999 is the last year
# Python's dates hold (an expiry computed from `valid_for` must stay within it as well).
MIN_YEAR, MAX_YEAR = 1900, 9999
# Characters no record text may hold (as regular-expression class contents, for `validate`
# and the JSON Schemas): C0 controls but tab and line breaks, DEL, C1 controls, and the
# Unicode bidi embeddings, overrides and isolates, which reorder what a reader sees
# ("Trojan Source"). One-line text (LINE_CONTROLS) refuses tab and line breaks as well.
TEXT_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
LINE_CONTROLS = r"\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
# Text fields (type "text") with these names are one line: names and the site title.
ONE_LINE_FIELDS = ("name", "title")
_SAFE_ID = re.compile(SLUG_PATTERN)


def is_safe_id(text: str) -> bool:
    """Whether `text` is a valid id or slug (safe as a URL and file name)."""
    return len(text) <= MAX_SLUG_LENGTH and _SAFE_ID.fullmatch(text) is not None


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record: its value type, whether it is required and what it means."""

    name: str
    type: str  # text | markdown | string | url | email | telephone | id | slug | date | path | enum | tags | languages | evidence
    required: bool
    doc: str
    choices: tuple[str, ...] = ()


SPECS: dict[str, tuple[FieldSpec, ...]] = {
    "site": (
        FieldSpec("title", "text", True, "site name, shown on every page"),
        FieldSpec("description", "text", False, "summary for the home page and search engines"),
        FieldSpec("base_url", "url", True, "absolute http(s) URL the site is served at"),
        FieldSpec("languages", "languages", False, "language codes; the first is the default"),
        FieldSpec("theme", "slug", False, "theme folder name; default 'default'"),
        FieldSpec("issuer", "id", True, "the issuer that signs this site's credentials"),
    ),
    "issuer": (
        FieldSpec("name", "text", True, "organisation name"),
        FieldSpec("url", "url", True, "the organisation's home page"),
        FieldSpec("email", "email", True, "public contact address"),
        FieldSpec("description", "text", False, "what the organisation does"),
        FieldSpec("image", "path", False, "logo, PNG or SVG, relative to the record"),
        FieldSpec("telephone", "telephone", False, "public phone number, E.164 (+31101234567)"),
        FieldSpec("linkedin_id", "digits", False, "LinkedIn organisation id, for the "
                                                  "add-to-profile link"),
    ),
    "badge": (
        FieldSpec("name", "text", True, "badge name"),
        FieldSpec("description", "text", True, "one-paragraph summary"),
        FieldSpec("image", "path", False, "PNG or SVG badge image, relative to the record; "
                                          "generated from name and colour when omitted"),
        FieldSpec("colour", "colour", False, "#rrggbb colour of a generated image"),
        FieldSpec("alignment", "alignment", False, "ESCO skills/occupations, EQF and NLQF "
                                                   "levels the badge aligns to"),
        FieldSpec("requires", "idlist", False, "badges a learner should hold first"),
        FieldSpec("issuer", "id", False, "issuing organisation; default the site's issuer"),
        FieldSpec("tags", "tags", False, "keywords"),
        FieldSpec("valid_for", "duration", False, "validity period of each award, ISO 8601 "
                                                  "(P2Y, P18M, P90D)"),
    ),
    "learner": (
        FieldSpec("name", "string", True, "display name"),
        FieldSpec("slug", "slug", False, "public id used in the profile URL; default file name"),
        FieldSpec("identifier", "recipient", True,
                  "e-mail address, URL or DID; published only as a salted hash"),
        FieldSpec("did", "did", False, "the learner's own DID, published as the credential "
                                       "subject id"),
        FieldSpec("visibility", "enum", False, "public, unlisted (default) or private",
                  VISIBILITIES),
    ),
    "path": (
        FieldSpec("name", "text", True, "path name"),
        FieldSpec("description", "markdown", True, "what the path leads to (Markdown)"),
        FieldSpec("target", "target", False, "the job it leads to: name and ESCO occupation"),
        FieldSpec("steps", "steps", True, "ordered steps: badge, or any of several badges"),
        FieldSpec("completion", "id", False, "badge awarded when every step is done"),
    ),
    "endorser": (
        FieldSpec("name", "text", True, "organisation name"),
        FieldSpec("url", "url", True, "its home page"),
        FieldSpec("description", "text", False, "who they are"),
    ),
    "endorsement": (
        FieldSpec("endorser", "id", True, "the endorser"),
        FieldSpec("badge", "id", False, "the endorsed badge class (or issuer)"),
        FieldSpec("issuer", "id", False, "the endorsed issuer (or badge)"),
        FieldSpec("date", "date", True, "when the endorsement was given"),
        FieldSpec("comment", "markdown", True, "what the endorser says"),
        FieldSpec("signed", "jsonfile", False, "EndorsementCredential signed by the endorser"),
    ),
    "award": (
        FieldSpec("learner", "slug", True, "the learner's slug"),
        FieldSpec("badge", "id", True, "the badge class id"),
        FieldSpec("issued", "date", True, "date the badge was awarded"),
        FieldSpec("narrative", "markdown", False, "what the learner did (Markdown)"),
        FieldSpec("evidence", "evidence", False, "URLs or {url, name, description} items"),
        FieldSpec("expires", "date", False, "date after which the badge is expired"),
    ),
}

_DATE_PATTERN = (r"^(19\d{2}|[2-9]\d{3})-\d{2}-\d{2}"  # years MIN_YEAR to MAX_YEAR
                 r"([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$")


def _localized(inner: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [inner, {"type": "object", "minProperties": 1,
                              "propertyNames": {"pattern": LANGUAGE_PATTERN},
                              "additionalProperties": inner}]}


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    text = {"type": "string", "minLength": 1, "pattern": f"^[^{TEXT_CONTROLS}]*$"}
    line = {"type": "string", "minLength": 1, "pattern": f"^[^{LINE_CONTROLS}]*$"}
    simple: dict[str, dict[str, Any]] = {
        "text": _localized(line if spec.name in ONE_LINE_FIELDS else text),
        "markdown": _localized(text),
        "string": line,
        "url": {"type": "string", "pattern": r"^https?://[^\s]+$"},
        "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
        "telephone": {"type": "string", "pattern": r"^\+[1-9][0-9]{6,14}$"},
        "recipient": {"type": "string", "pattern": RECIPIENT_PATTERN},
        "did": {"type": "string", "pattern": DID_PATTERN},
        "duration": {"type": "string", "pattern": DURATION_PATTERN},
        "colour": {"type": "string", "pattern": r"^#[0-9a-fA-F]{6}$"},
        "digits": {"anyOf": [{"type": "string", "pattern": r"^[0-9]{1,20}$"},
                             {"type": "integer", "minimum": 0}]},
        "idlist": {"type": "array", "items": {"type": "string", "pattern": SLUG_PATTERN}},
        "jsonfile": {"type": "string", "pattern": r"^[^/\\][^\\]*\.json$"},
        "alignment": {"type": "array", "items": {"anyOf": [
            {"type": "object", "required": ["esco", "name"], "additionalProperties": False,
             "properties": {"esco": {"type": "string", "pattern": ESCO_PATTERN},
                            "name": _localized(line)}},
            {"type": "object", "required": ["eqf"], "additionalProperties": False,
             "properties": {"eqf": {"type": "integer", "minimum": 1, "maximum": 8},
                            "name": _localized(line)}},
            {"type": "object", "required": ["nlqf"], "additionalProperties": False,
             "properties": {"nlqf": {"enum": ["entree", 1, 2, 3, 4, 5, 6, 7, 8]},
                            "name": _localized(line)}}]}},
        "target": {"type": "object", "required": ["name"], "additionalProperties": False,
                   "properties": {"name": _localized(line),
                                  "esco": {"type": "string", "pattern": ESCO_PATTERN}}},
        "steps": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False,
            "properties": {"badge": {"type": "string", "pattern": SLUG_PATTERN},
                           "any": {"type": "array", "minItems": 1,
                                   "items": {"type": "string", "pattern": SLUG_PATTERN}},
                           "name": _localized(line)},
            "oneOf": [{"required": ["badge"]}, {"required": ["any"]}]}},
        "id": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": MAX_SLUG_LENGTH},
        "slug": {"type": "string", "pattern": SLUG_PATTERN, "maxLength": MAX_SLUG_LENGTH},
        "date": {"type": "string", "pattern": _DATE_PATTERN},
        "path": {"type": "string", "pattern": r"^[^/\\][^\\]*$"},
        "enum": {"enum": list(spec.choices)},
        "tags": {"type": "array", "items": line},
        "languages": {"type": "array", "minItems": 1, "uniqueItems": True,
                      "items": {"type": "string", "pattern": LANGUAGE_PATTERN}},
        "evidence": {"type": "array", "items": {"anyOf": [
            {"type": "string", "pattern": r"^https?://[^\s]+$"},
            {"type": "object", "required": ["url"], "additionalProperties": False,
             "properties": {"url": {"type": "string", "pattern": r"^https?://[^\s]+$"},
                            "name": _localized(line), "description": _localized(text)}}]}},
    }
    schema = dict(simple[spec.type])
    schema["description"] = spec.doc
    return schema


REVOCATION_SPECS = (
    FieldSpec("date", "date", True, "when the award was revoked"),
    FieldSpec("reason", "text", True, "why (shown on the award page and in the JSON)"),
)


def _special_schema(kind: str) -> dict[str, Any]:
    if kind == "revocations":
        entry = {"type": "object", "additionalProperties": False,
                 "required": [s.name for s in REVOCATION_SPECS],
                 "properties": {s.name: _field_schema(s) for s in REVOCATION_SPECS}}
        return {"type": "object", "propertyNames": {"pattern": SLUG_PATTERN},
                "additionalProperties": entry}
    return {"type": "object", "additionalProperties": False, "required": ["indices"],
            "properties": {"indices": {
                "type": "object", "propertyNames": {"pattern": SLUG_PATTERN},
                "additionalProperties": {"type": "integer", "minimum": 0,
                                         "maximum": STATUS_LIST_BITS - 1}}}}


STATUS_LIST_BITS = 131_072  # Bitstring Status List: "at least 16 KB = 131,072 bits"
SPECIAL_KINDS = ("revocations", "status")


def json_schema(kind: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for one record kind, for editors and for users' CI."""
    if kind in SPECIAL_KINDS:
        return {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": f"Rugzak {kind}.yaml", **_special_schema(kind)}
    specs = SPECS[kind]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Rugzak {kind} record",
        "type": "object",
        "additionalProperties": False,
        "required": [s.name for s in specs if s.required],
        "properties": {s.name: _field_schema(s) for s in specs},
    }


SCHEMA_DIR = __import__("pathlib").Path(__file__).parent / "schemas"


def schema_text(kind: str) -> str:
    """The committed text of a kind's JSON Schema file."""
    import json
    return json.dumps(json_schema(kind), ensure_ascii=False, indent=2) + "\n"


def write_schemas() -> None:
    """Regenerate `generator/schemas/*.schema.json` (run: python -m generator.schema)."""
    SCHEMA_DIR.mkdir(exist_ok=True)
    for kind in (*SPECS, *SPECIAL_KINDS):
        (SCHEMA_DIR / f"{kind}.schema.json").write_text(schema_text(kind), encoding="utf-8")


if __name__ == "__main__":
    write_schemas()
