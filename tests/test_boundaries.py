"""The acquirer boundary, checked on the source: who may import whom."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "checkout"


def _imports(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_emulators_never_import_the_drivers() -> None:
    for path, names in _imports(ROOT / "sandbox").items():
        assert not any(n.startswith("checkout.acquirers") for n in names), path


def test_the_flow_and_web_never_speak_an_acquirers_dialect() -> None:
    for folder in ("flow", "web", "domain", "store"):
        for path, names in _imports(ROOT / folder).items():
            # Only the interface: never a driver, its wire format or the registry.
            assert all(n == "checkout.acquirers.base" for n in names
                       if n.startswith("checkout.acquirers")), path
            assert not any(n.startswith("checkout.sandbox") for n in names), path


def test_domain_does_no_io() -> None:
    for path, names in _imports(ROOT / "domain").items():
        assert not any(n.split(".")[0] in {"httpx", "sqlalchemy", "starlette", "asyncio"}
                       for n in names), path
