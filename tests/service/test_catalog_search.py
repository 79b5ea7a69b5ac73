"""Chinese search over the real index (FTS5 on SQLite, tsvector/GIN on PostgreSQL)."""
from __future__ import annotations

import pytest

from domain.audit.service import SystemActor
from domain.catalog.errors import InvalidSearch
from domain.shared.errors import InvalidCursor
from domain.catalog.models import Matter
from domain.catalog.service import SearchFilters
from domain.regions.rules import ancestors
from tests.support.catalog_data import NAMES, record, sample_records

XIHU = "330106000000"


@pytest.fixture
async def catalog(resources):
    service = resources.catalog
    report = await service.upsert(sample_records())
    assert report.inserted == 272 and not report.rejected
    return service


def _visible(m: Matter, region: str) -> bool:
    return m.region_code in [*ancestors(region), "000000000000"] or m.cross_province


async def _like(q: str, region: str | None = None) -> set[int]:
    rows = await Matter.filter(name__contains=q, status="active")
    return {m.id for m in rows if region is None or _visible(m, region)}


def _substrings(length: int) -> list[str]:
    found = []
    for name in NAMES:
        clean = "".join(ch for ch in name if ch.isalnum())
        for i in range(0, len(clean) - length + 1, 3):
            found.append(clean[i:i + length])
    return sorted(set(found))


@pytest.mark.parametrize("length", [2, 3, 4])
async def test_recall_equals_like(catalog, length):
    for q in _substrings(length):
        assert set(await catalog.matching_ids(q=q, filters=SearchFilters())) == await _like(q), q


async def test_recall_equals_like_with_region_filter(catalog):
    for q in ["社保", "公积金", "登记", "证明", "户口迁移"]:
        got = set(await catalog.matching_ids(q=q, filters=SearchFilters(region_code=XIHU)))
        assert got == await _like(q, XIHU), q


async def test_two_characters_inside_longer_words(catalog):
    page = await catalog.search(q="公积", filters=SearchFilters(region_code=XIHU), limit=50)
    assert page.items and all("公积" in m.name for m in page.items)


async def test_pinyin_initials_and_full_pinyin(catalog):
    initials = {m.name for m in (await catalog.search(q="gjj", filters=SearchFilters(), limit=50)).items}
    assert initials and all("公积金" in n for n in initials)
    full = {m.name for m in (await catalog.search(q="gongjijin", filters=SearchFilters(), limit=50)).items}
    assert full == initials
    assert {m.name for m in (await catalog.search(q="BZK", filters=SearchFilters(), limit=50)).items} >= {"社会保障卡申领"}


async def test_punctuation_splits_runs(catalog):
    # 提取（购房）: "取购" never stands next to each other in the name, so it is not found, like LIKE
    assert await catalog.matching_ids(q="取购", filters=SearchFilters()) == []
    assert await catalog.matching_ids(q="购房", filters=SearchFilters())


async def test_single_character(catalog):
    assert set(await catalog.matching_ids(q="户", filters=SearchFilters())) == await _like("户")


async def test_exact_and_prefix_rank_first(catalog):
    items = (await catalog.search(q="户口迁移", filters=SearchFilters(region_code=XIHU))).items
    assert items[0].name == "户口迁移"
    items = (await catalog.search(q="社会保障卡", filters=SearchFilters(region_code=XIHU))).items
    assert all(m.name.startswith("社会保障卡") for m in items[:2])


async def test_popularity_orders_equal_matches(catalog, resources):
    hits = (await catalog.search(q="失业登记", filters=SearchFilters(region_code=XIHU))).items
    least = hits[-1]
    await catalog.popularity.count(matter_id=least.id, views=5, applications=1)
    await catalog.flush_popularity()
    again = (await catalog.search(q="失业登记", filters=SearchFilters(region_code=XIHU))).items
    assert again[0].id == least.id and again[0].popularity == 15


async def test_filters(catalog):
    for filters, check in [
        (SearchFilters(kind="administrative_licensing"), lambda m: m.kind == "administrative_licensing"),
        (SearchFilters(audience="legal_person"), lambda m: m.for_legal_persons),
        (SearchFilters(life_event="housing"), lambda m: "housing" in m.life_events),
        (SearchFilters(cross_province=True), lambda m: m.cross_province),
        (SearchFilters(channel="wechat"), lambda m: "wechat" in m.channels),
        (SearchFilters(department_code="330106-dept1"), lambda m: m.department_code == "330106-dept1"),
    ]:
        ids = await catalog.matching_ids(q=None, filters=filters)
        expected = {m.id for m in await Matter.all() if check(m)}
        assert set(ids) == expected, filters


async def test_region_inheritance(catalog):
    ids = set(await catalog.matching_ids(q=None, filters=SearchFilters(region_code=XIHU)))
    regions = {m.region_code for m in await Matter.filter(id__in=ids) if not m.cross_province}
    assert regions == {"000000000000", "330000000000", "330100000000", XIHU}  # not 宁波 330200, not 北京
    cross = {m.region_code for m in await Matter.filter(id__in=ids, cross_province=True)}
    assert "110101000000" in cross  # a cross-province item of another region is visible


