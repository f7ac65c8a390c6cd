"""The image's layout, checked without a container engine: the final stage's files, copied as
its COPY lines say, run as its unprivileged user with its environment, with nothing from the
repository on the path, serve the checkout and pass the image's own health check.

(The Python packages come from the test environment, installed from the same lock file the
image installs.)"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from checkout.settings import ROOT
from tests.buyer import wait_for
from tests.server import free_port

UID = 10001


def final_stage() -> list[str]:
    lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    return [line.strip() for line in lines[starts[-1]:] if line.strip()
            and not line.startswith("#")]


@pytest.fixture
def root_dir() -> Iterator[Path]:
    """Somewhere the unprivileged user can reach (pytest's own temp folders are private)."""
    import tempfile
    folder = Path(tempfile.mkdtemp(prefix="checkout-image-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_image_layout_serves_as_its_unprivileged_user(root_dir: Path) -> None:
    stage = final_stage()
    assert any(line == f"USER {UID}" for line in stage), "the image must not run as root"
    app = root_dir / "app"
    app.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(app)}
    for line in stage:
        if line.startswith("COPY ") and "--from" not in line:
            src, dst = line.split()[1:3]
            shutil.copytree(ROOT / src, app / dst.removeprefix("./"),
                            ignore=shutil.ignore_patterns("__pycache__"))
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value.replace("/app", str(app)).replace("$PATH", os.environ["PATH"])
    health = next(line for line in stage if line.startswith("HEALTHCHECK"))
    command = re.search(r"CMD (\[.*\])", health)
    serve = re.search(r"^CMD (\[.*\])", "\n".join(stage), re.M)
    assert command and serve
    import json
    port = free_port()
    env.update(CHECKOUT_PORT=str(port), CHECKOUT_PUBLIC_URL=f"http://127.0.0.1:{port}",
               CHECKOUT_HOST="127.0.0.1")
    (app / "var").mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        os.chown(app / "var", UID, UID)
        as_user = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups"]
    argv = json.loads(serve.group(1))
    argv[0] = sys.executable if argv[0] == "python" else argv[0]
    proc = subprocess.Popen([*as_user, *argv], cwd=app, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        def up() -> bool:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        wait_for(up, timeout=60, what="the image's server")
        check = json.loads(command.group(1))
        check[0] = sys.executable if check[0] == "python" else check[0]
        check[-1] = check[-1].replace("8000", str(port))
        assert subprocess.run([*as_user, *check], env=env, timeout=10).returncode == 0
        shop = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert shop.status_code == 200
        css = re.search(r'href="(/static/[^"]+)"', shop.text)
        assert css and httpx.get(f"http://127.0.0.1:{port}{css.group(1)}").status_code == 200
        assert (app / "var" / "checkout.db").stat().st_uid == (UID if as_user else os.geteuid())
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("needed", ["requirements.lock", "checkout", "templates", "static"])
def test_the_build_context_keeps_what_the_image_needs(needed: str) -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert needed not in ignored
