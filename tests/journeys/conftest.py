"""The journeys that need the demo data share one seeded hub: seeding and starting ``govhub serve``
cost more than most journeys. Each brings its own department stub and points its nodes at it.
Session-scoped, not package-scoped: the suite's workers interleave modules of several packages,
and a package fixture would be torn down and seeded again each time a worker came back."""
from __future__ import annotations

import pytest

from tests.support.live_hub import seeded_hub


@pytest.fixture(scope="session")
def live_hub(database_url, redis_url, mock_url):
    with seeded_hub(database_url=database_url, redis_url=redis_url, mock_url=mock_url) as hub:
        yield hub
