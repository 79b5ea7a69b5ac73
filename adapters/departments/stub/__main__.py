"""``python -m adapters.departments.stub --port 8002``: run the department stub (docs/delivery.md)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from adapters.departments.stub.server import FAULT_MODES, StubConfig, create_stub_app, demo_nodes, parse_fault
from domain.shared.clock import OFFSET_VARIABLE, Clock, offset_from


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m adapters.departments.stub",
                                     description="the department side of the hub's delivery contract, offline")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--hub-url", default="http://127.0.0.1:8000", help="where callbacks go")
    parser.add_argument("--hub-key", type=Path,
                        help="the hub's public key (PEM); default: fetched from {hub-url}/gov/v1/hub-key")
    parser.add_argument("--node", action="append", default=[], metavar="CODE=PRIVATE_KEY_PEM",
                        help="a node this stub plays (repeatable); default: the demo nodes with dev keys")
    parser.add_argument("--db", default=":memory:", help="SQLite file for what it received (default: memory)")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds before each callback")
    parser.add_argument("--no-review", action="store_true", help="receive only, never call back")
    parser.add_argument("--fault", choices=FAULT_MODES, help="misbehave from the start")
    parser.add_argument("--fault-count", type=int, help="for this many requests (default: until cleared)")
    parser.add_argument("--slow-seconds", type=float, default=5.0)
    parser.add_argument("--retry-after", type=int)
    parser.add_argument("--fault-status", type=int)
    parser.add_argument("--clock-offset", type=float, default=offset_from(os.environ.get(OFFSET_VARIABLE)),
                        help=f"seconds the stub's clock runs ahead of the wall clock (default: ${OFFSET_VARIABLE}, "
                             "as the hub's; both must agree for signed requests)")
    return parser


def _nodes(pairs: list[str]) -> dict[str, bytes]:
    if not pairs:
        return demo_nodes()
    nodes = {}
    for pair in pairs:
        code, sep, key_path = pair.partition("=")
        if not sep:
            raise SystemExit(f"--node {pair!r}: expected CODE=PRIVATE_KEY_PEM")
        nodes[code] = Path(key_path).read_bytes()
    return nodes


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    fault = None
    if args.fault:
        fault = parse_fault({"mode": args.fault, "count": args.fault_count, "seconds": args.slow_seconds,
                             "retry_after": args.retry_after, "status": args.fault_status})
    config = StubConfig(hub_url=args.hub_url, hub_key_path=str(args.hub_key) if args.hub_key else None,
                        nodes=_nodes(args.node), delay=args.delay, review=not args.no_review, db_path=args.db,
                        fault=fault, clock=Clock(args.clock_offset))
    app = create_stub_app(config)
    # one process: what it received lives in this process (or its --db file)
    app.run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
