"""A local Redis Cluster of three masters, for the tests that run the hub on a cluster.

``redis-server --cluster-enabled yes`` three times in a temporary directory (ports 17001-17003 by
default, their cluster bus on port + 10000), joined by ``redis-cli --cluster create ...
--cluster-replicas 0``; ready when every node says ``cluster_state:ok``; stopped and removed at the
end. Nothing is persisted (no RDB, no AOF): a cluster lives as long as its ``with`` block.

It never touches the shared Redis on 6379. A port already taken is an error, not a reason to use
whatever listens there: that could be another run's cluster, whose data the tests would mix with.
"""
from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

PORTS = (17001, 17002, 17003)
HOST = "127.0.0.1"
START_TIMEOUT = 30.0  # seconds for the nodes to answer and the cluster to agree; a few normally


@dataclass(frozen=True)
class RedisCluster:
    ports: tuple[int, ...]
    folder: Path

    @property
    def url(self) -> str:
        """The hub's setting for this cluster (docs/redis-cluster.md): every node a seed."""
        return "redis+cluster://" + ",".join(f"{HOST}:{port}" for port in self.ports)

    def node(self, port: int) -> redis.Redis:
        """A plain client of one node (for what a test inspects node by node)."""
        return redis.Redis(host=HOST, port=port, decode_responses=True)

    def flush(self) -> None:
        """Empties every master (tests start from an empty cluster)."""
        for port in self.ports:
            with contextlib.closing(self.node(port)) as node:
                node.flushall()


def redis_server_installed() -> bool:
    return bool(shutil.which("redis-server") and shutil.which("redis-cli"))


@contextlib.contextmanager
def running_cluster(ports: tuple[int, ...] = PORTS) -> Iterator[RedisCluster]:
    for port in ports:
        _refuse_taken(port)
    with tempfile.TemporaryDirectory(prefix="govhub-redis-cluster-") as tmp:
        folder = Path(tmp)
        processes: list[subprocess.Popen] = []
        try:
            for port in ports:
                processes.append(_start_node(folder, port))
            for port, process in zip(ports, processes):
                _wait_for_ping(port, process, folder)
            _create(ports, folder)
            _wait_for_state_ok(ports)
            yield RedisCluster(ports=ports, folder=folder)
        finally:
            for process in processes:
                _stop(process)


def _refuse_taken(port: int) -> None:
    for taken in (port, port + 10000):  # the node and its cluster bus
        with socket.socket() as sock:
            if sock.connect_ex((HOST, taken)) == 0:
                raise RuntimeError(f"port {taken} is already in use: a Redis Cluster for the tests needs "
                                   f"{port} and its bus {port + 10000} free (a cluster left by another run?)")


def _start_node(folder: Path, port: int) -> subprocess.Popen:
    home = folder / str(port)
    home.mkdir()
    with open(home / "redis.log", "w") as log:  # the server keeps its own copy of the descriptor
        return subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", HOST, "--cluster-enabled", "yes",
             "--cluster-config-file", str(home / "nodes.conf"), "--cluster-node-timeout", "2000",
             "--dir", str(home), "--save", "", "--appendonly", "no"],
            stdout=log, stderr=subprocess.STDOUT, cwd=home)


def _wait_for_ping(port: int, process: subprocess.Popen, folder: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    with contextlib.closing(redis.Redis(host=HOST, port=port, socket_timeout=1)) as node:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log = (folder / str(port) / "redis.log").read_text()[-2000:]
                raise RuntimeError(f"redis-server on {port} exited with {process.returncode}:\n{log}")
            with contextlib.suppress(redis.RedisError):
                if node.ping():
                    return
            time.sleep(0.05)
    raise RuntimeError(f"redis-server on {port} did not answer within {START_TIMEOUT} s")


def _create(ports: tuple[int, ...], folder: Path) -> None:
    done = subprocess.run(["redis-cli", "--cluster", "create", *(f"{HOST}:{port}" for port in ports),
                           "--cluster-replicas", "0", "--cluster-yes"],
                          check=False, capture_output=True, text=True, timeout=START_TIMEOUT, cwd=folder)
    if done.returncode != 0 or "[OK] All 16384 slots covered" not in done.stdout:
        raise RuntimeError(f"redis-cli --cluster create failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _wait_for_state_ok(ports: tuple[int, ...]) -> None:
    """Every node must see the whole cluster: one that still thinks it is alone answers MOVED
    wrongly or CLUSTERDOWN, and a test would fail for a reason that is not the hub's."""
    deadline = time.monotonic() + START_TIMEOUT
    waiting = set(ports)
    while waiting and time.monotonic() < deadline:
        for port in sorted(waiting):
            with contextlib.closing(redis.Redis(host=HOST, port=port, socket_timeout=1)) as node, \
                    contextlib.suppress(redis.RedisError):
                info = node.cluster("info")
                if info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == len(ports):
                    waiting.discard(port)
        time.sleep(0.05)
    if waiting:
        raise RuntimeError(f"the cluster did not reach cluster_state:ok on {sorted(waiting)} within {START_TIMEOUT} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
