"""The hub on a Redis Cluster (docs/redis-cluster.md): a local cluster of three masters
(tests/support/redis_cluster.py, ports 17001-17003), first under each Redis-backed piece of the hub,
each used by two clients as two workers or hosts would, then under two real hub processes.

Needs only redis-server: the hubs share a SQLite file on the embedded default, PostgreSQL otherwise.
"""
from __future__ import annotations

import asyncio
import uuid
import contextlib
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest

from adapters.cache.catalog import RedisJsonCache, RedisPopularityCounter, _parked_name
from adapters.cache.nonces import RedisNonceStore
from adapters.cache.pubsub import RedisChangeFeed
from adapters.cache.ratelimit import TokenBucketLimiter
from adapters.cache.redis import ClusterUrl, RedisUrlError, connect, parse_cluster_url
from adapters.cache.revocations import RedisSessionRevocations
from adapters.cache.traffic import RedisTraffic
from adapters.scheduler.runner import Job, run_once
from adapters.wechat import RedisSessionStorage, WeChatLoginClient
from bff.settings import Settings, SettingsError
from miniprogram_mock.journey import run_login_journey
from tests.support.clock import suite_clock
from tests.support.live_hub import REPO_ROOT, fresh_database, running_hub
from tests.support.redis_cluster import redis_server_installed, running_cluster

pytestmark = pytest.mark.skipif(not redis_server_installed(),
                                reason="a Redis Cluster needs redis-server and redis-cli (Debian: redis-server)")

WECHAT_TOKEN_KEY = "govhub:wechat:wxdev0000000000001_access_token"


@pytest.fixture(scope="module")
def cluster():
    with running_cluster() as started:
        yield started


@pytest.fixture
async def workers(cluster):
    """Two sets of the hub's Redis clients on the cluster, as two workers (or hosts) hold them."""
    cluster.flush()
    pair = [connect(cluster.url), connect(cluster.url)]
    for clients in pair:
        assert clients.cluster and not clients.embedded
        await clients.check_kind()
    yield pair
    for clients in pair:
        await clients.close()


# --- the setting --------------------------------------------------------------------------------

@pytest.mark.parametrize("url, problem", [
    ("redis-cluster://127.0.0.1:7000", "the scheme must be one of"),
    ("redis+cluster://127.0.0.1:7000/3", "only database 0"),
    ("redis+cluster://", "lists its nodes"),
])
def test_a_cluster_url_of_no_known_form_stops_the_start(url, problem):
    with pytest.raises(SettingsError, match=problem):
        Settings.from_env({"GOVHUB_REDIS_URL": url})


def test_a_cluster_url_names_its_seeds_and_keeps_redis_py_options():
    url = "rediss+cluster://:pw@10.0.0.1:7000,[::1]:7001,redis-3/0?socket_timeout=2"
    assert Settings.from_env({"GOVHUB_REDIS_URL": url}).redis_url == url
    assert parse_cluster_url(url) == ClusterUrl(seeds=(("10.0.0.1", 7000), ("::1", 7001), ("redis-3", 6379)),
                                                options_url="rediss://:pw@10.0.0.1:7000/0?socket_timeout=2")
    assert parse_cluster_url("redis://10.0.0.1:6379/3") is None
    with pytest.raises(RedisUrlError, match="host:port"):
        connect("redis+cluster://10.0.0.1:7000,10.0.0.2:port")


async def test_a_plain_url_on_a_cluster_node_is_refused_at_start(cluster):
    """It would work for the keys of that node's slots and fail with MOVED for the others."""
    clients = connect(f"redis://127.0.0.1:{cluster.ports[0]}/0")
    try:
        with pytest.raises(RedisUrlError, match="redis\\+cluster://"):
            await clients.check_kind()
    finally:
        await clients.close()


@pytest.mark.skipif(not os.environ.get("GOVHUB_SUITE_REDIS_URL"), reason="needs a single Redis (GOVHUB_REDIS_URL)")
async def test_a_cluster_url_on_a_single_redis_is_refused_at_start():
    single = os.environ["GOVHUB_SUITE_REDIS_URL"].split("://", 1)[1].split("/", 1)[0].rpartition("@")[2]
    clients = connect(f"redis+cluster://{single}")
    try:
        with pytest.raises(RedisUrlError, match="not in cluster mode"):
            await clients.check_kind()
    finally:
        await clients.close()


