"""The seal service: the registry of departments' seals and the only code that touches their
private keys (sealed with the vault at rest, opened here, never returned).

What is signed and how to check it: ``rules.py`` and docs/seals.md.
"""
from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.seals import crypto, rules
from domain.seals.errors import SealedDocumentInvalid, SealExists, SealInvalid, SealNotFound, SealUnusable
from domain.seals.models import Seal
from domain.seals.ports import LicenseTypes, NoLicenseTypes
from domain.shared.clock import Clock
from domain.shared.vault import Vault

log = logging.getLogger("govhub.seals")

PRIVATE_KEY = "seal.private_key"  # the vault context of sealed private keys
PLATFORM_SEAL = "govhub-platform"  # the hub's own seal: signs trust lists and status lists
PLATFORM_DEPARTMENT = "govhub"


@dataclass(frozen=True)
class SealRecord:
    code: str
    department_code: str
    department_kind: str
    node_code: str
    name: str
    algorithm: str
    key_id: str
    public_key_pem: str
    valid_from: datetime
    valid_until: datetime
    status: str
    revoked_at: datetime | None
    version: int
    license_types: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the public key (DER SubjectPublicKeyInfo), hex: what a verifier pins."""
        return crypto.fingerprint(self.public_key_pem)

    def binding_problem(self, *, issuer: str, license_type: str) -> str | None:
        return rules.binding_problem(seal_department=self.department_code, seal_types=self.license_types,
                                     issuer=issuer, license_type=license_type)

    def trust_entry(self) -> dict[str, Any]:
        """How the seal appears in the published trust list."""
        return {"key_id": self.key_id, "seal_id": self.code, "department_code": self.department_code,
                "department_kind": self.department_kind, "node_code": self.node_code,
                "license_types": list(self.license_types), "name": self.name, "algorithm": self.algorithm,
                "public_key_pem": self.public_key_pem, "valid_from": rules.utc_text(self.valid_from),
                "valid_until": rules.utc_text(self.valid_until), "status": self.status,
                "revoked_at": rules.utc_text(self.revoked_at) if self.revoked_at else None,
                "version": self.version}


@dataclass(frozen=True)
class SealVerdict:
    valid: bool
    reason: str  # ok | malformed | unknown_seal | bad_signature | document_changed | seal_revoked | ...
    seal: SealRecord | None
    signed_at: datetime | None


class SealService:
    def __init__(self, *, vault: Vault, clock: Clock, license_types: LicenseTypes | None = None) -> None:
        self._vault, self._clock = vault, clock
        self._license_types = license_types or NoLicenseTypes()
        self._signers: dict[str, Any] = {}  # key id -> parsed private key (opened once per process)

    # --- the registry ----------------------------------------------------------------------

    async def create(self, *, code: str, department_code: str, department_kind: str, node_code: str,
                     name: str, algorithm: str = crypto.SM2, valid_days: int = 365 * 5,
                     license_types: list[str] | None = None) -> SealRecord:
        """A new seal bound to its department and the license types it may sign: ``license_types``,
        or (None) every type its department kind issues."""
        issued_by_kind = self._license_types.issued_by(department_kind)
        if license_types is None:
            license_types = issued_by_kind
        problems = rules.code_problems(code=code, name=name, algorithm=algorithm, valid_days=valid_days,
                                       algorithms=crypto.ALGORITHMS)
        problems += rules.scope_problems(license_types, issued_by_kind)
        if problems:
            raise SealInvalid("请检查以下字段：" + "、".join(p["field"] for p in problems), errors=problems)
        if await Seal.exists(code=code):
            raise SealExists(f"印章编码 {code} 已存在")
        pair = crypto.generate(algorithm)
        now = self._clock.now().replace(microsecond=0)  # signed times are whole seconds
        try:
            async with in_transaction():
                seal = await Seal.create(
                    code=code, department_code=department_code, department_kind=department_kind,
                    node_code=node_code, license_types=list(license_types), name=name.strip(),
                    algorithm=algorithm, key_id=pair.key_id,
                    public_key=pair.public_pem,
                    private_key_sealed=self._vault.seal(pair.private_pem.decode(), context=PRIVATE_KEY),
                    valid_from=now, valid_until=now + timedelta(days=valid_days), status="active",
                    version=await _next_version())
        except IntegrityError as exc:
            raise SealExists(f"印章编码 {code} 已存在") from exc
        log.info("seal created: %s (%s, %s)", code, department_code, algorithm)
        return _record(seal)

    async def ensure_platform_seal(self) -> SealRecord:
        """The hub's own seal (created on first use): verifiers pin its fingerprint as the trust anchor.
        It signs lists, never a license (bound to no license type)."""
        seal = await Seal.get_or_none(code=PLATFORM_SEAL)
        if seal is not None:
            return _record(seal)
        try:
            return await self.create(code=PLATFORM_SEAL, department_code=PLATFORM_DEPARTMENT,
                                     department_kind="platform", node_code=PLATFORM_DEPARTMENT,
                                     name="国家政务服务平台", algorithm=crypto.SM2, valid_days=rules.MAX_VALID_DAYS,
                                     license_types=[])
        except SealExists:  # another worker created it meanwhile
            return _record(await Seal.get(code=PLATFORM_SEAL))

    async def revoke(self, *, code: str) -> SealRecord:
        async with in_transaction():
            seal = await self._seal(code)
            if seal.status != "revoked":
                seal.status, seal.revoked_at = "revoked", self._clock.now()
                seal.version = await _next_version()
                await seal.save(update_fields=["status", "revoked_at", "version"])
        self._signers.pop(seal.key_id, None)
        log.info("seal revoked: %s", code)
        return _record(seal)

    async def get(self, code: str) -> SealRecord:
        return _record(await self._seal(code))

    async def list(self, *, node_code: str | None = None) -> list[SealRecord]:
        query = Seal.all() if node_code is None else Seal.filter(node_code=node_code)
        return [_record(seal) for seal in await query.order_by("code")]

    async def usable_seal_for(self, *, node_code: str, department_kind: str, license_type: str | None = None,
                              department_code: str | None = None) -> SealRecord | None:
        """The node's seal for that kind of department (and, if given, that department and license
        type) that may sign now (the newest), or None."""
        now = self._clock.now()
        query = Seal.filter(node_code=node_code, department_kind=department_kind, status="active")
        if department_code is not None:
            query = query.filter(department_code=department_code)
        seals = await query.order_by("-valid_from")
        return next((_record(s) for s in seals if rules.usable_at(_state(s), now)
                     and (license_type is None or license_type in s.license_types)), None)

    async def trust_list(self, *, since: int | None = None) -> dict[str, Any]:
        """Every seal (or those changed after version ``since``), signed by the platform seal."""
        await self.ensure_platform_seal()  # listed from the first list on
        query = Seal.all() if since is None else Seal.filter(version__gt=since)
        seals = await query.order_by("version", "code")
        version = await _current_version()
        payload = {"type": "govhub-trust-list", "version": version, "since": since,
                   "issued_at": rules.utc_text(self._clock.now()),
                   "entries": [_record(seal).trust_entry() for seal in seals]}
        return await self.sign_object(PLATFORM_SEAL, payload)

    # --- signing ---------------------------------------------------------------------------

    async def seal_document(self, *, seal_code: str, document: bytes, properties: dict[str, Any]) -> dict[str, Any]:
        """A sealed document's stamp: ``{signed, algorithm, key_id, signature}`` (docs/seals.md). A
        license document (``properties.type``) only by a seal bound to that type."""
        seal = await self._usable(seal_code, license_type=properties.get("type"))
        signed = rules.signed_content(seal_code=seal.code, time=self._clock.now(),
                                      hash_algorithm=crypto.DOCUMENT_HASH[seal.algorithm],
                                      document_hash=crypto.document_digest(seal.algorithm, document),
                                      properties=properties)
        signature = self._sign(seal, rules.canonical_json(signed))
        return {"signed": signed, "algorithm": seal.algorithm, "key_id": seal.key_id,
                "signature": base64.b64encode(signature).decode()}

    async def sign_object(self, seal_code: str, payload: dict[str, Any]) -> dict[str, Any]:
        """``{payload, algorithm, key_id, signature}``: the signature is over canonical_json(payload)."""
        seal = await self._usable(seal_code)
        signature = self._sign(seal, rules.canonical_json(payload))
        return {"payload": payload, "algorithm": seal.algorithm, "key_id": seal.key_id,
                "signature": base64.b64encode(signature).decode()}

    async def sign_bytes(self, seal_code: str, message: bytes, *, license_type: str) -> tuple[SealRecord, bytes]:
        """A raw DER signature over a license's compact format (presentations), by a seal bound to
        its type."""
        seal = await self._usable(seal_code, license_type=license_type)
        return _record(seal), self._sign(seal, message)

    async def _usable(self, code: str, *, license_type: str | None = None) -> Seal:
        if code == PLATFORM_SEAL:
            await self.ensure_platform_seal()
        seal = await self._seal(code)
        if not rules.usable_at(_state(seal), self._clock.now()):
            raise SealUnusable(f"印章 {code} 已吊销或不在有效期内")
        if license_type is not None and license_type not in seal.license_types:
            raise SealUnusable(f"印章 {code} 不能签发证照类型 {license_type}")
        return seal

    def _sign(self, seal: Seal, message: bytes) -> bytes:
        signer = self._signers.get(seal.key_id)
        if signer is None:
            pem = self._vault.open(seal.private_key_sealed, context=PRIVATE_KEY).encode()
            signer = self._signers[seal.key_id] = crypto.load_signer(seal.algorithm, pem)
        return crypto.sign(seal.algorithm, signer, message)

    # --- verification (anyone) -------------------------------------------------------------

    async def verify_document(self, *, document: bytes, stamp: Any) -> SealVerdict:
        try:
            signed = stamp["signed"]
            signature = base64.b64decode(stamp["signature"], validate=True)
            signed_at = rules.parse_utc(signed["time"])
            claimed_hash = signed["document_hash"]["value"]
            key_id, seal_code = stamp["key_id"], signed["seal_id"]
        except (KeyError, TypeError, ValueError, binascii.Error):
            return SealVerdict(False, "malformed", None, None)
        seal = await Seal.get_or_none(key_id=key_id) if isinstance(key_id, str) else None
        if seal is None or seal.code != seal_code:
            return SealVerdict(False, "unknown_seal", None, signed_at)
        record = _record(seal)
        if not crypto.verify(seal.algorithm, seal.public_key, rules.canonical_json(signed), signature):
            return SealVerdict(False, "bad_signature", record, signed_at)
        if crypto.document_digest(seal.algorithm, document) != claimed_hash:
            return SealVerdict(False, "document_changed", record, signed_at)
        properties = signed.get("properties")
        license_type = properties.get("type") if isinstance(properties, dict) else None
        if license_type is not None:  # a license document: only inside the seal's binding
            unbound = record.binding_problem(issuer=rules.document_issuer(document), license_type=license_type)
            if unbound:
                return SealVerdict(False, unbound, record, signed_at)
        holds, reason = rules.vouches_for(_state(seal), signed_at)
        return SealVerdict(holds, reason, record, signed_at)

    async def verify_object(self, envelope: Any) -> tuple[bool, str, SealRecord | None]:
        """Check a ``sign_object`` envelope against the registry (used for exchanged documents)."""
        try:
            payload, key_id = envelope["payload"], envelope["key_id"]
            signature = base64.b64decode(envelope["signature"], validate=True)
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise SealedDocumentInvalid("签章格式有误") from None
        seal = await Seal.get_or_none(key_id=key_id) if isinstance(key_id, str) else None
        if seal is None:
            return False, "unknown_seal", None
        ok = crypto.verify(seal.algorithm, seal.public_key, rules.canonical_json(payload), signature)
        return ok, "ok" if ok else "bad_signature", _record(seal)

    async def check_signature(self, *, key_id: str, message: bytes, signature: bytes, signed_at: datetime,
                              issuer: str, license_type: str) -> tuple[bool, str, SealRecord | None]:
        """A raw signature over a license of ``license_type`` from ``issuer`` (compact formats:
        presentations): by a registered seal, bound to that issuer and type, vouching for
        ``signed_at``."""
        seal = await Seal.get_or_none(key_id=key_id) if isinstance(key_id, str) else None
        if seal is None:
            return False, "unknown_seal", None
        record = _record(seal)
        if not crypto.verify(seal.algorithm, seal.public_key, message, signature):
            return False, "bad_signature", record
        unbound = record.binding_problem(issuer=issuer, license_type=license_type)
        if unbound:
            return False, unbound, record
        holds, reason = rules.vouches_for(_state(seal), signed_at)
        return holds, reason, record

    async def _seal(self, code: str) -> Seal:
        seal = await Seal.get_or_none(code=code) if isinstance(code, str) else None
        if seal is None:
            raise SealNotFound(f"印章 {code} 不存在")
        return seal


async def _current_version() -> int:
    newest = await Seal.all().order_by("-version").first()
    return newest.version if newest else 0


async def _next_version() -> int:
    return await _current_version() + 1


def _state(seal: Seal) -> rules.SealState:
    return rules.SealState(status=seal.status, valid_from=seal.valid_from, valid_until=seal.valid_until,
                           revoked_at=seal.revoked_at)


def _record(seal: Seal) -> SealRecord:
    return SealRecord(code=seal.code, department_code=seal.department_code, department_kind=seal.department_kind,
                      node_code=seal.node_code, name=seal.name, algorithm=seal.algorithm, key_id=seal.key_id,
                      public_key_pem=seal.public_key, valid_from=seal.valid_from, valid_until=seal.valid_until,
                      status=seal.status, revoked_at=seal.revoked_at, version=seal.version,
                      license_types=tuple(seal.license_types or ()))
