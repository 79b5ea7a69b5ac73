"""Health codes: offline verifications per second against the raw signature verify of the same
algorithm, in the same run (target ≥ 0.5 of it), and the trust list's delta size after one key change.

The world is the hub's own, built in-process on a fresh SQLite file with the real services: one
delegated signing key per province-level region (31), each region's three making rules and two
checkpoint rules, and revocation batches holding ``--revoked`` hashes. The verifier is the
stand-alone one (verifier/health.py), loaded with exactly the pages the hub publishes. A code is
checked at a Beijing checkpoint, whose rules (a colour mapping and a recent-test acceptance rule)
are in force: the whole decision — Base45, zlib, COSE, the signature, the key's binding and validity,
revocation, CertLogic — against ``cryptography``'s bare ``verify`` of the same Sig_structure (its
parameter objects made once, so the baseline is as fast as the library allows). The two are timed in
alternating slices of a fifth of a second, so that a load on the machine that comes and goes weighs
on both alike; each run's ratio is reported, and the table gives the median run and the range.

    python -m bench.health_bench [--seconds 3] [--runs 3] [--revoked 20000]
"""
from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.servers import ROOT, table, write_results

PROVINCES = ["110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000", "310000", "320000",
             "330000", "340000", "350000", "360000", "370000", "410000", "420000", "430000", "440000", "450000",
             "460000", "500000", "510000", "520000", "530000", "540000", "610000", "620000", "630000", "640000",
             "650000"]
BJ, ZJ = "110000", "330000"


class Province:
    def __init__(self, region: str) -> None:
        self.code, self.kind, self.region_code = f"p{region}", "province", region + "000000"


async def build_world(folder: Path, revoked: int, alg_of: dict[str, str]) -> dict:
    """The hub's services on a fresh database: keys, rules, codes and revocations; the lists' pages."""
    from bff.container import build_hub, close_hub
    from bff.settings import Settings
    from domain.health import demo, feeds
    from domain.health.service import FeedAsk
    from domain.shared.clock import FrozenClock

    url = f"sqlite://{folder / 'health.sqlite3'}"
    hub = await build_hub(Settings(env="test", database_url=url, redis_url="", seed_demo=False,
                                   scheduler_enabled=False, log_level="WARNING", storage_dir=str(folder)))
    try:
        clock = FrozenClock(hub.clock.now())
        health = hub.health
        for part in (health, health.issuers, health.codes, health.rulebook, health.records, health.feeds):
            part._clock = clock
        for region in PROVINCES:
            node = Province(region)
            await health.delegate_key(node, alg=alg_of.get(region, "ES256"), credential_types=["health_code"],
                                      valid_days=365)
            await demo.publish_making_rules(health, node, clock.now())
        start = clock.now() + health.rulebook.lead
        beijing = Province(BJ)
        await health.publish_rule(beijing, demo.rule("CM-110000-0001", "colour-mapping", demo.ZJ_YELLOW_IS_RED,
                                                     "浙江黄码在京按红码管理", start))
        await health.publish_rule(beijing, demo.rule("AR-110000-0001", "acceptance", demo.RECENT_TEST,
                                                     "外地来京人员须持48小时内核酸阴性证明", start))
        clock.advance(health.rulebook.lead.total_seconds() + 60)
        codes = {region: await _code(health, clock, region) for region in (ZJ, "440000")}
        await _revocations(health, clock, revoked)
        pages = {name: await health.feeds.everything(name) for name in (feeds.TRUST, feeds.RULES, feeds.REVOCATIONS)}
        anchor = await hub.seals.ensure_platform_seal()
        full = await health.list_page(feeds.TRUST, FeedAsk())
        seq = full["payload"]["seq"]
        await health.delegate_key(Province(ZJ), alg="ES256", credential_types=["health_code"], valid_days=365)
        delta = await health.list_page(feeds.TRUST, FeedAsk(since=seq))
        return {"codes": codes, "pages": pages, "at": clock.now(), "full": full, "delta": delta,
                "anchor": {"key_id": anchor.key_id, "algorithm": anchor.algorithm,
                           "public_key_pem": anchor.public_key_pem}}
    finally:
        await close_hub(hub)


async def _code(health, clock, region: str) -> str:
    """A green code for one of the stub register's people, with a negative test of an hour ago."""
    from domain.health import hcert, rules

    now = clock.now()
    pass_ = hcert.HealthPass(region=region, colour="green", masked_name="王*",
                             credential_id=rules.new_credential_id(region), valid_from=now,
                             valid_until=now + timedelta(hours=24), last_negative_test=now - timedelta(hours=1))
    text, _key, _health = await health.issuers.sign(region=region, health=pass_, issued_at=now,
                                                    lifetime=timedelta(hours=24))
    return text


async def _revocations(health, clock, count: int) -> None:
    """``count`` revoked codes in batches of 1,000 (hashes of random ids: what the list holds)."""
    import uuid

    from tortoise.transactions import in_transaction

    from domain.health import feeds, rules
    from domain.health.models import RevocationBatch

    for start in range(0, count, 1000):
        hashes = sorted(rules.credential_hash(rules.new_credential_id(ZJ)) for _ in range(min(1000, count - start)))
        async with in_transaction():
            await RevocationBatch.create(batch_id=uuid.uuid4().hex, region=ZJ, hashes=hashes, deleted=False,
                                         expires=clock.now() + timedelta(hours=24), created_at=clock.now(),
                                         seq=await feeds.next_seq(feeds.REVOCATIONS, clock.now()),
                                         changed_at=clock.now())


