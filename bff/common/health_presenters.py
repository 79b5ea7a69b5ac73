"""Health codes' views as the routes answer them."""
from __future__ import annotations

from bff.common.health_schemas import CodeOut, KeyOut, RecordOut
from bff.common.license_presenters import when
from bff.common.schemas import shaped
from domain.health.service import CodeView, KeyView, RecordView


@shaped(KeyOut)
def key(view: KeyView) -> dict:
    return {"kid": view.kid, "region": view.region, "node": view.node_code, "alg": view.alg,
            "certificate": view.certificate, "credential_types": list(view.credential_types),
            "valid_from": when(view.valid_from), "valid_until": when(view.valid_until),
            "delegated": view.delegated, "status": view.status,
            "revoked_at": when(view.revoked_at), "seq": view.seq}


@shaped(RecordOut)
def record(view: RecordView) -> dict:
    return {"kind": view.kind, "source": view.source, "region": view.region,
            "occurred_at": when(view.occurred_at), "content": view.content}


@shaped(CodeOut)
def code(view: CodeView) -> dict:
    return {"credential": view.credential, "credential_id": view.credential_id, "region": view.region,
            "colour": view.colour, "reasons": list(view.reasons), "issued_at": when(view.issued_at),
            "valid_until": when(view.valid_until), "revoked": view.revoked}
