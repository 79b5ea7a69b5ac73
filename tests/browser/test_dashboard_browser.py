"""The dashboard in a real browser (Debian's Chromium through Playwright) against the seeded hub in
its own process: the demo operator opens /console/dashboard and the charts are drawn as SVG with
data — the seed's licenses, issued today, and whatever the session's other tests did.

The hub's scheduler rolls the figures up every 5 minutes; the test does not wait for it: it runs the
same job once on the hub's database (and its Redis, when the suite runs on a real one) in a process
of its own, as any host's scheduler would. Screenshots go to ``GOVHUB_CONSOLE_SCREENSHOTS`` when set."""
from __future__ import annotations

import subprocess
import sys

import httpx

from tests.browser.test_console_browser import OPS, OPS_PASSWORD, REGION, shot
from tests.support.live_hub import REPO_ROOT

ROLL_UP = """
import asyncio
from adapters.scheduler.jobs import roll_up_figures
from bff.container import build_hub, close_hub
from bff.settings import Settings

async def main():
    hub = await build_hub(Settings.from_env())
    try:
        print(await roll_up_figures(hub))
    finally:
        await close_hub(hub)

asyncio.run(main())
"""


def roll_up_figures(env: dict) -> str:
    done = subprocess.run([sys.executable, "-c", ROLL_UP], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_the_dashboard_draws_its_charts_with_data(signed_in, console_url, live_hub):
    async with httpx.AsyncClient(base_url=live_hub.url) as http:  # page views (kept where the hub's Redis is)
        for _ in range(3):
            assert (await http.get("/wx/v1/home", params={"region": REGION})).status_code == 200
    assert "'rows':" in roll_up_figures(live_hub.env)
    page = await signed_in(OPS, OPS_PASSWORD, viewport={"width": 1280, "height": 900})
    await page.goto(f"{console_url}/console")
    await page.click("text=数据看板")
    await page.wait_for_url(f"{console_url}/console/dashboard")
    assert await page.locator("#charts svg").count() == 8
    assert await page.locator("#charts svg.line-chart").count() == 4
    licenses = page.locator("#charts svg.line-chart", has_text="电子证照")
    issued = await licenses.locator("circle title").all_text_contents()
    assert issued and any(not tip.endswith("：0次") for tip in issued), issued  # the seed's licenses, issued today
    box = await licenses.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 200  # drawn, not collapsed
    assert "签发证照" in await page.text_content("#table")
    await shot(page, "dashboard")
    await page.click("text=近 7 天")
    await page.wait_for_url(f"{console_url}/console/dashboard?period=7d")
    assert await page.locator("#charts svg.line-chart").first.locator("circle").count() == 7 * \
        await page.locator("#charts svg.line-chart").first.locator("polyline").count()
    await shot(page, "dashboard-7d")
