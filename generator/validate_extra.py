"""Validation of structured fields (alignment, learning-path steps, targets) and of the links
between badges, paths and endorsements: prerequisite cycles, signed endorsements.

Split from `validate` to keep modules small; `validate._Checker` mixes `StructuredFields` in.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Callable

from generator.errors import Diagnostic, did_you_mean, shown
from generator.load import MAX_RECORD_BYTES
from generator.schema import ESCO_PATTERN, SLUG_PATTERN

_ESCO = re.compile(ESCO_PATTERN)
_SLUG = re.compile(SLUG_PATTERN)
NLQF_LEVELS = ("entree", 1, 2, 3, 4, 5, 6, 7, 8)  # NLQF: Entree, then 1–8 (as EQF)
# A credential nests a few levels (credential → subject → achievement → alignment → item);
# verifying walks it recursively, so a deeper one is refused before it gets there.
MAX_JSON_DEPTH = 32


def json_too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether lists and objects in `value` nest more than `limit` levels deep (found level
    by level, without recursion)."""
    level = [value]
    for _ in range(limit):
        level = [child for item in level if isinstance(item, (dict, list))
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return False
    return any(isinstance(item, (dict, list)) for item in level)


def unreadable(exc: OSError | RuntimeError) -> str:
    """Why a file a record names cannot be read: an OSError's reason (a name too long for
    the file system, no permission), or a symbolic link loop (Python 3.11/3.12's
    `Path.resolve` raises RuntimeError for one)."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return "it is a symbolic link loop"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")  # Python's json would accept NaN


class StructuredFields:
    """Field cleaners for list/mapping-valued fields; needs the `_Checker` basics."""

    error: Callable[..., None]
    text: Callable[..., Any]
    string: Callable[..., Any]
    record: Any

    def _keys(self, path: tuple, item: dict, allowed: tuple[str, ...], what: str) -> None:
        for key in item:
            if key not in allowed:
                self.error(path + (key,), f"unknown field {shown(key)} in {what}",
                           did_you_mean(str(key), allowed) or f"known: {', '.join(allowed)}")

    def idlist(self, path: tuple, value: Any, name: str) -> tuple[str, ...] | None:
        if not isinstance(value, list) or not all(isinstance(v, str) and _SLUG.fullmatch(v)
                                                  for v in value):
            self.error(path, f"'{name}' must be a list of ids such as [veilig-werken]")
            return None
        return tuple(value)

    def esco(self, path: tuple, value: Any, name: str, kind: str | None = None) -> str | None:
        if not isinstance(value, str) or not _ESCO.fullmatch(value):
            self.error(path, f"'{name}' is not an ESCO concept URI: {value!r}",
                       "write http://data.europa.eu/esco/skill/<uuid> or "
                       ".../occupation/<uuid> (http, lowercase uuid)")
            return None
        if kind and f"/esco/{kind}/" not in value:
            self.error(path, f"'{name}' must be an ESCO {kind}, not {value!r}")
            return None
        return value

    def alignment(self, path: tuple, value: Any, name: str) -> tuple[dict, ...] | None:
        if not isinstance(value, list):
            self.error(path, f"'{name}' must be a list of esco/eqf/nlqf items")
            return None
        items = []
        for i, item in enumerate(value):
            where = path + (i,)
            if not isinstance(item, dict):
                self.error(where, f"'{name}[{i}]' must be a mapping such as {{eqf: 2}}")
                continue
            kinds = [k for k in ("esco", "eqf", "nlqf") if k in item]
            if len(kinds) != 1:
                self.error(where, f"'{name}[{i}]' needs exactly one of esco, eqf, nlqf")
                continue
            kind = kinds[0]
            self._keys(where, item, (kind, "name"), f"'{name}[{i}]'")
            entry: dict[str, Any] = {"framework": kind}
            if "name" in item:
                entry["name"] = self.text(where + ("name",), item["name"], f"{name}[{i}].name")
            elif kind == "esco":
                self.error(where, f"'{name}[{i}]' needs a 'name' for the ESCO concept")
            level = item[kind]
            if kind == "esco":
                entry["value"] = self.esco(where + ("esco",), level, f"{name}[{i}].esco")
            elif kind == "eqf":
                if isinstance(level, bool) or level not in range(1, 9):
                    self.error(where + ("eqf",), f"EQF level must be 1 to 8, not {level!r}")
                    continue
                entry["value"] = level
            else:
                if isinstance(level, bool) or level not in NLQF_LEVELS:
                    self.error(where + ("nlqf",), f"NLQF level must be entree or 1 to 8, "
                               f"not {level!r}")
                    continue
                entry["value"] = level
            items.append(entry)
        if len(items) != len(value) or any(None in e.values() for e in items):
            return None
        return tuple(items)

    def target(self, path: tuple, value: Any, name: str) -> dict | None:
        if not isinstance(value, dict):
            self.error(path, f"'{name}' must be a mapping with name and esco")
            return None
        self._keys(path, value, ("name", "esco"), f"'{name}'")
        result = {}
        if "name" not in value:
            self.error(path, f"'{name}' needs a 'name'")
            return None
        result["name"] = self.text(path + ("name",), value["name"], f"{name}.name")
        if "esco" in value:
            result["esco"] = self.esco(path + ("esco",), value["esco"], f"{name}.esco",
                                       "occupation")
        return None if None in result.values() else result

    def steps(self, path: tuple, value: Any, name: str) -> tuple[dict, ...] | None:
        if not isinstance(value, list) or not value:
            self.error(path, f"'{name}' must be a non-empty list of steps")
            return None
        steps = []
        for i, item in enumerate(value):
            where = path + (i,)
            if not isinstance(item, dict) or ("badge" in item) == ("any" in item):
                self.error(where, f"step {i + 1} needs either 'badge: <id>' or "
                           f"'any: [<id>, …]'")
                continue
            self._keys(where, item, ("badge", "any", "name"), f"step {i + 1}")
            badges = ((item["badge"],) if "badge" in item
                      else self.idlist(where + ("any",), item["any"], "any"))
            if badges is None or not all(isinstance(b, str) and _SLUG.fullmatch(b) for b in badges):
                self.error(where, f"step {i + 1} names an invalid badge id")
                continue
            step = {"badges": tuple(badges), "line": self.record.line_of(where)}
            if "name" in item:
                step["name"] = self.text(where + ("name",), item["name"], "name")
            steps.append(step)
        return tuple(steps) if len(steps) == len(value) else None

    def jsonfile(self, path: tuple, value: Any, name: str) -> dict | None:
        """A JSON file beside the record (an endorser-signed credential), parsed; refused
        when large, not JSON, or nested so deeply that walking it would exhaust recursion."""
        if not isinstance(value, str):
            self.error(path, f"'{name}' must be a file name")
            return None
        if self.string(path, value, name) is None:  # (e.g. a NUL byte: no path holds one)
            return None
        target = self.record.path.parent / value
        try:
            # is_file: a named pipe or a folder is no file to read (a pipe would block)
            if not (target.resolve().is_relative_to(self.root.resolve())
                    and target.is_file()):
                self.error(path, f"'{name}' file not found inside the content folder: "
                           f"{value!r}")
                return None
            if target.stat().st_size > MAX_RECORD_BYTES:
                self.error(path, f"'{name}' {value!r} is too large (the limit is "
                           f"{MAX_RECORD_BYTES:,} bytes)")
                return None
            document = json.loads(target.read_bytes().decode("utf-8"),
                                  parse_constant=_refuse_constant)
            too_deep = json_too_deep(document)
        except RecursionError:  # json recurses per level: [[[[… in a file of a few MB
            too_deep = True
        except (OSError, RuntimeError) as exc:  # (after RecursionError, a RuntimeError)
            self.error(path, f"'{name}' {value!r} cannot be read: {unreadable(exc)}")
            return None
        except ValueError as exc:  # (also UnicodeDecodeError, and 4,300-digit numbers)
            self.error(path, f"'{name}' {value!r} is not valid JSON: {exc}")
            return None
        if too_deep:
            self.error(path, f"'{name}' {value!r} is too deeply nested (more than "
                       f"{MAX_JSON_DEPTH} levels of lists and objects)",
                       "a signed endorsement credential needs only a few")
            return None
        if not isinstance(document, dict):
            self.error(path, f"'{name}' {value!r} must hold one JSON object")
            return None
        return {"file": value, "document": document}


def prerequisite_cycles(requires: dict[str, tuple[str, ...]]) -> list[list[str]]:
    """Every cycle in the badge prerequisite graph (each reported once, from its first id)."""
    cycles, state = [], {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "active"
        for nxt in requires.get(node, ()):
            if state.get(nxt) == "active":
                cycle = trail[trail.index(nxt):] + [nxt]
                cycles.append(cycle)
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for start in sorted(requires):
        if start not in state:
            visit(start, [start])
    return cycles


def check_signed_endorsement(document: dict, expected_subjects: set[str], now: datetime
                             ) -> str | None:
    """Why an endorser-signed EndorsementCredential is not acceptable, or None if it is.

    The signature is verified offline: the endorser's key must be a did:key (self-contained).
    """
    from generator.resolve import Resolver
    from generator.verify import Report, verify_credential_json
    types = document.get("type", [])
    if "EndorsementCredential" not in (types if isinstance(types, list) else [types]):
        return "it is not an EndorsementCredential"
    subject = document.get("credentialSubject") or {}
    if not isinstance(subject, dict) or subject.get("id") not in expected_subjects:
        return (f"it endorses {subject.get('id') if isinstance(subject, dict) else subject!r}, "
                f"not this record's subject ({', '.join(sorted(expected_subjects))})")
    report = verify_credential_json(document, Resolver(allow_network=False), now,
                                    Report("endorsement"), check_own_status=False)
    failures = [f"{c.name}: {c.detail}" for c in report.checks if c.ok is False]
    return "; ".join(failures) if failures or not report.valid else None


def cross_check_paths(records: list, pools: dict[str, dict], raw: Any,
                      problems: list[Diagnostic]) -> None:
    """Paths name existing badges; prerequisites name existing badges and have no cycle.

    `raw[path]` gives the loaded record of a file (for the line of a field)."""
    badges = pools["badge"]

    def unknown(record: Any, line: int, badge_id: str, what: str) -> None:
        problems.append(Diagnostic(record.display, line, f"{what} names unknown badge "
                                   f"'{badge_id}'", did_you_mean(badge_id, badges)
                                   or "no badge file has that id"))

    requires: dict[str, tuple[str, ...]] = {}
    for record in records:
        if record.kind == "badge":
            requires[record.id] = record.values.get("requires", ())
            for other in requires[record.id]:
                if other not in badges:
                    unknown(record, raw[record.path].line_of(("requires",)), other,
                            "'requires'")
        if record.kind != "path":
            continue
        source = raw[record.path]
        for number, step in enumerate(record.values["steps"], start=1):
            for badge_id in step["badges"]:
                if badge_id not in badges:
                    unknown(source, step["line"], badge_id, f"step {number}")
        completion = record.values.get("completion")
        if completion and completion not in badges:
            unknown(source, source.line_of(("completion",)), completion, "'completion'")
    for cycle in prerequisite_cycles(requires):
        first = badges.get(cycle[0])
        if first is not None:
            problems.append(Diagnostic(first.display, raw[first.path].line_of(("requires",)),
                                       "prerequisite cycle: " + " → ".join(cycle),
                                       "a badge cannot (indirectly) require itself"))
