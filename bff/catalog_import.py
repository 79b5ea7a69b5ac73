"""``govhub catalog import FILE``: the terminal side of the catalog import (progress bar, reject
report, summary). Parsing and loading live in ``domain/catalog/importer.py``."""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import IO

from tqdm import tqdm

from domain.catalog import importer


def open_source(path: str) -> tuple[IO[bytes], int | None]:
    """The file (``-`` is standard input) and its size in bytes when known, for the bar's total."""
    if path == "-":
        return sys.stdin.buffer, None
    source = open(path, "rb")  # noqa: SIM115 - closed by the caller
    size = os.fstat(source.fileno()).st_size
    return source, size or None


async def run_import(catalog, source: IO[bytes], *, fmt: str, total_bytes: int | None, batch_size: int,
                     rejects_path: Path | None, progress: bool) -> importer.ImportReport:
    with contextlib.ExitStack() as stack:
        rejects_file = stack.enter_context(rejects_path.open("w", encoding="utf-8")) if rejects_path else None
        bar = stack.enter_context(tqdm(total=total_bytes, unit="B", unit_scale=True, unit_divisor=1024,
                                       disable=not progress, file=sys.stderr, dynamic_ncols=True,
                                       desc="importing"))
        seen = {"bytes": 0}

        def on_progress(p: importer.Progress) -> None:
            bar.update(p.bytes_read - seen["bytes"])
            seen["bytes"] = p.bytes_read
            bar.set_postfix_str(f"{p.rows:,} rows, {p.rows / max(p.elapsed_seconds, 1e-9):,.0f} rows/s",
                                refresh=False)

        def on_reject(reject: importer.Reject) -> None:
            # tqdm.write keeps the bar below the messages instead of tearing through them
            tqdm.write(f"line {reject.line}: {reject.reason}", file=sys.stderr)
            if rejects_file:
                rejects_file.write(json.dumps({"line": reject.line, "reason": reject.reason},
                                              ensure_ascii=False) + "\n")

        return await importer.import_file(source, fmt=fmt, upsert=catalog.upsert, batch_size=batch_size,
                                          on_progress=on_progress, on_reject=on_reject)
