"""Fixtures shared by the token tests: a service on a frozen clock, its own signing keys, a person."""
from __future__ import annotations

import pytest

from domain.identity.models import Person
from tests.support.token_helpers import make_service, own_signing_keys


@pytest.fixture(autouse=True)
async def own_keys(resources):
    """Keys made at frozen-clock times are set aside and the session's keys restored afterwards."""
    async with own_signing_keys():
        yield


@pytest.fixture
async def tokens(resources, clock):
    service = make_service(resources, clock)
    await service.ensure_key()
    return service


@pytest.fixture
async def alice(resources):
    return await Person.create(public_id="p-alice-0001", assurance=2)
