"""Run ``miniprogram_mock`` as a real HTTP server in a subprocess, for contract and journey tests.

A subprocess, not an in-process app: the adapters under test (wechatpy is synchronous, running in
threads) then talk to it exactly as they would talk to the real platforms, over a socket.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 10.0  # generous for a loaded CI box; it normally answers in under a second


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(process: subprocess.Popen, url: str, log, *, path: str = "/_mock/health",
                  timeout: float = START_TIMEOUT) -> None:
    """Poll ``url + path`` until it answers 200; fail with the process's output if it dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{log.read()[-4000:]}")
        try:
            if httpx.get(f"{url}{path}", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url}{path} did not answer within {timeout} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def running_mock(port: int | None = None) -> Iterator[str]:
    """Start the mock, yield its base URL (``http://127.0.0.1:<port>``), stop it afterwards."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    # Its log goes to a file, not a pipe: an unread pipe fills up and freezes the server.
    with tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "miniprogram_mock", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_until_up(process, url, log)
            yield url
        finally:
            _stop(process)
