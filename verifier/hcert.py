"""Offline verification of HC1 credentials (the EU DCC's hcert format), health passes among them.

Stand-alone on purpose, like ``verifier/offline.py``: it re-implements the published format with
cbor2, base45, cryptography (and tongsuopy for SM2) and imports nothing of the hub, so that it
accepts what the *specification* says, not what our issuer happens to produce. Any conformant HC1
credential whose signer is trusted verifies, whoever made it.

What is checked, in this order; each failure raises ``Refused(reason, code)``:

- ``bad_prefix``: the text starts with ``HC1:`` (after surrounding whitespace).
- ``too_large``: at most ``MAX_TEXT`` characters, and zlib may inflate to at most ``MAX_COSE`` bytes
  (a zip bomb stops there, it is never inflated whole).
- ``bad_base45``: RFC 9285 Base45. ``bad_zlib``: one complete zlib stream, nothing after it (hcert
  compresses always; an uncompressed body is refused).
- ``not_cose_sign1``: CBOR, a COSE_Sign1 ``[protected bstr, unprotected map, payload bstr,
  signature bstr]``, tagged 18 or untagged (RFC 9052 allows both; a CWT tag 61 around it is
  unwrapped), nothing after it.
- ``bad_header``: the protected header is a CBOR map holding the algorithm (1); ``kid`` (4) is
  read from the protected header first and, as hcert allows, from the unprotected one when the
  protected has none; critical parameters (2) are refused, none being understood.
- ``unknown_kid``: the kid names a key in ``trusted`` (kid -> X.509 ``Certificate`` or public key;
  ``kid_of`` computes it: first 8 bytes of SHA-256 over the certificate's DER).
- ``alg_not_allowed``: the algorithm is one we verify and fits the key: ES256 (-7) a P-256 key,
  PS256 (-37) an RSA key of ≥ 2048 bits (PSS, SHA-256, MGF1 SHA-256, salt 32), SM2-SM3 (-65601,
  private use, see ``domain/health/hcert.py``) an SM2 key (tongsuopy; from a certificate, which
  cryptography parses but whose SM2 key it does not load, through asn1crypto and tongsuopy). A
  key is never tried with another algorithm than its own.
- ``bad_signature``: over ``["Signature1", protected, b"", payload]``; ECDSA and SM2 signatures
  are ``r || s`` (64 bytes), never DER.
- ``bad_payload``: the payload is a CBOR map (the CWT).
- ``missing_claims`` / ``bad_claims``: exp (4) and iat (6) integers, hcert (-260) a map with a map
  at 1; iss (1), optional in hcert, text when present. A health pass (``"t": "health_code"``)
  also carries v, reg, col, nam, id, vf, vu, its colour is known and its region is the issuer.
- ``key_not_valid``: when the trusted entry is a certificate, it was valid at iat.
- ``not_yet_valid``: iat (and a health pass's vf) is not later than ``at`` + ``CLOCK_SKEW``.
- ``expired``: ``at`` is before exp (and before a health pass's vu); no skew is granted here.

Revocation, rules and the trust list's own signature come in later pieces.
"""
from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import cbor2
from cryptography import x509

from verifier.base45 import b45decode
from verifier.cose_keys import ES256, PS256, SM2_SM3, UnusableKey, certificate_key, key_problem, signature_ok
from verifier.offline import parse_time

PREFIX = "HC1:"
MAX_TEXT = 16_384  # characters; a QR code holds at most 4,296 alphanumeric ones
MAX_COSE = 65_536  # bytes inflated, at most
CLOCK_SKEW = timedelta(minutes=5)  # a checkpoint's clock may run behind the issuer's