# --- each Redis-backed piece, shared by two workers -------------------------------------------

async def test_a_rate_limit_is_shared_by_every_worker(workers):
    limiters = [TokenBucketLimiter(clients.aio) for clients in workers]
    run = uuid.uuid4().hex[:8]  # buckets of this run only: the cluster outlives one test
    for bucket in (f"login:ip:10.0.{run}.1", f"login:ip:10.0.{run}.2", f"sms:phone:{run}"):  # several slots
        taken = await asyncio.gather(*(limiters[i % 2].take(bucket, capacity=5, per_seconds=3600) for i in range(12)))
        assert sum(allowed for allowed, _ in taken) == 5, bucket
        assert all(wait > 0 for allowed, wait in taken if not allowed)


async def test_a_nonce_is_claimed_once_across_workers(workers):
    stores = [RedisNonceStore(clients.aio) for clients in workers]
    claims = await asyncio.gather(*(stores[i % 2].claim("GD-NODE", "n0nce-1", 300) for i in range(10)))
    assert claims.count(True) == 1
    assert await stores[1].claim("GD-NODE", "n0nce-2", 300)


async def test_a_logout_on_one_worker_is_seen_by_the_other(workers):
    one, other = (RedisSessionRevocations(clients.aio) for clients in workers)
    await one.revoke("family-1", ttl_seconds=900)
    assert await other.is_revoked("family-1")
    assert not await other.is_revoked("family-2")


async def test_popularity_counted_on_both_workers_drains_once(cluster, workers):
    one, other = (RedisPopularityCounter(clients.aio) for clients in workers)
    await one.count(matter_id=7, views=3, applications=1)
    await other.count(matter_id=7, views=2)
    await other.count_applications({7: 2, 9: 5})
    assert await one.drain() == {7: (5, 3), 9: (0, 5)}
    assert await other.drain() == {}
    # the drain renames each hash to a parked name: both must hash to one slot
    with contextlib.closing(cluster.node(cluster.ports[0])) as node:
        for live in ("govhub:catalog:views", "govhub:catalog:applications"):
            assert node.cluster("keyslot", live) == node.cluster("keyslot", _parked_name(live))


async def test_the_json_cache_is_shared(workers):
    await RedisJsonCache(workers[0].aio).set_json("home:wechat", {"topics": ["社保"]}, ttl_seconds=60)
    assert await RedisJsonCache(workers[1].aio).get_json("home:wechat") == {"topics": ["社保"]}


async def test_traffic_counted_on_both_workers_adds_up(workers):
    hour = suite_clock.now().replace(minute=0, second=0, microsecond=0)
    counters = [RedisTraffic(clients.aio) for clients in workers]
    for i, counter in enumerate(counters):
        counter.count_request(hour=hour, group="wx", bucket="le_0.1", error=bool(i))
        counter.count_page_view(hour=hour, channel="wechat")
        counter.count_visitor(day=hour.date(), channel="wechat", visitor=f"v{i}")
        counter.count_visitor(day=(hour - timedelta(days=1)).date(), channel="app", visitor="v")
        await counter.flush()
    assert (await counters[0].requests([hour]))["wx"] == {"requests": 2, "le_0.1": 2, "errors": 1}
    assert await counters[0].page_views([hour]) == {"wechat": 2}
    assert await counters[1].visitors(hour.date()) == {"wechat": 2}


ran: list[str] = []


async def counted_job(hub) -> dict:
    ran.append("ran")
    return {}


async def test_a_scheduled_job_runs_once_per_tick_across_hosts(workers):
    job = Job(ref=f"{__name__}:counted_job", seconds=30)
    ran.clear()
    outcomes = await asyncio.gather(*(run_once(job, None, workers[i % 2].aio) for i in range(6)))
    assert outcomes.count(True) == 1 and ran == ["ran"]


