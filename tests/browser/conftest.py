"""Browser tests: Playwright for Python driving Debian's Chromium (``apt-get install chromium``),
launched with ``executable_path=shutil.which("chromium")`` — a browser is never downloaded. Without
a Chromium they skip with a clear message; on CI (``CI`` set, as .ci/run sets it) they fail instead,
so CI cannot pass without having run them."""
from __future__ import annotations

import os
import shutil

import pytest

NO_CHROMIUM = ("no Chromium on this machine: `apt-get install -y chromium` (Debian's package) to run the "
               "browser tests; Playwright never downloads one here")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(NO_CHROMIUM)
        pytest.skip(NO_CHROMIUM)
    return path


@pytest.fixture
async def browser(chromium_path):
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path, headless=True,
                                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def console_url(live_hub) -> str:
    """The hub as a browser reaches it: localhost, where Secure cookies travel over plain HTTP."""
    return live_hub.url.replace("127.0.0.1", "localhost")
