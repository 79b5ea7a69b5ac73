"""Switching a proxy's faults from another process: one JSON object per line over TCP.

    {"set": {"latency": "200ms", "reset": 0.1}}   -> {"ok": true, "listen": ..., "faults": {...}, "stats": {...}}
    {"clear": true}                                -> every fault off
    {}                                             -> the report alone

``ProxyControl`` is the synchronous client a test (or a shell: ``nc``) uses."""
from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from faults.proxy import FaultProxy


class ControlServer:
    def __init__(self, proxy: FaultProxy, listen: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        self.proxy = proxy
        self.host, self.port = listen
        self._server: asyncio.Server | None = None

    async def start(self) -> ControlServer:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                writer.write(json.dumps(await self.answer(line)).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def answer(self, line: bytes) -> dict[str, Any]:
        try:
            command = json.loads(line)
            if not isinstance(command, dict):
                raise TypeError("a JSON object, please")
            if command.get("clear"):
                await self.proxy.clear()
            if command.get("set"):
                await self.proxy.set(**command["set"])
        except (ValueError, TypeError) as exc:  # the proxy's faults stay as they were
            return {"ok": False, "error": str(exc), **self.proxy.report()}
        return {"ok": True, **self.proxy.report()}


class ProxyControl:
    """The client: ``ProxyControl(("127.0.0.1", 18611)).set(latency="200ms")``."""

    def __init__(self, address: tuple[str, int], timeout: float = 5.0) -> None:
        self.address, self.timeout = address, timeout

    def send(self, command: dict[str, Any]) -> dict[str, Any]:
        with socket.create_connection(self.address, timeout=self.timeout) as sock:
            sock.sendall(json.dumps(command).encode() + b"\n")
            with sock.makefile("rb") as answers:
                answer = json.loads(answers.readline())
        if not answer["ok"]:
            raise ValueError(answer["error"])
        return answer

    def set(self, **faults: Any) -> dict[str, Any]:
        return self.send({"set": faults})

    def clear(self) -> dict[str, Any]:
        return self.send({"clear": True})

    def report(self) -> dict[str, Any]:
        return self.send({})
