"""The hub asking a time-stamping authority for a token over HTTP (the ``TimeStamper`` port).

RFC 3161 §3.4: the DER TimeStampReq is POSTed as ``application/timestamp-query`` and the DER
TimeStampResp comes back as ``application/timestamp-reply``. Each request carries SHA-256 of the
caller's data (the caller hashes; the TSA never sees the data), a fresh random 64-bit nonce and
certReq, so the token carries the TSA certificate. An answer is used only when its status is
granted (or grantedWithMods), its token's TSTInfo echoes the nonce and its imprint is SHA-256 of
exactly that digest; given a ``verifier`` (``verify.TsaVerifier``), the token's signature is
checked too before it is handed back.

Everything that is not a usable token — unreachable, timed out, an HTTP error, a rejection, an
answer about something else — is ``UpstreamUnavailable`` (the port's one failure; the upstream
code says which). A connection error (refused, nothing listening yet) is tried once more after a
short pause; anything later in the exchange is not, since the caller (the message log) owns the
retry schedule.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime
from typing import NoReturn, Protocol
from urllib.parse import urlsplit

import httpx
from asn1crypto import cms, core, tsp

from adapters.timestamping.authority import SHA256_LENGTH, TimeStampResp
from domain.shared.errors import UpstreamUnavailable

logger = logging.getLogger("govhub.adapters.timestamping")

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
DEFAULT_RETRY_DELAY = 0.2
MAX_REPLY_BYTES = 64 * 1024  # a token with its certificate is ~1.3 KB


class _TokenVerifier(Protocol):  # the shape of domain.sharing.ports.TokenVerifier, e.g. TsaVerifier
    def verify(self, token: bytes, digest: bytes) -> datetime: ...


class TsaClient:
    def __init__(
        self,
        *,
        url: str,
        client: httpx.AsyncClient | None = None,
        verifier: _TokenVerifier | None = None,
        retry_delay: float = DEFAULT_RETRY_DELAY,
    ) -> None:
        """``url``: the authority's endpoint (``http://host:port/tsa``). ``client``: an HTTP client
        to use (tests pass one on an in-process transport; it is not closed by ``aclose``)."""
        self._url = url
        self._system = f"tsa:{urlsplit(url).netloc or url}"
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        self._verifier = verifier
        self._retry_delay = retry_delay

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> TsaClient:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    async def stamp(self, digest: bytes) -> bytes:
        """An RFC 3161 time-stamp token (DER ContentInfo of the SignedData) over a SHA-256 ``digest``.
        Raises UpstreamUnavailable when the authority cannot be reached or refuses."""
        if len(digest) != SHA256_LENGTH:
            raise ValueError("a SHA-256 digest is 32 bytes")
        nonce = secrets.randbits(64)
        request = build_request(digest, nonce)
        answer = await self._post(request)
        token = self._token(answer, digest, nonce)
        if self._verifier is not None:
            try:
                self._verifier.verify(token, digest)
            except ValueError as exc:
                self._fail("bad_token", f"the token does not verify: {exc}")
        return token

    async def _post(self, request: bytes) -> bytes:
        headers = {"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE}
        for attempt in (1, 2):
            try:
                response = await self._client.post(self._url, content=request, headers=headers)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing listening (yet): once more
                if attempt == 2:
                    self._fail("unreachable", f"cannot connect: {exc}")
                logger.info("%s: cannot connect (%s), trying once more", self._system, exc)
                await asyncio.sleep(self._retry_delay)
            except httpx.TransportError as exc:  # timed out, reset mid-answer
                self._fail("unreachable", f"{type(exc).__name__}: {exc}")
        if response.status_code != 200:
            self._fail(f"http-{response.status_code}", f"answered http {response.status_code}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != REPLY_TYPE:
            self._fail("bad_reply", f"answered {content_type or 'no content type'}, not {REPLY_TYPE}")
        if len(response.content) > MAX_REPLY_BYTES:
            self._fail("bad_reply", "the answer is too large")
        return response.content

    def _token(self, answer: bytes, digest: bytes, nonce: int) -> bytes:
        """The token of a granted answer about exactly this request."""
        try:
            reply = TimeStampResp.load(answer, strict=True)
            status = reply["status"]["status"].native
            if status not in ("granted", "granted_with_mods"):
                failure = reply["status"]["fail_info"].native
                text = reply["status"]["status_string"].native
                self._fail(f"{status}:{','.join(sorted(failure or ())) or '-'}",
                           f"refused: {status} {sorted(failure or ())} {text or ''}".rstrip())
            if isinstance(reply["time_stamp_token"], core.Void):
                self._fail("bad_reply", "granted without a token")
            # the token's bytes as they came, taken before anything reads (and could re-encode) them
            token_der = reply["time_stamp_token"].dump()
            token = cms.ContentInfo.load(token_der)
            if token["content_type"].native != "signed_data":
                self._fail("bad_reply", "the token is not a SignedData")
            encapsulated = token["content"]["encap_content_info"]
            if encapsulated["content_type"].native != "tst_info":
                self._fail("bad_reply", "the token does not hold a TSTInfo")
            info = tsp.TSTInfo.load(bytes(encapsulated["content"]), strict=True)
            imprint = info["message_imprint"]
            echoed = info["nonce"].native
            about_this = (imprint["hash_algorithm"]["algorithm"].native == "sha256"
                          and imprint["hashed_message"].native == digest)
        except UpstreamUnavailable:
            raise
        except Exception as exc:  # asn1crypto fails with ValueError, TypeError, KeyError... on junk
            self._fail("bad_reply", f"not a TimeStampResp: {type(exc).__name__}: {exc}")
        if echoed != nonce:
            self._fail("nonce_mismatch", "the token does not echo the request's nonce")
        if not about_this:
            self._fail("imprint_mismatch", "the token is over another digest")
        return token_der

    def _fail(self, code: str, detail: str) -> NoReturn:
        logger.warning("%s: %s", self._system, detail)
        raise UpstreamUnavailable(f"time-stamping authority: {detail}", system=self._system,
                                  upstream_code=code)


def build_request(digest: bytes, nonce: int | None) -> bytes:
    """The DER TimeStampReq (RFC 3161 §2.4.1): version 1, SHA-256 imprint, nonce, certReq."""
    fields = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
        "cert_req": True,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    return tsp.TimeStampReq(fields).dump()

