"""Trust is typed (issue #12, item 4): a seal is bound to its department and the license types it may
sign, the trust list says so, and both verifiers — online (PresentationService.verify) and offline
(verifier/) — refuse a token signed outside that binding, or by a seal outside its validity; online,
a presentation id is good only for the very token the hub made for it. Honest tokens of every type
in the catalog still verify both ways."""
from __future__ import annotations

from datetime import timedelta

import pytest

from domain.licenses import disclosure
from domain.licenses.catalog import license_type, license_types
from domain.licenses.errors import IssuerNotAllowed
from domain.licenses.models import License
from domain.licenses.presentations import PresentationService
from domain.licenses.service import LicenseService
from domain.seals.errors import SealInvalid, SealUnusable
from domain.seals.service import PLATFORM_SEAL
from domain.shared.clock import FrozenClock
from tests.support.clock import suite_clock
from tests.support.licenses import PSB, PSB_DEPARTMENT, department, example, forged_stamp, forged_token
from verifier.offline import OfflineVerifier

ALICE_ID, BOB_ID = "110105199003070017", "330106198805120023"
MARKET = "zj-market"
MARKET_DEPARTMENT = "330000-market_supervision"
L3 = 3


class Holders:
    async def id_number_of(self, person_id: str) -> str | None:
        return {"p-alice": ALICE_ID, "p-bob": BOB_ID}.get(person_id)


@pytest.fixture
async def hub(resources):
    clock, seals = FrozenClock(suite_clock.now()), resources.seals
    seals._clock = clock  # the same seal service, on the clock the test moves
    licenses = LicenseService(vault=resources.vault, clock=clock, seals=seals, holders=Holders())
    yield type("Hub", (), dict(clock=clock, seals=seals, licenses=licenses, vault=resources.vault,
                               shows=PresentationService(licenses=licenses, seals=seals, clock=clock)))
    seals._clock = resources.clock


@pytest.fixture
async def psb_and_market(resources, hub):
    await department(resources)
    await department(resources, node=MARKET, department_code=MARKET_DEPARTMENT, kind="market_supervision",
                     algorithm="ES256")


async def _offline(hub, token: str) -> OfflineVerifier:
    anchor = await hub.seals.ensure_platform_seal()
    verifier = OfflineVerifier(anchor={"key_id": anchor.key_id, "algorithm": anchor.algorithm,
                                       "public_key_pem": anchor.public_key_pem}, pin=anchor.fingerprint)
    verifier.load_trust_list(await hub.seals.trust_list())
    verifier.load_status_list(await hub.shows.status_list(disclosure.parse(token).payload["st"][0]))
    return verifier


async def _real_showing(hub) -> tuple[str, dict]:
    """Alice's ID card shown for real: its token and payload (the attacker reuses its id)."""
    issued = await hub.licenses.issue(node=PSB, type_code="resident_id_card", number="ID-1",
                                      data=example("resident_id_card"))
    made = await hub.shows.present(person_id="p-alice", license_id=issued.id, fields=["name"], assurance=L3)
    return made.token, disclosure.parse(made.token).payload


async def test_a_seal_is_bound_to_its_kinds_types_and_the_trust_list_says_so(hub, psb_and_market):
    market = await hub.seals.get("seal-zj-market")
    assert set(market.license_types) == {"business_license", "individual_business_license",
                                         "food_business_license", "drug_business_license"}
    with pytest.raises(SealInvalid) as refused:  # a market seal may never be bound to an ID card
        await hub.seals.create(code="seal-odd", department_code=MARKET_DEPARTMENT, department_kind="market_supervision",
                               node_code=MARKET, name="越权印章", license_types=["resident_id_card"])
    assert refused.value.extra["errors"][0]["field"] == "license_types"
    narrow = await hub.seals.create(code="seal-narrow", department_code=PSB_DEPARTMENT,
                                    department_kind="public_security", node_code=PSB, name="仅驾驶证",
                                    license_types=["driving_license"])
    entries = {e["seal_id"]: e for e in (await hub.seals.trust_list())["payload"]["entries"]}
    assert entries["seal-narrow"]["license_types"] == ["driving_license"]
    assert entries["seal-narrow"]["department_code"] == PSB_DEPARTMENT and entries["seal-narrow"]["node_code"] == PSB
    assert entries[PLATFORM_SEAL]["license_types"] == []
    assert narrow.fingerprint.startswith(narrow.key_id) and len(narrow.fingerprint) == 64


async def test_the_hub_signs_nothing_outside_a_seals_binding(hub, psb_and_market):
    with pytest.raises(SealUnusable):
        await hub.seals.sign_bytes("seal-zj-market", b"GHP1.x", license_type="resident_id_card")
    with pytest.raises(SealUnusable):
        await hub.seals.seal_document(seal_code="seal-zj-market", document=b"{}",
                                      properties={"license_id": "lic_x", "type": "resident_id_card"})
    with pytest.raises(IssuerNotAllowed):  # the market node cannot issue an ID card with it
        await hub.licenses.issue(node=MARKET, type_code="resident_id_card", number="ID-9",
                                 data=example("resident_id_card"))


@pytest.mark.parametrize("issuer, reason", [(PSB_DEPARTMENT, "seal_not_for_issuer"),
                                            (MARKET_DEPARTMENT, "seal_not_for_type")])
