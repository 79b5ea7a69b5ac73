"""Pure license rules: status machine, masking, consent, status lists, disclosures and tokens."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.licenses import disclosure, rules

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def test_status_machine_follows_gbt_36901():
    assert rules.can_change("valid", "suspended") and rules.can_change("suspended", "valid")
    for final in ("revoked", "withdrawn", "cancelled"):
        assert rules.can_change("valid", final)
        assert not any(rules.can_change(final, other) for other in rules.SETTABLE)
    assert not rules.can_change("valid", "expired") and not rules.can_change("valid", "valid")
    assert rules.effective_status("valid", NOW, NOW) == "expired"
    assert rules.effective_status("valid", None, NOW) == "valid"
    assert rules.effective_status("revoked", NOW - timedelta(days=1), NOW) == "revoked"


def test_masking():
    data = {"name": "欧阳娜娜", "id_number": "110105199003070017", "address": "北京市朝阳区建国路1号", "sex": "女"}
    masked = rules.masked_data(data, {"name": "name", "id_number": "id_number", "address": "text"})
    assert masked == {"name": "***娜", "id_number": "110105********0017", "address": "北京***", "sex": "女"}


def test_consents():
    granted = rules.ConsentState("standing", "granted", NOW + timedelta(days=1))
    assert rules.consent_permits(granted, NOW) and not rules.consent_permits(granted, NOW + timedelta(days=2))
    assert rules.consent_status(granted, NOW + timedelta(days=2)) == "expired"
    assert not rules.consent_permits(rules.ConsentState("once", "requested", None), NOW)
    assert not rules.consent_permits(rules.ConsentState("once", "revoked", None), NOW)
    assert rules.consent_expiry("standing", NOW, 9999) == NOW + timedelta(days=rules.MAX_STANDING_CONSENT_DAYS)


def test_a_once_consent_covers_only_the_purpose_it_was_granted_for():
    once = rules.ConsentState("once", "granted", None)
    assert rules.consent_covers(once, "办理居住证", " 办理居住证")
    assert not rules.consent_covers(once, "办理居住证", "核查户籍信息")
    assert rules.consent_covers(rules.ConsentState("standing", "granted", None), "户籍业务", "核查户籍信息")


def test_status_nibbles_pack_codes_at_their_slots():
    packed = rules.status_nibbles([(0, "revoked"), (5, "suspended"), (7, "valid")], size=16)
    assert [rules.nibble_at(packed, s) for s in range(8)] == [3, 0, 0, 0, 0, 2, 0, 0]


def test_disclosures_reveal_only_what_is_shown():
    data = {"name": "张丽", "id_number": "110105199003070017", "sex": "女"}
    shown = disclosure.make_disclosures(data)
    payload = {"v": 1, "sd": disclosure.b64u(disclosure.digest_list(shown))}
    text = disclosure.signing_input(payload)
    token = disclosure.assemble(text, b"sig", [shown["name"]])
    parsed = disclosure.parse(token)
    assert disclosure.revealed(parsed) == {"name": "张丽"}
    assert "110105199003070017" not in token
    again = disclosure.make_disclosures(data)
    assert again["name"] != shown["name"]  # fresh salts
    stranger = disclosure.make_disclosures({"id_number": "110105199003070017"})["id_number"]
    with pytest.raises(ValueError):
        disclosure.revealed(disclosure.parse(token + "~" + stranger))
    with pytest.raises(ValueError):
        disclosure.revealed(disclosure.parse(token + "~" + shown["name"]))  # shown twice


@pytest.mark.parametrize("bad", ["", "GHP1", "GHP2.e30.AA", "GHP1.!!.AA", "GHP1.WzFd.AA", "x" * 5000, "GHP1.e30.AA.AA"])
def test_malformed_tokens(bad):
    with pytest.raises(ValueError):
        disclosure.parse(bad)


def test_epochs():
    assert rules.live_epochs(NOW) == (rules.epoch_of(NOW) - 1, rules.epoch_of(NOW))
