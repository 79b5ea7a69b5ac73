"""Pure identity rules and value objects: no database, no network."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.identity import rules
from domain.shared.errors import InvalidInput
from domain.shared.values import IdNumber, Phone, mask_id_number, mask_name, mask_phone
from domain.shared.vault import Vault

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing


@pytest.mark.parametrize("raw", ["110105199003070017", "330106198805120023", "110101194501010019"])
def test_valid_id_numbers(raw):
    assert IdNumber.parse(raw).value == raw


@pytest.mark.parametrize("raw", [
    "110105199003070018",  # wrong check digit
    "110105199002300017",  # 30 February
    "11010519900307001",  # 17 characters
    "1101051990030700171",  # 19 characters
    "99010519900307001X",  # unknown region
    "abcdefghijklmnopqr",
    "",
])
def test_invalid_id_numbers(raw):
    with pytest.raises(InvalidInput) as caught:
        IdNumber.parse(raw)
    assert caught.value.code == "invalid_id_number"


def test_id_number_with_lowercase_x_is_normalised():
    number = IdNumber.parse("11010519491231002x")
    assert number.value == "11010519491231002X"


def test_id_number_birth_date():
    assert IdNumber.parse("110105199003070017").birth_date.isoformat() == "1990-03-07"


def test_masks():
    assert mask_id_number("110105199003070017") == "110105********0017"
    assert mask_phone("13800000001") == "138****0001"
    assert mask_name("张丽") == "*丽"
    assert mask_name("欧阳娜娜") == "***娜"


@pytest.mark.parametrize("raw,expected", [("13800000001", "13800000001"), ("+8613800000001", "13800000001")])
def test_phone_parse(raw, expected):
    assert Phone.parse(raw).value == expected


@pytest.mark.parametrize("raw", ["12800000001", "1380000000", "138000000012", "phone", ""])
def test_phone_rejects(raw):
    with pytest.raises(InvalidInput):
        Phone.parse(raw)


def test_names():
    assert rules.valid_name("张丽") and rules.valid_name("买买提·艾力") and rules.valid_name("John Smith")
    assert not rules.valid_name("张") and not rules.valid_name("张丽1") and not rules.valid_name("<script>")


def test_assurance_l3_only_while_face_scan_is_fresh():
    fresh = NOW - timedelta(minutes=5)
    stale = NOW - timedelta(minutes=11)
    assert rules.current_assurance(stored=2, face_verified_at=fresh, now=NOW) == 3
    assert rules.current_assurance(stored=2, face_verified_at=stale, now=NOW) == 2
    assert rules.current_assurance(stored=1, face_verified_at=fresh, now=NOW) == 1  # face without real name
    assert rules.current_assurance(stored=2, face_verified_at=None, now=NOW) == 2


def test_sms_one_a_minute():
    decision = rules.decide_sms_send(last_sent_at=NOW - timedelta(seconds=20), sent_today=1, now=NOW)
    assert not decision.allowed and decision.reason == "interval" and 40 <= decision.retry_after <= 41
    assert rules.decide_sms_send(last_sent_at=NOW - timedelta(seconds=61), sent_today=1, now=NOW).allowed


def test_sms_ten_a_day_in_beijing_time():
    decision = rules.decide_sms_send(last_sent_at=NOW - timedelta(hours=1), sent_today=10, now=NOW)
    assert not decision.allowed and decision.reason == "daily"
    assert decision.retry_after == 14 * 3600 + 1  # until midnight in Beijing (16:00 UTC)
    assert rules.start_of_day(NOW).isoformat() == "2026-11-26T16:00:00+00:00"  # 00:00 on the 27th in Beijing


def test_sms_attempts_lock_after_five():
    expires = NOW + timedelta(minutes=1)
    assert rules.check_sms_attempt(attempts=0, expires_at=expires, now=NOW, matches=True).accepted
    wrong = rules.check_sms_attempt(attempts=3, expires_at=expires, now=NOW, matches=False)
    assert not wrong.accepted and not wrong.locked and wrong.attempts_left == 1
    last = rules.check_sms_attempt(attempts=4, expires_at=expires, now=NOW, matches=False)
    assert last.locked and last.attempts_left == 0
    assert not rules.check_sms_attempt(attempts=5, expires_at=expires, now=NOW, matches=True).accepted


def test_sms_expired_code_never_passes():
    check = rules.check_sms_attempt(attempts=0, expires_at=NOW - timedelta(seconds=1), now=NOW, matches=True)
    assert not check.accepted


def test_vault_round_trip_and_context_binding():
    vault = Vault(data_key=b"k" * 32, lookup_key=b"l" * 32)
    sealed = vault.seal("110105199003070017", context="person.id_number")
    assert "110105" not in sealed
    assert vault.open(sealed, context="person.id_number") == "110105199003070017"
    with pytest.raises(Exception):
        vault.open(sealed, context="person.phone")  # a value sealed for one field cannot pose as another
    assert vault.lookup_hash("x", context="a") == vault.lookup_hash("x", context="a") != vault.lookup_hash("x", context="b")
