"""Run one build: load → validate → model, then sign → media → render → guard → write per
record (in worker processes, streaming into a staging folder), then swap; timing each stage."""

from __future__ import annotations

import json
import os
import time
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import jinja2

from generator import media, previews
from generator.cache import code_digest
from generator.credentials import issuer_extra, site_documents
from generator.did import site_did
from generator.errors import ContentError, Diagnostic
from generator.folder_times import FolderWatch
from generator.guard import OutputGuard
from generator.intact import IntactCheck
from generator.keys import Keyring, find_private_key_material
from generator.load import stream_content
from generator.model import AwardDraft, Site, build_site, draft_award, missing_completions
from generator.parallel import imap_batches, return_free_memory
from generator.record_cache import CleanFiles, stamp_of
from generator.jsonld import UndefinedTermError
from generator.reuse import (RealFolders, UnitIndex, guard_fingerprint, index_path,
                             site_fingerprint)
from generator.render import (RenderError, Renderer, SitemapPaths, render_site_files,
                              render_sitemaps)
from generator.scaffold import HostPaths, host_files
from generator.sign import SignatureCache
from generator.theme import BUILTIN_THEMES, check_templates, resolve_theme
from generator.uptodate import (BuildStamp, InputDigest, build_inputs, matching_stamp,
                                output_unchanged, time_window)
from generator.units import (PRINT_BYTES, BuildContext, UnitResult, award_unit, by_learner,
                             guard_files, profile_unit, run_batch, write_files)
from generator.validate import validate_content
from generator.write import (KeysInOutput, OutputFile, PathSet, Staging, check_output_folder,
                             held_output)


@dataclass
class BuildReport:
    """What a build did: record counts, files written and seconds per stage."""

    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    # CPU seconds per stage inside the per-record units, summed over all workers
    unit_seconds: dict[str, float] = field(default_factory=dict)
    reused: int = 0  # records whose files were kept from the previous build
    unchanged: bool = False  # nothing to do: inputs and output as the last build left them

    def summary(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in self.counts.items())
        stages = " · ".join(f"{k} {v * 1000:.0f} ms" for k, v in self.timings.items())
        inside = " · ".join(f"{k} {v * 1000:.0f} ms" for k, v in self.unit_seconds.items())
        kept = f" ({self.reused} records unchanged, kept)" if self.reused else ""
        if self.unchanged:
            kept = " (nothing changed since the last build: inputs and output checked)"
        return f"{counts}; {self.files} files{kept}\n{stages}" + (
            f"\nper record (all workers): {inside}" if inside else "")


def build_clock(environ: dict[str, str] | os._Environ = os.environ) -> datetime:
    """The build's notion of 'now': SOURCE_DATE_EPOCH when set (reproducible builds), else now."""
    epoch = environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, "
                             f"not {epoch!r}") from None
    return datetime.now(timezone.utc).replace(microsecond=0)


class _Timer:
    def __init__(self, report: BuildReport, on_stage: Callable[[str, float], None] | None = None):
        self.report, self.on_stage = report, on_stage

    def run(self, name: str, step: Callable[[], object]) -> object:
        start = time.perf_counter()
        result = step()
        seconds = time.perf_counter() - start
        self.report.timings[name] = self.report.timings.get(name, 0.0) + seconds
        if self.on_stage is not None:
            self.on_stage(name, seconds)
        return result


def site_warnings(site: Site) -> list[str]:
    """Things worth a maintainer's attention that do not stop a build."""
    return [f"warning: learner '{learner.slug}' completed the path '{path.id}' but has no "
            f"'{path.completion.id}' award\n  hint: create it with "  # type: ignore[union-attr]
            f"`rugzak new award --path-completions`"
            for learner, path in missing_completions(site)]


def load_site(content: Path, now: datetime, base_url: str | None,
              report: BuildReport | None = None, cache: SignatureCache | None = None,
              cache_folder: Path | None = None) -> Site:
    """Load and validate everything, then model it; raises ContentError with all problems.

    With `cache_folder`, unchanged record files are not parsed again."""
    report = report or BuildReport()
    timer = _Timer(report)
    # Records are read as validation reaches them, so their raw values never all exist at
    # once; the reading time still counts as "load".
    loaded, problems = stream_content(content, cache_folder)
    drafts: list[AwardDraft] = []  # awards are modelled as they are validated
    valid, more = timer.run("validate",  # type: ignore[misc]
                            lambda: validate_content(loaded, now, base_url, lambda award, default:
                                                     drafts.append(draft_award(award, default))))
    report.timings["validate"] -= loaded.seconds[0]
    report.timings = {"load": loaded.seconds[0], **report.timings}
    problems = problems + more
    if problems or valid is None:
        raise ContentError(problems or [Diagnostic(str(content), 0, "nothing to build")])
    del loaded  # the raw records are not needed any more: keep the peak memory down
    return timer.run("model",  # type: ignore[return-value]
                     lambda: build_site(valid, now, cache, drafts))