ALGORITHMS = {-7: ES256, -37: PS256, -65601: SM2_SM3}
ISS, EXP, IAT, HCERT = 1, 4, 6, -260
ALG, CRIT, KID = 1, 2, 4
COSE_SIGN1, CWT = 18, 61
HEALTH_CODE = "health_code"
PASS_FIELDS = ("v", "t", "reg", "col", "nam", "id", "vf", "vu")
PASS_FIELD_SET = frozenset(PASS_FIELDS)
CLAIMS = ((EXP, "exp"), (IAT, "iat"), (HCERT, "hcert"))
COLOURS = ("green", "yellow", "red")


class Refused(Exception):
    """The credential is not accepted: ``code`` for machines, ``reason`` in plain words."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.reason = reason
        self.code = code


# Decoded and Verified are built on every check: NamedTuples, immutable like the frozen dataclasses
# they were, at well under half the cost (a frozen dataclass sets each field through object.__setattr__;
# Decoded, timed side by side: 3.0 µs as one, 0.6–1.3 as a NamedTuple).
class Decoded(NamedTuple):
    """A credential taken apart, nothing checked but its shape."""

    protected_bytes: bytes
    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes
    alg: Any  # the COSE algorithm id from the protected header
    kid: bytes
    kid_protected: bool
    claims: dict[Any, Any] | None  # the CWT, decoded (not yet checked)


class Verified(NamedTuple):
    kid: bytes
    alg: str
    issuer: str | None
    issued_at: datetime
    expires_at: datetime
    content: dict[str, Any]  # hcert[1]: a health pass, an eu_DCC_v1 record, ...

    @property
    def kind(self) -> str | None:
        kind = self.content.get("t")
        return kind if isinstance(kind, str) else None


@dataclass(frozen=True)
class Signer:
    """A trusted key made ready once, when the trust list is loaded (``prepare``), rather than on
    every check: its public key, its certificate's validity, the algorithms it fits. ``verify``
    takes one as a ``trusted`` value as it takes a certificate or a key, with the same outcome."""

    key: Any
    certificate: x509.Certificate | None
    not_before: datetime | None
    not_after: datetime | None
    key_problems: Mapping[str, str | None]  # algorithm -> why this key may not use it (None: it may)
    unusable: tuple[str, str] | None = None  # (reason, code): its certificate's key is one we cannot use


def prepare(entry: Any) -> Signer:
    """A ``trusted`` value (an X.509 certificate or a public key) made ready for ``verify``."""
    if isinstance(entry, Signer):
        return entry
    certificate = entry if isinstance(entry, x509.Certificate) else None
    bounds = (certificate.not_valid_before_utc, certificate.not_valid_after_utc) if certificate is not None \
        else (None, None)
    try:
        key = certificate_key(certificate) if certificate is not None else entry
    except UnusableKey as unusable:
        return Signer(None, certificate, *bounds, {}, (str(unusable), "alg_not_allowed"))
    return Signer(key, certificate, *bounds, {alg: key_problem(alg, key) for alg in ALGORITHMS.values()})


def kid_of(certificate_der: bytes) -> bytes:
    """hcert's key identifier: the first 8 bytes of SHA-256 over the certificate's DER."""
    return hashlib.sha256(certificate_der).digest()[:8]


def _cbor(data: bytes, what: str, code: str) -> Any:
    """One CBOR item and nothing after it."""
    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORError, ValueError, TypeError, OverflowError, RecursionError, EOFError) as exc:
        raise Refused(f"{what} is not valid CBOR", code) from exc
    if stream.tell() != len(data):
        raise Refused(f"{what} has bytes after its CBOR", code)
    return item


@lru_cache(maxsize=256)
def _protected_header(protected_bytes: bytes) -> Any:
    """The protected header decoded, remembered by its bytes: a signer puts the same few bytes
    (algorithm and kid) on every code it signs, so a checkpoint decodes each signer's once (a
    tenth of the unwrapping's work, after Base45)."""
    return _cbor(protected_bytes, "the protected header", "bad_header")


