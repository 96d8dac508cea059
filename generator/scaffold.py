"""`rugzak init DIR`: a new site that builds at once.

The files come from data templates in `generator/templates_site/` (stored without leading dots,
so packaging globs pick them up). Values a person types (title, organisation, e-mail) go into
YAML as JSON-quoted strings, which YAML reads back verbatim. Everything is written into a
temporary folder first and moved into place only when complete, so a failed `init` leaves
nothing behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Collection, Iterable, Iterator

from generator.errors import UsageError
from generator.schema import SCHEMA_DIR
from generator.status import allocate, write_indices
from generator.validate import suggest_slug, url_problem
from generator.write import write_all

TEMPLATES = Path(__file__).parent / "templates_site"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")  # the issuer e-mail rule of validate.py
LEARNER_ID, BADGE_ID = "voorbeeld-deelnemer", "welkom"  # as written in the templates
# A folder that holds only these may still be initialised (e.g. a fresh `git init`/clone).
ALLOWED_EXISTING = {".git"}
_PLACEHOLDER = re.compile(r"\[\[([a-z_]+)\]\]")


@dataclass(frozen=True)
class SiteOptions:
    """What `rugzak init` asks for; every value has a placeholder default."""

    title: str | None = None
    base_url: str = "https://badges.example.org/"
    organisation: str | None = None
    email: str = "badges@example.org"
    website: str = "https://example.org/"


_DEFAULT_TITLE = {"nl": "Onze open badges", "en": "Our open badges"}
_DEFAULT_ORGANISATION = {"nl": "Ons leerbedrijf", "en": "Our learning company"}


def _yaml_value(value: str | dict[str, str]) -> str:
    """A YAML scalar (or flow mapping of scalars) that reads back exactly as `value`."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}"
                               for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


def check_options(options: SiteOptions) -> None:
    """Refuse values the first build would reject, before anything is written."""
    for name, url in (("--base-url", options.base_url), ("--website", options.website)):
        if problem := url_problem(url):
            raise UsageError(f"{name} {url!r} is not usable: {problem}")
    if not _EMAIL.match(options.email):
        raise UsageError(f"--email {options.email!r} is not an e-mail address")
    for name, text in (("--title", options.title), ("--organisation", options.organisation)):
        if text is not None and (not text.strip() or re.search(r"[\x00-\x1f\x7f]", text)):
            raise UsageError(f"{name} must be one line of text")


def award_prefix(organisation: str, today: date) -> str:
    """Award ids like `op26-0001`: the organisation's initials and the two-digit year."""
    words = suggest_slug(organisation).split("-")
    initials = "".join(w[0] for w in words if w) if len(words) > 1 else words[0][:2]
    return f"{initials or 'b'}{today:%y}"


def _plan_files(options: SiteOptions, today: date) -> tuple[dict[str, bytes], str]:
    """Relative path → bytes of every file of the new site, and the example award's id."""
    organisation = options.organisation or _DEFAULT_ORGANISATION["nl"]
    issuer_id = suggest_slug(organisation)
    award_id = f"{award_prefix(organisation, today)}-0001"
    yaml_tokens = {
        "title": _yaml_value(options.title or _DEFAULT_TITLE),
        "base_url": _yaml_value(options.base_url),
        "issuer_id": issuer_id,
        "organisation": _yaml_value(options.organisation or _DEFAULT_ORGANISATION),
        "organisation_text": organisation.replace('"', "'").replace("\\", "/"),
        "website": _yaml_value(options.website),
        "email": _yaml_value(options.email),
        "today": today.isoformat(),
    }
    text_tokens = {"title_text": options.title or _DEFAULT_TITLE["nl"],
                   "organisation_text": organisation, "base_url_text": options.base_url}
    layout = {
        "site.yaml": ("content/site.yaml", yaml_tokens),
        "issuer.yaml": (f"content/issuers/{issuer_id}.yaml", yaml_tokens),
        "badge.md": (f"content/badges/{BADGE_ID}.md", yaml_tokens),
        "learner.yaml": (f"content/learners/{LEARNER_ID}.yaml", yaml_tokens),
        "award.yaml": (f"content/awards/{award_id}.yaml", yaml_tokens),
        "README.md": ("README.md", text_tokens),
        "gitignore": (".gitignore", {}),
        "github-publish.yml": (".github/workflows/publish.yml", {}),
        "gitlab-ci.yml": (".gitlab-ci.yml", {}),
    }
    files: dict[str, bytes] = {}
    for template, (target, tokens) in layout.items():
        text = (TEMPLATES / template).read_text("utf-8")
        unknown = set(_PLACEHOLDER.findall(text)) - set(tokens)
        if unknown:  # a broken template is Rugzak's bug, not the user's
            raise RuntimeError(f"template {template} has unknown placeholders {unknown}")
        text = _PLACEHOLDER.sub(lambda m: tokens[m[1]], text)  # one pass: values stay as is
        files[target] = text.encode("utf-8")
    for schema in sorted(SCHEMA_DIR.glob("*.schema.json")):
        files[f"schemas/{schema.name}"] = schema.read_bytes()
    return files, award_id


