"""The figures over HTTP: ``GET /public/v1/figures`` for anyone (from the rollups, cacheable a
minute), the request-time counting of bff/common/traffic.py (route groups, page views, visitors),
and the console's dashboard for every admin role and nobody else."""
from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest

from domain.figures import rules
from tests.support import figures as seed
from tests.support.admins import PASSWORD, cheap_admin_services, make_admin
from tests.support.citizens import bearer, login_wechat


@pytest.fixture
async def admins(app):
    with cheap_admin_services(app) as accounts:
        for name, roles in (("editor", ("topic_editor",)), ("ops", ("operator",)), ("catalog", ("catalog_admin",))):
            await make_admin(accounts, name, *roles)
        yield accounts


async def console_cookie(client, username: str) -> dict:
    """Logged in to the console as ``username``: the Cookie header a browser would send back."""
    form = await client.get("/console/login")
    login = dict(c.split(";", 1)[0].split("=", 1) for c in form.headers.get_list("set-cookie"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    answer = await client.post("/console/login", data={"username": username, "password": PASSWORD,
                                                       "csrf_token": token},
                               headers={"Cookie": "; ".join(f"{k}={v}" for k, v in login.items())})
    assert answer.status_code == 303, answer.text
    session = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("govhub_console="))
    return {"Cookie": session.split(";", 1)[0]}


async def test_the_public_figures_need_no_login_and_are_cacheable_for_a_minute(client, resources):
    empty = await client.get("/public/v1/figures")
    assert empty.status_code == 200 and empty.headers["cache-control"] == "public, max-age=60"
    body = empty.json()
    assert body["rolled_at"] is None and body["users"] == {"registered": 0, "real_name": 0}
    assert set(body["periods"]) == {"today", "last_7_days", "last_30_days"}
    assert body["periods"]["today"] == {figure: 0 for figure in rules.HEADLINE}

    now = resources.clock.now()
    await seed.person(now - timedelta(days=3), real_name_at=now - timedelta(days=3))
    await seed.person(now)
    await seed.application(now - timedelta(days=2), channel="app", completed_at=now - timedelta(days=2), instant=True)
    await seed.application(now)
    await seed.license_issued(now, shown=[now])
    await seed.exchange_call(now, consumer="bj-psb")
    await resources.figures.roll_up_days(sorted({rules.day_of(now - timedelta(days=2)), rules.day_of(now)}))
    body = (await client.get("/public/v1/figures")).json()
    assert body["users"] == {"registered": 2, "real_name": 1} and body["rolled_at"]
    today, week = body["periods"]["today"], body["periods"]["last_7_days"]
    assert (today["applications_submitted"], week["applications_submitted"]) == (1, 2)
    assert (today["instant_approvals"], week["instant_approvals"], week["applications_completed"]) == (0, 1, 1)
    assert (today["licenses_issued"], today["licenses_shown"], today["exchange_calls"]) == (1, 1, 1)
    assert body["periods"]["last_30_days"]["applications_submitted"] == 2


def _fake_token(subject: str) -> str:
    """A token-shaped string naming ``subject``, unsigned: home ignores it, the visitor count reads it."""
    payload = base64.urlsafe_b64encode(json.dumps({"sub": subject}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJFUzI1NiJ9.{payload}.c2ln"


async def test_requests_are_counted_per_route_group_with_page_views_and_visitors(client, resources, admins):
    for headers in ({}, {}, {"Authorization": f"Bearer {_fake_token('p1')}"},
                    {"Authorization": f"Bearer {_fake_token('p1')}", "User-Agent": "another"}):
        assert (await client.get("/wx/v1/home", params={"region": "330106000000"}, headers=headers)).status_code == 200
    assert (await client.get("/alipay/v1/matters", params={"q": "社保"})).status_code == 200
    device = {"X-Device-Id": "device-0001"}
    assert (await client.get("/app/v1/matters/NO-SUCH-MATTER", headers=device)).status_code == 404  # no page
    assert (await client.get("/app/v1/me", headers=device)).status_code == 401  # a visit, not a page
    assert (await client.get("/public/v1/regions")).status_code == 200
    assert (await client.get("/nowhere")).status_code == 404
    await client.get("/console/dashboard", headers=await console_cookie(client, "ops"))
    await resources.figures.flush()
    await resources.figures.roll_up()
    board = await resources.figures.dashboard(period="today")
    assert board.totals[rules.PAGE_VIEWS] == {"wechat": 4, "alipay": 1}
    # wechat: one address and user agent, one subject (whatever address it came from); app: one device
    assert board.totals[rules.VISITS] == {"wechat": 2, "alipay": 1, "app": 1}
    requests = board.totals[rules.REQUESTS]
    assert (requests["wx"], requests["alipay"], requests["app"], requests["public"]) == (4, 1, 2, 1)
    assert requests["other"] == 1 and requests["console"] >= 3  # the login form, the login, the page
    assert rules.ERRORS not in board.totals  # 4xx are the callers' errors
    assert all(r.p95_ms is not None and r.p95_ms > 0 for r in board.routes)


async def test_the_dashboard_page_is_for_every_admin_and_nobody_else(client, resources, admins, mock_url):
    anonymous = await client.get("/console/dashboard")
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/console/login?next=/console/dashboard")
    citizen = await login_wechat(client, mock_url, "alice")
    assert (await client.get("/console/dashboard", headers=bearer(citizen))).status_code == 303
    forged = await client.get("/console/dashboard", headers={"Cookie": "govhub_console=not-a-session"})
    assert forged.status_code == 303
    now = resources.clock.now()
    await seed.application(now)
    await seed.license_issued(now, shown=[now, now])
    await resources.figures.roll_up()
    for username in ("editor", "ops", "catalog"):
        page = await client.get("/console/dashboard", headers=await console_cookie(client, username))
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert "数据看板 · 今日" in page.text and page.text.count('<svg xmlns="http://www.w3.org/2000/svg"') == 8
        assert 'href="/console/dashboard" class="here"' in page.text  # the menu shows where we are
    cookie = await console_cookie(client, "ops")
    week = await client.get("/console/dashboard", params={"period": "7d"}, headers=cookie)
    assert "数据看板 · 近 7 天" in week.text and 'href="/console/dashboard?period=7d" aria-current="page"' in week.text
    labels = re.findall(r'<text x="[\d.]+" y="\d+" text-anchor="middle" fill="#4b5563">(\d\d-\d\d)</text>', week.text)
    assert labels and labels[-1] == f"{rules.day_of(now):%m-%d}"
    assert "签发证照" in week.text and "亮证次数" in week.text
    unknown = await client.get("/console/dashboard", params={"period": "forever"}, headers=cookie)
    assert unknown.status_code == 200 and "数据看板 · 今日" in unknown.text