async def test_the_wechat_access_token_is_shared_by_workers(workers, mock_url):
    async with httpx.AsyncClient(base_url=mock_url) as mock:
        await mock.post("/_mock/reset")

        async def phone(clients, user: str) -> str:
            code = (await mock.post("/_mock/wechat/phone", json={"user": user})).json()["code"]
            client = WeChatLoginClient(base_url=f"{mock_url}/wechat/", appid="wxdev0000000000001",
                                       secret="dev-wechat-secret", session_storage=RedisSessionStorage(clients.sync),
                                       retry_delays=(0.01,))
            return await client.phone_number(code)

        assert await phone(workers[0], "alice") == "13800000001"
        token = workers[0].sync.get(WECHAT_TOKEN_KEY)
        assert token and 0 < workers[1].sync.ttl(WECHAT_TOKEN_KEY) <= 7200
        # were the other worker to fetch a token of its own, the token endpoint would fail it
        assert (await mock.post("/_mock/faults", json={"api": "token", "http_status": 500, "times": 10})).status_code == 201
        assert await phone(workers[1], "erin") == "13800000005"
        assert workers[1].sync.get(WECHAT_TOKEN_KEY) == token
        await mock.post("/_mock/reset")


# --- the change feed: pub/sub across the cluster's nodes ------------------------------------------

class Heard:
    def __init__(self) -> None:
        self.events: list = []

    def callbacks(self) -> dict:
        return {"on_message": self.events.append, "on_subscribed": lambda: self.events.append("subscribed"),
                "on_lost": lambda: self.events.append("lost")}

    async def wait_for(self, predicate, timeout: float = 5.0) -> None:
        async def poll():
            while not predicate(self.events):
                await asyncio.sleep(0.01)

        await asyncio.wait_for(poll(), timeout)


@contextlib.asynccontextmanager
async def following(feeds: list[RedisChangeFeed]):
    heard = [Heard() for _ in feeds]
    tasks = [asyncio.create_task(feed.follow(**h.callbacks())) for feed, h in zip(feeds, heard)]
    try:
        for h in heard:
            await h.wait_for(lambda events: "subscribed" in events)
        yield heard
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=3)
        assert all(task.done() for task in tasks), "a feed did not stop when cancelled"


async def test_a_change_published_on_any_node_reaches_every_follower(cluster, workers):
    feeds = [RedisChangeFeed(clients.aio, backoff=(0.01,), poll_seconds=0.2) for clients in workers]
    assert feeds[0].channel == "govhub:0:topics:changed"  # a cluster has database 0 only
    async with following(feeds) as heard:
        for port in cluster.ports:  # whichever node a publisher reaches
            with contextlib.closing(cluster.node(port)) as node:
                node.publish(feeds[0].channel, json.dumps({"via": port}))
        await feeds[1].publish({"topic": "jiuye"})  # and the hub's own way
        expected = [{"via": port} for port in cluster.ports] + [{"topic": "jiuye"}]
        for h in heard:
            await h.wait_for(lambda events: all(e in events for e in expected))


async def test_followers_cut_off_subscribe_again_and_hear_what_follows(cluster, workers):
    feeds = [RedisChangeFeed(clients.aio, backoff=(0.01,), poll_seconds=0.2) for clients in workers]
    async with following(feeds) as heard:
        for port in cluster.ports:  # a restart or a network cut: every subscriber's connection dropped
            with contextlib.closing(cluster.node(port)) as node:
                node.client_kill_filter(_type="pubsub")
        for h in heard:
            await h.wait_for(lambda events: events.count("subscribed") >= 2)
        await feeds[0].publish({"topic": "after-cut"})
        for h in heard:
            await h.wait_for(lambda events: {"topic": "after-cut"} in events)


# --- two real hub processes on the cluster --------------------------------------------------------

TOPIC = {"code": "fugong", "title": "复工复产", "channels": ["wechat"], "regions": ["330000000000"],
         "entries": [{"kind": "matter", "ref": "NAT-0021"}]}
XIHU = "330106000000"
TEMPLATE = "TMPL-GOVHUB-APPLICATION-PROGRESS-DEV"


