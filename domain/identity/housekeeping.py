"""Forget what identity no longer needs: spent SMS challenges, expired face sessions and tokens."""
from __future__ import annotations

from datetime import datetime, timedelta

from domain.identity.models import FaceSession, RefreshToken, SmsChallenge

KEEP = timedelta(days=2)  # SMS challenges count toward the daily limit, so keep a full day at least


async def purge_expired(*, now: datetime) -> dict:
    cutoff = now - KEEP
    return {
        "sms_challenges": await SmsChallenge.filter(expires_at__lt=cutoff).delete(),
        "face_sessions": await FaceSession.filter(expires_at__lt=cutoff).delete(),
        "refresh_tokens": await RefreshToken.filter(expires_at__lt=cutoff).delete(),
    }
