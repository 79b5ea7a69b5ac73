"""The soak's load: an open-loop generator of a fixed mix of citizens' requests (bench/soak.py).

Open loop: operation n starts at ``t0 + n / rate`` whether or not earlier ones have finished (a
closed loop slows down with the server and hides exactly the slowness a soak looks for). A start
more than ``LATE_MS`` behind its schedule is counted: many late starts mean the generator, not the
hub, was the bottleneck, and the run says so. Latency is timed per hub request from its send.

Each operation is what one client does for one user action; most are one hub request, a login is
two or three (the mock's code, then the hub). Every simulated citizen has an address of their own,
sent as X-Forwarded-For (the hub trusts one proxy: SANIC_PROXIES_COUNT=1), so per-address rate
limits see many citizens, as behind the real load balancer.
"""
from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from bench.submit_bench import FORM

REGION = "330106000000"
SUBMIT_MATTER = "330100-NAT-0036"  # 杭州: its deliveries go to zj-platform, the stub
MATTERS = ["110000-NAT-0036", "310000-NAT-0036", "330100-NAT-0036"]
WORDS = ["身份证", "户口", "社保", "公积金", "营业执照", "护照", "驾驶证", "医保"]
TEMPLATE = "TMPL-GOVHUB-APPLICATION-PROGRESS-DEV"  # bff/settings.py wechat_template_id
LATE_MS = 20
# weights of the mix (per 100 operations): browse 50, log in 6, my reads 20, submit 6, consent 18
MIX = {"home": 24, "search": 16, "matter": 10, "wechat_login": 5, "sms_login": 1, "my_applications": 12,
       "my_notifications": 8, "submit": 6, "consent": 18}


@dataclass
class Citizen:
    index: int
    token: str

    @property
    def address(self) -> str:
        return f"10.9.{self.index // 250}.{self.index % 250 + 1}"  # as bench.submit_bench gave at setup

    @property
    def wechat_user(self) -> str:
        return f"bench{self.index}"  # the mock user bench.submit_bench.verified_tokens logged in


@dataclass
class Event:
    done_at: float  # monotonic
    op: str
    latency_ms: float
    status: int | None  # None: a transport error
    ok: bool


@dataclass
class Load:
    hub: httpx.AsyncClient
    mock: httpx.AsyncClient
    citizens: list[Citizen]
    events: list[Event] = field(default_factory=list)
    late: int = 0
    started: int = 0
    submitted: list[str] = field(default_factory=list)  # application numbers answered 201
    failures: Counter = field(default_factory=Counter)  # (op, status or error) -> count
    _sms: itertools.count = field(default_factory=lambda: itertools.count(1))
    _visitor: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def call(self, op: str, method: str, url: str, *, expect: tuple[int, ...] = (200,), **options):
        began = time.perf_counter()
        try:
            answer = await self.hub.request(method, url, **options)
        except httpx.HTTPError as error:
            self._record(op, began, None, False, type(error).__name__)
            return None
        ok = answer.status_code in expect
        self._record(op, began, answer.status_code, ok, answer.text[:200])
        return answer if ok else None

    def _record(self, op: str, began: float, status: int | None, ok: bool, detail: str) -> None:
        now = time.perf_counter()
        self.events.append(Event(now, op, (now - began) * 1000, status, ok))
        if not ok:
            key = f"{op} {status or detail}"
            if self.failures[key] < 3:
                print(f"  error: {key}: {detail}", flush=True)
            self.failures[key] += 1

    def visitor(self) -> dict[str, str]:
        """An anonymous visitor's own address (192.168/16: apart from the citizens' 10.9/16)."""
        n = next(self._visitor) % 60000
        return {"X-Forwarded-For": f"192.168.{n // 250}.{n % 250 + 1}"}

    def mock_failed(self, op: str, error: Exception) -> None:
        self.failures[f"{op} mock {type(error).__name__}"] += 1


def auth(citizen: Citizen) -> dict[str, str]:
    return {"Authorization": f"Bearer {citizen.token}", "X-Forwarded-For": citizen.address}