def _check_target(target: Path) -> None:
    if target.is_symlink() and not target.exists():  # (a new site would replace the link)
        raise UsageError(f"{target} is a symbolic link to {os.readlink(target)}, which does "
                         "not exist; create that folder first, or give another path")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder")
    if target.is_dir():
        present = sorted(p.name for p in target.iterdir() if p.name not in ALLOWED_EXISTING)
        if present:
            shown = ", ".join(present[:5]) + (" …" if len(present) > 5 else "")
            raise UsageError(f"{target} is not empty ({shown}); nothing was written. "
                             "Give a new or empty folder (an empty Git repository is fine)")


def init_site(target: Path, options: SiteOptions, today: date) -> list[str]:
    """Create a new site in `target` (new, empty, or holding only `.git`); returns the files."""
    check_options(options)
    _check_target(target)
    files, award_id = _plan_files(options, today)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".rugzak-init-", dir=target.parent))
    try:
        for relative, data in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        write_indices(staging / "content" / "status.yaml", allocate({}, [award_id]))
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a site folder is not secret
        _check_target(target)  # again: something may have appeared meanwhile
        if not target.exists():
            os.replace(staging, target)
        else:
            for entry in sorted(staging.iterdir()):
                os.replace(entry, target / entry.name)
            staging.rmdir()
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return sorted([*files, "content/status.yaml"])


# --- files for the web host -----------------------------------------------------------------

CONTENT_TYPES = {".json": "application/json", ".jwt": "text/plain; charset=utf-8",
                 ".jws": "text/plain; charset=utf-8", ".svg": "image/svg+xml",
                 ".html": "text/html; charset=utf-8", ".xml": "application/xml",
                 ".txt": "text/plain; charset=utf-8", ".png": "image/png",
                 ".pdf": "application/pdf", ".css": "text/css", ".js": "text/javascript"}
_HEADER_SUFFIXES = (".json", ".jwt", ".jws")  # the types static hosts tend to get wrong
HOST_FILES = (".nojekyll", "_headers")


def _header_type(path: str) -> str | None:
    suffix = os.path.splitext(path)[1]
    return CONTENT_TYPES[suffix] if suffix in _HEADER_SUFFIXES else None


def host_rule_key(path: str, prefixes: Collection[str] = ()) -> str:
    """`path` reduced to what `host_files` looks at: the second segment (a record id) made
    generic, and for files without a header rule everything past the third segment dropped.
    A large build keeps these (a few per kind of file) instead of every path; the rules come
    out the same. A page under one of `prefixes` (the site's other languages: `en/a/<id>/`)
    is keyed like the page it translates, under its prefix — keyed as it is, it would keep
    its record id, and a large build one key per record."""
    parts = path.split("/")
    if len(parts) > 1 and parts[0] in prefixes:
        return f"{parts[0]}/{host_rule_key('/'.join(parts[1:]))}"
    if len(parts) <= 2:
        return path
    parts[1] = ":id"
    if len(parts) > 3 and _header_type(path) is None:
        parts[3:] = [":untyped"]
    return "/".join(parts)


