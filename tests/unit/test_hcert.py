"""HC1 health passes: issued by domain/health/hcert.py, verified by verifier/hcert.py, and — for
interoperability — credentials built here by hand from the hcert specification's published
structure (CWT claims iss=1, exp=4, iat=6, hcert=-260; COSE_Sign1, tag 18) with cbor2 and
cryptography only, which the verifier must accept like any other party's."""
from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import base45
import cbor2
import pytest
from asn1crypto import algos as asn1_algos
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from tongsuopy.crypto import hashes as sm_hashes
from tongsuopy.crypto import serialization as sm_serialization
from tongsuopy.crypto.asymciphers import ec as sm_ec

from domain.health import hcert as issuing
from verifier.hcert import Refused, decode, kid_of, verify

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def _certificate(key, *, start=NOW - timedelta(days=30), end=NOW + timedelta(days=365)):
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "330000 health code signer")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .sign(key, hashes.SHA256()))
    return cert, cert.public_bytes(serialization.Encoding.DER)


class Signer:
    def __init__(self, key, **validity) -> None:
        self.key = key
        self.cert, self.der = _certificate(key, **validity)
        self.kid = kid_of(self.der)
        self.trusted = {self.kid: self.cert}


@pytest.fixture(scope="module")
def es256():
    return Signer(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture(scope="module")
def ps256():
    return Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def _pass(**changes):
    values = {"region": "330000", "colour": "green", "masked_name": issuing.mask_name("张三"),
              "credential_id": "zj-2026-000001", "valid_from": NOW, "valid_until": NOW + timedelta(hours=24)}
    return issuing.HealthPass(**{**values, **changes})


def _issue(signer, alg, **changes):
    return issuing.issue(_pass(**changes), issued_at=NOW, private_key=signer.key, certificate_der=signer.der,
                         alg=alg)


# --- by hand, from the specification ------------------------------------------------------

def _sign_raw(key, alg_id: int, message: bytes) -> bytes:
    if alg_id == -7:
        r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert alg_id == -37
    return key.sign(message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())


def _wrap(cose: bytes) -> str:
    return "HC1:" + base45.b45encode(zlib.compress(cose, 9)).decode()


def hand_made(key, kid: bytes, alg_id: int, *, claims=None, kid_in="protected", tagged=True) -> str:
    if claims is None:
        claims = {1: "CN", 4: int((NOW + timedelta(days=1)).timestamp()), 6: int(NOW.timestamp()),
                  -260: {1: {"ver": "1.3.0", "nam": {"fn": "Mustermann", "fnt": "MUSTERMANN"},
                             "dob": "1964-08-12",
                             "t": [{"tg": "840539006", "tt": "LP6464-4", "tr": "260415000",
                                    "sc": "2026-11-27T10:00:00Z", "co": "CN", "is": "CN",
                                    "ci": "URN:UVCI:01:CN:TEST#X"}]}}}
    protected = cbor2.dumps({1: alg_id, 4: kid} if kid_in == "protected" else {1: alg_id})
    unprotected = {} if kid_in == "protected" else {4: kid}
    payload = cbor2.dumps(claims)
    signature = _sign_raw(key, alg_id, cbor2.dumps(["Signature1", protected, b"", payload]))
    body = [protected, unprotected, payload, signature]
    return _wrap(cbor2.dumps(cbor2.CBORTag(18, body) if tagged else body))


def _parts(hc1: str) -> list:
    item = cbor2.loads(zlib.decompress(base45.b45decode(hc1[4:])))
    return list(item.value)


def _rebuild(parts) -> str:
    return _wrap(cbor2.dumps(cbor2.CBORTag(18, [parts[0], dict(parts[1]), parts[2], parts[3]])))


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


def _refused(code: str, hc1: str, trusted, at=LATER) -> Refused:
    with pytest.raises(Refused) as caught:
        verify(hc1, trusted=trusted, at=at)
    assert caught.value.code == code, caught.value
    assert caught.value.reason
    return caught.value


# --- round trips ----------------------------------------------------------------------------

@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_issue_then_verify(alg, es256, ps256):
    signer = es256 if alg == "ES256" else ps256
    hc1 = _issue(signer, alg)
    assert hc1.startswith("HC1:")
    done = verify(hc1, trusted=signer.trusted, at=LATER)
    assert (done.alg, done.kid, done.issuer, done.kind) == (alg, signer.kid, "330000", "health_code")
    assert done.content == {"v": 1, "t": "health_code", "reg": "330000", "col": "green", "nam": "张*",
                            "id": "zj-2026-000001", "vf": "2026-11-28T02:00:00Z",
                            "vu": "2026-11-29T02:00:00Z"}
    assert (done.issued_at, done.expires_at) == (NOW, NOW + timedelta(hours=24))
    # also trusted as a bare public key
    assert verify(hc1, trusted={signer.kid: signer.key.public_key()}, at=LATER).alg == alg


def test_the_issued_structure_is_the_specifications(es256):
    parts = decode(_issue(es256, "ES256"))
    assert cbor2.loads(parts.protected_bytes) == {1: -7, 4: es256.kid} and parts.kid_protected
    assert parts.unprotected == {} and len(parts.signature) == 64  # r || s, not DER
    assert set(parts.claims) == {1, 4, 6, -260} and set(parts.claims[-260]) == {1}
    assert issuing.kid_of(es256.der) == kid_of(es256.der) == es256.kid and len(es256.kid) == 8


def _sm2_certificate(key) -> bytes:
    """A self-signed SM2 certificate (cryptography cannot build one; asn1crypto and tongsuopy can)."""
    spki = key.public_key().public_bytes(sm_serialization.Encoding.DER,
                                         sm_serialization.PublicFormat.SubjectPublicKeyInfo)
    alg = asn1_algos.SignedDigestAlgorithm({"algorithm": "1.2.156.10197.1.501"})  # SM2 with SM3
    name = asn1_x509.Name.build({"common_name": "330000 SM2 health code signer"})
    tbs = asn1_x509.TbsCertificate({
        "version": "v3", "serial_number": 7, "signature": alg, "issuer": name, "subject": name,
        "validity": {"not_before": asn1_x509.Time({"utc_time": NOW - timedelta(days=30)}),
                     "not_after": asn1_x509.Time({"utc_time": NOW + timedelta(days=365)})},
        "subject_public_key_info": asn1_keys.PublicKeyInfo.load(spki)})
    signature = key.sign(tbs.dump(), sm_ec.ECDSA(sm_hashes.SM3()))
    return asn1_x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": alg,
                                  "signature_value": signature}).dump()


