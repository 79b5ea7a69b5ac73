"""Checking a time-stamp token against the one trusted TSA certificate (the ``TokenVerifier`` port).

The token is trusted only as far as this certificate: there is no chain to build and no store. What
``verify`` checks, each refusal a ValueError saying which failed:
- a CMS SignedData whose eContentType is id-ct-TSTInfo, with exactly one SignerInfo;
- the TSTInfo is version 1, its imprint SHA-256 and equal to the digest asked about (and, when the
  verifier was given a policy, of that policy); genTime lies within the certificate's validity;
- the signer is the trusted certificate: the SignerInfo names it (issuer and serial, byte for byte,
  or its subject key identifier) and the signed ESS attribute (signingCertificateV2, or the older
  signingCertificate) carries its hash; a certificate the token carries must be that one, DER for
  DER (the hub's TSA sends only its own: a token carrying a chain is refused);
- the parts the signature does not cover are what they must be: SignedData version 3, digest
  algorithms exactly SHA-256, the SignerInfo's version fitting its identifier, algorithm parameters
  absent or NULL — so that no byte of a token can change and the token still pass;
- the content-type attribute is id-ct-TSTInfo, the message-digest attribute is SHA-256 of the
  encapsulated TSTInfo exactly as it travelled;
- the signature (ECDSA or RSA PKCS#1 v1.5, SHA-256) over the DER SET OF signed attributes verifies
  with the certificate's public key; the certificate has the extended key usage timeStamping
  (checked once, when the verifier is made).
"""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from adapters.timestamping.authority import SHA256_LENGTH, is_timestamping_certificate, load_certificate

_ESS_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384,
               "sha512": hashlib.sha512}
_SIGNATURES = {
    # asn1crypto's names of the SignerInfo signatureAlgorithm accepted, per key type
    ec.EllipticCurvePublicKey: {"sha256_ecdsa"},
    rsa.RSAPublicKey: {"sha256_rsa", "rsassa_pkcs1v15"},
}


class _Refused(ValueError):
    """A token read, and found wanting (as opposed to one that could not be read)."""


