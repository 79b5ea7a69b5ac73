"""A PostgreSQL that does not answer (partitioned: the fault proxy's blackhole swallows every byte)
fails a request within the connect timeout (bff/database.py, CONNECT_TIMEOUT_SECONDS) with the 503
database_unavailable problem, instead of holding it for asyncpg's default minute."""
from __future__ import annotations

import os
import time
from types import SimpleNamespace

import pytest
from tortoise.backends.asyncpg import AsyncpgDBClient

from bff import database
from bff.common import errors
from bff.common.outages import DATABASE, lost_service
from faults.proxy import FaultProxy, Faults

pytestmark = pytest.mark.skipif(
    not os.environ.get("GOVHUB_DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason="needs a PostgreSQL to stand in front of (GOVHUB_DATABASE_URL)")


async def test_a_database_that_does_not_answer_fails_fast_with_503():
    target = database._connection(os.environ["GOVHUB_DATABASE_URL"])["credentials"]
    assert target["timeout"] == database.CONNECT_TIMEOUT_SECONDS
    async with FaultProxy((target["host"], int(target["port"])), faults=Faults(blackhole=True)) as proxy:
        credentials = {**target, "host": proxy.host, "port": proxy.port}
        client = AsyncpgDBClient(connection_name="partitioned", **credentials)
        began = time.monotonic()
        with pytest.raises(Exception) as caught:
            await client.create_connection(with_db=True)
            await client.execute_query("SELECT 1")
        took = time.monotonic() - began
        assert proxy.stats["blackholed_chunks"] >= 1, proxy.report()  # the connect did reach the proxy
    print(f"[fault] PostgreSQL partitioned (blackhole): the query failed after {took:.2f} s "
          f"({type(caught.value).__name__}); connect timeout {database.CONNECT_TIMEOUT_SECONDS} s")
    assert took < database.CONNECT_TIMEOUT_SECONDS + 3, took
    assert lost_service(caught.value) == DATABASE, repr(caught.value)
    answer = errors.unexpected_problem(SimpleNamespace(path="/x", id="test"), caught.value)
    assert answer.status == 503 and b"database_unavailable" in answer.body
