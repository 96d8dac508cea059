"""`rugzak serve`: a local preview that rebuilds on every change and reloads open pages.

The site is built into a fresh folder under a temporary directory; the server answers from the
newest *good* build, so a build that fails (a typo in a record) prints its errors and leaves the
preview as it was. Changes are found by polling file times every half second (no dependency,
works on every file system). Open pages reload through a tiny script that the server adds to
HTML responses only — the built files on disk stay exactly what `rugzak build` writes. The
pages' Content-Security-Policy allows it: it is a same-origin script file (`script-src 'self'`)
that fetches a same-origin URL (`connect-src 'self'`).
"""

from __future__ import annotations

import errno
import http.server
import os
import shutil
import sys
import tempfile
import threading
from http import HTTPStatus
from pathlib import Path
from typing import Callable, TextIO
from urllib.parse import urlsplit

from generator.errors import ContentError, UsageError, format_diagnostics
from generator.scaffold import CONTENT_TYPES

BuildFunction = Callable[[Path, str], None]  # (output folder, which may hold an older build;
#                                            base URL); raises on failure
VERSION_PATH, SCRIPT_PATH = "/__rugzak/version", "/__rugzak/reload.js"
# Reloads when the version differs from the one the page was served with (in the script URL).
BUILD_FOLDERS = 3  # the one served, the one before (requests may still read it), the next
RELOAD_SCRIPT = b"""(function () {
  var mine = new URL(document.currentScript.src).searchParams.get("v");
  setInterval(function () {
    fetch("/__rugzak/version", {cache: "no-store"})
      .then(function (response) { return response.text(); })
      .then(function (version) { if (version !== mine) { location.reload(); } })
      .catch(function () {});
  }, 1000);
})();
"""


def inject_reload(html: bytes, version: int) -> bytes:
    """The page with the reload script added before `</body>` (or at the end)."""
    tag = f'<script src="{SCRIPT_PATH}?v={version}" defer></script>'.encode()
    end = html.rfind(b"</body>")
    return html[:end] + tag + html[end:] if end >= 0 else html + tag


def snapshot(folders: list[Path]) -> dict[str, tuple[int, int, int]]:
    """(mtime, size, inode) of every file under `folders`: any edit, rename or delete shows."""
    found: dict[str, tuple[int, int, int]] = {}
    for folder in folders:
        for directory, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                path = os.path.join(directory, name)
                try:
                    info = os.stat(path)
                except OSError:  # deleted between listing and looking
                    continue
                found[path] = (info.st_mtime_ns, info.st_size, info.st_ino)
    return found


class PreviewServer:
    """Serve the newest good build on 127.0.0.1; `start()`, then `stop()`."""

    def __init__(self, build: BuildFunction, watch: list[Path], port: int = 8000,
                 reload: bool = True, log: TextIO | None = None, interval: float = 0.5):
        self.build, self.watch, self.reload = build, watch, reload
        self.log = log or sys.stderr
        self.interval = interval
        self.version = 0
        self.current: Path | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.workdir = Path(tempfile.mkdtemp(prefix="rugzak-serve-"))
        try:
            self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        except OSError as exc:
            shutil.rmtree(self.workdir, ignore_errors=True)
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(f"port {port} is already in use; choose another with "
                                 "--port") from None
            raise
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/"

    def rebuild(self) -> bool:
        """Build into the folder served three builds ago; switch to it only if the build
        succeeded. Three folders take turns, so a warm rebuild updates only what changed
        while no request can still be reading the folder it updates."""
        target = self.workdir / f"build-{(self.version + 1) % BUILD_FOLDERS}"
        try:
            self.build(target, self.base_url)
        except Exception as exc:  # noqa: BLE001 - a failed rebuild must not stop the preview
            if self.current is None:
                raise
            text = format_diagnostics(exc.diagnostics) if isinstance(exc, ContentError) \
                else f"rugzak: error: {exc}"
            print(f"{text}\nrebuild failed; still serving the last good build", file=self.log)
            return False
        with self._lock:
            self.current = target
            self.version += 1
        return True

    def _watch(self, last: dict[str, tuple[int, int, int]]) -> None:
        while not self._stop.wait(self.interval):
            now = snapshot(self.watch)
            if now == last:
                continue
            self._stop.wait(0.2)  # let an editor finish saving (temp file, then rename)
            last = snapshot(self.watch)
            if self._stop.is_set():
                break
            print("change found; rebuilding…", file=self.log)
            if self.rebuild() and not self._stop.is_set():
                print(f"rebuilt; serving {self.base_url}", file=self.log)

    def start(self) -> None:
        """First build (its errors are raised), then serve and watch in background threads."""
        before = snapshot(self.watch)  # taken first: an edit made during the build counts
        try:
            self.rebuild()
        except BaseException:
            self.stop()
            raise
        self._threads = [threading.Thread(target=self.server.serve_forever, daemon=True)]
        if self.reload:
            self._threads.append(threading.Thread(target=self._watch, args=(before,),
                                                  daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop serving and watching, and delete the builds."""
        self._stop.set()
        if self._threads:
            self.server.shutdown()
        self.server.server_close()
        for thread in self._threads[1:]:
            # a rebuild under way finishes first (a build cannot be stopped from outside its
            # thread): deleting its folder under it would leave half a folder behind
            thread.join()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _handler(preview: PreviewServer) -> type[http.server.SimpleHTTPRequestHandler]:
    """A request handler class bound to one preview (the server creates one per request)."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                          **CONTENT_TYPES}

        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            with preview._lock:  # one request sees one build from start to end
                self.version, root = preview.version, preview.current
            super().__init__(*args, directory=str(root or preview.workdir), **kwargs)

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-store")  # a preview is never stale
            super().end_headers()

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if str(code).isdigit() and int(code) >= 400:
                super().log_request(code, size)

        def send_body(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def html_file(self) -> Path | None:
            path = Path(self.translate_path(self.path))
            if path.is_dir():
                if not urlsplit(self.path).path.endswith("/"):
                    return None  # the base class redirects to the URL with a slash
                path = path / "index.html"
            return path if path.suffix == ".html" and path.is_file() else None

        def do_GET(self) -> None:
            route = urlsplit(self.path).path
            if route == VERSION_PATH:
                return self.send_body(200, "text/plain; charset=utf-8", str(self.version)
                                      .encode())
            if route == SCRIPT_PATH and preview.reload:
                return self.send_body(200, "text/javascript; charset=utf-8", RELOAD_SCRIPT)
            page = self.html_file() if preview.reload else None
            if page is not None:
                return self.send_body(200, "text/html; charset=utf-8",
                                      inject_reload(page.read_bytes(), self.version))
            if self.command == "HEAD":
                return super().do_HEAD()
            return super().do_GET()

        do_HEAD = do_GET

        def send_error(self, code: int, message: str | None = None,
                       explain: str | None = None) -> None:
            page = Path(self.directory) / "404.html"
            if code == HTTPStatus.NOT_FOUND and page.is_file():
                body = page.read_bytes()
                if preview.reload:
                    body = inject_reload(body, self.version)
                return self.send_body(404, "text/html; charset=utf-8", body)
            super().send_error(code, message, explain)

    return Handler