def verifier_of(world: dict):
    from verifier.health import HealthVerifier
    from verifier.offline import fingerprint

    verifier = HealthVerifier(anchor=world["anchor"], pin=fingerprint(world["anchor"]["public_key_pem"]))
    loaders = {"trust-list": verifier.load_trust_list, "rules": verifier.load_rules,
               "revocations": verifier.load_revocations}
    for name, pages in world["pages"].items():
        for page in pages:
            loaders[name](page)
    return verifier


def raw_verify(verifier, credential: str):
    """cryptography's verify of the same signature over the same Sig_structure: the baseline."""
    import cbor2
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding

    from verifier import cose_keys, hcert

    parts = hcert.decode(credential)
    _entry, certificate, _source = verifier.signer(parts.kid)
    key = certificate.public_key()
    message = cbor2.dumps(["Signature1", parts.protected_bytes, b"", parts.payload])
    if parts.alg == -7:
        der, ecdsa = cose_keys.raw_to_der(parts.signature), ec.ECDSA(hashes.SHA256())
        return lambda: key.verify(der, message, ecdsa)
    pss, sha256 = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
    return lambda: key.verify(parts.signature, message, pss, sha256)


def rate(call, seconds: float) -> float:
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            call()
        done += 50
    return done / (seconds + max(0.0, time.perf_counter() - deadline))


def paired_rates(first, second, seconds: float, slice_seconds: float = 0.2) -> tuple[float, float]:
    """Calls per second of ``first`` and of ``second``, each given ``seconds`` in all, timed in
    alternating slices (a machine shared with other work slows both alike)."""
    done, spent = [0, 0], [0.0, 0.0]
    while spent[0] < seconds or spent[1] < seconds:
        for index, call in enumerate((first, second)):
            start = time.perf_counter()
            deadline = start + slice_seconds
            while time.perf_counter() < deadline:
                for _ in range(20):
                    call()
                done[index] += 20
            spent[index] += time.perf_counter() - start
    return done[0] / spent[0], done[1] / spent[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--revoked", type=int, default=20_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        from bff import database

        database.migrate(f"sqlite://{Path(folder) / 'health.sqlite3'}")  # its own event loop: before ours
        world = asyncio.run(build_world(Path(folder), args.revoked, {"440000": "PS256"}))
    verifier = verifier_of(world)
    rows, runs = [], []
    # Beijing's checkpoints run two rules on a Zhejiang code; Shanghai's publish none
    for region, alg, checkpoint, rules in ((ZJ, "ES256", BJ, 2), ("440000", "PS256", BJ, 2),
                                           (ZJ, "ES256", "310000", 0), ("440000", "PS256", "310000", 0)):
        credential = world["codes"][region]
        decision = verifier.verify(credential, checkpoint_region=checkpoint, at=world["at"])
        assert decision.result == "accepted" and len(decision.rules) == rules, decision
        check = lambda c=credential, p=checkpoint: verifier.verify(c, checkpoint_region=p, at=world["at"])
        bare, case = raw_verify(verifier, credential), f"{alg}, {rules} rules"
        for run in range(args.runs):
            offline, baseline = paired_rates(check, bare, args.seconds)
            runs.append({"case": case, "run": run + 1, "offline_per_s": round(offline),
                         "raw_per_s": round(baseline), "ratio": round(offline / baseline, 3)})
        ordered = sorted((r for r in runs if r["case"] == case), key=lambda r: r["ratio"])
        median = ordered[len(ordered) // 2]
        rows.append([case, median["offline_per_s"], median["raw_per_s"],
                     f"{median['ratio']:.2f} ({ordered[0]['ratio']:.2f}–{ordered[-1]['ratio']:.2f})"])
    sizes = {name: _size(world[name]) for name in ("full", "delta")}
    print(table(["algorithm, checkpoint rules", "offline checks/s", "raw verify/s", "ratio, median (range)"], rows))
    print(f"trust list of {len(world['full']['payload']['entries'])} keys: {sizes['full']['bytes']:,} bytes "
          f"({sizes['full']['gzip']:,} gzipped); delta after one key change: {sizes['delta']['bytes']:,} bytes "
          f"({sizes['delta']['gzip']:,} gzipped); unchanged: 304, no body")
    print(f"revocation hashes held: {sum(len(h) for h in verifier._parsed['revocations'].values()):,}")
    path = write_results("health", {"runs": runs, "trust_list": sizes, "revoked": args.revoked,
                                    "regions": len(PROVINCES), "seconds": args.seconds})
    print(f"results: {path.relative_to(ROOT)}")
    return 0


def _size(envelope: dict) -> dict:
    body = json.dumps(envelope, ensure_ascii=False).encode()
    return {"bytes": len(body), "gzip": len(gzip.compress(body)), "entries": len(envelope["payload"]["entries"])}


if __name__ == "__main__":
    raise SystemExit(main())
