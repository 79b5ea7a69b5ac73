"""The time-stamping authority itself (RFC 3161), pure: a DER TimeStampReq in, a DER TimeStampResp out.

No I/O and no wall clock: the time comes from the clock it is given (``.now()``, an aware datetime),
so a test fixes it. ``server.install`` puts it behind ``POST /tsa``; ``client.TsaClient`` asks it
over HTTP; ``verify.TsaVerifier`` checks what it signed (and so does ``openssl ts -verify``).

What a granted answer holds (RFC 3161 §2.4.2, RFC 5652, RFC 5816):
- TSTInfo: version 1, policy ``POLICY_OID``, the request's SHA-256 imprint, a random 128-bit serial
  number, genTime (UTC, to the millisecond, no trailing zeros), accuracy 1 s, the request's nonce
  echoed, tsa = the certificate's subject.
- a CMS SignedData (version 3) whose eContentType is id-ct-TSTInfo, one SignerInfo (version 1,
  issuerAndSerialNumber, SHA-256) signing the DER SET OF signed attributes: content-type,
  signing-time, message-digest (SHA-256 of the encapsulated TSTInfo) and signingCertificateV2
  (ESSCertIDv2: SHA-256 of the TSA certificate, with issuer and serial). OpenSSL refuses a token
  without the ESS attribute. The certificate itself rides along when the request sets certReq.
- the signature is ECDSA with SHA-256 for an EC key (the dev key is P-256), or RSA PKCS#1 v1.5
  with SHA-256 for an RSA key.

A request it cannot honour gets status rejection and one failInfo bit, as §2.4.2 lists them:
badDataFormat (not a TimeStampReq; an imprint that is not 32 bytes), badRequest (version other than
1), badAlg (an imprint algorithm other than SHA-256), unacceptedPolicy (a reqPolicy other than
ours), unacceptedExtension (any extension: it knows none, and §2.4.2 says to refuse unknown ones).

The policy OID is under 2.25, the UUID arc (ITU-T X.667 / RFC 4122 §C): an OID anyone may form
from a UUID they generated, without registering an enterprise number.
``2.25.323082140876332494237878851316301242128`` is UUID f30f5b61-cc94-4b47-8c5c-51d8e2d91f10
and names "the govhub hub's message-log time-stamping policy, version 1".
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

POLICY_OID = "2.25.323082140876332494237878851316301242128"
SHA256_LENGTH = 32


class TimeStampResp(core.Sequence):
    """RFC 3161 §2.4.2 TimeStampResp. asn1crypto's ``tsp.TimeStampResp`` makes the token mandatory,
    which a rejection (no token) cannot be, so this one marks it optional as the RFC does."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class Clock(Protocol):
    """What the authority needs of ``domain.shared.clock.Clock``."""

    def now(self) -> datetime: ...


class Refusal(Exception):
    """Why a request gets no token: the failInfo bit (asn1crypto's name for it) and a short text."""

    def __init__(self, fail_info: str, text: str) -> None:
        super().__init__(f"{fail_info}: {text}")
        self.fail_info = fail_info  # bad_alg | bad_request | bad_data_format | unaccepted_policy | ...
        self.text = text


