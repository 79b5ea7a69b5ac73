"""A small world for the stand-alone health verifier's tests: a stand-in trust anchor (ES256) that
signs the three lists, region signers with their certificates, and health codes — issued by
domain/health/hcert.py, or built here by hand from the hcert specification (CWT claims 1/4/6/-260
in a COSE_Sign1, zlib, Base45) with cbor2 and cryptography only. Every moment is fixed."""
from __future__ import annotations

import base64
import itertools
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import base45
import cbor2
from asn1crypto import algos as asn1_algos
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from domain.health import hcert as issuing
from verifier.health import LIST_TYPES, REVOCATIONS, RULES, TRUST, HealthVerifier, credential_hash
from verifier.offline import canonical, fingerprint

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
ZJ, BJ = "330000", "110000"  # Zhejiang, Beijing


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Anchor:
    """The platform's trust anchor, as GET /public/v1/trust-anchor gives it, and the lists it signs."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.pem = self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.pin = fingerprint(self.pem)
        self.anchor = {"seal_id": "govhub-platform", "key_id": self.pin[:16], "algorithm": "ES256",
                       "public_key_pem": self.pem}
        self.seqs = {TRUST: itertools.count(1), RULES: itertools.count(1), REVOCATIONS: itertools.count(1)}

    def envelope(self, payload: dict) -> dict:
        signature = self.key.sign(canonical(payload), ec.ECDSA(hashes.SHA256()))
        return {"payload": payload, "algorithm": "ES256", "key_id": self.anchor["key_id"],
                "signature": base64.b64encode(signature).decode()}

    def page(self, name: str, entries: list[dict], *, since: int | None = None, seq: int | None = None,
             more: bool = False) -> dict:
        """A signed page of list ``name``; entries without a seq get the list's next one."""
        entries = [entry if "seq" in entry else {**entry, "seq": next(self.seqs[name])} for entry in entries]
        newest = seq if seq is not None else max([entry["seq"] for entry in entries] + [since or 0])
        return self.envelope({"type": LIST_TYPES[name], "seq": newest, "since": since, "issued_at": iso(NOW),
                              "entries": entries, "more": more,
                              "next_since": entries[-1]["seq"] if entries else None})

    def verifier(self, trust: list[dict] = (), rules: list[dict] = (), revocations: list[dict] = ()) -> HealthVerifier:
        verifier = HealthVerifier(anchor=self.anchor, pin=self.pin)
        verifier.load_trust_list(self.page(TRUST, list(trust)))
        verifier.load_rules(self.page(RULES, list(rules)))
        verifier.load_revocations(self.page(REVOCATIONS, list(revocations)))
        return verifier


def certificate(key, *, start=NOW - timedelta(days=30), end=NOW + timedelta(days=365), cn="health code signer"):
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .sign(key, hashes.SHA256()))


def sm2_certificate_der(key, *, start=NOW - timedelta(days=30), end=NOW + timedelta(days=365)) -> bytes:
    """A self-signed SM2 certificate (cryptography cannot build one; asn1crypto and tongsuopy can)."""
    from tongsuopy.crypto import hashes as sm_hashes
    from tongsuopy.crypto import serialization as sm_serialization
    from tongsuopy.crypto.asymciphers import ec as sm_ec

    spki = key.public_key().public_bytes(sm_serialization.Encoding.DER,
                                         sm_serialization.PublicFormat.SubjectPublicKeyInfo)
    alg = asn1_algos.SignedDigestAlgorithm({"algorithm": "1.2.156.10197.1.501"})  # SM2 with SM3
    name = asn1_x509.Name.build({"common_name": "SM2 health code signer"})
    tbs = asn1_x509.TbsCertificate({
        "version": "v3", "serial_number": 7, "signature": alg, "issuer": name, "subject": name,
        "validity": {"not_before": asn1_x509.Time({"utc_time": start}),
                     "not_after": asn1_x509.Time({"utc_time": end})},
        "subject_public_key_info": asn1_keys.PublicKeyInfo.load(spki)})
    signature = key.sign(tbs.dump(), sm_ec.ECDSA(sm_hashes.SM3()))
    return asn1_x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": alg,
                                  "signature_value": signature}).dump()


