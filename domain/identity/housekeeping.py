"""Forget what identity no longer needs: spent SMS challenges, expired face sessions and tokens."""
from __future__ import annotations

from datetime import datetime, timedelta

from domain.identity.models import FaceSession, RefreshToken, SmsChallenge
from domain.shared.purge import purge_before

KEEP = timedelta(days=2)  # SMS challenges count toward the daily limit, so keep a full day at least


async def purge_expired(*, now: datetime) -> dict:
    """Each table through its index on ``expires_at``, a bounded number of rows a statement."""
    cutoff = now - KEEP
    return {
        "sms_challenges": await purge_before(SmsChallenge, "expires_at", cutoff),
        "face_sessions": await purge_before(FaceSession, "expires_at", cutoff),
        "refresh_tokens": await purge_before(RefreshToken, "expires_at", cutoff),
    }
