"""Validation: one test per kind of bad input, asserting the message users see."""

from dataclasses import replace
from pathlib import Path

import pytest

from conftest import BASE_FILES, NOW, make_site, png_bytes
from generator.errors import format_diagnostics
from generator.load import load_content, stream_content
from generator.validate import validate_content


def problems_for(tmp_path: Path, files: dict, base_url: str | None = None) -> str:
    content = make_site(tmp_path, files)
    loaded, problems = load_content(content)
    valid, more = validate_content(loaded, NOW, base_url)
    text = format_diagnostics(problems + more)
    assert (valid is None) == bool(more) and (valid is not None or text), text
    streamed, problems = stream_content(content)  # as a build reads: record by record
    _, more = validate_content(streamed, NOW, base_url)
    assert format_diagnostics(problems + more) == text
    return text


def test_valid_site_has_no_problems(tmp_path: Path) -> None:
    assert problems_for(tmp_path, {}) == ""


CASES = {
    "yaml syntax": (
        {"learners/fatima.yaml": "name: Fatima\nidentifier: [unclosed\nvisibility: public\n"},
        ["content/learners/fatima.yaml:3: error: YAML syntax error"]),
    "unknown key with suggestion": (
        {"learners/fatima.yaml": "name: Fatima\nidentifer: f@example.org\n"},
        ["content/learners/fatima.yaml:2: error: unknown field 'identifer' in learner record\n"
         "  hint: did you mean 'identifier'?",
         "content/learners/fatima.yaml:1: error: required field 'identifier' is missing"]),
    "missing required": (
        {"issuers/acme.yaml": "name: Acme\nurl: https://acme.example.org/\n"},
        ["content/issuers/acme.yaml:1: error: required field 'email' is missing"]),
    "wrong type": (
        {"learners/fatima.yaml": "name: [Fatima]\nidentifier: f@example.org\n"},
        ["content/learners/fatima.yaml:1: error: 'name' must be text, not a list"]),
    "invalid date": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-02-30\n"},
        ["content/awards/wp-0001.yaml:3: error: cannot read value '2025-02-30'"]),
    "date without zone": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\n"
                                "issued: 2025-02-03T10:00:00\n"},
        ["content/awards/wp-0001.yaml:3: error: 'issued' has a time but no time zone"]),
    "future issue date": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2030-01-01\n"},
        ["content/awards/wp-0001.yaml:3: error: 'issued' is in the future (2030-01-01)"]),
    "expiry before issue": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"
                                "expires: 2024-01-01\n"},
        ["content/awards/wp-0001.yaml:4: error: 'expires' must be after 'issued'"]),
    "duplicate slug": (
        {"learners/fatima2.yaml": "name: Fatima B\nslug: fatima\nidentifier: fb@example.org\n"},
        ["content/learners/fatima2.yaml:2: error: duplicate learner slug 'fatima' "
         "(also used by content/learners/fatima.yaml)"]),
    "duplicate id across extensions": (
        {"learners/jan.yml": "name: Jan B\nidentifier: jb@example.org\n"},
        ["content/learners/jan.yml:1: error: duplicate learner slug 'jan'"]),
    "duplicate award id across extensions": (
        {"awards/wp-0001.yml": "learner: jan\nbadge: lassen-basis\nissued: 2025-03-01\n"},
        ["content/awards/wp-0001.yml:1: error: duplicate award id 'wp-0001' "
         "(also used by content/awards/wp-0001.yaml)"]),
    "duplicate award id in a sub-folder": (
        {"awards/2025/wp-0001.yaml": "learner: jan\nbadge: lassen-basis\nissued: 2025-03-01\n"},
        ["content/awards/wp-0001.yaml:1: error: duplicate award id 'wp-0001' "
         "(also used by content/awards/2025/wp-0001.yaml)\n"
         "  hint: every id must be unique, in sub-folders too"]),
    "duplicate learner slug in a sub-folder": (
        {"learners/groep-a/jan.yaml": "name: Jan B\nidentifier: jb@example.org\n"},
        ["content/learners/jan.yaml:1: error: duplicate learner slug 'jan' "
         "(also used by content/learners/groep-a/jan.yaml)"]),
    "unknown learner": (
        {"awards/wp-0001.yaml": "learner: fatma\nbadge: lassen-basis\nissued: 2025-01-01\n"},
        ["content/awards/wp-0001.yaml:1: error: unknown learner 'fatma'\n"
         "  hint: did you mean 'fatima'?"]),
    "unknown badge": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lasen-basis\nissued: 2025-01-01\n"},
        ["content/awards/wp-0001.yaml:2: error: unknown badge 'lasen-basis'\n"
         "  hint: did you mean 'lassen-basis'?"]),
    "missing image": (
        {"badges/lassen-basis.png": None},
        ["content/badges/lassen-basis.md:4: error: 'image' file not found: 'lassen-basis.png'"]),
    "not an image": (
        {"badges/lassen-basis.png": b"\xff\xd8\xff\xe0 JFIF not really"},
        ["content/badges/lassen-basis.md:4: error: 'image' 'lassen-basis.png': is not a PNG or "
         "SVG image (it is a JPEG file)"]),
    "truncated png": (
        {"badges/lassen-basis.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"},
        ["content/badges/lassen-basis.md:4: error: 'image' 'lassen-basis.png': PNG file is "
         "damaged (truncated PNG: IHDR chunk at byte 8 needs 13 data bytes"]),
    "svg with external reference": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: x.svg\n---\n",
         "badges/x.svg": '<svg xmlns="http://www.w3.org/2000/svg" '
                         'xmlns:xlink="http://www.w3.org/1999/xlink"><image '
                         'xlink:href="https://tracker.example.com/p.png"/></svg>'},
        ["content/badges/lassen-basis.md:4: error: 'image' 'x.svg': SVG refers to an external "
         "resource: 'https://tracker.example.com/p.png'"]),
    "svg with event handler": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: x.svg\n---\n",
         "badges/x.svg": '<svg xmlns="http://www.w3.org/2000/svg"><rect onclick="x()"/></svg>'},
        ["'image' 'x.svg': SVG has an event handler attribute 'onclick'"]),
    "svg with entity": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: x.svg\n---\n",
         "badges/x.svg": '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]>'
                         '<svg xmlns="http://www.w3.org/2000/svg">&a;</svg>'},
        ["'image' 'x.svg': SVG contains a DOCTYPE or ENTITY declaration"]),
    "svg animating a link": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: x.svg\n---\n",
         "badges/x.svg": '<svg xmlns="http://www.w3.org/2000/svg"><a><set attributeName='
                         '"href" to="javascript:alert(1)"/><circle r="4"/></a></svg>'},
        ["'image' 'x.svg': SVG animates a link (<set attributeName=\"href\">)"]),
    "svg with an external fill": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: x.svg\n---\n",
         "badges/x.svg": '<svg xmlns="http://www.w3.org/2000/svg"><circle r="4" '
                         'mask="url(//evil.example/m#m)"/></svg>'},
        ["'image' 'x.svg': SVG attribute 'mask' loads an external resource"]),
    "svg with a style sheet": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: x.svg\n---\n",
         "badges/x.svg": '<?xml-stylesheet href="https://evil.example/x.css"?>'
                         '<svg xmlns="http://www.w3.org/2000/svg"/>'},
        ["'image' 'x.svg': SVG links a style sheet (<?xml-stylesheet?>)"]),
    "oversized svg": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: x.svg\n---\n",
         "badges/x.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="100000px" '
                         'height="10"/>'},
        ["'image' 'x.svg': SVG is 100000px wide; the limit is 4096 pixels"]),
    "png with bytes after its end": (
        {"badges/lassen-basis.png": png_bytes() + b"junk"},
        ["'image' 'lassen-basis.png': PNG file is damaged (corrupt PNG: 4 bytes after the "
         "IEND chunk)"]),
    "too many brackets": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-03-01\n"
                                "narrative: '" + "[" * 600 + "'\n"},
        ["content/awards/wp-0001.yaml:4: error: 'narrative' has more than 500 '['"]),
    "png named svg": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: x.svg\n---\n",
         "badges/x.svg": png_bytes()},
        ["'image' 'x.svg': is a PNG image but its name ends in '.svg'"]),
    "oversized image": (
        {"badges/lassen-basis.png": png_bytes(5000)},
        ["'image' 'lassen-basis.png': image is 5000 × 5000 pixels; the limit is 4096 × 4096"]),
    "bad colour": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\ncolour: red\n---\n"},
        ["content/badges/lassen-basis.md:4: error: 'colour' must be a colour like '#1f6f8b'"]),
    "image outside content": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: ../../etc/passwd\n"
                                   "---\n"},
        ["content/badges/lassen-basis.md:4: error: 'image' points outside the content folder"]),
    "svg with script": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: x.svg\n---\n",
         "badges/x.svg": '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>'
                         "</svg>"},
        ["content/badges/lassen-basis.md:4: error: 'image' 'x.svg': SVG contains a <script> "
         "element"]),
    "unsafe slug": (
        {"learners/fatima.yaml": "name: Fatima\nslug: ../../etc\nidentifier: f@example.org\n"},
        ["content/learners/fatima.yaml:2: error: 'slug' must be lowercase letters, digits and "
         "single hyphens (at most 64), not '../../etc'"]),
    "absolute slug": (
        {"learners/fatima.yaml": "name: Fatima\nslug: /tmp/x\nidentifier: f@example.org\n"},
        ["content/learners/fatima.yaml:2: error: 'slug' must be lowercase letters"]),
    "unsafe file name": (
        {"awards/WP 0003.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"},
        ["content/awards/WP 0003.yaml:1: error: file name 'WP 0003.yaml' is not a safe id"]),
    "bad email": (
        {"learners/fatima.yaml": "name: Fatima\nidentifier: fatima-at-example\n"},
        ["content/learners/fatima.yaml:2: error: 'identifier' must be an e-mail address, a URL "
         "or a DID, not 'fatima-at-example'"]),
    "revocation of unknown award": (
        {"revocations.yaml": "wp-0003:\n  date: 2025-05-01\n  reason: Vergissing\n"},
        ["content/revocations.yaml:1: error: revocation of unknown award 'wp-0003'\n"
         "  hint: did you mean 'wp-0002'?"]),
    "revocation without reason": (
        {"revocations.yaml": "wp-0001:\n  date: 2025-05-01\n"},
        ["content/revocations.yaml:1: error: revocation of 'wp-0001' needs 'reason'"]),
    "revocation before issue": (
        {"revocations.yaml": "wp-0001:\n  date: 2024-05-01\n  reason: x\n"},
        ["content/revocations.yaml:2: error: 'wp-0001' is revoked before it was issued"]),
    "revocation in the future": (
        {"revocations.yaml": "wp-0001:\n  date: 2031-05-01\n  reason: x\n"},
        ["content/revocations.yaml:2: error: revocation date of 'wp-0001' is in the future"]),
    "status index collision": (
        {"status.yaml": "indices:\n  wp-0001: 17\n  wp-0002: 17\n"},
        ["content/status.yaml:3: error: status index collision: 17 is used by both 'wp-0001' "
         "and 'wp-0002'"]),
    "status index out of range": (
        {"status.yaml": "indices:\n  wp-0001: 131072\n  wp-0002: 3\n"},
        ["content/status.yaml:2: error: status index of 'wp-0001' must be a whole number from "
         "0 to 131071"]),
    "award without status index": (
        {"status.yaml": "indices:\n  wp-0001: 17\n"},
        ["content/status.yaml: error: 1 award(s) have no status list index: wp-0002\n"
         "  hint: run `rugzak status allocate`"]),
    "bad learner did": (
        {"learners/fatima.yaml": "name: F\nidentifier: f@example.org\ndid: key:z6Mk\n"},
        ["content/learners/fatima.yaml:3: error: 'did' is not a DID"]),
    "bad validity period": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: lassen-basis.png\n"
                                   "valid_for: 2 jaar\n---\n"},
        ["content/badges/lassen-basis.md:5: error: 'valid_for' must be an ISO 8601 period"]),
    "bad visibility": (
        {"learners/fatima.yaml": "name: Fatima\nidentifier: f@example.org\nvisibility: publik\n"},
        ["content/learners/fatima.yaml:3: error: 'visibility' must be one of public, unlisted, "
         "private, not 'publik'\n  hint: did you mean 'public'?"]),
    "text in unknown language": (
        {"issuers/acme.yaml": "name: {nl: Acme, de: Acme GmbH}\nurl: https://a.example.org/\n"
                              "email: a@example.org\n"},
        ["content/issuers/acme.yaml:1: error: 'name' has text in language 'de'"]),
    "evidence without url": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"
                                "evidence:\n  - name: Foto\n"},
        ["content/awards/wp-0001.yaml:5: error: 'evidence[0]' needs a 'url'"]),
    "javascript evidence url": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"
                                "evidence:\n  - javascript:alert(1)\n"},
        ["content/awards/wp-0001.yaml:5: error: 'evidence[0]' is not a valid URL: it must "
         "start with http:// or https://"]),
    "unknown site issuer": (
        {"site.yaml": "title: T\nbase_url: https://b.example.org/\nissuer: acm\n"},
        ["content/site.yaml:3: error: unknown issuer 'acm'\n  hint: did you mean 'acme'?"]),
    "not a mapping": (
        {"learners/fatima.yaml": "- just\n- a list\n"},
        ["content/learners/fatima.yaml:1: error: the record must be a set of 'field: value' "
         "lines, not a list"]),
    "merge key": (
        {"learners/fatima.yaml": "<<: {name: x}\nidentifier: f@example.org\n"},
        ["content/learners/fatima.yaml:1: error: YAML merge keys (<<) are not allowed"]),
    # dates outside 1900–9999, in every kind of record, and expiries computed past 9999
    "issue date before 1900": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 0001-01-01\n"},
        ["content/awards/wp-0001.yaml:3: error: 'issued' is out of range: the year must be "
         "from 1900 to 9999"]),
    "expiry past 9999 in UTC": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"
                                "expires: 9999-12-31T23:30:00-01:00\n"},
        ["content/awards/wp-0001.yaml:4: error: 'expires' is out of range: the year must be "
         "from 1900 to 9999 (in UTC)"]),
    "revocation date before 1900": (
        {"revocations.yaml": "wp-0001:\n  date: 1899-12-31\n  reason: x\n"},
        ["content/revocations.yaml:2: error: 'date' is out of range"]),
    "endorsement date before 1900": (
        {"endorsers/kvk.yaml": "name: KvK\nurl: https://kvk.example.org/\n",
         "endorsements/kvk-lassen.yaml": "endorser: kvk\nbadge: lassen-basis\n"
                                         "date: 1066-10-14\ncomment: Goed.\n"},
        ["content/endorsements/kvk-lassen.yaml:3: error: 'date' is out of range"]),
    "validity period past 9999": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: lassen-basis.png\n"
                                   "valid_for: P99999999Y\n---\n"},
        ["content/badges/lassen-basis.md:5: error: 'valid_for' 'P99999999Y' is too long: an "
         "award issued now would expire after the year 9999"]),
    "validity period of 5000 digits": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: lassen-basis.png\n"
                                   f"valid_for: P{'9' * 5000}D\n---\n"},
        ["content/badges/lassen-basis.md:5: error: 'valid_for' 'P999"]),
    "validity period of zero": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: lassen-basis.png\n"
                                   "valid_for: P0Y0M0D\n---\n"},
        ["content/badges/lassen-basis.md:5: error: 'valid_for' must be longer than zero, not "
         "'P0Y0M0D'"]),
    # signed endorsement JSON that would exhaust recursion while parsed or verified
    "signed endorsement nested 100,000 deep": (
        {"endorsers/kvk.yaml": "name: KvK\nurl: https://kvk.example.org/\n",
         "endorsements/kvk-lassen.yaml": "endorser: kvk\nbadge: lassen-basis\n"
                                         "date: 2025-10-14\ncomment: Goed.\nsigned: x.json\n",
         "endorsements/x.json": "[" * 100_000 + "]" * 100_000},
        ["content/endorsements/kvk-lassen.yaml:5: error: 'signed' 'x.json' is too deeply "
         "nested (more than 32 levels of lists and objects)"]),
    "signed endorsement nested 40 deep": (
        {"endorsers/kvk.yaml": "name: KvK\nurl: https://kvk.example.org/\n",
         "endorsements/kvk-lassen.yaml": "endorser: kvk\nbadge: lassen-basis\n"
                                         "date: 2025-10-14\ncomment: Goed.\nsigned: x.json\n",
         "endorsements/x.json": '{"a": ' + "[" * 40 + "]" * 40 + "}"},
        ["content/endorsements/kvk-lassen.yaml:5: error: 'signed' 'x.json' is too deeply "
         "nested"]),
    "signed endorsement with NaN": (
        {"endorsers/kvk.yaml": "name: KvK\nurl: https://kvk.example.org/\n",
         "endorsements/kvk-lassen.yaml": "endorser: kvk\nbadge: lassen-basis\n"
                                         "date: 2025-10-14\ncomment: Goed.\nsigned: x.json\n",
         "endorsements/x.json": '{"a": NaN}'},
        ["content/endorsements/kvk-lassen.yaml:5: error: 'signed' 'x.json' is not valid JSON: "
         "NaN is not a JSON value"]),
    "markdown list nested 600 deep": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"
                                f"narrative: \"{'- ' * 600}x\"\n"},
        ["content/awards/wp-0001.yaml:4: error: 'narrative' has a list nested more than 50 "
         "levels deep"]),
    "criteria indented 300 levels deep": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: lassen-basis.png\n"
                                   "---\nJe last.\n\n"
                                   + "".join("\t" * i + "- x\n" for i in range(300))},
        ["content/badges/lassen-basis.md:58: error: the criteria (below the front matter) has a "
         "list nested more than 50 levels deep"]),
    # the same person twice (identifiers compared trimmed and lowercased)
    "duplicate learner identifier": (
        {"learners/zoe.yaml": "name: Zoe\nidentifier: ' JAN.DE.VRIES@example.ORG'\n"},
        ["content/learners/zoe.yaml:2: error: learner identifier is already used by "
         "content/learners/jan.yaml\n  hint: one learner, one record"]),
    "duplicate learner identifier url": (
        {"learners/fatima.yaml": "name: F\nidentifier: https://Portfolio.example.org/f\n",
         "learners/zoe.yaml": "name: Z\nidentifier: https://portfolio.example.org/F\n"},
        ["content/learners/zoe.yaml:2: error: learner identifier is already used by "
         "content/learners/fatima.yaml"]),
    # control characters and bidi controls in text
    "control characters in learner name": (
        {"learners/fatima.yaml": 'name: "Anouk\\u0000\\u0007\\u001b[31m"\n'
                                 "identifier: f@example.org\n"},
        ["content/learners/fatima.yaml:1: error: 'name' contains a control character (U+0000)\n"
         "  hint: remove it: control characters are invisible and not allowed in text"]),
    "bidi override in badge name": (
        {"badges/lassen-basis.md": '---\nname: {nl: "Lassen \\u202eesab", en: Welding}\n'
                                   "description: Y\nimage: lassen-basis.png\n---\n"},
        ["content/badges/lassen-basis.md:2: error: 'name.nl' contains an invisible "
         "text-direction control (U+202E)"]),
    "bidi isolate in issuer description": (
        {"issuers/acme.yaml": "name: Acme\nurl: https://a.example.org/\n"
                              'email: a@example.org\ndescription: "Wij \\u2066lassen\\u2069"\n'},
        ["content/issuers/acme.yaml:4: error: 'description' contains an invisible "
         "text-direction control (U+2066)"]),
    "line break in one-line name": (
        {"issuers/acme.yaml": 'name: "Acme\\nLeerbedrijf"\nurl: https://a.example.org/\n'
                              "email: a@example.org\n"},
        ["content/issuers/acme.yaml:1: error: 'name' must be one line (it contains a tab or "
         "line break, U+000A)"]),
    "tab in site title": (
        {"site.yaml": 'title: "Test\\tsite"\nbase_url: https://b.example.org/\nissuer: acme\n'},
        ["content/site.yaml:1: error: 'title' must be one line"]),
    "escape sequence in narrative": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"
                                'narrative: {nl: "Goed\\e[2J", en: Good}\n'},
        ["content/awards/wp-0001.yaml:4: error: 'narrative.nl' contains a control character "
         "(U+001B)"]),
    "C1 control in revocation reason": (
        {"revocations.yaml": 'wp-0001:\n  date: 2025-05-01\n  reason: "Fout\\u009b"\n'},
        ["content/revocations.yaml:3: error: 'reason' contains a control character (U+009B)"]),
    "control character in evidence name": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"
                                "evidence:\n  - url: https://e.example.org/\n"
                                '    name: "Foto\\u007f"\n'},
        ["content/awards/wp-0001.yaml:6: error: 'evidence[0].name' contains a control "
         "character (U+007F)"]),
    "control character in identifier": (
        {"learners/fatima.yaml": 'name: F\nidentifier: "f\\u0000@example.org"\n'},
        ["content/learners/fatima.yaml:2: error: 'identifier' contains a control character "
         "(U+0000)"]),
    "control character in criteria": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: lassen-basis.png\n"
                                   "---\nJe last.\n\nBel\x07 hier\n"},
        ["content/badges/lassen-basis.md:8: error: the criteria (below the front matter) "
         "contains a control character (U+0007)"]),
    # personal data in texts: what the output guard would refuse at the end of a build
    "e-mail address in a narrative": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"
                                "narrative: {nl: Mail jan@privé.nl, en: Mail him}\n"},
        ["content/awards/wp-0001.yaml:4: error: 'narrative.nl' holds the e-mail address "
         "'jan@privé.nl', which would be published\n  hint: remove it from the records"]),
    "learner's identifier in evidence": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"
                                "evidence:\n  - url: https://e.example.org/\n"
                                "    name: Sent by FATIMA@example.org\n"},
        ["content/awards/wp-0001.yaml:6: error: 'evidence[0].name' holds a learner's "
         "identifier (e-mail address), which would be published"]),
    "phone number in a badge description": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Bel 06-12345678\n"
                                   "image: lassen-basis.png\n---\nJe last.\n"},
        ["content/badges/lassen-basis.md:3: error: 'description' holds the phone number "
         "'06-12345678', which would be published"]),
    "e-mail address in criteria": (
        {"badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: lassen-basis.png\n"
                                   "---\nJe last.\n\nVragen? piet@acme.example.org\n"},
        ["content/badges/lassen-basis.md:6: error: the criteria (below the front matter) hold "
         "the e-mail address 'piet@acme.example.org', which would be published"]),
    "private e-mail address in an issuer's description": (  # its own public one is fine
        {"issuers/acme.yaml": "name: Acme\nurl: https://acme.example.org/\n"
                              "email: badges@acme.example.org\n"
                              "description: Mail badges@acme.example.org of piet@gmail.com\n"},
        ["content/issuers/acme.yaml:4: error: 'description' holds the e-mail address "
         "'piet@gmail.com', which would be published"]),
    "phone number in the site's description, per language": (
        {"site.yaml": BASE_FILES["site.yaml"] + "description:\n  nl: Bel 06-12345678\n"
                                                "  en: Call us\n"},
        ["content/site.yaml:5: error: 'description.nl' holds the phone number '06-12345678', "
         "which would be published"]),
    "e-mail address in a learner's name": (  # the name is published on the profile
        {"learners/jan.yaml": "name: Jan jan.prive@example.com\nidentifier: jan@example.org\n"},
        ["content/learners/jan.yaml:1: error: 'name' holds the e-mail address "
         "'jan.prive@example.com', which would be published"]),
    "unknown field with terminal escapes in its name": (  # shown escaped, not obeyed
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"
                                '"x\\e[2J\\ny": 1\n'},
        ["content/awards/wp-0001.yaml:4: error: unknown field 'x\\x1b[2J\\ny' in award record"]),
    "trailing line break in a telephone number": (  # `$` alone would let it through
        {"issuers/acme.yaml": BASE_FILES["issuers/acme.yaml"] + 'telephone: "+31101234567\\n"\n'},
        ["content/issuers/acme.yaml:4: error: 'telephone' must be one line"]),
    "escaped e-mail address in a narrative": (  # Markdown keeps the entity; a browser shows "@"
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"
                                "narrative: Mail jan&#64;example.org\n"},
        ["content/awards/wp-0001.yaml:4: error: 'narrative' holds the e-mail address "
         "'jan@example.org', which would be published"]),
    "international phone number in evidence": (
        {"awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"
                                "evidence:\n  - url: https://e.example.org/\n"
                                "    name: Bel +31 10 123 4567\n"},
        ["content/awards/wp-0001.yaml:6: error: 'evidence[0].name' holds the phone number "
         "'+31 10 123 4567', which would be published"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_reported_with_file_line_and_hint(tmp_path: Path, name: str) -> None:
    files, expected = CASES[name]
    text = problems_for(tmp_path, files)
    for fragment in expected:
        assert fragment in text, f"{name}: expected {fragment!r} in:\n{text}"
    assert "Traceback" not in text


def test_a_pipe_named_as_the_badge_image_is_not_a_file(tmp_path: Path) -> None:
    import os
    content = make_site(tmp_path, {"badges/lassen-basis.md": "---\nname: X\ndescription: Y"
                                                              "\nimage: pipe.png\n---\n"})
    os.mkfifo(content / "badges/pipe.png")
    loaded, problems = load_content(content)
    _, more = validate_content(loaded, NOW)
    text = format_diagnostics(problems + more)
    assert "'image' 'pipe.png' is not a regular file" in text
    assert "did you mean" not in text


@pytest.mark.parametrize("url, message", [
    ("ftp://badges.example.org/", "it must start with http:// or https://"),
    ("https:///nohost", "it has no host name"),
    ("https://user:pw@example.org/", "must not contain a user name or password"),
    ("https://exa mple.org/", "spaces or control characters"),
    ("https://example.org:99999/", "Port out of range"),
    ('https://ex"ample.org/', "has a host name that is not a valid DNS name: 'ex\"ample.org'"),
    ("https://münchen.example/", "write it in its ASCII (IDNA) form, 'xn--mnchen-3ya.example'"),
    ("https://example.org/?x=1", "must not have a ?query or #fragment"),
])
def test_invalid_base_url(tmp_path: Path, url: str, message: str) -> None:
    site = BASE_FILES["site.yaml"].replace("https://badges.example.org/", url)
    text = problems_for(tmp_path / "in-site", {"site.yaml": site})
    assert "content/site.yaml:2: error: 'base_url' " in text and message in text
    text = problems_for(tmp_path / "option", {}, base_url=url)  # the option, not site.yaml
    assert text.startswith(f"--base-url: error: {url!r}: ") and message in text, text
    assert "site.yaml" not in text


def test_identifier_may_be_url_or_did(tmp_path: Path) -> None:
    assert problems_for(tmp_path, {
        "learners/fatima.yaml": "name: F\nidentifier: https://portfolio.example.org/fatima\n",
        "learners/jan.yaml": "name: J\nidentifier: did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5\n"}
    ) == ""


def test_base_url_gets_trailing_slash(tmp_path: Path) -> None:
    loaded, _ = load_content(make_site(tmp_path))
    valid, problems = validate_content(loaded, NOW, "http://127.0.0.1:8765/sub")
    assert valid is not None and valid.site.values["base_url"] == "http://127.0.0.1:8765/sub/"


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    text = problems_for(tmp_path, {
        "learners/fatima.yaml": "name: Fatima\nidentifier: nope\n",
        "awards/wp-0001.yaml": "learner: fatima\nbadge: nope\nissued: 2025-01-01\n"})
    assert "'identifier' must be an e-mail address, a URL or a DID" in text
    assert "unknown badge 'nope'" in text
    assert "2 errors found; nothing was written." in text


def test_urls_with_any_space_or_control_character_are_refused() -> None:
    import sys

    from generator.validate import url_problem
    refused = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace() or ord(c) < 32]
    assert len(refused) > 32 and "\u00a0" in refused and "\u3000" in refused
    for char in refused:
        assert url_problem(f"https://example.org/a{char}b") == \
            "it contains spaces or control characters", repr(char)
    assert url_problem("https://example.org/a\u00e9b") == ""


def test_a_build_holds_one_raw_record_at_a_time(tmp_path: Path) -> None:
    """Records stream from the loader through validation: each one's raw values are gone
    before the next is read (they would double the memory of a large site)."""
    import gc
    import weakref

    content = make_site(tmp_path, {
        "awards/broken.yaml": "learner: nobody\n",
        "awards/wp-0002.yaml": "learner: jan\nbadge: lassen-basis\nissued: 2025-04-01\n"
                               "expires: 2026-01-01\nnarrative: {nl: Goed, en: Good}\n"
                               "badge: twice\n",
        "awards/wp-0003.yaml": "# who?\nlearner: nobody\nbadge: lassen-basis\n"
                               "issued: 2025-04-01\n"})
    loaded, problems = stream_content(content)
    alive: list[weakref.ref] = []

    def watched():
        for record in loaded.records:
            gc.collect()  # (the one just handed out is still named by the loops' variables)
            assert sum(ref() is not None for ref in alive[:-1]) == 0
            alive.append(weakref.ref(record))
            yield record

    valid, more = validate_content(replace(loaded, records=watched()), NOW)
    assert len(alive) > 5 and valid is None
    text = format_diagnostics(problems + more)
    assert "content/awards/wp-0003.yaml:2: error: unknown learner 'nobody'" in text
    assert "content/awards/wp-0002.yaml:6: error: YAML syntax error" in text or (
        "content/awards/wp-0002.yaml:6: error: field 'badge' appears twice" in text), text
    assert "content/awards/broken.yaml:1: error: required field 'badge' is missing" in text


def test_awards_are_handed_over_as_they_are_checked(tmp_path: Path) -> None:
    """A build models each award as soon as it is validated instead of holding every cleaned
    award first: the result keeps none, and the model equals one made from all records."""
    from generator.build import load_site
    from generator.load import RECORD_FOLDERS
    from generator.model import build_site

    # what awards name is read first, so it is all known when the first award arrives
    order = list(RECORD_FOLDERS)
    assert order.index("award") > max(order.index("learner"), order.index("badge"))
    content = make_site(tmp_path, {
        "awards/wp-0003.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-05-01\n"
                               "narrative: {nl: Goed gedaan, en: Well done}\nevidence:\n"
                               "  - url: https://example.org/werk\n    name: Werk\n",
        "status.yaml": "indices:\n  wp-0001: 17\n  wp-0002: 4242\n  wp-0003: 9\n",
        "revocations.yaml": "wp-0002:\n  date: 2025-06-01\n  reason: Vergissing\n"})
    handed: list[tuple[str, str]] = []
    loaded, _ = load_content(content)
    valid, problems = validate_content(loaded, NOW, None,
                                       lambda award, default: handed.append((award.id, default)))
    assert not problems and valid is not None
    assert handed == [("wp-0001", "nl"), ("wp-0002", "nl"), ("wp-0003", "nl")]
    assert not valid.of_kind("award") and valid.of_kind("learner")
    everything, _ = validate_content(load_content(content)[0], NOW)
    streamed = load_site(content, NOW, None)
    assert streamed == build_site(everything, NOW)  # type: ignore[arg-type]
    assert [a.status for a in streamed.awards] == ["valid", "revoked", "valid"]
    assert streamed.awards[2].evidence[0].name.get("en") == "Werk"


@pytest.mark.parametrize("indices, message", [
    ("  wp-0001: -5\n  wp-0002: 4242\n",
     "content/status.yaml:2: error: status index of 'wp-0001' must be a whole number from 0 "
     "to 131071, not -5"),
    ("  wp-0001: 17\n  wp-0002: 17\n",
     "content/status.yaml:3: error: status index collision: 17 is used by both 'wp-0001' and "
     "'wp-0002'"),
    ("  - 17\n", "content/status.yaml:1: error: 'indices' must map award ids to numbers"),
])
def test_bad_status_entry_is_reported_once(tmp_path: Path, indices: str, message: str) -> None:
    """A rejected entry is the problem: its award is not also said to have no index."""
    text = problems_for(tmp_path, {"status.yaml": "indices:\n" + indices})
    assert text.startswith(message + "\n") and "1 error found" in text, text
    assert "no status list index" not in text


def test_the_issuers_published_contacts_may_appear_in_texts(tmp_path: Path) -> None:
    assert problems_for(tmp_path, {
        "issuers/acme.yaml": "name: Acme Leerbedrijf\nurl: https://acme.example.org/\n"
                             "email: badges@acme.example.org\ntelephone: '+31612345678'\n",
        "awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-01-01\n"
                               "narrative:\n  nl: 'Vragen: BADGES@acme.example.org of "
                               "+31 6 1234 5678'\n  en: 'Questions? 06-12345678'\n"}) == ""


def test_multi_line_text_keeps_tabs_and_line_breaks(tmp_path: Path) -> None:
    """Markdown and descriptions may hold tabs and line breaks; names stay one line."""
    assert problems_for(tmp_path, {
        "awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 2025-03-01\n"
                               "narrative: \"- een\\n\\t- twee\\r\\n\"\n",
        "issuers/acme.yaml": "name: Acme Leerbedrijf\nurl: https://acme.example.org/\n"
                             "email: badges@acme.example.org\ndescription: |\n  Wij\n  lassen.\n",
        "badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: lassen-basis.png\n"
                                  "---\n" + "".join("  " * i + "- x\n" for i in range(20))
                                  # right-to-left text needs no direction controls
                                  + "\u0627\u0644\u0644\u062d\u0627\u0645 "
                                    "\u05e2\u05d1\u05e8\u05d9\u05ea\n"}
    ) == ""


def test_dates_at_the_edges_of_the_range_pass(tmp_path: Path) -> None:
    assert problems_for(tmp_path, {
        "awards/wp-0001.yaml": "learner: fatima\nbadge: lassen-basis\nissued: 1900-01-01\n"
                               "expires: 9999-12-31T23:59:59Z\n",
        "badges/lassen-basis.md": "---\nname: X\ndescription: Y\nimage: lassen-basis.png\n"
                                  "valid_for: P7000Y\n---\n"}) == ""


def test_learner_dids_are_compared_ignoring_case(tmp_path: Path) -> None:
    text = problems_for(tmp_path, {
        "learners/fatima.yaml": "name: F\nidentifier: did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5\n",
        "learners/zoe.yaml": "name: Z\nidentifier: did:key:Z6MKJZRZV3AEZ3R18PB1RBFJR1KWUVJ5\n"})
    assert "content/learners/zoe.yaml:2: error: learner identifier is already used by " \
           "content/learners/fatima.yaml" in text


def test_files_records_name_that_cannot_be_read(tmp_path: Path) -> None:
    """A name too long for the file system, or a link that loops, is a problem of the field
    that names it (not a traceback)."""
    content = make_site(tmp_path)
    (content / "badges" / "lassen-basis.png").unlink()
    (content / "badges" / "lassen-basis.png").symlink_to("lassen-basis.png")
    (content / "endorsements").mkdir()
    (content / "endorsements" / "x.json").symlink_to("x.json")
    text = problems_for(tmp_path, {
        "badges/lassen-basis.png": None,
        "issuers/acme.yaml": "name: Acme\nurl: https://a.example.org/\nemail: a@example.org\n"
                             f"image: {'a' * 300}.png\n",
        "endorsers/kvk.yaml": "name: KvK\nurl: https://kvk.example.org/\n",
        "endorsements/kvk-lassen.yaml": "endorser: kvk\nbadge: lassen-basis\n"
                                        "date: 2025-10-14\ncomment: Goed.\nsigned: x.json\n"})
    assert f"content/issuers/acme.yaml:4: error: 'image' '{'a' * 300}.png' cannot be read: " \
           "File name too long" in text
    assert "content/badges/lassen-basis.md:4: error: 'image' 'lassen-basis.png' cannot be " \
           "read: it is a symbolic link loop" in text
    assert "content/endorsements/kvk-lassen.yaml:5: error: 'signed' 'x.json' cannot be read: " \
           "it is a symbolic link loop" in text


def test_site_and_issuer_texts_may_name_any_issuers_public_contacts(tmp_path: Path) -> None:
    # site.yaml is read before any issuer, an issuer before the next: all are known by the end
    files = {"site.yaml": BASE_FILES["site.yaml"].replace(
                 "title:", "description: Vragen? badges@acme.example.org of 010 123 4567\ntitle:"),
             "issuers/acme.yaml": BASE_FILES["issuers/acme.yaml"]
             + "description: Samen met info@zuid.example.org\n",
             "issuers/zuid.yaml": "name: Zuid\nurl: https://zuid.example.org/\n"
                                  "email: info@zuid.example.org\ntelephone: '+31101234567'\n"}
    assert problems_for(tmp_path, files) == ""
