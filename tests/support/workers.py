"""Each pytest-xdist worker its own Redis databases, chosen before any process starts.

The suite runs in parallel (``-n auto`` in pyproject.toml). Databases are already per worker (a
SQLite file or a PostgreSQL database per session), and so is fakeredis (one per process); a real
Redis is one server, and each worker empties its database between tests. So worker ``gwN`` takes
two databases of the one named in ``GOVHUB_REDIS_URL``: ``base + 2N`` for its session and the hubs
it starts, ``base + 2N + 1`` for a hub that must not share it (``own_redis``). Set here, at import,
so every process the worker starts inherits it.
"""
from __future__ import annotations

import os

REDIS_DATABASES = 16  # a Redis server's default


def _worker_index() -> int:
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))


def with_database(url: str, db: int) -> str:
    if db >= REDIS_DATABASES:
        raise RuntimeError(f"Redis database {db} does not exist: use a lower database in GOVHUB_REDIS_URL "
                           "or fewer workers (-n)")
    return url.rsplit("/", 1)[0] + f"/{db}"


def _database_of(url: str) -> int:
    tail = url.rsplit("/", 1)[1] if url.count("/") > 2 else ""
    return int(tail) if tail.isdigit() else 0


def _worker_redis(url: str) -> str:
    return with_database(url, _database_of(url) + 2 * _worker_index()) if url else ""


def own_redis(url: str) -> str:
    """A Redis database beside this worker's, for a hub whose keys the session must not flush."""
    return with_database(url, _database_of(url) + 1) if url else ""


# what the suite was given, kept apart so that this worker's choice is made from it, not from a
# choice inherited from the process that started the worker
SUITE_REDIS_URL = os.environ.setdefault("GOVHUB_SUITE_REDIS_URL", os.environ.get("GOVHUB_REDIS_URL", ""))
os.environ["GOVHUB_REDIS_URL"] = _worker_redis(SUITE_REDIS_URL)
