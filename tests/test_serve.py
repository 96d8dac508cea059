"""`rugzak serve`: rebuilds after an edit, reloads open pages, keeps the last good build."""

from __future__ import annotations

import io
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

import pytest

from conftest import NOW, make_site
from generator.build import build
from generator.errors import ContentError, Diagnostic
from generator.serve import PreviewServer, inject_reload

WAIT = 20.0  # seconds; every wait below is bounded by this


def fetch(url: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of a GET, also for error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def wait_for(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def preview(tmp_path: Path, keyring):
    """A preview of the small site, on a free port, with the real build."""
    content = make_site(tmp_path)
    log = io.StringIO()
    server = PreviewServer(lambda out, base: build(content, out, base, keyring, NOW,
                                                   index_folder=out.parent / "index"),
                           [content], port=0, log=log, interval=0.2)
    server.start()
    yield server, content, log
    server.stop()


def test_serve_rebuilds_after_an_edit_and_reloads(preview) -> None:
    server, content, log = preview
    base = server.base_url
    status, kind, page = fetch(base + "p/fatima/")
    assert status == 200 and kind == "text/html; charset=utf-8"
    assert b"Fatima El Amrani" in page
    assert b'<script src="/__rugzak/reload.js?v=1" defer></script></body>' in page
    assert b"reload.js" not in (server.current / "p/fatima/index.html").read_bytes()
    assert fetch(base + "__rugzak/version")[2] == b"1"
    assert b"location.reload()" in fetch(base + "__rugzak/reload.js")[2]
    assert fetch(base + "assertions/wp-0001.json")[1] == "application/json"
    assert fetch(base + "a/wp-0001/credential.jwt")[1] == "text/plain; charset=utf-8"
    assert fetch(base + "a/wp-0001/qr.svg")[1] == "image/svg+xml"
    assert b'"id": "http://127.0.0.1:' in fetch(base + "assertions/wp-0001.json")[2]

    learner = content / "learners/fatima.yaml"
    learner.write_text(learner.read_text().replace("Fatima El Amrani", "Fatima Bakker"))
    assert wait_for(lambda: fetch(base + "__rugzak/version")[2] == b"2"), log.getvalue()
    assert b"Fatima Bakker" in fetch(base + "p/fatima/")[2]

    # a broken record: the errors are printed, the last good build stays online
    learner.write_text("name: [unclosed\n")
    assert wait_for(lambda: "rebuild failed" in log.getvalue()), log.getvalue()
    assert "content/learners/fatima.yaml:2: error: YAML syntax error" in log.getvalue()
    assert "still serving the last good build" in log.getvalue()
    assert fetch(base + "__rugzak/version")[2] == b"2"
    assert b"Fatima Bakker" in fetch(base + "p/fatima/")[2]
    status, _, page = fetch(base + "no/such/page")
    assert status == 404 and b"reload.js" in page  # the site's own 404 page


def fake_builder(source: Path, calls: list[str]) -> Callable[[Path, str], None]:
    """A build that copies one text file into index.html, or fails on 'broken'."""
    def build_fake(output: Path, base_url: str) -> None:
        text = source.read_text()
        calls.append(text)
        if text == "broken":
            raise ContentError([Diagnostic("content/x.yaml", 3, "broken on purpose")])
        output.mkdir(parents=True, exist_ok=True)  # may hold the build of three back
        (output / "index.html").write_text(f"<html><body>{text}</body></html>")
    return build_fake


def test_failed_first_build_raises_and_stops(tmp_path: Path) -> None:
    source = tmp_path / "content" / "page.txt"
    source.parent.mkdir()
    source.write_text("broken")
    server = PreviewServer(fake_builder(source, []), [source.parent], port=0)
    with pytest.raises(ContentError):
        server.start()
    assert not server.workdir.exists()


def test_no_reload_mode_serves_files_untouched(tmp_path: Path) -> None:
    source = tmp_path / "content" / "page.txt"
    source.parent.mkdir()
    source.write_text("hallo")
    calls: list[str] = []
    server = PreviewServer(fake_builder(source, calls), [source.parent], port=0,
                           reload=False, interval=0.1)
    server.start()
    try:
        assert fetch(server.base_url)[2] == b"<html><body>hallo</body></html>"
        source.write_text("changed")
        time.sleep(0.5)
        assert calls == ["hallo"]  # not watching
        assert fetch(server.base_url + "__rugzak/reload.js")[0] == 404
    finally:
        server.stop()


def test_old_builds_are_cleaned_up(tmp_path: Path) -> None:
    source = tmp_path / "content" / "page.txt"
    source.parent.mkdir()
    source.write_text("v1")
    server = PreviewServer(fake_builder(source, []), [source.parent], port=0, interval=0.1)
    server.start()
    try:
        for text in ("v2", "v3", "v4"):
            source.write_text(text)
            assert wait_for(lambda: text.encode() in fetch(server.base_url)[2])
        builds = [p for p in server.workdir.iterdir() if p.name.startswith("build-")]
        assert len(builds) <= 3  # served, previous, next
    finally:
        server.stop()


def test_inject_reload() -> None:
    assert inject_reload(b"<p>x</p></body></html>", 3) == (
        b'<p>x</p><script src="/__rugzak/reload.js?v=3" defer></script></body></html>')
    assert inject_reload(b"<p>x</p>", 1).endswith(b"</script>")


def test_port_in_use_is_a_usage_error(tmp_path: Path) -> None:
    from generator.errors import UsageError
    first = PreviewServer(lambda out, base: None, [], port=0)
    try:
        with pytest.raises(UsageError, match=f"port {first.port} is already in use"):
            PreviewServer(lambda out, base: None, [], port=first.port)
    finally:
        first.stop()
