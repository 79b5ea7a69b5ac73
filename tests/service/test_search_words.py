"""Search words over the real index (FTS5 on SQLite, tsvector/GIN on PostgreSQL): a word added is in
the next search, a word removed is out of it, on this instance and, through the change feed, on
every other; each change audited; ranking and paging as exact as without words."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from adapters.cache.pubsub import RedisChangeFeed
from domain.audit.service import AuditFilters, AuditLog
from domain.catalog.errors import (
    InvalidSearchWord,
    SearchWordExists,
    SearchWordNotFound,
    SearchWordVersionConflict,
    SearchWordVersionRequired,
)
from domain.catalog.importer import seed_catalog
from domain.catalog.models import Matter, SearchWord
from domain.catalog.search_words import SearchWordService, seed_search_words
from domain.catalog.service import CatalogService, SearchFilters
from tests.support.admins import TESTER
from tests.support.catalog_data import record, sample_records

NAMES = ["社会保险登记", "社会保险费缓缴申请", "企业社会保险缴费证明打印", "社会保障卡申领", "社保关系转移接续",
         "社保缴费证明打印", "社保", "户籍证明", "户口迁移", "住房公积金提取"]


@pytest.fixture
async def catalog(resources):
    report = await resources.catalog.upsert([record(9000 + i, name, "000000000000") for i, name in enumerate(NAMES)])
    assert report.inserted == len(NAMES) and not report.rejected
    return resources.catalog


async def _names(catalog, q: str, **filters) -> list[str]:
    return [m.name for m in (await catalog.search(q=q, filters=SearchFilters(**filters), limit=50)).items]


async def _add(catalog, term: str, *expansions: str, two_way: bool = True):
    return await catalog.words.add(actor=TESTER, term=term, expansions=list(expansions), two_way=two_way)


async def test_a_word_added_is_in_the_next_search_and_removed_is_out(catalog):
    assert await _names(catalog, "社保") == ["社保", "社保关系转移接续", "社保缴费证明打印"]
    word = await _add(catalog, "社保", "社会保险")
    # as typed first (exact, then starts), then through the word (starts, then contains)
    assert await _names(catalog, "社保") == ["社保", "社保关系转移接续", "社保缴费证明打印", "社会保险登记",
                                            "社会保险费缓缴申请", "企业社会保险缴费证明打印"]
    await catalog.words.remove(actor=TESTER, word_id=word.id, version=word.version)
    assert await _names(catalog, "社保") == ["社保", "社保关系转移接续", "社保缴费证明打印"]


async def test_both_ways_and_one_way(catalog):
    await _add(catalog, "社保", "社会保险")
    assert set(await _names(catalog, "社会保险")) == {"社会保险登记", "社会保险费缓缴申请", "企业社会保险缴费证明打印",
                                                     "社保", "社保关系转移接续", "社保缴费证明打印"}
    await _add(catalog, "户口", "户籍", two_way=False)
    assert await _names(catalog, "户口") == ["户口迁移", "户籍证明"]
    assert await _names(catalog, "户籍") == ["户籍证明"]


async def test_a_term_inside_a_longer_query(catalog):
    await _add(catalog, "社保", "社会保险", "社会保障")
    assert await _names(catalog, "社保缴费证明") == ["社保缴费证明打印", "企业社会保险缴费证明打印"]
    assert await _names(catalog, "社保卡") == ["社会保障卡申领"]
    assert await _names(catalog, "社保卡", region_code="330106000000") == ["社会保障卡申领"]  # with a filter


async def test_recall_is_like_over_every_alternative(catalog, resources):
    await resources.catalog.upsert(sample_records())
    await _add(catalog, "社保", "社会保险", "社会保障")
    await _add(catalog, "公积金", "住房公积金")
    for q, words in [("社保", ["社保", "社会保险", "社会保障"]), ("社会保障卡", ["社会保障卡", "社保卡"]),
                     ("公积金提取", ["公积金提取"]), ("住房公积金", ["住房公积金", "公积金"]), ("登记", ["登记"])]:
        got = set(await catalog.matching_ids(q=q, filters=SearchFilters()))
        expected = {m.id for m in await Matter.filter(status="active") if any(w in m.name for w in words)}
        assert got == expected, q


def _reference(matters: list[Matter], q: str, others: list[str]) -> list[int]:
    """Band (starts with any, else contains), tier, quality (as typed first), popularity, id."""
    def key(m: Matter):
        starts = any(m.name.startswith(w) for w in [q, *others])
        tier = 0 if m.popularity >= 10_000 else 1 if m.popularity >= 500 else 2
        if starts:
            quality = 0 if m.name == q else 1 if m.name.startswith(q) else 4 if m.name in others else 5
        else:
            quality = 2 if q in m.name else 6
        return (0 if starts else 1, tier, quality, -m.popularity, m.id)

    return [m.id for m in sorted(matters, key=key)]


@pytest.mark.parametrize("q", ["社保", "社会保障卡", "户口"])
async def test_paging_through_words_and_tiers_is_exact_and_stable(catalog, resources, q):
    await resources.catalog.upsert(sample_records())
    await _add(catalog, "社保", "社会保险", "社会保障")
    await _add(catalog, "户口", "户籍")
    for n, matter in enumerate(await Matter.all().order_by("id")):
        views = [0, 3, 700, 12_000, 250, 25_000][n % 6] + n % 5
        if views:
            await catalog.popularity.count(matter_id=matter.id, views=views)
    await catalog.flush_popularity()
    others = list((await catalog.words.preview(q))[1:])
    matters = [m for m in await Matter.filter(status="active") if any(w in m.name for w in [q, *others])]
    seen, cursor = [], None
    while True:
        page = await catalog.search(q=q, filters=SearchFilters(), cursor=cursor, limit=4)
        seen += [m.id for m in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == _reference(matters, q, others)


async def test_every_change_is_audited_and_versioned(catalog):
    word = await _add(catalog, "社保", "社会保险")
    with pytest.raises(SearchWordVersionRequired):
        await catalog.words.change(actor=TESTER, word_id=word.id, version=None, term="社保", expansions=["社会保障"])
    with pytest.raises(SearchWordVersionConflict):
        await catalog.words.change(actor=TESTER, word_id=word.id, version=9, term="社保", expansions=["社会保障"])
    changed = await catalog.words.change(actor=TESTER, word_id=word.id, version=1, term="社保",
                                         expansions=["社会保险", "社会保障"], note="通称")
    assert (changed.version, changed.expansions, changed.note) == (2, ("社会保险", "社会保障"), "通称")
    with pytest.raises(SearchWordVersionConflict):
        await catalog.words.remove(actor=TESTER, word_id=word.id, version=1)
    await catalog.words.remove(actor=TESTER, word_id=word.id, version=2)
    with pytest.raises(SearchWordNotFound):
        await catalog.words.remove(actor=TESTER, word_id=word.id, version=2)
    entries = (await AuditLog.list(AuditFilters(target_type="search_word", target_id=str(word.id)))).entries
    assert [e.action for e in entries] == ["search_word.delete", "search_word.update", "search_word.create"]
    assert entries[1].before["expansions"] == ["社会保险"] and entries[1].after["version"] == 2
    assert entries[0].after is None and entries[2].actor_username == TESTER.username


async def test_bad_entries_change_nothing(catalog):
    word = await _add(catalog, "社保", "社会保险")
    for term, expansions, two_way in [("社", ["社会保险"], True), ("社保", ["社保"], True), ("社 保", ["社会保险"], True),
                                      ("公积金", ["住房公积金"], False), ("户口", [], True)]:
        with pytest.raises(InvalidSearchWord):
            await _add(catalog, term, *expansions, two_way=two_way)
        with pytest.raises(InvalidSearchWord):
            await catalog.words.change(actor=TESTER, word_id=word.id, version=1, term=term, expansions=expansions,
                                       two_way=two_way)
    with pytest.raises(SearchWordExists):
        await _add(catalog, "社保", "社会保障")
    other = await _add(catalog, "户口", "户籍")
    with pytest.raises(SearchWordExists):
        await catalog.words.change(actor=TESTER, word_id=other.id, version=1, term="社保", expansions=["户籍"])
    assert [(w.term, w.expansions, w.version) for w in await catalog.words.list()] == [
        ("户口", ("户籍",), 1), ("社保", ("社会保险",), 1)]
    assert len((await AuditLog.list(AuditFilters(target_type="search_word"))).entries) == 2


async def test_terms_are_kept_normalized(catalog):
    word = await _add(catalog, " ETC ", "电子不停车收费")
    assert word.term == "etc"
    assert await catalog.words.preview("ETC 办理") == ("etc办理", "电子不停车收费办理")


async def test_a_change_on_one_instance_reaches_another_through_the_feed(catalog, resources):
    """Two services as two hub processes would hold them: B answers from its memory, and drops it
    when A announces a change on the shared Redis channel."""
    topic = f"test:search-words:{uuid.uuid4().hex[:8]}"
    a = SearchWordService(clock=resources.clock, feed=RedisChangeFeed(resources.redis.aio, topic, poll_seconds=0.05))
    b = SearchWordService(clock=resources.clock, feed=RedisChangeFeed(resources.redis.aio, topic, poll_seconds=0.05))
    search_b = CatalogService(popularity=catalog.popularity, cache=catalog.cache, clock=resources.clock, words=b)
    following = [asyncio.create_task(service.follow_changes()) for service in (a, b)]
    try:
        await _until(lambda: a._memory.live and b._memory.live)
        assert await _names(search_b, "社保") == ["社保", "社保关系转移接续", "社保缴费证明打印"]
        await SearchWord.create(term="社保", expansions=["社会保险"], two_way=True, note="", version=1,
                                created_by="elsewhere", updated_by="elsewhere")  # unannounced: B keeps its memory
        assert "社会保险登记" not in await _names(search_b, "社保")
        generation = b.generation
        word = await a.add(actor=TESTER, term="户口", expansions=["户籍"])
        await _until(lambda: b.generation > generation)
        assert "社会保险登记" in await _names(search_b, "社保")
        assert await _names(search_b, "户口") == ["户口迁移", "户籍证明"]
        await a.remove(actor=TESTER, word_id=word.id, version=1)
        await _until(lambda: b.generation > generation + 1)
        assert await _names(search_b, "户口") == ["户口迁移"]
    finally:
        for task in following:
            task.cancel()
        await asyncio.gather(*following, return_exceptions=True)


async def _until(condition, timeout: float = 3.0) -> None:
    async def poll():
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def test_the_seed_finds_what_citizens_call_things(resources):
    catalog = resources.catalog
    await seed_catalog(catalog)
    assert await seed_search_words(catalog.words) == {"added": 52, "kept": 0}
    assert await seed_search_words(catalog.words) == {"added": 0, "kept": 52}
    for q, found in [("社保", "社会保险费缓缴申请"), ("低保", "最低生活保障申请"), ("驾照", "机动车驾驶证换证"),
                     ("个体户", "个体工商户设立登记"), ("出生证", "出生医学证明办理"), ("提取公积金", "住房公积金提取（购房）"),
                     ("身份证到期", "居民身份证换领"), ("港澳通行证", "往来港澳通行证再次签注")]:
        assert found in await _names(catalog, q), q
    entries = (await AuditLog.list(AuditFilters(target_type="search_word"), limit=100)).entries
    assert len(entries) == 52 and {e.actor_username for e in entries} == {"system:seed"}
