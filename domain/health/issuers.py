"""Regions as issuers (签发方): their signing keys at the hub, rotation and revocation, and signing a
code with the right key — by the hub where the region delegated its key, by the region otherwise.

A region registers a key either by sending its X.509 certificate (it keeps the private key and signs
every code itself, through ``RegionSigner``) or by asking the hub to make one for it (delegation:
the hub keeps the private key sealed in the vault and signs on the region's behalf). Either way the
key enters the trust list with its region and the credential types it may sign. A new key takes over
signing; older ones stay listed, and their codes verify until the key's end.
"""
from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.health import feeds, hcert, rules
from domain.health.errors import KeyExists, KeyInvalid, KeyNotFound, NoSigningKey, RegionSignatureInvalid
from domain.health.models import IssuerKey
from domain.health.ports import CredentialChecker, RegionSigner
from domain.shared.clock import Clock
from domain.shared.vault import Vault

log = logging.getLogger("govhub.health")
PRIVATE_KEY = "health.issuer_key"  # the vault context of delegated private keys
SM2_CURVE = "1.2.156.10197.1.301"
DELEGABLE = (hcert.ES256, hcert.PS256)  # SM2 certificates cannot be made with cryptography: regions bring their own
MAX_KEY_DAYS = 3 * 365


@dataclass(frozen=True)
class Issuer:
    """Who acts for a region: its provincial platform's node."""

    node_code: str
    region: str  # 6 digits, ending 0000


@dataclass(frozen=True)
class KeyView:
    kid: str
    region: str
    node_code: str
    alg: str
    certificate: str  # base64 DER
    credential_types: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    delegated: bool
    status: str
    revoked_at: datetime | None
    seq: int


def trust_entry(key: IssuerKey) -> dict:
    """A key as the trust list carries it (docs/health-codes.md)."""
    kid = bytes.fromhex(key.kid)
    return {"kid": base64.b64encode(kid).decode(), "kid_hex": key.kid, "region": key.region, "node": key.node_code,
            "alg": key.alg, "certificate": key.certificate, "credential_types": list(key.credential_types),
            "valid_from": rules.utc_text(key.valid_from), "valid_until": rules.utc_text(key.valid_until),
            "status": key.status, "revoked_at": rules.utc_text(key.revoked_at) if key.revoked_at else None,
            "seq": key.seq}


