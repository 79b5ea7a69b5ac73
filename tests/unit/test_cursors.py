"""The one page-cursor format (domain/shared/cursors.py): opaque, and refused when edited."""
import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.shared import cursors
from domain.shared.errors import InvalidCursor


@given(st.lists(st.integers(min_value=-10**12, max_value=10**12), min_size=1, max_size=5))
def test_a_position_reads_back_as_written(position):
    assert cursors.read(cursors.write(*position), size=len(position)) == tuple(position)


def test_tokens_are_as_before_so_cursors_in_flight_still_read():
    assert cursors.write(123) == base64.urlsafe_b64encode(b"123").decode().rstrip("=")
    assert cursors.write(1, 2, 3, 4) == base64.urlsafe_b64encode(b"[1, 2, 3, 4]").decode().rstrip("=")


@pytest.mark.parametrize("token", ["", "!!!", "bm90IGpzb24", cursors.write(1, 2), cursors.write(1, 2, 3, 4, 5),
                                   base64.urlsafe_b64encode(b'["1", 2, 3, 4]').decode(),
                                   base64.urlsafe_b64encode(b"[true, 2, 3, 4]").decode(),
                                   base64.urlsafe_b64encode(b"\xff\xfe").decode()])
def test_anything_but_the_expected_integers_is_invalid_cursor(token):
    with pytest.raises(InvalidCursor):
        cursors.read(token, size=4)


@pytest.mark.parametrize("token", [cursors.write(0), cursors.write(-5), cursors.write(1, 2),
                                   base64.urlsafe_b64encode(b"1.5").decode()])
def test_a_row_id_is_a_positive_integer(token):
    with pytest.raises(InvalidCursor):
        cursors.read_id(token)
    assert cursors.read_id(cursors.write(7)) == 7
