"""Pure token rules: audiences, acr, kid, claims, which keys are published and sign, refusals."""
from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from domain.identity import token_rules as rules
from domain.identity.errors import TokenInvalid
from domain.identity.token_rules import KeyState

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
ISSUER = "https://hub.example.gov.cn"


def _claims(**changes) -> dict:
    claims = rules.access_claims(issuer=ISSUER, subject="p1", channel="wechat", assurance=2, family_id="f1",
                                 token_id="j1", now=NOW, ttl=900)
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def test_every_channel_has_its_own_audience():
    assert rules.audience_of("wechat") == "govhub-wechat"
    assert rules.audience_of("alipay") == "govhub-alipay"
    assert rules.audience_of("app") == "govhub-app"
    assert set(rules.CHANNEL_OF_AUDIENCE) == {"govhub-wechat", "govhub-alipay", "govhub-app"}
    with pytest.raises(ValueError):
        rules.audience_of("weibo")


@pytest.mark.parametrize("bad", [0, 4, True, "L3", None])
def test_acr_of_refuses_levels_outside_one_to_three(bad):
    with pytest.raises(ValueError):
        rules.acr_of(bad)


def test_acr_round_trip():
    assert [rules.acr_of(n) for n in (1, 2, 3)] == ["L1", "L2", "L3"]
    assert [rules.level_of(a) for a in ("L1", "L2", "L3")] == [1, 2, 3]
    assert rules.level_of(3) == 3
    for bad in ("L4", "l2", "2", True, 0):
        with pytest.raises(ValueError):
            rules.level_of(bad)


def test_kid_is_base64url_of_the_first_8_bytes_of_the_der_hash():
    der = b"any public key DER"
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:8]).decode().rstrip("=")
    assert rules.key_id(der) == expected and len(expected) == 11


def test_refresh_tokens_are_stored_as_sha256():
    assert rules.hash_refresh_token("abc") == hashlib.sha256(b"abc").hexdigest()


def test_access_claims_carry_the_agreed_names_and_times():
    claims = rules.access_claims(issuer=ISSUER, subject="p1", channel="app", assurance=3, family_id="f1",
                                 token_id="j1", now=NOW, ttl=900)
    stamp = int(NOW.timestamp())
    assert claims == {"iss": ISSUER, "aud": "govhub-app", "sub": "p1", "acr": "L3", "sid": "f1",
                      "iat": stamp, "nbf": stamp, "exp": stamp + 900, "jti": "j1"}


def test_overlap_must_outlive_the_access_tokens():
    rules.check_overlap(overlap_seconds=901, access_ttl=900)
    with pytest.raises(ValueError):
        rules.check_overlap(overlap_seconds=900, access_ttl=900)


def test_published_keys_keep_retired_ones_for_the_overlap_only():
    fresh = KeyState("new", NOW - timedelta(hours=1), None)
    recent = KeyState("recent", NOW - timedelta(days=3), NOW - timedelta(hours=2))
    old = KeyState("old", NOW - timedelta(days=9), NOW - timedelta(days=2))
    naive = KeyState("naive", datetime(2025, 1, 1), datetime(2025, 3, 1, 7, 0))  # DB without tz
    shown = rules.published_keys([old, recent, fresh, naive], now=NOW, overlap_seconds=24 * 3600)
    assert [k.kid for k in shown] == ["new", "recent", "naive"]
    edge = KeyState("edge", NOW - timedelta(days=2), NOW - timedelta(seconds=3600))
    assert rules.is_published(edge, now=NOW, overlap_seconds=3600)
    assert not rules.is_published(edge, now=NOW + timedelta(seconds=1), overlap_seconds=3600)


def test_the_newest_unretired_key_signs_and_a_retired_one_never():
    a = KeyState("a", NOW - timedelta(days=2), None)
    b = KeyState("b", NOW - timedelta(days=1), None)
    retired = KeyState("c", NOW, NOW)
    assert rules.signing_key([a, b, retired]).kid == "b"
    assert rules.signing_key([retired]) is None
    assert rules.signing_key([]) is None


def test_read_claims_accepts_a_good_payload():
    claims = rules.read_claims(_claims(), now=NOW + timedelta(seconds=10), issuer=ISSUER, audience="govhub-wechat")
    assert (claims.subject, claims.assurance, claims.family_id, claims.channel, claims.token_id) == \
        ("p1", 2, "f1", "wechat", "j1")
    assert claims.expires_at == NOW + timedelta(seconds=900)


@pytest.mark.parametrize("changes, now_offset", [
    ({}, 900),  # expired exactly at exp
    ({"nbf": int(NOW.timestamp()) + 60}, 0),  # not yet valid
    ({"iat": int(NOW.timestamp()) + 60}, 0),  # issued in the future
    ({"iss": "https://evil.example"}, 0),
    ({"aud": "govhub-app"}, 0),
    ({"aud": ["govhub-wechat", "govhub-app"]}, 0),  # a list is not our audience
    ({"acr": "L9"}, 0),
    ({"exp": float("nan")}, 0),
    ({"exp": True}, 0),
    ({"sub": ""}, 0),
    ({"sid": None}, 0),  # missing
])
def test_read_claims_refuses(changes, now_offset):
    with pytest.raises(TokenInvalid):
        rules.read_claims(_claims(**changes), now=NOW + timedelta(seconds=now_offset), issuer=ISSUER,
                          audience="govhub-wechat")


def _refusal(**changes):
    args = {"revoked": False, "used": False, "expires_at": NOW + timedelta(days=1), "bound_channel": "app",
            "bound_device": "dev-1", "now": NOW, "channel": "app", "device_id": "dev-1"}
    args.update(changes)
    return rules.refresh_refusal(**args)


def test_refresh_refusals():
    assert _refusal() is None
    assert _refusal(revoked=True, used=True) == "revoked"
    assert _refusal(used=True, device_id="other") == "reused"  # reuse wins: it proves a leak
    assert _refusal(expires_at=NOW) == "expired"
    assert _refusal(channel="wechat") == "wrong_channel"
    assert _refusal(device_id="dev-2") == "wrong_device"
    assert _refusal(device_id=None) == "wrong_device"
    assert _refusal(bound_device=None, device_id="anything") is None
    assert rules.LEAK_REFUSALS == {"reused", "wrong_device"}
