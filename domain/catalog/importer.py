"""Import matters from a JSONL or CSV file of any size, in batches, through ``CatalogService.upsert``.

The file is read line by line from the binary file object it is given (never loaded whole), so a
national catalog of millions of rows runs in constant memory. Every rejected row is reported with
its line number — a malformed JSON line, a CSV row with the wrong number of cells, or a record
``rules.normalize`` refuses — and the import goes on. CSV list cells are ``a|b|c``; ``materials``
and ``form_schema`` cells hold JSON (``rules.normalize`` reads both forms).
"""
from __future__ import annotations

import csv
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from domain.catalog.service import CatalogService, UpsertReport

FORMATS = ("jsonl", "csv")
BATCH_SIZE = 2000
KEPT_REJECTS = 1000  # the report keeps the first ones; on_reject sees them all
REQUIRED_COLUMNS = ("code", "catalog_code", "name", "kind", "region_code", "department_code")
OPTIONAL_COLUMNS = ("catalog_name", "for_individuals", "for_legal_persons", "life_events", "themes", "zones",
                    "legal_limit_days", "promised_limit_days", "fee_fen", "online_depth", "cross_province",
                    "instant_approval", "entry", "channels", "materials", "form_schema")
SEED_FILE = Path(__file__).resolve().parent / "seed_data" / "matters.jsonl"


class ImportFileError(Exception):
    """The file as a whole cannot be imported (unknown format, unusable CSV header)."""


@dataclass(frozen=True)
class Row:
    """One record of the file, or why its line is no record. ``line`` counts from 1."""

    line: int
    record: dict[str, Any] | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str


@dataclass
class ImportReport:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    superseded: int = 0  # a later row of the same batch had the same code
    elapsed_seconds: float = 0.0
    rejects: list[Reject] = field(default_factory=list)

    def __str__(self) -> str:
        rate = self.read / self.elapsed_seconds if self.elapsed_seconds else 0.0
        extra = f", superseded {self.superseded:,}" if self.superseded else ""
        return (f"read {self.read:,}, inserted {self.inserted:,}, updated {self.updated:,}, "
                f"unchanged {self.unchanged:,}, rejected {self.rejected:,}{extra} "
                f"in {self.elapsed_seconds:.1f} s ({rate:,.0f} rows/s)")


@dataclass(frozen=True)
class Progress:
    rows: int
    bytes_read: int
    elapsed_seconds: float


def detect_format(name: str, given: str | None = None) -> str:
    if given:
        if given not in FORMATS:
            raise ImportFileError(f"unknown format {given!r}: one of {', '.join(FORMATS)}")
        return given
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    found = {"jsonl": "jsonl", "ndjson": "jsonl", "json": "jsonl", "csv": "csv"}.get(suffix)
    if found is None:
        raise ImportFileError(f"cannot tell the format of {name!r} from its extension: pass --format")
    return found


class LineReader:
    """Decoded lines of a binary file, counting the bytes and lines consumed (for progress and
    line numbers); a line that is not UTF-8 is remembered and handed on with replacement marks."""

    def __init__(self, binary: IO[bytes]) -> None:
        self._binary = binary
        self.bytes_read = 0
        self.lines_read = 0
        self.undecodable: set[int] = set()

    def __iter__(self) -> Iterator[str]:
        for raw in self._binary:
            self.bytes_read += len(raw)
            self.lines_read += 1
            if self.lines_read == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a BOM, as spreadsheet programs write
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self.undecodable.add(self.lines_read)
                yield raw.decode("utf-8", errors="replace")


def jsonl_rows(lines: LineReader) -> Iterator[Row]:
    for text in lines:
        number = lines.lines_read
        if not text.strip():
            continue
        if number in lines.undecodable:
            yield Row(number, problem="not UTF-8 text")
            continue
        yield _json_row(number, text)


def _json_row(number: int, text: str) -> Row:
    try:
        record = json.loads(text)
    except ValueError as exc:
        return Row(number, problem=f"malformed JSON: {getattr(exc, 'msg', exc)} (column {getattr(exc, 'colno', '?')})")
    if not isinstance(record, dict):
        return Row(number, problem="not a JSON object")
    return Row(number, record=record)


