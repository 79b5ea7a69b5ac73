"""Departments that issue licenses, for tests: a registered node with its key, and its seals."""
from __future__ import annotations

import json
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from domain.licenses.catalog import license_type
from domain.nodes import signatures
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
    await resources.services["nodes"].register(code=node, kind="department", name=f"{node} 部门",
                                               region_code="110000000000",
                                               public_key_pem=signatures.public_key_pem(key.public_key()))
    seal = await resources.services["seals"].create(code=f"seal-{node}", department_code=department_code,
                                                   department_kind=kind, node_code=node, name=f"{node} 电子印章",
                                                   algorithm=algorithm)
    return Department(node=node, key=key, seal_code=seal.code)


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