def content_key_leaks(content: Path, cache_folder: Path | None = None,
                      digest: InputDigest | None = None) -> list[str]:
    """Files in the content folder that hold private key material (they would end up in Git).

    With `cache_folder`, files found clean before and not changed since are not read again.
    The same listing adds the folder to `digest` (see generator/uptodate.py)."""
    found = []
    clean = CleanFiles(cache_folder, content)

    def scan(path: str, info: os.stat_result) -> None:
        # regular files only: links are not followed, pipes never opened; the stamp is taken
        # before the read, so a change during the read shows next time
        current = stamp_of(info)
        if clean.known_clean(path, current):
            return
        try:
            with open(path, "rb", buffering=0) as handle:
                if os.fstat(handle.fileno()).st_size >= 5_000_000:
                    return
                data = handle.readall()
        except OSError:
            return  # unreadable: the loader reports it where it matters
        what = find_private_key_material(data)
        if what:
            found.append((Path(path), what))
        else:
            clean.remember(path, current)

    (digest if digest is not None else InputDigest()).add_tree("content", content, scan)
    clean.save()
    return [f"{path}: {what}" for path, what in sorted(found)]


def build(content: Path, output: Path, base_url: str | None, keyring: Keyring,
          now: datetime, cache: SignatureCache | None = None,
          csp_script_hashes: tuple[str, ...] = (), workers: int = 1,
          on_stage: Callable[[str, float], None] | None = None,
          on_unit: Callable[[int, int], None] | None = None,
          index_folder: Path | None = None) -> BuildReport:
    """Build the site from `content` into `output`; raises ContentError on bad records
    and UsageError for an output folder it must not replace (see write.check_output_folder).

    Files stream into a staging folder beside `output` as they are made, each checked by the
    privacy and key-material guard; only when every stage succeeded and no file was refused
    is the staging folder swapped in. `on_unit(done, total)` reports per-record progress.
    With `index_folder` (the cache folder), records whose inputs did not change since the
    last build into `output` keep their files (see generator/reuse.py).
    """
    check_output_folder(output, content)  # before anything: a wrong --output loses data
    report = BuildReport()
    timer = _Timer(report, on_stage)
    inputs = InputDigest() if index_folder is not None else None
    index = UnitIndex(index_path(index_folder, output)) if index_folder is not None else None
    try:
        with ExitStack() as held:
            # A warm build holds the output from here on, and checks that output's files
            # while it scans and loads the records (see generator/intact.py).
            staging, intact = _hold_previous(held, output, index, workers)
            # Before loading: what the scan of every file frees is then reused by the model,
            # not added on top of it. A key in content/ is reported before any problem of the
            # records (a build already running into the same output comes first).
            in_content: list[str] = timer.run(  # type: ignore[assignment]
                "check", lambda: content_key_leaks(content, index_folder, inputs))
            if in_content:
                raise ContentError([Diagnostic(
                    item.split(": ")[0], 0, "private key material in the content folder: " +
                    item.split(": ", 1)[1], "move keys out of content/ (they would be "
                    "committed); keys belong in RUGZAK_KEYS_DIR") for item in in_content])
            if index is not None and inputs is not None:
                options = {"base_url": base_url, "csp": list(csp_script_hashes),
                           "output": str(output.absolute())}
                timer.run("check", lambda: build_inputs(
                    inputs, content, (content.parent / "themes", BUILTIN_THEMES), keyring,
                    options))
                if timer.run("check", lambda: _unchanged(index, inputs, now, output, workers,
                                                         report, staging, intact)):
                    if staging is not None:
                        staging.abort()  # nothing to write: let go of the output
                    return report
            site = load_site(content, now, base_url, report, cache, index_folder)
            return_free_memory()  # what loading freed (tens of MB on a large site) goes back
            renderer = _renderer(site, content, csp_script_hashes, index_folder)
            report.warnings = site_warnings(site)
            report.counts = {"issuers": len(site.issuers), "badges": len(site.badges),
                             "learners": len(site.learners), "awards": len(site.awards)}
            if staging is None:
                staging = held.enter_context(Staging(output, incremental=index is not None))
            base_print = site_fingerprint(site, renderer.theme, keyring,
                                          renderer.csp_script_hashes) if index else b""
            damaged = None
            if intact is not None and index is not None:
                if index.meta("site") == base_print.hex():
                    damaged = timer.run("check", intact.damaged)
                else:  # a site-wide change: no unit is kept, so none needs checking
                    intact.skip_units()
            _build_into(staging, site, renderer, keyring, cache, workers, timer, on_unit,
                        report, index, inputs, damaged, base_print, intact)
    except RenderError as exc:
        where, _, message = str(exc).partition(": error: ")
        raise ContentError([Diagnostic(where, 0, message or str(exc))]) from None
    except KeysInOutput as exc:
        raise ContentError([Diagnostic(
            str(output / path), 0, f"private key material ({what}) in the output folder; a "
            "build deletes what it did not make, and this may be the only copy of a key",
            "move it out, into the key folder (RUGZAK_KEYS_DIR): a key in the published site "
            "would be public") for path, what in exc.found]) from None
    except UndefinedTermError as exc:
        raise ContentError([Diagnostic(str(content), 0, f"cannot sign credentials: {exc}",
                                       "every JSON-LD term must be defined by a context")]
                           ) from None
    finally:
        if index is not None:
            index.abandon()  # after a successful build `finish` already moved it into place
    return report


