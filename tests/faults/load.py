"""Submit load as a careful client makes it: each submission has its own Idempotency-Key, and a
client that gets no answer, a 5xx or a 429 sends the same key again (to the next instance when
there are several) until the hub answers 201 — or, for a key it already stored, replays 201.

The ledger is what the clients know: every key they were told was stored, with its number."""
from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

MATTER = "330100-NAT-0036"  # 居民身份证挂失申报 in 杭州: no material needed, handled by zj-platform
FORM = {"reason": "身份证遗失，申请挂失", "phone": "13800000001"}
GIVE_UP_SECONDS = 60.0


@dataclass
class Ledger:
    acknowledged: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> application number
    answers: Counter[str] = field(default_factory=Counter)  # "201", "503", "ReadError", ...
    slowest_failure: float = 0.0  # seconds the longest failed try took (fail fast, or hang?)
    problems: list[dict] = field(default_factory=list)  # bodies of 5xx answers (503s a sample, the rest all)

    @property
    def retries(self) -> int:
        return sum(n for answer, n in self.answers.items() if answer not in ("201", "200"))


async def submit_one(http: httpx.AsyncClient, urls: list[str], token: str, ledger: Ledger, start: int = 0) -> str:
    """One submission, retried with its key until stored; its number."""
    key = f"faults-{uuid.uuid4().hex}"
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    body = {"matter_code": MATTER, "form": FORM, "materials": []}
    deadline = time.monotonic() + GIVE_UP_SECONDS
    turn = start
    while True:
        url = urls[turn % len(urls)]
        began = time.monotonic()
        try:
            answer = await http.post(f"{url}/wx/v1/applications", json=body, headers=headers)
            outcome = str(answer.status_code)
        except httpx.TransportError as exc:  # killed, refused, reset: the hub may or may not have stored it
            answer, outcome = None, type(exc).__name__
        ledger.answers[outcome] += 1
        if answer is not None and answer.status_code in (200, 201):
            ledger.acknowledged[key] = answer.json()["number"]
            return key
        ledger.slowest_failure = max(ledger.slowest_failure, time.monotonic() - began)
        if answer is not None and answer.status_code >= 500 and (len(ledger.problems) < 20 or answer.status_code != 503):
            ledger.problems.append({"status": answer.status_code, "retry_after": answer.headers.get("retry-after"),
                                    "content_type": answer.headers.get("content-type"), **_json(answer)})
        if answer is not None and answer.status_code < 500 and answer.status_code != 429:
            raise AssertionError(f"submit refused: {answer.status_code} {answer.text}")
        assert time.monotonic() < deadline, f"key {key} not stored after {GIVE_UP_SECONDS} s: {ledger.answers}"
        turn += 1  # the next instance, if there is one
        await asyncio.sleep(0.1)


def _json(answer: httpx.Response) -> dict:
    try:
        return answer.json()
    except ValueError:
        return {"text": answer.text[:200]}


async def run_load(urls: list[str], tokens: list[str], stop: asyncio.Event, ledger: Ledger,
                   per_client: int = 40) -> None:
    """One client per token, each submitting one after another until ``stop`` (or ``per_client``);
    a submission begun is finished (retried) even after ``stop``."""
    async def client(index: int, token: str) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=2.0)) as http:
            for _ in range(per_client):
                if stop.is_set():
                    return
                await submit_one(http, urls, token, ledger, start=index)

    await asyncio.gather(*(client(i, token) for i, token in enumerate(tokens)))
