"""Debian's Chromium, driven by Playwright, for the browser tests (fixtures in conftest)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


AXE = Axe()


def assert_accessible(page: Page, state: str) -> None:
    """axe-core finds no violation, of any impact, in the page as it is now."""
    result = AXE.run(page)
    assert result.violations_count == 0, f"{state}:\n{result.generate_report()}"


def watch_console(page: Page) -> list[str]:
    """Collect errors (a CSP violation shows up here): a clean page has none."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def decode_qr(png: Path) -> str:
    out = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, f"zbarimg found no QR code: {out.stderr}"
    return out.stdout.strip()
