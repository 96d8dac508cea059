"""Benchmark a cold build, warm rebuilds and a one-award rebuild of a synthetic site.

    python benchmarks/run.py --awards N [--workers W] [--keep DIR]

Prints per-stage times, awards/s, peak memory and files written, and — measured in the same
run, so the ratio holds on a noisy machine — the *floor*: the same per-award signing,
rendering, media and writing done directly, without loading, validating, guarding or the
atomic swap. The last line is machine-readable:

    awards=N awards_per_s=X floor_ratio=Y peak_rss_mb=Z warm_rebuild_s=W
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import generate  # noqa: E402

BASE_URL = "https://badges.example.org/"


def run_build(content: Path, output: Path, keys: Path, cache: Path, workers: int
              ) -> tuple[float, str]:
    """Run `rugzak build` in a child process; returns (seconds, its summary output)."""
    env = {"RUGZAK_KEYS_DIR": str(keys), "RUGZAK_CACHE_DIR": str(cache),
           "PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "1796000000"}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "generator", "build", "--content",
                             str(content), "--output", str(output), "--base-url", BASE_URL,
                             "--workers", str(workers)], capture_output=True, text=True,
                            env=env, cwd=ROOT)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"build failed:\n{result.stderr[-3000:]}")
    return seconds, result.stdout


def _floor_one(context: tuple, index: int) -> int:
    from generator import media
    from generator.credentials import award_files
    from generator.render import Page
    site, keyring, renderer, did, out = context
    award = site.awards[index]  # by index, as the build does: workers share the forked site
    files, (jws, credential) = award_files(site, award, keyring, did, None)
    made, _svg = media.award_media(site, award, jws, credential, None)
    page = Page("award.html", f"a/{award.id}/", {"award": award, "links": {},
                                                "preview": "preview.png"})
    files = files + made + [renderer.render_page(page, lang) for lang in site.languages]
    for item in files:
        target = out / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.data)
    return len(files)


def floor_seconds(content: Path, keys: Path, workers: int, scratch: Path) -> float:
    """The per-award work alone: sign (DI + 3 JWS), media, page render, writing the files."""
    from generator.build import build_clock, load_site
    from generator.did import site_did
    from generator.keys import load_keyring
    from generator.parallel import map_ordered
    from generator.render import Renderer
    from generator.theme import resolve_theme

    now = build_clock({"SOURCE_DATE_EPOCH": "1796000000"})
    site = load_site(content, now, BASE_URL)
    keyring = load_keyring(keys)
    renderer = Renderer(site, resolve_theme("default", ROOT / "themes"))
    did = site_did(site.base_url)
    out = scratch / "floor"

    start = time.perf_counter()
    map_ordered(_floor_one, range(len(site.awards)), (site, keyring, renderer, did, out),
                workers)
    return time.perf_counter() - start


def stage_times(summary: str) -> str:
    """The per-stage lines of the build summary (after its first line)."""
    return "\n  ".join(summary.strip().splitlines()[1:])


def file_states(root: Path) -> dict[str, tuple[int, int, int]]:
    """(inode, size, mtime) per file: what a deploy tool would compare."""
    states = {}
    for folder, _, names in os.walk(root):
        for name in names:
            info = os.stat(os.path.join(folder, name))
            states[os.path.relpath(os.path.join(folder, name), root)] = (
                info.st_ino, info.st_size, info.st_mtime_ns)
    return states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--awards", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the generated site and output here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="rugzak-bench-"))
    content, keys, cache, output = (work / n for n in ("content", "keys", "cache", "output"))
    for folder in (content, cache, output):
        shutil.rmtree(folder, ignore_errors=True)
    generate(content, args.awards, max(1, args.awards // 5), 20)
    # Records are usually written long before a build; a build that starts within two
    # seconds of a change leaves no stamp (generator/uptodate.py), so let them settle.
    time.sleep(2.1)
    if not (keys / "keyring.json").is_file():
        from generator.keys import create_keyring
        create_keyring(keys, date(2026, 1, 1))

    cold, summary = run_build(content, output, keys, cache, args.workers)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    files = int(re.search(r"; (\d+) files", summary).group(1))
    warm, warm_summary = run_build(content, output, keys, cache, args.workers)
    # the same again with site.yaml touched (same bytes, new times): the inputs no longer
    # match the last build's stamp, so every record is loaded, validated and checked
    os.utime(content / "site.yaml")
    checked, _ = run_build(content, output, keys, cache, args.workers)
    changed = sorted((content / "awards").glob("*.yaml"))[0]
    text = changed.read_text("utf-8")
    changed.write_text(text.replace('met "zorg"', "met zorg"), "utf-8")
    if changed.read_text("utf-8") == text:
        sys.exit(f"benchmark: could not change {changed}")
    before = file_states(output)
    one_change, _ = run_build(content, output, keys, cache, args.workers)
    after = file_states(output)
    touched = sorted(p for p in after.keys() | before.keys() if after.get(p) != before.get(p))
    floor = floor_seconds(content, keys, args.workers, work)

    print(f"cold build: {cold:.1f} s for {args.awards} awards, {files} files "
          f"({args.workers} worker{'s' if args.workers != 1 else ''})")
    print(f"  stages: {stage_times(summary)}")
    skipped = " (skipped: inputs and output as the last build left them)" \
        if "nothing changed" in warm_summary else ""
    print(f"warm rebuild (nothing changed): {warm:.1f} s{skipped}; with site.yaml touched "
          f"(every record checked): {checked:.1f} s; after changing one award: "
          f"{one_change:.1f} s, files touched: {len(touched)}")
    print("  touched: " + " ".join(touched[:40]) + (" …" if len(touched) > 40 else ""))
    print(f"floor (per-award work alone): {floor:.1f} s; peak RSS {peak_kb / 1024:.0f} MB")
    print(f"awards={args.awards} awards_per_s={args.awards / cold:.1f} "
          f"floor_ratio={cold / floor:.2f} peak_rss_mb={peak_kb / 1024:.0f} "
          f"warm_rebuild_s={warm:.1f}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
