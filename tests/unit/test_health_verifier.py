"""The stand-alone health verifier (verifier/health.py): the signed lists (pin, type, staleness,
deltas), the signer's bindings (region, credential type, validity, revocation, rotation),
revoked codes, tampering, and signers imported by hand. Rules: test_health_verifier_rules.py;
cache and CLI: test_health_verifier_cache.py."""
from __future__ import annotations

import zlib
from datetime import datetime, timedelta

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.health_verifier_world import (
    BJ,
    NOW,
    ZJ,
    Anchor,
    Signer,
    batch,
    certificate,
    cose_parts,
    credential_id_of,
    hand_made,
    health_pass,
    iso,
    rebuild,
    wrap,
)
from verifier.health import REVOCATIONS, RULES, TRUST, HealthVerifier, credential_hash

LATER = NOW + timedelta(hours=1)


@pytest.fixture(scope="module")
def anchor():
    return Anchor()


@pytest.fixture(scope="module")
def es256():
    return Signer("ES256")


@pytest.fixture(scope="module")
def ps256():
    return Signer("PS256")


def _check(verifier, hc1, region=ZJ, at=LATER):
    return verifier.verify(hc1, checkpoint_region=region, at=at)


def _invalid(verifier, hc1, code, region=ZJ, at=LATER):
    decision = _check(verifier, hc1, region, at)
    assert (decision.result, decision.code) == ("invalid", code), decision
    assert " / " in decision.reason and decision.reason.split(" / ")[1]
    return decision


# --- accepted ---------------------------------------------------------------------------------

def test_a_green_code_is_accepted_with_what_a_checkpoint_shows(anchor, es256):
    verifier = anchor.verifier([es256.entry()])
    hc1 = es256.issue()
    decision = _check(verifier, hc1, BJ)  # a Zhejiang code at a Beijing checkpoint without rules
    assert (decision.result, decision.code, decision.rules) == ("accepted", "ok", [])
    assert decision.reason == "健康码有效，准予通行 / a valid green code"
    assert (decision.issued_colour, decision.colour, decision.issuer_region, decision.masked_name) == \
        ("green", "green", ZJ, "张*")
    assert decision.valid_until == iso(NOW + timedelta(hours=24)) and decision.checked_at == iso(LATER)
    assert decision.credential_hash == credential_hash(credential_id_of(hc1)) and len(decision.credential_hash) == 32
    assert (decision.kid, decision.key_source) == (es256.kid.hex(), "downloaded")
    assert decision.as_dict()["result"] == "accepted"


def test_codes_made_by_hand_and_by_every_algorithm_verify(anchor, es256, ps256):
    sm2 = Signer("SM2-SM3")
    verifier = anchor.verifier([es256.entry(), ps256.entry(), sm2.entry(BJ)])
    for hc1, region in ((hand_made(es256, health_pass()), ZJ), (hand_made(ps256, health_pass()), ZJ),
                        (ps256.issue(), ZJ), (sm2.issue(region=BJ), BJ)):
        decision = _check(verifier, hc1)
        assert (decision.result, decision.issuer_region) == ("accepted", region), decision


def test_a_yellow_or_red_code_is_refused_where_there_are_no_rules(anchor, es256):
    verifier = anchor.verifier([es256.entry()])
    for colour in ("yellow", "red"):
        decision = _check(verifier, es256.issue(colour=colour))
        assert (decision.result, decision.code, decision.colour) == ("refused", "colour_not_green", colour)
        assert decision.reason.startswith("健康码不是绿码 / ")


def test_at_in_the_past_and_the_future(anchor, es256):
    verifier = anchor.verifier([es256.entry()])
    hc1 = es256.issue(hours=24)
    assert _check(verifier, hc1, at=NOW + timedelta(hours=23, minutes=59)).result == "accepted"
    _invalid(verifier, hc1, "expired", at=NOW + timedelta(hours=24))
    _invalid(verifier, hc1, "not_yet_valid", at=NOW - timedelta(hours=1))
    with pytest.raises(ValueError):
        _check(verifier, hc1, at=datetime(2026, 12, 6, 9, 0))  # naive: refused to guess


def test_an_hc1_credential_that_is_not_a_health_pass_is_invalid(anchor, es256):
    verifier = anchor.verifier([es256.entry()])
    content = {"ver": "1.3.0", "reg": ZJ, "vu": iso(NOW + timedelta(days=1)), "nam": {"fn": "Mustermann"}}
    _invalid(verifier, hand_made(es256, content), "not_health_code")


