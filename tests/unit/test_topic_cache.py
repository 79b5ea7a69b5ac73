"""The per-instance cache of published topics: when it may answer and when it must not."""
from __future__ import annotations

from datetime import UTC, datetime

from domain.topics.cache import PublishedCache
from domain.topics.views import TopicView

AT = datetime(2026, 3, 1, tzinfo=UTC)


def _topic(code: str, *channels: str) -> TopicView:
    return TopicView(code=code, title=code, subtitle=None, banner_url=None, entries=(), channels=channels,
                     regions=(), status="published", starts_at=None, ends_at=None, weight=0, version=1,
                     published_at=AT, updated_at=AT, updated_by="t")


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _live_cache(ticks=None) -> PublishedCache:
    cache = PublishedCache(max_age=60, monotonic=ticks or Ticks())
    cache.set_live(True)
    return cache


def test_answers_per_channel_once_loaded():
    cache = _live_cache()
    assert cache.get("wechat") is None
    cache.store(cache.begin_load(), (_topic("a", "wechat"), _topic("b", "app")))
    assert [t.code for t in cache.get("wechat")] == ["a"] and [t.code for t in cache.get("app")] == ["b"]
    assert cache.get("pc") == ()


def test_invalidation_empties_it_and_bumps_the_generation():
    cache = _live_cache()
    cache.store(cache.begin_load(), (_topic("a", "wechat"),))
    generation = cache.generation
    cache.invalidate()
    assert cache.get("wechat") is None and cache.generation == generation + 1


def test_a_load_that_began_before_an_invalidation_is_not_kept():
    cache = _live_cache()
    started = cache.begin_load()
    cache.invalidate()  # the change committed while the old list was being read
    cache.store(started, (_topic("old", "wechat"),))
    assert cache.get("wechat") is None


def test_nothing_is_trusted_while_the_feed_is_down():
    cache = PublishedCache()
    cache.store(cache.begin_load(), (_topic("a", "wechat"),))
    assert cache.get("wechat") is None  # never subscribed yet
    cache.set_live(True)
    cache.store(cache.begin_load(), (_topic("a", "wechat"),))
    cache.set_live(False)
    assert cache.get("wechat") is None
    cache.set_live(True)
    assert cache.get("wechat") is None  # back, but what it held may have missed messages


def test_entries_expire_after_max_age():
    ticks = Ticks()
    cache = _live_cache(ticks)
    cache.store(cache.begin_load(), (_topic("a", "wechat"),))
    ticks.now = 60
    assert cache.get("wechat") is not None
    ticks.now = 60.1
    assert cache.get("wechat") is None
