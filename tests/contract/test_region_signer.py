"""The region-signing contract, hub side (adapters/health/region_signer.py) against the region side
(the department stub playing Zhejiang's signing service, adapters/departments/stub/health_signer.py),
over real HTTP: Zhejiang keeps its health-code key; the hub sends what to sign and what it means,
the region signs only what it would have decided itself, and anything but a signature is an error
the hub can tell apart — refused (UpstreamRejected) or unreachable (UpstreamUnavailable)."""
from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import cbor2
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

from adapters.health.region_signer import HttpRegionSigner
from domain.health import hcert
from domain.shared.errors import UpstreamRejected, UpstreamUnavailable
from tests.support.department_stub import DEVKEYS, NODE, NODE_PUBLIC_KEY, HubDouble, running_stub
from verifier import hcert as verifier

CERTIFICATE = x509.load_pem_x509_certificate((DEVKEYS / "health_zhejiang_cert.pem").read_bytes())
KID = hcert.kid_of(CERTIFICATE.public_bytes(Encoding.DER))
ISSUED_AT = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
NO_ENDPOINT = "shanghai-platform"


@pytest.fixture(scope="module")
def stub():
    with running_stub(review=False) as running:  # plays zj-platform, the default node
        yield running


def _reset(stub) -> None:
    httpx.post(f"{stub.url}/_stub/reset", timeout=5).raise_for_status()  # and the fault switch
    httpx.post(f"{stub.url}/_stub/health/reset", timeout=5).raise_for_status()


@pytest.fixture
async def signer(resources, stub) -> HttpRegionSigner:
    _reset(stub)
    for code, region, endpoint in ((NODE, "330000000000", stub.endpoint()),
                                   (NO_ENDPOINT, "310000000000", None)):
        await resources.nodes.register(code=code, kind="province", name=f"测试平台 {code}", region_code=region,
                                       public_key_pem=NODE_PUBLIC_KEY.read_text(), endpoint_url=endpoint)
    return HttpRegionSigner(nodes=resources.nodes, client_factory=resources.node_client_factory,
                            retry_delays=(0.05,))


def _pass(region: str = "330000", colour: str = "green") -> hcert.HealthPass:
    return hcert.HealthPass(region=region, colour=colour, masked_name="王*",
                            credential_id=f"URN:HC:{region}:{'ab' * 16}", valid_from=ISSUED_AT,
                            valid_until=ISSUED_AT + timedelta(days=1))


def _request(health: hcert.HealthPass | None = None, *, kid: bytes = KID, alg: int = -7) -> dict:
    """What the hub sends for one code: the keyword arguments of RegionSigner.sign."""
    health = health or _pass()
    protected = cbor2.dumps({hcert.ALG: alg, hcert.KID: kid})
    payload = cbor2.dumps(hcert.build_claims(health, issued_at=ISSUED_AT))
    return {"node_code": NODE, "kid_hex": kid.hex(), "alg": "ES256", "protected": protected,
            "payload": payload,
            "health_pass": hcert.build_health_pass(health)}


def _signatures(stub, outcome: str | None = None) -> list[dict]:
    params = {"outcome": outcome} if outcome else {}
    return httpx.get(f"{stub.url}/_stub/health/signatures", params=params, timeout=5).json()["signatures"]


async def test_the_region_signs_with_its_own_key_and_the_code_verifies_with_its_certificate(signer, stub):
    asked = _request()
    signature = await signer.sign(**asked)

    assert len(signature) == 64  # r || s, never DER
    message = hcert.sig_structure(asked["protected"], asked["payload"])
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    CERTIFICATE.public_key().verify(der, message, ec.ECDSA(hashes.SHA256()))  # raises if it does not
    # and the whole credential, as a checkpoint anywhere reads it (the stand-alone verifier)
    sign1 = [asked["protected"], {}, asked["payload"], signature]
    cose = cbor2.dumps(cbor2.CBORTag(hcert.COSE_SIGN1_TAG, sign1))
    verified = verifier.verify(hcert.encode(cose), trusted={KID: CERTIFICATE},
                               at=ISSUED_AT + timedelta(hours=1))
    assert (verified.kid, verified.alg, verified.issuer) == (KID, "ES256", "330000")
    assert verified.content == asked["health_pass"]

    [signed] = _signatures(stub)
    assert (signed["node"], signed["kid"], signed["outcome"], signed["credential_id"], signed["colour"]) == (
        NODE, KID.hex(), "signed", asked["health_pass"]["id"], "green")
    assert base64.b64decode(signed["signature"]) == signature