def load_certificate(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def is_timestamping_certificate(certificate: x509.Certificate) -> bool:
    """Has the extended key usage timeStamping (RFC 3161 §2.3)."""
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.TIME_STAMPING in eku.value


def signature_algorithm(public_key) -> str:
    """asn1crypto's name of the signature algorithm a SignerInfo carries for this key."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "sha256_ecdsa"
    if isinstance(public_key, rsa.RSAPublicKey):
        return "sha256_rsa"
    raise ValueError(f"unsupported TSA key type {type(public_key).__name__}: use EC or RSA")


def parse_request(der: bytes, policy: str = POLICY_OID) -> tsp.TimeStampReq:
    """The request, checked; raises ``Refusal`` naming the failInfo bit."""
    try:
        request = tsp.TimeStampReq.load(der, strict=True)
        _ = request.native  # parse everything now: a malformed inner field fails here, not later
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError... on junk
        raise Refusal("bad_data_format", f"not a DER TimeStampReq: {exc}") from None
    if request["version"].native != "v1":
        raise Refusal("bad_request", "version must be 1")
    imprint = request["message_imprint"]
    algorithm = imprint["hash_algorithm"]
    if algorithm["algorithm"].native != "sha256" or algorithm["parameters"].native is not None:
        raise Refusal("bad_alg", "the imprint must be SHA-256")
    if len(imprint["hashed_message"].native) != SHA256_LENGTH:
        raise Refusal("bad_data_format", "a SHA-256 imprint is 32 bytes")
    if request["req_policy"].native is not None and request["req_policy"].dotted != policy:
        raise Refusal("unaccepted_policy", f"the only policy is {policy}")
    if request["extensions"].native is not None:
        raise Refusal("unaccepted_extensions", "no extension is supported")
    return request


class TimeStampAuthority:
    def __init__(self, *, private_key_pem: bytes, certificate_pem: bytes, clock: Clock,
                 policy: str = POLICY_OID) -> None:
        self._key = serialization.load_pem_private_key(private_key_pem, password=None)
        certificate = load_certificate(certificate_pem)
        if certificate.public_key() != self._key.public_key():
            raise ValueError("the TSA certificate is not the private key's")
        if not is_timestamping_certificate(certificate):
            raise ValueError("the TSA certificate lacks the extended key usage timeStamping")
        self._signature_algorithm = signature_algorithm(self._key.public_key())
        self._cert_der = certificate.public_bytes(serialization.Encoding.DER)
        self._cert = asn1_x509.Certificate.load(self._cert_der)
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
        self.policy = policy
        self._clock = clock
        # What every token repeats, encoded once: asn1crypto re-encodes a value built from Python
        # objects at every level it is nested in, and a value read from DER not at all.
        self._tsa_name = _encoded(asn1_x509.GeneralName(name="directory_name", value=self._cert.subject))
        self._ess_attribute = _encoded(cms.CMSAttribute({
            "type": "signing_certificate_v2",
            "values": [{"certs": [{
                "cert_hash": hashlib.sha256(self._cert_der).digest(),
                "issuer_serial": {
                    "issuer": [asn1_x509.GeneralName(name="directory_name", value=self._cert.issuer)],
                    "serial_number": self._cert.serial_number,
                },
            }]}],
        }))
        self._sid = _encoded(cms.SignerIdentifier(name="issuer_and_serial_number", value={
            "issuer": self._cert.issuer, "serial_number": self._cert.serial_number}))

    @classmethod
    def from_files(cls, *, private_key: str | Path, certificate: str | Path,
                   clock: Clock) -> TimeStampAuthority:
        return cls(private_key_pem=Path(private_key).read_bytes(),
                   certificate_pem=Path(certificate).read_bytes(), clock=clock)

    def respond(self, request_der: bytes) -> bytes:
        """The DER TimeStampResp to a DER TimeStampReq: granted with a token, or a rejection."""
        try:
            request = parse_request(request_der, self.policy)
        except Refusal as refusal:
            return rejection(refusal)
        token = self.token(request["message_imprint"]["hashed_message"].native,
                           nonce=request["nonce"].native, include_certificate=request["cert_req"].native)
        return TimeStampResp({
            "status": {"status": "granted"},
            "time_stamp_token": cms.ContentInfo.load(token),
        }).dump()

    def token(self, digest: bytes, *, nonce: int | None = None, include_certificate: bool = True) -> bytes:
        """The time-stamp token (DER ContentInfo of the SignedData) over a SHA-256 ``digest``."""
        if len(digest) != SHA256_LENGTH:
            raise ValueError("a SHA-256 digest is 32 bytes")
        now = self._clock.now().astimezone(UTC)
        gen_time = now.replace(microsecond=now.microsecond // 1000 * 1000)
        info = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
            "serial_number": secrets.randbits(128) or 1,
            "gen_time": gen_time,
            "accuracy": {"seconds": 1},
            "tsa": self._tsa_name,
        }
        if nonce is not None:
            info["nonce"] = nonce
        tst_der = tsp.TSTInfo(info).dump()

        signing_time = cms.Time(name="utc_time", value=gen_time.replace(microsecond=0))
        signed_attrs = cms.CMSAttributes([
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "signing_time", "values": [signing_time]},
            {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]},
            self._ess_attribute,
        ])
        signed_attrs_der = signed_attrs.dump()  # the SET OF (tag 0x31), DER-sorted by asn1crypto
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": self._sid,
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": cms.CMSAttributes.load(signed_attrs_der),
            "signature_algorithm": {"algorithm": self._signature_algorithm},
            "signature": self._sign(signed_attrs_der),
        })
        signed_data = {
            "version": "v3",  # eContentType is not id-data (RFC 5652 §5.1)
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(tst_der)},
            "signer_infos": [signer],
        }
        if include_certificate:
            signed_data["certificates"] = [self._cert]
        return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)}).dump()

    def _sign(self, data: bytes) -> bytes:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(hashes.SHA256()))
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _encoded(value):
    """``value`` as if read from its DER: dumped as it is, never encoded again."""
    return type(value).load(value.dump())


def rejection(refusal: Refusal) -> bytes:
    """A TimeStampResp with status rejection, the failInfo bit and the reason as statusString."""
    return TimeStampResp({"status": {
        "status": "rejection",
        "status_string": [refusal.text],
        "fail_info": tsp.PKIFailureInfo({refusal.fail_info}),
    }}).dump()
