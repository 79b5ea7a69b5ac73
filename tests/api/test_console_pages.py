"""The console's pages over HTTP (the browser tests are tests/browser/): logging in with the admin
accounts, their lockout and the session cookie's flags; CSRF on every form; topics created, refused
with field-level errors, published and seen on /wx/v1/home, with the audit trail the JSON routes
write; every kind of caller."""
from __future__ import annotations

import html
import json
import re

import pytest

from bff.common.paths import SHAPES
from domain.audit.models import AuditEntry
from domain.audit.service import AuditFilters, AuditLog
from tests.support.admins import PASSWORD, cheap_admin_services, make_admin
from tests.support.citizens import bearer, login_wechat

TOPIC = {"code": "xinsheng-er", "title": "新生儿出生一件事", "subtitle": "出生医学证明、户口登记、医保参保一次办",
         "channels": ["wechat", "app"], "regions": "", "entries": "bundle newborn 新生儿一件事",
         "weight": "10", "starts_at": "", "ends_at": ""}


@pytest.fixture
async def admins(app):
    with cheap_admin_services(app) as accounts:
        for name, roles in (("editor", ("topic_editor",)), ("ops", ("operator",)), ("catalog", ("catalog_admin",))):
            await make_admin(accounts, name, *roles)
        yield accounts


def cookies_of(response) -> dict[str, str]:
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        found[name] = rest.split(";", 1)[0]
    return found


class Browser:
    """Cookies kept by hand: httpx does not send Secure cookies back over http:// (a browser does, to localhost)."""

    def __init__(self, client) -> None:
        self.client, self.cookies = client, {}

    async def get(self, path: str, **options):
        return await self._send("GET", path, **options)

    async def post(self, path: str, data: dict | None = None, **options):
        return await self._send("POST", path, data=data, **options)

    async def _send(self, method: str, path: str, **options):
        headers = {**options.pop("headers", {}), "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        response = await self.client.request(method, path, headers=headers, **options)
        for name, value in cookies_of(response).items():
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response

    async def login(self, username: str, password: str = PASSWORD):
        form = await self.get("/console/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        return await self.post("/console/login", {"username": username, "password": password, "csrf_token": token,
                                                  "next": "/console/topics"})

    async def csrf(self, path: str = "/console") -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', (await self.get(path)).text).group(1)


