"""Run the department stub (adapters/departments/stub) as a real HTTP process, and ask it what arrived."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.mock_server import REPO_ROOT, free_port, wait_until_up

DEVKEYS = REPO_ROOT / "devkeys"
HUB_PUBLIC_KEY = DEVKEYS / "hub_node_public.pem"
NODE = "zj-platform"
NODE_PRIVATE_KEY = DEVKEYS / "demo_node_zhejiang_private.pem"
NODE_PUBLIC_KEY = DEVKEYS / "demo_node_zhejiang_public.pem"


@dataclass
class Stub:
    url: str
    process: subprocess.Popen
    args: list[str]
    log: object

    def endpoint(self, node: str = NODE) -> str:
        return f"{self.url}/nodes/{node}"

    def deliveries(self) -> dict:
        return httpx.get(f"{self.url}/_stub/deliveries", timeout=5).json()

    def arrivals(self) -> dict[str, int]:
        """delivery id -> how many times it arrived (its signature verified)."""
        return {row["delivery_id"]: row["arrivals"] for row in self.deliveries()["deliveries"]}

    def processed(self) -> dict[str, int]:
        """delivery id -> how many times the department acted on it (dedupe: must be 1)."""
        return {row["delivery_id"]: row["processed"] for row in self.deliveries()["deliveries"]}

    def fault(self, mode: str, **options) -> None:
        answer = httpx.post(f"{self.url}/_stub/faults", json={"mode": mode, **options}, timeout=5)
        assert answer.status_code == 201, answer.text

    def clear_fault(self) -> None:
        httpx.delete(f"{self.url}/_stub/faults", timeout=5).raise_for_status()

    def callbacks(self, number: str | None = None) -> list[dict]:
        params = {"number": number} if number else {}
        return httpx.get(f"{self.url}/_stub/callbacks", params=params, timeout=5).json()["callbacks"]

    def stop(self) -> None:
        _stop(self.process)

    def start(self) -> None:
        """Start again on the same port and file (after ``stop``): "down, then up"."""
        self.process = _spawn(self.args, self.log)
        wait_until_up(self.process, self.url, self.log, path="/_stub/health")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()


def _spawn(args: list[str], log) -> subprocess.Popen:
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def running_stub(*, hub_url: str = "http://127.0.0.1:9", delay: float = 0.05, review: bool = True,
                 nodes: dict[str, Path] | None = None, extra: list[str] = ()) -> Iterator[Stub]:
    """The stub on a free port, trusting the dev hub key, remembering in a temporary SQLite file."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile("w+") as log:
        args = [sys.executable, "-m", "adapters.departments.stub", "--host", "127.0.0.1", "--port", str(port),
                "--hub-url", hub_url, "--hub-key", str(HUB_PUBLIC_KEY), "--db", str(Path(folder) / "stub.sqlite3"),
                "--delay", str(delay), *(() if review else ("--no-review",)), *extra]
        for code, key in (nodes or {NODE: NODE_PRIVATE_KEY}).items():
            args += ["--node", f"{code}={key}"]
        stub = Stub(url=f"http://127.0.0.1:{port}", process=_spawn(args, log), args=args, log=log)
        try:
            wait_until_up(stub.process, stub.url, log, path="/_stub/health")
            yield stub
        finally:
            stub.stop()


class HubDouble:
    """The hub's callback route reduced to a socket: records each request (one per connection)
    and answers from a script of statuses (200 once it runs out), like tests/contract's RecordingNode."""

    def __init__(self, statuses=()) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[str, str, dict[str, str], bytes]] = []  # method, target, headers, body

    async def __aenter__(self) -> HubDouble:
        import asyncio

        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader, writer) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _version = head[0].split(" ")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in head[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.received.append((method, target, headers, body))
        status = self.statuses.pop(0) if self.statuses else 200
        payload = b'{"status":"ok"}'
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                     "Connection: close\r\n\r\n".encode() + payload)
        await writer.drain()
        writer.close()
