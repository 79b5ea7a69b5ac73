"""GOVHUB-SIG-V1, byte for byte: canonical strings, sign/verify, tampering, and the rules."""
from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from domain.nodes import rules, signatures

DOCS = Path(__file__).resolve().parents[2] / "docs" / "nodes.md"

# The test vector published in docs/nodes.md.
VECTOR_BODY = '{"hello":"世界"}'.encode()
VECTOR_STRING = ("GOVHUB-SIG-V1\ndemo.node\nPOST\n/gov/v1/echo?a=0&a=1&b=2\n1767225600\n"
                 "Zm9vYmFyYmF6cXV4MTIzNA\n"
                 "24466f368343e7f19ff9812f46cd548b45100e1dd244815a5549c2c853b331dd")
VECTOR_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/zUV6ajkM7PG34F+Ruu48qslBTtL
nbENyU7LHUZbzBImeOS+PGNZ+j1QYOS3lnjVsyYEt2/LDH13rpCGWA406A==
-----END PUBLIC KEY-----
"""
VECTOR_SIGNATURE = ("MEUCIBtU5VOOyhMQWE4ACbxn1Pymg0jJhIk4aRJn3vM7YmieAiEAzFqAITBtMXKkQYg9G20lg0jZU+I49Roog"
                    "AYsQOi+YH0=")
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _message(**changes) -> str:
    fields = dict(node="demo.node", method="POST", path="/gov/v1/echo", query_string="b=2&a=1&a=0",
                  timestamp="1767225600", nonce="Zm9vYmFyYmF6cXV4MTIzNA", body=VECTOR_BODY)
    fields.update(changes)
    return signatures.string_to_sign(**fields)


def test_the_published_vector_is_built_byte_for_byte():
    assert _message() == VECTOR_STRING
    assert _message(method="post") == VECTOR_STRING  # the method is upper-cased, not trusted as given
    assert len(VECTOR_BODY) == 18


def test_the_published_signature_verifies_and_the_docs_show_the_same_vector():
    key = signatures.load_public_key(VECTOR_PUBLIC_KEY)
    assert signatures.verify(key, VECTOR_STRING, VECTOR_SIGNATURE)
    assert signatures.key_id(key) == "ecffd4126ab74182"
    docs = DOCS.read_text(encoding="utf-8")
    for published in (VECTOR_STRING, VECTOR_PUBLIC_KEY.strip(), VECTOR_SIGNATURE, "ecffd4126ab74182"):
        assert published in docs


@pytest.mark.parametrize(("path", "query", "target"), [
    ("/gov/v1/whoami", "", "/gov/v1/whoami"),
    ("/x", "&&", "/x"),  # an empty query signs as no query
    ("/x", "b=2&a=1&a=0", "/x?a=0&a=1&b=2"),
    ("/x", "a=1&&b", "/x?a=1&b"),  # empty pieces dropped, a bare key kept
    ("/x", "q=%E7%A4%BE&Q=1", "/x?Q=1&q=%E7%A4%BE"),  # still encoded; sorted by code point (Q < q)
    ("/a%2Fb/c", "", "/a%2Fb/c"),  # the path is never decoded
])
def test_canonical_target(path, query, target):
    assert signatures.canonical_target(path, query) == target


def test_an_empty_body_signs_the_digest_of_nothing():
    assert signatures.body_digest(b"") == EMPTY_SHA256
    assert _message(body=b"").endswith("\n" + EMPTY_SHA256)
    assert not _message().endswith("\n")


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def test_sign_then_verify(key):
    message = _message()
    assert signatures.verify(key.public_key(), message, signatures.sign(key, message))


@pytest.mark.parametrize("changes", [
    {"body": b'{"hello":"world"}'},
    {"body": VECTOR_BODY + b" "},
    {"path": "/gov/v1/whoami"},
    {"query_string": "b=3&a=1&a=0"},
    {"method": "PUT"},
    {"timestamp": "1767225601"},
    {"nonce": "Zm9vYmFyYmF6cXV4MTIzNB"},
    {"node": "other.node"},
], ids=lambda c: next(iter(c)))
def test_any_tampering_breaks_the_signature(key, changes):
    signature = signatures.sign(key, _message())
    assert not signatures.verify(key.public_key(), _message(**changes), signature)


def test_another_key_or_garbage_does_not_verify(key):
    message = _message()
    other = ec.generate_private_key(ec.SECP256R1())
    assert not signatures.verify(key.public_key(), message, signatures.sign(other, message))
    for garbage in ("", "not base64!", base64.b64encode(b"\x30\x02\x01\x01").decode(), "A" * 96):
        assert not signatures.verify(key.public_key(), message, garbage)


def test_signed_headers_verify_with_the_same_function(key):
    headers = signatures.signed_headers(private_key=key, node="demo.node", method="GET",
                                        path="/gov/v1/whoami", timestamp=1767225600, nonce="n" * 16)
    assert headers["X-Gov-Timestamp"] == "1767225600" and headers["X-Gov-Nonce"] == "n" * 16
    message = signatures.string_to_sign(node="demo.node", method="GET", path="/gov/v1/whoami",
                                        query_string="", timestamp="1767225600", nonce="n" * 16, body=b"")
    assert signatures.verify(key.public_key(), message, headers["X-Gov-Signature"])
    fresh = signatures.signed_headers(private_key=key, node="demo.node", method="GET", path="/", timestamp=1)
    assert rules.is_nonce(fresh["X-Gov-Nonce"]) and rules.is_signature_text(fresh["X-Gov-Signature"])


def _pem(public_key) -> bytes:
    return signatures.public_key_pem(public_key).encode()


@pytest.mark.parametrize("bad", [
    lambda: _pem(ec.generate_private_key(ec.SECP384R1()).public_key()),
    lambda: _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()),
    lambda: b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    lambda: b"not a key",
], ids=["p384", "rsa", "broken-pem", "text"])
def test_only_p256_public_keys_load(bad):
    with pytest.raises(ValueError):
        signatures.load_public_key(bad())


# --- rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("offset", "fresh"), [(0, True), (300, True), (-300, True), (301, False),
                                               (-301, False), (86400, False)])
def test_timestamp_window_is_300_seconds_either_way(offset, fresh):
    now = 1_767_225_600.0
    assert rules.timestamp_fresh(int(now) + offset, now) is fresh


def test_a_nonce_is_remembered_for_as_long_as_a_replay_could_be_fresh():
    # claimed at now with ts = now - 300; replays stay fresh until ts + 300 = now + 600
    assert rules.nonce_ttl(300) >= 600


@pytest.mark.parametrize(("nonce", "ok"), [
    ("a" * 16, True), ("A-z_0" * 12 + "abcd", True), ("a" * 15, False), ("a" * 65, False),
    ("a" * 15 + "=", False), ("a" * 15 + ":", False), ("a" * 15 + "é", False),
])
def test_nonce_format(nonce, ok):
    assert rules.is_nonce(nonce) is ok


@pytest.mark.parametrize(("raw", "ok"), [("1767225600", True), ("0", True), ("-1", False), ("1.5", False),
                                         ("١٧٦٧", False), ("1" * 13, False), ("", False)])
def test_timestamp_format(raw, ok):
    assert rules.is_timestamp(raw) is ok


def test_registration_problems_name_each_bad_field():
    assert rules.registration_problems(code="gd.province", kind="province", name="广东省",
                                       region_code="440000000000") == []
    problems = rules.registration_problems(code="x", kind="city", name=" ", region_code="4400")
    assert [p["field"] for p in problems] == ["code", "kind", "name", "region_code"]
    assert rules.registration_problems(code="GovHub", kind="department", name="n",
                                       region_code="110000000000")[0]["field"] == "code"
    assert rules.is_node_code("91110000000000000X") and not rules.is_node_code("a:b.c")
