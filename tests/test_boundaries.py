"""The architecture, checked on the source: who may import, call and name whom."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from checkout.acquirers import registry
from checkout.sandbox import registry as sandbox_registry

ROOT = Path(__file__).resolve().parent.parent / "checkout"
MIGRATIONS = ROOT / "store" / "migrations"


def _modules(folder: Path = ROOT) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(folder.rglob("*.py")):
        if MIGRATIONS not in path.parents:  # history: it names what it named then
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text())


def _imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def _in(path: str, *folders: str) -> bool:
    return any(path.startswith(f"{folder}/") or path == f"{folder}.py" for folder in folders)


def test_emulators_never_import_the_drivers() -> None:
    for path, tree in _modules(ROOT / "sandbox"):
        assert not any(n.startswith("checkout.acquirers") for n in _imports(tree)), path


def test_the_flow_and_web_never_speak_an_acquirers_dialect() -> None:
    for path, tree in _modules():
        if not _in(path, "flow", "web", "domain", "store", "notify", "representations",
                   "pages"):
            continue
        names = _imports(tree)
        # Only the interface: never a driver, its wire format or the registry.
        assert all(n.startswith("checkout.acquirers.base") for n in names
                   if n.startswith("checkout.acquirers")), path
        assert not any(n.startswith("checkout.sandbox") for n in names), path


def test_domain_does_no_io() -> None:
    for path, tree in _modules(ROOT / "domain"):
        assert not any(n.split(".")[0] in {"httpx", "sqlalchemy", "starlette", "asyncio"}
                       for n in _imports(tree)), path


def test_nothing_below_the_flow_imports_it() -> None:
    below = ("domain", "store", "notify", "acquirers", "representations", "pages", "errors",
             "settings", "vault", "jsonwire", "logs", "metrics")
    for path, tree in _modules():
        if _in(path, *below):
            assert not any(n.startswith("checkout.flow") for n in _imports(tree)), path


def test_the_sandbox_imports_no_web_code() -> None:
    for path, tree in _modules(ROOT / "sandbox"):
        assert not any(n.startswith("checkout.web") for n in _imports(tree)), path


def _store_writers() -> set[str]:
    """`module.function` of every store function that inserts, updates or deletes: by a
    statement it builds, or one built once at module level (a name it uses), or through
    `insert_if_new` or another writer of its module."""
    def builds(node: ast.AST) -> bool:
        return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                   and n.func.id in {"insert", "update", "delete", "insert_if_new"}
                   for n in ast.walk(node))
    writers: set[str] = set()
    for path, tree in _modules(ROOT / "store"):
        module = "checkout." + path.removesuffix(".py").replace("/", ".")
        built = {target.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
                 and node.value is not None and builds(node.value)
                 for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                 if isinstance(target, ast.Name)}
        functions = [fn for fn in tree.body
                     if isinstance(fn, ast.AsyncFunctionDef | ast.FunctionDef)]
        while True:  # and those that call one of this module's writers, until none is new
            new = {fn.name for fn in functions if fn.name not in built and (builds(fn) or any(
                isinstance(n, ast.Name) and n.id in built for n in ast.walk(fn)))}
            if not new:
                break
            built |= new
        writers |= {f"{module}.{fn.name}" for fn in functions if fn.name in built}
    return writers


def _store_calls(tree: ast.Module) -> set[str]:
    """`module.function` of every store function the module calls or imports."""
    aliases: dict[str, str] = {}
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith("checkout.store"):
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                found.add(f"{node.module}.{a.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id in aliases:
            found.add(f"{aliases[node.value.id]}.{node.attr}")
    return found


def test_only_the_flow_writes_the_store() -> None:
    writers = _store_writers()
    assert {"checkout.store.repo.insert_payment", "checkout.store.idempotency.settle",
            "checkout.store.webhooks.insert_delivery", "checkout.store.repo.record_event",
            "checkout.store.repo.update_attempt", "checkout.store.repo.key_used"
            } <= writers  # the check sees them
    for path, tree in _modules():
        # The outbox and its delivery worker own the deliveries, in the flow's transactions.
        if _in(path, "flow", "store", "notify"):
            continue
        assert not _store_calls(tree) & writers, (path, _store_calls(tree) & writers)


def test_the_web_never_opens_a_write_transaction() -> None:
    for path, tree in _modules(ROOT / "web"):
        opened = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                  and n.attr in {"transaction", "serialize"}]
        assert not opened, (path, opened)


def _owned_names() -> dict[str, set[str]]:
    """Per package folder ("acquirers/tbc", "sandbox/tbc"): the acquirer names it owns."""
    owned: dict[str, set[str]] = {}
    folder_of: dict[str, str] = {}
    for package in registry.PACKAGES:
        folder = "/".join(package.build.__module__.split(".")[1:3])
        folder_of[package.name] = folder
        owned.setdefault(folder, set()).update({package.name, package.title.lower()})
    for emulator in sandbox_registry.PACKAGES:
        folder = "/".join(emulator.make.__module__.split(".")[1:3])
        for merchant in emulator.demo_merchants:  # the same names as its driver's package
            owned.setdefault(folder, set()).update(owned[folder_of[merchant.acquirer]])
    return owned


def _spoken(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every identifier and string of the code, docstrings and comments aside."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                                | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                id(node) not in docstrings:
            yield node.lineno, node.value
        elif isinstance(node, ast.Name):
            yield node.lineno, node.id
        elif isinstance(node, ast.Attribute):
            yield node.lineno, node.attr
        elif isinstance(node, ast.alias):
            yield node.lineno, node.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module


def test_no_module_outside_an_acquirers_packages_names_it() -> None:
    owned = _owned_names()
    every = set().union(*owned.values())
    assert {"bank131", "smartglocal", "yookassa", "tbc", "tbank"} <= every  # it knows them
    pattern = re.compile(r"(?<![a-z0-9])(" + "|".join(map(re.escape, sorted(every)))
                         + r")(?![a-z0-9])")
    registries = {"acquirers/registry.py", "sandbox/registry.py"}
    for path, tree in _modules():
        if path in registries:
            continue
        mine = next((names for folder, names in owned.items() if path.startswith(folder + "/")),
                    set())
        for line, text in _spoken(tree):
            for found in pattern.findall(text.lower().replace("_", " ")):
                assert found in mine, f"{path}:{line} names {found!r}"


def test_test_modules_share_helpers_not_each_other() -> None:
    """Helpers live in tests/buyer.py, tests/browsers.py and the like; a test module imported
    by another would run its tests twice and tie the two together."""
    for path in sorted((ROOT.parent / "tests").glob("*.py")):
        names = _imports(ast.parse(path.read_text()))
        assert not any(n.startswith("tests.test_") for n in names), path.name
