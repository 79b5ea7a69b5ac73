"""SignedNodeClient against a real HTTP server on 127.0.0.1: what arrives on the wire verifies with
the hub's published key, and failures are retried, then raised as typed upstream errors."""
from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.departments.node_client import SignedNodeClient
from domain.nodes import signatures
from domain.shared.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnavailable

DEVKEYS = Path(__file__).resolve().parents[2] / "devkeys"
HUB_PRIVATE_PEM = (DEVKEYS / "hub_node_private.pem").read_bytes()
HUB_PUBLIC = signatures.load_public_key((DEVKEYS / "hub_node_public.pem").read_bytes())


@dataclass
class Received:
    method: str
    target: str  # exactly as in the request line
    headers: dict[str, str]
    body: bytes

    def verifies(self, public_key=HUB_PUBLIC) -> bool:
        path, _, query = self.target.partition("?")
        h = self.headers
        message = signatures.string_to_sign(node=h["x-gov-node"], method=self.method, path=path,
                                            query_string=query, timestamp=h["x-gov-timestamp"],
                                            nonce=h["x-gov-nonce"], body=self.body)
        return signatures.verify(public_key, message, h["x-gov-signature"])


class RecordingNode:
    """A node reduced to a socket: HTTP/1.1, one request per connection, answers from a script."""

    def __init__(self, statuses=()) -> None:
        self.statuses = list(statuses)
        self.received: list[Received] = []

    async def __aenter__(self) -> RecordingNode:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _version = head[0].split(" ")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in head[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.received.append(Received(method, target, headers, body))
        status = self.statuses.pop(0) if self.statuses else 200
        payload = b'{"accepted":true}'
        writer.write(f"HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)
        await writer.drain()
        writer.close()


def _client(url: str, delays=(0, 0)) -> SignedNodeClient:
    return SignedNodeClient(base_url=url, private_key_pem=HUB_PRIVATE_PEM, retry_delays=delays)


async def test_a_signed_post_verifies_on_the_wire_with_the_published_hub_key():
    async with RecordingNode() as node, _client(node.url + "/api/") as client:
        response = await client.request("POST", "/callbacks/licenses?b=2&a=%E7%A4%BE",
                                        json={"event_id": "e1", "姓名": "张丽"})
    assert response.status_code == 200 and response.json() == {"accepted": True}
    [call] = node.received
    assert call.target == "/api/callbacks/licenses?b=2&a=%E7%A4%BE"  # the base URL's prefix is signed too
    assert call.headers["x-gov-node"] == "govhub" and call.headers["content-type"] == "application/json"
    assert json.loads(call.body) == {"event_id": "e1", "姓名": "张丽"}
    assert call.verifies()
    assert not Received(call.method, call.target, call.headers, call.body + b" ").verifies()
    assert not Received("PUT", call.target, call.headers, call.body).verifies()


async def test_a_get_signs_the_empty_body():
    async with RecordingNode() as node, _client(node.url) as client:
        await client.request("GET", "/licenses/123")
    [call] = node.received
    assert call.body == b"" and call.target == "/licenses/123" and call.verifies()


async def test_503_is_retried_with_fresh_signatures_then_unavailable():
    async with RecordingNode([503, 503, 503]) as node, _client(node.url) as client:
        with pytest.raises(UpstreamUnavailable) as caught:
            await client.request("POST", "/callbacks", json={"event_id": "e2"})
    assert caught.value.upstream_code == "http 503" and caught.value.system.startswith("node:127.0.0.1:")
    assert len(node.received) == 3  # one try and two retries
    assert all(call.verifies() for call in node.received)
    assert len({call.headers["x-gov-nonce"] for call in node.received}) == 3  # a nonce is good once


async def test_a_retry_that_succeeds_returns_the_answer():
    async with RecordingNode([502, 200]) as node, _client(node.url) as client:
        response = await client.request("POST", "/callbacks", json={"event_id": "e3"})
    assert response.status_code == 200 and len(node.received) == 2


async def test_429_is_retried_then_rate_limited():
    async with RecordingNode([429, 429, 429]) as node, _client(node.url) as client:
        with pytest.raises(UpstreamRateLimited):
            await client.request("GET", "/status")
    assert len(node.received) == 3


async def test_a_refusal_is_not_retried():
    async with RecordingNode([401]) as node, _client(node.url) as client:
        with pytest.raises(UpstreamRejected) as caught:
            await client.request("POST", "/callbacks", json={})
    assert caught.value.upstream_code == "http-401" and len(node.received) == 1


async def test_an_unreachable_node_is_unavailable():
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with _client(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(UpstreamUnavailable) as caught:
            await client.request("GET", "/status")
    assert caught.value.upstream_code == "ConnectError"