def test_sm2_round_trip_and_its_private_use_algorithm(es256):
    key = sm_ec.generate_private_key(sm_ec.SM2())
    der = _sm2_certificate(key)
    hc1 = issuing.issue(_pass(), issued_at=NOW, private_key=key, certificate_der=der, alg="SM2-SM3")
    assert decode(hc1).alg == -65601
    for entry in (x509.load_der_x509_certificate(der), key.public_key()):
        assert verify(hc1, trusted={kid_of(der): entry}, at=LATER).alg == "SM2-SM3"
    # an SM2 key is not an ES256 key, nor the other way round
    _refused("alg_not_allowed", hc1, {kid_of(der): es256.key.public_key()})
    sm2_claimed = _parts(_issue(es256, "ES256"))
    sm2_claimed[0] = cbor2.dumps({1: -65601, 4: es256.kid})
    _refused("alg_not_allowed", _rebuild(sm2_claimed), es256.trusted)


# --- interoperability: built by hand from the specification ---------------------------------

@pytest.mark.parametrize("alg_id, name", [(-7, "ES256"), (-37, "PS256")])
@pytest.mark.parametrize("kid_in", ["protected", "unprotected"])
@pytest.mark.parametrize("tagged", [True, False])
def test_a_credential_made_by_another_party_verifies(alg_id, name, kid_in, tagged, es256, ps256):
    signer = es256 if alg_id == -7 else ps256
    hc1 = hand_made(signer.key, signer.kid, alg_id, kid_in=kid_in, tagged=tagged)
    done = verify(hc1, trusted=signer.trusted, at=LATER)
    assert (done.alg, done.issuer, done.kind) == (name, "CN", None)
    assert done.content["nam"]["fn"] == "Mustermann"
    assert decode(hc1).kid_protected is (kid_in == "protected")


