"""The entries of the three signed lists, checked one by one as the verifier loads them: a trust
entry (its kid is its certificate's, its algorithm its key's), a rule (compiled once), a revocation
batch. Split from ``verifier/health.py``; imports nothing of the hub."""
from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from cryptography import x509

from verifier import cose_keys, hcert, health_rules
from verifier.offline import parse_time

SIGNER_ALGORITHMS = (cose_keys.ES256, cose_keys.PS256, cose_keys.SM2_SM3)
REGION = re.compile(r"\d{6}")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def signer_algorithm(certificate: x509.Certificate) -> str:
    """The one algorithm the certificate's key signs with: ES256 (P-256), PS256 (RSA >= 2048), SM2-SM3."""
    key = cose_keys.certificate_key(certificate)  # UnusableKey is a ValueError
    for alg in SIGNER_ALGORITHMS:
        if cose_keys.key_problem(alg, key) is None:
            return alg
    raise ValueError("the certificate's key is neither P-256, RSA of at least 2048 bits nor SM2")


def trust_entry(entry: Any) -> tuple[bytes, x509.Certificate]:
    """A trust entry checked: its kid is its certificate's, its algorithm its key's; (kid, certificate)."""
    if not isinstance(entry, dict):
        raise ValueError("a trust-list entry is an object")
    try:
        kid = base64.b64decode(entry["kid"], validate=True)
        der = base64.b64decode(entry["certificate"], validate=True)
        certificate = x509.load_der_x509_certificate(der)
        parse_time(entry["valid_from"]), parse_time(entry["valid_until"])
        revoked_at = entry.get("revoked_at")
        if revoked_at is not None:
            parse_time(revoked_at)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise ValueError(f"a malformed trust-list entry ({exc.__class__.__name__}: {exc})") from None
    if hcert.kid_of(der) != kid or str(entry.get("kid_hex", kid.hex())).lower() != kid.hex():
        raise ValueError(f"trust-list entry {kid.hex()}: its kid is not its certificate's")
    if not (isinstance(entry.get("region"), str) and REGION.fullmatch(entry["region"])):
        raise ValueError(f"trust-list entry {kid.hex()}: its region is not a 6-digit code")
    types = entry.get("credential_types")
    if not (isinstance(types, list) and all(isinstance(each, str) for each in types)):
        raise ValueError(f"trust-list entry {kid.hex()}: credential_types is not a list of names")
    if entry.get("status") not in ("active", "revoked"):
        raise ValueError(f"trust-list entry {kid.hex()}: unknown status {entry.get('status')!r}")
    if entry.get("alg") != signer_algorithm(certificate):
        raise ValueError(f"trust-list entry {kid.hex()}: alg {entry.get('alg')!r} is not its key's")
    return kid, certificate


def rule_entry(entry: Any) -> tuple[tuple[str, int], health_rules.Prepared]:
    if not (isinstance(entry, dict) and isinstance(entry.get("identifier"), str) and is_int(entry.get("version"))
            and isinstance(entry.get("region"), str) and isinstance(entry.get("type"), str) and "logic" in entry):
        raise ValueError("a malformed rule entry (identifier, version, region, type, logic)")
    try:
        parse_time(entry["valid_from"]), parse_time(entry["valid_until"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"rule {entry['identifier']} v{entry['version']}: validity is not ISO 8601 UTC") from None
    # compiled once here rather than interpreted on every check
    return (entry["identifier"], entry["version"]), health_rules.prepare(entry)


def revocation_batch(entry: Any) -> tuple[str, frozenset[str]]:
    if not (isinstance(entry, dict) and isinstance(entry.get("batch_id"), str) and isinstance(entry.get("region"), str)
            and isinstance(entry.get("hashes"), list) and all(isinstance(h, str) for h in entry["hashes"])
            and isinstance(entry.get("deleted", False), bool)):
        raise ValueError("a malformed revocation batch (batch_id, region, hashes, deleted)")
    return entry["batch_id"], frozenset(h.lower() for h in entry["hashes"])
