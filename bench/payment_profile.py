"""Where a whole payment's CPU goes in the instance: the stack's own parts, and ours.

Run: `.venv/bin/python bench/payment_profile.py [--database sqlite] [--payments 400]`
(about 3 minutes). py-spy attaches to the instance, so it needs ptrace: root, or
`kernel.yama.ptrace_scope` 0.

The shape of `bench/payment_cost.py` (the sandbox host and the shop's receiver in processes of
their own, buyers as in `bench/load.py`, half phones). While the payments run, py-spy samples
the instance 100 times a second without pausing it. Each sample goes to one part by where the
CPU was: its innermost Python frame, where C code counts on the line that called it (so
SQLite's own work shows on our `execute` and `commit` lines, RSA on the `sign` line).

It prints each part's share, and its cost in bare Starlette requests: the instance's CPU per
payment from `/proc` (net of its idle burn) over the bare request measured around the run.
Then the parts that are the stack's, not ours: the HTTP server (uvicorn, h11, Starlette), the
event loop and its syscalls (uvloop), the HTTP client (httpx, httpcore), the database's own
code, RSA, Jinja2 and the QR. Their sum is what a payment would cost in this stack if every
line of ours, and our use of SQLAlchemy and logging, cost nothing.

Each part is a floor only at the payment's present shape (12 requests in, 3 calls to the
bank, 42 statements…): fewer statements would shrink the database's share, say.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, bare_starlette_process, payment_setup  # noqa: E402
from bench.load import Run  # noqa: E402
from bench.payment_cost import bare_cost, closed_loop, cpu_seconds, idle_burn  # noqa: E402

# The stack's parts, in the order they print.
STACK = ("HTTP server: uvicorn, h11, Starlette", "event loop and its syscalls: uvloop",
         "HTTP client: httpx, httpcore", "the database's own code", "RSA: cryptography",
         "templates: Jinja2", "QR: zxing-cpp")
# A line of the store that hands the work to the database driver (sqlite3's C, on SQLite).
_DRIVER_CALL = re.compile(r"\b(raw|connection|cursor|_write_conn\.raw)\."
                          r"(execute|executemany|fetchall|commit|rollback)\b")
# The loops of aiosqlite's and the thread pool's workers: a sample there is one waiting on its
# queue (their work is in what they call).
_WAITING = {"_connection_worker_thread", "_worker"}
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^:()]+)(?::(?P<line>\d+))?\)$")


@functools.cache
def source_line(path: str, number: int) -> str:
    """A line of one of our files, as py-spy names it (relative to the repository)."""
    try:
        return (ROOT / path).read_text().splitlines()[number - 1]
    except (OSError, IndexError):
        return ""


def part_of(frames: list[str]) -> str | None:
    """The part a sample belongs to, from its frames (outermost first); None for a worker
    thread waiting for work (py-spy cannot always tell it idle without pausing the process)."""
    stack = ";".join(frames)
    if "Thread._bootstrap" in stack and frames[-1].split(" ")[0] in _WAITING:
        return None
    found = _FRAME.match(frames[-1])
    path, line = (found["path"], int(found["line"] or 0)) if found else ("", 0)
    path = re.sub(r".*site-packages/", "", path)
    code = source_line(path, line) if path.startswith("checkout/") else ""
    if "qr_svg (" in stack:
        return STACK[6]
    if re.search(r"\((httpx|httpcore)/", stack):
        return STACK[2]  # h11 below httpcore is the client's, not the server's
    if re.match(r"(uvicorn|h11|starlette)/", path):
        return STACK[0]
    if path == "asyncio/runners.py":
        return STACK[1]  # uvloop's loop is C: its work shows on the frame that started it
    if path.startswith("asyncpg/") or (path.startswith("checkout/store/")
                                       and _DRIVER_CALL.search(code)):
        return STACK[3]
    if re.search(r"_key\.(sign|verify)\(", code):  # an RSA key's (not a webhook's HMAC)
        return STACK[4]
    if path.startswith("jinja2/") or path.endswith(".html"):
        return STACK[5]
    if path.startswith("sqlalchemy/"):
        return "ours: SQLAlchemy (compiling, binding, rows)"
    if path.startswith(("logging/", "json/")) or path == "checkout/logs.py":
        return "ours: logging and JSON"
    if path.startswith("checkout/"):
        return "ours: checkout/" + path.split("/")[1].removesuffix(".py")
    return "the rest: Python's runtime, other libraries"


def parts(raw: Path) -> collections.Counter[str]:
    """Samples by part, from py-spy's raw output (a line a stack: frames, then a count)."""
    counted: collections.Counter[str] = collections.Counter()
    for row in raw.read_text().splitlines():
        stack, _, count = row.rpartition(" ")
        part = part_of(stack.split(";")) if stack and count.isdigit() else None
        if part is not None:
            counted[part] += int(count)
    return counted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--payments", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)  # as payment_cost.py
    parser.add_argument("--rate", type=int, default=100, help="py-spy's samples a second")
    parser.add_argument("--samples", type=Path,
                        help="keep py-spy's samples here (its raw format: a flame graph's input)")
    args = parser.parse_args()
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: `make install` puts it in .venv")
    folder = Path(tempfile.mkdtemp(prefix="checkout-profile-"))
    raw = args.samples or folder / "samples.txt"
    with bare_starlette_process() as (hello, hello_pid), payment_setup(args.database) as setup:
        pid = setup.pid
        warm = Run(setup.instance.url, setup.sandbox.url, think=(0, 0), assets=True, tag="warm")
        asyncio.run(closed_loop(warm, 20, 5))
        time.sleep(2)
        idle = idle_burn(pid, 5)
        bare_before = asyncio.run(bare_cost(hello, hello_pid, 2000, args.concurrency))
        # --nonblocking: the instance is read, never stopped, so its pace is its own.
        sampler = subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", str(args.rate),
                                    "--nonblocking", "--format", "raw", "--output", str(raw)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1)
        if sampler.poll() is not None:
            assert sampler.stderr is not None
            raise SystemExit("py-spy could not attach to the instance (it needs ptrace: run "
                             "as root, or with kernel.yama.ptrace_scope=0): "
                             + sampler.stderr.read().decode(errors="replace")[-300:])
        run = Run(setup.instance.url, setup.sandbox.url, think=(0, 0), assets=True,
                  tag="profile")
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        asyncio.run(closed_loop(run, args.payments, args.concurrency))
        cpu = cpu_seconds(pid) - cpu0 - idle * (time.perf_counter() - t0)
        sampler.send_signal(2)  # py-spy writes what it has on SIGINT
        sampler.wait(timeout=60)
        bare = (bare_before + asyncio.run(bare_cost(hello, hello_pid, 2000,
                                                    args.concurrency))) / 2
    made = args.payments - run.refused
    if made <= 0 or run.errors or not raw.exists():
        raise SystemExit(f"no profile: {made} payments made, errors {dict(run.errors)}")
    per = cpu / made
    counted = parts(raw)
    shutil.rmtree(folder, ignore_errors=True)
    total = sum(counted.values())
    print(f"\n{args.database}: {made} whole payments ({run.refused} creates refused at "
          f"capacity), {args.concurrency} buyers at a time; {total:,} samples")
    print(f"  instance CPU per payment {per * 1000:6.1f} ms; a bare request {bare * 1000:.3f} ms;"
          f" a payment = {per / bare:.0f} bare requests\n")
    print(f"  {'part':<52}{'share':>7}{'bare requests':>15}")

    def row(name: str, samples: int) -> None:
        share = samples / total
        print(f"  {name:<52}{share:7.1%}{share * per / bare:15.1f}")
    stack = sum(counted[name] for name in STACK)
    for name in STACK:
        row(name, counted[name])
    row("the stack's parts together", stack)
    print()
    for name, samples in counted.most_common():
        if name not in STACK:
            row(name, samples)
    row("all but the stack's parts", total - stack)


if __name__ == "__main__":
    main()
