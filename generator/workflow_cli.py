"""The maintainer commands `init`, `new`, `import`, `publish` and `serve`, for `cli.py` to add.

`add_commands(subparsers, parser_class)` registers them and returns {name: handler}; every
handler takes (args, now) and returns an exit code, and raises ContentError (exit 1) or
UsageError (exit 2) for problems, which `cli.main` formats. The work is done in `scaffold`,
`newrecord`, `importer`, `publish` and `serve`; this module only reads arguments and prints.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import threading
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from generator.errors import ContentError, UsageError

Handler = Callable[[argparse.Namespace, datetime], int]
_CONTENT_HELP = "folder with site.yaml and the records (default: content)"


def _content_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--content", type=Path, default=Path("content"), help=_CONTENT_HELP)


def _asker() -> Callable[[str], str] | None:
    """`input` when a person can answer (stdin is a terminal), else None (never block CI)."""
    return input if sys.stdin is not None and sys.stdin.isatty() else None


def cmd_init(args: argparse.Namespace, now: datetime) -> int:
    """rugzak init DIR: a new site that builds at once."""
    from generator.scaffold import SiteOptions, init_site
    options = SiteOptions(title=args.title, organisation=args.organisation,
                          **{k: v for k, v in (("base_url", args.base_url), ("email", args.email),
                                               ("website", args.website)) if v is not None})
    files = init_site(args.folder, options, now.date())
    print(f"created a new Rugzak site in {args.folder}/ ({len(files)} files). Next:\n"
          f"  cd {args.folder}\n"
          "  rugzak keys new    # signing keys in keys/ (never in Git): back them up now\n"
          "  rugzak build       # builds output/\n"
          "  rugzak serve       # preview at http://127.0.0.1:8000/\n"
          "Then set base_url in content/site.yaml and read README.md about publishing.")
    return 0


def _path_completions(args: argparse.Namespace, now: datetime) -> int:
    """Award every completion badge a learner earned by finishing a learning path."""
    from generator import newrecord
    from generator.build import load_site
    from generator.model import missing_completions
    site = load_site(args.content, now, None)
    missing = missing_completions(site)
    for learner, path in missing:
        made = newrecord.new_award(
            args.content, now.date(), learner=learner.slug,
            badge=path.completion.id,  # type: ignore[union-attr]
            narrative=args.narrative or f"Voltooide alle stappen van het leerpad "
                                        f"'{path.name.get(site.default_language)}'.")
        print(f"wrote {made.path.as_posix()} ({learner.slug} completed '{path.id}'; "
              f"status list index {made.status_index})")
    if not missing:
        print("no learner has finished a path without its completion award")
    return 0


def cmd_new(args: argparse.Namespace, now: datetime) -> int:
    """rugzak new badge|learner|award: write one record (asking for missing values on a TTY)."""
    from generator import newrecord
    ask = _asker()
    if args.kind == "badge":
        made = newrecord.new_badge(args.content, name=args.name, description=args.description,
                                   colour=args.colour, badge_id=args.id, ask=ask)
    elif args.kind == "learner":
        made = newrecord.new_learner(args.content, name=args.name, identifier=args.identifier,
                                     visibility=args.visibility, slug=args.slug, ask=ask)
    elif args.path_completions:
        return _path_completions(args, now)
    else:
        made = newrecord.new_award(args.content, now.date(), learner=args.learner,
                                   badge=args.badge, issued=args.issued,
                                   narrative=args.narrative, evidence=args.evidence,
                                   award_id=args.id, ask=ask)
    extra = f" (status list index {made.status_index} added to status.yaml; commit both)" \
        if made.status_index is not None else ""
    print(f"wrote {made.path.as_posix()}{extra}")
    return 0


def cmd_import(args: argparse.Namespace, now: datetime) -> int:
    """rugzak import FILE.csv: award in bulk; all rows are checked before anything is written."""
    from generator.importer import plan_import, write_import
    from generator.progress import Progress
    plan = plan_import(args.csv, args.content, now.date(), args.csv.as_posix())
    if args.dry_run:
        for line in plan.report():
            print(line)
    if plan.problems:
        raise ContentError(plan.problems)
    if args.dry_run:
        print(f"{plan.summary()}; dry run: nothing was written")
        return 0
    if plan.awards or plan.learners:
        total = len(plan.awards) + len(plan.learners)
        with Progress(total, "import", sys.stderr) as progress:
            write_import(plan, args.content, progress)
    print(f"{plan.summary()}" + ("; written (commit content/, including status.yaml)"
                                 if plan.awards or plan.learners else "; nothing to write"))
    return 0


@contextmanager
def _held_for_reading(output: Path) -> Iterator[None]:
    """Hold the output as a build holds it: a build running now would change it under us,
    and an update a killed build left half done is finished first — never published as a
    mix. An output we may only read (a read-only mount, a CI artifact) is read as it is."""
    from generator.write import held_output
    with ExitStack() as stack:
        try:
            stack.enter_context(held_output(output))
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT):
                raise  # (another build writing into it: OutputBusy)
        yield


def cmd_publish(args: argparse.Namespace, now: datetime) -> int:
    """rugzak publish: commit the built site to a branch, or copy it to a folder."""
    from generator.cache import cache_dir
    from generator.keys import keys_dir
    from generator.publish import publish_branch, publish_folder
    forbidden = [keys_dir(), cache_dir()]
    with _held_for_reading(args.output):
        if args.folder is not None:
            result = publish_folder(args.output, args.folder, args.content, args.repo,
                                    os.environ, forbidden)
            print(f"published {args.output} to {result.target}/: {result.change.subject()}")
            return 0
        branch = args.branch or "gh-pages"
        result = publish_branch(args.output, args.repo, branch, args.content, args.message,
                                os.environ, forbidden)
    short = (result.commit or "")[:12]
    if result.unchanged:
        print(f"{branch} already holds this site (commit {short}); nothing to publish")
    else:
        print(f"committed {short} to {branch}: {result.change.subject()}\n"
              f"  push it with: git push origin {branch}")
    return 0


def cmd_serve(args: argparse.Namespace, now: datetime) -> int:
    """rugzak serve: preview on 127.0.0.1, rebuilding and reloading on every change."""
    from generator.build import build, build_clock
    from generator.cache import DiskCache, cache_dir
    from generator.keys import ENV_BUNDLE, assert_outside, keys_dir, load_keyring
    from generator.serve import PreviewServer
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0 to 65535, not {args.port}")
    if not (args.content / "site.yaml").is_file():
        raise UsageError(f"{args.content} is not a content folder (no site.yaml)")
    keyring = load_keyring()
    if not os.environ.get(ENV_BUNDLE):
        assert_outside(keys_dir(), [args.content])
    cache = DiskCache(cache_dir())

    def build_preview(output: Path, base_url: str) -> None:
        # warm rebuilds: the unit indexes live in the preview's own work folder
        build(args.content, output, base_url, keyring, build_clock(), cache,
              index_folder=output.parent / "index")

    watch = [f for f in (args.content, args.content.parent / "themes") if f.is_dir()]
    server = PreviewServer(build_preview, watch, args.port, reload=not args.no_reload)
    server.start()
    watching = " and ".join(f.as_posix() + "/" for f in watch)
    print(f"serving {server.base_url} (Ctrl+C to stop)"
          + (f"; rebuilding on changes in {watching}" if not args.no_reload else ""))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.stop()
    return 0


def _add_new(commands: argparse._SubParsersAction, parser_class: type) -> None:
    p = commands.add_parser("new", help="add a badge, learner or award record",
                            description="Write one new record with a safe id. A missing "
                            "required value is asked for on a terminal; elsewhere it is an "
                            "error naming the option.")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", parser_class=parser_class,
                             required=True)
    badge = kinds.add_parser("badge", help="badges/<id>.md, without an image (one is drawn)")
    _content_arg(badge)
    badge.add_argument("--name", help="badge name")
    badge.add_argument("--description", help="one-paragraph summary")
    badge.add_argument("--colour", help="main colour of the drawn image, like '#1f6f8b'")
    badge.add_argument("--id", help="badge id (default: from the name)")
    learner = kinds.add_parser("learner", help="learners/<slug>.yaml")
    _content_arg(learner)
    learner.add_argument("--name", help="name as the learner wants it shown")
    learner.add_argument("--identifier", help="e-mail address, URL or DID (never published)")
    learner.add_argument("--visibility", choices=["public", "unlisted", "private"],
                         help="default: unlisted")
    learner.add_argument("--slug", help="public id in the profile URL (default: from the name)")
    award = kinds.add_parser("award", help="awards/<id>.yaml and its status list index")
    _content_arg(award)
    award.add_argument("--learner", help="the learner's slug")
    award.add_argument("--badge", help="the badge id")
    award.add_argument("--issued", help="date awarded: 2025-03-01 or 1-3-2025 (default: today)")
    award.add_argument("--narrative", help="what the learner did (Markdown)")
    award.add_argument("--evidence", action="append", metavar="URL",
                       help="evidence URL (repeat for more)")
    award.add_argument("--id", help="award id (default: next in the site's series)")
    award.add_argument("--path-completions", action="store_true",
                       help="award the completion badge to every learner who finished a "
                            "learning path without it")


def add_commands(subparsers: argparse._SubParsersAction, parser_class: type
                 ) -> dict[str, Handler]:
    """Register init, new, import, publish and serve; returns {name: handler(args, now)}."""
    p = subparsers.add_parser("init", help="create a new site that builds at once")
    p.add_argument("folder", type=Path, metavar="DIR", help="new or empty folder")
    p.add_argument("--title", help="site title (default: a placeholder in Dutch and English)")
    p.add_argument("--base-url", help="address the site will be served at")
    p.add_argument("--organisation", help="name of the organisation that awards the badges")
    p.add_argument("--email", help="the organisation's public contact address")
    p.add_argument("--website", help="the organisation's home page")
    _add_new(subparsers, parser_class)
    p = subparsers.add_parser("import", help="award badges in bulk from a CSV export",
                              description="Columns (Dutch or English): naam/name, e-mail/email, "
                              "leerling-id/slug, badge, datum/date, verhaal/narrative, "
                              "bewijs/evidence, zichtbaarheid/visibility, verloopt/expires. "
                              "Nothing is written unless every row is correct.")
    p.add_argument("csv", type=Path, metavar="FILE.csv")
    _content_arg(p)
    p.add_argument("--dry-run", action="store_true", help="report per row; write nothing")
    p = subparsers.add_parser("publish", help="commit the built site to a branch or copy it "
                                              "to a folder")
    p.add_argument("--output", type=Path, default=Path("output"),
                   help="the built site (default: output)")
    _content_arg(p)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--branch", help="Git branch to commit to (default: gh-pages)")
    where.add_argument("--folder", type=Path, help="copy the site to this folder instead")
    p.add_argument("--repo", type=Path, default=Path("."),
                   help="the Git repository (default: the current folder)")
    p.add_argument("--message", help="first line of the commit message (default: a summary)")
    p = subparsers.add_parser("serve", help="preview the site, rebuilt on every change")
    _content_arg(p)
    p.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000)")
    p.add_argument("--no-reload", action="store_true",
                   help="build once; do not watch for changes or reload pages")
    return {"init": cmd_init, "new": cmd_new, "import": cmd_import, "publish": cmd_publish,
            "serve": cmd_serve}
