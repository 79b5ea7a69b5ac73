"""``govhub regions import FILE``: load the national division list with a progress bar.

The bar counts bytes of the file (so it knows the total and shows rate and ETA from the first
batch on) and carries the row and rejection counts; rejected rows are listed at the end, each
with its line number and reason.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from domain.regions.service import ImportReport

if TYPE_CHECKING:  # the command's hub, built by bff.container: not loaded again for a type
    from bff.container import Hub


async def import_regions(hub: Hub, path: str | Path, *, progress: bool = True) -> ImportReport:
    """Import ``path`` (CSV ``code,name,parent``) into the regions of a running hub's database."""
    from tqdm import tqdm  # here: only this command draws a progress bar

    service = hub.regions
    with tqdm(total=Path(path).stat().st_size, unit="B", unit_scale=True, desc="regions",
              disable=not progress, file=sys.stderr) as bar:
        def advance(report: ImportReport) -> None:
            bar.update(report.bytes_read - bar.n)
            bar.set_postfix_str(f"rows {report.lines_read:,}, rejected {report.rejected_count:,}", refresh=False)

        return await service.import_csv(path, on_progress=advance)


def print_report(report: ImportReport, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> None:
    for rejected in report.rejected:
        print(f"line {rejected.line}: {rejected.code or '-'} {rejected.reason}: {rejected.message}", file=err)
    counts = report.counts()
    print(", ".join(f"{name} {count}" for name, count in counts.items()), file=out)
