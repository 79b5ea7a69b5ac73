"""Pure rules of licenses: status (GB/T 36901-36905), validity, masking, disclosure, consent,
presentations."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from domain.shared.values import mask_id_number, mask_name

# GB/T 36901-36905 status codes: 01 valid ... 06 expired. ``expired`` is never stored: it follows
# from ``valid_until``.
STATUS_CODES = {"valid": 1, "suspended": 2, "revoked": 3, "withdrawn": 4, "cancelled": 5, "expired": 6}
TRANSITIONS = {
    "valid": {"suspended", "revoked", "withdrawn", "cancelled"},
    "suspended": {"valid", "revoked", "withdrawn", "cancelled"},
    "revoked": set(),
    "withdrawn": set(),
    "cancelled": set(),
}
SETTABLE = ("valid", "suspended", "revoked", "withdrawn", "cancelled")

PRESENTATION_SECONDS = 180  # a shown license's token lives 3 minutes
EPOCH_SECONDS = 3600  # presentations of one hour share one status list
STATUS_SLOTS = 1 << 20  # slots per status list: a presentation takes a random free one
STATUS_LIST_SECONDS = 300  # a status list is fresh for 5 minutes after it is issued
MAX_STANDING_CONSENT_DAYS = 366
ONCE_CONSENT_DAYS = 7  # a per-request consent left unused lapses


def can_change(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, set())


def effective_status(stored: str, valid_until: datetime | None, now: datetime) -> str:
    """What the license is now: its stored status, or ``expired`` once past its validity."""
    if stored == "valid" and valid_until is not None and now >= valid_until:
        return "expired"
    return stored


def validity(rule: dict[str, Any], data: dict[str, Any], issued_at: datetime) -> datetime | None:
    """The end of validity by the type's rule; None for permanent (or a data field saying 长期)."""
    kind = rule["kind"]
    if kind == "years":
        try:
            return issued_at.replace(year=issued_at.year + rule["years"])
        except ValueError:  # 29 February
            return issued_at.replace(year=issued_at.year + rule["years"], day=28)
    if kind == "field":
        value = data.get(rule["field"])
        if not value or value == "长期":
            return None
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=timezone.utc)
    return None


def mask(kind: str, value: Any) -> Any:
    """A sensitive value as the wallet shows it without a fresh face scan."""
    if not isinstance(value, str):
        return "***"
    if kind == "id_number":
        return mask_id_number(value)
    if kind == "name":
        return mask_name(value)
    return value[:2] + "***" if len(value) > 4 else "***"


def masked_data(data: dict[str, Any], sensitive: dict[str, str]) -> dict[str, Any]:
    return {field: mask(sensitive[field], value) if field in sensitive else value for field, value in data.items()}


# --- disclosure: which fields may leave in clear, on what assurance ------------------------
# One rule for every way a field leaves the hub: the wallet's full view, a presentation token,
# a release to a department. A type's ``sensitive`` fields (catalog) leave only on an act of the
# holder made with a fresh face scan (L3) — the detail view, the showing itself, or the consent
# that a release rests on; the other fields need real name (L2), which opening the wallet already
# requires (service.wallet_hash). Guardians are not the holder: no act of theirs discloses a
# child's fields (their wallet lists the child's licenses with the holder masked, nothing more).

REAL_NAME = 2  # L2
FRESH_FACE = 3  # L3


def disclosure_assurance(sensitive: Mapping[str, str], fields: Iterable[str]) -> int:
    """The assurance an act of the holder needs for ``fields`` to leave in clear."""
    return FRESH_FACE if any(field in sensitive for field in fields) else REAL_NAME


def withheld(sensitive: Mapping[str, str], fields: Iterable[str], assurance: int) -> list[str]:
    """The fields of ``fields`` (in their order) that an act of the holder at ``assurance`` may not
    disclose: the sensitive ones, below a fresh face scan."""
    return [field for field in fields if field in sensitive and assurance < FRESH_FACE]


def shown_fields_problems(chosen: list[str], available: list[str]) -> list[dict[str, str]]:
    if not chosen:
        return [{"field": "fields", "message": "至少选择一项要出示的信息"}]
    unknown = [f for f in chosen if f not in available]
    return [{"field": "fields", "message": f"证照中没有这些信息：{'、'.join(unknown)}"}] if unknown else []


# --- consent -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConsentState:
    kind: str  # once | standing
    status: str  # requested | granted | used | revoked
    expires_at: datetime | None


def consent_permits(consent: ConsentState, now: datetime) -> bool:
    """A granted consent within its expiry permits one release (once) or any (standing)."""
    if consent.status != "granted":
        return False
    return consent.expires_at is None or now < consent.expires_at


def consent_covers(consent: ConsentState, granted_for: str, asked_for: str) -> bool:
    """A once-consent covers only the purpose it was granted for (what the citizen read); a
    standing one covers any purpose of its department and license type."""
    return consent.kind == "standing" or granted_for.strip() == asked_for.strip()


def consent_status(consent: ConsentState, now: datetime) -> str:
    """What the citizen sees: requested, granted, used, revoked or expired."""
    if consent.status in ("requested", "granted") and consent.expires_at is not None and now >= consent.expires_at:
        return "expired"
    return consent.status


def consent_expiry(kind: str, now: datetime, days: int | None) -> datetime:
    if kind == "once":
        return now + timedelta(days=ONCE_CONSENT_DAYS)
    return now + timedelta(days=min(days or MAX_STANDING_CONSENT_DAYS, MAX_STANDING_CONSENT_DAYS))


# --- presentations -------------------------------------------------------------------------

def epoch_of(moment: datetime) -> int:
    return int(moment.timestamp()) // EPOCH_SECONDS


def live_epochs(now: datetime) -> tuple[int, int]:
    """The status lists that may still matter: this hour's and the last (a token made at 10:59
    lives into 11:02)."""
    current = epoch_of(now)
    return current - 1, current


def status_nibbles(entries: list[tuple[int, str]], size: int = STATUS_SLOTS) -> bytes:
    """Pack (slot, status) pairs into 4 bits per slot, high nibble first; 0 = no change since the
    token was made (a token is only made for a valid license), otherwise the GB/T status code."""
    packed = bytearray(size // 2)
    for slot, status in entries:
        code = STATUS_CODES[status] if status != "valid" else 0
        byte, low = divmod(slot, 2)
        packed[byte] |= code if low else code << 4
    return bytes(packed)


def nibble_at(packed: bytes, slot: int) -> int:
    byte, low = divmod(slot, 2)
    return packed[byte] & 0x0F if low else packed[byte] >> 4