class Issuers:
    def __init__(self, *, clock: Clock, vault: Vault, region_signer: RegionSigner, checker: CredentialChecker) -> None:
        self._clock, self._vault, self._region_signer, self._checker = clock, vault, region_signer, checker
        self._private_keys: dict[str, object] = {}

    async def register(self, issuer: Issuer, *, certificate: bytes, credential_types: list[str]) -> KeyView:
        """A key the region keeps: its certificate (PEM or DER) gives the algorithm and validity."""
        der, alg, valid_from, valid_until = _certificate_facts(certificate)
        return await self._add(issuer, der=der, alg=alg, valid_from=valid_from, valid_until=valid_until,
                               credential_types=credential_types, private_pem=None)

    async def delegate(self, issuer: Issuer, *, alg: str, credential_types: list[str], valid_days: int) -> KeyView:
        """A key the hub makes and keeps for the region, with a self-signed certificate naming it."""
        if alg not in DELEGABLE:
            raise KeyInvalid(f"委托签发支持 {', '.join(DELEGABLE)}", errors=[{"field": "alg", "message": "不支持"}])
        if not 1 <= valid_days <= MAX_KEY_DAYS:
            raise KeyInvalid(f"有效期 1–{MAX_KEY_DAYS} 天", errors=[{"field": "valid_days", "message": "超出范围"}])
        now = self._clock.now()
        private = ec.generate_private_key(ec.SECP256R1()) if alg == hcert.ES256 else \
            rsa.generate_private_key(public_exponent=65537, key_size=3072)
        der = _self_signed(private, issuer, now, now + timedelta(days=valid_days))
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        return await self._add(issuer, der=der, alg=alg, valid_from=now, valid_until=now + timedelta(days=valid_days),
                               credential_types=credential_types, private_pem=pem)

    async def revoke(self, issuer: Issuer, *, kid: str) -> KeyView:
        """Codes it signed before now still verify; none after (a stolen key's use stops here)."""
        async with in_transaction():
            key = await IssuerKey.filter(kid=kid, region=issuer.region).select_for_update().first()
            if key is None:
                raise KeyNotFound(f"本地区没有签发密钥 {kid}")
            if key.status != "revoked":
                now = self._clock.now()
                key.status, key.revoked_at, key.changed_at = "revoked", now, now
                key.seq = await feeds.next_seq(feeds.TRUST, now)
                await key.save(update_fields=["status", "revoked_at", "changed_at", "seq"])
        self._private_keys.pop(kid, None)
        log.info("health key revoked: %s (%s)", kid, issuer.region)
        return _view(key)

    async def keys(self, region: str) -> list[KeyView]:
        return [_view(k) for k in await IssuerKey.filter(region=region).order_by("-valid_from")]

    async def sign(self, *, region: str, health: hcert.HealthPass, issued_at: datetime,
                   lifetime: timedelta) -> tuple[str, KeyView, hcert.HealthPass]:
        """The HC1 text, the key that signed it, and the pass as signed (its end capped at the key's)."""
        keys = await IssuerKey.filter(region=region, status="active")
        chosen = rules.signing_key([_state(k) for k in keys], region=region, credential_type=rules.HEALTH_CODE,
                                   at=issued_at)
        if chosen is None:
            raise NoSigningKey(f"地区 {region} 没有可签发健康码的有效密钥")
        key = next(k for k in keys if k.kid == chosen.kid)
        until = rules.code_until(chosen, issued_at=issued_at, lifetime=lifetime)
        health = replace(health, valid_until=until)
        certificate = base64.b64decode(key.certificate)
        if key.delegated:
            text = hcert.issue(health, issued_at=issued_at, private_key=self._private_key(key),
                               certificate_der=certificate, alg=key.alg)
            return text, _view(key), health
        protected, payload = hcert.to_sign(health, issued_at=issued_at, certificate_der=certificate, alg=key.alg)
        signature = await self._region_signer.sign(node_code=key.node_code, kid_hex=key.kid, alg=key.alg,
                                                   protected=protected, payload=payload,
                                                   health_pass=hcert.build_health_pass(health))
        text = hcert.encode(hcert.assemble(protected, payload, signature))
        if not self._checker.signed_by(text, certificate_der=certificate):
            raise RegionSignatureInvalid(f"地区 {region} 签发服务返回的签名无法用其证书验证")
        return text, _view(key), health

    async def _add(self, issuer: Issuer, *, der: bytes, alg: str, valid_from: datetime, valid_until: datetime,
                   credential_types: list[str], private_pem: str | None) -> KeyView:
        types = sorted(set(credential_types))
        if not types or any(t != rules.HEALTH_CODE for t in types):
            raise KeyInvalid(f"凭证类型目前只有 {rules.HEALTH_CODE}",
                             errors=[{"field": "credential_types", "message": "不支持的类型"}])
        if valid_until <= self._clock.now():
            raise KeyInvalid("证书已过期", errors=[{"field": "certificate", "message": "已过期"}])
        now = self._clock.now()
        try:
            async with in_transaction():
                key = await IssuerKey.create(
                    kid=hcert.kid_of(der).hex(), region=issuer.region, node_code=issuer.node_code, alg=alg,
                    certificate=base64.b64encode(der).decode(), credential_types=types, valid_from=valid_from,
                    valid_until=valid_until, delegated=private_pem is not None,
                    private_key_sealed=self._vault.seal(private_pem, context=PRIVATE_KEY) if private_pem else None,
                    status="active", seq=await feeds.next_seq(feeds.TRUST, now), changed_at=now)
        except IntegrityError:
            raise KeyExists("该证书已登记为签发密钥") from None
        log.info("health key registered: %s (%s, %s, delegated=%s)", key.kid, issuer.region, alg, key.delegated)
        return _view(key)

    def _private_key(self, key: IssuerKey):
        loaded = self._private_keys.get(key.kid)
        if loaded is None:
            pem = self._vault.open(key.private_key_sealed, context=PRIVATE_KEY).encode()
            loaded = self._private_keys[key.kid] = serialization.load_pem_private_key(pem, password=None)
        return loaded


def _certificate_facts(certificate: bytes) -> tuple[bytes, str, datetime, datetime]:
    """DER, algorithm, validity of an uploaded certificate; KeyInvalid for anything else."""
    bad = KeyInvalid("证书应为 X.509（PEM 或 DER）", errors=[{"field": "certificate", "message": "无法解析"}])
    try:
        parsed = x509.load_pem_x509_certificate(certificate) if certificate.lstrip().startswith(b"-----") \
            else x509.load_der_x509_certificate(certificate)
        der = parsed.public_bytes(serialization.Encoding.DER)
    except ValueError:
        raise bad from None
    spki: asn1_keys.PublicKeyInfo = asn1_x509.Certificate.load(der).public_key
    if spki.algorithm == "ec" and spki["algorithm"]["parameters"].chosen.dotted == SM2_CURVE:
        alg = hcert.SM2_SM3
    elif spki.algorithm == "ec" and spki.curve[1] == "secp256r1":
        alg = hcert.ES256
    elif spki.algorithm == "rsa" and spki.bit_size >= hcert.MIN_RSA_BITS:
        alg = hcert.PS256
    else:
        raise KeyInvalid("签发密钥应为 P-256（ES256）、RSA ≥ 2048（PS256）或 SM2",
                         errors=[{"field": "certificate", "message": "密钥类型不支持"}])
    return der, alg, parsed.not_valid_before_utc, parsed.not_valid_after_utc


def _self_signed(private, issuer: Issuer, start: datetime, end: datetime) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, issuer.node_code),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"health code issuer {issuer.region} (delegated)")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
                   .sign(private, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.DER)


def _state(key: IssuerKey) -> rules.KeyState:
    return rules.KeyState(kid=key.kid, region=key.region, credential_types=tuple(key.credential_types),
                          valid_from=key.valid_from, valid_until=key.valid_until, status=key.status)


def _view(key: IssuerKey) -> KeyView:
    return KeyView(kid=key.kid, region=key.region, node_code=key.node_code, alg=key.alg, certificate=key.certificate,
                   credential_types=tuple(key.credential_types), valid_from=key.valid_from,
                   valid_until=key.valid_until, delegated=key.delegated, status=key.status,
                   revoked_at=key.revoked_at, seq=key.seq)
