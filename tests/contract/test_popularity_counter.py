"""The popularity counter on Redis (adapters/cache/catalog.py): counted views and applications,
one at a time or a batch's at once, are drained exactly once; those of one loop turn go to Redis
as one pipeline (adapters/cache/turn.py)."""
from __future__ import annotations

from adapters.cache.catalog import RedisPopularityCounter


async def test_a_batchs_counts_and_single_counts_add_up_and_drain_once(resources):
    counter = RedisPopularityCounter(resources.redis.aio)
    await counter.count(matter_id=7, views=3, applications=1)
    await counter.count_applications({7: 2, 9: 5})
    assert await counter.drain() == {7: (3, 3), 9: (0, 5)}
    assert await counter.drain() == {}


async def test_the_counts_of_one_turn_go_in_one_pipeline_and_add_up(resources):
    import asyncio

    from adapters.cache.turn import TurnPipeline
    from tests.support.redis_pipelines import PipelineCounter

    client = resources.redis.aio
    counted = PipelineCounter(client)
    counter = RedisPopularityCounter(client, turn=TurnPipeline(counted))
    await asyncio.gather(counter.count(matter_id=7, views=1),
                         counter.count(matter_id=7, views=1, applications=1),
                         counter.count_applications({7: 2, 9: 5}), counter.count(matter_id=9))
    assert len(counted.opened) == 1
    assert await counter.drain() == {7: (2, 3), 9: (0, 5)}