# --- the signer's bindings -------------------------------------------------------------------

def test_a_key_of_another_region(anchor, es256):
    verifier = anchor.verifier([es256.entry(BJ)])
    decision = _invalid(verifier, es256.issue(region=ZJ), "key_not_for_region")
    assert decision.issued_colour is None  # nothing of a code its signer may not sign is shown
    assert _check(verifier, es256.issue(region=BJ)).result == "accepted"


def test_a_key_used_for_a_type_it_may_not_sign(anchor, es256):
    verifier = anchor.verifier([es256.entry(types=["vaccination_record"])])
    _invalid(verifier, es256.issue(), "key_not_for_type")


def test_key_rotation_old_codes_verify_until_the_old_keys_valid_until(anchor, es256):
    new = Signer("ES256")
    retired = NOW + timedelta(days=2)
    verifier = anchor.verifier([es256.entry(valid_until=retired), new.entry(valid_from=NOW)])
    old_code = es256.issue(hours=96)
    assert _check(verifier, old_code, at=NOW + timedelta(days=1)).result == "accepted"
    assert _check(verifier, old_code, at=retired - timedelta(seconds=1)).result == "accepted"
    _invalid(verifier, old_code, "key_expired", at=retired)
    assert _check(verifier, new.issue(issued_at=retired), at=retired + timedelta(hours=1)).result == "accepted"
    _invalid(verifier, es256.issue(issued_at=retired), "key_not_valid", at=retired + timedelta(hours=1))
    _invalid(verifier, new.issue(issued_at=NOW - timedelta(hours=1)), "key_not_valid")  # before its valid_from


def test_a_revoked_key_keeps_the_codes_issued_before_its_revocation(anchor, es256):
    revoked_at = NOW + timedelta(hours=1)
    verifier = anchor.verifier([es256.entry(status="revoked", revoked_at=revoked_at)])
    at = NOW + timedelta(hours=3)
    assert _check(verifier, es256.issue(issued_at=NOW), at=at).result == "accepted"
    _invalid(verifier, es256.issue(issued_at=revoked_at), "key_revoked", at=at)
    _invalid(verifier, es256.issue(issued_at=NOW + timedelta(hours=2)), "key_revoked", at=at)
    without_moment = anchor.verifier([es256.entry(status="revoked", revoked_at=None)])
    _invalid(without_moment, es256.issue(), "key_revoked")


# --- revoked codes -----------------------------------------------------------------------------

def test_a_revoked_code_and_a_deleted_batch(anchor, es256):
    hc1, other = es256.issue(), es256.issue()
    verifier = anchor.verifier([es256.entry()], revocations=[batch("b" * 32, [credential_id_of(hc1)])])
    decision = _invalid(verifier, hc1, "revoked")
    assert decision.reason == "健康码已被撤销 / the code has been revoked"
    assert decision.credential_hash == credential_hash(credential_id_of(hc1)) and decision.issued_colour == "green"
    assert _check(verifier, other).result == "accepted"
    held = verifier.held_seq[REVOCATIONS]
    verifier.load_revocations(anchor.page(REVOCATIONS, [batch("b" * 32, [], deleted=True)], since=held))
    assert _check(verifier, hc1).result == "accepted"


def test_a_batch_revokes_only_codes_of_its_own_region(anchor, es256):
    hc1 = es256.issue()
    verifier = anchor.verifier([es256.entry()], revocations=[batch("c" * 32, [credential_id_of(hc1)], region=BJ)])
    assert _check(verifier, hc1).result == "accepted"


# --- tampering -----------------------------------------------------------------------------------

