"""/docs in a real browser with the network blocked: every request that leaves the hub's own origin
is aborted, and ReDoc still renders the API from the hub's own assets and /openapi.json."""
from __future__ import annotations

from urllib.parse import urlsplit

from tests.browser.test_console_browser import shot


async def test_the_api_docs_render_with_the_network_blocked(browser, console_url):
    own = urlsplit(console_url).netloc
    left: list[str] = []
    context = await browser.new_context(viewport={"width": 1280, "height": 900})

    async def only_the_hub(route):
        if urlsplit(route.request.url).netloc == own:
            await route.continue_()
        else:
            left.append(route.request.url)
            await route.abort()

    await context.route("**/*", only_the_hub)
    page = await context.new_page()
    await page.goto(f"{console_url}/docs", wait_until="networkidle")
    await page.locator("text=Submit an application").first.wait_for(state="attached", timeout=30_000)
    assert await page.locator("text=Submit an application").count() >= 3  # each channel's operation, rendered
    assert "govhub" in await page.text_content("h1")
    assert not [url for url in left if "cdn.redoc.ly" not in url], left  # at most ReDoc's own logo, blocked
    await shot(page, "docs", full_page=False)  # the document is long
    await context.close()
