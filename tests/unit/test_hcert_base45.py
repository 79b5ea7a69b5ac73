"""The verifier's fast Base45 decoder (verifier/hcert.py) against the ``base45`` package, the
reference the issuer encodes with: the same bytes for every text the package decodes, and a refusal
(ValueError) for every text it refuses."""
from __future__ import annotations

import base45
from hypothesis import given
from hypothesis import strategies as st

from verifier.base45 import B45_ALPHABET, b45decode

ALPHABET = B45_ALPHABET.decode()


def reference(text: str) -> bytes | None:
    try:
        return base45.b45decode(text)
    except ValueError:
        return None


def ours(text: str) -> bytes | None:
    try:
        return b45decode(text)
    except ValueError:
        return None


@given(st.binary(max_size=600))
def test_what_the_package_encodes_decodes_to_the_same_bytes(data):
    assert b45decode(base45.b45encode(data).decode()) == data


@given(st.text(alphabet=ALPHABET, max_size=60))
def test_any_text_of_the_alphabet_decodes_or_is_refused_as_the_package_does(text):
    assert ours(text) == reference(text)


@given(st.text(max_size=30))
def test_any_text_at_all(text):
    if "\n" in text:  # the package strips trailing newlines; an HC1 text is stripped before decoding
        text = text.replace("\n", "")
    assert ours(text) == reference(text)


def test_the_edges():
    assert ours("") == b"" and ours("A") is None and ours("FGW") == b"\xff\xff" and ours("GGW") is None
    assert ours("U5") == b"\xff" and ours("V5") is None and ours("ä") is None
    assert [reference(t) for t in ("FGW", "GGW", "U5", "V5")] == [b"\xff\xff", None, b"\xff", None]