def _unchanged(index: UnitIndex, inputs: InputDigest, now: datetime, output: Path,
               workers: int, report: BuildReport, staging: Staging | None = None,
               intact: IntactCheck | None = None) -> bool:
    """Whether the previous build had these inputs and left `output` as it is now: then
    there is nothing to do, and `report` says what that build made. (`staging`: this build
    holds the output already; `intact`: its check of the output, which this one replaces.)"""
    stamp = matching_stamp(index, inputs, now)
    if stamp is None or not output.is_dir() or output.is_symlink():
        return False
    if intact is not None:
        intact.close()  # (the check below looks at every file, and more)
    # held, a build killed while it updated the output is finished first (see Staging)
    with nullcontext() if staging is not None else held_output(output):
        if not output_unchanged(index, output, stamp, workers):
            return False
    report.counts, report.warnings = dict(stamp.counts), list(stamp.warnings)
    report.files, report.reused, report.unchanged = stamp.files, stamp.units, True
    return True


def _hold_previous(held: ExitStack, output: Path, index: UnitIndex | None, workers: int
                   ) -> tuple[Staging | None, IntactCheck | None]:
    """For a warm build over a previous output: the staging folder (which holds the output
    until the commit) and the check of the previous build's files, started now."""
    if index is None or not output.is_dir() or output.is_symlink():
        return None, None
    staging = held.enter_context(Staging(output, incremental=True))
    if staging.previous is None or workers < 2 or not _same_code(index):
        return staging, None  # (other code: every unit is made again, none is kept)
    # started before the inputs are scanned, on the cores the parent leaves free: at 100,000
    # awards it needs about as long as the parent's scan, load, checks and model together
    return staging, held.enter_context(IntactCheck(index, staging.previous, workers - 1))


def _same_code(index: UnitIndex) -> bool:
    """Whether this code made the previous build's index (else it keeps no unit)."""
    return index.meta("code") == code_digest()


def _renderer(site: Site, content: Path, csp_script_hashes: tuple[str, ...],
              index_folder: Path | None) -> Renderer:
    """The site's renderer, once its theme and templates proved usable."""
    try:
        theme = resolve_theme(site.theme, content.parent / "themes")
    except ValueError as exc:
        raise ContentError([Diagnostic(str(content / "site.yaml"), 0, str(exc))]) from None
    renderer = Renderer(site, theme, csp_script_hashes, _bytecode_cache(index_folder))
    template_problems = check_templates(renderer.envs[site.default_language])
    if template_problems:
        raise ContentError(template_problems)
    return renderer


def _bytecode_cache(folder: Path | None) -> jinja2.BytecodeCache | None:
    if folder is None:
        return None
    try:
        (folder / "templates").mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a cache only saves time
    return jinja2.FileSystemBytecodeCache(str(folder / "templates"))


