"""Licenses: issuance and status changes by departments, the citizen's wallet and access log.

Showing a license (presentations.py) and exchange with consent (exchange.py) build on this.
The data of a license is sealed with the vault at rest; what the issuing department's seal signs
is the license document, which carries only salted digests of the data (disclosure.py).
"""
from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.identity.errors import AssuranceRequired
from domain.licenses import access_log, disclosure, guardians, rules
from domain.licenses.catalog import LicenseType, license_type, license_types
from domain.licenses.errors import (
    IssuerNotAllowed,
    LicenseExists,
    LicenseInvalid,
    LicenseNotFound,
    LicenseTypeUnknown,
    StatusChangeRefused,
)
from domain.licenses.models import License, LicenseAccess, LicenseEvent, LicensePresentation
from domain.licenses.ports import Holders
from domain.seals.rules import utc_text
from domain.seals.service import SealService
from domain.shared.clock import Clock
from domain.shared.errors import InvalidInput
from domain.shared.values import CreditCode, IdNumber
from domain.shared.vault import Vault

log = logging.getLogger("govhub.licenses")

HOLDER = "license.holder"  # vault lookup-hash context of holders' and wallet owners' numbers
DATA = "license.data"
DISCLOSURES = "license.disclosures"
CHILD = "license.child"  # lookup-hash context of a child's name, birth date and sex (guardians.py)
HUB = "govhub"


@dataclass(frozen=True)
class LicenseSummary:
    id: str
    type_code: str
    type_name: str
    holder_kind: str
    number: str
    issuer_department: str
    status: str  # effective: valid | suspended | revoked | withdrawn | cancelled | expired
    status_code: str  # GB/T 36901: "01".."06"
    valid_from: datetime
    valid_until: datetime | None
    issued_at: datetime


@dataclass(frozen=True)
class GuardedLicense:
    """A minor's license as their guardian's wallet shows it: read-only, the holder masked."""

    summary: LicenseSummary
    holder_name: str | None  # masked
    holder_id_number: str  # masked


@dataclass(frozen=True)
class LicenseDetail:
    summary: LicenseSummary
    data: dict[str, Any]
    masked: bool
    sensitive: tuple[str, ...]


@dataclass(frozen=True)
class LicenseEventView:
    at: datetime
    action: str
    status_from: str | None
    status_to: str
    reason: str | None
    actor: str


@dataclass(frozen=True)
class AccessView:
    seq: int
    at: datetime
    license_id: str
    type_code: str
    actor_kind: str
    actor: str
    action: str
    purpose: str
    outcome: str
    hash: str
    prev_hash: str


