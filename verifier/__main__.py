"""``python -m verifier fetch|check``: download the lists (online), check tokens (offline)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from verifier.offline import OfflineVerifier


def fetch(hub: str, anchor_key_id: str, cache: Path) -> dict:
    """Download (or bring up to date) the trust anchor, the trust list and the live status lists."""
    import httpx

    cache.mkdir(parents=True, exist_ok=True)
    with httpx.Client(base_url=hub.rstrip("/"), timeout=10) as http:
        anchor = http.get("/public/v1/trust-anchor").raise_for_status().json()
        if anchor["key_id"] != anchor_key_id:
            raise SystemExit(f"the hub's trust anchor {anchor['key_id']} is not the pinned {anchor_key_id}")
        verifier = load(cache) if (cache / "anchor.json").exists() else OfflineVerifier(anchor=anchor)
        since = f"?since={verifier.trust_version}" if verifier.trust_version else ""
        verifier.load_trust_list(http.get(f"/public/v1/trust-list{since}").raise_for_status().json())
        lists = []
        epoch = int(time.time()) // 3600
        for each in (epoch - 1, epoch):
            response = http.get(f"/public/v1/status-lists/{each}")
            if response.status_code == 200:
                verifier.load_status_list(response.json())
                lists.append(response.json())
    (cache / "anchor.json").write_text(json.dumps(anchor))
    (cache / "trust.json").write_text(json.dumps({"version": verifier.trust_version, "keys": verifier.keys}))
    (cache / "status.json").write_text(json.dumps(lists))
    return {"trust_version": verifier.trust_version, "keys": len(verifier.keys), "status_lists": len(lists)}


def load(cache: Path) -> OfflineVerifier:
    verifier = OfflineVerifier(anchor=json.loads((cache / "anchor.json").read_text()))
    trust = json.loads((cache / "trust.json").read_text())
    verifier.trust_version, verifier.keys = trust["version"], trust["keys"]
    for envelope in json.loads((cache / "status.json").read_text()):
        verifier.load_status_list(envelope)  # checked again against the anchor
    return verifier


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verifier")
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("fetch", help="download the trust list and status lists (online)")
    get.add_argument("--hub", required=True)
    get.add_argument("--anchor", required=True, help="the trust anchor's key id, pinned out of band")
    get.add_argument("--cache", type=Path, default=Path("verifier-cache"))
    check = commands.add_parser("check", help="check a token against the cache (offline)")
    check.add_argument("token")
    check.add_argument("--cache", type=Path, default=Path("verifier-cache"))
    args = parser.parse_args(argv)
    if args.command == "fetch":
        print(json.dumps(fetch(args.hub, args.anchor, args.cache)))
        return 0
    result = load(args.cache).verify(args.token)
    print(json.dumps(result.__dict__, ensure_ascii=False))
    return 0 if result.result == "valid" else 1


if __name__ == "__main__":
    sys.exit(main())
