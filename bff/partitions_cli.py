"""``govhub partitions``: the month partitions of applications, deliveries and notifications on
PostgreSQL — list them, make the months ahead, detach old months to archive (docs/partitions.md)."""
from __future__ import annotations

import asyncio
import sys

from bff.settings import Settings
from domain.partitions.rules import Month, MonthInvalid
from domain.partitions.service import AHEAD, DetachRefused, PartitionService, PartitionsUnsupported


def add_parser(sub) -> None:
    partitions = sub.add_parser("partitions", help="month partitions on PostgreSQL (docs/partitions.md)")
    cmd = partitions.add_subparsers(dest="partitions_command", required=True)
    cmd.add_parser("list", help="every attached partition: table, partition, month, estimated rows")
    create = cmd.add_parser("create", help="make the current month and the months ahead, where missing "
                                           "(the ensure_partitions job does it every hour)")
    create.add_argument("--ahead", type=int, default=AHEAD, help=f"months after the current one (default {AHEAD})")
    detach = cmd.add_parser("detach", help="detach the months before YYYY-MM (kept as tables, to archive and drop); "
                                           "a month with a live row is refused, and every later month with it")
    detach.add_argument("--before", required=True, help="YYYY-MM: detach the months that end before it starts")


def run(settings: Settings, args, *, with_hub) -> int:
    """``with_hub``: the CLI's way to open a hub, run an action on it and close it."""
    try:
        return asyncio.run(with_hub(settings, lambda hub: _run(PartitionService(clock=hub.clock), args)))
    except (PartitionsUnsupported, MonthInvalid) as exc:
        print(f"govhub: {exc}", file=sys.stderr)
        return 2
    except DetachRefused as exc:
        print(f"govhub: {exc}", file=sys.stderr)
        return 1


async def _run(partitions: PartitionService, args) -> int:
    if args.partitions_command == "list":
        for p in await partitions.list():
            print(f"{p.table}\t{p.name}\t{p.month or 'DEFAULT'}\t~{p.rows} rows")
        return 0
    if args.partitions_command == "create":
        made = await partitions.ensure(ahead=max(0, args.ahead))
        print("made: " + (", ".join(made) if made else "nothing (every month is there)"))
        return 0
    report = await partitions.detach(before=Month.parse(args.before))
    for name in report.detached:
        print(f"detached {name}: archive it (pg_dump -t {name}), then DROP TABLE {name}")
    for name, live in report.refused.items():
        print(f"refused {name}: {live} live rows (applications in progress, deliveries pending or parked); "
              "it and the later months of its table stay", file=sys.stderr)
    if not report.detached and not report.refused:
        print(f"nothing to detach before {args.before}")
    return 1 if report.refused else 0
