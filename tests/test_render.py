"""Page rendering at scale: long lists are paginated, big sitemaps split (generator/render.py)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from conftest import make_site
from generator import render
from generator.build import build
from generator.render import LISTING_PAGE_SIZE, SITEMAP_LIMIT, render_sitemaps

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


def crowd(count: int) -> dict[str, str]:
    """`count` public learners, each with one award of the base site's badge."""
    files = {}
    indices = []
    for i in range(count):
        files[f"learners/l{i:04d}.yaml"] = f"name: Lerende {i:04d}\nidentifier: " \
                                           f"l{i}@example.org\nvisibility: public\n"
        files[f"awards/c{i:04d}.yaml"] = f"learner: l{i:04d}\nbadge: lassen-basis\n" \
                                         f"issued: 2025-06-01\n"
        indices.append(f"  c{i:04d}: {1000 + i}")
    files["status.yaml"] = "indices:\n  wp-0001: 17\n  wp-0002: 4242\n" + \
        "\n".join(indices) + "\n"
    return files


def names(html: str) -> list[str]:
    return re.findall(r"Lerende \d{4}|Fatima El Amrani", html)


def test_long_lists_are_paginated(tmp_path: Path, keyring) -> None:
    extra = 2 * LISTING_PAGE_SIZE + 5 - 1  # with fatima: 2 full pages and 5 more
    out = tmp_path / "out"
    build(make_site(tmp_path, crowd(extra)), out, None, keyring, NOW)
    home = (out / "index.html").read_text()
    assert len(names(home)) == LISTING_PAGE_SIZE
    assert 'href="learners/"' in home
    pages = [out / "learners/index.html", out / "learners/2/index.html",
             out / "learners/3/index.html"]
    listed = [names(p.read_text()) for p in pages]
    assert [len(n) for n in listed] == [LISTING_PAGE_SIZE, LISTING_PAGE_SIZE, 5]
    assert len({n for page in listed for n in page}) == extra + 1  # everyone, once
    assert not (out / "learners/4").exists()
    middle = pages[1].read_text()
    assert '<a href="../../learners/" rel="prev">' in middle
    assert '<a href="../../learners/3/" rel="next">' in middle
    assert "pagina 2 van 3" in middle
    assert (out / "en/learners/2/index.html").is_file()
    badge = (out / "badges/lassen-basis/index.html").read_text()
    assert len(names(badge)) == LISTING_PAGE_SIZE and 'lassen-basis/earners/"' in badge
    assert (out / "badges/lassen-basis/earners/3/index.html").is_file()
    sitemap = (out / "sitemap.xml").read_text()
    assert "learners/2/" in sitemap and "badges/lassen-basis/earners/3/" in sitemap


def test_short_lists_have_no_extra_pages(tmp_path: Path, keyring) -> None:
    out = tmp_path / "out"
    build(make_site(tmp_path), out, None, keyring, NOW)
    assert 'href="learners/"' not in (out / "index.html").read_text()
    assert not (out / "learners").exists()
    assert not (out / "badges/lassen-basis/earners").exists()


class _Site:
    base_url = "https://badges.example.org/"

    def url(self, path: str) -> str:
        return self.base_url + path


def test_sitemap_becomes_an_index_above_the_protocol_limit(monkeypatch) -> None:
    monkeypatch.setattr(render, "SITEMAP_LIMIT", 4)  # up to 4 URLs: one file
    monkeypatch.setattr(render, "SITEMAP_PART", 3)  # above: parts of 3
    monkeypatch.setattr(render.SitemapPaths, "_BATCH", 2)  # through the temporary file
    listed = render.SitemapPaths()
    listed.extend(f"p/{i}/" for i in range(5))
    listed.extend(["p/5/", "p/\n6/"])  # (any text survives the temporary file)
    files = list(render_sitemaps(_Site(), listed))  # type: ignore[arg-type]
    assert [f.path for f in files] == ["sitemap.xml", "sitemaps/sitemap-1.xml",
                                       "sitemaps/sitemap-2.xml", "sitemaps/sitemap-3.xml"]
    index = files[0].data.decode()
    assert "<sitemapindex" in index and \
        "https://badges.example.org/sitemaps/sitemap-3.xml" in index
    assert [f.data.decode().count("<url>") for f in files[1:]] == [3, 3, 1]
    assert "https://badges.example.org/p/\n6/" in files[3].data.decode()
    listed.extend(["p/7/"])
    assert len(listed) == 8 and list(listed)[-2:] == ["p/\n6/", "p/7/"]
    listed.close()
    single = list(render_sitemaps(_Site(), ["", "p/a/"]))  # type: ignore[arg-type]
    assert [f.path for f in single] == ["sitemap.xml"] and SITEMAP_LIMIT == 50_000
    assert single[0].data.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        "  <url><loc>https://badges.example.org/</loc></url>\n"
        "  <url><loc>https://badges.example.org/p/a/</loc></url>\n</urlset>\n")


def test_listing_pages_pass_the_html_and_accessibility_oracles(tmp_path: Path,
                                                               keyring) -> None:
    from oracles import axe_script_hash, run_oracle
    out = tmp_path / "out"
    build(make_site(tmp_path, crowd(LISTING_PAGE_SIZE + 1)), out, None, keyring, NOW,
          csp_script_hashes=(axe_script_hash(),))
    pages = ["index.html", "learners/index.html", "learners/2/index.html",
             "en/learners/2/index.html", "badges/lassen-basis/index.html",
             "badges/lassen-basis/earners/2/index.html"]
    html = run_oracle("html-check", out, *pages)
    assert (html.ok, html.failed) == (len(pages), 0), html.output[-3000:]
    for viewport in ("mobile", "desktop"):
        axe = run_oracle("a11y", "--viewport", viewport, out, *pages[1:3], pages[-1])
        assert (axe.ok, axe.failed) == (3, 0), axe.output[-3000:]
