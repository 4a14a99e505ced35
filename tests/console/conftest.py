"""The console's browser tier: Playwright (the Python package) driving Debian's Chromium, headless.

No browser is downloaded: the tests use ``/usr/bin/chromium`` (``scripts/engines.sh`` installs it) and
are skipped, saying why, where it is missing. Each test writes a screenshot of the page it looked at to
``.mlharbor/console-screenshots/`` (the README names the folder).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.testing import REPO

CHROMIUM = os.environ.get("MLHARBOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = REPO / ".mlharbor" / "console-screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium under Playwright's sync API, for one test module at a time.

    Not session-wide: while the sync API is open it keeps an asyncio loop running in the main thread, and every
    later test in the process that drives an asyncio client there (gremlinpython) fails with "Cannot run the
    event loop while another loop is running".
    """
    if not Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM} (scripts/engines.sh installs Debian's)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(60_000)
    yield opened
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save the whole page as ``<name>.png`` in the screenshots folder."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