def test_a_hand_made_health_pass_verifies(es256):
    claims = {1: "440000", 4: int((NOW + timedelta(hours=12)).timestamp()), 6: int(NOW.timestamp()),
              -260: {1: {"v": 1, "t": "health_code", "reg": "440000", "col": "yellow", "nam": "李*",
                         "id": "gd-1", "vf": "2026-11-28T02:00:00Z", "vu": "2026-11-28T14:00:00Z"}}}
    done = verify(hand_made(es256.key, es256.kid, -7, claims=claims), trusted=es256.trusted, at=LATER)
    assert (done.kind, done.content["col"], done.issuer) == ("health_code", "yellow", "440000")


# --- refusals -----------------------------------------------------------------------------------

def test_bad_prefix(es256):
    hc1 = _issue(es256, "ES256")
    for text in ("HC2:" + hc1[4:], hc1[4:], "hc1:" + hc1[4:], ""):
        _refused("bad_prefix", text, es256.trusted)


def test_bad_base45(es256):
    hc1 = _issue(es256, "ES256")
    # a character outside the alphabet (lower case, ~), a length of 3n+1, a triple above 0xFFFF
    for text in (hc1[:10] + "a" + hc1[11:], hc1[:10] + "~" + hc1[11:], "HC1:AAAA", "HC1:GGW"):
        _refused("bad_base45", text, es256.trusted)


def test_changing_the_base45_text_is_refused(es256):
    hc1 = _issue(es256, "ES256")
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    for index in range(4, len(hc1), 7):
        other = alphabet[(alphabet.index(hc1[index]) + 1) % 45]
        with pytest.raises(Refused):
            verify(hc1[:index] + other + hc1[index + 1:], trusted=es256.trusted, at=LATER)


def test_bad_zlib_and_zip_bombs(es256):
    cose = zlib.decompress(base45.b45decode(_issue(es256, "ES256")[4:]))
    _refused("bad_zlib", "HC1:" + base45.b45encode(cose).decode(), es256.trusted)  # not compressed
    _refused("bad_zlib", "HC1:" + base45.b45encode(zlib.compress(cose)[:-6]).decode(), es256.trusted)  # cut
    _refused("bad_zlib", "HC1:" + base45.b45encode(zlib.compress(cose) + b"x").decode(), es256.trusted)
    bomb = zlib.compress(b"\0" * 5_000_000, 9)
    _refused("too_large", "HC1:" + base45.b45encode(bomb).decode(), es256.trusted)
    _refused("too_large", "HC1:" + "0" * 20_000, es256.trusted)


def test_not_cose_sign1(es256):
    parts = _parts(_issue(es256, "ES256"))
    for item in (cbor2.CBORTag(98, [parts[0], {}, parts[2], [[b"", {}, parts[3]]]]),  # COSE_Sign
                 cbor2.CBORTag(17, [parts[0], {}, parts[2], parts[3]]),  # COSE_Mac0
                 {"not": "cose"}, [parts[0], {}, parts[2]], [parts[0], {}, None, parts[3]]):
        _refused("not_cose_sign1", _wrap(cbor2.dumps(item)), es256.trusted)
    _refused("not_cose_sign1", _wrap(b"\xff\xfe"), es256.trusted)


