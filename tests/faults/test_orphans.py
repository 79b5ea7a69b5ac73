"""kill -9 of the main process of ``govhub serve`` (two workers and the scheduler): its children do
not serve on, orphaned. Each asked the kernel to be told of its parent's death (bff/shutdown.py,
``die_with_parent``: Linux's PR_SET_PDEATHSIG) and stops as if sent SIGTERM.

Not yet covered: the multiprocessing manager Sanic's main spawns for its workers' states (no port,
no work) stays until the process group is killed, and multiprocessing's resource tracker with it."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time

import httpx
import pytest

from tests.support.live_hub import REPO_ROOT, fresh_database
from tests.support.mock_server import free_port, wait_until_up
from tests.support.process_group import command_of, live_members

pytestmark = [
    pytest.mark.skipif(not os.environ.get("GOVHUB_REDIS_URL"), reason="two workers need a real Redis"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's"),
]

GONE_WITHIN = 10.0  # seconds from the kill -9 to the last worker gone (a stop is 8 s at most here)


def test_kill_9_of_the_main_process_leaves_no_worker_serving(mock_url):
    port = free_port()
    host, mock_port = mock_url.removeprefix("http://").split(":")
    with fresh_database("sqlite://") as url, tempfile.TemporaryFile("w+") as log:
        env = {**os.environ, "GOVHUB_ENV": "test", "GOVHUB_DATABASE_URL": url, "GOVHUB_PORT": str(port),
               "GOVHUB_WORKERS": "2", "GOVHUB_SCHEDULER_ENABLED": "true", "GOVHUB_SHUTDOWN_SECONDS": "8",
               "GOVHUB_LOG_LEVEL": "WARNING", "GOVHUB_MOCK_HOST": host, "GOVHUB_MOCK_PORT": mock_port}
        process = subprocess.Popen([sys.executable, "-m", "bff.cli", "serve"], cwd=REPO_ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url_ = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(process, url_, log, path="/healthz", timeout=90)
            before = live_members(process.pid)
            spawned = [pid for pid in before if b"spawn_main" in command_of(pid)]
            assert len(spawned) == 4, before  # two workers, the scheduler and Sanic's state manager
            killed = time.monotonic()
            process.send_signal(signal.SIGKILL)  # the main process alone, as the OOM killer does
            process.wait()
            deadline = killed + GONE_WITHIN + 5
            serving = left = None
            while time.monotonic() < deadline:
                left = live_members(process.pid)
                try:
                    httpx.get(f"{url_}/healthz", timeout=1)
                    serving = time.monotonic() - killed
                except httpx.HTTPError:
                    pass
                # the workers and the scheduler: every spawned child but one (Sanic's state manager)
                if len([pid for pid in left if b"spawn_main" in command_of(pid)]) <= 1:
                    break
                time.sleep(0.1)
            gone_after = time.monotonic() - killed
            log.seek(0)
            print(f"[orphans] kill -9 of the main process: its workers and the scheduler gone {gone_after:.2f} s after "
                  f"(last answer on the port {serving if serving is None else round(serving, 2)} s after); left: {left}")
            assert serving is None, f"a worker still answered {serving:.2f} s after the kill"
            assert gone_after <= GONE_WITHIN, (gone_after, [(pid, command_of(pid)[-90:]) for pid in left], log.read()[-4000:])
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
