"""A throwaway PostgreSQL server for the test session: initdb into a temp dir, start, stop.

It runs Debian's server binaries directly, so a machine needs only the `postgresql` package
(`make test` installs it). PostgreSQL refuses to run as root: as root we run it as `postgres`.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries (initdb) not found: install Debian's "
                       "'postgresql' package, or run 'make test', which does")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TempPostgres:
    """`crashable`: the test will crash this server (`crash`), so every commit it acknowledges
    must survive that. `synchronous_commit=off` (fast, the default here) acknowledges a commit
    before its WAL reaches the kernel, and an immediate stop then loses the last ~0.6 s of
    acknowledged commits: a payment answered 201 and gone, which no real deployment does.
    (`fsync=off` stays: a killed process loses nothing the kernel has.)"""

    def __init__(self, *, crashable: bool = False) -> None:
        self.crashable = crashable
        self.bin = _bin_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="checkout-pg-"))
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.dir.chmod(0o700)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        data = str(self.dir / "data")
        self._run(str(self.bin / "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
                  "--no-sync", "-E", "UTF8")
        self.up()

    def up(self) -> None:
        durability = "on" if self.crashable else "off"
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                f"-c synchronous_commit={durability} -c full_page_writes=off "
                "-c max_connections=300")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-o", opts, "-l",
                  str(self.dir / "log"), "-w", "-t", "60", "start")

    def crash(self) -> None:
        """Stop the server the hard way (as a power cut would): no checkpoint, every
        connection dropped; `up` starts it again with crash recovery."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate",
                  "-w", "stop")

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate",
                      "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import asyncio

        import asyncpg

        async def create() -> None:
            conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres",
                                         database="postgres")
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        from concurrent.futures import ThreadPoolExecutor

        for _ in range(3):
            try:
                # A thread of its own: a test's thread may already run an event loop.
                with ThreadPoolExecutor(1) as pool:
                    pool.submit(asyncio.run, create()).result()
                break
            except OSError:
                time.sleep(0.5)
        return self.url(name)
