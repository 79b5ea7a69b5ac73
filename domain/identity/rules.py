"""Pure identity rules: assurance levels, SMS code limits, name checks. No I/O here."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.shared.clock import SHANGHAI, beijing_day_start

CHANNELS = ("wechat", "alipay", "app")

L1_CHANNEL, L2_REAL_NAME, L3_FACE = 1, 2, 3
FACE_FRESH_FOR = timedelta(minutes=10)  # an L3 session needs a face scan this recent

SMS_CODE_TTL = timedelta(minutes=5)
SMS_MAX_ATTEMPTS = 5
SMS_MIN_INTERVAL = timedelta(minutes=1)
SMS_MAX_PER_DAY = 10
FACE_SESSION_TTL = timedelta(seconds=1800)

_NAME = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff·]{2,30}$|^[A-Za-z][A-Za-z .'-]{1,59}$")


def current_assurance(*, stored: int, face_verified_at: datetime | None, now: datetime) -> int:
    """L3 lasts only as long as the face scan is fresh; L1/L2 are properties of the person."""
    if face_verified_at is not None and stored >= L2_REAL_NAME and now - face_verified_at <= FACE_FRESH_FOR:
        return L3_FACE
    return min(stored, L2_REAL_NAME)


def valid_name(name: str) -> bool:
    """Chinese names (with the middle dot of minority names) or Latin names of foreign residents."""
    return isinstance(name, str) and bool(_NAME.match(name.strip()))


@dataclass(frozen=True)
class SmsSendDecision:
    allowed: bool
    retry_after: int = 0  # seconds
    reason: str = ""  # "" | "interval" | "daily"


def decide_sms_send(*, last_sent_at: datetime | None, sent_today: int, now: datetime) -> SmsSendDecision:
    """One code a minute and ten a day (a day in Beijing time) per phone number."""
    if sent_today >= SMS_MAX_PER_DAY:
        return SmsSendDecision(False, int((start_of_day(now) + timedelta(days=1) - now).total_seconds()) + 1, "daily")
    if last_sent_at is not None and now - last_sent_at < SMS_MIN_INTERVAL:
        return SmsSendDecision(False, int((last_sent_at + SMS_MIN_INTERVAL - now).total_seconds()) + 1, "interval")
    return SmsSendDecision(True)


def start_of_day(now: datetime) -> datetime:
    """Midnight in Beijing of the day ``now`` falls on, in UTC (a query bound: see beijing_day_start)."""
    return beijing_day_start(now.astimezone(SHANGHAI).date())


@dataclass(frozen=True)
class SmsCheck:
    accepted: bool
    locked: bool
    attempts_left: int


def check_sms_attempt(*, attempts: int, expires_at: datetime, now: datetime, matches: bool) -> SmsCheck:
    """Judge one try at a code: expired and locked codes never pass, even with the right digits."""
    if now > expires_at:
        return SmsCheck(False, False, 0)
    if attempts >= SMS_MAX_ATTEMPTS:
        return SmsCheck(False, True, 0)
    if matches:
        return SmsCheck(True, False, SMS_MAX_ATTEMPTS - attempts)
    left = SMS_MAX_ATTEMPTS - attempts - 1
    return SmsCheck(False, left <= 0, max(left, 0))
