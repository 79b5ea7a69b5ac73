"""Shared by the cluster tests: whether real services are there, and several hub instances behind
nginx (deploy/instances.py) on a fresh, seeded database, started once per module that asks."""
from __future__ import annotations

import os
import shutil

import pytest

from deploy.instances import NGINX, Cluster, running
from tests.support.live_hub import fresh_database
from tests.support.workers import _worker_index, own_redis

PORTS = range(18100, 18200)  # the cluster tests' ports; the CLI's default cluster takes 18100-18111


def real_services_missing() -> str | None:
    """Why several instances cannot run here, or None: they share a real PostgreSQL and Redis."""
    if not os.environ.get("GOVHUB_DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return "several hub instances share one PostgreSQL: set GOVHUB_DATABASE_URL (the real-services phase)"
    if not os.environ.get("GOVHUB_REDIS_URL"):
        return "several hub instances share one Redis (fakeredis lives in one process): set GOVHUB_REDIS_URL"
    if not shutil.which(NGINX) and not os.environ.get("CI"):  # on CI (.ci/run installs it) fail, not skip
        return "nginx is not installed (apt-get install -y nginx-light)"
    return None


def base_port() -> int:
    """Each pytest-xdist worker its own block of 20 ports above the CLI's."""
    port = 18120 + 20 * _worker_index()
    if port + 19 not in PORTS:
        raise RuntimeError("too many test workers for the cluster ports 18100-18199 (use fewer -n)")
    return port


@pytest.fixture(scope="module")
def instances(request, redis_url, mock_url, tmp_path_factory):
    """Two instances of two workers (and a scheduler each) behind nginx, on a fresh seeded database
    and this worker's second Redis database. A module sets ``CLUSTER_ENV`` for settings of its own."""
    with fresh_database(os.environ["GOVHUB_DATABASE_URL"]) as database_url:
        cluster = Cluster(database_url=database_url, redis_url=own_redis(redis_url), mock_url=mock_url,
                          run_dir=str(tmp_path_factory.mktemp("instances")), base_port=base_port(),
                          extra_env={"GOVHUB_ENV": "test", **getattr(request.module, "CLUSTER_ENV", {})})
        cluster.govhub("seed")
        with running(cluster):
            yield cluster
