"""Catalog import: JSONL and CSV streamed in batches through the real upsert, rejects by line number."""
from __future__ import annotations

import csv
import io
import itertools
import json

import pytest

from domain.catalog import importer
from domain.catalog.importer import ImportFileError, import_file, seed_catalog
from domain.catalog.models import CatalogItem, Matter
from domain.catalog.service import SearchFilters
from tests.support.catalog_data import NAMES, record

XIHU = "330106000000"


def _records(count: int, start: int = 0) -> list[dict]:
    return [record(i, NAMES[i % len(NAMES)], XIHU) for i in range(start, start + count)]


def _jsonl(lines: list) -> io.BytesIO:
    text = "".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n" for line in lines)
    return io.BytesIO(text.encode())


async def _import(catalog, source: io.BytesIO, fmt: str = "jsonl", **options) -> importer.ImportReport:
    return await import_file(source, fmt=fmt, upsert=catalog.upsert, **options)


@pytest.fixture
def catalog(resources):
    return resources.catalog


async def test_jsonl_good_and_bad_rows_report_their_line_numbers(catalog):
    rows = _records(5)
    lines = [rows[0], rows[1], '{"code": "T-9", "name": ', "", rows[2], "[1, 2]",
             {**rows[3], "kind": "magic", "fee_fen": -1}, rows[4]]
    seen: list[importer.Reject] = []
    report = await _import(catalog, _jsonl(lines), batch_size=2, on_reject=seen.append)
    assert (report.read, report.inserted, report.updated, report.unchanged, report.rejected) == (7, 4, 0, 0, 3)
    assert [r.line for r in report.rejects] == [3, 6, 7]  # line 4 is blank: skipped, still counted
    assert report.rejects[0].reason.startswith("malformed JSON")
    assert report.rejects[1].reason == "not a JSON object"
    assert "kind:" in report.rejects[2].reason and "fee_fen:" in report.rejects[2].reason
    assert seen == report.rejects
    assert await Matter.filter(code__in=[r["code"] for r in rows]).count() == 4


async def test_reimport_is_unchanged_and_changed_rows_are_updated(catalog):
    rows = _records(12)
    first = await _import(catalog, _jsonl(rows), batch_size=5)
    assert (first.inserted, first.updated, first.unchanged) == (12, 0, 0)
    again = await _import(catalog, _jsonl(rows), batch_size=5)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 12, 0)
    edited = [{**r, "name": "住房公积金提取（退休）"} if i in (2, 7) else r for i, r in enumerate(rows)]
    edited.append(record(50, "留学人员回国证明", XIHU))
    changed = await _import(catalog, _jsonl(edited), batch_size=5)
    assert (changed.inserted, changed.updated, changed.unchanged) == (1, 2, 10)
    found = await catalog.matching_ids(q="退休", filters=SearchFilters(region_code=XIHU))
    assert {m.code for m in await Matter.filter(id__in=found)} == {rows[2]["code"], rows[7]["code"]}


async def test_a_later_row_of_the_same_code_wins(catalog):
    rows = _records(2)
    report = await _import(catalog, _jsonl([rows[0], rows[1], {**rows[0], "name": "户口迁移（投靠）"}]))
    assert (report.read, report.inserted, report.superseded) == (3, 2, 1)
    assert (await Matter.get(code=rows[0]["code"])).name == "户口迁移（投靠）"


def _csv(header: list[str], rows: list[list[str]]) -> io.BytesIO:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return io.BytesIO(out.getvalue().encode())


CSV_HEADER = ["code", "catalog_code", "name", "kind", "region_code", "department_code", "channels",
              "life_events", "cross_province", "fee_fen", "materials", "form_schema"]


def _csv_row(i: int, name: str, **cells) -> list[str]:
    row = {"code": f"CSV-{i}", "catalog_code": f"NAT-C{i}", "name": name, "kind": "public_service",
           "region_code": XIHU, "department_code": "330106-market_supervision", "channels": "wechat|pc",
           "life_events": "housing|moving", "cross_province": "false", "fee_fen": "0",
           "materials": json.dumps([{"name": "居民身份证", "license_type": "resident_id_card"}], ensure_ascii=False),
           "form_schema": "", **cells}
    return [row[c] for c in CSV_HEADER]


