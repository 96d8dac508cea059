"""The per-record part of a build: everything one award (or one learner's profile) publishes.

An award unit signs the award, draws its media, renders its pages in every language and makes
its hosted OB 2.0 assertion; each file is checked by the output guard and written straight
into the staging folder. Units run in forked worker processes, in batches
(`parallel.imap_batches`, `run_batch`), and return only a small summary, so memory does not
grow with the number of awards and nothing is pickled but an index. The output of a unit
depends only on its record, never on which worker ran it or in what order: builds are
byte-identical whatever the worker count.
"""

from __future__ import annotations

import json
import os
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from generator import media, model, ob2
from generator.credentials import award_files, download_links
from generator.errors import Diagnostic
from generator.guard import OutputGuard
from generator.jsonld import UndefinedTermError
from generator.keys import Keyring
from generator.model import Learner, Site
from generator.render import (Page, RenderError, Renderer, award_pages, json_bytes,
                              profile_pages)
from generator.reuse import (Fingerprinter, UnitEntry, UnitIndex, award_fingerprint,
                             RealFolders, profile_fingerprint, unchanged_files)
from generator.scaffold import host_rule_key
from generator.sign import SignatureCache
from generator.write import OutputFile, Staging, path_key


_STR = frozenset({str})
_PRINTS = Fingerprinter()  # per process; shared badges and issuers are hashed once
# Bytes of an award's fingerprint kept for its profile's: 128 bits tell changes apart as well
# as 256, and 100,000 awards' take 1.6 MB of the parent (and of every worker it forks).
PRINT_BYTES = 16


@dataclass(frozen=True)
class BuildContext:
    """What every unit needs; made once in the parent, inherited by forked workers."""

    site: Site
    keyring: Keyring
    did: str
    cache: SignatureCache | None
    renderer: Renderer
    guard: OutputGuard
    staging: Staging
    site_secret: bytes
    # each learner's awards as positions in `site.awards`, newest first (see `by_learner`)
    by_learner: dict[str, array]
    # warm rebuilds (see generator/reuse.py): the unit index, the previous output folder, the
    # site-wide fingerprint, and whether reused files must pass the guard again
    index: UnitIndex | None = None
    previous: Path | None = None
    base_print: bytes = b""
    rescan: bool = False
    real_folders: RealFolders | None = None  # the previous output's, checked (per process)
    # units of the previous build whose files changed, when checked beforehand (else each
    # unit checks its own files)
    damaged: frozenset[str] | None = None
    # every award's fingerprint (its first PRINT_BYTES bytes at its position), filled in by
    # the parent as the award units finish: the profiles, run after them, are fingerprinted
    # from these
    award_prints: bytearray = field(default_factory=bytearray)


@dataclass
class UnitResult:
    """What a unit reports back: counts, sitemap entries, host-rule paths, problems, times."""

    files: int = 0
    listed: list[str] = field(default_factory=list)  # sitemap: taken out, never accumulated
    host_paths: set[str] = field(default_factory=set)
    problems: list[Diagnostic] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    reused: int = 0
    # (unit key, entry as JSON, or None: kept as the carried index has it) for the unit
    # index, and the path keys of the entries' files
    # (see write.path_key); taken out by the parent, never accumulated
    entries: list[tuple[str, str | None]] = field(default_factory=list)
    # award units' fingerprints, shortened (for their profiles), one after another
    award_prints: bytes = b""
    path_keys: array = field(default_factory=lambda: array("q"))
    written: list[tuple[str, int, int]] = field(default_factory=list)

    def add(self, other: "UnitResult") -> None:
        """Fold another unit's result into this one (in unit order, so output is stable);
        its sitemap entries, index entries and path keys are the caller's to take out."""
        self.files += other.files
        self.reused += other.reused
        self.host_paths |= other.host_paths
        self.problems += other.problems
        for stage, seconds in other.seconds.items():
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


