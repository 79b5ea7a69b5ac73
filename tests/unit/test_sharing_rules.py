"""Pure rules of data sharing: the grant's state machine (with a property test over random step
sequences), X-Road addressing, the request hash, operations and the field filter."""
from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.sharing import rules
from domain.sharing.errors import ExchangeRequestInvalid, GrantStepNotAllowed
from domain.sharing.rules import Operation, Subject

T0 = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
ACTORS = (rules.PROVIDER, rules.CONSUMER, rules.OPERATOR, rules.SYSTEM)


@given(st.lists(st.tuples(st.sampled_from(sorted(rules.GRANT_STEPS)), st.sampled_from(ACTORS)), max_size=12))
def test_no_sequence_of_steps_leaves_a_final_state_or_lets_anyone_but_the_provider_grant(steps):
    status = rules.REQUESTED
    for step, actor in steps:
        before = status
        try:
            status = rules.take_step(status, step, actor)
        except GrantStepNotAllowed:
            continue
        assert before not in rules.FINAL, "a final grant moved"
        if status == rules.APPROVED:
            assert actor == rules.PROVIDER, "access given by someone other than the provider"


def test_an_operator_stops_but_never_starts():
    assert rules.take_step(rules.APPROVED, "suspend", rules.OPERATOR) == rules.SUSPENDED
    assert rules.take_step(rules.SUSPENDED, "revoke", rules.OPERATOR) == rules.REVOKED
    with pytest.raises(GrantStepNotAllowed):
        rules.take_step(rules.SUSPENDED, "resume", rules.OPERATOR)


def test_a_grant_is_usable_only_when_active_and_within_its_validity():
    until = T0 + timedelta(days=1)
    assert rules.usable(rules.APPROVED, T0, until, T0)
    assert not rules.usable(rules.APPROVED, T0, until, until)
    assert not rules.usable(rules.SUSPENDED, T0, until, T0 + timedelta(hours=1))
    assert not rules.usable(rules.APPROVED, None, None, T0)


def test_the_service_id_is_split_before_each_part_is_decoded():
    service, rest = rules.parse_service_path("/r1/CN/GOV/bj-amr/enterprise/business%2Dregistration/enterprises/9111")
    assert (str(service), rest) == ("CN/GOV/bj-amr/enterprise/business-registration", "/enterprises/9111")
    assert rules.parse_service_path("/r1/CN/GOV/bj-psb/population/extract")[1] == "/"
    # an encoded "/" inside a part is legal in the protocol but makes the id ambiguous: refused
    for bad in ("/r2/CN/GOV/a/b/c", "/r1/CN/GOV/a/b", "/r1/CN//a/b/c", "r1/CN/GOV/a/b/c", "/r1/CN/GOV/a/b%2Fc/d"):
        with pytest.raises(ExchangeRequestInvalid):
            rules.parse_service_path(bad)


def test_the_client_header_names_three_or_four_parts():
    assert str(rules.parse_client("CN/GOV/bj-court/case-system")) == "CN/GOV/bj-court/case-system"
    assert rules.parse_client("CN/GOV/bj-court").subsystem is None
    for bad in (None, "", "CN/GOV", "CN/GOV/a/b/c", "CN//a"):
        with pytest.raises(ExchangeRequestInvalid):
            rules.parse_client(bad)


def test_the_request_hash_is_the_protocols_double_sha512():
    headers = {"X-Road-Client": "CN/GOV/bj-court", "X-Road-Id": "m-1", "Accept": "application/json"}
    head = b"GET /r1/CN/GOV/bj-psb/population/household-register-extract/extract?id_number=1\r\n" \
           b"x-road-client: CN/GOV/bj-court\r\nx-road-id: m-1\r\n"
    target = "/r1/CN/GOV/bj-psb/population/household-register-extract/extract?id_number=1"
    assert rules.request_hash(method="get", target=target, headers=headers, body=b"") == \
        base64.b64encode(hashlib.sha512(head).digest()).decode()
    with_body = rules.request_hash(method="POST", target=target, headers=headers, body=b"{}")
    expected = hashlib.sha512(hashlib.sha512(head.replace(b"GET", b"POST", 1)).digest()
                              + hashlib.sha512(b"{}").digest()).digest()
    assert with_body == base64.b64encode(expected).decode()


def test_operations_match_templates_one_segment_per_parameter():
    ops = [Operation("GET", "/enterprises/{credit_code}"), Operation("GET", "/extract")]
    assert rules.match_operation(ops, "get", "/enterprises/91110000%20X") == {"credit_code": "91110000 X"}
    assert rules.match_operation(ops, "GET", "/extract/") == {}
    assert rules.match_operation(ops, "POST", "/extract") is None
    assert rules.match_operation(ops, "GET", "/enterprises/a/b") is None
    assert rules.match_operation(ops, "GET", "/enterprises/") is None


def test_the_subject_is_read_where_the_service_says_and_never_from_a_repeated_parameter():
    assert rules.subject_of(Subject("query", "id_number"), params={}, query={"id_number": ["11010x"]},
                            body=None) == "11010X"
    assert rules.subject_of(Subject("query", "id_number"), params={}, query={"id_number": ["1", "2"]},
                            body=None) is None
    assert rules.subject_of(Subject("path", "credit_code"), params={"credit_code": "9111"}, query={},
                            body=None) == "9111"
    assert rules.subject_of(Subject("body", "id_number"), params={}, query={}, body={"id_number": "1"}) == "1"


def test_only_granted_fields_leave():
    granted = frozenset({"name", "sex"})
    assert rules.filter_fields({"name": "张丽", "household_address": "北京", "sex": "女"}, granted) == (
        {"name": "张丽", "sex": "女"}, ("name", "sex"))
    assert rules.filter_fields([{"name": "a", "x": 1}, {"y": 2}], granted) == ([{"name": "a"}, {}], ("name",))
    assert rules.filter_fields("text", granted) == (None, ())
    assert rules.filter_fields([1, 2], granted) == (None, ())


def test_an_embargo_hides_a_use_for_its_days_and_the_log_closes_after_its_delay():
    assert rules.visible_from(T0, 30) == T0 + timedelta(days=30)
    assert rules.log_open(None, T0, timedelta(minutes=5))
    assert rules.log_open(T0, T0 + timedelta(minutes=5), timedelta(minutes=5))
    assert not rules.log_open(T0, T0 + timedelta(minutes=5, seconds=1), timedelta(minutes=5))
