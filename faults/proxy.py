"""A fault-injecting TCP proxy: whatever connects to ``listen`` is piped to ``upstream``, with the
faults currently switched on (docs/faults.md).

    python -m faults.proxy --listen 127.0.0.1:18610 --upstream 127.0.0.1:8002 --latency 200ms --reset 0.1

Faults, switchable at run time (``FaultProxy.set`` in the same process, ``faults.control`` from
another one) and read afresh for every chunk, so they also hit keep-alive connections:

- ``latency``: each chunk waits this long before it is passed on, in both directions.
- ``reset``: the probability that an answer is replaced by a TCP reset. ``reset_on="answer"`` (the
  default) resets when the upstream's answer begins: the request has reached it and it acted, the
  caller never hears (the case retries and dedupe exist for). ``reset_on="request"`` resets as the
  request arrives: nothing reaches the upstream.
- ``blackhole``: bytes from the caller are swallowed, nothing is answered: the caller times out.
- ``partial``: only the first N bytes of each answer are passed on, then the connection is closed.
- ``down``: nothing listens (connection refused) and open connections are reset.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import random
import re
import socket
import struct
from collections import Counter
from dataclasses import dataclass
from typing import Any, Self

log = logging.getLogger("faults.proxy")

CHUNK = 64 * 1024
RESET_ON = ("answer", "request")


@dataclass(frozen=True)
class Faults:
    latency: float = 0.0
    reset: float = 0.0
    reset_on: str = "answer"
    blackhole: bool = False
    partial: int | None = None
    down: bool = False

    def __post_init__(self) -> None:
        if self.latency < 0:
            raise ValueError("latency must be >= 0")
        if not 0.0 <= self.reset <= 1.0:
            raise ValueError("reset is a probability, 0 to 1")
        if self.reset_on not in RESET_ON:
            raise ValueError(f"reset_on is one of {RESET_ON}")
        if self.partial is not None and self.partial < 0:
            raise ValueError("partial must be >= 0 bytes")

    def changed(self, **changes: Any) -> Faults:
        if "latency" in changes and isinstance(changes["latency"], str):
            changes["latency"] = parse_duration(changes["latency"])
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        return dataclasses.replace(self, **changes)


def parse_duration(text: str | float) -> float:
    """``200ms``, ``1.5s``, ``2`` (seconds) -> seconds."""
    if isinstance(text, int | float):
        return float(text)
    found = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s)?\s*", text)
    if not found:
        raise ValueError(f"not a duration: {text!r} (say 200ms or 1.5s)")
    value = float(found.group(1))
    return value / 1000 if found.group(2) == "ms" else value


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


class FaultProxy:
    """One listening address piped to one upstream. ``stats`` counts what it did, for figures."""

    def __init__(self, upstream: tuple[str, int], listen: tuple[str, int] = ("127.0.0.1", 0),
                 faults: Faults | None = None, seed: int | None = None) -> None:
        self.upstream = upstream
        self.host, self.port = listen
        self.faults = faults or Faults()
        self.stats: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> FaultProxy:
        if not self.faults.down:
            await self._listen()
        return self

    async def stop(self) -> None:
        await self._close_listener()
        self._reset_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()

    async def set(self, **changes: Any) -> Faults:
        """Switch faults (the others stay as they are); ``down`` closes or opens the listener."""
        faults = self.faults.changed(**changes)
        was_down, self.faults = self.faults.down, faults
        if faults.down and not was_down:
            await self._close_listener()
            self._reset_all()
        elif was_down and not faults.down:
            await self._listen()
        return faults

    async def clear(self) -> Faults:
        """Every fault off (and listening again)."""
        return await self.set(**dataclasses.asdict(Faults()))

    def report(self) -> dict[str, Any]:
        return {"listen": f"{self.host}:{self.port}", "upstream": "{}:{}".format(*self.upstream),
                "faults": dataclasses.asdict(self.faults), "stats": dict(self.stats)}

    # --- the listener -----------------------------------------------------------------------

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accepted, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]  # port 0 asked for any

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def _reset_all(self) -> None:
        for writer in list(self._open):
            _reset(writer)

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        self._open.add(writer)
        self.stats["connections"] += 1
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._open.discard(writer)
            self._tasks.discard(task)
            _close(writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self.stats["upstream_unreachable"] += 1
            _reset(writer)
            return
        self._open.add(up_writer)
        exchange = _Exchange()
        try:
            await _first_done(self._requests(reader, up_writer, exchange, writer),
                              self._answers(up_reader, writer, exchange, up_writer))
        finally:
            self._open.discard(up_writer)
            _close(up_writer)

    async def _requests(self, reader, up_writer, exchange: _Exchange, writer) -> None:
        """Caller -> upstream."""
        while chunk := await reader.read(CHUNK):
            faults = self.faults
            if faults.blackhole:
                self.stats["blackholed_chunks"] += 1
                continue  # swallowed; the caller waits for an answer that never comes
            if not exchange.open and faults.reset_on == "request" and self._roll(faults.reset):
                self.stats["reset_requests"] += 1
                _reset(writer)
                return
            exchange.begin(faults.reset_on == "answer" and self._roll(faults.reset))
            await self._delay(faults)
            up_writer.write(chunk)
            await up_writer.drain()
            self.stats["bytes_up"] += len(chunk)

    async def _answers(self, up_reader, writer, exchange: _Exchange, up_writer) -> None:
        """Upstream -> caller."""
        while chunk := await up_reader.read(CHUNK):
            faults = self.faults
            if faults.blackhole:
                continue
            if exchange.reset_pending:
                self.stats["reset_answers"] += 1
                _reset(writer)
                return
            if faults.partial is not None and exchange.sent + len(chunk) > faults.partial:
                writer.write(chunk[:max(0, faults.partial - exchange.sent)])
                await writer.drain()
                self.stats["partial_answers"] += 1
                return  # closed by the caller of this pipe: the answer stops short
            await self._delay(faults)
            writer.write(chunk)
            await writer.drain()
            exchange.answered(len(chunk))
            self.stats["bytes_down"] += len(chunk)

    def _roll(self, probability: float) -> bool:
        return probability > 0 and self._random.random() < probability

    async def _delay(self, faults: Faults) -> None:
        if faults.latency:
            await asyncio.sleep(faults.latency)


class _Exchange:
    """Where one connection stands between a request and its answer (HTTP keep-alive carries many)."""

    def __init__(self) -> None:
        self.open = False  # a request went up and its answer has not begun
        self.reset_pending = False
        self.sent = 0  # bytes of the current answer passed on

    def begin(self, reset: bool) -> None:
        if not self.open:
            self.open, self.reset_pending, self.sent = True, reset, 0

    def answered(self, size: int) -> None:
        self.open = False
        self.sent += size


async def _first_done(*pipes) -> None:
    """Run both directions; when one ends (EOF, reset, partial), the connection is over."""
    tasks = [asyncio.ensure_future(pipe) for pipe in pipes]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.exception() and not isinstance(task.exception(), ConnectionError | OSError):
                raise task.exception()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed peer or a middlebox does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        writer.close()


# --- the command line ---------------------------------------------------------------------------

def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m faults.proxy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:18610", help="HOST:PORT to accept on")
    parser.add_argument("--upstream", required=True, help="HOST:PORT to pipe to")
    parser.add_argument("--latency", default="0", help="added to each chunk, e.g. 200ms")
    parser.add_argument("--reset", type=float, default=0.0, help="probability an answer is reset (0-1)")
    parser.add_argument("--reset-on", choices=RESET_ON, default="answer")
    parser.add_argument("--blackhole", action="store_true", help="swallow requests, never answer")
    parser.add_argument("--partial", type=int, help="pass only this many bytes of each answer, then close")
    parser.add_argument("--down", action="store_true", help="start not listening")
    parser.add_argument("--control", help="HOST:PORT where faults.control switches faults at run time")
    parser.add_argument("--seed", type=int, help="for the reset dice (reproducible runs)")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    from faults.control import ControlServer

    faults = Faults(latency=parse_duration(args.latency), reset=args.reset, reset_on=args.reset_on,
                    blackhole=args.blackhole, partial=args.partial, down=args.down)
    proxy = await FaultProxy(parse_address(args.upstream), parse_address(args.listen), faults, args.seed).start()
    control = await ControlServer(proxy, parse_address(args.control)).start() if args.control else None
    print(f"proxy {proxy.host}:{proxy.port} -> {args.upstream}"
          + (f", control {control.host}:{control.port}" if control else ""), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        if control:
            await control.stop()
        await proxy.stop()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(arguments()))
