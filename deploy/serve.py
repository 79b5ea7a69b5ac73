"""``govhub serve`` for an instance of deploy/instances.py, with a longer start allowance.

Sanic's process manager gives its workers 30 s to start and then shuts the whole server down.
A worker imports the whole hub (about 4 s of CPU); with several instances starting on one small,
busy host, that was seen to take over 30 s, and the instance died at birth. Here the allowance is
``GOVHUB_WORKER_START_SECONDS`` (default 120); everything else is exactly ``govhub serve``.
"""
from __future__ import annotations

import os
import sys

from sanic.worker.manager import WorkerManager
from sanic.worker.process import WorkerProcess

from bff.cli import main


def allow_slow_starts(seconds: float) -> None:
    # Sanic counts the allowance in polls of 0.1 s
    WorkerManager.THRESHOLD = WorkerProcess.THRESHOLD = int(seconds * 10)


if __name__ == "__main__":
    allow_slow_starts(float(os.environ.get("GOVHUB_WORKER_START_SECONDS") or 120))
    sys.exit(main(["serve"]))