async def test_paging_is_stable_and_complete(catalog):
    seen, cursor = [], None
    while True:
        page = await catalog.search(q="登记", filters=SearchFilters(), cursor=cursor, limit=7)
        seen += [m.id for m in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == len(await _like("登记"))


async def test_bad_queries(catalog):
    with pytest.raises(InvalidSearch):
        await catalog.search(q="（）", filters=SearchFilters())
    with pytest.raises(InvalidCursor):
        await catalog.search(q="登记", filters=SearchFilters(), cursor="not-a-cursor")


async def test_retired_matters_are_not_found(catalog):
    await catalog.retire(code="T-0000")
    assert (await Matter.get(code="T-0000")).id not in await catalog.matching_ids(q="住房", filters=SearchFilters())


async def test_upsert_is_idempotent_and_updates(catalog):
    again = await catalog.upsert(sample_records())
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 272)
    changed = record(0, "住房公积金提取（购房）改", "000000000000")
    report = await catalog.upsert([changed, {"code": "bad"}])
    assert report.updated == 1 and report.rejected and report.rejected[0][0] == 1
    assert await catalog.matching_ids(q="房）改", filters=SearchFilters()) == []
    assert len(await catalog.matching_ids(q="购房改", filters=SearchFilters())) == 0
    assert (await Matter.get(code="T-0000")).id in await catalog.matching_ids(q="改", filters=SearchFilters())


async def test_hot_list_by_region(catalog):
    top = (await catalog.search(q="异地就医备案", filters=SearchFilters(region_code=XIHU))).items[0]
    await catalog.popularity.count(matter_id=top.id, views=100)
    await catalog.flush_popularity()
    hot = await catalog.hot(region_code=XIHU, limit=5)
    assert hot[0]["code"] == top.code


async def test_a_channels_hot_list_shows_only_what_the_channel_offers(catalog):
    # a hot matter the channel does not offer would open on its "not offered here" page
    top = (await catalog.search(q="异地就医备案", filters=SearchFilters(region_code=XIHU))).items[0]
    await catalog.popularity.count(matter_id=top.id, views=100)
    await catalog.flush_popularity()
    await catalog.set_channels(actor=SystemActor("test"), code=top.code, channels=["app"])
    assert top.code not in [m["code"] for m in await catalog.hot(region_code=XIHU, channel="wechat", limit=5)]
    app_hot = await catalog.hot(region_code=XIHU, channel="app", limit=5)
    assert app_hot[0]["code"] == top.code and "channels" not in app_hot[0]


async def _spread_popularity(catalog) -> dict[int, int]:
    """Popularity across the three tiers, counted and flushed as in production (the flush
    rewrites the documents of matters that change tier)."""
    matters = await Matter.all().order_by("id")
    for n, matter in enumerate(matters):
        views = [0, 3, 40, 700, 12_000, 250, 25_000, 9_999][n % 8] + n % 5
        if views:
            await catalog.popularity.count(matter_id=matter.id, views=views)
    report = await catalog.flush_popularity()
    assert report["tier_changes"] > 0
    return {m.id: m.popularity for m in await Matter.all()}


def _reference_order(matters: list[Matter], q: str | None) -> list[int]:
    def quality(m: Matter) -> int:
        return 3 if q is None else (0 if m.name == q else 1 if m.name.startswith(q) else 2)

    return [m.id for m in sorted(matters, key=lambda m: (quality(m), -m.popularity, m.id))]


async def _all_pages(catalog, q, filters, limit=7) -> list[int]:
    seen, cursor = [], None
    while True:
        page = await catalog.search(q=q, filters=filters, cursor=cursor, limit=limit)
        seen += [m.id for m in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("q", ["登记", "社保", "公积金", "户口迁移", "证", "社会保障卡", None])
async def test_ranking_across_popularity_tiers(catalog, q):
    """Paged through, the tiered search returns exactly LIKE's rows in exactly the ranking order
    (match quality, then popularity, then id), however the rows are spread over the tiers."""
    popularity = await _spread_popularity(catalog)
    assert {p >= 10_000 for p in popularity.values()} == {True, False}
    matters = [m for m in await Matter.filter(status="active") if q is None or q in m.name]
    visible = [m for m in matters if _visible(m, XIHU)]
    got = await _all_pages(catalog, q, SearchFilters(region_code=XIHU))
    assert got == _reference_order(visible, q)
    first = (await catalog.search(q=q, filters=SearchFilters(region_code=XIHU), limit=5)).items
    assert [m.id for m in first] == got[:5]


async def test_pinyin_ranks_after_name_matches_across_tiers(catalog):
    await _spread_popularity(catalog)
    got = await _all_pages(catalog, "gjj", SearchFilters(), limit=4)
    expected = [m.id for m in sorted([m for m in await Matter.filter(status="active") if "公积金" in m.name],
                                     key=lambda m: (-m.popularity, m.id))]
    assert got == expected


async def test_tier_change_moves_a_matter_in_the_ranking(catalog):
    cold = (await catalog.search(q="失业登记", filters=SearchFilters(region_code=XIHU), limit=50)).items[-1]
    await catalog.popularity.count(matter_id=cold.id, views=10_000)
    assert (await catalog.flush_popularity())["tier_changes"] == 1
    first = (await catalog.search(q="失业登记", filters=SearchFilters(region_code=XIHU), limit=1)).items[0]
    assert first.id == cold.id
    await catalog.popularity.count(matter_id=cold.id, views=1)
    assert (await catalog.flush_popularity())["tier_changes"] == 0  # stays hot: only the popularity moves
