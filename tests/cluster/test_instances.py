"""Two hub instances (each ``govhub serve`` with two workers and its own scheduler) behind nginx,
on one PostgreSQL and one Redis (deploy/instances.py): what one instance does holds on the other,
checked through the balancer and against each instance directly.

Runs in the real-services phase of ``.ci/run``; skips on the embedded default (fakeredis lives
inside one process, SQLite is not shared by hosts).
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter

import asyncpg
import httpx
import pytest
import redis

from adapters.departments.node_sender import NODE_CACHE_SECONDS
from adapters.scheduler.runner import RUNS_KEY
from tests.cluster.conftest import real_services_missing
from tests.support.citizens import ALICE, CAROL, bearer
from tests.support.clock import scheduler_seconds, suite_clock
from tests.support.department_stub import NODE, running_stub

pytestmark = pytest.mark.skipif(real_services_missing() is not None, reason=real_services_missing() or "")

# the scheduler's fast jobs tick each second here, so a few seconds show many ticks
CLUSTER_ENV = {"GOVHUB_RELAY_INTERVAL_SECONDS": "1", "GOVHUB_BUNDLE_INTERVAL_SECONDS": "1",
               "GOVHUB_SHARING_STAMP_INTERVAL_SECONDS": "1"}
XIHU = "330106000000"
MATTER = "330100-NAT-0036"  # 居民身份证挂失申报 in 杭州: no uploaded material needed
FORM = {"reason": "身份证遗失，申请挂失", "phone": "13800000001"}
EDITOR_PASSWORD = "cluster-topics-pass"


def an_address() -> str:
    return f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(1, 254)}"


def caller(base_url: str, address: str | None = None) -> httpx.AsyncClient:
    """A client from an address of its own on the loopback (127.x.y.z): the hub keys rate limits
    on the caller's address, seen through nginx's X-Forwarded-For or directly, so each test has
    buckets nobody else touched."""
    transport = httpx.AsyncHTTPTransport(local_address=address or an_address())
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=20)


async def log_in(hub: str, mock_url: str, user: str = "alice") -> dict:
    async with httpx.AsyncClient(base_url=mock_url) as mock, caller(hub) as http:
        code = (await mock.post("/_mock/wechat/login", json={"user": user})).json()["code"]
        session = await http.post("/wx/v1/session", json={"code": code})
        assert session.status_code == 200, session.text
        return session.json()


async def me_statuses(hub: str, session: dict, times: int = 8) -> list[int]:
    """``GET /me`` several times (each worker of an instance, or each instance behind nginx)."""
    async with caller(hub) as http:
        return [(await http.get("/wx/v1/me", headers=bearer(session))).status_code for _ in range(times)]


@pytest.fixture(scope="module")
def hubs(instances):
    a, b = instances.instance_urls
    return instances.balancer_url, a, b


async def test_a_token_issued_by_one_instance_works_on_the_other_and_through_the_balancer(hubs, mock_url):
    balancer, a, b = hubs
    session = await log_in(a, mock_url)
    for hub in (b, balancer, a):
        assert set(await me_statuses(hub, session)) == {200}, hub


async def test_logout_on_one_instance_revokes_the_token_on_every_instance_at_once(hubs, mock_url):
    balancer, a, b = hubs
    session = await log_in(balancer, mock_url)
    assert set(await me_statuses(a, session, 4) + await me_statuses(b, session, 4)) == {200}  # cached as valid
    async with caller(b) as http:
        assert (await http.delete("/wx/v1/session", headers=bearer(session))).status_code == 204
    for hub in (a, b, balancer):  # the very next requests, on every worker
        assert set(await me_statuses(hub, session)) == {401}, hub


async def test_a_reused_refresh_token_revokes_the_login_everywhere(hubs, mock_url):
    balancer, a, b = hubs
    first = await log_in(a, mock_url)
    async with caller(b) as on_b, caller(a) as on_a:
        rotated = await on_b.post("/wx/v1/session/refresh", json={"refresh_token": first["refresh_token"]})
        assert rotated.status_code == 200, rotated.text
        second = rotated.json()
        assert set(await me_statuses(a, second, 4)) == {200}
        reused = await on_a.post("/wx/v1/session/refresh", json={"refresh_token": first["refresh_token"]})
        assert reused.status_code == 401, reused.text  # the old token came back: it leaked
        for hub in (a, b, balancer):
            assert set(await me_statuses(hub, second)) == {401}, hub  # the whole login is gone
        again = await on_b.post("/wx/v1/session/refresh", json={"refresh_token": second["refresh_token"]})
        assert again.status_code == 401, again.text


async def test_rate_limits_are_one_bucket_across_instances(hubs):
    """seal-verify allows 60 calls a minute per address: spread over both instances and the
    balancer, about 60 pass in all (each instance on its own would let 60 through, 120 in all)."""
    balancer, a, b = hubs
    capacity, tries = 60, 120
    passed: Counter = Counter()
    limited: Counter = Counter()
    started = time.monotonic()
    address = an_address()  # one caller, whichever way its calls go
    async with caller(a, address) as on_a, caller(b, address) as on_b, caller(balancer, address) as through:
        for i in range(tries):
            hub, http = ((a, on_a), (b, on_b), (balancer, through))[i % 3]
            answer = await http.post("/public/v1/seals/verify", json={"document": "!", "stamp": {}})
            assert answer.status_code in (400, 429), answer.text
            (limited if answer.status_code == 429 else passed)[hub] += 1
    refilled = (time.monotonic() - started) * capacity / 60  # a token a second comes back meanwhile
    total = sum(passed.values())
    print(f"passed {dict(passed)}, limited {dict(limited)} in {time.monotonic() - started:.1f} s")
    assert capacity <= total <= capacity + refilled + 1
    assert limited[a] and limited[b] and limited[balancer]


def _editor(instances) -> None:
    instances.govhub("admin", "create", "--username", "cluster-editor", "--roles", "topic_editor",
                     "--password-stdin", stdin=EDITOR_PASSWORD + "\n")


async def _home_topics(http: httpx.AsyncClient) -> list[str]:
    answer = await http.get("/wx/v1/home", params={"region": XIHU})
    assert answer.status_code == 200, answer.text
    return [topic["code"] for topic in answer.json()["topics"]]


async def _until_home_shows(http: httpx.AsyncClient, predicate, limit: float) -> tuple[float, list[str]]:
    started = time.monotonic()
    while True:
        codes = await _home_topics(http)
        elapsed = time.monotonic() - started
        if predicate(codes) or elapsed > limit:
            return elapsed, codes
        await asyncio.sleep(0.02)


async def test_a_topic_switched_on_one_instance_shows_on_the_others_home_within_a_second(instances, hubs):
    balancer, a, b = hubs
    _editor(instances)
    topic = {"code": "jiqun", "title": "多实例专栏", "channels": ["wechat"], "regions": ["330000000000"],
             "entries": [{"kind": "matter", "ref": "NAT-0021"}]}
    async with caller(a) as on_a, caller(b) as on_b:
        login = await on_a.post("/admin/v1/session", json={"username": "cluster-editor", "password": EDITOR_PASSWORD})
        editor = {"Authorization": f"Bearer {login.json()['token']}"}
        assert (await on_a.post("/admin/v1/topics", json=topic, headers=editor)).status_code == 201
        for _ in range(8):  # every worker of B holds its home in memory
            assert "jiqun" not in await _home_topics(on_b)
        for action, shown in (("publish", True), ("offline", False)):
            assert (await on_a.post(f"/admin/v1/topics/jiqun/{action}", headers=editor)).status_code == 200
            elapsed, codes = await _until_home_shows(on_b, lambda c, s=shown: ("jiqun" in c) == s, limit=1.0)
            assert ("jiqun" in codes) == shown and elapsed <= 1.0, f"{action}: B showed {codes} after {elapsed:.3f} s"
            for _ in range(8):  # and it holds on every worker of B, and behind the balancer
                assert ("jiqun" in await _home_topics(on_b)) == shown
            async with caller(balancer) as through:
                assert ("jiqun" in await _home_topics(through)) == shown
            print(f"{action}: B's home followed within {elapsed * 1000:.0f} ms")


async def _finds(http: httpx.AsyncClient, q: str, name: str) -> bool:
    answer = await http.get("/wx/v1/matters", params={"q": q})
    assert answer.status_code == 200, answer.text
    return any(name in item["name"] for item in answer.json()["items"])


async def _until_search(http: httpx.AsyncClient, q: str, name: str, found: bool, limit: float) -> float:
    started = time.monotonic()
    while await _finds(http, q, name) != found and time.monotonic() - started <= limit:
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_search_word_added_on_one_instance_changes_search_on_the_other_at_once(instances, hubs):
    """The search words (docs/catalog.md) held in every worker's memory: a word a catalog admin adds
    on A changes what B's citizens find within a second, on each of B's workers and through the
    balancer; deleting it on A undoes it there as fast (Redis pub/sub, catalog:search-words:changed)."""
    balancer, a, b = hubs
    instances.govhub("admin", "create", "--username", "cluster-catalog", "--roles", "catalog_admin",
                     "--password-stdin", stdin=EDITOR_PASSWORD + "\n")
    term, rent = "租房提甲", "住房公积金提取（租房）"  # a made-up everyday word; the seed's matter it should find
    async with caller(a) as on_a, caller(b) as on_b:
        login = await on_a.post("/admin/v1/session", json={"username": "cluster-catalog", "password": EDITOR_PASSWORD})
        catalog = {"Authorization": f"Bearer {login.json()['token']}"}
        assert await _finds(on_b, "租房", rent)  # the matter is there under its own words
        for _ in range(8):  # every worker of B has read the dictionary (and searched with it)
            assert not await _finds(on_b, term, rent)
        added = await on_a.post("/admin/v1/search-words", headers=catalog,
                                json={"term": term, "expansions": ["租房"], "two_way": False})
        assert added.status_code == 201, added.text
        elapsed = await _until_search(on_b, term, rent, True, limit=1.0)
        assert elapsed <= 1.0, f"B still did not find {rent} for {term} after {elapsed:.3f} s"
        for _ in range(8):
            assert await _finds(on_b, term, rent)
        async with caller(balancer) as through:
            assert await _finds(through, term, rent)
        word = added.json()
        removed = await on_a.delete(f"/admin/v1/search-words/{word['id']}", headers={**catalog, "If-Match": f'"{word["version"]}"'})
        assert removed.status_code in (200, 204), removed.text
        gone = await _until_search(on_b, term, rent, False, limit=1.0)
        assert gone <= 1.0 and all([not await _finds(on_b, term, rent) for _ in range(8)])
        print(f"search words: B followed an addition within {elapsed * 1000:.0f} ms, a deletion within {gone * 1000:.0f} ms")


async def test_the_same_idempotency_key_on_both_instances_makes_one_application(hubs, mock_url):
    balancer, a, b = hubs
    session = await log_in(a, mock_url)
    async with caller(a) as on_a:
        verified = await on_a.post("/wx/v1/me/real-name", headers=bearer(session),
                                   json={"name": ALICE["name"], "id_number": ALICE["id_number"]})
        assert verified.status_code == 200, verified.text
        session = verified.json()["session"] or session
    key = f"cluster-{random.getrandbits(64):x}"
    body = {"matter_code": MATTER, "form": FORM, "materials": []}

    async def submit(hub: str) -> httpx.Response:
        async with caller(hub) as http:
            return await http.post("/wx/v1/applications", json=body,
                                   headers={**bearer(session), "Idempotency-Key": key})

    answers = await asyncio.gather(*(submit(hub) for hub in (a, b, balancer, a, b, balancer)))
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {201, 409}, [answer.text for answer in answers]  # 409: the first still in flight
    numbers = {answer.json()["number"] for answer in answers if answer.status_code == 201}
    assert len(numbers) == 1, numbers
    late = await submit(b)  # after all: the first answer, replayed
    assert late.status_code == 201 and late.json()["number"] in numbers, late.text
    async with caller(balancer) as http:
        mine = (await http.get("/wx/v1/applications", params={"matter": MATTER}, headers=bearer(session))).json()
    assert [item["number"] for item in mine["items"]] == list(numbers)  # one application stored


async def test_a_citizens_open_items_on_every_instance_follow_a_change_made_on_another(hubs, mock_url):
    # each worker keeps a citizen's count between page views (domain/applications/open_counts.py):
    # a submit on one instance and a withdrawal on the other must show on every worker at once
    balancer, a, b = hubs
    session = await log_in(a, mock_url, user="carol")
    async with caller(a) as on_a:
        verified = await on_a.post("/wx/v1/me/real-name", headers=bearer(session),
                                   json={"name": CAROL["name"], "id_number": CAROL["id_number"]})
        assert verified.status_code == 200, verified.text
        session = verified.json()["session"] or session

    async def open_items(hub: str) -> list[int]:  # several views: each worker of the instance
        async with caller(hub) as http:
            return [(await http.get("/wx/v1/home", params={"region": XIHU}, headers=bearer(session))).json()
                    ["open_items"] for _ in range(6)]

    before = await open_items(b) + await open_items(a)
    await asyncio.sleep(2.5)  # past the settle window after any change: these counts are now kept
    assert await open_items(b) + await open_items(a) == before
    async with caller(a) as on_a:
        submitted = await on_a.post("/wx/v1/applications", json={"matter_code": MATTER, "form": FORM, "materials": []},
                                    headers={**bearer(session), "Idempotency-Key": f"open-{random.getrandbits(64):x}"})
    assert submitted.status_code == 201, submitted.text
    assert set(await open_items(b) + await open_items(balancer)) == {before[0] + 1}
    await asyncio.sleep(2.5)
    async with caller(b) as on_b:
        number = submitted.json()["number"]
        withdrawn = await on_b.post(f"/wx/v1/applications/{number}/withdrawal", headers=bearer(session),
                                    json={"reason": "信息填错了"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert set(await open_items(a) + await open_items(balancer)) == {before[0]}


def _runs(instances) -> list[tuple[str, int, str]]:
    client = redis.Redis.from_url(instances.redis_url, decode_responses=True)
    try:
        return [(ref, int(tick), who) for ref, tick, who in
                (row.split(" ", 2) for row in client.lrange(RUNS_KEY, 0, -1))]
    finally:
        client.close()


def test_every_scheduled_job_runs_exactly_once_per_tick_across_instances(instances):
    started = int(scheduler_seconds())
    time.sleep(8)
    ended = int(scheduler_seconds())
    runs = [(ref, tick, who) for ref, tick, who in _runs(instances)]
    per_window = Counter((ref, tick) for ref, tick, _ in runs)
    doubles = {window: count for window, count in per_window.items() if count > 1}
    assert not doubles, f"windows run more than once: {doubles}"
    # the second-long jobs over these seconds (edges aside): each window ran, on one host or other
    for job in ("advance_bundles", "relay_deliveries", "stamp_message_log"):
        ticks = {tick for ref, tick, _ in runs if ref.endswith(":" + job)}
        windows = set(range(started + 1, ended - 1))
        covered = len(windows & ticks) / len(windows)
        print(f"{job}: {len(windows & ticks)} of {len(windows)} windows, run by "
              f"{sorted({who for ref, tick, who in runs if ref.endswith(':' + job) and tick in windows})}")
        assert covered >= 0.8, f"{job} ran in only {covered:.0%} of the windows"


async def _enqueue(database_url: str, count: int) -> list[str]:
    """Deliveries to the zj-platform node written into the shared outbox, as a submission writes them."""
    now = suite_clock.now()
    keys = [f"cluster-{random.getrandbits(48):x}-{i}" for i in range(count)]
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.executemany(
            "INSERT INTO deliveries (kind, target, payload, dedupe_key, status, attempts, next_attempt_at, created_at,"
            " updated_at) VALUES ('node.application.submitted', $1, $2::jsonb, $3, 'pending', 0, $4, $4, $4)",
            [(NODE, json.dumps({"number": key}), key, now) for key in keys])
        return keys
    finally:
        await conn.close()


async def _outbox(database_url: str, keys: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch("SELECT id, dedupe_key, status FROM deliveries WHERE dedupe_key = ANY($1)", keys)
        relays = await conn.fetch("SELECT a.relay, count(*) AS n FROM delivery_attempts a JOIN deliveries d "
                                  "ON d.id = a.delivery_id WHERE d.dedupe_key = ANY($1) GROUP BY a.relay", keys)
        return {str(r["id"]): r["status"] for r in rows}, {r["relay"]: r["n"] for r in relays}
    finally:
        await conn.close()


async def _failed_attempts(database_url: str, keys: list[str]) -> list[tuple]:
    """The attempts that did not deliver: (relay, outcome, error), for a failure's message."""
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch("SELECT a.relay, a.outcome, a.error, a.duration_ms FROM delivery_attempts a"
                                " JOIN deliveries d ON d.id = a.delivery_id WHERE d.dedupe_key = ANY($1)"
                                " AND a.outcome <> 'delivered'", keys)
        return Counter((r["relay"], r["outcome"], (r["error"] or "")[:80]) for r in rows).most_common(5)
    finally:
        await conn.close()


