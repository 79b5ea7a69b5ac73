"""The database or Redis gone answers 503 problem+json with a stable code and Retry-After
(bff/common/outages.py, bff/common/errors.py); every other unexpected error is still a 500.

The errors are the real ones: asyncpg and redis.asyncio connecting to a port nothing listens on."""
from __future__ import annotations

import json
from types import SimpleNamespace

import asyncpg
import pytest
import redis.asyncio as aioredis

from bff.common import errors
from bff.common.outages import DATABASE, REDIS, lost_service
from tests.support.mock_server import free_port


async def refused_by_postgres() -> BaseException:
    try:
        await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", timeout=2)
    except BaseException as exc:  # noqa: BLE001 - the error itself is what is tested
        return exc
    raise AssertionError("nothing listens there")


async def refused_by_redis() -> BaseException:
    client = aioredis.Redis(port=free_port(), socket_connect_timeout=1)
    try:
        await client.ping()
    except BaseException as exc:  # noqa: BLE001
        return exc
    finally:
        await client.aclose()
    raise AssertionError("nothing listens there")


def raised_from(cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise RuntimeError("wrapped by a library") from inner
    except RuntimeError as outer:
        return outer


async def test_a_refused_database_or_redis_is_named():
    assert lost_service(await refused_by_postgres()) == DATABASE
    assert lost_service(await refused_by_redis()) == REDIS
    assert lost_service(raised_from(asyncpg.exceptions.CannotConnectNowError("starting up"))) == DATABASE
    assert lost_service(asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle")) == DATABASE
    assert lost_service(asyncpg.exceptions.AdminShutdownError("terminating")) == DATABASE
    assert lost_service(asyncpg.exceptions.InterfaceError("connection is closed")) == DATABASE


def test_what_is_not_an_outage_stays_unexpected():
    assert lost_service(ValueError("a bug")) is None
    assert lost_service(asyncpg.exceptions.UniqueViolationError("duplicate key")) is None
    assert lost_service(asyncpg.exceptions.QueryCanceledError("statement timeout")) is None
    assert lost_service(asyncpg.exceptions.InterfaceError("another operation is in progress")) is None
    assert lost_service(ConnectionRefusedError("raised by our own code, not a database's")) is None


class _Answer:
    """What a client reads of the problem the hub's error handler makes (a second Sanic app in this
    process cannot start: Sanic touches up its HTTP class once per process, for the hub's app)."""

    def __init__(self, response) -> None:
        self.status_code, self.headers = response.status, {k.lower(): v for k, v in response.headers.items()}
        self.headers["content-type"] = response.content_type
        self.text = response.body.decode()

    def json(self) -> dict:
        return json.loads(self.text)


class _Handler:
    """The hub's handler for what a route raised, as ``errors.install`` wires it."""

    async def get(self, path: str) -> _Answer:
        request = SimpleNamespace(path=path, id="test-request")
        service = path.rsplit("/", 1)[-1]
        error = await CASES[service]() if service in CASES else KeyError("a bug")
        return _Answer(errors.unexpected_problem(request, error))


CASES = {"database": refused_by_postgres, "redis": refused_by_redis}


@pytest.fixture
def http() -> _Handler:
    return _Handler()


@pytest.mark.parametrize(("service", "code"), [("database", "database_unavailable"), ("redis", "cache_unavailable")])
async def test_an_outage_is_a_503_problem_with_retry_after(http, service, code):
    answer = await http.get(f"/gone/{service}")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"] == str(errors.OUTAGE_RETRY_AFTER_SECONDS)
    body = answer.json()
    assert body["code"] == code and body["status"] == 503 and body["instance"] == f"/gone/{service}"
    assert "5440" not in answer.text and "Errno" not in answer.text  # nothing of the internals


async def test_a_bug_is_still_a_500(http):
    answer = await http.get("/bug")
    assert answer.status_code == 500 and answer.json()["code"] == "internal_error"
    assert "retry-after" not in answer.headers