async def test_log_in_with_an_admin_account_and_the_cookie_is_secure_httponly_and_strict(client, admins):
    browser = Browser(client)
    assert (await browser.get("/console/topics")).headers["location"].startswith("/console/login")
    answer = await browser.login("editor")
    assert (answer.status_code, answer.headers["location"]) == (303, "/console/topics")
    [cookie] = [h for h in answer.headers.get_list("set-cookie") if h.startswith("govhub_console=")]
    assert all(flag in cookie for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/console"))
    page = await browser.get("/console/topics")
    assert page.status_code == 200 and "新建专题" in page.text and page.headers["cache-control"] == "no-store"
    await browser.post("/console/logout", {"csrf_token": await browser.csrf()})
    assert (await browser.get("/console/topics")).status_code == 303


async def test_wrong_passwords_lock_the_account_as_the_json_login_does(client, admins):
    browser = Browser(client)
    statuses = [(await browser.login("editor", "wrong-password")).status_code for _ in range(6)]
    assert statuses[0] == 401 and statuses[-1] == 429
    locked = await browser.login("editor")
    assert locked.status_code == 429 and "锁定" in locked.text
    unknown = await browser.login("nobody", "wrong-password")
    assert unknown.status_code == 401 and "用户名或密码错误" in unknown.text


async def test_the_eleventh_login_in_a_minute_from_one_address_is_refused_as_the_json_login_is(client, admins):
    browser = Browser(client)
    statuses = [(await browser.login(f"nobody{n}", "wrong-password")).status_code for n in range(10)]
    assert statuses == [401] * 10  # ten names: no account's lockout, only the address's budget
    refused = await browser.login("editor")  # even the right password
    assert refused.status_code == 429 and "登录尝试过于频繁" in refused.text and 'role="alert"' in refused.text
    assert int(refused.headers["retry-after"]) >= 1 and "govhub_console" not in cookies_of(refused)
    json_login = await client.post("/admin/v1/session", json={"username": "editor", "password": PASSWORD})
    assert json_login.status_code == 429  # one budget for both doors to the admin accounts


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(client, admins, resources):
    browser = Browser(client)
    await browser.login("editor")
    refused = await browser.post("/console/topics", {**TOPIC})
    assert refused.status_code == 403 and "CSRF" in refused.text
    forged = await browser.post("/console/topics", {**TOPIC, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert await resources.topics.list() == []
    no_login_token = await Browser(client).post("/console/login", {"username": "editor", "password": PASSWORD})
    assert no_login_token.status_code == 403 and "govhub_console" not in cookies_of(no_login_token)


async def test_create_with_field_errors_then_publish_and_the_home_page_shows_it(client, admins, resources, mock_url):
    browser = Browser(client)
    await browser.login("editor")
    token = await browser.csrf()
    bad = await browser.post("/console/topics", {**TOPIC, "code": "Bad Code", "csrf_token": token})
    assert bad.status_code == 400 and "应为2到64位小写字母、数字或-" in bad.text  # the domain's words, at the field
    assert 'value="Bad Code"' in bad.text and 'value="新生儿出生一件事"' in bad.text  # what was typed stays
    not_a_number = await browser.post("/console/topics", {**TOPIC, "weight": "x", "csrf_token": token})
    assert not_a_number.status_code == 400 and "应为整数" in not_a_number.text
    made = await browser.post("/console/topics", {**TOPIC, "csrf_token": token})
    assert (made.status_code, made.headers["location"]) == (303, "/console/topics/xinsheng-er")
    published = await browser.post("/console/topics/xinsheng-er/publish", {"csrf_token": token, "version": "1"})
    assert published.status_code == 303
    home = (await client.get("/wx/v1/home", params={"region": "330106000000"})).json()
    assert "新生儿出生一件事" in str(home)
    detail = await browser.get("/console/topics/xinsheng-er")
    assert "topic.publish" in detail.text and "topic.create" in detail.text  # the audit history
    trail = (await AuditLog.list(AuditFilters(target_type="topic", target_id="xinsheng-er"))).entries
    assert [(e.action, e.actor_username) for e in trail] == [("topic.publish", "editor"), ("topic.create", "editor")]
    frame = await browser.get("/console/topics/xinsheng-er/preview", params={"channel": "alipay"})
    assert "支付宝小程序" in frame.text and "未在该渠道展示" in frame.text  # alipay was not chosen


async def test_a_junk_version_on_a_topic_is_a_form_error_not_a_500_nor_an_unchecked_write(client, admins, resources):
    browser = Browser(client)
    await browser.login("editor")
    token = await browser.csrf()
    made = await browser.post("/console/topics", {**TOPIC, "csrf_token": token})
    assert made.status_code == 303
    edited = await browser.post("/console/topics/xinsheng-er", {**TOPIC, "title": "改过的标题", "version": "x1",
                                                                 "csrf_token": token})
    assert edited.status_code == 400 and "版本号应为整数" in edited.text
    published = await browser.post("/console/topics/xinsheng-er/publish", {"csrf_token": token, "version": "junk"})
    assert published.status_code == 303 and "error=" in published.headers["location"]
    trail = (await AuditLog.list(AuditFilters(target_type="topic", target_id="xinsheng-er"))).entries
    assert [e.action for e in trail] == ["topic.create"]  # neither the edit nor the publication happened


async def test_every_kind_of_caller(client, admins, resources, mock_url):
    anonymous = Browser(client)
    for path in ("/console", "/console/topics", "/console/topics/new"):
        answer = await anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login")
    citizen = await login_wechat(client, mock_url, "alice")  # a citizen's bearer token opens nothing here
    assert (await client.get("/console/topics", headers=bearer(citizen))).status_code == 303
    ops, catalog = Browser(client), Browser(client)
    await ops.login("ops")
    await catalog.login("catalog")
    assert (await catalog.get("/console/topics")).status_code == 403  # no topic role
    assert (await ops.get("/console/topics")).status_code == 200  # operators switch topics on and off
    assert (await ops.get("/console/topics/new")).status_code == 403  # but do not write them
    refused = await ops.post("/console/topics", {**TOPIC, "csrf_token": await ops.csrf()})
    assert refused.status_code == 403 and await resources.topics.list() == []
    stolen = Browser(client)
    stolen.cookies = {"govhub_console": "not-a-session"}
    assert (await stolen.get("/console/topics")).status_code == 303
    assert (await anonymous.get("/console/static/vendor/htmx/htmx.min.js")).status_code == 200


def _frame_body(frame) -> dict:
    """The channel's body the phone frame shows under 渠道接口返回的内容."""
    return json.loads(html.unescape(re.search(r"<pre>(.*?)</pre>", frame.text, re.S).group(1)))


async def test_the_preview_frame_is_the_channels_home_page_as_its_bff_serves_it(client, admins, resources):
    browser = Browser(client)
    await browser.login("editor")
    token = await browser.csrf()
    entries = "\n".join(f"link https://example.gov.cn/{n} 入口{n}" for n in range(6))  # more than a mini-program shows
    made = await browser.post("/console/topics", {**TOPIC, "entries": entries, "csrf_token": token})
    assert made.status_code == 303
    hidden = await browser.get("/console/topics/xinsheng-er/preview", params={"channel": "wechat"})
    assert "专题尚未发布或已下线" in hidden.text and "对该受众可见时，首页上显示为" in hidden.text
    assert _frame_body(hidden) == (await client.get("/wx/v1/home", params={"region": "330106000000"})).json()
    assert (await browser.post("/console/topics/xinsheng-er/publish", {"csrf_token": token, "version": "1"})).status_code == 303
    for channel, prefix in (("wechat", "/wx/v1"), ("alipay", "/alipay/v1"), ("app", "/app/v1")):
        frame = await browser.get("/console/topics/xinsheng-er/preview", params={"channel": channel})
        served = (await client.get(f"{prefix}/home", params={"region": "330106000000"})).json()
        assert frame.status_code == 200 and _frame_body(frame) == served, channel  # the very body, as served
    wechat = _frame_body(await browser.get("/console/topics/xinsheng-er/preview", params={"channel": "wechat"}))
    [shown] = wechat["topics"]
    assert (len(shown["entries"]), shown["more"]) == (4, True)  # the mini-program's compact page
    app = _frame_body(await browser.get("/console/topics/xinsheng-er/preview", params={"channel": "app"}))
    assert len(app["topics"][0]["entries"]) == 6 and app["topics"][0]["subtitle"] == TOPIC["subtitle"]
    alipay = await browser.get("/console/topics/xinsheng-er/preview", params={"channel": "alipay"})
    assert "未在该渠道展示" in alipay.text and _frame_body(alipay)["topics"] == []  # not targeted: not on its page
    assert 'data-topic="xinsheng-er"' in alipay.text  # but the card it would get is shown
    web = await browser.get("/console/topics/xinsheng-er/preview", params={"channel": "pc"})
    public = (await client.get("/public/v1/topics", params={"channel": "app", "region": "330106000000"})).json()
    assert "未在该渠道展示" in web.text and [_frame_body(web)] == public["items"]  # no home route: the topic's public shape
    elsewhere = await browser.get("/console/topics/xinsheng-er/preview", params={"channel": "wechat", "region": "11"})
    assert elsewhere.status_code == 400 and 'role="alert"' in elsewhere.text


def console_posts(app) -> list[str]:
    """Every state-changing console path the router knows, its parameters filled with examples."""
    paths = set()
    for route in app.router.routes:
        path = "/" + route.path
        if "POST" in route.methods and path.startswith("/console/") and path != "/console/login":
            paths.add(re.sub(r"<(\w+):(\w+)>", lambda m: str(SHAPES[m.group(2)].example), path))
    return sorted(paths)


async def test_every_console_post_is_refused_without_the_csrf_token(app, client, admins):
    """Whatever the route and whatever roles the admin holds, a POST without the session's token
    (or with another's) is a 403 and changes nothing — routes added later included."""
    await make_admin(admins, "all.roles", "topic_editor", "catalog_admin", "operator")
    browser, other = Browser(client), Browser(client)
    await browser.login("all.roles")
    await other.login("editor")
    someone_elses = await other.csrf()
    posts = console_posts(app)
    assert {"/console/topics", "/console/search-words", "/console/deliveries/resend", "/console/logout",
            "/console/bundles/newborn/publication", "/console/matters/330100-NAT-0001/channels"} <= set(posts)
    before = await AuditEntry.exclude(action__startswith="session.").count()
    for path in posts:
        for sent in ({}, {"csrf_token": someone_elses}, {"csrf_token": ""}):
            refused = await browser.post(path, {**TOPIC, "version": "1", "id": "1", **sent})
            assert refused.status_code == 403 and "CSRF" in refused.text, (path, sent, refused.status_code)
    assert await AuditEntry.exclude(action__startswith="session.").count() == before
    assert (await browser.get("/console")).status_code == 200  # the session is still there: logout refused too


async def test_edit_targeting_and_schedule_then_take_offline(client, admins, resources):
    """An edit with regions and a schedule in Beijing time (the list shows Beijing dates: 00:30 on
    the 1st is the 30th in UTC), then switched off by an operator; each step in the history."""
    editor, ops = Browser(client), Browser(client)
    await editor.login("editor")
    await ops.login("ops")
    token = await editor.csrf()
    assert (await editor.post("/console/topics", {**TOPIC, "csrf_token": token})).status_code == 303
    form = await editor.get("/console/topics/xinsheng-er/edit")
    assert form.status_code == 200 and 'name="version" value="1"' in form.text
    bad_region = await editor.post("/console/topics/xinsheng-er", {
        **TOPIC, "regions": "3301", "version": "1", "csrf_token": token})
    assert bad_region.status_code == 400 and "地区代码应为12位数字" in bad_region.text and "3301" in bad_region.text
    edited = await editor.post("/console/topics/xinsheng-er", {
        **TOPIC, "regions": "330100000000\n110000000000", "starts_at": "2026-12-01T00:30",
        "ends_at": "2027-01-31T23:00", "version": "1", "csrf_token": token})
    assert edited.status_code == 303, edited.text
    topic = await resources.topics.get("xinsheng-er")
    assert topic.regions == ("330100000000", "110000000000") and topic.version == 2
    assert topic.starts_at.isoformat().startswith("2026-11-30T16:30")  # stored UTC
    listed = await editor.get("/console/topics")
    assert "2026-12-01 — 2027-01-31" in listed.text and "330100000000" in listed.text
    stale = await editor.post("/console/topics/xinsheng-er", {**TOPIC, "title": "旧版本上的修改", "version": "1",
                                                               "csrf_token": token})
    assert stale.status_code == 400 and (await resources.topics.get("xinsheng-er")).title == TOPIC["title"]
    ops_token = await ops.csrf()
    assert (await ops.post("/console/topics/xinsheng-er/publish", {"csrf_token": ops_token, "version": "2"})).status_code == 303
    assert (await ops.post("/console/topics/xinsheng-er/offline", {"csrf_token": ops_token, "version": "3"})).status_code == 303
    assert (await resources.topics.get("xinsheng-er")).status == "offline"
    trail = (await AuditLog.list(AuditFilters(target_type="topic", target_id="xinsheng-er"))).entries
    assert [(e.action, e.actor_username) for e in trail] == [
        ("topic.offline", "ops"), ("topic.publish", "ops"), ("topic.update", "editor"), ("topic.create", "editor")]
    history = await ops.get("/console/topics/xinsheng-er")
    assert all(action in history.text for action in ("topic.offline", "topic.update", "topic.create"))


@pytest.mark.parametrize(("wanted", "lands"), [
    ("/console/deliveries", "/console/deliveries"), ("https://evil.example/console", "/console"),
    ("//evil.example/console", "/console"), ("/elsewhere", "/console"), ("/console\\@evil.example", "/console"),
    ("/console/topics?x=https://evil.example", "/console/topics"),
])
async def test_after_login_only_a_console_page_is_next(client, admins, wanted, lands):
    browser = Browser(client)
    form = await browser.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    answer = await browser.post("/console/login", {"username": "ops", "password": PASSWORD, "csrf_token": token,
                                                   "next": wanted})
    assert (answer.status_code, answer.headers["location"]) == (303, lands)


async def test_junk_and_missing_things_are_pages_that_say_so_never_a_500(client, admins, resources):
    """What a person (or a tampered page) sends: a missing topic, matter, delivery or run is a 404 page
    naming the domain's code; a junk cursor a 400 page; ids that are not whole numbers are refused on
    the page and resend nothing."""
    await make_admin(admins, "all.roles", "topic_editor", "catalog_admin", "operator")
    browser = Browser(client)
    await browser.login("all.roles")
    for path, params, status, code in (
            ("/console/topics/nonexistent", {}, 404, "topic_not_found"),
            ("/console/topics/nonexistent/edit", {}, 404, "topic_not_found"),
            ("/console/matters/330100-NAT-9999", {}, 404, "matter_not_found"),
            ("/console/deliveries/999999999999999999", {}, 404, "delivery_not_found"),
            ("/console/bundles/nope", {}, 404, "bundle_not_found"),
            ("/console/bundle-runs/B330106-20261127-8F3A2C01", {}, 404, "bundle_run_not_found"),
            ("/console/deliveries", {"cursor": "junk"}, 400, "delivery_query_invalid")):
        answer = await browser.get(path, params=params)
        assert answer.status_code == status, (path, answer.text[:200])
        assert answer.headers["content-type"].startswith("text/html") and f"<code>{code}</code>" in answer.text
        assert 'href="/console/dashboard"' in answer.text  # the console's page, menu and all
    for params in ({"status": "\x00", "age": "zz", "target": "\x00"}, {"q": "\x00"}, {"q": "社保", "region": "xyz"}):
        path = "/console/deliveries" if "status" in params else "/console/matters"
        assert (await browser.get(path, params=params)).status_code == 200, params
    token = await browser.csrf()
    resend = await browser.post("/console/deliveries/resend", {"csrf_token": token,
                                                               "id": ["x", "9" * 30, "１２", "-1"]})
    assert resend.status_code == 303 and "error=" in resend.headers["location"], resend.text[:300]
    assert "done=%E5%B7%B2%E9%87%8D%E5%8F%91%200%20%E6%9D%A1" in resend.headers["location"]  # 已重发 0 条
    assert not await AuditEntry.filter(action__startswith="delivery.").exists()
