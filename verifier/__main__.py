"""``python -m verifier fetch|check``: download the lists (online), check tokens (offline); the
``health-*`` commands (verifier/health_cli.py) do the same for health codes.

The trust anchor is pinned by its fingerprint (SHA-256 of its public key, 64 hex characters), given
with ``--anchor`` or the environment variable ``GOVHUB_TRUST_ANCHOR`` — learnt from the hub's
operators through a channel you trust (``govhub seals anchor``), never from the cache or the hub's
answer alone.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from verifier import cache as cached
from verifier import health_cli
from verifier.offline import AnchorMismatch, OfflineVerifier

ANCHOR_ENV = "GOVHUB_TRUST_ANCHOR"
MAX_DELTAS = 16  # a trust chain longer than this is replaced by a full list


def fetch(hub: str, pin: str, cache: Path, *, now: float | None = None, log=None) -> dict:
    """Download (or bring up to date) the trust anchor, the trust list and the live status lists.
    A cached file that fails its check is discarded and downloaded afresh."""
    import httpx

    log = log or (lambda line: print(line, file=sys.stderr))
    with httpx.Client(base_url=hub.rstrip("/"), timeout=10) as http:
        anchor = http.get("/public/v1/trust-anchor").raise_for_status().json()
        try:
            fresh = OfflineVerifier(anchor=anchor, pin=pin, replay=cached.replay_memory(cache))
        except AnchorMismatch as exc:
            raise SystemExit(f"refusing the hub's trust anchor: {exc}") from None
        verifier = _held(cache, pin, log)
        if verifier is None or verifier.anchor["key_id"] != anchor["key_id"] or len(verifier.trust_lists) > MAX_DELTAS:
            verifier = fresh
        since = f"?since={verifier.trust_version}" if verifier.trust_lists else ""
        verifier.load_trust_list(http.get(f"/public/v1/trust-list{since}").raise_for_status().json())
        verifier.status_lists, verifier.status_envelopes = {}, {}  # only the live hours are kept
        epoch = int(now if now is not None else time.time()) // 3600
        for each in (epoch - 1, epoch):
            response = http.get(f"/public/v1/status-lists/{each}")
            if response.status_code == 200:
                verifier.load_status_list(response.json())
    cached.save(cache, verifier)
    return {"trust_version": verifier.trust_version, "keys": len(verifier.keys),
            "status_lists": len(verifier.status_lists)}


def _held(cache: Path, pin: str, log) -> OfflineVerifier | None:
    if not (Path(cache) / cached.ANCHOR).exists():
        return None
    try:
        return cached.load(cache, pin)
    except cached.CacheInvalid as bad:
        log(f"discarding the cache ({bad}); downloading afresh")
        return None


def load(cache: Path, pin: str) -> OfflineVerifier:
    """The cached verifier, every file checked against the pinned anchor (CacheInvalid if not)."""
    return cached.load(cache, pin)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verifier")
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("fetch", help="download the trust list and status lists (online)")
    get.add_argument("--hub", required=True)
    check = commands.add_parser("check", help="check a token against the cache (offline)")
    check.add_argument("token")
    health = health_cli.register(commands)  # health-fetch, health-check, health-import
    for command in (get, check, *health):
        command.add_argument("--anchor", default=os.environ.get(ANCHOR_ENV),
                             help=f"the trust anchor's SHA-256 fingerprint, pinned out of band (or ${ANCHOR_ENV})")
        command.add_argument("--cache", type=Path, default=Path("verifier-cache"))
    args = parser.parse_args(argv)
    if not args.anchor:
        parser.error(f"pin the trust anchor: --anchor FINGERPRINT or ${ANCHOR_ENV}")
    if getattr(args, "run", None):
        return args.run(args)
    if args.command == "fetch":
        print(json.dumps(fetch(args.hub, args.anchor, args.cache)))
        return 0
    try:
        verifier = load(args.cache, args.anchor)
    except cached.CacheInvalid as bad:
        print(json.dumps({"result": "cache_invalid", "reason": str(bad)}, ensure_ascii=False))
        print("the cache fails its check against the pinned anchor: run `python -m verifier fetch` again",
              file=sys.stderr)
        return 2
    result = verifier.verify(args.token)
    print(json.dumps(result.__dict__, ensure_ascii=False))
    return 0 if result.result == "valid" else 1


if __name__ == "__main__":
    sys.exit(main())