class LicenseService:
    def __init__(self, *, vault: Vault, clock: Clock, seals: SealService, holders: Holders) -> None:
        self._vault, self._clock, self._seals, self._holders = vault, clock, seals, holders

    # --- the catalog -----------------------------------------------------------------------

    @staticmethod
    def types() -> list[LicenseType]:
        return list(license_types().values())

    # --- issuance and status (departments, /gov/v1) ----------------------------------------

    async def issue(self, *, node: str, type_code: str, number: str, data: Any) -> LicenseSummary:
        kind = _type(type_code)
        problems = kind.problems(data)
        if not isinstance(number, str) or not 1 <= len(number.strip()) <= 64 or not number.isprintable():
            problems.append({"field": "number", "message": "应为1到64个可见字符"})
        if problems:
            raise LicenseInvalid("证照数据不符合该类型的规范：" + "、".join(p["field"] for p in problems),
                                 errors=problems)
        holder = _holder_number(kind, data[kind.holder_field], kind.holder_field)
        owner = _holder_number(kind, data[kind.wallet_field], kind.wallet_field, person=True)
        seal = await self._seals.usable_seal_for(node_code=node, department_kind=kind.issuer_kind,
                                                 license_type=type_code)
        if seal is None:
            raise IssuerNotAllowed(f"节点 {node} 没有可签发{kind.name}的{kind.issuer_kind}类印章")
        number = number.strip()
        if await License.exists(type_code=type_code, number=number):
            raise LicenseExists(f"{kind.name} {number} 已签发")
        now = self._clock.now()
        public_id = "lic_" + secrets.token_hex(12)
        valid_until = rules.validity(kind.validity, data, now)
        disclosures = disclosure.make_disclosures(data)
        document = disclosure.canonical_json({
            "v": 1, "license_id": public_id, "type": type_code, "number": number,
            "issuer": seal.department_code, "holder_kind": kind.holder_kind, "issued_at": utc_text(now),
            "valid_until": utc_text(valid_until) if valid_until else None,
            "sd": disclosure.b64u(disclosure.digest_list(disclosures))})
        stamp = await self._seals.seal_document(seal_code=seal.code, document=document,
                                                properties={"license_id": public_id, "type": type_code})
        try:
            async with in_transaction():
                row = await License.create(
                    public_id=public_id, type_code=type_code, number=number, issuer_node=node,
                    issuer_department=seal.department_code, seal_code=seal.code, holder_kind=kind.holder_kind,
                    holder_hash=self._hash(holder), wallet_hash=self._hash(owner),
                    data_sealed=self._vault.seal(json.dumps(data, ensure_ascii=False), context=DATA),
                    disclosures_sealed=self._vault.seal(json.dumps(disclosures), context=DISCLOSURES),
                    document=document.decode(), stamp=stamp, status="valid", valid_from=now,
                    valid_until=valid_until, issued_at=now, status_changed_at=now)
                await LicenseEvent.create(license=row, at=now, action="issued", status_to="valid", actor=node)
                await guardians.record(row, kind, data, holder, now, hash_of=self._hash,
                                       child_hash=lambda text: self._vault.lookup_hash(text, context=CHILD))
        except IntegrityError as exc:
            raise LicenseExists(f"{kind.name} {number} 已签发") from exc
        log.info("license issued: %s %s by %s", type_code, public_id, node)
        return self.summary(row)

    async def change_status(self, *, node: str, license_id: str, status: str, reason: str) -> LicenseSummary:
        if status not in rules.SETTABLE:
            raise LicenseInvalid("状态应为 " + "、".join(rules.SETTABLE),
                                 errors=[{"field": "status", "message": "不在可选值中"}])
        if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= 200:
            raise LicenseInvalid("请说明变更原因", errors=[{"field": "reason", "message": "应为1到200个字符"}])
        async with in_transaction():
            row = await self._issued_by(node, license_id, lock=True)
            if not rules.can_change(row.status, status):
                raise StatusChangeRefused(f"证照状态 {row.status} 不能变更为 {status}", current=row.status)
            now = self._clock.now()
            await LicenseEvent.create(license=row, at=now, action="status", status_from=row.status,
                                      status_to=status, reason=reason.strip(), actor=node)
            row.status, row.status_changed_at = status, now
            await row.save(update_fields=["status", "status_changed_at"])
        log.info("license %s is now %s (%s)", license_id, status, node)
        return self.summary(row)

    async def issued(self, *, node: str, license_id: str) -> LicenseSummary:
        return self.summary(await self._issued_by(node, license_id))

    async def _issued_by(self, node: str, license_id: str, *, lock: bool = False) -> License:
        query = License.select_for_update() if lock else License
        row = await query.get_or_none(public_id=license_id) if isinstance(license_id, str) else None
        if row is None or row.issuer_node != node:  # another node's license is as good as absent
            raise LicenseNotFound(f"证照 {license_id} 不存在或不是本节点签发")
        return row

    # --- the wallet (citizens) -------------------------------------------------------------

    async def wallet(self, *, person_id: str) -> list[LicenseSummary]:
        owner = await self.wallet_hash(person_id)
        rows = await License.filter(wallet_hash=owner).order_by("-issued_at", "-id")
        return [self.summary(row) for row in rows]

    async def guarded(self, *, person_id: str) -> list[GuardedLicense]:
        """The licenses of the minors this person is a guardian of (guardians.py), each read logged
        in the child's access log. Shown only: a guardian cannot present or release them."""
        me = await self.wallet_hash(person_id)
        minors = await guardians.minors_of(me, self._clock.now())
        if not minors:
            return []
        rows = await License.filter(holder_hash__in=minors, wallet_hash__in=minors).order_by("-issued_at", "-id")
        shown = []
        for row in rows:
            kind, data = _type(row.type_code), self.data_of(row)
            await self.log(row, actor_kind="guardian", actor=me, action="view", purpose="监护人查看",
                           outcome="shown")
            name = guardians.holder_name(kind, data)
            shown.append(GuardedLicense(summary=self.summary(row),
                                        holder_name=rules.mask("name", name) if name else None,
                                        holder_id_number=rules.mask("id_number", data[kind.holder_field])))
        return shown

    async def detail(self, *, person_id: str, license_id: str, full: bool = False,
                     assurance: int = rules.REAL_NAME) -> LicenseDetail:
        """The data, masked unless ``full``, which the disclosure rule allows only at the assurance it
        needs (a fresh face scan for sensitive fields). Logged."""
        row = await self.owned(person_id, license_id)
        kind = _type(row.type_code)
        data = self.data_of(row)
        if full:
            self.require_disclosure(kind, data, assurance, "查看完整证照信息")
        await self.log(row, actor_kind="holder", actor="holder", action="view_full" if full else "view",
                       purpose="本人查看", outcome="shown")
        shown = data if full else rules.masked_data(data, kind.sensitive)
        return LicenseDetail(summary=self.summary(row), data=shown, masked=not full,
                             sensitive=tuple(kind.sensitive))

    async def history(self, *, person_id: str, license_id: str) -> list[LicenseEventView]:
        row = await self.owned(person_id, license_id)
        events = await LicenseEvent.filter(license_id=row.id).order_by("at", "id")
        return [LicenseEventView(at=e.at, action=e.action, status_from=e.status_from, status_to=e.status_to,
                                 reason=e.reason, actor=e.actor) for e in events]

    async def holds(self, *, person_id: str, license_id: str) -> bool:
        """Does this person's wallet hold this license, valid now? (For applications naming a
        license as a material.)"""
        try:
            row = await self.owned(person_id, license_id)
        except (LicenseNotFound, AssuranceRequired):
            return False
        return self.status_of(row) == "valid"

    async def access_log(self, *, person_id: str, limit: int = 50, before: int | None = None) -> list[AccessView]:
        """The citizen's own entries, newest first; ``before`` pages by ``seq``."""
        owner = await self.wallet_hash(person_id)
        query = LicenseAccess.filter(wallet_hash=owner)
        if before is not None:
            query = query.filter(seq__lt=before)
        rows = await query.order_by("-seq").limit(max(1, min(limit, 200)))
        return [AccessView(seq=r.seq, at=r.at, license_id=r.license_id, type_code=r.type_code,
                           actor_kind=r.actor_kind, actor=r.actor, action=r.action, purpose=r.purpose,
                           outcome=r.outcome, hash=r.hash, prev_hash=r.prev_hash) for r in rows]

    async def counts(self, *, since: datetime, until: datetime) -> tuple[int, int]:
        """Licenses issued in [since, until), and presentations (亮证) made then: the platform's
        figures (domain/figures)."""
        issued = await License.filter(issued_at__gte=since, issued_at__lt=until).count()
        shown = await LicensePresentation.filter(created_at__gte=since, created_at__lt=until).count()
        return issued, shown

    # --- shared by presentations and exchange ----------------------------------------------

    @staticmethod
    def require_disclosure(kind: LicenseType, fields: Any, assurance: int, what: str) -> None:
        """The one guard of sensitive fields (rules.disclosure_assurance): every way a field leaves in
        clear — the full view, a presentation, a consent for departments — calls it with the
        assurance of the holder's act. 403 ``assurance_required`` naming the fields, else nothing."""
        withheld = rules.withheld(kind.sensitive, fields, assurance)
        if withheld:
            needed = rules.disclosure_assurance(kind.sensitive, withheld)
            raise AssuranceRequired(f"{what}需要人脸核验：{'、'.join(withheld)} 属于敏感信息",
                                    required=f"L{needed}", current=f"L{assurance}", fields=withheld)

    async def wallet_hash(self, person_id: str) -> str:
        number = await self._holders.id_number_of(person_id)
        if number is None:
            raise AssuranceRequired("证照夹需要先完成实名认证", required="L2", current="L1")
        return self._hash(number)

    async def owned(self, person_id: str, license_id: str) -> License:
        owner = await self.wallet_hash(person_id)
        row = await License.get_or_none(public_id=license_id) if isinstance(license_id, str) else None
        if row is None or row.wallet_hash != owner:
            raise LicenseNotFound(f"证照夹中没有证照 {license_id}")
        return row

    def holder_hash(self, type_code: str, holder: Any) -> str:
        kind = _type(type_code)
        return self._hash(_holder_number(kind, holder, "holder"))

    def data_of(self, row: License) -> dict[str, Any]:
        return json.loads(self._vault.open(row.data_sealed, context=DATA))

    def disclosures_of(self, row: License) -> dict[str, str]:
        return json.loads(self._vault.open(row.disclosures_sealed, context=DISCLOSURES))

    def status_of(self, row: License) -> str:
        return rules.effective_status(row.status, row.valid_until, self._clock.now())

    async def log(self, row: License, *, actor_kind: str, actor: str, action: str, purpose: str,
                  outcome: str) -> None:
        await access_log.append(access_log.Access(
            wallet_hash=row.wallet_hash, license_id=row.public_id, type_code=row.type_code, actor_kind=actor_kind,
            actor=actor[:64], action=action, purpose=purpose[:200], outcome=outcome), self._clock.now())

    def _hash(self, number: str) -> str:
        return self._vault.lookup_hash(number, context=HOLDER)

    def summary(self, row: License) -> LicenseSummary:
        status = self.status_of(row)
        return LicenseSummary(id=row.public_id, type_code=row.type_code, type_name=_type(row.type_code).name,
                              holder_kind=row.holder_kind, number=row.number,
                              issuer_department=row.issuer_department, status=status,
                              status_code=f"{rules.STATUS_CODES[status]:02d}", valid_from=row.valid_from,
                              valid_until=row.valid_until, issued_at=row.issued_at)


def _type(code: str) -> LicenseType:
    kind = license_type(code)
    if kind is None:
        raise LicenseTypeUnknown(f"证照类型 {code} 不存在",
                                 errors=[{"field": "type", "message": "不在证照目录中"}])
    return kind


def _holder_number(kind: LicenseType, raw: Any, field: str, *, person: bool = False) -> str:
    """The holder's ID number (person) or credit code (legal person), checked (check digits too)."""
    try:
        if person or kind.holder_kind == "person":
            return IdNumber.parse(raw).value
        return CreditCode.parse(raw).value
    except InvalidInput as error:
        raise LicenseInvalid(error.detail, errors=[{"field": f"data.{field}", "message": error.title}]) from None

