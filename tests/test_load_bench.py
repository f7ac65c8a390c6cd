"""`make load`, the proof that nothing is lost under load, run small on both of its shapes: it
must print its money audit (every line of it zero but the payments that succeeded) and exit
0. It once crashed after a clean run, reading the database after tearing it down, and never
printed the audit."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from checkout.settings import ROOT

BUYERS = 24


@pytest.mark.parametrize("shape", [[], ["--cluster"]], ids=["sqlite", "cluster"])
def test_the_load_run_prints_its_audit_and_passes(shape: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "bench/load.py", "--buyers", str(BUYERS), "--ramp", "4", *shape],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    audit = dict((what.strip(), int(n)) for what, n in
                 re.findall(r"^(payments[^\n]*?|payment\.succeeded[^\n]*?)\s+(\d+)$", out, re.M))
    assert audit.pop("payments succeeded") == BUYERS, out
    assert len(audit) == 6 and set(audit.values()) == {0}, audit
    assert "approval → page says paid" in out and "→ recorded paid" in out
