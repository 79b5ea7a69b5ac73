"""The popularity counter on Redis (adapters/cache/catalog.py): counted views and applications,
one at a time or a batch's at once, are drained exactly once."""
from __future__ import annotations

from adapters.cache.catalog import RedisPopularityCounter


async def test_a_batchs_counts_and_single_counts_add_up_and_drain_once(resources):
    counter = RedisPopularityCounter(resources.redis.aio)
    await counter.count(matter_id=7, views=3, applications=1)
    await counter.count_applications({7: 2, 9: 5})
    assert await counter.drain() == {7: (3, 3), 9: (0, 5)}
    assert await counter.drain() == {}
