"""Departments that issue licenses, for tests: a registered node with its key, and its seals."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from domain.licenses import disclosure
from domain.licenses.catalog import license_type
from domain.nodes import signatures
from domain.seals import crypto
from domain.seals import rules as seal_rules
from domain.seals.models import Seal
from domain.seals.service import PRIVATE_KEY
from tests.support.clock import suite_clock

PSB = "bj-psb"  # 北京市公安局's node
PSB_DEPARTMENT = "110000-public_security"
CIVIL = "bj-civil"
CIVIL_DEPARTMENT = "110000-civil_affairs"


@dataclass
class Department:
    node: str
    key: ec.EllipticCurvePrivateKey
    seal_code: str


async def department(resources, *, node: str = PSB, department_code: str = PSB_DEPARTMENT,
                     kind: str = "public_security", algorithm: str = "SM2-SM3") -> Department:
    key = ec.generate_private_key(ec.SECP256R1())
    await resources.nodes.register(code=node, kind="department", name=f"{node} 部门",
                                               region_code="110000000000",
                                               public_key_pem=signatures.public_key_pem(key.public_key()))
    seal = await resources.seals.create(code=f"seal-{node}", department_code=department_code,
                                                   department_kind=kind, node_code=node, name=f"{node} 电子印章",
                                                   algorithm=algorithm)
    return Department(node=node, key=key, seal_code=seal.code)


async def anchor_pin(resources) -> str:
    """The trust anchor's fingerprint as a verifier's operator learns it: from the hub's own registry
    (``govhub seals anchor``), not from the hub's HTTP answer."""
    return (await resources.seals.ensure_platform_seal()).fingerprint


def example(type_code: str, **changes) -> dict:
    return {**license_type(type_code).example, **changes}


async def signed(client, dept: Department, method: str, path: str, body: dict | None = None):
    """Call /gov/v1 as the department's node would."""
    raw = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
    request = client.build_request(method, path, content=raw,
                                   headers={"Content-Type": "application/json"} if raw else {})
    target, _, query = request.url.raw_path.decode().partition("?")
    request.headers.update(signatures.signed_headers(private_key=dept.key, node=dept.node, method=method,
                                                     path=target, query_string=query, body=raw,
                                                     timestamp=int(suite_clock.timestamp())))
    return await client.send(request)


async def issue(client, dept: Department, type_code: str = "resident_id_card", number: str = "ID-0001",
                **changes) -> dict:
    response = await signed(client, dept, "POST", "/gov/v1/licenses",
                            {"type": type_code, "number": number, "data": example(type_code, **changes)})
    assert response.status_code == 201, response.text
    return response.json()


async def forged_token(vault, seal_code: str, payload: dict, shown: dict) -> str:
    """A GHP1 token signed with a seal's private key itself, as someone who stole the key would sign
    it: the hub's own signing code would refuse what the seal is not bound to. ``payload`` without
    ``sd``: the digests of ``shown`` are added."""
    _, sign = await _stolen(vault, seal_code)
    made = disclosure.make_disclosures(shown)
    text = disclosure.signing_input({**payload, "sd": disclosure.b64u(disclosure.digest_list(made))})
    return disclosure.assemble(text, sign(text.encode("ascii")), list(made.values()))


async def forged_stamp(vault, seal_code: str, document: bytes, properties: dict) -> dict:
    """A stamp (docs/seals.md) over ``document`` signed with a seal's stolen private key."""
    seal, sign = await _stolen(vault, seal_code)
    signed = seal_rules.signed_content(seal_code=seal.code, time=seal.valid_from,
                                       hash_algorithm=crypto.DOCUMENT_HASH[seal.algorithm],
                                       document_hash=crypto.document_digest(seal.algorithm, document),
                                       properties=properties)
    return {"signed": signed, "algorithm": seal.algorithm, "key_id": seal.key_id,
            "signature": base64.b64encode(sign(seal_rules.canonical_json(signed))).decode()}


async def _stolen(vault, seal_code: str):
    seal = await Seal.get(code=seal_code)
    signer = crypto.load_signer(seal.algorithm, vault.open(seal.private_key_sealed, context=PRIVATE_KEY).encode())
    return seal, lambda message: crypto.sign(seal.algorithm, signer, message)
