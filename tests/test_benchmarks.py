"""The benchmark tools (benchmarks/): the synthetic site builds, the script reports its figures.

No timing is asserted here — performance is measured with `benchmarks/run.py`, never in tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import generate  # noqa: E402

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)


def test_generated_site_canonicalizes_the_same_by_shape_and_in_full(tmp_path: Path,
                                                                    keyring) -> None:
    """The shape shortcut (generator/jsonld.py) against full pyld, on every credential and
    proof configuration of a generated site (names with diacritics, quotes, both languages,
    evidence, expiries, revocations)."""
    from generator import jsonld, ob3
    from generator.build import load_site
    from generator.did import site_did, verification_method_id
    generate(tmp_path / "content", 120, 30, 6)
    site = load_site(tmp_path / "content", NOW, None)
    did = site_did(site.base_url)
    method = verification_method_id(did, keyring.active_ed25519)
    jsonld._SHAPES.clear()
    for award in site.awards:
        credential = ob3.credential(site, award, keyring.site_secret, did)
        proof = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
                 "created": credential["validFrom"], "verificationMethod": method,
                 "proofPurpose": "assertionMethod", "@context": credential["@context"]}
        for document in (credential, proof):
            assert jsonld.canonicalize(document) == jsonld.canonicalize_full(document)
    assert 0 < len(jsonld._SHAPES) < 10  # a few shapes served all 240 documents


def test_benchmark_script_prints_its_figures(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"),
                             "--awards", "40", "--workers", "2", "--keep", str(tmp_path)],
                            capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    figures = re.fullmatch(r"awards=40 awards_per_s=([\d.]+) floor_ratio=([\d.]+) "
                           r"peak_rss_mb=(\d+) warm_rebuild_s=([\d.]+)", last)
    assert figures, result.stdout
    assert all(float(value) > 0 for value in figures.groups())
    assert "records unchanged, kept" not in result.stdout  # (the summary is not echoed)
    touched = re.search(r"files touched: (\d+)", result.stdout)
    assert touched and 0 < int(touched.group(1)) < 60, result.stdout
    assert "a/b0000000/credential.json" in result.stdout  # the changed award was remade