def _unwrap(hc1: str) -> Decoded:
    if not isinstance(hc1, str):
        raise Refused("a credential is text", "bad_prefix")
    text = hc1.strip()
    if not text.startswith(PREFIX):
        raise Refused("not an HC1 credential (no 'HC1:' prefix)", "bad_prefix")
    if len(text) > MAX_TEXT:
        raise Refused(f"longer than {MAX_TEXT} characters", "too_large")
    try:
        compressed = b45decode(text[len(PREFIX):])
    except (ValueError, TypeError) as exc:
        raise Refused("the text after 'HC1:' is not Base45", "bad_base45") from exc
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, MAX_COSE)
    except zlib.error as exc:
        raise Refused("the Base45 content is not zlib-compressed", "bad_zlib") from exc
    if inflater.unconsumed_tail:
        raise Refused(f"inflates beyond {MAX_COSE} bytes", "too_large")
    if not inflater.eof or inflater.unused_data:
        raise Refused("the zlib stream is truncated or followed by other bytes", "bad_zlib")

    item = _cbor(raw, "the signed message", "not_cose_sign1")
    if isinstance(item, cbor2.CBORTag) and item.tag == CWT:
        item = item.value
    if isinstance(item, cbor2.CBORTag):
        if item.tag != COSE_SIGN1:
            raise Refused(f"CBOR tag {item.tag}, not COSE_Sign1 (18)", "not_cose_sign1")
        item = item.value
    if not (isinstance(item, (list, tuple)) and len(item) == 4 and isinstance(item[0], bytes)
            and _is_map(item[1]) and isinstance(item[2], bytes) and isinstance(item[3], bytes)):
        raise Refused("not a COSE_Sign1 [protected, unprotected, payload, signature] with its payload",
                      "not_cose_sign1")
    protected_bytes, unprotected, payload, signature = item
    unprotected = _as_dict(unprotected)

    protected = _protected_header(protected_bytes) if protected_bytes else {}
    if not _is_map(protected):
        raise Refused("the protected header is not a map", "bad_header")
    protected = dict(protected)  # a copy: the decoded header is shared by every code with these bytes
    if CRIT in protected or CRIT in unprotected:
        raise Refused("critical header parameters this verifier does not understand", "bad_header")
    if ALG not in protected:
        raise Refused("no algorithm in the protected header", "bad_header")
    kid_protected = KID in protected
    kid = protected[KID] if kid_protected else unprotected.get(KID)
    if not isinstance(kid, bytes) or not kid:
        raise Refused("no key identifier (kid) in the headers", "bad_header")

    return Decoded(protected_bytes=protected_bytes, protected=protected, unprotected=unprotected,
                   payload=payload, signature=signature, alg=protected[ALG], kid=kid,
                   kid_protected=kid_protected, claims=None)


def _cwt(payload: bytes) -> dict[Any, Any]:
    claims = _cbor(payload, "the payload", "bad_payload")
    if not _is_map(claims):
        raise Refused("the payload is not a CWT (a CBOR map)", "bad_payload")
    return _as_dict(claims)


def decode(hc1: str) -> Decoded:
    """Prefix, Base45, zlib, COSE_Sign1 and its headers, CWT: the credential's parts, nothing
    checked but their shape (``verify`` checks the signature before it reads the CWT)."""
    parts = _unwrap(hc1)
    return parts._replace(claims=_cwt(parts.payload))