async def test_csv_rows_cells_and_line_numbers(catalog):
    rows = [_csv_row(1, "住房公积金提取（购房）"),
            _csv_row(2, "户口迁移", materials="[{not json"),
            _csv_row(3, "异地就医\n备案"),  # a quoted cell over two lines: the next row is on line 6
            _csv_row(4, "社会保障卡申领")[:5],
            _csv_row(5, "失业登记", channels="wechat|fax"),
            _csv_row(6, "婚姻登记预约", form_schema=json.dumps({"type": "object"}))]
    report = await _import(catalog, _csv(CSV_HEADER, rows), fmt="csv")
    assert [(r.line, r.reason.split(":")[0]) for r in report.rejects] == [
        (3, "materials"), (6, "expected 12 cells, found 5"), (7, "channels")]
    assert (report.read, report.inserted, report.rejected) == (6, 3, 3)
    first = await Matter.get(code="CSV-1")
    assert first.channels == ["wechat", "pc"] and first.life_events == ["housing", "moving"]
    assert first.materials[0]["license_type"] == "resident_id_card" and first.form_schema == {}
    assert (await Matter.get(code="CSV-6")).form_schema == {"type": "object"}
    assert await CatalogItem.filter(code="NAT-C1").exists()


@pytest.mark.parametrize(("header", "problem"), [
    (CSV_HEADER[1:], "lacks: code"), (CSV_HEADER + ["chanels"], "unknown columns: chanels"),
    (CSV_HEADER + ["code"], "repeats: code")])
async def test_an_unusable_csv_header_stops_the_import(catalog, header, problem):
    with pytest.raises(ImportFileError, match=problem):
        await _import(catalog, _csv(header, []), fmt="csv")


async def test_csv_with_a_bom_and_crlf_line_ends(catalog):
    data = _csv(CSV_HEADER, [_csv_row(1, "出生医学证明"), _csv_row(2, "预防接种证办理")]).getvalue()
    report = await _import(catalog, io.BytesIO(b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")), fmt="csv")
    assert (report.inserted, report.rejected) == (2, 0)


async def test_lines_that_are_not_utf8_are_rejected_not_fatal(catalog):
    rows = _records(2)
    data = _jsonl(rows).getvalue().replace(b"\n", b"\n\xff\xfe{}\n", 1)
    report = await _import(catalog, io.BytesIO(data))
    assert [(r.line, r.reason) for r in report.rejects] == [(2, "not UTF-8 text")] and report.inserted == 2


async def test_progress_reports_rows_and_bytes_after_every_batch(catalog):
    source = _jsonl(_records(7))
    seen: list[importer.Progress] = []
    await _import(catalog, source, batch_size=3, on_progress=seen.append)
    assert [p.rows for p in seen] == [3, 6, 7]
    assert seen[-1].bytes_read == len(source.getvalue())
    assert all(a.bytes_read < b.bytes_read for a, b in itertools.pairwise(seen))


@pytest.mark.parametrize(("name", "fmt"), [("x.jsonl", "jsonl"), ("X.NDJSON", "jsonl"), ("a/b.csv", "csv")])
def test_format_from_the_extension(name, fmt):
    assert importer.detect_format(name) == fmt
    assert importer.detect_format("data.txt", "csv") == "csv"


def test_an_unknown_extension_needs_a_format():
    with pytest.raises(ImportFileError, match="--format"):
        importer.detect_format("catalog.xlsx")


async def test_demo_seed_loads_once_and_names_real_services(catalog):
    first = await seed_catalog(catalog)
    assert first.rejected == 0 and 150 <= first.inserted <= 300, first.rejects
    again = await seed_catalog(catalog)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, first.inserted)
    sole = await Matter.filter(name__contains="个体工商户设立登记", instant_approval=True).first()
    assert sole is not None and {"business_name", "operator_name", "address", "business_scope",
                                 "registered_capital_fen"} <= set(sole.form_schema["properties"])
    cross = {m.name for m in await Matter.filter(cross_province=True)}
    assert any("异地就医" in n for n in cross) and any("养老保险" in n for n in cross)
    page = await catalog.search(q="公积金", filters=SearchFilters(region_code=XIHU), limit=50)
    assert page.items and {m.region_code for m in page.items} <= {"000000000000", "330000000000", "330100000000",
                                                                 XIHU} | {m.region_code for m in page.items
                                                                          if m.cross_province}
