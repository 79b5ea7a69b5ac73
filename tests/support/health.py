"""Health codes' test world on the hub's side: a health service on a frozen clock, the regions'
demo rules in CertLogic, and an offline verifier fed with exactly the pages the hub publishes."""
from __future__ import annotations

from datetime import datetime, timedelta

from adapters.health.checker import VerifierChecker
from domain.health import feeds
from domain.health.demo import (  # noqa: F401  (the tests' rules are the demo's)
    BJ,
    RECENT_TEST,
    RISK_AREAS,
    ZJ,
    ZJ_YELLOW_IS_RED,
    publish_making_rules,
    rule,
)
from domain.health.service import FeedAsk, HealthService
from domain.shared.clock import FrozenClock
from verifier.health import HealthVerifier
from verifier.offline import fingerprint

RISK_AREA = RISK_AREAS[0]


class Node:
    """A node as the health service sees a caller (``NodeIdentity``'s fields)."""

    def __init__(self, code: str, kind: str, region_code: str) -> None:
        self.code, self.kind, self.region_code = code, kind, region_code


ZJ_NODE = Node("zj-platform", "province", "330000000000")
BJ_NODE = Node("beijing-platform", "province", "110000000000")
BJ_PSB = Node("bj-psb", "department", "110000000000")


class People:
    """identity.reveal for the tests' citizens: their own name and ID number."""

    def __init__(self, **people: dict[str, str]) -> None:
        self.people = people

    async def reveal(self, *, person_id: str) -> dict[str, str]:
        return {"name": self.people[person_id]["name"], "id_number": self.people[person_id]["id_number"]}


def health_service(resources, clock: FrozenClock, identity, region_signer=None, **options) -> HealthService:
    return HealthService(clock=clock, vault=resources.vault, seals=resources.seals, identity=identity,
                         sharing=resources.sharing,
                         region_signer=region_signer, checker=VerifierChecker(),
                         code_lifetime=options.get("code_lifetime", timedelta(hours=24)),
                         rule_lead=options.get("rule_lead", timedelta(hours=48)))


async def making_rules(health: HealthService, node: Node, start: datetime) -> None:
    await publish_making_rules(health, node, start)


async def offline_verifier(health: HealthService, resources) -> HealthVerifier:
    """A verifier that downloaded everything the hub publishes now, page by page, from the start."""
    anchor = await resources.seals.ensure_platform_seal()
    held = {"key_id": anchor.key_id, "algorithm": anchor.algorithm, "public_key_pem": anchor.public_key_pem}
    verifier = HealthVerifier(anchor=held, pin=fingerprint(anchor.public_key_pem))
    loaders = {feeds.TRUST: verifier.load_trust_list, feeds.RULES: verifier.load_rules,
               feeds.REVOCATIONS: verifier.load_revocations}
    for name, load in loaders.items():
        since = None
        while True:
            page = await health.list_page(name, FeedAsk(since=since, limit=2))
            load(page)
            if not page["payload"]["more"]:
                break
            since = page["payload"]["next_since"]
    return verifier


async def named(client, mock_url: str, user: str, who: dict) -> dict:
    """A WeChat session with real name (L2): tokens carry the level they were issued at, so refreshed."""
    from tests.support.citizens import login_wechat, verify_real_name

    session = await login_wechat(client, mock_url, user)
    answer = await verify_real_name(client, "/wx/v1", session, who)
    assert answer.status_code == 200, answer.text
    refreshed = await client.post("/wx/v1/session/refresh", json={"refresh_token": session["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    return refreshed.json()