class HostPaths:
    """The host-rule keys of a whole site (see `host_rule_key`) for `host_files`, held small.

    A file directly inside a folder keys as its own path, so 100,000 awards' hosted
    assertions (`assertions/<id>.json`) would be ~10 MB of strings in the building process
    and in every worker it forks. `host_files` needs them one by one only for a folder that
    holds files of more than one type (then each typed file gets its own rule); so one path
    per folder and type is kept, and the others wait in a temporary file until `paths`."""

    _BATCH = 1 << 16

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self._first: dict[tuple[str, str | None], str] = {}  # (folder, type): a path
        self._waiting = bytearray()
        self._file: IO[bytes] | None = None

    def update(self, keys: Iterable[str]) -> None:
        """Add keys (a unit's)."""
        if isinstance(keys, (set, frozenset)):
            keys = keys - self._keys  # most keys are generic, and known after the first unit
        for key in keys:
            folder, slash, name = key.partition("/")
            if not slash or "/" in name:
                self._keys.add(key)
                continue
            kind = _header_type(key)
            if self._first.setdefault((folder, kind), key) != key and kind is not None:
                self._waiting += key.encode("utf-8", "surrogateescape") + b"\0"
                if len(self._waiting) >= self._BATCH:
                    self._spill()

    def _spill(self) -> None:
        # unbuffered, whole batches: a worker forked in between inherits no file buffer
        # that it could write out a second time
        if self._file is None:
            self._file = tempfile.TemporaryFile(buffering=0)
        write_all(self._file, bytes(self._waiting))
        self._waiting = bytearray()

    def paths(self) -> set[str]:
        """Every key `host_files` needs to write the same rules as with all of them."""
        found = self._keys | set(self._first.values())
        types: dict[str, set[str | None]] = {}
        for key in found:
            folder, slash, _ = key.partition("/")
            if slash:
                types.setdefault(folder, set()).add(_header_type(key))
        for key in self._waited():
            if len(types[key.partition("/")[0]]) > 1:
                found.add(key)
        return found

    def _waited(self) -> Iterator[str]:
        rest = b""
        if self._file is not None:
            self._file.seek(0)
            while chunk := self._file.read(self._BATCH):
                *whole, rest = (rest + chunk).split(b"\0")
                yield from (key.decode("utf-8", "surrogateescape") for key in whole)
        for key in (rest + bytes(self._waiting)).split(b"\0")[:-1]:
            yield key.decode("utf-8", "surrogateescape")

    def close(self) -> None:
        """Delete the temporary file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def host_files(site_paths: Iterable[str]) -> list[tuple[str, bytes]]:
    """`.nojekyll` (GitHub Pages: serve `.well-known/` and every file as is) and `_headers`
    (Netlify, Cloudflare Pages: JSON and JWT content types, CORS for verifiers in browsers).

    `_headers` rules use folder splats (`/assertions/*`) where a whole folder holds one type and
    `:id` placeholders for per-award files (`/a/:id/credential.json`), so the rule count stays
    small (Cloudflare allows 100) however many awards there are. Paths are from the host root.
    """
    paths = sorted({p for p in site_paths if p not in HOST_FILES})
    top_types: dict[str, set[str | None]] = {}
    mid_types: dict[tuple[str, str], set[str | None]] = {}
    for path in paths:
        parts = path.split("/")
        if len(parts) > 1:
            top_types.setdefault(parts[0], set()).add(_header_type(path))
        if len(parts) > 3:
            mid_types.setdefault((parts[0], parts[2]), set()).add(_header_type(path))
    rules: dict[str, str] = {}
    for path in paths:
        kind = _header_type(path)
        if kind is None:
            continue
        parts = path.split("/")
        if len(parts) > 1 and top_types[parts[0]] == {kind}:
            pattern = f"/{parts[0]}/*"
        elif len(parts) > 3 and mid_types[(parts[0], parts[2])] == {kind}:
            pattern = f"/{parts[0]}/:id/{parts[2]}/*"
        elif len(parts) > 2:
            pattern = f"/{parts[0]}/:id/{'/'.join(parts[2:])}"  # same name, so same type
        else:
            pattern = f"/{path}"
        rules[pattern] = kind
    lines = ["# Response headers for Netlify and Cloudflare Pages (other hosts ignore this file).",
             "# Written by Rugzak: JSON and JWT files with their content types, readable by",
             "# verifiers that run in a browser on another site."]
    for pattern, kind in sorted(rules.items()):
        lines += [pattern, f"  Content-Type: {kind}", "  Access-Control-Allow-Origin: *"]
    return [(".nojekyll", b""), ("_headers", ("\n".join(lines) + "\n").encode("utf-8"))]
