"""The console in a real browser (Debian's Chromium through Playwright) against a seeded hub in its
own process: logging in and the lockout, a topic created with a schedule, previewed in the phone
frame, published and then served on /wx/v1/home, and a form posted without its CSRF token refused.

Screenshots of each page go to ``GOVHUB_CONSOLE_SCREENSHOTS`` when set (docs/console.md's come from
``GOVHUB_CONSOLE_SCREENSHOTS=docs/console .venv/bin/python -m pytest tests/browser -n0``)."""
from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta
from pathlib import Path

import httpx

from tests.browser import sessions
from tests.browser.sessions import log_in
from tests.support.clock import suite_clock

EDITOR, EDITOR_PASSWORD = "editor", "govhub-dev-topics"  # the seed's demo accounts (docs/admin.md)
OPS, OPS_PASSWORD = "ops", "govhub-dev-operator"
REGION = "330106000000"


async def shot(page, name: str, *, full_page: bool = True) -> None:
    folder = os.environ.get("GOVHUB_CONSOLE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


async def spare_editor(signed_in, url: str) -> str:
    """A topic editor of its own (the lockout test locks it), made over the JSON API by the demo
    operator's console session (its cookie is the admin session's token: no login of its own)."""
    await signed_in(OPS, OPS_PASSWORD)
    name = f"lock.{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=url.replace("localhost", "127.0.0.1")) as http:
        token = sessions.token_of(url, OPS)
        made = await http.post("/admin/v1/accounts", headers={"Authorization": f"Bearer {token}"}, json={
            "username": name, "display_name": "锁定测试", "password": "spare-password-123", "roles": ["topic_editor"]})
        assert made.status_code == 201, made.text
    return name


async def test_log_in_and_five_wrong_passwords_lock_the_account(browser, console_url, signed_in):
    name = await spare_editor(signed_in, console_url)
    context, left = await browser.new_context(), []
    await sessions.only_the_hub(context, console_url, left)  # an intranet: nothing from elsewhere
    page = await context.new_page()
    await page.goto(f"{console_url}/console/topics")
    assert page.url.startswith(f"{console_url}/console/login")
    await shot(page, "login")
    for _ in range(5):
        await log_in(page, console_url, name, "wrong-password")
    assert "用户名或密码错误" in await page.content() or "锁定" in await page.content()
    await log_in(page, console_url, name, "spare-password-123")
    assert "锁定" in await page.text_content("[role=alert]")
    await log_in(page, console_url, EDITOR, EDITOR_PASSWORD)
    await page.wait_for_url(f"{console_url}/console")
    cookie = next(c for c in await page.context.cookies() if c["name"] == "govhub_console")
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Strict")
    sessions.remember(console_url, EDITOR, await page.context.storage_state())  # the editor's tests go on in it
    await shot(page, "start")
    assert not left, left


async def test_create_schedule_preview_publish_and_the_home_page_serves_it(signed_in, console_url):
    page = await signed_in(EDITOR, EDITOR_PASSWORD, viewport={"width": 1280, "height": 900})
    await page.goto(f"{console_url}/console/topics/new")
    code = f"chuxing-{uuid.uuid4().hex[:6]}"
    await page.fill("input[name=code]", code)
    await page.fill("input[name=title]", "出行服务专区")
    await page.fill("input[name=subtitle]", "驾驶证、出入境证件一站办理")
    await page.check("input[name=channels][value=wechat]")
    await page.fill("textarea[name=entries]", "link https://example.gov.cn/chuxing 出行指南")
    await page.fill("input[name=starts_at]", _beijing(suite_clock.now() - timedelta(hours=1)))
    await page.fill("input[name=ends_at]", _beijing(suite_clock.now() + timedelta(days=30)))
    await shot(page, "topic-form")
    await page.click("text=保存")
    await page.wait_for_url(f"{console_url}/console/topics/{code}")
    await page.wait_for_selector(".phone")  # htmx loads the preview frame
    assert "专题尚未发布或已下线" in await page.text_content(".phone")
    await page.select_option("select[name=channel]", "alipay")
    await page.wait_for_selector(".phone[data-channel=alipay]")
    assert "未在该渠道展示" in await page.text_content(".phone")
    await page.select_option("select[name=channel]", "wechat")
    await page.wait_for_selector(".phone[data-channel=wechat]")
    await page.click("text=发布")
    await page.wait_for_selector(".status.published")
    await page.wait_for_selector(".phone[data-channel=wechat]")
    assert "现在能看到" in await page.text_content(".phone")
    # the channel's home page, the topic marked on it and scrolled into the phone's view
    await page.wait_for_function("""() => {
        const phone = document.querySelector('.phone'), topic = phone && phone.querySelector('.home .previewed');
        if (!topic) return false;
        const a = phone.getBoundingClientRect(), b = topic.getBoundingClientRect();
        return b.top >= a.top && b.bottom <= a.bottom && topic.textContent.includes('出行服务专区');
    }""", timeout=5_000)
    assert "topic.publish" in await page.text_content("#history")
    await shot(page, "topic-detail")
    await _shown_on_home(console_url, "出行服务专区")
    await page.goto(f"{console_url}/console/topics")
    assert "出行服务专区" in await page.content()
    await shot(page, "topics")


async def test_a_form_posted_without_its_csrf_token_is_refused(signed_in, console_url):
    page = await signed_in(EDITOR, EDITOR_PASSWORD)
    await page.goto(f"{console_url}/console")
    status = await page.evaluate("""async () => {
        const body = new URLSearchParams({code: 'forged-topic', title: '伪造', channels: 'wechat'});
        const answer = await fetch('/console/topics', {method: 'POST', body, credentials: 'same-origin'});
        return answer.status;
    }""")
    assert status == 403
    await page.goto(f"{console_url}/console/topics")
    assert "forged-topic" not in await page.content()


async def _shown_on_home(url: str, title: str) -> None:
    async with httpx.AsyncClient(base_url=url.replace("localhost", "127.0.0.1")) as http:
        for _ in range(50):  # a switched topic shows on every instance within a second
            home = await http.get("/wx/v1/home", params={"region": REGION})
            if title in home.text:
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{title} not on /wx/v1/home: {home.text[:500]}")


def _beijing(moment) -> str:
    from domain.shared.clock import SHANGHAI

    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


async def test_a_parked_delivery_is_found_and_resent(signed_in, console_url, live_hub):
    from tests.support.live_hub import delivery_status, park_soon

    number = f"B{uuid.uuid4().hex[:8]}"
    await park_soon(live_hub.database_url, kind="test.nowhere", target="zj-platform", number=number)
    for _ in range(100):  # the hub's relay (each second) finds no sender for it and parks it
        if await delivery_status(live_hub.database_url, f"zj-platform:{number}") == "parked":
            break
        await asyncio.sleep(0.1)
    page = await signed_in(OPS, OPS_PASSWORD, viewport={"width": 1280, "height": 900})
    await page.goto(f"{console_url}/console/deliveries?status=parked&target=zj-platform")
    row = page.locator("#deliveries tr", has_text=number)
    await row.locator("a").first.click()  # the delivery with its attempts
    await page.wait_for_selector("text=每次尝试")
    shown = await page.text_content("main")
    assert number in shown and "已搁置" in shown and "test.nowhere" in shown, shown
    await shot(page, "delivery")
    await page.go_back()
    await row.locator("input[type=checkbox]").check()
    await page.fill("input[name=reason]", "省平台已恢复")
    await shot(page, "deliveries")
    await page.click("text=重发所选")
    await page.wait_for_selector("[role=status]")
    assert "已重发 1 条" in await page.text_content("[role=status]")
    await page.goto(f"{console_url}/console/deliveries/summary")
    await shot(page, "delivery-summary")