def _build_into(staging: Staging, site: Site, renderer: Renderer, keyring: Keyring,
                cache: SignatureCache | None, workers: int, timer: _Timer,
                on_unit: Callable[[int, int], None] | None, report: BuildReport,
                index: UnitIndex | None, inputs: InputDigest | None = None,
                damaged: frozenset[str] | None = None, base_print: bytes = b"",
                intact: IntactCheck | None = None) -> None:
    """Every stage after the model, into `staging`; commits it when nothing was refused.
    `damaged`: the previous build's units whose files changed, when that was checked;
    `base_print`: the site-wide part of every unit's fingerprint (with `index`); `intact`:
    the check of the previous output, which may still be comparing its folders."""
    guard_print = guard_fingerprint(site, keyring)
    previous = staging.previous
    if index is not None:
        # the previous index as the start when this code made it (else no unit is kept)
        index.start(guard_print, previous is not None and _same_code(index))
    context = BuildContext(
        site, keyring, site_did(site.base_url), cache, renderer, OutputGuard(site, keyring),
        staging, keyring.site_secret, by_learner(site), index, previous, base_print,
        index is not None and index.guard != guard_print,
        RealFolders(previous) if previous is not None else None, damaged,
        bytearray(PRINT_BYTES * len(site.awards)) if index is not None else bytearray())
    total: UnitResult = timer.run("site", lambda: _site_files(context))  # type: ignore[assignment]
    previews.clear_caches()
    # the folder comparison, which used the core the site-wide files left free, is over
    # before the workers are forked (no forking beside the check's threads)
    compared = timer.run("check", intact.folder_results) if intact is not None else None
    sitemap = SitemapPaths()
    sitemap.extend(total.listed)
    hosts = HostPaths()  # (the site-wide files' keys stay in `total`: they are few)
    profiles = [i for i, learner in enumerate(site.learners) if learner.has_profile]
    units = len(site.awards) + len(profiles)
    done = recorded = 0
    expected = PathSet()  # every path of the new site, for an in-place commit

    def run_units(unit: Callable[[BuildContext, int], UnitResult],
                  indexes: Sequence[int]) -> None:
        nonlocal done, recorded
        for batch, result in imap_batches(partial(run_batch, unit), indexes, context,
                                          workers):
            prints = result.award_prints  # for the profiles' fingerprints
            if prints:  # (award batches are consecutive positions: a slice of a range)
                at = PRINT_BYTES * batch[0]
                context.award_prints[at:at + len(prints)] = prints
            if index is not None:
                for key, entry in result.entries:
                    index.record(key, entry)
                recorded += len(result.entries)
                expected.extend(result.path_keys)
            sitemap.extend(result.listed)
            hosts.update(result.host_paths)
            result.host_paths = set()
            total.add(result)
            done += len(batch)
            if on_unit is not None:
                on_unit(done, units)

    try:
        timer.run("awards", lambda: run_units(award_unit, range(len(site.awards))))
        timer.run("profiles", lambda: run_units(profile_unit, profiles))
        _finish(context, total, sitemap, hosts)
    finally:
        sitemap.close()
        hosts.close()
    if total.problems:
        raise ContentError(total.problems)
    for path, _, _ in total.written:  # the site-wide files
        expected.add(path)
    timer.run("write", lambda: staging.commit(
        expected if index is not None else None, workers,
        FolderWatch(index, compared) if index is not None else None))
    if index is not None:
        # what the next build may no longer make (see generator/folder_times.py)
        index.note("site_files", json.dumps([path for path, _, _ in total.written]))
        index.note("code", code_digest())
        index.note("site", base_print.hex())
        if inputs is not None and not inputs.racy:  # lets an identical next build skip
            index.note("stamp", BuildStamp(
                inputs.hexdigest(), time_window(site), tuple(total.written), report.counts,
                tuple(report.warnings), len(expected), recorded).to_json())
        index.finish()
    report.files = total.files
    report.reused = total.reused
    report.unit_seconds = total.seconds


def _site_files(context: BuildContext) -> UnitResult:
    """Sign, draw, render, guard and write everything that is not per award or profile."""
    site, keyring, cache = context.site, context.keyring, context.cache
    result = UnitResult()
    files = site_documents(site, keyring, cache)
    files += media.site_previews(site, cache) + media.award_previews(site, cache)
    for item, listed in render_site_files(context.renderer, keyring.site_secret,
                                          issuer_extra(site, keyring)):
        files.append(item)
        result.listed += listed
    write_files(context, guard_files(context, files, result), result)
    return result


def _finish(context: BuildContext, total: UnitResult, sitemap: SitemapPaths,
            hosts: HostPaths) -> None:
    """The files that summarise all others: sitemap(s) and host rules."""
    paths = hosts.paths() | total.host_paths
    for item in render_sitemaps(context.site, sitemap):  # one at a time
        paths.add(item.path)
        write_files(context, guard_files(context, [item], total), total)
    files = [OutputFile(p, d) for p, d in host_files(sorted(paths))]
    write_files(context, guard_files(context, files, total), total)
