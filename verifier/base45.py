"""RFC 9285 Base45, the text layer of an HC1 credential (``verifier/hcert.py``): decoding only, as
fast as pure Python allows, since it was the largest part of a health check after the signature."""
from __future__ import annotations

B45_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
B45_VALUES = bytes.maketrans(B45_ALPHABET, bytes(range(45)))


def b45decode(text: str) -> bytes:
    """RFC 9285 Base45, decoded as the ``base45`` package does (tests/unit/test_hcert_base45.py holds
    them equal on every input), with no Python loop over the text: the characters are mapped to their
    values by ``bytes.translate``; then every triple's first, second and third values are laid, by
    slice assignment, in the low byte of 3-byte lanes of one big integer each, so that
    ``a + 45·b + 2025·c`` is computed for all triples by two multiplications and two additions of
    big integers (a lane holds at most 91,124 < 2^24: no carry crosses lanes). A lane's high byte
    is 0 exactly when its triple is at most 65,535; the two low bytes are the decoded ones. Base45
    was the largest part of a health check after the signature (bench/health_bench.py: a per-triple
    list comprehension cost ~1,000 instructions a triple, this ~30)."""
    raw = text.encode("ascii")  # UnicodeEncodeError is a ValueError
    if raw.translate(None, B45_ALPHABET):
        raise ValueError("a character outside the Base45 alphabet")
    values = raw.translate(B45_VALUES)
    whole = len(values) - len(values) % 3
    if len(values) % 3 == 1:
        raise ValueError("a Base45 text is never 1 more than a multiple of 3 long")
    lanes = bytearray(whole)
    lanes[2::3] = values[0:whole:3]
    first = int.from_bytes(lanes, "big")
    lanes[2::3] = values[1:whole:3]
    second = int.from_bytes(lanes, "big")
    lanes[2::3] = values[2:whole:3]
    third = int.from_bytes(lanes, "big")
    words = bytearray((first + second * 45 + third * 2025).to_bytes(whole, "big"))
    if words[0::3].strip(b"\0"):
        raise ValueError("a Base45 triple above 65535")
    del words[0::3]
    decoded = bytes(words)
    if whole < len(values):
        last = values[whole] + values[whole + 1] * 45
        if last > 0xFF:
            raise ValueError("a Base45 pair above 255")
        decoded += bytes((last,))
    return decoded
