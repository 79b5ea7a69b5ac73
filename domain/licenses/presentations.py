"""Showing a license (亮证): compact signed tokens for a QR code, their online verification, and
the status lists that let verifiers check them offline.

Unlinkability: a token carries nothing that repeats across showings of the same license — a
random presentation id, fresh salts (so fresh digests), a fresh signature, and a status *slot*
drawn at random for this token alone in the status list of the hour it was made. A verifier who
sees the same license twice sees two unrelated tokens; the status list says only which slots are
no longer valid (4 bits each, 0 = unchanged), never whose they are. The hub keeps slot -> license
so that a status change shows in the live lists at once.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from domain.licenses import disclosure, rules
from domain.licenses.catalog import license_type
from domain.licenses.errors import LicenseNotPresentable, PresentationMalformed
from domain.licenses.models import License, LicensePresentation
from domain.licenses.service import LicenseService
from domain.seals.errors import SealUnusable
from domain.seals.rules import utc_text
from domain.seals.service import PLATFORM_SEAL, SealService
from domain.shared.clock import Clock
from domain.shared.errors import InvalidInput, NotFound

log = logging.getLogger("govhub.licenses")


class StatusListNotFound(NotFound):
    code = "status_list_not_found"
    title = "状态列表不存在或已过期"


@dataclass(frozen=True)
class Presentation:
    id: str
    token: str
    expires_at: datetime
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Verification:
    """``result``: valid | invalid | expired | replayed | suspended | revoked | withdrawn |
    cancelled (a license status other than valid)."""

    result: str
    reason: str
    type_code: str | None = None
    type_name: str | None = None
    issuer: str | None = None
    fields: dict[str, Any] | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None


class PresentationService:
    def __init__(self, *, licenses: LicenseService, seals: SealService, clock: Clock) -> None:
        self._licenses, self._seals, self._clock = licenses, seals, clock

    async def present(self, *, person_id: str, license_id: str, fields: list[str], assurance: int) -> Presentation:
        """A token showing ``fields`` in clear: the disclosure rule decides, on the assurance of the
        caller's session, whether they may leave (sensitive ones need a fresh face scan)."""
        row = await self._licenses.owned(person_id, license_id)
        kind = license_type(row.type_code)
        data = self._licenses.data_of(row)
        problems = rules.shown_fields_problems(fields, list(data))
        if problems:
            raise InvalidInput("请选择证照中的信息出示", errors=problems)
        shown = list(dict.fromkeys(fields))
        self._licenses.require_disclosure(kind, shown, assurance, "亮证出示")
        status = self._licenses.status_of(row)
        if status != "valid":
            raise LicenseNotPresentable(f"证照状态为 {status}，不能亮证", license_status=status)
        seal = await self._seals.usable_seal_for(node_code=row.issuer_node, department_kind=kind.issuer_kind,
                                                 department_code=row.issuer_department, license_type=row.type_code)
        if seal is None:
            raise LicenseNotPresentable("签发部门的印章已失效，暂不能亮证", license_status=status)
        now = self._clock.now().replace(microsecond=0)
        expires = now + timedelta(seconds=rules.PRESENTATION_SECONDS)
        presentation = await self._allocate(row, now, expires, shown)
        disclosures = disclosure.make_disclosures(data)  # fresh salts: unlinkable to other showings
        payload = {"v": 1, "typ": row.type_code, "iss": seal.department_code, "kid": seal.key_id,
                   "pid": presentation.public_id, "iat": int(now.timestamp()), "exp": int(expires.timestamp()),
                   "st": [presentation.epoch, presentation.slot],
                   "sd": disclosure.b64u(disclosure.digest_list(disclosures))}
        signing_text = disclosure.signing_input(payload)
        try:
            _, signature = await self._seals.sign_bytes(seal.code, signing_text.encode("ascii"),
                                                        license_type=row.type_code)
        except SealUnusable:
            raise LicenseNotPresentable("签发部门的印章已失效，暂不能亮证", license_status=status) from None
        # the id stands for this token only: online verification refuses it under any other payload
        presentation.signed_digest = _digest(signing_text)
        await presentation.save(update_fields=["signed_digest"])
        token = disclosure.assemble(signing_text, signature, [disclosures[f] for f in shown])
        await self._licenses.log(row, actor_kind="holder", actor="holder", action="present",
                                 purpose="亮证：" + "、".join(shown), outcome="shown")
        return Presentation(id=presentation.public_id, token=token, expires_at=expires, fields=tuple(shown))

    async def _allocate(self, row: License, now: datetime, expires: datetime, shown: list[str]) -> LicensePresentation:
        epoch = rules.epoch_of(now)
        for _ in range(8):  # a free random slot: collisions are rare below a million per hour
            try:
                return await LicensePresentation.create(
                    public_id=disclosure.b64u(secrets.token_bytes(12)), license=row, epoch=epoch,
                    slot=secrets.randbelow(rules.STATUS_SLOTS), fields_shown=shown, created_at=now,
                    expires_at=expires)
            except IntegrityError:
                continue
        raise LicenseNotPresentable("亮证繁忙，请稍后再试")

    async def verify(self, token: str, *, actor_kind: str, actor: str, purpose: str = "亮证核验") -> Verification:
        """Online verification: signature, expiry, shown fields, replay, then the license's status now.
        A token is accepted online once; the second check is a replay."""
        try:
            parsed = disclosure.parse(token)
            payload = parsed.payload
            issued_at = datetime.fromtimestamp(int(payload["iat"]), timezone.utc)
            expires_at = datetime.fromtimestamp(int(payload["exp"]), timezone.utc)
            pid, kid, type_code, issuer = (str(payload[key]) for key in ("pid", "kid", "typ", "iss"))
        except (ValueError, KeyError, TypeError, OverflowError):
            raise PresentationMalformed("无法识别的亮证码") from None
        ok, reason, seal = await self._seals.check_signature(key_id=kid, message=parsed.signing_text.encode("ascii"),
                                                             signature=parsed.signature, signed_at=issued_at,
                                                             issuer=issuer, license_type=type_code)
        if not ok:
            return Verification("invalid", reason)
        kind = license_type(type_code)
        base = dict(type_code=type_code, type_name=kind.name if kind else None,
                    issuer=seal.department_code, issued_at=issued_at, expires_at=expires_at)
        try:
            fields = disclosure.revealed(parsed)
        except (ValueError, TypeError):
            return Verification("invalid", "disclosure_mismatch", **base)
        if self._clock.now() >= expires_at:
            return Verification("expired", "token_expired", **base)
        presentation = await LicensePresentation.get_or_none(public_id=pid).prefetch_related("license")
        if presentation is None:
            return Verification("invalid", "unknown_presentation", **base)
        if not _same_showing(presentation, parsed.signing_text, type_code, issuer):
            return Verification("invalid", "presentation_mismatch", **base)
        claimed = await LicensePresentation.filter(id=presentation.id, verified_at__isnull=True).update(
            verified_at=self._clock.now())
        if not claimed:
            return Verification("replayed", "presentation_already_verified", **base)
        row = presentation.license
        status = self._licenses.status_of(row)
        await self._licenses.log(row, actor_kind=actor_kind, actor=actor, action="verify", purpose=purpose,
                                 outcome="released" if status == "valid" else "refused")
        if status != "valid":
            return Verification(status, "license_" + status, **base)
        return Verification("valid", "ok", fields=fields, **base)

    async def status_list(self, epoch: int) -> dict[str, Any]:
        """The signed status list of an hour's presentations (the live hours only)."""
        now = self._clock.now()
        if epoch not in rules.live_epochs(now):
            raise StatusListNotFound(f"只提供当前和上一小时的状态列表（{rules.live_epochs(now)}）")
        changed = Q(license__status__not="valid") | Q(license__valid_until__lte=now)
        rows = await LicensePresentation.filter(changed, epoch=epoch).values_list(
            "slot", "license__status", "license__valid_until")
        entries = [(slot, rules.effective_status(status, until, now)) for slot, status, until in rows]
        entries = [(slot, status) for slot, status in entries if status != "valid"]
        packed = zlib.compress(rules.status_nibbles(entries), 9)
        payload = {"type": "govhub-status-list", "epoch": epoch, "bits": 4, "size": rules.STATUS_SLOTS,
                   "issued_at": utc_text(now),
                   "next_update": utc_text(now + timedelta(seconds=rules.STATUS_LIST_SECONDS)),
                   "list": disclosure.b64u(packed)}
        return await self._seals.sign_object(PLATFORM_SEAL, payload)


def _digest(signing_text: str) -> str:
    return hashlib.sha256(signing_text.encode("ascii")).hexdigest()


def _same_showing(presentation: LicensePresentation, signing_text: str, type_code: str, issuer: str) -> bool:
    """Does the presentation id belong to this very token — the payload the hub signed for it, of
    the license (type and issuer) it claims? A real showing's id under another payload is a forgery."""
    row = presentation.license
    return (presentation.signed_digest == _digest(signing_text) and row.type_code == type_code
            and row.issuer_department == issuer)
