"""Issuing a health pass as an HC1 credential, following the EU DCC's hcert specification.

The pipeline, from inside out (the verifying side, ``verifier/hcert.py``, re-implements it on its
own and is the judge of what is accepted):

1. **The health pass** — our own small object, put where the EU puts its ``eu_DCC_v1`` record
   (the hcert map's key 1)::

       {"v": 1, "t": "health_code", "reg": "330000", "col": "green" | "yellow" | "red",
        "nam": "张*", "id": "<unique credential id>", "vf": "<valid from>", "vu": "<valid until>"}

   Only what a checkpoint needs: the masked name (``mask_name``: the first character, the rest
   ``*``), the colour, the issuing region, the credential's id (later hashed for revocation) and
   its validity (ISO 8601, UTC, seconds, ``Z``). Never an ID number: ``build_health_pass`` refuses a
   name holding digits. ``v`` is the version of this object, ``t`` its type (a signing key is later
   bound to the types it may sign).
2. **The CWT** (RFC 8392), a CBOR map with integer claim keys as hcert lays them out:
   ``1`` iss = the issuing region's code (text, e.g. ``"330000"``; the EU puts a country code
   there), ``6`` iat = issued at, ``4`` exp = the pass's ``vu`` (integers, Unix seconds),
   ``-260`` hcert = ``{1: <health pass>}``.
3. **COSE_Sign1** (RFC 9052), CBOR tag 18: ``[protected, unprotected, payload, signature]``.
   The protected header is the CBOR map ``{1: alg, 4: kid}`` (kid protected, as hcert prefers);
   the unprotected header is empty; the payload is the CWT's bytes; the signature is over the
   ``Sig_structure`` ``["Signature1", protected, b"", payload]``.
   ``kid`` = the first 8 bytes of SHA-256 over the signer certificate's DER (hcert's rule).
4. **zlib** (level 9), **Base45** (RFC 9285), prefix ``HC1:``.

Algorithms (COSE identifiers):

- ``ES256`` = -7: ECDSA P-256 with SHA-256; the COSE signature is ``r || s``, 32 bytes each (not DER).
- ``PS256`` = -37: RSASSA-PSS with SHA-256, MGF1 with SHA-256, salt length 32 (RFC 8230), RSA ≥ 2048.
- ``SM2-SM3`` = **-65601**: SM2 signature (GB/T 32918.2) with SM3, the signer's distinguishing
  identifier being the default ``1234567812345678`` (GB/T 35276), through tongsuopy as the seals
  do (``domain/seals/crypto.py``). No COSE identifier is registered for SM2; IANA reserves
  algorithm values *less than* -65536 for private use, so we take one from that range: -65601, a
  little away from -65537, the range's first value and the likeliest for others to pick. The
  signature is ``r || s``, 32 bytes each, like ES256 in COSE. A verifier outside this federation
  will not know it: SM2 credentials are for domestic checkpoints; ES256/PS256 ones for anyone following hcert.
"""
from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import base45
import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

PREFIX = "HC1:"

ES256 = "ES256"
PS256 = "PS256"
SM2_SM3 = "SM2-SM3"
COSE_ALGORITHMS = {ES256: -7, PS256: -37, SM2_SM3: -65601}

# CWT claim keys (RFC 8392) and hcert's own
ISS, EXP, IAT, HCERT = 1, 4, 6, -260
# COSE header labels
ALG, KID = 1, 4
COSE_SIGN1_TAG = 18

HEALTH_CODE = "health_code"
PASS_VERSION = 1
COLOURS = ("green", "yellow", "red")
PSS_SALT_LENGTH = 32
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class HealthPass:
    """What a health code credential says about its holder (inputs to ``build_health_pass``)."""

    region: str  # the issuing region's code, "330000"
    colour: str  # green | yellow | red
    masked_name: str  # "张*" — see mask_name
    credential_id: str  # unique per credential; hashed for revocation later
    valid_from: datetime
    valid_until: datetime
    last_negative_test: datetime | None = None  # ``lt``: what a checkpoint asking for a recent test reads


def kid_of(certificate_der: bytes) -> bytes:
    """hcert's key identifier: the first 8 bytes of SHA-256 over the signer certificate's DER."""
    if not isinstance(certificate_der, bytes | bytearray) or not certificate_der:
        raise ValueError("the signer certificate's DER is needed for its kid")
    return hashlib.sha256(bytes(certificate_der)).digest()[:8]