def test_tampering_with_every_part_is_invalid(anchor, es256):
    verifier = anchor.verifier([es256.entry()])
    hc1 = es256.issue(colour="red")
    parts = cose_parts(hc1)
    cose = zlib.decompress(base45.b45decode(hc1[4:]))
    cases = {
        "bad_prefix": ["HC2:" + hc1[4:], hc1[4:]],
        "bad_base45": [hc1[:20] + "a" + hc1[21:]],
        "bad_zlib": ["HC1:" + base45.b45encode(cose).decode(),
                     "HC1:" + base45.b45encode(zlib.compress(cose)[:-5]).decode()],
        "bad_header": [rebuild([cbor2.dumps({4: es256.kid}), {}, *parts[2:]])],
        "bad_signature": [rebuild([cbor2.dumps({1: -7, 4: es256.kid, 3: "x"}), {}, *parts[2:]]),
                          rebuild([parts[0], {}, parts[2].replace(b"\x63red", b"\x63RED"), parts[3]]),
                          rebuild([*parts[:3], parts[3][:-1] + bytes([parts[3][-1] ^ 1])])],
        "unknown_kid": [rebuild([cbor2.dumps({1: -7, 4: b"\0" * 8}), {}, *parts[2:]])],
        "not_cose_sign1": [wrap(cbor2.dumps(["not", "cose"]))],
    }
    for code, variants in cases.items():
        for variant in variants:
            _invalid(verifier, variant, code)
    green = rebuild([parts[0], {}, parts[2].replace(b"\x63col\x63red", b"\x63col\x65green"), parts[3]])
    _invalid(verifier, green, "bad_signature")


# --- the signed lists ------------------------------------------------------------------------------

def test_a_list_not_signed_by_the_pinned_anchor_is_refused(anchor, es256):
    stranger = Anchor()
    verifier = HealthVerifier(anchor=anchor.anchor, pin=anchor.pin)
    forged = stranger.page(TRUST, [es256.entry()])
    with pytest.raises(ValueError, match="pinned trust anchor"):
        verifier.load_trust_list(forged)
    with pytest.raises(ValueError, match="signature"):  # the stranger's signature claiming our key id
        verifier.load_trust_list({**forged, "key_id": anchor.anchor["key_id"]})
    honest = anchor.page(TRUST, [es256.entry()])
    with pytest.raises(ValueError, match="signature"):  # changed after signing
        verifier.load_trust_list({**honest, "payload": {**honest["payload"], "seq": 99}})
    with pytest.raises(ValueError, match="not a govhub-health-rules"):  # the right signature, another list
        verifier.load_rules(honest)
    for broken in (None, {}, {**honest, "signature": "!!"}):
        with pytest.raises(ValueError):
            verifier.load_trust_list(broken)
    assert verifier.entries[TRUST] == {} and verifier.envelopes[TRUST] == []
    with pytest.raises(ValueError):
        HealthVerifier(anchor=anchor.anchor, pin=stranger.pin)


def test_a_stale_list_is_refused(anchor, es256):
    verifier = HealthVerifier(anchor=anchor.anchor, pin=anchor.pin)
    old = anchor.page(TRUST, [es256.entry(seq=3)])
    verifier.load_trust_list(anchor.page(TRUST, [es256.entry(status="revoked", revoked_at=NOW, seq=5)]))
    with pytest.raises(ValueError, match="stale .* seq 3 is older than the seq 5"):
        verifier.load_trust_list(old)
    assert verifier.entries[TRUST][es256.kid]["status"] == "revoked"


def test_deltas_and_pages_merge_by_key(anchor, es256, ps256):
    verifier = HealthVerifier(anchor=anchor.anchor, pin=anchor.pin)
    verifier.load_trust_list(anchor.page(TRUST, [es256.entry(seq=1)], seq=2, more=True))
    assert verifier.held_seq[TRUST] == 1  # the page's last entry, not the list's newest seq
    with pytest.raises(ValueError, match="starts after what is held"):
        verifier.load_trust_list(anchor.page(TRUST, [ps256.entry(seq=3)], since=2))
    verifier.load_trust_list(anchor.page(TRUST, [ps256.entry(seq=2)], since=1))
    assert verifier.held_seq[TRUST] == 2 and set(verifier.entries[TRUST]) == {es256.kid, ps256.kid}
    verifier.load_trust_list(anchor.page(TRUST, [es256.entry(status="revoked", revoked_at=NOW, seq=4)], since=2))
    # an older version of an entry, in a page that is not stale, never replaces a newer one
    verifier.load_trust_list(anchor.page(TRUST, [es256.entry(seq=1)], since=0, seq=4))
    assert verifier.entries[TRUST][es256.kid]["status"] == "revoked" and verifier.held_seq[TRUST] == 4
    verifier.load_trust_list(anchor.page(TRUST, [], since=4, seq=4))  # nothing new
    assert len(verifier.envelopes[TRUST]) == 4 and verifier.newest_seq[TRUST] == 4
    rules = [anchor.page(RULES, [{"identifier": "AR-1", "version": 1, "region": BJ, "type": "acceptance",
                                  "logic": True, "valid_from": iso(NOW), "valid_until": iso(LATER), "seq": 1}])]
    verifier.load_rules(rules[0])
    assert list(verifier.entries[RULES]) == [("AR-1", 1)]