def verify(hc1: str, *, trusted: Mapping[bytes, Any], at: datetime | None = None) -> Verified:
    """The credential's content if it is well formed, signed by a trusted key with that key's
    algorithm, and valid ``at`` (default now); otherwise ``Refused``."""
    at = at or datetime.now(UTC)
    if at.tzinfo is None:
        raise ValueError("'at' must be timezone-aware")
    parts = _unwrap(hc1)
    entry = trusted.get(parts.kid)
    if entry is None:
        raise Refused(f"the signer {parts.kid.hex()} is not in the trust list", "unknown_kid")
    signer = prepare(entry)
    if signer.unusable is not None:
        raise Refused(*signer.unusable)
    key = signer.key

    alg = ALGORITHMS.get(parts.alg) if isinstance(parts.alg, int) else None
    if alg is None:
        raise Refused(f"algorithm {parts.alg!r} is not one this verifier accepts", "alg_not_allowed")
    problem = signer.key_problems[alg]
    if problem:
        raise Refused(problem, "alg_not_allowed")
    message = cbor2.dumps(["Signature1", parts.protected_bytes, b"", parts.payload])
    if not signature_ok(alg, key, message, parts.signature):
        raise Refused("the signature does not match the credential", "bad_signature")

    claims = _cwt(parts.payload)  # read only once it is known to be the signer's
    if not (EXP in claims and IAT in claims and HCERT in claims):
        missing = [name for label, name in CLAIMS if label not in claims]
        raise Refused(f"missing claims: {', '.join(missing)}", "missing_claims")
    exp, iat, issuer, hcert = claims[EXP], claims[IAT], claims.get(ISS), claims[HCERT]
    if not (_is_int(exp) and _is_int(iat)) or issuer is not None and not isinstance(issuer, str):
        raise Refused("exp and iat must be integers and iss text", "bad_claims")
    if not _is_map(hcert) or 1 not in hcert:
        raise Refused("the hcert claim carries no content at key 1", "missing_claims")
    content = hcert[1]
    if not _is_map(content):
        raise Refused("the hcert content is not a map", "bad_claims")
    content = _as_dict(content)
    issued_at, expires_at = _moment(iat), _moment(exp)
    window = [(issued_at, expires_at)]
    if content.get("t") == HEALTH_CODE:
        window.append(_health_pass_window(content, issuer))

    if signer.certificate is not None and not signer.not_before <= issued_at <= signer.not_after:
        raise Refused("the signer's certificate was not valid when the credential was issued",
                      "key_not_valid")
    skewed = at + CLOCK_SKEW
    for start, end in window:
        if skewed < start:
            raise Refused(f"not valid before {start.isoformat()}", "not_yet_valid")
        if at >= end:
            raise Refused(f"expired at {end.isoformat()}", "expired")
    return Verified(kid=parts.kid, alg=alg, issuer=issuer, issued_at=issued_at, expires_at=expires_at,
                    content=content)


# Types found to be Mappings. cbor2 decodes the maps inside a tag (COSE_Sign1's unprotected header)
# as its frozendict, for which abc does not remember the answer: isinstance(…, Mapping) took 1.7 µs
# on every check.
_MAP_TYPES = {dict}


def _is_map(value: Any) -> bool:
    """``isinstance(value, Mapping)``, the ABC check (slow) made once per type."""
    if type(value) in _MAP_TYPES:
        return True
    if isinstance(value, Mapping):
        _MAP_TYPES.add(type(value))
        return True
    return False


def _as_dict(value: Mapping[Any, Any]) -> dict[Any, Any]:
    """A map as a dict: cbor2's own dicts as they are (nothing else holds them), any other Mapping copied."""
    return value if type(value) is dict else dict(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _moment(seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise Refused("a time claim is out of range", "bad_claims") from exc


def _health_pass_window(content: dict[str, Any], issuer: str | None) -> tuple[datetime, datetime]:
    if not content.keys() >= PASS_FIELD_SET:
        missing = [name for name in PASS_FIELDS if name not in content]
        raise Refused(f"the health pass lacks {', '.join(missing)}", "missing_claims")
    if content["col"] not in COLOURS:
        raise Refused(f"unknown colour {content['col']!r}", "bad_claims")
    if content["reg"] != issuer:
        raise Refused("the health pass's region is not its issuer", "bad_claims")
    try:
        start, end = parse_time(content["vf"]), parse_time(content["vu"])
    except (TypeError, ValueError) as exc:
        raise Refused("the health pass's validity is not ISO 8601 UTC", "bad_claims") from exc
    return start, end