@pytest.fixture(scope="module")
def hubs(cluster, mock_url):
    """Two `govhub serve` processes sharing one database and the cluster."""
    cluster.flush()
    base = os.environ.get("GOVHUB_DATABASE_URL", "") or "sqlite://unused"  # SQLite: one file both open
    with fresh_database(base) as database_url:
        env = {**os.environ, "GOVHUB_DATABASE_URL": database_url, "GOVHUB_REDIS_URL": cluster.url,
               "GOVHUB_LOG_LEVEL": "WARNING"}
        done = subprocess.run([sys.executable, "-m", "bff.cli", "admin", "create", "--username", "editor",
                               "--roles", "topic_editor", "--password-stdin"], input="cluster-topics-pass\n",
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        # one issuer, as behind a balancer: a token from either hub is good on both
        with _two_hubs(database_url=database_url, redis_url=cluster.url, mock_url=mock_url,
                       extra_env={"GOVHUB_PUBLIC_URL": "http://hub.cluster.test"}) as both:
            yield both


@contextlib.contextmanager
def _two_hubs(**options):
    """Started one after the other (two hubs starting at once on a fresh database were seen to fail
    their start), stopped at once: each stop may take its full grace period."""
    stacks = [contextlib.ExitStack(), contextlib.ExitStack()]
    try:
        yield tuple(stack.enter_context(running_hub(**options)) for stack in stacks)
    finally:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(contextlib.ExitStack.close, stacks))


def test_both_hubs_are_ready_on_the_cluster(hubs):
    for hub in hubs:
        answer = httpx.get(f"{hub}/readyz", timeout=5)
        assert answer.status_code == 200 and answer.json()["checks"]["redis"] == "ok", answer.text


def test_the_login_journey_on_the_cluster(hubs, mock_url):
    lines: list[str] = []
    assert run_login_journey("wechat", hubs[0], mock_url, out=lines.append), lines


def _log_in(hub: str, mock_url: str, user: str) -> dict:
    code = httpx.post(f"{mock_url}/_mock/wechat/login", json={"user": user}, timeout=5).json()["code"]
    session = httpx.post(f"{hub}/wx/v1/session", json={"code": code}, timeout=10)
    assert session.status_code == 200, session.text
    return {"Authorization": f"Bearer {session.json()['access_token']}"}


def test_a_logout_on_one_hub_is_refused_at_once_by_the_other(hubs, mock_url):
    a, b = hubs
    auth = _log_in(a, mock_url, "carol")
    assert httpx.get(f"{b}/wx/v1/me", headers=auth, timeout=5).status_code == 200  # A's token on B
    assert httpx.delete(f"{a}/wx/v1/session", headers=auth, timeout=5).status_code == 204
    assert httpx.get(f"{b}/wx/v1/me", headers=auth, timeout=5).status_code == 401


def test_a_retried_write_counts_once_whichever_hub_it_reaches(hubs, mock_url):
    a, b = hubs
    auth = _log_in(a, mock_url, "bob")

    def report(hub: str, key: str) -> int:
        answer = httpx.post(f"{hub}/wx/v1/me/subscriptions", json={"results": {TEMPLATE: "accept"}},
                            headers={**auth, "Idempotency-Key": key}, timeout=10)
        assert answer.status_code == 200, answer.text
        return {s["template_id"]: s["remaining"] for s in answer.json()["subscriptions"]}[TEMPLATE]

    assert report(a, "dialog-1") == 1
    assert report(b, "dialog-1") == 1  # the retry, through the other hub: counted once
    assert report(b, "dialog-2") == 2


def test_a_topic_switched_on_one_hub_shows_on_the_other_within_a_second(hubs):
    a, b = hubs
    login = httpx.post(f"{a}/admin/v1/session", json={"username": "editor", "password": "cluster-topics-pass"})
    editor = {"Authorization": f"Bearer {login.json()['token']}"}
    assert httpx.post(f"{a}/admin/v1/topics", json=TOPIC, headers=editor).status_code == 201
    _poll(b, lambda answer: answer == ([], "hit"), limit=10)  # B serves "no topics" from its memory
    assert httpx.post(f"{a}/admin/v1/topics/fugong/publish", headers=editor).status_code == 200
    elapsed, answer = _poll(b, lambda answer: answer[0] == ["fugong"], limit=1.0)
    assert answer == (["fugong"], "miss"), f"B still showed {answer} after {elapsed:.3f} s"
    print(f"a topic switched on A showed on B within {elapsed * 1000:.0f} ms, over the cluster")


def _poll(hub: str, until, limit: float):
    started = time.monotonic()
    while True:
        response = httpx.get(f"{hub}/public/v1/topics", params={"channel": "wechat", "region": XIHU}, timeout=2)
        assert response.status_code == 200, response.text
        answer = ([t["code"] for t in response.json()["items"]], response.headers["X-Cache"])
        elapsed = time.monotonic() - started
        if until(answer) or elapsed > limit:
            return elapsed, answer
        time.sleep(0.02)