async def home(load: Load) -> None:
    await load.call("home", "GET", "/wx/v1/home", params={"region": REGION}, headers=load.visitor())


async def search(load: Load) -> None:
    await load.call("search", "GET", "/wx/v1/matters", params={"q": random.choice(WORDS), "region": REGION},
                    headers=load.visitor())


async def matter(load: Load) -> None:
    await load.call("matter", "GET", f"/wx/v1/matters/{random.choice(MATTERS)}", headers=load.visitor())


async def wechat_login(load: Load) -> None:
    """A verified citizen opens the mini-program again: a new wx.login code, a new session (still
    L2), which the citizen's later requests use."""
    citizen = random.choice(load.citizens)
    try:
        code = (await load.mock.post("/_mock/wechat/login", json={"user": citizen.wechat_user})).json()["code"]
    except (httpx.HTTPError, KeyError, ValueError) as error:
        return load.mock_failed("wechat_login", error)
    answer = await load.call("wechat_login", "POST", "/wx/v1/session", json={"code": code},
                             headers={"X-Forwarded-For": citizen.address})
    if answer is not None:
        citizen.token = answer.json()["access_token"]


async def sms_login(load: Load) -> None:
    """A new phone number each time (one code a minute per number), from an address of its own."""
    n = next(load._sms)
    phone, address = f"139{n:08d}", {"X-Forwarded-For": f"172.16.{n // 250 % 250}.{n % 250 + 1}"}
    if await load.call("sms_login", "POST", "/app/v1/sms-codes", expect=(202,), json={"phone": phone},
                       headers=address) is None:
        return None
    try:
        code = (await load.mock.get(f"/_mock/sms/{phone}")).json()["code"]
    except (httpx.HTTPError, KeyError, ValueError) as error:
        return load.mock_failed("sms_login", error)
    await load.call("sms_login", "POST", "/app/v1/session", json={"phone": phone, "code": code},
                    headers={**address, "X-Device-Id": f"soak-device-{n}"})


async def my_applications(load: Load) -> None:
    await load.call("my_applications", "GET", "/wx/v1/applications", headers=auth(random.choice(load.citizens)))


async def my_notifications(load: Load) -> None:
    await load.call("my_notifications", "GET", "/wx/v1/me/notifications", headers=auth(random.choice(load.citizens)))


async def submit(load: Load) -> None:
    citizen = random.choice(load.citizens)
    answer = await load.call("submit", "POST", "/wx/v1/applications", expect=(201,),
                             json={"matter_code": SUBMIT_MATTER, "form": FORM, "materials": []},
                             headers={**auth(citizen), "Idempotency-Key": f"soak-{uuid.uuid4()}"})
    if answer is not None:
        load.submitted.append(answer.json()["number"])


async def consent(load: Load) -> None:
    """The citizen taps 允许 on the mini-program's subscribe dialog: one more message may be sent."""
    await load.call("consent", "POST", "/wx/v1/me/subscriptions", json={"results": {TEMPLATE: "accept"}},
                    headers={**auth(random.choice(load.citizens)), "Idempotency-Key": f"soak-{uuid.uuid4()}"})


OPERATIONS = {"home": home, "search": search, "matter": matter, "wechat_login": wechat_login, "sms_login": sms_login,
              "my_applications": my_applications, "my_notifications": my_notifications, "submit": submit,
              "consent": consent}


def schedule(seed: int = 17):
    """The mix as an endless, reproducible sequence of operation names."""
    chooser = random.Random(seed)
    names, weights = list(MIX), list(MIX.values())
    while True:
        yield chooser.choices(names, weights)[0]


async def generate(load: Load, rate: float, seconds: float) -> None:
    """Start one operation every 1/rate s on the clock, never waiting for one to finish."""
    tasks: set[asyncio.Task] = set()
    names = schedule()
    began = time.perf_counter()
    for n in itertools.count():
        due = began + n / rate
        if due - began >= seconds:
            break
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        elif -wait * 1000 > LATE_MS:
            load.late += 1
        load.started += 1
        task = asyncio.create_task(OPERATIONS[next(names)](load))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=60)