async def test_relays_on_both_instances_deliver_each_delivery_once(instances):
    with running_stub(hub_url=instances.balancer_url, review=False) as stub:
        instances.govhub("nodes", "set-endpoint", NODE, stub.endpoint())
        # a relay that delivered to this node in an earlier test remembers its old endpoint for
        # up to NODE_CACHE_SECONDS (seen in CI: the first waves refused there, then retried)
        await asyncio.sleep(NODE_CACHE_SECONDS + 0.5)
        # a slow department and work arriving in waves: while one instance's relay is still
        # draining (its own ticks skipped), the next ticks go to the other, which drains too
        stub.fault("slow", seconds=1.0)
        keys = []
        for _ in range(12):
            keys += await _enqueue(instances.database_url, 8)
            await asyncio.sleep(0.5)
        deadline = time.monotonic() + 120
        while True:
            statuses, relays = await _outbox(instances.database_url, keys)
            if set(statuses.values()) == {"delivered"} or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        arrivals = stub.arrivals()
    print(f"attempts by relay: {relays}")
    assert set(statuses.values()) == {"delivered"}, Counter(statuses.values())
    assert {key: arrivals.get(key) for key in statuses} == {key: 1 for key in statuses}  # each sent once
    failed = await _failed_attempts(instances.database_url, keys)
    assert sum(relays.values()) == len(keys), failed  # one attempt each, none retried
    assert len(relays) >= 2, f"one relay did it all: {relays}"  # both instances' relays took part
