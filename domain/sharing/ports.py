"""What data sharing needs from outside the domain: the provider nodes, a time-stamping
authority, a shared token bucket, and what other capabilities tell it (license exchanges)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class ProviderCall:
    """A call the hub forwards to a provider node, signed by the hub."""

    endpoint: str  # the provider node's endpoint URL
    service_code: str
    method: str
    path: str  # the rest of the path after the service id, still percent-encoded
    query: str  # the raw query string
    headers: Mapping[str, str]  # X-Road-* and Content-Type / Accept to pass on
    body: bytes


@dataclass(frozen=True)
class ProviderAnswer:
    status: int
    content_type: str
    body: bytes
    sent_at: datetime  # request out
    received_at: datetime  # response in


class ProviderGateway(Protocol):
    async def call(self, call: ProviderCall) -> ProviderAnswer:
        """Raises ProviderUnavailable (refused, reset) or ProviderTimeout; never hangs past its timeout."""
        ...


class TimeStamper(Protocol):
    async def stamp(self, digest: bytes) -> bytes:
        """An RFC 3161 time-stamp token (DER ContentInfo) over a SHA-256 ``digest``.
        Raises UpstreamUnavailable when the authority cannot be reached or refuses."""
        ...


class TokenVerifier(Protocol):
    def verify(self, token: bytes, digest: bytes) -> datetime:
        """The token's time if it is the trusted authority's valid token over ``digest``; else ValueError."""
        ...


class QuotaBucket(Protocol):
    async def take(self, key: str, *, capacity: int, per_seconds: float) -> tuple[bool, float]:
        """One token from ``key``'s bucket (shared by every hub process): (allowed, seconds to wait)."""
        ...


@dataclass(frozen=True)
class LicenseUse:
    """A license a department asked for (released, or refused for want of consent), for the
    holder's data tracker."""

    holder_kind: str  # person | legal_person (only a person has a tracker)
    holder: str  # the holder's number as the department gave it (an ID number)
    at: datetime
    node: str
    license_type: str
    license_title: str
    fields: tuple[str, ...]
    purpose: str
    outcome: str  # released | refused


class DataUseRecorder(Protocol):
    async def license_used(self, use: LicenseUse) -> None:
        """Recorded on the caller's transaction, if any (the release and its record commit together)."""
        ...
