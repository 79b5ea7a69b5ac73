"""What every fault test reports: submitted N, stored N, delivered N exactly once (docs/faults.md).

Printed (``pytest -s`` shows it) and, with ``GOVHUB_FAULT_FIGURES=path``, appended to that file as
one JSON line per test, from which docs/faults.md's tables are written."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figures:
    fault: str
    submitted: int
    stored: int
    delivered: int
    exactly_once: int  # deliveries the department acted on exactly once
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        more = ", ".join(f"{key} {value}" for key, value in self.extra.items())
        return (f"[fault] {self.fault}: submitted {self.submitted}, stored {self.stored}, delivered "
                f"{self.delivered} exactly once {self.exactly_once}" + (f" ({more})" if more else ""))


def report(figures: Figures) -> Figures:
    print(figures.line(), flush=True)
    path = os.environ.get("GOVHUB_FAULT_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(figures), ensure_ascii=False) + "\n")
    return figures
