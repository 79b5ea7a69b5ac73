"""The pure parts of the shared mechanisms: is a key (or an event id) sent again for the same
request? (domain/shared/idempotency.py, domain/shared/node_events.py)"""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.shared import idempotency, node_events
from domain.shared.errors import EventIdReused, IdempotencyKeyReused
from domain.shared.idempotency import Claim, FirstUse

CLAIM = Claim(scope="bundles", person_id="p_1", key="k-1", request_hash="h1")

bodies = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                      max_leaves=8)


def test_the_same_request_answers_the_first_result():
    assert idempotency.judge(FirstUse("submit", "h1", "B-1"), CLAIM) == "B-1"


@pytest.mark.parametrize("first", [FirstUse("submit", "h2", "B-1"),  # another body
                                   FirstUse("withdraw:A-1", "h1", "A-1"),  # another operation
                                   FirstUse("submit", "h1", None)])  # no result to give
def test_anything_else_under_the_key_is_idempotency_key_reused(first):
    with pytest.raises(IdempotencyKeyReused) as refused:
        idempotency.judge(first, CLAIM)
    assert refused.value.code == "idempotency_key_reused"


@given(st.dictionaries(st.text(max_size=4), bodies, max_size=4))
def test_a_fingerprint_ignores_key_order(body):
    assert idempotency.fingerprint(body) == idempotency.fingerprint(dict(reversed(list(body.items()))))


def test_a_fingerprint_tells_bodies_apart():
    assert idempotency.fingerprint({"a": 1}) != idempotency.fingerprint({"a": 2})
    assert idempotency.fingerprint({"a": "社保"}) == idempotency.fingerprint({"a": "社保"})


def test_an_event_id_again_with_its_body_passes_and_with_another_is_event_id_reused():
    node_events.judge("e-1", "h1", "h1")
    with pytest.raises(EventIdReused) as refused:
        node_events.judge("e-1", "h1", "h2")
    assert refused.value.code == "event_id_reused" and "e-1" in refused.value.detail
