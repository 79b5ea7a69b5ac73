"""One console login per account for the whole browser run.

The hub allows 10 admin logins a minute per address (bff/common/limits.py, ``admin-login``), one
budget for every test here, all from 127.0.0.1. So each account logs in through the login form once
per test session and every later test's browser context starts with that session's cookie (a fresh
browser, the same admin session, as a person keeping the console open in a tab would). The run takes
9 logins — ops, catalog, editor and the lockout test's six attempts — under the budget even if not
one token came back; the limit itself is the production one."""
from __future__ import annotations

from urllib.parse import urlsplit

# (hub, username) -> the Playwright storage state of a console session logged in through the form
SESSIONS: dict[tuple[str, str], dict] = {}


async def log_in(page, url: str, username: str, password: str) -> None:
    await page.goto(f"{url}/console/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")


async def open_signed_in(browser, url: str, username: str, password: str, *, left: list[str] | None = None,
                         **options):
    """A page of a new context holding ``username``'s session, logging in the first time only.
    Every request off the hub's origin is aborted (an intranet has no internet) and put in ``left``."""
    key = (url, username)
    context = await browser.new_context(storage_state=SESSIONS.get(key), **options)
    if left is not None:
        await only_the_hub(context, url, left)
    page = await context.new_page()
    if key not in SESSIONS:
        await log_in(page, url, username, password)
        await page.wait_for_url(f"{url}/console")
        SESSIONS[key] = await context.storage_state()
    return page


def remember(url: str, username: str, state: dict) -> None:
    """A session a test logged in by itself (the login test's), kept for the tests after it."""
    SESSIONS[(url, username)] = state


def token_of(url: str, username: str) -> str | None:
    """The admin session token of a kept session: the console's cookie is the session's token, the
    JSON routes' bearer."""
    state = SESSIONS.get((url, username)) or {}
    return next((c["value"] for c in state.get("cookies", []) if c["name"] == "govhub_console"), None)


async def only_the_hub(context, url: str, left: list[str]) -> None:
    """Abort every request ``context`` makes off the hub's origin, and note it in ``left``."""
    own = urlsplit(url).netloc

    async def route(request_route):
        if urlsplit(request_route.request.url).netloc == own:
            await request_route.continue_()
        else:
            left.append(request_route.request.url)
            await request_route.abort()

    await context.route("**/*", route)
