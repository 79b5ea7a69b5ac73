"""The payout instruction a fund centre receives, as pure rules: what the hub vouches for in it, and
the holder reference a centre matches against its own records (docs/housing-fund.md, "How a
centre verifies a payout instruction").

The instruction is a statement the hub signs (GOVHUB-STMT-V1, ``domain/nodes/statements.py``) of
type ``PAYOUT_STATEMENT``; only ``HousingFundService`` makes one, for a withdrawal that passed its
rules and its bound face scan, and a centre pays nothing else. The department stub's centre role
(``adapters/departments/stub/fund_centre.py``) checks it exactly as described here.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

PAYOUT_STATEMENT = "housing_fund.payout"
HOLDER_SCHEME = "GOVHUB-HOLDER-V1"


def holder_reference(id_number: str, payout_id: str) -> str:
    """Who holds the account, in a form the centre can match against its own records (it knows
    its holders' ID numbers) without the instruction carrying the ID number: SHA-256 over
    ``GOVHUB-HOLDER-V1``, the payout id and the upper-case ID number, LF-joined, lower-case hex.
    Salted by the payout id, so it is no identifier that links one person's payouts."""
    text = "\n".join([HOLDER_SCHEME, payout_id, id_number.strip().upper()])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FaceBinding:
    """The face scan that authorised a withdrawal: its own session, passed, read at ``verified_at``."""

    session_id: str
    verified_at: datetime


def payout_claims(*, payout_id: str, withdrawal_id: str, centre_code: str, account_no: str, holder_ref: str,
                  amount_fen: int, card_no: str, bank_name: str | None, face: FaceBinding, issued_at: datetime,
                  callback: str) -> dict:
    """What the hub vouches for in a payout instruction: this amount, from this account (of this
    holder), to this card, for this withdrawal, authorised by this face scan."""
    return {"payout_id": payout_id, "withdrawal_id": withdrawal_id, "centre": centre_code,
            "account_no": account_no, "holder_ref": holder_ref, "amount_fen": amount_fen,
            "bank_card_no": card_no, "bank_name": bank_name,
            "face": {"session_id": face.session_id, "verified_at": face.verified_at.isoformat()},
            "issued_at": issued_at.isoformat(), "callback": callback}


# What a verified instruction must carry, and of which type (an int is never a bool here).
CLAIM_TYPES = {"payout_id": str, "withdrawal_id": str, "centre": str, "account_no": str, "holder_ref": str,
               "amount_fen": int, "bank_card_no": str, "face": dict, "issued_at": str}


@dataclass(frozen=True)
class Refusal:
    # stable: malformed | wrong_centre | form_mismatch | face_binding_missing | account_not_found |
    # holder_mismatch
    reason: str
    message: str  # in Chinese: it becomes the application's reason, shown to the citizen


def refusal(claims: dict, *, centre: str, form: dict, holder_id_number: str | None) -> Refusal | None:
    """Why a centre must not pay an instruction whose signature verified, or None: it is for this
    centre, says what the application's form says, carries its face binding, and names the
    holder the centre has on record for the account (``holder_id_number``; None: no such account)."""
    for name, kind in CLAIM_TYPES.items():
        value = claims.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) or value in ("", {}):
            return Refusal("malformed", f"支付指令缺少或错写了 {name}")
    if claims["centre"] != centre:
        return Refusal("wrong_centre", "支付指令不是发给本中心的")
    for name in ("withdrawal_id", "account_no", "amount_fen"):
        if form.get(name) != claims[name]:
            return Refusal("form_mismatch", f"申请表的 {name} 与支付指令不一致")
    face = claims["face"]
    session, verified_at = face.get("session_id"), face.get("verified_at")
    if not (isinstance(session, str) and session and isinstance(verified_at, str)):
        return Refusal("face_binding_missing", "支付指令没有本次提取的人脸核验")
    if holder_id_number is None:
        return Refusal("account_not_found", "未找到该公积金账户")
    if not hmac.compare_digest(holder_reference(holder_id_number, claims["payout_id"]), claims["holder_ref"]):
        return Refusal("holder_mismatch", "公积金账户的持有人与申请人不符")
    return None
