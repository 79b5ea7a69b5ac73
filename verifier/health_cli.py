"""``python -m verifier health-fetch|health-check|health-import`` (registered by ``verifier/__main__.py``).

    health-fetch --hub URL            download the anchor (if not cached) and bring the three health
                                      lists up to date (online)
    health-check HC1 --region R       decide on a code at a checkpoint of region R (offline), printed
                [--at ISO]            as JSON; exit 0 accepted, 1 refused or invalid, 2 cache invalid
    health-import FILE --region R     trust a signer certificate (PEM or DER) by hand
                [--types T,..] [--valid-until ISO]

Each also takes ``--anchor FINGERPRINT`` (or $GOVHUB_TRUST_ANCHOR) and ``--cache DIR``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import datetime
from pathlib import Path

from verifier import health_cache
from verifier.cache import CacheInvalid
from verifier.health import REVOCATIONS, RULES, TRUST, HealthVerifier
from verifier.health_entries import REGION
from verifier.offline import AnchorMismatch

PATHS = {TRUST: "/public/v1/health/trust-list", RULES: "/public/v1/health/rules",
         REVOCATIONS: "/public/v1/health/revocations"}
LIMIT = 200  # entries a page
MAX_PAGES = 10_000  # a list needing more pages than this in one fetch is not followed further
MAX_HELD_PAGES = 64  # more pages held than this (and than twice a fresh download needs): downloaded afresh


def register(commands) -> list[argparse.ArgumentParser]:
    """Add the health commands to ``commands`` (argparse sub-parsers); each runs through ``args.run``."""
    get = commands.add_parser("health-fetch", help="download the health trust list, rules, revocations (online)")
    get.add_argument("--hub", required=True)
    get.set_defaults(run=fetch_command)
    check = commands.add_parser("health-check", help="check an HC1 health code at a checkpoint (offline)")
    check.add_argument("hc1")
    check.add_argument("--region", required=True, type=_region, help="the checkpoint's 6-digit region code")
    check.add_argument("--at", type=_moment, help="the moment to check at, ISO 8601 with a zone (default: now)")
    check.set_defaults(run=check_command)
    imported = commands.add_parser("health-import", help="trust a health-code signer certificate by hand")
    imported.add_argument("file", type=Path)
    imported.add_argument("--region", required=True, type=_region, help="the region the signer issues for")
    imported.add_argument("--types", default="health_code", help="credential types it may sign, comma-separated")
    imported.add_argument("--valid-until", type=_moment, help="trust it no later than this (ISO 8601 with a zone)")
    imported.set_defaults(run=import_command)
    return [get, check, imported]


def _region(text: str) -> str:
    if not REGION.fullmatch(text):
        raise argparse.ArgumentTypeError("a region is a 6-digit division code, e.g. 110000")
    return text


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 moment: {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the moment's zone, e.g. 2026-12-06T08:00:00Z")
    return moment


def fetch(hub: str, pin: str, cache: Path, *, log=None) -> dict:
    """Bring the cached health lists up to date from ``hub``: the anchor first (downloaded if not
    cached, checked against ``pin``), then each list from the seq held, page after page."""
    import httpx

    log = log or (lambda line: print(line, file=sys.stderr))
    with httpx.Client(base_url=hub.rstrip("/"), timeout=10) as http:
        verifier = _held(cache, pin, log)
        if verifier is None:
            anchor = http.get("/public/v1/trust-anchor").raise_for_status().json()
            try:
                verifier = HealthVerifier(anchor=anchor, pin=pin)
            except AnchorMismatch as exc:
                raise SystemExit(f"refusing the hub's trust anchor: {exc}") from None
        for name, path in PATHS.items():
            if len(verifier.envelopes[name]) > max(MAX_HELD_PAGES, 2 * math.ceil(len(verifier.entries[name]) / LIMIT)):
                verifier.reset(name)  # too many small deltas held: one fresh download instead
            _follow(http, verifier, name, path)
    health_cache.save_lists(cache, verifier)
    return {name: {"seq": verifier.held_seq[name], "entries": len(verifier.entries[name])} for name in PATHS}


def _held(cache: Path, pin: str, log) -> HealthVerifier | None:
    """The cached anchor and lists, or None (no anchor, or not the pinned one: download it); lists
    failing their check are dropped and downloaded afresh."""
    try:
        verifier = health_cache.load_anchor(cache, pin)
    except CacheInvalid:
        return None
    try:
        health_cache.load_lists(cache, verifier, required=False)
    except CacheInvalid as bad:
        log(f"discarding the cached health lists ({bad}); downloading afresh")
        verifier = health_cache.load_anchor(cache, pin)
    return verifier


def _follow(http, verifier: HealthVerifier, name: str, path: str) -> None:
    loader = {TRUST: verifier.load_trust_list, RULES: verifier.load_rules,
              REVOCATIONS: verifier.load_revocations}[name]
    since = verifier.held_seq[name]
    for _ in range(MAX_PAGES):
        envelope = http.get(path, params={"since": since, "limit": LIMIT}).raise_for_status().json()
        try:
            loader(envelope)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SystemExit(f"refusing the hub's {path}: {exc}") from None
        payload = envelope["payload"]
        if not payload.get("more"):
            return
        if payload["next_since"] <= since:
            raise SystemExit(f"refusing the hub's {path}: its pages do not move forward")
        since = payload["next_since"]
    raise SystemExit(f"{path}: more than {MAX_PAGES} pages in one fetch; try again")


def fetch_command(args) -> int:
    print(json.dumps(fetch(args.hub, args.anchor, args.cache)))
    return 0


def _cache_invalid(bad: CacheInvalid) -> int:
    print(json.dumps({"result": "cache_invalid", "reason": str(bad)}, ensure_ascii=False))
    print("the cache fails its check against the pinned anchor: run `python -m verifier health-fetch` again",
          file=sys.stderr)
    return 2


def check_command(args) -> int:
    try:
        verifier = health_cache.load(args.cache, args.anchor)
    except CacheInvalid as bad:
        return _cache_invalid(bad)
    decision = verifier.verify(args.hc1, checkpoint_region=args.region, at=args.at)
    print(json.dumps(decision.as_dict(), ensure_ascii=False))
    return 0 if decision.result == "accepted" else 1


def import_command(args) -> int:
    try:
        verifier = health_cache.load_anchor(args.cache, args.anchor)
        health_cache.load_imported(args.cache, verifier)
    except CacheInvalid as bad:
        return _cache_invalid(bad)
    types = tuple(each.strip() for each in args.types.split(",") if each.strip())
    try:
        kid = verifier.import_certificate(args.file, region=args.region, credential_types=types,
                                          valid_until=args.valid_until)
    except (OSError, ValueError) as exc:
        print(f"not imported: {exc}", file=sys.stderr)
        return 1
    health_cache.save_imported(args.cache, verifier)
    entry = verifier.imported[bytes.fromhex(kid)]
    print(json.dumps({key: entry[key] for key in ("kid_hex", "region", "alg", "credential_types", "valid_from",
                                                   "valid_until", "source")}, ensure_ascii=False))
    return 0
