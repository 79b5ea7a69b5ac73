"""Import of the national division list from CSV (``code,name,parent``): streamed, batched, upserted.

Each row is checked alone (``rules.check_row``), then against the tree: its parent must be in the
database, earlier in the file, or later in the file (the row waits for it; only rows waiting are
held in memory, and only codes that can be parents — levels 1 to 4, some 45,000 nationally — are
remembered). A bad row is reported with its line and reason and the import goes on. Every batch
is one transaction; running the same file again changes nothing and counts every row unchanged.
A code met twice is an upsert in file order: the later row wins.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.transactions import in_transaction

from domain.regions import rules
from domain.regions.models import Region
from domain.regions.rules import RegionRow, RowRejected

Source = str | os.PathLike | Iterable[str]


@dataclass(frozen=True)
class RejectedRow:
    line: int
    code: str
    reason: str  # rules.RowRejected reasons, or unknown_parent
    message: str


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    lines_read: int = 0
    bytes_read: int = 0
    total_bytes: int | None = None  # known when the source is a file

    @property
    def rejected_count(self) -> int:
        return len(self.rejected)

    def counts(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected_count}


class RegionImport:
    def __init__(self, *, now: datetime, batch_size: int = 1000,
                 on_progress: Callable[[ImportReport], None] | None = None) -> None:
        self.report = ImportReport()
        self._now = now
        self._batch_size = batch_size
        self._on_progress = on_progress
        self._staged: list[tuple[int, RegionRow]] = []
        self._known: set[str] = set()  # codes that may be parents and are known to exist
        self._waiting: dict[str, list[tuple[int, RegionRow]]] = {}  # parent code -> rows

    async def run(self, source: Source) -> ImportReport:
        for line, fields in _rows(source, self.report):
            await self._take(line, fields)
        await self._flush()
        self._reject_the_waiting()
        self.report.rejected.sort(key=lambda rejected: rejected.line)
        return self.report

    def _reject_the_waiting(self) -> None:
        """Rows whose parent never came; a parent that itself waited in vain is named by line."""
        waiting = [item for rows in self._waiting.values() for item in rows]
        lines = {row.code: line for line, row in waiting}
        for line, row in waiting:
            parent = row.parent_code
            self._reject(line, row.code, "unknown_parent",
                         f"上级 {parent} 未能导入（第{lines[parent]}行，其上级缺失）" if parent in lines
                         else f"上级 {parent} 既不在文件中，也不在已导入的区划中")

    async def _take(self, line: int, fields: list[str] | RowRejected) -> None:
        if isinstance(fields, RowRejected):
            self._reject(line, "", fields.reason, fields.message)
            return
        try:
            self._staged.append((line, rules.check_row(fields)))
        except RowRejected as rejected:
            self._reject(line, fields[0].strip() if fields else "", rejected.reason, rejected.message)
        if len(self._staged) >= self._batch_size:
            await self._flush()

    def _reject(self, line: int, code: str, reason: str, message: str) -> None:
        self.report.rejected.append(RejectedRow(line=line, code=code, reason=reason, message=message))

    async def _flush(self) -> None:
        staged, self._staged = self._staged, []
        # A parent staged in this very batch needs no lookup: were it stored already, its own
        # parent would be too, so it is accepted below either way.
        in_batch = {row.code for _, row in staged}
        await self._learn_parents({row.parent_code for _, row in staged} - {None} - self._known - in_batch)
        ready: list[RegionRow] = []
        for line, row in staged:
            if row.parent_code is None or row.parent_code in self._known:
                self._accept(row, ready)
            else:
                self._waiting.setdefault(row.parent_code, []).append((line, row))
        if ready:
            await self._write(ready)
        if self._on_progress:
            self._on_progress(self.report)

    def _accept(self, row: RegionRow, ready: list[RegionRow]) -> None:
        """Take a row whose parent exists, then every row that was waiting for it."""
        ready.append(row)
        if row.level < rules.VILLAGE:
            self._known.add(row.code)
            for _, child in self._waiting.pop(row.code, []):
                self._accept(child, ready)

    async def _learn_parents(self, codes: set[str]) -> None:
        if codes:
            found = await Region.filter(code__in=codes).values_list("code", flat=True)
            self._known.update(found)

    async def _write(self, rows: list[RegionRow]) -> None:
        """Upsert in file order, counting each occurrence against the state just before it."""
        current = {code: (name, level, parent) for code, name, level, parent in await Region.filter(
            code__in={row.code for row in rows}).values_list("code", "name", "level", "parent_code")}
        inserted, updated = set(), set()
        for row in rows:
            values = (row.name, row.level, row.parent_code)
            if row.code not in current:
                inserted.add(row.code)
                self.report.inserted += 1
            elif current[row.code] == values:
                self.report.unchanged += 1
                continue
            else:
                updated.add(row.code)
                self.report.updated += 1
            current[row.code] = values
        await self._save(current, inserted, updated - inserted)

    async def _save(self, current: dict, inserted: set[str], updated: set[str]) -> None:
        def model(code: str) -> Region:
            name, level, parent = current[code]
            return Region(code=code, name=name, level=level, parent_code=parent, updated_at=self._now)

        async with in_transaction() as connection:
            if inserted:
                await Region.bulk_create([model(code) for code in sorted(inserted)], using_db=connection)
            if updated:
                await Region.bulk_update([model(code) for code in sorted(updated)],
                                         fields=["name", "level", "parent_code", "updated_at"],
                                         using_db=connection)


def _rows(source: Source, report: ImportReport) -> Iterator[tuple[int, list[str] | RowRejected]]:
    """(line, [code, name, parent]) for every non-blank row, the header mapped by name; a row
    with more cells than the header comes as its RowRejected."""
    reader = csv.reader(_lines(source, report))
    header: list[str] | None = None
    first = True
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        report.lines_read = reader.line_num
        if first and _is_header(row):
            header, first = row, False
            continue
        first = False
        try:
            yield reader.line_num, _pick(row, header)
        except RowRejected as rejected:
            yield reader.line_num, rejected


def _lines(source: Source, report: ImportReport) -> Iterator[str]:
    """Lines of text; a file is read as bytes so that progress counts what the file size counts.
    Bytes that are not UTF-8 become U+FFFD, and check_row rejects that row (a GBK export)."""
    if not isinstance(source, (str, os.PathLike)):
        for line in source:
            report.bytes_read += len(line.encode("utf-8"))
            yield line
        return
    report.total_bytes = os.path.getsize(source)
    with open(source, "rb") as file:
        for number, raw in enumerate(file):
            report.bytes_read += len(raw)
            text = raw.decode("utf-8", errors="replace")
            yield text.removeprefix("\ufeff") if number == 0 else text


def _is_header(row: list[str]) -> bool:
    return row[0].strip().lstrip("\ufeff").lower() == "code"


def _pick(row: list[str], header: list[str] | None) -> list[str]:
    """code, name, parent by the header's names (any order, other columns ignored)."""
    if header is None:
        return row
    if len(row) > len(header):
        raise RowRejected("columns", f"表头有{len(header)}列，该行有{len(row)}列")
    row = row + [""] * (len(header) - len(row))  # trailing empty cells may be left out
    names = [cell.strip().lstrip("\ufeff").lower() for cell in header]
    return [row[names.index(name)] if name in names else "" for name in ("code", "name", "parent")]
