"""GOVHUB-STMT-V1: statements the hub signs for a node to act on — the string to sign as
docs/housing-fund.md shows it, and every way a statement that is not the hub's is refused."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from domain.nodes import signatures, statements
from domain.nodes.statements import StatementRefused, StatementSigner

DEVKEYS = Path(__file__).resolve().parents[2] / "devkeys"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "housing-fund.md"
HUB_PEM = (DEVKEYS / "hub_node_private.pem").read_bytes()
HUB_PUBLIC = signatures.load_public_key((DEVKEYS / "hub_node_public.pem").read_bytes())
TYPE = "housing_fund.payout"
# The worked example of docs/housing-fund.md.
VECTOR_STATEMENT = '{"amount_fen":100,"payout_id":"po_1"}'
VECTOR_STRING = ("GOVHUB-STMT-V1\nhousing_fund.payout\ngovhub\n"
                 "924930e51ce658d0217bca2d2d742ed7ea2f022038e48e8a01f53dd4d3e15937")


def _signed(claims=None, type=TYPE, pem=HUB_PEM, signer="govhub") -> dict:
    return StatementSigner(pem, signer=signer).sign(type, claims or {"payout_id": "po_1", "amount_fen": 100})


def test_the_string_to_sign_is_the_documented_one():
    assert statements.string_to_sign(type=TYPE, signer="govhub", statement=VECTOR_STATEMENT) == VECTOR_STRING
    docs = DOCS.read_text(encoding="utf-8")  # the docs show this very statement and string
    assert VECTOR_STATEMENT in docs and VECTOR_STRING in docs


def test_a_signed_statement_verifies_and_gives_its_claims():
    envelope = _signed()
    assert set(envelope) == set(statements.FIELDS)
    assert envelope["key_id"] == signatures.key_id(HUB_PUBLIC)
    assert statements.verify(HUB_PUBLIC, envelope, type=TYPE) == {"payout_id": "po_1", "amount_fen": 100}


@pytest.mark.parametrize("spoil, reason", [
    (lambda e: "not an envelope", "malformed"),
    (lambda e: {k: v for k, v in e.items() if k != "signature"}, "malformed"),
    (lambda e: {**e, "scheme": "GOVHUB-SIG-V1"}, "scheme"),
    (lambda e: {**e, "type": "licenses.exchange"}, "type"),
    (lambda e: {**e, "signer": "zj-platform"}, "signer"),
    (lambda e: {**e, "key_id": "0" * 16}, "key"),
    (lambda e: {**e, "statement": e["statement"].replace("100", "999")}, "signature"),
    (lambda e: {**e, "signature": "AAAA"}, "signature"),
    (lambda e: {**e, "statement": "x" * 9000}, "malformed"),
])
def test_anything_but_the_hubs_statement_of_that_type_is_refused(spoil, reason):
    with pytest.raises(StatementRefused) as refused:
        statements.verify(HUB_PUBLIC, spoil(_signed()), type=TYPE)
    assert refused.value.reason == reason


def test_another_key_or_another_signer_or_type_never_passes():
    other = ec.generate_private_key(ec.SECP256R1())
    pem = other.private_bytes(encoding=serialization.Encoding.PEM, format=serialization.PrivateFormat.PKCS8,
                              encryption_algorithm=serialization.NoEncryption())
    forged = {**_signed(pem=pem), "key_id": signatures.key_id(HUB_PUBLIC)}  # claims the hub's key
    with pytest.raises(StatementRefused) as refused:
        statements.verify(HUB_PUBLIC, forged, type=TYPE)
    assert refused.value.reason == "signature"
    as_node = _signed(signer="zj-platform")  # the hub's key, but not signed as the hub
    with pytest.raises(StatementRefused):
        statements.verify(HUB_PUBLIC, {**as_node, "signer": "govhub"}, type=TYPE)
    other_type = _signed(type="licenses.exchange")
    with pytest.raises(StatementRefused):
        statements.verify(HUB_PUBLIC, {**other_type, "type": TYPE}, type=TYPE)


def test_a_request_signature_cannot_pass_for_a_statement():
    """Same key, another string to sign: a signed request's signature over a body is no statement."""
    body = json.dumps({"payout_id": "po_1", "amount_fen": 100}, separators=(",", ":"))
    key = signatures.load_private_key(HUB_PEM)
    request_signature = signatures.signed_headers(private_key=key, node="govhub", method="POST", path="/x",
                                                  body=body.encode(), timestamp=1)["X-Gov-Signature"]
    envelope = {**_signed(), "statement": body, "signature": request_signature}
    with pytest.raises(StatementRefused):
        statements.verify(HUB_PUBLIC, envelope, type=TYPE)


def test_a_signed_text_that_is_no_object_is_refused():
    signer = StatementSigner(HUB_PEM)
    envelope = signer.sign(TYPE, {})
    text = "[1, 2]"
    message = statements.string_to_sign(type=TYPE, signer="govhub", statement=text)
    envelope = {**envelope, "statement": text, "signature": signatures.sign(signatures.load_private_key(HUB_PEM),
                                                                            message)}
    with pytest.raises(StatementRefused) as refused:
        statements.verify(HUB_PUBLIC, envelope, type=TYPE)
    assert refused.value.reason == "statement"
