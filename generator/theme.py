"""The Jinja environment for a theme: lookup order, strict undefined, autoescape, i18n.

Lookup (documented in the README): the site's `themes/<name>/templates/`, the themes it
`extends:` in its `theme.yaml`, then Rugzak's built-in `default` theme. A template may reach the
one it overrides with the prefix `default/` (e.g. `{% extends "default/base.html" %}`).
Every template is parsed at start-up, so a syntax error is reported before anything renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jinja2
import jinja2.runtime
import yaml
from markupsafe import Markup

from generator.errors import Diagnostic
from generator.i18n import format_day, translations

def _builtin_themes() -> Path:
    """`themes/` of the source tree, or the copy installed as the `generator._themes` package."""
    source = Path(__file__).resolve().parent.parent / "themes"
    if (source / "default" / "templates").is_dir():
        return source
    import importlib.util
    spec = importlib.util.find_spec("generator._themes")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else source


BUILTIN_THEMES = _builtin_themes()


@dataclass(frozen=True)
class Theme:
    """A resolved theme: its folders, most specific first."""

    name: str
    folders: tuple[Path, ...]

    @property
    def static_folders(self) -> tuple[Path, ...]:
        """Folders holding static assets, lowest priority first (later ones override)."""
        return tuple(f / "static" for f in reversed(self.folders) if (f / "static").is_dir())


def resolve_theme(name: str, site_themes: Path) -> Theme:
    """Find a theme and its parents; raises ValueError naming where it looked."""
    folders: list[Path] = []
    current: str | None = name
    while current:
        candidates = [(site_themes / current).resolve(), (BUILTIN_THEMES / current).resolve()]
        found = [c for c in candidates if (c / "templates").is_dir()]
        # A site theme may share a built-in theme's name and extend it; skip folders in use.
        folder = next((c for c in found if c not in folders), None)
        if folder is None:
            if found:
                raise ValueError(f"theme '{current}' extends itself (a cycle in theme.yaml)")
            raise ValueError(f"theme '{current}' not found; looked in "
                             + ", ".join(str(c) for c in candidates))
        folders.append(folder)
        meta_path = folder / "theme.yaml"
        meta = yaml.safe_load(meta_path.read_text("utf-8")) if meta_path.is_file() else {}
        current = (meta or {}).get("extends")
        if current is None and folder != (BUILTIN_THEMES / "default").resolve():
            current = "default"
    return Theme(name, tuple(folders))


def make_environment(theme: Theme, language: str,
                     bytecode_cache: jinja2.BytecodeCache | None = None) -> jinja2.Environment:
    """A strict, autoescaping environment for one language. With `bytecode_cache`, compiled
    templates are kept between builds (keyed by each template's source checksum)."""
    mapping = {f.name: jinja2.FileSystemLoader(f / "templates") for f in theme.folders}
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader([f / "templates"
                                                           for f in theme.folders]),
                                  jinja2.PrefixLoader(mapping)])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             extensions=["jinja2.ext.i18n"], trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True,
                             bytecode_cache=bytecode_cache)
    catalog = translations(language)
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    env.globals["gettext"] = env.globals["_"] = _remembering_gettext(catalog.gettext)
    env.filters["day"] = lambda moment: format_day(moment, language)
    env.filters["t"] = lambda text: text.get(language) if text is not None else ""
    env.globals["language"] = language
    return env


def _remembering_gettext(translate: Callable[[str], str]) -> Callable[..., str]:
    """Jinja's new-style `gettext` (autoescaped, always %-formatted), with each message
    looked up once: a page asks for ~45 messages, and Jinja's own version goes through two
    context calls and a catalog lookup for each (~40 % of rendering an award page)."""
    found: dict[str, tuple[str, Markup | None]] = {}

    @jinja2.pass_context
    def gettext(context: jinja2.runtime.Context, string: str, **variables: object) -> str:
        entry = found.get(string)
        if entry is None:
            text = translate(string)
            # without variables and without "%", formatting changes nothing: keep the result
            entry = found[string] = (text, None if "%" in text else Markup(text))
        if context.eval_ctx.autoescape:
            if entry[1] is not None and not variables:
                return entry[1]
            return Markup(entry[0]) % variables
        return entry[0] % variables

    return gettext


def check_templates(env: jinja2.Environment) -> list[Diagnostic]:
    """Parse every template now; syntax errors become diagnostics with file and line."""
    problems = []
    for name in env.list_templates(extensions=["html", "xml", "txt"]):
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(Diagnostic(exc.filename or name, exc.lineno or 0,
                                       f"template syntax error: {exc.message}"))
    return problems