def run_batch(unit: Callable[[BuildContext, int], UnitResult], context: BuildContext,
              indexes: Sequence[int]) -> UnitResult:
    """`unit` for each of `indexes` in turn, the results folded into one in that order (see
    `parallel.imap_batches`): everything the parent takes out of a unit's result is
    concatenated, so it cannot tell a batch from a unit."""
    total = UnitResult()
    prints = bytearray()
    for index in indexes:
        result = unit(context, index)
        total.add(result)
        total.listed += result.listed
        total.entries += result.entries
        total.path_keys.extend(result.path_keys)
        prints += result.award_prints
    total.award_prints = bytes(prints)
    return total


class _Clock:
    def __init__(self, result: UnitResult):
        self.result, self.last = result, time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.result.seconds[stage] = self.result.seconds.get(stage, 0.0) + now - self.last
        self.last = now


def by_learner(site: Site) -> dict[str, array]:
    """Each learner's awards as positions in `site.awards`, newest first (the order of
    their profile page); positions, not the awards: a fraction of the memory, which every
    worker inherits."""
    mine: dict[str, array] = {}  # (arrays from the start: 100,000 int objects alive at once
    for position, award in enumerate(site.awards):  # would stay in the heap as megabytes)
        mine.setdefault(award.learner.slug, array("I")).append(position)
    awards = site.awards
    for positions in mine.values():
        positions[:] = array("I", sorted(positions, key=lambda at: (awards[at].issued,
                                                                    awards[at].id),
                                         reverse=True))
    return mine


def guard_files(context: BuildContext, files: list[OutputFile], result: UnitResult
                ) -> list[OutputFile]:
    """The files that pass the output guard; the others' problems go into `result`."""
    clean = []
    for item in files:
        problems = context.guard.check(item)
        result.problems += problems
        if not problems:
            clean.append(item)
    return clean


def write_files(context: BuildContext, files: list[OutputFile], result: UnitResult) -> None:
    """Write files into the staging folder, counting them in `result` (and, for the unit
    index, noting each file's size and mtime)."""
    for item in files:
        target = context.staging.write(item)
        result.files += 1
        result.host_paths.add(host_rule_key(item.path, context.site.languages[1:]))
        if context.index is not None:
            info = os.stat(target)
            result.written.append((item.path, info.st_size, info.st_mtime_ns))


def _reuse(context: BuildContext, key: str, fingerprint: str, result: UnitResult) -> bool:
    """Keep the unit's files in the output when nothing they depend on changed (the
    staging folder is incremental: kept files are simply not written)."""
    index, previous = context.index, context.previous
    stored = index.lookup(key) if index is not None and previous is not None else None
    # the fingerprint comes first in the stored text: a changed unit is told without
    # decoding it (and the closing quote makes it a whole match)
    if stored is None or previous is None or not stored.startswith(f'["{fingerprint}",'):
        return False
    try:
        _, files, listed, hosts = json.loads(stored)
        if key in context.damaged if context.damaged is not None else \
                not unchanged_files(files, previous, context.real_folders):
            return False
        paths = [path for path, _, _ in files]
        if not _STR.issuperset(map(type, [*paths, *listed, *hosts])):  # (told in C)
            return False
    except (ValueError, TypeError):
        return False  # a damaged entry only costs time (it is made again, and replaced)
    if context.rescan:  # the guard knows new identifiers: check the old files again
        for path in paths:
            try:
                data = (previous / path).read_bytes()
            except OSError:
                return False
            if context.guard.check(OutputFile(path, data)):
                return False  # made again, so the guard reports it where it is made
    result.files += len(paths)
    result.listed += listed
    result.host_paths.update(hosts)
    # kept as stored: a carried index has the entry already, else it is copied as it is
    result.entries.append((key, None if index is not None and index.carried else stored))
    result.path_keys.extend(map(path_key, paths))
    result.reused = 1
    return True


