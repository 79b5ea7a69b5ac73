"""RegionService on the database: the demo seed, CSV import, paths, zones and departments."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.regions import errors
from domain.regions.service import SEED_DATA, RegionService
from domain.shared.clock import FrozenClock

NOW = datetime(2026, 1, 1, tzinfo=UTC)

GOOD = """code,name,parent
330000000000,浙江省,
330100000000,杭州市,330000000000
330106000000,西湖区,330100000000
330106002000,北山街道,330106000000
"""


@pytest.fixture
async def regions(resources):  # ``resources``: the migrated database, emptied before each test
    return RegionService(FrozenClock(NOW), import_batch_size=2)  # tiny batches: rows cross batches


@pytest.fixture
async def seeded(resources):
    service = RegionService(FrozenClock(NOW))
    await service.seed_regions()
    return service


async def test_seed_loads_the_seven_provinces_to_county_and_two_chains_to_village(seeded):
    assert [p.name for p in await seeded.provinces()] == ["北京市", "天津市", "河北省", "上海市", "江苏省",
                                                         "浙江省", "安徽省"]
    assert len(await seeded.children("330100000000")) == 13  # 杭州: 10 districts, 2 counties, 建德市
    assert [r.name for r in await seeded.path("110101001001")] == [
        "北京市", "市辖区", "东城区", "东华门街道", "多福巷社区居委会"]
    assert [r.level for r in await seeded.path("330102016001")] == [1, 2, 3, 4, 5]
    assert (await seeded.department("330100-market_supervision")).region_code == "330100000000"


async def test_seed_is_idempotent(seeded):
    again = await seeded.seed_regions()
    assert again["departments"] == 0
    assert again["regions"] == 565 + 5
    report = await seeded.import_csv(SEED_DATA / "regions.csv")
    assert report.counts() == {"inserted": 0, "updated": 0, "unchanged": 565, "rejected": 0}


async def test_import_good_rows_then_reimport_counts_them_unchanged(regions):
    first = await regions.import_csv(GOOD.splitlines(keepends=True))
    assert first.counts() == {"inserted": 4, "updated": 0, "unchanged": 0, "rejected": 0}
    second = await regions.import_csv(GOOD.splitlines(keepends=True))
    assert second.counts() == {"inserted": 0, "updated": 0, "unchanged": 4, "rejected": 0}
    renamed = await regions.import_csv(["330106000000,西湖区（新）,330100000000\n"])
    assert renamed.counts() == {"inserted": 0, "updated": 1, "unchanged": 0, "rejected": 0}
    assert (await regions.get("330106")).name == "西湖区（新）"


async def test_bad_rows_are_reported_with_line_and_reason_and_the_rest_goes_in(regions):
    await regions.import_csv(GOOD.splitlines(keepends=True))
    lines = [
        "code,name,parent\n",                               # 1 header
        "330110000000,余杭区,330100000000\n",                 # 2 good, parent in the database
        "33011X000000,坏代码,330100000000\n",                 # 3 bad code
        "330111000000,富阳区,330000000000\n",                 # 4 level mismatch (province as parent)
        "320102000000,玄武区,320100000000\n",                 # 5 parent neither in file nor database
        "330112000000,,330100000000\n",                      # 6 no name
        "\n",                                                # 7 blank: skipped
        "330113000000,临平区\n",                              # 8 missing parent
        "330114000000,钱塘区,330100000000,extra\n",           # 9 column count
    ]
    report = await regions.import_csv(lines)
    assert report.counts() == {"inserted": 1, "updated": 0, "unchanged": 0, "rejected": 6}
    assert [(r.line, r.reason) for r in report.rejected] == [
        (3, "bad_code"), (4, "level_mismatch"), (5, "unknown_parent"), (6, "bad_name"),
        (8, "parent_mismatch"), (9, "columns")]
    assert all(r.message for r in report.rejected)
    assert [r.code for r in await regions.children("330100000000")] == ["330106000000", "330110000000"]


async def test_a_child_before_its_parent_waits_for_it(regions):
    lines = ["330106002000,北山街道,330106000000\n", "330106000000,西湖区,330100000000\n",
             "330100000000,杭州市,330000000000\n", "330000000000,浙江省,\n"]
    report = await regions.import_csv(lines)
    assert report.counts() == {"inserted": 4, "updated": 0, "unchanged": 0, "rejected": 0}
    assert [r.code for r in await regions.path("330106002")] == [
        "330000000000", "330100000000", "330106000000", "330106002000"]


async def test_rows_below_a_missing_parent_are_rejected_naming_it(regions):
    lines = ["320100000000,南京市,320000000000\n", "320102000000,玄武区,320100000000\n"]
    report = await regions.import_csv(lines)
    assert [(r.line, r.reason) for r in report.rejected] == [(1, "unknown_parent"), (2, "unknown_parent")]
    assert "320000000000" in report.rejected[0].message and "第1行" in report.rejected[1].message
    assert report.counts()["inserted"] == 0


async def test_a_code_twice_is_an_upsert_in_file_order(regions):
    lines = ["33,浙江,\n", "33,浙江省,\n"]
    report = await regions.import_csv(lines)
    assert report.counts() == {"inserted": 1, "updated": 1, "unchanged": 0, "rejected": 0}
    assert (await regions.get("33")).name == "浙江省"


async def test_import_from_a_file_reports_progress_and_refuses_non_utf8_rows(regions, tmp_path):
    path = tmp_path / "national.csv"
    gbk_row = "330110000000,余杭区,330100000000\n".encode("gbk")  # as an old export might be saved
    path.write_bytes(("\ufeff" + GOOD).encode("utf-8") + gbk_row)  # with the BOM spreadsheets write
    seen = []
    report = await regions.import_csv(path, on_progress=lambda r: seen.append((r.bytes_read, r.lines_read)))
    assert report.counts() == {"inserted": 4, "updated": 0, "unchanged": 0, "rejected": 1}
    assert (report.rejected[0].line, report.rejected[0].reason) == (6, "encoding")
    assert report.total_bytes == path.stat().st_size == seen[-1][0]
    assert seen == sorted(seen) and len(seen) >= 2


async def test_get_children_path_and_search(seeded):
    region = await seeded.get("3301")
    assert (region.code, region.name, region.level_name) == ("330100000000", "杭州市", "city")
    assert [r.name for r in await seeded.path("330106")] == ["浙江省", "杭州市", "西湖区"]
    assert [r.name for r in await seeded.search("杭州")] == ["杭州市"]
    assert {r.name for r in await seeded.search("西湖", level=3)} == {"西湖区"}
    assert await seeded.search("") == []
    with pytest.raises(errors.RegionNotFound):
        await seeded.get("330199")
    with pytest.raises(errors.RegionNotFound):
        await seeded.path("330106002099")  # its township is stored, the village is not
    with pytest.raises(errors.InvalidRegionCode):
        await seeded.children("3301x")


async def test_zones_are_inherited_by_every_descendant(seeded):
    assert [z.code for z in await seeded.zones_of("330106002001")] == ["yrd"]  # a 社区 in 杭州
    assert [z.code for z in await seeded.zones_of("330127000000")] == ["yrd"]  # 淳安县
    assert [z.code for z in await seeded.zones_of("110101000000")] == ["jjj"]
    assert await seeded.zones_of("440300000000") == []                         # 深圳: neither
    assert [r.name for r in await seeded.regions_in_zone("jjj")] == ["北京市", "天津市", "河北省"]
    yrd = await seeded.zone("yrd")
    assert (yrd.name, yrd.region_codes) == ("长三角", ("310000000000", "320000000000", "330000000000",
                                                       "340000000000"))
    with pytest.raises(errors.ZoneNotFound):
        await seeded.zone("prd")


async def test_define_zone_replaces_its_members(seeded):
    await seeded.define_zone(code="yrd", name="长三角", region_codes=["31", "32"])
    assert [z.code for z in await seeded.zones_of("330100000000")] == []
    assert [z.code for z in await seeded.zones_of("320100000000")] == ["yrd"]


async def test_departments(seeded):
    added = await seeded.add_department(code="330106-transport", name="杭州市西湖区交通运输局",
                                        region_code="330106", kind="transport")
    assert (added.region_code, added.status, added.created_at) == ("330106000000", "active", NOW)
    own = [d.code for d in await seeded.departments_in("330106000000")]
    assert own == sorted(own) and {"330106-market_supervision", "330106-transport"} <= set(own)
    inherited = [d.region_code for d in await seeded.departments_in("330106", include_ancestors=True)]
    assert inherited[0] == "330000000000" and inherited[-1] == "330106000000"
    assert "330100000000" in inherited
    with pytest.raises(errors.DepartmentExists):
        await seeded.add_department(code="330100-market_supervision", name="重复", region_code="3301", kind="market_supervision")
    with pytest.raises(errors.InvalidDepartment) as bad:
        await seeded.add_department(code="X", name="", region_code="3301", kind="police")
    assert [e["field"] for e in bad.value.extra["errors"]] == ["code", "name", "kind"]
    with pytest.raises(errors.RegionNotFound):
        await seeded.add_department(code="gd-amr", name="广东省市场监督管理局", region_code="44",
                                    kind="market_supervision")
    with pytest.raises(errors.DepartmentNotFound):
        await seeded.department("nobody")


def test_ancestors_need_no_database():
    assert RegionService().ancestors("330106002001")[0] == "330000000000"
    assert RegionService.is_within("330106002001", "33")
