"""The `rugzak` command line: arguments in, exit codes out (0 ok, 1 content/verification
failure, 2 usage). All work happens in the pipeline modules; this file only wires them.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Sequence

from generator import __version__
from generator.build import build, build_clock, load_site, site_warnings
from generator.cache import DiskCache, cache_dir
from generator.parallel import default_workers
from generator.progress import Progress

from generator.errors import ContentError, UsageError, format_diagnostics
from generator.workflow_cli import add_commands
from generator.keys import ENV_BUNDLE, Keyring, KeyringError, assert_outside, keys_dir, \
    load_keyring

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 on usage errors; keep that
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive(text: str) -> int:
    """A whole number of at least 1 (argparse turns the ValueError into a usage error)."""
    number = int(text)
    if number < 1:
        raise ValueError(text)
    return number


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
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print each stage as it finishes (on a terminal a progress line is "
                        "shown anyway; CI logs stay quiet)")
    p.add_argument("--workers", "-j", type=_positive, default=None, metavar="N",
                   help="processes for signing and images (default: RUGZAK_WORKERS or the "
                        "number of cores); the output is the same for any number")
    p.add_argument("--csp-script-hash", action="append", default=[], metavar="BASE64",
                   help="also allow the inline script with this SHA-256 (base64) in the pages' "
                        "Content-Security-Policy; for audit tools that inject a script, such "
                        "as axe-core. Not for production builds")
    p = commands.add_parser("check", help="validate the records only")
    content_args(p)
    p = commands.add_parser("verify", help="verify credentials: OB 3.0 JSON or VC-JWT, OB 2.0 "
                                          "JWS or hosted assertion, baked PNG/SVG")
    p.add_argument("inputs", nargs="+", metavar="PATH|URL")
    p.add_argument("--site", type=Path, help="verify offline against this built site folder")
    p.add_argument("--now", help="check dates as of this ISO date-time instead of now")
    p = commands.add_parser("status", help="allocate status list indices for new awards")
    p.add_argument("action", choices=["allocate"],
                   help="allocate: give every award without one a random, never reused index "
                        "in CONTENT/status.yaml (commit that file)")
    p.add_argument("--content", type=Path, default=Path("content"))
    p = commands.add_parser("keys", help="manage signing keys (RUGZAK_KEYS_DIR, default keys/)")
    p.add_argument("action", choices=["new", "rotate", "export", "compromise"],
                   help="new: create keys; rotate: new keys sign from now on, old ones stay "
                        "published; export: print the keys as one base64 string for the "
                        "RUGZAK_KEYS_BUNDLE CI secret; compromise KEY_ID: stop publishing a "
                        "key (then rotate and rebuild to re-sign)")
    p.add_argument("key_id", nargs="?", help="with 'compromise': the key to withdraw")
    p.add_argument("--if-missing", action="store_true",
                   help="with 'new': do nothing when keys already exist")
    COMMANDS.update(add_commands(commands, _Parser))
    return parser


def _load_keys(content: Path, output: Path) -> Keyring:
    """The keyring (bundle env var, RUGZAK_KEYS_DIR or keys/), refused inside content/output."""
    ring = load_keyring()
    if not os.environ.get(ENV_BUNDLE):
        assert_outside(keys_dir(), [content, output])
    return ring


def _cmd_build(args: argparse.Namespace, now: datetime) -> int:
    keyring = _load_keys(args.content, args.output)
    for digest in args.csp_script_hash:
        if not re.fullmatch(r"[A-Za-z0-9+/]{43}=", digest):
            raise UsageError(f"--csp-script-hash {digest!r} is not a base64 SHA-256 digest")
    progress = Progress(0, "building", enabled=None if not args.quiet else False)

    def on_stage(name: str, seconds: float) -> None:
        if args.verbose:
            print(f"  {name}: {seconds * 1000:.0f} ms", file=sys.stderr)

    def on_unit(done: int, total: int) -> None:
        progress.total = total  # awards and profiles, known once the records are loaded
        progress.advance()

    try:
        report = build(args.content, args.output, args.base_url, keyring, now,
                       DiskCache(cache_dir()), tuple(args.csp_script_hash),
                       args.workers or default_workers(), on_stage, on_unit, cache_dir())
    finally:
        progress.done()
    for warning in report.warnings:
        print(warning, file=sys.stderr)
    if not args.quiet:
        print(f"built {args.output}: {report.summary()}")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace, now: datetime) -> int:
    site = load_site(args.content, now, args.base_url, cache_folder=cache_dir())
    for warning in site_warnings(site):
        print(warning, file=sys.stderr)
    print(f"ok: {len(site.issuers)} issuers, {len(site.badges)} badges, "
          f"{len(site.learners)} learners, {len(site.awards)} awards")
    return EXIT_OK


def _published_folders(folder: Path) -> list[Path]:
    """The default content and output folders, and any content folder (it has a site.yaml)
    or built site that holds `folder`: no place for private keys."""
    from generator.write import is_rugzak_output
    around = [Path("content"), Path("output")]
    for parent in [folder.absolute(), *folder.absolute().parents]:
        if (parent / "site.yaml").is_file() or is_rugzak_output(parent):
            around.append(parent)
    return around


def _cmd_keys(args: argparse.Namespace, now: datetime) -> int:
    from generator import keys
    folder = keys_dir()
    if args.action != "export":
        # written to: keys in a published or committed folder would be deleted by the next
        # build as strays, or published
        assert_outside(folder, _published_folders(folder))
    if args.action == "export":
        print(keys.export_bundle(keys.load_keyring(folder)))
        return EXIT_OK
    if args.action == "compromise":
        if not args.key_id:
            raise UsageError("keys compromise needs the KEY_ID to withdraw")
        ring = keys.mark_compromised(folder, args.key_id)
        print(f"{args.key_id} is withdrawn; run `rugzak keys rotate` if it was active, "
              "then rebuild to re-sign every award")
        return EXIT_OK
    if args.action == "new":
        if args.if_missing and (folder / keys.KEYRING_FILE).exists():
            print(f"keys already present in {folder}/")
            return EXIT_OK
        ring = keys.create_keyring(folder, now.date())
    else:
        ring = keys.rotate_keyring(folder, now.date())
    active = ", ".join(k.key_id for k in ring.keys if k.status == "active")
    print(f"keys in {folder}/ (keep a backup; never commit them); active: {active}")
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace, now: datetime) -> int:
    from generator.resolve import Resolver
    from generator.verify import now_utc, verify_input
    if args.site is not None and not args.site.is_dir():
        raise UsageError(f"--site {args.site}: not a folder")
    moment = now_utc()
    if args.now:
        try:
            moment = datetime.fromisoformat(args.now.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(f"--now {args.now!r} is not an ISO date-time") from None
        if moment.tzinfo is None:
            raise UsageError("--now needs a time zone, e.g. 2025-01-01T00:00:00Z")
    if any(not item.strip() for item in args.inputs):  # ('' would read the current folder)
        raise UsageError("verify needs a file, a folder or a URL, not an empty argument")
    resolver = Resolver(site=args.site)
    valid = True
    for item in args.inputs:
        for report in verify_input(item, resolver, moment):
            print(report.format())
            valid = valid and report.valid
    return EXIT_OK if valid else EXIT_FAILURE


def _cmd_status(args: argparse.Namespace, now: datetime) -> int:
    import yaml

    from generator.load import record_ids
    from generator.schema import is_safe_id
    from generator.status import STATUS_FILE, allocate, read_indices, write_indices
    if not (args.content / "site.yaml").is_file():
        raise UsageError(f"{args.content} is not a content folder (no site.yaml)")
    # ids that are no safe names get no index: `rugzak check` tells how to rename the file
    award_ids = [i for i in record_ids(args.content, "award") if is_safe_id(i)]
    path = args.content / STATUS_FILE
    try:
        existing = read_indices(path)
    except (ValueError, TypeError, AttributeError, yaml.YAMLError) as exc:
        print(f"{path}: error: cannot read the ledger ({exc}); fix it by hand first",
              file=sys.stderr)
        return EXIT_FAILURE
    updated = allocate(existing, award_ids)
    added = len(updated) - len(existing)
    if added:
        write_indices(path, updated)
    print(f"{path}: {added} new status index{'es' if added != 1 else ''}, "
          f"{len(updated)} in all")
    return EXIT_OK


COMMANDS = {"status": _cmd_status, "verify": _cmd_verify, "build": _cmd_build, "check": _cmd_check, "keys": _cmd_keys}


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
    except KeyringError as exc:
        print(f"rugzak: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (UsageError, ValueError) as exc:
        print(f"rugzak: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"rugzak: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("rugzak: interrupted; nothing half-written was left in the output folder",
              file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: a message, not a traceback
        if os.environ.get("RUGZAK_DEBUG"):
            raise
        print(f"rugzak: internal error: {type(exc).__name__}: {exc}\n  hint: this is a bug in "
              "Rugzak; run again with RUGZAK_DEBUG=1 for details and report it", file=sys.stderr)
        return EXIT_FAILURE
