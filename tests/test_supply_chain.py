"""What we install is what we reviewed: every pinned package carries the hashes of its files,
and every install (make, CI, the container) refuses a file whose hash differs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_pin_carries_its_hashes(lock: str) -> None:
    text = (ROOT / lock).read_text()
    entries = re.split(r"\n(?=\S)", text.strip())
    assert len(entries) > 20
    for entry in entries:
        assert re.match(r"^[a-z0-9._-]+==[^ ]+ \\\n", entry, re.I), entry[:80]
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), entry[:80]


def test_every_install_requires_the_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"pip install[^\n]*--require-hashes -r requirements-dev\.lock", makefile)
    assert re.search(r"pip install[^\n]*--require-hashes -r /tmp/requirements\.lock",
                     dockerfile)


def test_the_runtime_pins_agree_with_the_development_pins() -> None:
    def pins(lock: str) -> dict[str, str]:
        return dict(re.findall(r"^([a-z0-9._-]+)==(\S+)", (ROOT / lock).read_text(), re.M | re.I))
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