class TsaVerifier:
    def __init__(self, certificate_pem: bytes, *, policy: str | None = None) -> None:
        """``certificate_pem``: the trusted TSA certificate. ``policy``: the TSTInfo policy OID a
        token must carry; None accepts any."""
        certificate = load_certificate(certificate_pem)
        if not is_timestamping_certificate(certificate):
            raise ValueError("the TSA certificate lacks the extended key usage timeStamping")
        self._certificate = certificate
        self._public_key = certificate.public_key()
        self._signatures = next((names for kind, names in _SIGNATURES.items()
                                 if isinstance(self._public_key, kind)), None)
        if self._signatures is None:
            raise ValueError(f"unsupported TSA key type {type(self._public_key).__name__}")
        self._cert_der = certificate.public_bytes(serialization.Encoding.DER)
        self._cert = asn1_x509.Certificate.load(self._cert_der)
        self._policy = policy

    @classmethod
    def from_file(cls, path: str | Path, *, policy: str | None = None) -> TsaVerifier:
        return cls(Path(path).read_bytes(), policy=policy)

    def verify(self, token: bytes, digest: bytes) -> datetime:
        """The token's genTime (aware UTC) if ``token`` is a valid signature by the trusted TSA
        certificate over exactly this SHA-256 ``digest``; else ValueError saying why."""
        if len(digest) != SHA256_LENGTH:
            raise ValueError("a SHA-256 digest is 32 bytes")
        try:
            return self._verify(token, digest)
        except _Refused:
            raise
        except Exception as exc:  # asn1crypto parses lazily and fails late, with whatever error it meets
            raise ValueError(f"not a time-stamp token: {type(exc).__name__}: {exc}") from None

    def _verify(self, token: bytes, digest: bytes) -> datetime:
        content_info = cms.ContentInfo.load(token, strict=True)
        if content_info["content_type"].native != "signed_data":
            raise _Refused("not a SignedData")
        signed_data = content_info["content"]
        encapsulated = signed_data["encap_content_info"]
        if encapsulated["content_type"].native != "tst_info":
            raise _Refused("eContentType is not id-ct-TSTInfo")
        if isinstance(encapsulated["content"], core.Void):
            raise _Refused("the TSTInfo is missing")
        tst_der = bytes(encapsulated["content"])  # the octets the message-digest attribute covers
        info = tsp.TSTInfo.load(tst_der, strict=True)
        if len(signed_data["signer_infos"]) != 1:
            raise _Refused("a token has exactly one signer")
        signer = signed_data["signer_infos"][0]
        # The signature covers the SET OF attributes as they travelled: taken before anything reads
        # them (asn1crypto fills in defaults as it reads and would then re-encode), its [0] IMPLICIT
        # tag turned back into SET.
        signed_attrs = signer["signed_attrs"]
        if isinstance(signed_attrs, core.Void):
            raise _Refused("the token has no signed attributes")
        signed = b"\x31" + signed_attrs.dump()[1:]
        self._check_envelope(signed_data, signer)

        if info["version"].native != "v1":
            raise _Refused("TSTInfo version is not 1")
        imprint = info["message_imprint"]
        if not _is_sha256(imprint["hash_algorithm"]):
            raise _Refused("the imprint is not SHA-256")
        if imprint["hashed_message"].native != digest:
            raise _Refused("the token is over another digest")
        if self._policy is not None and info["policy"].dotted != self._policy:
            raise _Refused(f"the token's policy is {info['policy'].dotted}, not {self._policy}")
        _ = info.native  # every field well-formed, also those not read here (tsa, extensions)
        gen_time = info["gen_time"].native
        if gen_time.tzinfo is None:
            raise _Refused("genTime is not in UTC")
        gen_time = gen_time.astimezone(UTC)
        if not (self._certificate.not_valid_before_utc <= gen_time <= self._certificate.not_valid_after_utc):
            raise _Refused("genTime lies outside the TSA certificate's validity")

        self._check_signer(signer)
        attributes = _signed_attributes(signer)
        if attributes.get("content_type") != ["tst_info"]:
            raise _Refused("the content-type attribute is not id-ct-TSTInfo")
        if attributes.get("message_digest") != [hashlib.sha256(tst_der).digest()]:
            raise _Refused("the message-digest attribute is not the TSTInfo's")
        self._check_ess(attributes)
        self._check_signature(signer, signed)
        return gen_time

    def _check_envelope(self, signed_data: cms.SignedData, signer: cms.SignerInfo) -> None:
        """What the signature does not cover (RFC 5652 §5.1), held to exactly what it must be."""
        if signed_data["version"].native != "v3":
            raise _Refused("SignedData version is not 3")
        algorithms = signed_data["digest_algorithms"]
        if len(algorithms) != 1 or not _is_sha256(algorithms[0]):
            raise _Refused("the SignedData's digest algorithms are not exactly SHA-256")
        for certificate in signed_data["certificates"] or ():
            if certificate.name != "certificate" or certificate.chosen.dump() != self._cert_der:
                raise _Refused("the token carries another certificate than the trusted TSA's")
        _ = signed_data["crls"].native, signer["unsigned_attrs"].native  # well-formed if present (unused)

    def _check_signer(self, signer: cms.SignerInfo) -> None:
        if not _is_sha256(signer["digest_algorithm"]):
            raise _Refused("the signer's digest algorithm is not SHA-256")
        sid = signer["sid"]
        if sid.name == "issuer_and_serial_number":
            named = (signer["version"].native == "v1"
                     and sid.chosen["issuer"].dump() == self._cert.issuer.dump()
                     and sid.chosen["serial_number"].native == self._cert.serial_number)
        else:  # subject_key_identifier
            named = (signer["version"].native == "v3" and self._cert.key_identifier is not None
                     and sid.chosen.native == self._cert.key_identifier)
        if not named:
            raise _Refused("the token is signed by another certificate than the trusted TSA's")

    def _check_ess(self, attributes: dict[str, list]) -> None:
        """The first ESSCertID(v2) is the signer's (RFC 5035 §5.4, RFC 2634 §5.4)."""
        if "signing_certificate_v2" in attributes:
            first = attributes["signing_certificate_v2"][0]["certs"][0]
            algorithm = first["hash_algorithm"]["algorithm"]
        elif "signing_certificate" in attributes:
            first = attributes["signing_certificate"][0]["certs"][0]
            algorithm = "sha1"
        else:
            raise _Refused("no signing-certificate (ESS) attribute")
        hasher = _ESS_HASHES.get(algorithm)
        if hasher is None:
            raise _Refused(f"unsupported ESS certificate hash {algorithm}")
        if first["cert_hash"] != hasher(self._cert_der).digest():
            raise _Refused("the ESS attribute names another certificate than the trusted TSA's")
        issuer_serial = first.get("issuer_serial")
        if issuer_serial is not None and issuer_serial["serial_number"] != self._cert.serial_number:
            raise _Refused("the ESS attribute names another serial number than the trusted TSA's")

    def _check_signature(self, signer: cms.SignerInfo, signed: bytes) -> None:
        algorithm = signer["signature_algorithm"]["algorithm"].native
        if algorithm not in self._signatures:
            raise _Refused(f"signature algorithm {algorithm} does not fit the TSA's key")
        if signer["signature_algorithm"]["parameters"].native is not None:
            raise _Refused("the signature algorithm has parameters")
        signature = signer["signature"].native
        try:
            if isinstance(self._public_key, ec.EllipticCurvePublicKey):
                self._public_key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
            else:
                self._public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise _Refused("the signature does not verify with the TSA's key") from None


def _is_sha256(algorithm) -> bool:
    """SHA-256, its parameters absent or NULL (RFC 5754 §2)."""
    return algorithm["algorithm"].native == "sha256" and algorithm["parameters"].native is None


def _signed_attributes(signer: cms.SignerInfo) -> dict[str, list]:
    """Signed attributes by name; each may appear once (RFC 5652 §5.3)."""
    attributes: dict[str, list] = {}
    for attribute in signer["signed_attrs"]:
        name = attribute["type"].native
        if name in attributes:
            raise _Refused(f"attribute {name} appears twice")
        attributes[name] = attribute["values"].native
    return attributes