def csv_rows(lines: LineReader) -> Iterator[Row]:
    reader = csv.reader(lines)
    header = _header(next(reader, None))
    last_line = reader.line_num
    while True:
        try:
            cells, problem = next(reader), None
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a NUL byte; the reader goes on with the next line
            cells, problem = [], f"unreadable CSV row: {exc}"
        start, last_line = last_line + 1, reader.line_num  # a quoted cell may span lines
        if problem is None and any(n in lines.undecodable for n in range(start, last_line + 1)):
            problem = "not UTF-8 text"
        if problem is not None:
            yield Row(start, problem=problem)
        elif cells and cells != [""]:
            yield _csv_row(start, header, cells)


def _csv_row(line: int, header: list[str], cells: list[str]) -> Row:
    if len(cells) != len(header):
        return Row(line, problem=f"expected {len(header)} cells, found {len(cells)}")
    # an empty cell means "not given", so the field's default applies
    return Row(line, record={k: v for k, v in zip(header, cells) if v.strip()})


def _header(cells: list[str] | None) -> list[str]:
    if not cells:
        raise ImportFileError("the CSV file is empty: its first line must name the columns")
    header = [c.strip() for c in cells]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    doubled = sorted({c for c in header if header.count(c) > 1})
    for problem, names in (("lacks", missing), ("has unknown columns", unknown), ("repeats", doubled)):
        if names:
            raise ImportFileError(f"the CSV header {problem}: {', '.join(names)}")
    return header


def read_rows(lines: LineReader, fmt: str) -> Iterator[Row]:
    return csv_rows(lines) if fmt == "csv" else jsonl_rows(lines)


def batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    """Rows in groups holding ``size`` records each (unparseable rows ride along with them)."""
    batch: list[Row] = []
    records = 0
    for row in rows:
        batch.append(row)
        records += row.record is not None
        if records >= size:
            yield batch
            batch, records = [], 0
    if batch:
        yield batch


Upsert = Callable[[list[dict[str, Any]]], Awaitable[UpsertReport]]


async def import_file(binary: IO[bytes], *, fmt: str, upsert: Upsert, batch_size: int = BATCH_SIZE,
                      on_progress: Callable[[Progress], None] | None = None,
                      on_reject: Callable[[Reject], None] | None = None) -> ImportReport:
    """Stream the file into the catalog; idempotent (unchanged rows are counted, not rewritten)."""
    started = time.perf_counter()
    report = ImportReport()
    lines = LineReader(binary)
    for batch in batches(read_rows(lines, fmt), batch_size):
        rejects = await _load_batch(batch, upsert, report)
        for reject in sorted(rejects, key=lambda r: r.line):
            _note_reject(report, reject, on_reject)
        if on_progress:
            on_progress(Progress(report.read, lines.bytes_read, time.perf_counter() - started))
    report.elapsed_seconds = time.perf_counter() - started
    return report


async def _load_batch(batch: list[Row], upsert: Upsert, report: ImportReport) -> list[Reject]:
    rejects = [Reject(row.line, row.problem or "") for row in batch if row.record is None]
    loaded = [row for row in batch if row.record is not None]
    report.read += len(batch)
    if loaded:
        result = await upsert([row.record for row in loaded])
        rejects += [Reject(loaded[index].line, reason) for index, reason in result.rejected]
        report.inserted += result.inserted
        report.updated += result.updated
        report.unchanged += result.unchanged
        report.superseded += (len(loaded) - len(result.rejected) - result.inserted - result.updated
                              - result.unchanged)
    return rejects


def _note_reject(report: ImportReport, reject: Reject, on_reject: Callable[[Reject], None] | None) -> None:
    report.rejected += 1
    if len(report.rejects) < KEPT_REJECTS:
        report.rejects.append(reject)
    if on_reject:
        on_reject(reject)


async def seed_catalog(catalog: CatalogService) -> ImportReport:
    """Load the demo catalog (``seed_data/matters.jsonl``); idempotent like every import."""
    with SEED_FILE.open("rb") as seed:
        return await import_file(seed, fmt="jsonl", upsert=catalog.upsert)
