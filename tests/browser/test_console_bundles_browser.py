"""Bundles in a real browser: a newborn bundle run made over the citizens' API (the mock client's
journey, both parents, the department stub answering), then the operator follows it in the console —
the declarations with their validation result, the runs, and the run with its steps and timeline."""
from __future__ import annotations

import pytest

from miniprogram_mock.bundle_journey import run_newborn_journey
from tests.browser.test_console_browser import OPS, OPS_PASSWORD, shot
from tests.support.department_stub import running_stub
from tests.support.live_hub import serving_nodes


@pytest.fixture
def bundle_run(live_hub, mock_url) -> str:
    with serving_nodes(live_hub, lambda hub: running_stub(hub_url=hub, delay=0.1), ("zj-platform",)):
        # parents of their own: the command-line journey test has bob log in by SMS, limited to one code a minute per phone
        return run_newborn_journey(live_hub.url, mock_url, mother="carol", father="alice", out=lambda line: None)["number"]


async def test_an_operator_follows_a_bundle_run_to_its_steps(signed_in, console_url, bundle_run):
    page = await signed_in(OPS, OPS_PASSWORD, viewport={"width": 1280, "height": 900})
    await page.goto(f"{console_url}/console/bundles")
    assert "新生儿出生一件事" in await page.text_content("main")
    await shot(page, "bundles")
    await page.click("text=新生儿出生一件事")
    await page.wait_for_url(f"{console_url}/console/bundles/newborn")
    assert "校验结果" in await page.text_content("main")
    assert "保存草稿" not in await page.content()  # operators read declarations; catalog admins write them
    await shot(page, "bundle-detail")
    await page.goto(f"{console_url}/console/bundle-runs")
    assert bundle_run in await page.text_content("main")
    await shot(page, "bundle-runs")
    await page.click(f"text={bundle_run}")
    await page.wait_for_url(f"{console_url}/console/bundle-runs/{bundle_run}")
    shown = await page.text_content("main")
    assert "全部办结" in shown and "出生登记" in shown, shown
    await shot(page, "bundle-run")

