"""The local dashboard in tests: its server on a free port in a thread, and headless Chromium.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``make test``), driven by Playwright;
``playwright install`` is never needed. A missing browser fails the test loudly.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from logiflow.config import LogiflowConfig
from logiflow.dashboard.server import start_in_background
from logiflow.local.process import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def running_dashboard(config: LogiflowConfig) -> Iterator[str]:
    """Serve the dashboard for ``config`` on a free port until the block ends; yields its URL.

    The same background server ``logiflow run`` starts.
    """
    port = free_port()
    config = config.model_copy(
        update={"dashboard": config.dashboard.model_copy(update={"port": port})}
    )
    running = start_in_background(config, f"http://127.0.0.1:{port}")
    try:
        yield running.url
    finally:
        running.stop()


@contextmanager
def chromium() -> Iterator[Browser]:
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Console:
    """Collects the page's console errors and uncaught exceptions."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


def get(url: str) -> tuple[int, str]:
    """Status and body of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
