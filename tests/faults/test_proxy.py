"""The fault proxy (faults/proxy.py) in front of a tiny keep-alive HTTP server: each fault does to
a real httpx client what it says, and what reaches the upstream is counted."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Self

import httpx
import pytest

from faults.control import ControlServer, ProxyControl
from faults.proxy import FaultProxy, Faults, parse_duration
from tests.support.mock_server import REPO_ROOT, free_port

BODY = b'{"status":"ok","padding":"' + b"x" * 200 + b'"}'


class Upstream:
    """Answers every request on a connection with BODY (keep-alive); counts the requests it got."""

    def __init__(self) -> None:
        self.requests = 0

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.address = ("127.0.0.1", self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc_info) -> None:
        self._server.close()

    async def _serve(self, reader, writer) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length")), 0)
                await reader.readexactly(length)
                self.requests += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(BODY), BODY))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def upstream():
    async with Upstream() as server:
        yield server


@pytest.fixture
async def proxy(upstream):
    async with FaultProxy(upstream.address, seed=7) as running:
        yield running


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=httpx.Timeout(2.0, connect=1.0)) as client:
        yield client


async def test_without_faults_it_is_a_pipe(proxy, upstream, http):
    for _ in range(3):
        answer = await http.post(proxy.url, json={"a": 1})
        assert answer.content == BODY
    assert upstream.requests == 3
    assert proxy.stats["connections"] == 1  # keep-alive: one connection carried all three


async def test_latency_delays_every_exchange(proxy, http):
    await proxy.set(latency="150ms")
    began = time.monotonic()
    assert (await http.post(proxy.url, json={})).content == BODY
    assert time.monotonic() - began >= 0.3  # request and answer each waited


async def test_reset_on_answer_lets_the_request_through_and_the_caller_never_hears(proxy, upstream, http):
    await proxy.set(reset=1.0)
    with pytest.raises(httpx.TransportError):
        await http.post(proxy.url, json={})
    assert upstream.requests == 1  # the upstream acted on it
    assert proxy.stats["reset_answers"] == 1


async def test_reset_on_request_reaches_nothing(proxy, upstream, http):
    await proxy.set(reset=1.0, reset_on="request")
    with pytest.raises(httpx.TransportError):
        await http.post(proxy.url, json={})
    assert upstream.requests == 0
    assert proxy.stats["reset_requests"] == 1


async def test_a_reset_probability_resets_about_that_share(proxy, upstream):
    await proxy.set(reset=0.3)
    failed = 0
    async with httpx.AsyncClient(timeout=2.0) as http:
        for _ in range(100):
            try:
                await http.post(proxy.url, json={})
            except httpx.TransportError:
                failed += 1
    assert 15 <= failed <= 45, failed  # seeded dice: 30 % give or take
    assert failed == proxy.stats["reset_answers"] and upstream.requests == 100


async def test_blackhole_times_the_caller_out_and_reaches_nothing(proxy, upstream):
    await proxy.set(blackhole=True)
    async with httpx.AsyncClient(timeout=0.3) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(proxy.url, json={})
    assert upstream.requests == 0


async def test_partial_answers_stop_short(proxy, upstream, http):
    await proxy.set(partial=60)  # the status line and some headers, no body
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(proxy.url, json={})
    assert upstream.requests == 1
    assert proxy.stats["partial_answers"] == 1


async def test_down_refuses_and_up_serves_again_on_the_same_port(proxy, http):
    port = proxy.port
    await proxy.set(down=True)
    with pytest.raises(httpx.ConnectError):
        await http.post(proxy.url, json={})
    await proxy.set(down=False)
    assert proxy.port == port
    assert (await http.post(proxy.url, json={})).content == BODY


async def test_faults_switched_at_run_time_hit_open_keep_alive_connections(proxy, http):
    assert (await http.post(proxy.url, json={})).status_code == 200
    await proxy.set(reset=1.0)
    with pytest.raises(httpx.TransportError):
        await http.post(proxy.url, json={})
    await proxy.clear()
    assert (await http.post(proxy.url, json={})).status_code == 200


async def test_an_unreachable_upstream_is_a_reset_for_the_caller(http):
    async with FaultProxy(("127.0.0.1", free_port())) as proxy:
        with pytest.raises(httpx.TransportError):
            await http.post(proxy.url, json={})
        assert proxy.stats["upstream_unreachable"] == 1


def test_bad_faults_are_refused():
    for bad in ({"reset": 1.5}, {"latency": -1}, {"reset_on": "never"}, {"partial": -3}):
        with pytest.raises(ValueError):
            Faults(**bad)
    with pytest.raises(ValueError):
        Faults().changed(jitter=1)
    assert parse_duration("200ms") == 0.2 and parse_duration("1.5s") == 1.5 and parse_duration("2") == 2.0
    with pytest.raises(ValueError):
        parse_duration("soon")


async def test_the_control_channel_switches_faults_and_refuses_bad_ones(proxy, http):
    async with _control(proxy) as control:
        answer = await asyncio.to_thread(control.set, partial=10)
        assert answer["faults"]["partial"] == 10
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(proxy.url, json={})
        with pytest.raises(ValueError, match="probability"):
            await asyncio.to_thread(control.set, reset=7)
        assert proxy.faults.partial == 10  # unchanged by the refused command
        await asyncio.to_thread(control.clear)
        assert (await http.post(proxy.url, json={})).content == BODY
        assert (await asyncio.to_thread(control.report))["stats"]["partial_answers"] == 1


class _control:
    def __init__(self, proxy) -> None:
        self.server = ControlServer(proxy)

    async def __aenter__(self) -> ProxyControl:
        await self.server.start()
        return ProxyControl((self.server.host, self.server.port))

    async def __aexit__(self, *exc_info) -> None:
        await self.server.stop()


async def test_the_command_line_proxy_is_switched_from_another_process(upstream):
    listen, control_port = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "faults.proxy", "--listen", f"127.0.0.1:{listen}",
        "--upstream", "{}:{}".format(*upstream.address), "--latency", "10ms", "--control", f"127.0.0.1:{control_port}",
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert b"proxy 127.0.0.1:" in await asyncio.wait_for(process.stdout.readline(), 20)
        control = ProxyControl(("127.0.0.1", control_port))
        async with httpx.AsyncClient(timeout=2.0) as http:
            assert (await http.post(f"http://127.0.0.1:{listen}", json={})).content == BODY
            report = await asyncio.to_thread(control.set, down=True)
            assert report["faults"] == {**report["faults"], "down": True, "latency": 0.01}
        # a new client: "down" also resets open connections, so the pooled one could fail reading instead
        async with httpx.AsyncClient(timeout=2.0) as http:
            with pytest.raises(httpx.ConnectError):
                await http.post(f"http://127.0.0.1:{listen}", json={})
        assert upstream.requests == 1
    finally:
        process.kill()
        await process.wait()
