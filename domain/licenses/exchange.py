"""Exchange between departments with consent (电子证照共享).

A department (a node, over /gov/v1) asks for a citizen's license of a type, for a stated purpose.
The hub releases it only when the wallet's owner has consented — once (for the purpose stated in
the request the citizen granted, and only that) or standing (scope: department + license type;
until it expires or is revoked) — or when the citizen submitted
to that department an application naming the license as a material (``ApplicationMaterials``).
Otherwise the answer is ``consent_required`` and the hub files the request for the citizen to
grant; the log records the attempt as ``refused``, never as ``released``.

What is released follows the disclosure rule (rules.withheld) on the assurance of the citizen's
act the release rests on: a consent records the assurance it was granted with, and granting one
needs what the type's sensitive fields need (a fresh face scan); an application was submitted with
real name (L2), so a release on it withholds the sensitive fields. The department checks the seal
over the document and each released field's disclosure against it, as for a full release.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from domain.licenses import rules
from domain.licenses.catalog import license_type
from domain.licenses.errors import (
    ConsentNotFound,
    ConsentRequired,
    ConsentStateConflict,
    LicenseInvalid,
    LicenseNotFound,
)
from domain.licenses.models import License, LicenseConsent
from domain.licenses.ports import ApplicationMaterials
from domain.licenses.service import LicenseService, LicenseSummary
from domain.nodes.service import NodeRegistry
from domain.shared.clock import Clock
from domain.sharing.ports import DataUseRecorder, LicenseUse

KINDS = ("once", "standing")


@dataclass(frozen=True)
class Release:
    license: LicenseSummary
    data: dict[str, Any]
    document: str  # the license document exactly as sealed (its bytes are what the stamp hashes)
    stamp: dict[str, Any]
    disclosures: dict[str, str]
    basis: str  # consent:<id> | application
    withheld: tuple[str, ...] = ()  # fields the basis does not cover: neither in data nor in disclosures


@dataclass(frozen=True)
class ConsentView:
    id: str
    department: str
    type_code: str
    type_name: str
    purpose: str
    kind: str
    status: str  # requested | granted | used | revoked | expired
    created_at: datetime
    granted_at: datetime | None
    expires_at: datetime | None
    used_at: datetime | None
    revoked_at: datetime | None


class ExchangeService:
    def __init__(self, *, licenses: LicenseService, nodes: NodeRegistry, applications: ApplicationMaterials,
                 clock: Clock, uses: DataUseRecorder | None = None) -> None:
        """``uses``: the holder's data tracker (data sharing), told of every department's request."""
        self._licenses, self._nodes, self._applications, self._clock = licenses, nodes, applications, clock
        self._uses = uses

    # --- departments ----------------------------------------------------------------------

    async def request(self, *, node: str, type_code: str, holder: str, purpose: str) -> Release:
        if not isinstance(purpose, str) or not 2 <= len(purpose.strip()) <= 200:
            raise LicenseInvalid("请说明用证事由", errors=[{"field": "purpose", "message": "应为2到200个字符"}])
        purpose = purpose.strip()
        holder_hash = self._licenses.holder_hash(type_code, holder)
        rows = await License.filter(type_code=type_code, holder_hash=holder_hash).order_by("-issued_at", "-id")
        row = next((r for r in rows if self._licenses.status_of(r) == "valid"), None)
        if row is None:
            raise LicenseNotFound("该持证人没有有效的此类证照")
        now = self._clock.now()
        async with in_transaction():
            basis, covered_at = await self._basis(row, node, purpose, now)
            if basis is None:
                consent = await self._file_request(row, node, purpose, now)
            outcome = "refused" if basis is None else "released"
            await self._licenses.log(row, actor_kind="department", actor=node, action="exchange",
                                     purpose=purpose, outcome=outcome)
            if self._uses is not None:
                await self._uses.license_used(LicenseUse(
                    holder_kind=row.holder_kind, holder=holder, at=now, node=node, license_type=row.type_code,
                    license_title=license_type(row.type_code).name,
                    fields=_released_fields(row, self._licenses.data_of(row), covered_at) if basis else (),
                    purpose=purpose, outcome=outcome))
        if basis is None:
            raise ConsentRequired("证照持有人尚未授权本部门使用此证照，已向其发送授权请求",
                                  consent_request=consent.public_id)
        data, disclosures = self._licenses.data_of(row), self._licenses.disclosures_of(row)
        withheld = rules.withheld(license_type(row.type_code).sensitive, data, covered_at)
        return Release(license=self._licenses.summary(row),
                       data={k: v for k, v in data.items() if k not in withheld}, document=row.document,
                       stamp=row.stamp, disclosures={k: v for k, v in disclosures.items() if k not in withheld},
                       basis=basis, withheld=tuple(withheld))

    async def _basis(self, row: License, node: str, purpose: str, now: datetime) -> tuple[str | None, int]:
        """What the release rests on, and the assurance of the citizen's act behind it."""
        consents = await LicenseConsent.select_for_update().filter(
            wallet_hash=row.wallet_hash, department=node, type_code=row.type_code, status="granted")
        # a once-consent binds the purpose the citizen read when granting it; a standing one is
        # scoped to the department and the type, as the citizen chose
        usable = [c for c in consents if rules.consent_permits(_state(c), now)
                  and rules.consent_covers(_state(c), c.purpose, purpose)]
        # a standing consent first: a per-request one stays for the request it was given for
        usable.sort(key=lambda c: c.kind != "standing")
        if usable:
            chosen = usable[0]
            if chosen.kind == "once":
                chosen.status, chosen.used_at = "used", now
                await chosen.save(update_fields=["status", "used_at"])
            # a consent from before assurance was recorded counts as given with real name only
            return f"consent:{chosen.public_id}", chosen.granted_assurance or rules.REAL_NAME
        for person_id in await self._applications.applicants_naming(license_id=row.public_id, node_code=node):
            if await self._licenses.holds(person_id=person_id, license_id=row.public_id):
                return "application", rules.REAL_NAME  # a submission needs real name, no face scan
        return None, rules.REAL_NAME

    async def _file_request(self, row: License, node: str, purpose: str, now: datetime) -> LicenseConsent:
        pending = await LicenseConsent.filter(wallet_hash=row.wallet_hash, department=node, type_code=row.type_code,
                                              purpose=purpose, status="requested").first()
        if pending is not None and rules.consent_status(_state(pending), now) == "requested":
            return pending
        return await LicenseConsent.create(
            public_id="cns_" + secrets.token_hex(10), wallet_hash=row.wallet_hash, department=node,
            type_code=row.type_code, purpose=purpose, kind="once", status="requested", created_at=now,
            expires_at=rules.consent_expiry("once", now, None))

    # --- citizens -------------------------------------------------------------------------

    async def consents(self, *, person_id: str) -> list[ConsentView]:
        owner = await self._licenses.wallet_hash(person_id)
        rows = await LicenseConsent.filter(wallet_hash=owner).order_by("-created_at", "-id")
        return [self._view(row) for row in rows]

    async def grant(self, *, person_id: str, assurance: int, consent_id: str | None = None,
                    department: str | None = None, type_code: str | None = None, purpose: str | None = None,
                    kind: str = "once", days: int | None = None) -> ConsentView:
        """Grant a filed request (``consent_id``) or give a new consent to a department for a type.
        A consent releases every field of the license: granting it is a disclosure, at ``assurance``
        (the session's), which the disclosure rule must allow (403 ``assurance_required`` if not)."""
        owner = await self._licenses.wallet_hash(person_id)
        if kind not in KINDS:
            raise LicenseInvalid("授权方式应为 once 或 standing", errors=[{"field": "kind", "message": "不在可选值中"}])
        if days is not None and not 1 <= days <= rules.MAX_STANDING_CONSENT_DAYS:
            raise LicenseInvalid("授权天数应为1到366", errors=[{"field": "days", "message": "超出范围"}])
        now = self._clock.now()
        if consent_id is not None:
            async with in_transaction():
                row = await self._own(owner, consent_id, lock=True)
                _require_cover(row.type_code, assurance)  # the level first: it answers whatever the state
                if rules.consent_status(_state(row), now) != "requested":
                    raise ConsentStateConflict("只能同意待授权的请求")
                row.kind, row.status, row.granted_at, row.granted_assurance = kind, "granted", now, assurance
                row.expires_at = rules.consent_expiry(kind, now, days)
                await row.save(update_fields=["kind", "status", "granted_at", "granted_assurance", "expires_at"])
            return self._view(row)
        problems = []
        if license_type(type_code) is None:
            problems.append({"field": "type", "message": "不在证照目录中"})
        if not isinstance(purpose, str) or not 2 <= len(purpose.strip()) <= 200:
            problems.append({"field": "purpose", "message": "应为2到200个字符"})
        if not isinstance(department, str) or not department:
            problems.append({"field": "department", "message": "必填项"})
        if problems:
            raise LicenseInvalid("请检查授权内容", errors=problems)
        _require_cover(type_code, assurance)
        await self._nodes.get(department)  # NodeNotFound (404) for an unknown department
        row = await LicenseConsent.create(
            public_id="cns_" + secrets.token_hex(10), wallet_hash=owner, department=department, type_code=type_code,
            purpose=purpose.strip(), kind=kind, status="granted", created_at=now, granted_at=now,
            granted_assurance=assurance, expires_at=rules.consent_expiry(kind, now, days))
        return self._view(row)

    async def revoke(self, *, person_id: str, consent_id: str) -> ConsentView:
        owner = await self._licenses.wallet_hash(person_id)
        async with in_transaction():
            row = await self._own(owner, consent_id, lock=True)
            if row.status in ("used", "revoked"):
                raise ConsentStateConflict("该授权已使用或已撤销")
            row.status, row.revoked_at = "revoked", self._clock.now()
            await row.save(update_fields=["status", "revoked_at"])
        return self._view(row)

    async def _own(self, owner: str, consent_id: str, *, lock: bool = False) -> LicenseConsent:
        query = LicenseConsent.select_for_update() if lock else LicenseConsent
        row = await query.get_or_none(public_id=consent_id) if isinstance(consent_id, str) else None
        if row is None or row.wallet_hash != owner:
            raise ConsentNotFound(f"授权 {consent_id} 不存在")
        return row

    def _view(self, row: LicenseConsent) -> ConsentView:
        kind = license_type(row.type_code)
        return ConsentView(id=row.public_id, department=row.department, type_code=row.type_code,
                           type_name=kind.name if kind else row.type_code, purpose=row.purpose, kind=row.kind,
                           status=rules.consent_status(_state(row), self._clock.now()), created_at=row.created_at,
                           granted_at=row.granted_at, expires_at=row.expires_at, used_at=row.used_at,
                           revoked_at=row.revoked_at)


def _released_fields(row: License, data: dict, covered_at: int) -> tuple[str, ...]:
    withheld = rules.withheld(license_type(row.type_code).sensitive, data, covered_at)
    return tuple(sorted(k for k in data if k not in withheld))


def _require_cover(type_code: str, assurance: int) -> None:
    """A consent covers the whole license: the disclosure rule for all its fields."""
    kind = license_type(type_code)
    LicenseService.require_disclosure(kind, kind.fields, assurance, f"授权部门获取{kind.name}")


def _state(row: LicenseConsent) -> rules.ConsentState:
    return rules.ConsentState(kind=row.kind, status=row.status, expires_at=row.expires_at)
