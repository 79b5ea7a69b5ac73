"""Shapes of license, seal and presentation bodies (requests and answers) for every audience."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from bff.common.schemas import Body, Int32, Out


class LicenseCardOut(Out):
    """A license as a mini-program's wallet card shows it."""

    id: str = Field(examples=["lic_4f1c2d3e4a5b6c7d8e9f0a1b"])
    type: str = Field(examples=["resident_id_card"])
    type_name: str = Field(examples=["居民身份证"])
    issuer: str = Field(description="the issuing department's code", examples=["110000-public_security"])
    status: str = Field(description="valid | suspended | revoked | withdrawn | cancelled | expired")
    status_code: str = Field(description="GB/T 36901 code: 01 valid … 06 expired", examples=["01"])
    valid_until: str | None = Field(None, description="null: no end of validity")


class LicenseOut(LicenseCardOut):
    holder_kind: str = Field(description="person | legal_person")
    number: str
    valid_from: str
    issued_at: str


class MinorHolderOut(Out):
    name: str | None = Field(None, description="the child's name, masked", examples=["**明"])
    id_number: str = Field(description="the child's ID number, masked", examples=["330106********0012"])


HELD_BY = Field("self", description="self | minor: a license of a child you are the guardian of "
                                    "(read-only: not presentable, not released to departments)")
HOLDER = Field(None, description="the child, for held_by=minor")


class WalletCardOut(LicenseCardOut):
    held_by: str = HELD_BY
    holder: MinorHolderOut | None = HOLDER


class WalletItemOut(LicenseOut):
    held_by: str = HELD_BY
    holder: MinorHolderOut | None = HOLDER


WALLET_ITEM = {LicenseCardOut: WalletCardOut, LicenseOut: WalletItemOut}  # a channel's card -> its wallet item


class LicenseDetailOut(LicenseOut):
    data: dict[str, Any] = Field(description="the license data; sensitive fields masked unless full=true")
    masked: bool
    sensitive_fields: list[str]


class LicenseEventOut(Out):
    at: str
    action: str = Field(description="issued | status")
    status_from: str | None = None
    status_to: str
    reason: str | None = None
    actor: str = Field(description="the node that made the change")


class LicenseHistory(Out):
    items: list[LicenseEventOut]


class PresentIn(Body):
    fields: list[str] = Field(min_length=1, max_length=40, description="the data fields to show, e.g. [\"name\"]")


class PresentationOut(Out):
    id: str
    token: str = Field(description="GHP1 token: put it in a QR code (docs/licenses.md)")
    expires_at: str
    expires_in: int
    fields: list[str]
    bytes: int = Field(description="the token's length in bytes")


class AccessOut(Out):
    seq: int
    at: str
    license_id: str
    type: str
    actor_kind: str = Field(description="department | verifier | hub | holder | guardian")
    actor: str
    action: str = Field(description="view | view_full | present | verify | exchange")
    purpose: str
    outcome: str = Field(description="released | refused | shown")
    hash: str
    prev_hash: str


class AccessList(Out):
    items: list[AccessOut]
    next_before: int | None = Field(None, description="pass as ?before= for older entries")


class ConsentOut(Out):
    id: str
    department: str
    type: str
    type_name: str
    purpose: str
    kind: str = Field(description="once | standing")
    status: str = Field(description="requested | granted | used | revoked | expired")
    created_at: str
    granted_at: str | None = None
    expires_at: str | None = None
    used_at: str | None = None
    revoked_at: str | None = None


class ConsentList(Out):
    items: list[ConsentOut]


class ConsentGrantIn(Body):
    """Either ``consent_id`` (grant a request a department filed) or department + type + purpose."""

    consent_id: str | None = Field(None, max_length=32)
    department: str | None = Field(None, max_length=64, description="the department's node code")
    type: str | None = Field(None, max_length=48)
    purpose: str | None = Field(None, max_length=200)
    kind: str = Field("once", description="once | standing")
    days: Int32 | None = Field(None, description="a standing consent's length, 1 to 366 days")


class VerifyPresentationIn(Body):
    token: str = Field(min_length=10, max_length=4096)


class VerificationOut(Out):
    result: str = Field(description="valid | invalid | expired | replayed | suspended | revoked | withdrawn | cancelled")
    reason: str = Field(description="ok, or why not: malformed token (400), unknown_seal, bad_signature, "
                                    "seal_not_for_issuer, seal_not_for_type (the trust list's binding), "
                                    "seal_expired, seal_revoked, unknown_presentation, presentation_mismatch (not "
                                    "the token made for this id), disclosure_mismatch, token_expired, …")
    type: str | None = None
    type_name: str | None = None
    issuer: str | None = None
    fields: dict[str, Any] | None = Field(None, description="the shown fields (only when valid)")
    issued_at: str | None = None
    expires_at: str | None = None


class IssueIn(Body):
    type: str = Field(max_length=48, examples=["resident_id_card"])
    number: str = Field(max_length=64, description="the issuer's license number (证照编号)")
    data: dict[str, Any] = Field(description="validated against the type's JSON Schema (GET /public/v1/license-types)")


class StatusIn(Body):
    status: str = Field(description="valid | suspended | revoked | withdrawn | cancelled")
    reason: str = Field(max_length=200)


class ExchangeIn(Body):
    type: str = Field(max_length=48)
    holder: str = Field(max_length=32, description="the holder's ID number, or credit code for a legal person")
    purpose: str = Field(max_length=200, description="why the department needs it (shown to the citizen)")


class ReleaseOut(Out):
    license: LicenseOut
    data: dict[str, Any]
    document: str = Field(description="the license document as sealed: its UTF-8 bytes are what the stamp hashes")
    stamp: dict[str, Any] = Field(description="the seal's stamp (docs/seals.md); check with POST /public/v1/seals/verify")
    disclosures: dict[str, str] = Field(description="field -> salted disclosure behind the document's digests")
    basis: str = Field(description="consent:<id> or application")
    withheld: list[str] = Field(description="sensitive fields the basis does not cover (a consent granted without a "
                                            "fresh face scan, an application): absent from data and disclosures")


class LicenseTypeOut(Out):
    code: str
    name: str
    holder_kind: str
    issuer_kind: str
    validity: dict[str, Any]
    sensitive_fields: list[str]
    schema_: dict[str, Any] = Field(alias="schema")


class LicenseTypeList(Out):
    items: list[LicenseTypeOut]


class SealVerifyIn(Body):
    document: str = Field(description="the document, base64 (standard alphabet)")
    stamp: dict[str, Any]


class SealVerifyOut(Out):
    valid: bool
    reason: str = Field(description="ok | malformed | unknown_seal | bad_signature | document_changed | "
                                    "seal_not_for_issuer | seal_not_for_type | seal_revoked | seal_expired | "
                                    "seal_not_yet_valid")
    seal_id: str | None = None
    department: str | None = None
    algorithm: str | None = None
    signed_at: str | None = None


class SignedEnvelope(Out):
    payload: dict[str, Any]
    algorithm: str
    key_id: str
    signature: str = Field(description="base64 DER signature over canonical_json(payload)")


class TrustAnchorOut(Out):
    seal_id: str
    key_id: str
    algorithm: str
    public_key_pem: str
    fingerprint: str = Field(description="SHA-256 of the public key (DER SubjectPublicKeyInfo), hex: what a verifier "
                                         "pins, learnt through a channel you trust (this route only repeats it)")
