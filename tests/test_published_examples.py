"""Every example the acquirers publish (`tests/fixtures/<acquirer>/`) works against our
emulator of that acquirer, as written: material nobody here wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.bank131 import partner_call_at
from tests.server import LiveServer

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = sorted(FIXTURES.glob("*/*.json"))


def test_there_are_examples_for_each_acquirer_we_found_them_for() -> None:
    assert {p.parent.name for p in EXAMPLES} >= {"bank131", "smartglocal", "tbank"}
    for path in EXAMPLES:
        doc = json.loads(path.read_text())
        assert doc["source"].startswith("https://"), path
        assert {"method", "request", "expect"} <= doc.keys(), path


def _send(server: LiveServer, acquirer: str, method: str, request: dict[str, Any]
          ) -> dict[str, Any]:
    if acquirer in ("bank131", "smartglocal"):
        resp = partner_call_at(server.url, server.settings.data_dir, method, request,
                               host=acquirer)
    else:
        resp = httpx.post(f"{server.url}/sandbox/{acquirer}/v2/{method}", json=request)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", EXAMPLES, ids=[f"{p.parent.name}/{p.stem}" for p in EXAMPLES])
def test_the_emulator_takes_the_published_example(server: LiveServer, path: Path) -> None:
    doc = json.loads(path.read_text())
    answer = _send(server, path.parent.name, doc["method"], doc["request"])
    expect = doc["expect"]
    if "session_status" in expect:
        assert answer["status"] == "ok", answer
        assert answer["session"]["status"] == expect["session_status"]
    for key, value in expect.items():
        if key != "session_status":
            assert answer[key] == value, (key, answer)