def test_malformed_entries_are_refused_whole(anchor, es256, ps256):
    verifier = HealthVerifier(anchor=anchor.anchor, pin=anchor.pin)
    for entry in ({**es256.entry(), "kid": ps256.entry()["kid"]}, {**es256.entry(), "alg": "PS256"},
                  {**es256.entry(), "region": "Zhejiang"}, {**es256.entry(), "certificate": "AAAA"},
                  {**es256.entry(), "status": "unknown"}):
        with pytest.raises(ValueError):
            verifier.load_trust_list(anchor.page(TRUST, [ps256.entry(seq=1), {**entry, "seq": 2}]))
    assert verifier.entries[TRUST] == {}


# --- signers imported by hand --------------------------------------------------------------------

def test_imported_certificates_verify_their_own_codes(anchor, es256, tmp_path):
    own_es, own_ps = Signer("ES256"), Signer("PS256")  # in no list
    verifier = anchor.verifier([es256.entry()])
    es_code, ps_code = hand_made(own_es, health_pass()), hand_made(own_ps, health_pass(BJ, colour="green"))
    _invalid(verifier, es_code, "unknown_kid")
    der_file = tmp_path / "ps.der"
    der_file.write_bytes(own_ps.der)
    assert verifier.import_certificate(own_es.pem_file(tmp_path), region=ZJ) == own_es.kid.hex()
    assert verifier.import_certificate(der_file, region=BJ) == own_ps.kid.hex()
    for hc1, region in ((es_code, ZJ), (ps_code, BJ)):
        decision = _check(verifier, hc1)
        assert (decision.result, decision.key_source, decision.issuer_region) == ("accepted", "imported", region)
    assert verifier.imported[own_es.kid]["source"] == "imported" and own_es.kid not in verifier.entries[TRUST]
    # a later download of the trust list does not remove them
    verifier.load_trust_list(anchor.page(TRUST, [Signer().entry()], since=verifier.held_seq[TRUST]))
    assert _check(verifier, es_code).result == "accepted"
    # their bindings hold like a downloaded signer's
    _invalid(verifier, hand_made(own_es, health_pass(BJ)), "key_not_for_region")


def test_an_imported_certificates_validity_is_capped(anchor, tmp_path):
    own = Signer("ES256")
    verifier = anchor.verifier()
    verifier.import_certificate(own.pem_file(tmp_path), region=ZJ, valid_until=NOW + timedelta(hours=2))
    assert verifier.imported[own.kid]["valid_until"] == iso(NOW + timedelta(hours=2))
    hc1 = hand_made(own, health_pass())
    assert _check(verifier, hc1, at=LATER).result == "accepted"
    _invalid(verifier, hc1, "key_expired", at=NOW + timedelta(hours=2))
    narrow = verifier.import_certificate(own.pem_file(tmp_path), region=ZJ, credential_types=("vaccination",))
    assert narrow == own.kid.hex()
    _invalid(verifier, hc1, "key_not_for_type")


def test_importing_sm2_and_refusing_what_is_not_a_usable_certificate(anchor, tmp_path):
    sm2 = Signer("SM2-SM3")
    verifier = anchor.verifier()
    der_file = tmp_path / "sm2.cer"
    der_file.write_bytes(sm2.der)
    assert verifier.import_certificate(der_file, region=ZJ) == sm2.kid.hex()
    assert verifier.imported[sm2.kid]["alg"] == "SM2-SM3"
    assert _check(verifier, sm2.issue()).result == "accepted"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    weak = Signer("ES256")
    small = certificate(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    weak_file = tmp_path / "weak.pem"
    weak_file.write_bytes(small.public_bytes(serialization.Encoding.PEM))
    for path, changes in ((garbage, {}), (weak_file, {}), (weak.pem_file(tmp_path), {"region": "Zhejiang"}),
                          (weak.pem_file(tmp_path), {"credential_types": ()})):
        with pytest.raises(ValueError):
            verifier.import_certificate(path, **{"region": ZJ, **changes})
    assert set(verifier.imported) == {sm2.kid}
