"""Markdown is rendered and sanitized: raw HTML and script never reach a page."""

from generator.markup import plain_text, render_markdown, split_languages


def test_script_and_handlers_are_removed() -> None:
    html = render_markdown('Hi <script>alert(1)</script> <img src=x onerror="alert(2)">'
                           ' <a href="javascript:alert(3)">x</a> <iframe src="//e.org"></iframe>')
    assert "<script" not in html and "alert(1)" not in html
    assert "onerror" not in html and "<img" not in html
    assert "javascript:" not in html and "<iframe" not in html


def test_markdown_links_get_rel_and_headings_shift() -> None:
    html = render_markdown("# Titel\n\n[site](https://e.org/) **vet**")
    assert "<h2>Titel</h2>" in html
    assert '<a href="https://e.org/" rel="noopener noreferrer">site</a>' in html
    assert "<strong>vet</strong>" in html


def test_split_languages() -> None:
    body = "Nederlands\n\n<!-- lang: en -->\nEnglish\n"
    assert split_languages(body, "nl") == {"nl": "Nederlands", "en": "English"}
    assert split_languages("Alleen NL", "nl") == {"nl": "Alleen NL"}


def test_plain_text() -> None:
    assert plain_text("Een *mooie* [link](https://e.org/)") == "Een mooie link"
