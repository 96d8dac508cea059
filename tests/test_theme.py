"""Themes (lookup, overrides, errors) and languages (a third one, per-language pages)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import NOW, make_site
from generator.build import build
from generator.errors import ContentError

THEMED_SITE = ("title: {nl: Testsite, en: Test site}\nbase_url: https://badges.example.org/\n"
               "issuer: acme\ntheme: rotterdam\n")


def test_site_theme_overrides_a_template_and_extends_the_default(tmp_path: Path,
                                                                 keyring) -> None:
    content = make_site(tmp_path, {"site.yaml": THEMED_SITE})
    theme = tmp_path / "themes" / "rotterdam"
    (theme / "templates").mkdir(parents=True)
    (theme / "static").mkdir()
    (theme / "theme.yaml").write_text("name: rotterdam\nextends: default\n")
    (theme / "templates" / "award.html").write_text(
        '{% extends "default/award.html" %}\n'
        '{% block main %}<p class="havenstad">Rotterdam</p>{{ super() }}{% endblock %}\n')
    (theme / "static" / "extra.css").write_text("body { margin: 0 }\n")
    out = tmp_path / "out"
    build(content, out, None, keyring, NOW)
    page = (out / "a/wp-0001/index.html").read_text()
    assert '<p class="havenstad">Rotterdam</p>' in page and "Geldige badge" in page
    assert (out / "assets/extra.css").is_file() and (out / "assets/style.css").is_file()
    assert "havenstad" not in (out / "index.html").read_text()


def test_missing_template_lists_where_it_looked(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path, {"site.yaml": THEMED_SITE})
    theme = tmp_path / "themes" / "rotterdam" / "templates"
    theme.mkdir(parents=True)
    (theme / "home.html").write_text('{% include "banner.html" %}')
    with pytest.raises(ContentError) as caught:
        build(content, tmp_path / "out", None, keyring, NOW)
    message = str(caught.value)
    assert "template 'banner.html' not found" in message
    assert str(theme) in message and "themes/default/templates" in message


def test_unknown_theme_is_a_clear_error(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path, {"site.yaml": THEMED_SITE.replace("rotterdam", "nope")})
    with pytest.raises(ContentError) as caught:
        build(content, tmp_path / "out", None, keyring, NOW)
    assert "theme 'nope' not found; looked in" in str(caught.value)


def test_template_syntax_error_names_file_and_line(tmp_path: Path, keyring) -> None:
    content = make_site(tmp_path, {"site.yaml": THEMED_SITE})
    theme = tmp_path / "themes" / "rotterdam" / "templates"
    theme.mkdir(parents=True)
    (theme / "home.html").write_text("line one\n{% if %}\n")
    with pytest.raises(ContentError) as caught:
        build(content, tmp_path / "out", None, keyring, NOW)
    assert f"{theme / 'home.html'}:2: error: template syntax error" in str(caught.value)
    assert len(caught.value.diagnostics) == 1  # (checked per language, reported once)


def test_third_language(tmp_path: Path, keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import i18n
    locale = tmp_path / "locale" / "de" / "LC_MESSAGES"
    locale.mkdir(parents=True)
    (locale / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Valid badge"\nmsgstr "Gültiges Abzeichen"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    i18n.translations.cache_clear()
    content = make_site(tmp_path, {
        "site.yaml": "title: {nl: Testsite, en: Test site, de: Testseite}\n"
                     "base_url: https://badges.example.org/\nissuer: acme\n"
                     "languages: [nl, en, de]\n"})
    out = tmp_path / "out"
    try:
        build(content, out, None, keyring, NOW)
    finally:
        i18n.translations.cache_clear()
    page = (out / "de/a/wp-0001/index.html").read_text()
    assert '<html lang="de">' in page and "Gültiges Abzeichen" in page
    assert "1. März 2025" in page                       # dates formatted per locale
    assert "<title>Lassen basis" in page                # no German name: default language
    assert 'hreflang="de" href="https://badges.example.org/de/a/wp-0001/"' in (
        out / "a/wp-0001/index.html").read_text()


@pytest.mark.parametrize("where, text", [
    ("templates/award.html", '{% extends "default/award.html" %}\n{% block main %}'
                             '<script src="https://cdn.example/track.js"></script>'
                             '{{ super() }}{% endblock %}\n'),
    ("static/extra.css", "@import url(https://fonts.example/css?family=Inter);\n"),
])
def test_a_theme_that_loads_from_another_origin_fails_the_build(
        tmp_path: Path, keyring, where: str, text: str) -> None:
    content = make_site(tmp_path, {"site.yaml": THEMED_SITE})
    theme = tmp_path / "themes" / "rotterdam"
    for folder in ("templates", "static"):
        (theme / folder).mkdir(parents=True)
    (theme / "theme.yaml").write_text("name: rotterdam\nextends: default\n")
    (theme / where).write_text(text)
    with pytest.raises(ContentError) as caught:
        build(content, tmp_path / "out", None, keyring, NOW)
    assert "from another origin" in str(caught.value) and "static/" in str(caught.value)
    assert not (tmp_path / "out").exists()
