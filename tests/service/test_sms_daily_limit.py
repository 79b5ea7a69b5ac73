"""The ten-a-day SMS limit counts the Beijing day on the database, also in the hours after Beijing's
midnight, when the UTC date is still the day before."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.identity.errors import SmsSendLimited
from domain.identity.service import IdentityService
from domain.shared.clock import FrozenClock


class Outbox:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_login_code(self, phone: str, code: str) -> None:
        self.sent.append(phone)


@pytest.fixture
def identity(resources):
    s = resources
    clock = FrozenClock(datetime(2026, 11, 27, 16, 5, tzinfo=UTC))  # 00:05 on the 28th in Beijing
    service = IdentityService(vault=s.vault, clock=clock, tokens=s.tokens, wechat=None, alipay=None,
                              sms=Outbox(), realname=None, face=None)
    return service, clock


async def test_the_eleventh_code_of_a_beijing_day_is_refused_just_after_midnight(identity):
    service, clock = identity
    for _ in range(10):
        await service.send_sms_code(phone="13800138000")
        clock.advance(61)
    with pytest.raises(SmsSendLimited) as refused:
        await service.send_sms_code(phone="13800138000")
    assert refused.value.retry_after > 23 * 3600  # until the next Beijing midnight
    assert len(service.sms.sent) == 10
