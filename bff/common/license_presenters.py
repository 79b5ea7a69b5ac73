"""License results as JSON: times in Asia/Shanghai ISO 8601, ``type`` for the type code."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from bff.common.license_schemas import LicenseCardOut, LicenseOut
from bff.common.schemas import shaped
from domain.licenses.exchange import ConsentView, Release
from domain.licenses.presentations import Verification
from domain.licenses.service import AccessView, GuardedLicense, LicenseDetail, LicenseEventView, LicenseSummary
from domain.shared.clock import SHANGHAI


def when(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat() if moment else None


@shaped(LicenseOut)
def license_summary(item: LicenseSummary) -> dict:
    return {"id": item.id, "type": item.type_code, "type_name": item.type_name, "holder_kind": item.holder_kind,
            "number": item.number, "issuer": item.issuer_department, "status": item.status,
            "status_code": item.status_code, "valid_from": when(item.valid_from),
            "valid_until": when(item.valid_until), "issued_at": when(item.issued_at)}


@shaped(LicenseCardOut)
def license_compact(item: LicenseSummary) -> dict:
    """Mini-programs: what a wallet card shows."""
    return {key: value for key, value in license_summary(item).items()
            if key in ("id", "type", "type_name", "status", "status_code", "valid_until", "issuer")}


def guarded(item: GuardedLicense, summary: Callable[[LicenseSummary], dict]) -> dict:
    """A child's license in the guardian's wallet, in the channel's card shape, marked as the child's."""
    return {**summary(item.summary), "held_by": "minor",
            "holder": {"name": item.holder_name, "id_number": item.holder_id_number}}


def license_detail(detail: LicenseDetail) -> dict:
    return {**license_summary(detail.summary), "data": detail.data, "masked": detail.masked,
            "sensitive_fields": list(detail.sensitive)}


def event(item: LicenseEventView) -> dict:
    return {"at": when(item.at), "action": item.action, "status_from": item.status_from,
            "status_to": item.status_to, "reason": item.reason, "actor": item.actor}


def access(item: AccessView) -> dict:
    return {"seq": item.seq, "at": when(item.at), "license_id": item.license_id, "type": item.type_code,
            "actor_kind": item.actor_kind, "actor": item.actor, "action": item.action, "purpose": item.purpose,
            "outcome": item.outcome, "hash": item.hash, "prev_hash": item.prev_hash}


def consent(item: ConsentView) -> dict:
    return {"id": item.id, "department": item.department, "type": item.type_code, "type_name": item.type_name,
            "purpose": item.purpose, "kind": item.kind, "status": item.status, "created_at": when(item.created_at),
            "granted_at": when(item.granted_at), "expires_at": when(item.expires_at),
            "used_at": when(item.used_at), "revoked_at": when(item.revoked_at)}


def verification(item: Verification) -> dict:
    return {"result": item.result, "reason": item.reason, "type": item.type_code, "type_name": item.type_name,
            "issuer": item.issuer, "fields": item.fields, "issued_at": when(item.issued_at),
            "expires_at": when(item.expires_at)}


def release(item: Release) -> dict:
    return {"license": license_summary(item.license), "data": item.data, "document": item.document,
            "stamp": item.stamp, "disclosures": item.disclosures, "basis": item.basis,
            "withheld": list(item.withheld)}
