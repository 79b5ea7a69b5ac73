"""Pure rules of seals: what exactly is signed, and whether a seal vouches for a signature made at
a given time.

The signed content follows the shape of GB/T 38540's stamp signature (TBS_Sign): version, the
seal, the time of signing, the hash of the document, and properties. It is encoded as canonical
JSON: keys sorted, no insignificant whitespace, UTF-8, non-ASCII characters as themselves
(``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``). An independent
implementation rebuilds these bytes from the ``signed`` object of a sealed document and checks the
signature over them (docs/seals.md).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

VERSION = 1
# the seal algorithms: SM2 with SM3 for domestic seals, ES256 beside it (domain/seals/crypto.py signs)
SM2 = "SM2-SM3"
ES256 = "ES256"
ALGORITHMS = (SM2, ES256)
# the document hash each seal algorithm pairs with (GB/T 38540 uses SM3 with SM2)
DOCUMENT_HASH = {SM2: "SM3", ES256: "SHA-256"}
STATUSES = ("active", "revoked")
SEAL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
MAX_VALID_DAYS = 365 * 10


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def utc_text(moment: datetime) -> str:
    """``2026-11-27T05:00:00Z``: seconds, UTC, the one form the signed content uses."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def signed_content(*, seal_code: str, time: datetime, hash_algorithm: str, document_hash: str,
                   properties: dict[str, Any]) -> dict[str, Any]:
    return {"version": VERSION, "seal_id": seal_code, "time": utc_text(time),
            "document_hash": {"algorithm": hash_algorithm, "value": document_hash},
            "properties": properties}


@dataclass(frozen=True)
class SealState:
    status: str
    valid_from: datetime
    valid_until: datetime
    revoked_at: datetime | None


def usable_at(seal: SealState, moment: datetime) -> bool:
    """May the seal sign now? Active and within its validity."""
    return seal.status == "active" and seal.valid_from <= moment < seal.valid_until


def vouches_for(seal: SealState, signed_at: datetime) -> tuple[bool, str]:
    """Does the seal vouch for a signature made at ``signed_at``? A revoked seal still vouches for
    what it signed before revocation; nothing signed at or after revocation, or outside the
    validity, holds."""
    if signed_at < seal.valid_from:
        return False, "seal_not_yet_valid"
    if signed_at >= seal.valid_until:
        return False, "seal_expired"
    if seal.revoked_at is not None and signed_at >= seal.revoked_at:
        return False, "seal_revoked"
    return True, "ok"


def binding_problem(*, seal_department: str, seal_types: tuple[str, ...] | list[str], issuer: str,
                    license_type: str) -> str | None:
    """Is the seal bound to this issuer and license type? A trust list binds each seal to the
    department it belongs to and the license types it may sign; a signature outside that binding
    proves nothing, however good it is. None when bound, else the reason."""
    if issuer != seal_department:
        return "seal_not_for_issuer"
    if license_type not in seal_types:
        return "seal_not_for_type"
    return None


def document_issuer(document: bytes) -> str | None:
    """The ``issuer`` a license document names (canonical JSON, docs/licenses.md), or None."""
    try:
        parsed = json.loads(document)
    except (ValueError, UnicodeDecodeError):
        return None
    issuer = parsed.get("issuer") if isinstance(parsed, dict) else None
    return issuer if isinstance(issuer, str) else None


def scope_problems(license_types: list[str], issued_by_kind: list[str]) -> list[dict]:
    """A seal's license types: each one its department kind issues, none twice."""
    if not isinstance(license_types, list) or not all(isinstance(t, str) for t in license_types):
        return [{"field": "license_types", "message": "应为证照类型编码的列表"}]
    foreign = [t for t in license_types if t not in issued_by_kind]
    if foreign:
        return [{"field": "license_types", "message": "该类部门不签发这些证照：" + "、".join(foreign)}]
    if len(set(license_types)) != len(license_types):
        return [{"field": "license_types", "message": "证照类型重复"}]
    return []


def code_problems(*, code: str, name: str, algorithm: str, valid_days: int, algorithms: tuple[str, ...]) -> list[dict]:
    problems = []
    if not isinstance(code, str) or not SEAL_CODE.match(code):
        problems.append({"field": "code", "message": "应为3到64位字母、数字或 . _ -"})
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 128:
        problems.append({"field": "name", "message": "应为1到128个字符"})
    if algorithm not in algorithms:
        problems.append({"field": "algorithm", "message": "应为 " + " 或 ".join(algorithms)})
    if not isinstance(valid_days, int) or not 1 <= valid_days <= MAX_VALID_DAYS:
        problems.append({"field": "valid_days", "message": f"应为1到{MAX_VALID_DAYS}的整数"})
    return problems
