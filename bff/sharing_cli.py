"""``govhub sharing``: the exchange's message log, verified and its timestamps exported for openssl
(docs/sharing.md)."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bff.settings import Settings


def add_parser(sub) -> None:
    sharing = sub.add_parser("sharing", help="data sharing: the exchange's message log (docs/sharing.md)")
    cmd = sharing.add_subparsers(dest="sharing_command", required=True)
    cmd.add_parser("verify-log", help="walk the hash chain and check every RFC 3161 timestamp; exit 1 if broken")
    cmd.add_parser("stamp", help="time-stamp what is not yet stamped now (the scheduler does it every few seconds)")
    cmd.add_parser("stamps", help="the timestamps: id, records covered, the digest stamped")
    export = cmd.add_parser("export-stamp", help="write a timestamp's RFC 3161 token (DER) to a file, for openssl")
    export.add_argument("stamp_id", type=int)
    export.add_argument("file", type=Path)


def run(settings: Settings, args, *, with_hub) -> int:
    """``with_hub``: the CLI's way to open a hub, run an action on it and close it."""
    if args.sharing_command in ("stamps", "export-stamp"):
        stamps = asyncio.run(with_hub(settings, lambda hub: hub.sharing.log.stamps()))
        if args.sharing_command == "stamps":
            for stamp in stamps:
                print(f"{stamp.id}\tseq {stamp.first_seq}-{stamp.last_seq}\t{stamp.stamped_at.isoformat()}\t{stamp.digest}")
            return 0
        found = next((s for s in stamps if s.id == args.stamp_id), None)
        if found is None:
            print(f"govhub: no timestamp {args.stamp_id}", file=sys.stderr)
            return 1
        args.file.write_bytes(found.token)
        print(f"wrote {len(found.token)} bytes; digest {found.digest} (the hash of record {found.last_seq})")
        return 0
    if args.sharing_command == "stamp":
        stamped = asyncio.run(with_hub(settings, lambda hub: hub.sharing.stamp_pending()))
        print(f"stamped {stamped} records")
        return 0
    check = asyncio.run(with_hub(settings, lambda hub: hub.sharing.verify_log()))
    print(f"records: {check.records}, chain {'intact' if check.intact else f'broken at seq {check.broken_at}'}; "
          f"timestamps: {check.stamps}, {len(check.bad_stamps)} bad; not yet stamped: {check.unstamped}")
    for problem in check.bad_stamps:
        print(f"  {problem}")
    return 0 if check.ok else 1
