"""Start Debian's /usr/bin/chromium through Playwright's Python API, headless, with no network chatter."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """The system Chromium, or None when it is not installed."""
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch(playwright):  # -> playwright Browser
    path = chromium_path()
    if path is None:
        raise RuntimeError("Chromium is not installed (Debian: apt-get install chromium)")
    return playwright.chromium.launch(executable_path=path, args=ARGS, headless=True)


@contextlib.contextmanager
def console_page(playwright_api) -> Iterator[tuple[Any, Any, list[str]]]:
    """(browser, page, errors) for a console test: a 1366x768 page that collects page errors and accepts
    dialogs; the browser is closed afterwards. ``playwright_api`` is ``playwright.sync_api``.

    bypass_csp: Playwright's polling predicates are evaluated strings, which the console's CSP forbids.
    """
    with playwright_api.sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768}, bypass_csp=True)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: d.accept())
            yield browser, page, errors
        finally:
            browser.close()