def _publish(context: BuildContext, files: list[OutputFile], key: str, fingerprint: str,
             result: UnitResult, clock: _Clock) -> UnitResult:
    """The end of every unit: guard the files, write those that pass, and (for warm
    rebuilds) remember what the unit wrote under its fingerprint."""
    clean = guard_files(context, files, result)
    clock.lap("guard")
    write_files(context, clean, result)
    clock.lap("write")
    if not result.problems and context.index is not None:
        result.entries.append((key, UnitEntry(fingerprint, tuple(result.written),
                                              tuple(result.listed),
                                              tuple(sorted(result.host_paths))).to_json()))
        result.path_keys.extend(map(path_key, [path for path, _, _ in result.written]))
        result.written = []
    return result


def _render(context: BuildContext, pages: list[Page], result: UnitResult) -> list[OutputFile]:
    rendered: list[OutputFile] = []
    for page in pages:
        files, listed = context.renderer.render_each_language(page)
        rendered += files
        result.listed += listed
    return rendered


def _render_problem(error: RenderError) -> Diagnostic:
    where, _, message = str(error).partition(": error: ")
    return Diagnostic(where, 0, message or str(error))


def award_unit(context: BuildContext, index: int) -> UnitResult:
    """Sign, draw, render, guard and write one award (`context.site.awards[index]`)."""
    site = context.site
    award = site.awards[index]
    result = UnitResult()
    clock = _Clock(result)
    key = f"award:{award.id}"
    fingerprint = award_fingerprint(context.base_print, _PRINTS, award) \
        if context.index is not None else ""
    result.award_prints = bytes.fromhex(fingerprint)[:PRINT_BYTES]
    if _reuse(context, key, fingerprint, result):
        clock.lap("reuse")
        return result
    try:
        signed, (jws, credential_json) = award_files(site, award, context.keyring,
                                                     context.did, context.cache)
    except UndefinedTermError as error:
        result.problems.append(Diagnostic(
            f"awards/{award.id}", 0, f"cannot sign the credential: {error}",
            "every JSON-LD term must be defined by a context"))
        return result
    clock.lap("sign")
    made, qr_inline = media.award_media(site, award, jws, credential_json, context.cache)
    clock.lap("media")
    links: dict[str, Any] = {**download_links(award), "qr_inline": qr_inline,
                             "preview_png": media.award_preview_path(award)}
    for item in made:
        links[item.path.rsplit("/", 1)[-1].replace(".", "_")] = item.path
    try:
        pages = _render(context, award_pages(award, links), result)
    except RenderError as error:
        result.problems.append(_render_problem(error))
        return result
    hosted = OutputFile(model.assertion_json(award), json_bytes(
        ob2.hosted_assertion(site, award, context.site_secret)))
    clock.lap("render")
    return _publish(context, [*signed, *made, *pages, hosted], key, fingerprint, result, clock)


def profile_unit(context: BuildContext, index: int) -> UnitResult:
    """Draw, render, guard and write one learner's profile (`context.site.learners[index]`)."""
    site = context.site
    learner: Learner = site.learners[index]
    positions = context.by_learner.get(learner.slug, ())
    awards = [site.awards[position] for position in positions]
    result = UnitResult()
    clock = _Clock(result)
    key = f"profile:{learner.slug}"
    prints, size = context.award_prints, PRINT_BYTES
    fingerprint = profile_fingerprint(context.base_print, _PRINTS, learner, b"".join(
        prints[size * at:size * at + size] for at in positions)) if context.index is not None \
        else ""
    if _reuse(context, key, fingerprint, result):
        clock.lap("reuse")
        return result
    made, qr_inline = media.learner_media(site, learner, awards, context.cache)
    clock.lap("media")
    links: dict[str, Any] = {"qr_inline": qr_inline, **{
        item.path.rsplit("/", 1)[-1].replace(".", "_").replace("-", "_"): item.path
        for item in made}}
    try:
        pages = _render(context, profile_pages(site, learner, awards, links), result)
    except RenderError as error:
        result.problems.append(_render_problem(error))
        return result
    clock.lap("render")
    return _publish(context, [*made, *pages], key, fingerprint, result, clock)