def test_the_devkey_certificate_is_zhejiangs_and_its_kid_is_known_to_the_stub(stub):
    subject = {a.oid._name: a.value for a in CERTIFICATE.subject}
    assert subject == {"countryName": "CN", "stateOrProvinceName": "Zhejiang", "organizationName": "浙江政务服务网",
                       "commonName": "浙江省健康码签发"}
    assert (CERTIFICATE.not_valid_before_utc, CERTIFICATE.not_valid_after_utc) == (
        datetime(2025, 1, 1, tzinfo=UTC), datetime(2035, 12, 31, 23, 59, 59, tzinfo=UTC))
    [key] = httpx.get(f"{stub.url}/_stub/health/keys", timeout=5).json()["keys"]
    assert (key["node"], key["region"], key["alg"], key["kid_hex"]) == (NODE, "330000", "ES256", KID.hex())


def _tampered() -> dict:
    """The pass says green; the CWT the region would sign says red."""
    asked = _request(_pass(colour="red"))
    return {**asked, "health_pass": {**asked["health_pass"], "col": "green"}}


def _other_region() -> dict:
    return _request(_pass(region="310000"))  # a Shanghai pass, consistent in itself


REFUSALS = {
    "pass_mismatch": _tampered,
    "unknown_kid": lambda: {**_request(), "kid_hex": "00" * 8},
    # the request names the key, the protected header another one
    "header_mismatch": lambda: {**_request(kid=b"\x00" * 8), "kid_hex": KID.hex()},
    "alg_mismatch": lambda: {**_request(), "alg": "PS256"},
    "wrong_region": _other_region,
}


@pytest.mark.parametrize("reason", sorted(REFUSALS))
async def test_the_region_refuses_what_it_did_not_decide(signer, stub, reason):
    with pytest.raises(UpstreamRejected) as refused:
        await signer.sign(**REFUSALS[reason]())
    assert refused.value.system == NODE and refused.value.upstream_code == "http-422"
    assert [(r["outcome"], r["reason"]) for r in _signatures(stub)] == [("refused", reason)]  # asked once


async def test_an_unsigned_or_foreign_request_is_refused(stub):
    _reset(stub)
    asked = _request()
    body = {"kid": KID.hex(), "alg": "ES256", "protected": base64.b64encode(asked["protected"]).decode(),
            "payload": base64.b64encode(asked["payload"]).decode(), "health_pass": asked["health_pass"]}
    answer = httpx.post(f"{stub.endpoint()}/health/sign", json=body, timeout=5)
    assert (answer.status_code, answer.json()["code"]) == (401, "signature_missing")
    answer = httpx.post(f"{stub.endpoint('bj-psb')}/health/sign", json=body, timeout=5)
    assert (answer.status_code, answer.json()["code"]) == (404, "node_not_here")  # a region it does not play
    assert _signatures(stub) == []


async def test_a_region_that_cannot_answer_is_unavailable_never_a_refusal(signer, stub):
    stub.fault("5xx", count=2)  # the attempt and its one retry
    with pytest.raises(UpstreamUnavailable):
        await signer.sign(**_request())
    stub.fault("429", count=2)
    with pytest.raises(UpstreamUnavailable):
        await signer.sign(**_request())
    stub.fault("down", count=1)  # one dropped connection: the quick retry signs
    assert len(await signer.sign(**_request())) == 64
    stub.clear_fault()
    stub.stop()
    try:
        with pytest.raises(UpstreamUnavailable):
            await signer.sign(**_request())
    finally:
        stub.start()
    assert len(await signer.sign(**_request())) == 64  # back up


async def test_a_region_with_no_endpoint_is_unavailable(signer):
    for code in (NO_ENDPOINT, "nowhere-platform"):  # registered without an endpoint; not registered at all
        with pytest.raises(UpstreamUnavailable):
            await signer.sign(**{**_request(), "node_code": code})


async def test_an_answer_without_a_signature_is_unavailable(resources, signer):
    async with HubDouble() as region:  # answers 200 {"status": "ok"}: no signature in it
        await resources.nodes.set_endpoint(code=NODE, endpoint_url=region.url)
        with pytest.raises(UpstreamUnavailable) as unreadable:
            await signer.sign(**_request())
    assert unreadable.value.upstream_code == "unreadable"
    [(method, target, headers, _)] = region.received
    assert (method, target, headers["x-gov-node"]) == ("POST", "/health/sign", "govhub")