async def test_a_market_seal_signing_an_id_card_verifies_nowhere(hub, psb_and_market, issuer, reason):
    """The attack of the issue: a market-supervision seal's key signs a "resident ID card" from public
    security, carrying the presentation id of a real showing."""
    _, real = await _real_showing(hub)
    market = await hub.seals.get("seal-zj-market")
    token = await forged_token(hub.vault, "seal-zj-market", {**real, "iss": issuer, "kid": market.key_id},
                               {"name": "王强", "id_number": BOB_ID})
    verifier = await _offline(hub, token)
    offline = verifier.verify(token, now=hub.clock.now())
    assert (offline.result, offline.reason) == ("invalid", reason)
    online = await hub.shows.verify(token, actor_kind="verifier", actor="test")
    assert (online.result, online.reason) == ("invalid", reason) and online.fields is None


async def test_another_departments_seal_of_the_same_kind_is_not_the_issuer(hub, psb_and_market, resources):
    _, real = await _real_showing(hub)
    await department(resources, node="sh-psb", department_code="310000-public_security")
    other = await hub.seals.get("seal-sh-psb")
    token = await forged_token(hub.vault, "seal-sh-psb", {**real, "kid": other.key_id}, {"name": "王强"})
    assert (await _offline(hub, token)).verify(token, now=hub.clock.now()).reason == "seal_not_for_issuer"
    assert (await hub.shows.verify(token, actor_kind="verifier", actor="t")).reason == "seal_not_for_issuer"


async def test_a_real_showings_id_is_good_for_its_own_token_only(hub, psb_and_market):
    """Even with the right seal's key, a payload the hub did not make for that id is refused online."""
    honest, real = await _real_showing(hub)
    token = await forged_token(hub.vault, "seal-bj-psb", real, {"name": "王强", "id_number": BOB_ID})
    checked = await hub.shows.verify(token, actor_kind="verifier", actor="t")
    assert (checked.result, checked.reason) == ("invalid", "presentation_mismatch")
    assert (await hub.shows.verify(honest, actor_kind="verifier", actor="t")).result == "valid"  # not used up


async def test_a_seal_vouches_only_within_its_validity(hub, psb_and_market):
    honest, real = await _real_showing(hub)
    offline = await _offline(hub, honest)
    seal = await hub.seals.get("seal-bj-psb")
    late = int((seal.valid_until + timedelta(seconds=10)).timestamp())
    token = await forged_token(hub.vault, "seal-bj-psb", {**real, "iat": late, "exp": late + 180}, {"name": "张丽"})
    hub.clock.advance(late - hub.clock.now().timestamp() + 1)
    assert offline.verify(token, now=hub.clock.now()).reason == "issuer_key_not_valid_then"
    assert (await hub.shows.verify(token, actor_kind="verifier", actor="t")).reason == "seal_expired"


async def test_a_stamp_by_a_seal_not_bound_to_the_type_does_not_verify(hub, psb_and_market):
    issued = await hub.licenses.issue(node=MARKET, type_code="individual_business_license", number="IBL-1",
                                      data=example("individual_business_license"))
    row = await License.get(public_id=issued.id)
    assert (await hub.seals.verify_document(document=row.document.encode(), stamp=row.stamp)).valid
    stamp = await forged_stamp(hub.vault, "seal-bj-psb", row.document.encode(),
                               {"license_id": issued.id, "type": "individual_business_license"})
    verdict = await hub.seals.verify_document(document=row.document.encode(), stamp=stamp)
    assert (verdict.valid, verdict.reason) == (False, "seal_not_for_issuer")  # a market bureau's license
    psb = await hub.licenses.issue(node=PSB, type_code="resident_id_card", number="ID-2",
                                   data=example("resident_id_card"))
    document = (await License.get(public_id=psb.id)).document.encode()
    stamp = await forged_stamp(hub.vault, "seal-bj-psb", document, {"license_id": psb.id, "type": "passport"})
    verdict = await hub.seals.verify_document(document=document, stamp=stamp)
    assert (verdict.valid, verdict.reason) == (False, "seal_not_for_type")  # not a type the seal may sign


async def test_honest_tokens_of_every_license_type_verify_online_and_offline(hub, resources):
    nodes = {}
    for index, kind in enumerate(sorted({t.issuer_kind for t in license_types().values()})):
        node = f"n-{index}"
        await department(resources, node=node, department_code=f"110000-{kind}", kind=kind,
                         algorithm=("SM2-SM3", "ES256")[index % 2])
        nodes[kind] = node
    tokens = {}
    for code, kind in license_types().items():
        data = example(code)
        issued = await hub.licenses.issue(node=nodes[kind.issuer_kind], type_code=code, number=f"N-{code}", data=data)
        person = "p-alice" if data[kind.wallet_field] == ALICE_ID else "p-bob"
        shown = list(data)[:2]
        made = await hub.shows.present(person_id=person, license_id=issued.id, fields=shown, assurance=L3)
        tokens[code] = (made.token, {field: data[field] for field in shown})
    verifier = await _offline(hub, next(iter(tokens.values()))[0])
    for code, (token, fields) in tokens.items():
        offline = verifier.verify(token, now=hub.clock.now())
        assert (offline.result, offline.fields, offline.license_type) == ("valid", fields, code), offline
        online = await hub.shows.verify(token, actor_kind="verifier", actor="t")
        assert (online.result, online.fields, online.type_code) == ("valid", fields, code), online
    assert len(tokens) == len(license_types()) and license_type("passport").issuer_kind in nodes
