"""Data sharing's views as JSON (bff/common/sharing_schemas.py names their shapes)."""
from __future__ import annotations

from datetime import datetime

from domain.shared.clock import SHANGHAI
from domain.sharing.service import DataUseView, GrantView, ServiceView


def when(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat() if moment else None


def service(view: ServiceView, *, with_openapi: bool = False) -> dict:
    out = {"service_id": view.service_id, "provider": view.provider, "code": view.code, "version": view.version,
           "subsystem": view.subsystem, "title": view.title, "description": view.description,
           "owner_department": view.owner_department,
           "fields": [{"name": f.name, "title": f.title, "classification": f.classification, "source": f.source}
                      for f in view.fields],
           "operations": [{"method": o.method, "path": o.path} for o in view.operations],
           "subject": ({"in": view.subject.place, "name": view.subject.name, "kind": view.subject.kind}
                       if view.subject else None),
           "status": view.status, "retire_at": when(view.retire_at), "published_at": when(view.published_at)}
    if with_openapi:
        out["openapi"] = view.openapi
    return out


def grant(view: GrantView) -> dict:
    return {"id": view.id, "provider": view.provider, "service_code": view.service_code, "consumer": view.consumer,
            "fields_requested": list(view.fields_requested),
            "fields_granted": None if view.fields_granted is None else list(view.fields_granted),
            "operations": None if view.operations is None else [{"method": o.method, "path": o.path}
                                                                 for o in view.operations],
            "purpose": view.purpose, "legal_basis": view.legal_basis,
            "expected_daily_calls": view.expected_daily_calls, "quota_per_minute": view.quota_per_minute,
            "investigative": view.investigative, "embargo_days": view.embargo_days, "status": view.status,
            "reason": view.reason, "valid_from": when(view.valid_from), "valid_until": when(view.valid_until),
            "requested_at": when(view.requested_at), "decided_at": when(view.decided_at)}


def data_use(view: DataUseView) -> dict:
    return {"at": when(view.at), "kind": view.kind, "department": view.node, "department_name": view.node_name,
            "service": view.service, "service_title": view.service_title, "fields": list(view.fields),
            "purpose": view.purpose, "issue": view.issue, "outcome": view.outcome}