def mask_name(name: str) -> str:
    """The first character kept, every other one ``*``: 张三 -> 张*, 欧阳娜娜 -> 欧***."""
    name = name.strip()
    if not name:
        raise ValueError("empty name")
    return name[0] + "*" * (len(name) - 1)


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_health_pass(health: HealthPass) -> dict[str, Any]:
    """The object placed at hcert[1]."""
    if health.colour not in COLOURS:
        raise ValueError(f"colour must be one of {COLOURS}")
    if not re.fullmatch(r"\d{6}", health.region):
        raise ValueError("the region is a 6-digit division code")
    if not health.masked_name or "*" not in health.masked_name and len(health.masked_name) > 1:
        raise ValueError("the name must be masked (mask_name)")
    if any(ch.isdigit() for ch in health.masked_name):
        raise ValueError("the name must not carry digits (never an ID number)")
    if not health.credential_id:
        raise ValueError("a credential id is needed")
    if health.valid_until <= health.valid_from:
        raise ValueError("valid_until must follow valid_from")
    body = {"v": PASS_VERSION, "t": HEALTH_CODE, "reg": health.region, "col": health.colour,
            "nam": health.masked_name, "id": health.credential_id,
            "vf": iso(health.valid_from), "vu": iso(health.valid_until)}
    if health.last_negative_test is not None:
        body["lt"] = iso(health.last_negative_test)
    return body


def build_claims(health: HealthPass, *, issued_at: datetime) -> dict[int, Any]:
    """The CWT claims: iss, iat, exp (= the pass's valid_until) and hcert {1: the pass}."""
    body = build_health_pass(health)
    return {ISS: health.region, IAT: int(issued_at.timestamp()), EXP: int(health.valid_until.timestamp()),
            HCERT: {1: body}}


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """COSE's Sig_structure for COSE_Sign1 with no external data (RFC 9052 §4.4)."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def protected_header(*, kid: bytes, alg: str) -> bytes:
    """The protected header's bytes: ``{1: alg, 4: kid}``."""
    if alg not in COSE_ALGORITHMS:
        raise ValueError(f"unknown algorithm {alg!r}; use one of {sorted(COSE_ALGORITHMS)}")
    return cbor2.dumps({ALG: COSE_ALGORITHMS[alg], KID: kid})


def assemble(protected: bytes, payload: bytes, signature: bytes) -> bytes:
    """COSE_Sign1 (tag 18) from its parts, the unprotected header empty."""
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def sign_cose(payload: bytes, *, private_key, kid: bytes, alg: str) -> bytes:
    """COSE_Sign1 (tag 18) over ``payload`` with ``{1: alg, 4: kid}`` protected."""
    protected = protected_header(kid=kid, alg=alg)
    return assemble(protected, payload, _sign(alg, private_key, sig_structure(protected, payload)))


def to_sign(health: HealthPass, *, issued_at: datetime, certificate_der: bytes, alg: str) -> tuple[bytes, bytes]:
    """The protected header and the payload a signer outside the hub signs (``Sig_structure`` of them)."""
    claims = build_claims(health, issued_at=issued_at)
    return protected_header(kid=kid_of(certificate_der), alg=alg), cbor2.dumps(claims)


def encode(cose: bytes) -> str:
    """zlib (level 9), Base45, ``HC1:``."""
    return PREFIX + base45.b45encode(zlib.compress(cose, 9)).decode("ascii")


def issue(health: HealthPass, *, issued_at: datetime, private_key, certificate_der: bytes,
          alg: str) -> str:
    """The HC1 string of a health pass signed with ``private_key`` (whose certificate is
    ``certificate_der``) under ``alg`` (ES256, PS256 or SM2-SM3)."""
    claims = build_claims(health, issued_at=issued_at)
    cose = sign_cose(cbor2.dumps(claims), private_key=private_key, kid=kid_of(certificate_der), alg=alg)
    return encode(cose)


def _sign(alg: str, private_key, message: bytes) -> bytes:
    if alg == ES256:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or private_key.curve.name != "secp256r1":
            raise ValueError("ES256 needs a P-256 private key")
        r, s = decode_dss_signature(private_key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == PS256:
        if not isinstance(private_key, rsa.RSAPrivateKey) or private_key.key_size < MIN_RSA_BITS:
            raise ValueError(f"PS256 needs an RSA private key of at least {MIN_RSA_BITS} bits")
        return private_key.sign(message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                     salt_length=PSS_SALT_LENGTH), hashes.SHA256())
    # SM2-SM3, through tongsuopy (imported here: only domestic issuers need it)
    from tongsuopy.crypto import hashes as sm_hashes
    from tongsuopy.crypto.asymciphers import ec as sm_ec

    if not isinstance(private_key, sm_ec.EllipticCurvePrivateKey) or private_key.curve.name != "SM2":
        raise ValueError("SM2-SM3 needs an SM2 private key (tongsuopy)")
    r, s = decode_dss_signature(private_key.sign(message, sm_ec.ECDSA(sm_hashes.SM3())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")