class Signer:
    """A region's signing key with its certificate (ES256, PS256 or SM2-SM3)."""

    _ids = itertools.count(1)

    def __init__(self, alg: str = "ES256", **validity) -> None:
        self.alg = alg
        if alg == "SM2-SM3":
            from tongsuopy.crypto.asymciphers import ec as sm_ec

            self.key = sm_ec.generate_private_key(sm_ec.SM2())
            self.der = sm2_certificate_der(self.key, **validity)
        else:
            self.key = (ec.generate_private_key(ec.SECP256R1()) if alg == "ES256"
                        else rsa.generate_private_key(public_exponent=65537, key_size=2048))
            self.der = certificate(self.key, **validity).public_bytes(serialization.Encoding.DER)
        self.kid = issuing.kid_of(self.der)

    def entry(self, region: str = ZJ, *, types=("health_code",), valid_from=NOW - timedelta(days=30),
              valid_until=NOW + timedelta(days=365), status="active", revoked_at=None, **extra) -> dict:
        """This key as a trust-list entry."""
        return {"kid": base64.b64encode(self.kid).decode(), "kid_hex": self.kid.hex(), "region": region,
                "node": f"{region}-platform", "alg": self.alg, "certificate": base64.b64encode(self.der).decode(),
                "credential_types": list(types), "valid_from": iso(valid_from), "valid_until": iso(valid_until),
                "status": status, "revoked_at": revoked_at and iso(revoked_at), **extra}

    def pem_file(self, folder) -> Any:
        path = folder / f"{self.kid.hex()}.pem"
        path.write_bytes(x509.load_der_x509_certificate(self.der).public_bytes(serialization.Encoding.PEM))
        return path

    def issue(self, *, region: str = ZJ, colour: str = "green", issued_at: datetime = NOW,
              hours: int = 24, credential_id: str | None = None) -> str:
        """A health code issued by the hub's own issuer (domain/health/hcert.py)."""
        health = issuing.HealthPass(region=region, colour=colour, masked_name="张*",
                                    credential_id=credential_id or new_id(region), valid_from=issued_at,
                                    valid_until=issued_at + timedelta(hours=hours))
        return issuing.issue(health, issued_at=issued_at, private_key=self.key, certificate_der=self.der, alg=self.alg)


def new_id(region: str = ZJ) -> str:
    return f"URN:HC:{region}:{next(Signer._ids):032x}"


def health_pass(region: str = ZJ, *, colour: str = "green", issued_at: datetime = NOW, hours: int = 24,
                **extra) -> dict:
    """A health pass as the specification lays it out (docs/health-codes.md)."""
    return {"v": 1, "t": "health_code", "reg": region, "col": colour, "nam": "李*", "id": new_id(region),
            "vf": iso(issued_at), "vu": iso(issued_at + timedelta(hours=hours)), **extra}


def hand_made(signer: Signer, content: dict, *, issued_at: datetime = NOW) -> str:
    """An HC1 code built from the hcert specification with cbor2 and cryptography, not our issuer."""
    alg_id = {"ES256": -7, "PS256": -37}[signer.alg]
    expires = datetime.strptime(content["vu"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    claims = {1: content["reg"], 4: int(expires.timestamp()), 6: int(issued_at.timestamp()), -260: {1: content}}
    protected, payload = cbor2.dumps({1: alg_id, 4: signer.kid}), cbor2.dumps(claims)
    message = cbor2.dumps(["Signature1", protected, b"", payload])
    if alg_id == -7:
        r, s = decode_dss_signature(signer.key.sign(message, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        signature = signer.key.sign(message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                                    hashes.SHA256())
    return wrap(cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature])))


def wrap(cose: bytes) -> str:
    return "HC1:" + base45.b45encode(zlib.compress(cose, 9)).decode()


def cose_parts(hc1: str) -> list:
    return list(cbor2.loads(zlib.decompress(base45.b45decode(hc1[4:]))).value)


def rebuild(parts: list) -> str:
    return wrap(cbor2.dumps(cbor2.CBORTag(18, [parts[0], dict(parts[1]), parts[2], parts[3]])))


def rule(identifier: str, logic: Any, *, region: str = BJ, kind: str = "acceptance", version: int = 1,
         valid_from: datetime = NOW - timedelta(days=10), valid_until: datetime = NOW + timedelta(days=365),
         status: str = "active", **extra) -> dict:
    return {"identifier": identifier, "region": region, "type": kind, "version": version,
            "certificate_type": "health_code", "engine": "CertLogic", "engine_version": "1.0.0", "logic": logic,
            "description": [{"lang": "zh", "desc": f"规则 {identifier}"}, {"lang": "en", "desc": f"rule {identifier}"}],
            "affected_fields": ["col"], "valid_from": iso(valid_from), "valid_until": iso(valid_until),
            "published_at": iso(valid_from - timedelta(days=2)), "status": status, **extra}


def batch(batch_id: str, credential_ids: list[str], *, region: str = ZJ, deleted: bool = False) -> dict:
    return {"batch_id": batch_id, "region": region, "hash_type": "SHA256-128",
            "hashes": [credential_hash(each) for each in credential_ids], "created_at": iso(NOW),
            "expires": iso(NOW + timedelta(days=2)), "deleted": deleted}


def credential_id_of(hc1: str) -> str:
    return cbor2.loads(cose_parts(hc1)[2])[-260][1]["id"]