def test_bad_headers(es256):
    parts = _parts(_issue(es256, "ES256"))
    for protected in (cbor2.dumps({4: es256.kid}), cbor2.dumps({1: -7}), cbor2.dumps([1, 2]), b"\xa1",
                      cbor2.dumps({1: -7, 4: es256.kid, 2: [99]})):
        _refused("bad_header", _rebuild([protected, {}, parts[2], parts[3]]), es256.trusted)


def test_unknown_or_wrong_kid(es256, ps256):
    hc1 = _issue(es256, "ES256")
    _refused("unknown_kid", hc1, ps256.trusted)
    parts = _parts(hc1)
    parts[0] = cbor2.dumps({1: -7, 4: _flip(es256.kid, 7)})
    _refused("unknown_kid", _rebuild(parts), es256.trusted)
    # the kid of another trusted signer: its key does not match the signature
    parts[0] = cbor2.dumps({1: -7, 4: ps256.kid})
    _refused("alg_not_allowed", _rebuild(parts), {**es256.trusted, **ps256.trusted})
    other = Signer(ec.generate_private_key(ec.SECP256R1()))
    parts[0] = cbor2.dumps({1: -7, 4: other.kid})
    _refused("bad_signature", _rebuild(parts), {**es256.trusted, **other.trusted})


