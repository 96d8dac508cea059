"""Running the third-party validators in ../shared/oracles from tests.

They are absent in users' clones: tests that need them skip with a clear message there, but
fail when CI=true, where a missing oracle means nothing was proven.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORACLES = Path(os.environ.get("RUGZAK_ORACLES") or ROOT.parent / "shared" / "oracles")
_SUMMARY = re.compile(r"^(\S+): (\d+) ok, (\d+) failed", re.MULTILINE)


@dataclass(frozen=True)
class OracleRun:
    """What an oracle printed: per-item verdicts and its summary line."""

    returncode: int
    output: str
    ok: int
    failed: int

    def items(self, verdict: str) -> list[str]:
        """Item names printed after `OK ` or `FAIL `."""
        return [line.split()[1] for line in self.output.splitlines()
                if line.startswith(verdict + " ")]

    def reasons(self, item_fragment: str) -> str:
        """The indented lines printed under the FAIL line of an item."""
        lines = self.output.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("FAIL ") and item_fragment in line:
                block = []
                for follow in lines[i + 1:]:
                    if not follow.startswith(" "):
                        break
                    block.append(follow.strip())
                return "\n".join(block)
        return ""


def require_oracles() -> Path:
    """The oracles folder, or skip (users' clones) / fail (CI) when it is missing."""
    if (ORACLES / "setup").is_file():
        return ORACLES
    message = (f"third-party oracles not found at {ORACLES} (they live in ../shared/oracles "
               "beside the project); the conformance checks were not run")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " — CI must run them")
    pytest.skip(message)


def run_oracle(name: str, *args: str | Path, timeout: int = 1800) -> OracleRun:
    """Run one oracle and parse its machine-readable summary line."""
    folder = require_oracles()
    for attempt in range(5):
        result = subprocess.run([str(folder / name), *map(str, args)], capture_output=True,
                                text=True, timeout=timeout)
        output = result.stdout + result.stderr
        # The validator's loopback server may find the port still held by the previous run.
        if result.returncode != 2 or "cannot listen" not in output:
            break
        time.sleep(1 + attempt)
    found = _SUMMARY.findall(output)
    if result.returncode == 2 or not found:
        pytest.fail(f"oracle {name} could not run (exit {result.returncode}):\n{output[-3000:]}")
    _, ok, failed = found[-1]
    return OracleRun(result.returncode, output, int(ok), int(failed))


def axe_script_hash() -> str:
    """The CSP hash of the axe-core script the a11y oracle injects inline; a build that
    allows it (`--csp-script-hash`) is otherwise identical to a normal one."""
    import base64
    import hashlib
    import os
    require_oracles()
    home = Path(os.environ.get("BADGE_ORACLES_HOME") or
                Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                / "badge-oracles")
    axe = home / "node" / "node_modules" / "axe-core" / "axe.min.js"
    if not axe.is_file():
        run_oracle("a11y", "--help")  # installs the component, or fails clearly
    return base64.b64encode(hashlib.sha256(axe.read_bytes()).digest()).decode()
