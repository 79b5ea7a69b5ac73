"""The credit system (信用信息共享平台) as instant approval asks it, stubbed offline.

Implements ``domain.applications.instant_step.CreditRecords``. Test identities (the mock's demo
citizens who pass real name, miniprogram_mock/README.md; docs/instant-approval.md):

| ID number | who | answer |
|---|---|---|
| 310115199208150037 | carol 李娜 | 失信被执行人 (a disqualifying record) |
| 110105199003070017, 330106198805120023 | alice 张丽, bob 王强 | no record |
| anyone else | | no record |

``down=True`` makes every question unavailable (the "credit system down" switch of tests), as
does any ID number in ``unavailable_for``.
"""
from __future__ import annotations

import asyncio

from domain.shared.errors import UpstreamUnavailable

SYSTEM = "credit"
RECORDS = {"310115199208150037": ("失信被执行人",)}


class StubCreditRecords:
    def __init__(self, *, records: dict[str, tuple[str, ...]] | None = None,
                 unavailable_for: frozenset[str] = frozenset(), down: bool = False,
                 latency: float = 0.0) -> None:
        self.records = dict(RECORDS if records is None else records)
        self.unavailable_for = unavailable_for
        self.down = down
        self.latency = latency  # seconds: a slow credit system, for tests of the step's timeout
        self.asked = 0

    async def records_of(self, *, id_number: str, name: str) -> tuple[str, ...]:
        self.asked += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.down or id_number in self.unavailable_for:
            raise UpstreamUnavailable(system=SYSTEM, upstream_code="stub-unavailable")
        return self.records.get(id_number, ())


class CreditNotConfigured:
    """Production until a real credit-system client is configured: every question is unanswered,
    so every sole-proprietor registration goes to an examiner — never a silent approval."""

    async def records_of(self, *, id_number: str, name: str) -> tuple[str, ...]:
        raise UpstreamUnavailable(system=SYSTEM, upstream_code="not-configured")
