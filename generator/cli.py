"""The `rugzak` command line: arguments in, exit codes out (0 ok, 1 content/verification
failure, 2 usage). All work happens in the pipeline modules; this file only wires them.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import sys
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Sequence

from generator import __version__
from generator.build import build, build_clock, load_site
from generator.errors import ContentError, UsageError, format_diagnostics

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 on usage errors; keep that
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rugzak", description="Static site generator for Open Badges.")
    parser.add_argument("--version", action="version", version=f"rugzak {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def content_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--content", type=Path, default=Path("content"),
                       help="folder with site.yaml and the records (default: content)")
        p.add_argument("--base-url", help="override site.yaml's base_url")

    p = commands.add_parser("build", help="validate the records and build the site")
    content_args(p)
    p.add_argument("--output", "-o", type=Path, default=Path("output"),
                   help="folder to build into (default: output)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p = commands.add_parser("check", help="validate the records only")
    content_args(p)
    p = commands.add_parser("serve", help="build into a temporary folder and serve it locally")
    content_args(p)
    p.add_argument("--port", type=int, default=8000)
    p = commands.add_parser("keys", help="manage signing keys (RUGZAK_KEYS_DIR, default keys/)")
    p.add_argument("action", choices=["new", "rotate"])
    p.add_argument("--if-missing", action="store_true",
                   help="with 'new': do nothing when keys already exist")
    return parser


def _keys_dir() -> Path:
    return Path(os.environ.get("RUGZAK_KEYS_DIR") or "keys")


def _load_secret() -> bytes:
    from generator.keys import load_keyring
    return load_keyring(_keys_dir()).site_secret


def _cmd_build(args: argparse.Namespace, now: datetime) -> int:
    from generator.keys import KeyringError
    try:
        secret = _load_secret()
    except KeyringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    report = build(args.content, args.output, args.base_url, secret, now)
    if not args.quiet:
        print(f"built {args.output}: {report.summary()}")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace, now: datetime) -> int:
    site = load_site(args.content, now, args.base_url)
    print(f"ok: {len(site.issuers)} issuers, {len(site.badges)} badges, "
          f"{len(site.learners)} learners, {len(site.awards)} awards")
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace, now: datetime) -> int:
    with tempfile.TemporaryDirectory(prefix="rugzak-serve-") as folder:
        output = Path(folder) / "site"
        base_url = args.base_url or f"http://127.0.0.1:{args.port}/"
        build(args.content, output, base_url, _load_secret(), now)
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(output))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
        print(f"serving {base_url} (Ctrl+C to stop)")
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            thread.join()
        except KeyboardInterrupt:
            server.shutdown()
    return EXIT_OK


def _cmd_keys(args: argparse.Namespace, now: datetime) -> int:
    from generator import keys
    folder = _keys_dir()
    if args.action == "new":
        if args.if_missing and keys.keyring_exists(folder):
            print(f"keys already present in {folder}/")
            return EXIT_OK
        ring = keys.create_keyring(folder, now.date())
    else:
        ring = keys.rotate_keyring(folder, now.date())
    active = ", ".join(k.key_id for k in ring.keys if k.status == "active")
    print(f"keys in {folder}/ (keep a backup; never commit them); active: {active}")
    return EXIT_OK


COMMANDS = {"build": _cmd_build, "check": _cmd_check, "serve": _cmd_serve, "keys": _cmd_keys}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rugzak` console script."""
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help(sys.stderr)
        return EXIT_USAGE
    try:
        now = build_clock()
        return COMMANDS[args.command](args, now)
    except ContentError as exc:
        print(format_diagnostics(exc.diagnostics), file=sys.stderr)
        return EXIT_FAILURE
    except (UsageError, ValueError) as exc:
        print(f"rugzak: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"rugzak: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("rugzak: interrupted; the previous output is unchanged", file=sys.stderr)
        return 130
