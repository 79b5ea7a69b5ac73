"""RFC 9285 Base45, the text layer of an HC1 credential (``verifier/hcert.py``): decoding only, as
fast as pure Python allows, since it was the largest part of a health check after the signature."""
from __future__ import annotations

from functools import lru_cache

B45_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
NOT_BASE45 = 0xFF
# every byte's Base45 value, NOT_BASE45 for bytes outside the alphabet: one pass both maps and checks
B45_VALUES = bytes(B45_ALPHABET.index(byte) if byte in B45_ALPHABET else NOT_BASE45 for byte in range(256))


def b45decode(text: str) -> bytes:
    """RFC 9285 Base45, decoded as the ``base45`` package does (tests/unit/test_hcert_base45.py holds
    them equal on every input), with no Python loop over the text: the characters are mapped to their
    values by ``bytes.translate``, and the values read as one big integer whose 3-byte lanes are the
    triples ``(a, b, c)``. Masking out each lane's low byte after shifts of 16, 8 and 0 bits gives
    three integers holding every triple's a, b or c alone, so that ``a + 45·b + 2025·c`` is computed
    for all triples at once by two multiplications and two additions of big integers (a lane holds at
    most 91,124 < 2^24: no carry crosses lanes). A lane's high byte is 0 exactly when its triple is at
    most 65,535; the two low bytes are the decoded ones. (A per-triple list comprehension cost ~1,000
    instructions a triple. For the 881 characters of a PS256 code, timed side by side: gathering the
    a's, b's and c's into three integers by strided slice assignment, as this did before, with the
    alphabet checked by a second translate, 11.9 µs; masking, one translate, 7.0 µs.)"""
    values = text.encode("ascii").translate(B45_VALUES)  # UnicodeEncodeError is a ValueError
    if NOT_BASE45 in values:
        raise ValueError("a character outside the Base45 alphabet")
    rest = len(values) % 3
    if rest == 1:
        raise ValueError("a Base45 text is never 1 more than a multiple of 3 long")
    whole = len(values) - rest
    low, high = _lane_masks(whole // 3)
    lanes = int.from_bytes(values[:whole], "big")
    words = (lanes >> 16 & low) + (lanes >> 8 & low) * 45 + (lanes & low) * 2025
    if words & high:
        raise ValueError("a Base45 triple above 65535")
    decoded = bytearray(words.to_bytes(whole, "big"))
    del decoded[0::3]  # every lane's high byte, now known to be 0
    if rest:
        last = values[whole] + values[whole + 1] * 45
        if last > 0xFF:
            raise ValueError("a Base45 pair above 255")
        decoded.append(last)
    return bytes(decoded)


@lru_cache(maxsize=64)
def _lane_masks(triples: int) -> tuple[int, int]:
    """The low-byte and high-byte masks of ``triples`` 3-byte lanes (a code's length recurs, and
    making them costs as much as a fifth of the decoding)."""
    return int.from_bytes(b"\0\0\xff" * triples, "big"), int.from_bytes(b"\xff\0\0" * triples, "big")
