"""The world the authorization matrix is sent to (tests/support/callers.py), built once for each
module that imports these fixtures by name (clean_state, stub, world, full_buckets): the two
autouse ones set every case up, ``world`` needs ``stub``."""
from __future__ import annotations

import httpx
import pytest

from tests.conftest import empty_hub
from tests.support.admins import cheap_admin_services
from tests.support.callers import build_world
from tests.support.department_stub import DEVKEYS
from tests.support.housing_fund import fund_stub, reset


@pytest.fixture(autouse=True)
def clean_state():
    """Overrides the suite's, which empties the database before every test: the world is built once
    for each module using it and must outlive its tests. The world fixture empties what it needs itself."""
    yield


@pytest.fixture(scope="module")
def stub():
    # the fund centres, and bj-psb as a data-sharing provider (its household extract)
    with fund_stub(also={"bj-psb": DEVKEYS / "demo_node_beijing_psb_private.pem"}) as running:
        yield running


@pytest.fixture(scope="module")
async def world(app, resources, stub):
    await empty_hub(resources)
    reset(stub)
    with cheap_admin_services(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50003))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield await build_world(client, app, resources, stub)
    await empty_hub(resources)


@pytest.fixture(autouse=True)
async def full_buckets(resources):
    """Every case starts with full rate-limit buckets: a 429 would hide the answer under test."""
    redis = resources.redis.aio
    if keys := [key async for key in redis.scan_iter(match="govhub:rl:*")]:
        await redis.delete(*keys)