def test_a_key_used_with_another_algorithm_is_refused(es256, ps256):
    parts = _parts(_issue(es256, "ES256"))
    for alg_id in (-37, -65601):  # the P-256 key claimed as PS256, as SM2
        parts[0] = cbor2.dumps({1: alg_id, 4: es256.kid})
        _refused("alg_not_allowed", _rebuild(parts), es256.trusted)
    parts[0] = cbor2.dumps({1: -8, 4: es256.kid})  # EdDSA: not accepted at all
    _refused("alg_not_allowed", _rebuild(parts), es256.trusted)
    rsa_as_es256 = hand_made(ps256.key, ps256.kid, -37)
    parts = _parts(rsa_as_es256)
    parts[0] = cbor2.dumps({1: -7, 4: ps256.kid})
    _refused("alg_not_allowed", _rebuild(parts), ps256.trusted)
    weak = Signer(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    _refused("alg_not_allowed", hand_made(weak.key, weak.kid, -37), weak.trusted)


@pytest.mark.parametrize("alg", ["ES256", "PS256"])
def test_tampering_with_every_part(alg, es256, ps256):
    signer = es256 if alg == "ES256" else ps256
    parts = _parts(_issue(signer, alg))
    # the protected header: another parameter added, same alg and kid
    protected = cbor2.loads(parts[0])
    _refused("bad_signature", _rebuild([cbor2.dumps({**protected, 3: "application/cwt"}), {}, *parts[2:]]),
             signer.trusted)
    # ... and every byte of it flipped: never accepted
    for index in range(len(parts[0])):
        with pytest.raises(Refused):
            verify(_rebuild([_flip(parts[0], index), {}, *parts[2:]]), trusted=signer.trusted, at=LATER)
    # the payload: every byte flipped
    for index in range(len(parts[2])):
        _refused("bad_signature", _rebuild([parts[0], {}, _flip(parts[2], index), parts[3]]), signer.trusted)
    # red to green, same length
    red = _parts(_issue(signer, alg, colour="red"))
    assert b"red" in red[2]
    swapped = red[2].replace(b"\x63col\x63red", b"\x63col\x65green")
    _refused("bad_signature", _rebuild([red[0], {}, swapped, red[3]]), signer.trusted)
    # the signature
    for index in (0, 31, 32, len(parts[3]) - 1):
        _refused("bad_signature", _rebuild([*parts[:3], _flip(parts[3], index)]), signer.trusted)
    _refused("bad_signature", _rebuild([*parts[:3], parts[3][:-1]]), signer.trusted)
    _refused("bad_signature", _rebuild([*parts[:3], b""]), signer.trusted)


def test_an_unprotected_kid_cannot_override_the_protected_one(es256, ps256):
    parts = _parts(_issue(es256, "ES256"))
    parts[1] = {4: ps256.kid}
    assert verify(_rebuild(parts), trusted={**es256.trusted, **ps256.trusted}, at=LATER).kid == es256.kid


def test_expiry_and_not_yet_valid(es256):
    hc1 = _issue(es256, "ES256")
    exp = NOW + timedelta(hours=24)
    assert verify(hc1, trusted=es256.trusted, at=exp - timedelta(seconds=1))
    _refused("expired", hc1, es256.trusted, at=exp)
    _refused("expired", hc1, es256.trusted, at=exp + timedelta(days=3))
    assert verify(hc1, trusted=es256.trusted, at=NOW - timedelta(minutes=4))  # within the clock skew
    _refused("not_yet_valid", hc1, es256.trusted, at=NOW - timedelta(minutes=6))
    _refused("not_yet_valid", hc1, es256.trusted, at=NOW - timedelta(days=1))
    # a pass whose own window starts later than its issue
    later_pass = _issue(es256, "ES256", valid_from=NOW + timedelta(hours=2))
    _refused("not_yet_valid", later_pass, es256.trusted, at=LATER)
    assert verify(later_pass, trusted=es256.trusted, at=NOW + timedelta(hours=2))
    with pytest.raises(ValueError):
        verify(hc1, trusted=es256.trusted, at=datetime(2026, 11, 28, 3, 0))  # naive: refused to guess


def test_the_signer_certificate_must_be_valid_when_issued():
    signer = Signer(ec.generate_private_key(ec.SECP256R1()), start=NOW + timedelta(days=1))
    _refused("key_not_valid", _issue(signer, "ES256"), signer.trusted)


def _claims(**changes):
    claims = {1: "330000", 4: int((NOW + timedelta(hours=24)).timestamp()), 6: int(NOW.timestamp()),
              -260: {1: {"v": 1, "t": "health_code", "reg": "330000", "col": "green", "nam": "张*",
                         "id": "x-1", "vf": "2026-11-28T02:00:00Z", "vu": "2026-11-29T02:00:00Z"}}}
    for key, value in changes.items():
        label = {"iss": 1, "exp": 4, "iat": 6, "hcert": -260}[key]
        if value is None:
            del claims[label]
        else:
            claims[label] = value
    return claims


@pytest.mark.parametrize("changes", [{"exp": None}, {"iat": None}, {"hcert": None}, {"hcert": {2: {}}},
                                     {"hcert": {1: {"v": 1, "t": "health_code", "reg": "330000"}}}])
def test_missing_claims(changes, es256):
    _refused("missing_claims", hand_made(es256.key, es256.kid, -7, claims=_claims(**changes)), es256.trusted)


@pytest.mark.parametrize("changes", [{"exp": "tomorrow"}, {"iat": 1.5}, {"iss": 330000}, {"hcert": {1: "x"}},
                                     {"iss": "110000"}])
def test_bad_claims(changes, es256):
    _refused("bad_claims", hand_made(es256.key, es256.kid, -7, claims=_claims(**changes)), es256.trusted)


def test_a_payload_that_is_not_a_cwt(es256):
    for claims in ([1, 2, 3], "text"):
        _refused("bad_payload", hand_made(es256.key, es256.kid, -7, claims=claims), es256.trusted)


def test_the_issuer_refuses_what_must_not_be_carried():
    for changes in ({"masked_name": "张三丰"}, {"masked_name": "110101199003070000"}, {"colour": "blue"},
                    {"region": "Zhejiang"}, {"valid_until": NOW}, {"credential_id": ""}):
        with pytest.raises(ValueError):
            issuing.build_health_pass(_pass(**changes))
    assert issuing.mask_name("欧阳娜娜") == "欧***"
    with pytest.raises(ValueError):
        issuing.issue(_pass(), issued_at=NOW, private_key=ec.generate_private_key(ec.SECP256R1()),
                      certificate_der=b"x", alg="PS256")
