"""Browser tests: Playwright for Python driving Debian's Chromium (``apt-get install chromium``),
launched with ``executable_path=shutil.which("chromium")`` — a browser is never downloaded. Without
a Chromium they skip with a clear message; on CI (``CI`` set, as .ci/run sets it) they fail instead,
so CI cannot pass without having run them."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.browser import sessions

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
def signed_in(browser, console_url):
    """``await signed_in(username, password, **context_options)``: a page of a new browser context
    holding ``username``'s console session (tests/browser/sessions.py: one form login per account).
    The network beyond the hub is cut off: a console page that asks for anything from elsewhere
    (a CDN's script, a web font) fails the test that opened it."""
    left: list[str] = []

    async def open_page(username: str, password: str, **options):
        return await sessions.open_signed_in(browser, console_url, username, password, left=left, **options)

    yield open_page
    assert not left, f"the console asked for something off the hub: {left}"


@pytest.fixture
def console_url(live_hub) -> str:
    """The hub as a browser reaches it: localhost, where Secure cookies travel over plain HTTP."""
    return live_hub.url.replace("127.0.0.1", "localhost")
