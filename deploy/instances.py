"""Several hub instances behind nginx, on one PostgreSQL and one Redis: start, stop, look.

    python -m deploy.instances up [--instances 2] [--workers 2] [--base-port 18100]
                                  [--database-url URL] [--redis-url URL] [--seed] [--mock-url URL]
    python -m deploy.instances status
    python -m deploy.instances down

Each instance is ``govhub serve`` with its own Sanic workers and its own scheduler process (one
per host, as in production), all sharing the database and Redis. nginx (Debian's package) runs in
the foreground under a prefix of its own in the run folder, never as the system service.
Ports: the balancer at ``base``, the first instance alone behind nginx at ``base + 1`` (to compare
one instance with all in one run), the instances at ``base + 10 + i``; the mock WeChat/Alipay
servers and the department stub, when started here, at ``base + 8`` and ``base + 9``.

Tests (tests/cluster) and benchmarks (bench/instances_bench.py) use ``Cluster`` and ``running``.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
DEFAULT_RUN_DIR = ROOT / "var" / "instances"
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/govhub_instances"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT = 120  # seconds: a loaded 2-core box starts Sanic's workers slowly
STOP_TIMEOUT = 20


@dataclass
class Cluster:
    """What runs where. Every field is plain, so the state file can say it back to ``down``."""

    database_url: str
    redis_url: str
    run_dir: str = str(DEFAULT_RUN_DIR)
    base_port: int = 18100
    instances: int = 2
    workers: int = 2
    mock_url: str = ""  # empty: start the mock WeChat/Alipay servers and the department stub here
    nginx_workers: int = 1
    extra_env: dict = field(default_factory=dict)
    pids: dict = field(default_factory=dict)  # name -> pid (each the leader of its process group)

    @property
    def balancer_url(self) -> str:
        return f"http://127.0.0.1:{self.base_port}"

    @property
    def single_url(self) -> str:
        """nginx in front of the first instance only."""
        return f"http://127.0.0.1:{self.base_port + 1}"

    @property
    def instance_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.instance_port(i)}" for i in range(self.instances)]

    def instance_port(self, index: int) -> int:
        return self.base_port + 10 + index

    @property
    def own_mocks(self) -> bool:
        return not self.mock_url

    @property
    def mocks_url(self) -> str:
        return self.mock_url or f"http://127.0.0.1:{self.base_port + 8}"

    @property
    def stub_port(self) -> int:
        return self.base_port + 9

    @property
    def state_file(self) -> Path:
        return Path(self.run_dir) / "state.json"

    def env(self) -> dict[str, str]:
        """What every instance and every ``govhub`` command on this cluster runs with."""
        host, port = self.mocks_url.removeprefix("http://").split(":")
        return {**os.environ, "GOVHUB_DATABASE_URL": self.database_url, "GOVHUB_REDIS_URL": self.redis_url,
                "GOVHUB_MOCK_HOST": host, "GOVHUB_MOCK_PORT": port, "GOVHUB_STUB_PORT": str(self.stub_port),
                # one issuer for every instance: a token from one is a token of the hub, not of a host
                "GOVHUB_PUBLIC_URL": self.balancer_url, "GOVHUB_LOG_LEVEL": "WARNING",
                # one proxy in front: the last X-Forwarded-For entry is the caller's address
                "SANIC_PROXIES_COUNT": "1", **self.extra_env}

    def instance_env(self, index: int) -> dict[str, str]:
        return {**self.env(), "GOVHUB_PORT": str(self.instance_port(index)), "GOVHUB_WORKERS": str(self.workers)}

    def govhub(self, *args: str, stdin: str | None = None) -> str:
        """Run a ``govhub`` command on the cluster's database and Redis; its output."""
        done = subprocess.run([sys.executable, "-m", "bff.cli", *args], cwd=ROOT, env=self.env(), input=stdin,
                              capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"govhub {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    # --- processes ------------------------------------------------------------------------------

    def up(self) -> Cluster:
        Path(self.run_dir).mkdir(parents=True, exist_ok=True)
        self._refuse_taken_ports()
        try:
            if self.own_mocks:
                self._start("mock", [sys.executable, "-m", "miniprogram_mock", "serve", "--host", "127.0.0.1",
                                     "--port", str(self.base_port + 8)], self.env(), f"{self.mocks_url}/_mock/health")
            for index in range(self.instances):  # all at once: GOVHUB_WORKER_START_SECONDS gives workers time
                self.start_instance(index, wait=False)
            for index in range(self.instances):
                self._wait(f"instance-{index}", f"{self.instance_urls[index]}/readyz")
            if self.own_mocks:  # after the hub: the stub fetches the hub's key from it
                self._start("stub", [sys.executable, "-m", "adapters.departments.stub", "--host", "127.0.0.1",
                                     "--port", str(self.stub_port), "--hub-url", self.balancer_url, "--db",
                                     str(Path(self.run_dir) / "department_stub.sqlite3")],
                            self.env(), None)
            self._start_nginx()
            if self.own_mocks:
                self._wait("stub", f"http://127.0.0.1:{self.stub_port}/_stub/health")
        except BaseException:
            self.down()
            raise
        return self

    def start_instance(self, index: int, *, wait: bool = True) -> None:
        self._start(f"instance-{index}", [sys.executable, "-m", "bff.cli", "serve"], self.instance_env(index),
                    f"{self.instance_urls[index]}/readyz" if wait else None)

    def kill(self, name: str, sig: int = signal.SIGTERM, *, timeout: float = STOP_TIMEOUT) -> None:
        """Signal a process group (``instance-0``, ``nginx``, …) and wait for its leader to end;
        SIGKILL for whatever is left after ``timeout``."""
        self._stop([name], sig, timeout)

    def down(self) -> None:
        """nginx first (no new requests), then every instance and the mocks at once."""
        self._stop(["nginx"], signal.SIGTERM, STOP_TIMEOUT)
        self._stop(list(self.pids), signal.SIGTERM, STOP_TIMEOUT)

    def _stop(self, names: list[str], sig: int, timeout: float) -> None:
        pids = [self.pids.pop(name) for name in names if name in self.pids]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
        deadline = time.monotonic() + timeout
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)  # the group: workers and the scheduler too
            _reap(pid)
        self._save()

    def status(self) -> dict[str, str]:
        answer = {}
        for name, pid in self.pids.items():
            answer[name] = f"pid {pid} " + ("running" if _alive(pid) else "gone")
        for url in [self.balancer_url, *self.instance_urls]:
            try:
                answer[url] = str(httpx.get(f"{url}/readyz", timeout=2).status_code)
            except httpx.HTTPError as exc:
                answer[url] = f"unreachable ({type(exc).__name__})"
        return answer

    def log(self, name: str) -> str:
        path = Path(self.run_dir) / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _start(self, name: str, command: list[str], env: dict[str, str], ready_url: str | None) -> None:
        log = open(Path(self.run_dir) / f"{name}.log", "ab")  # noqa: SIM115 (the child keeps it)
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.pids[name] = process.pid
        self._save()
        if ready_url:
            self._wait(name, ready_url)

    def _wait(self, name: str, url: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        pid = self.pids[name]
        while time.monotonic() < deadline:
            if not _alive(pid):
                raise RuntimeError(f"{name} exited:\n{self.log(name)[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer {url} within {START_TIMEOUT} s:\n{self.log(name)[-4000:]}")

    def _start_nginx(self) -> None:
        prefix = Path(self.run_dir) / "nginx"
        for folder in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
            (prefix / folder).mkdir(parents=True, exist_ok=True)
        (prefix / "nginx.conf").write_text(self.nginx_config(prefix))
        shutil.copy(HERE / "proxy.conf", prefix / "proxy.conf")
        self._start("nginx", [NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c",
                              str(prefix / "nginx.conf")], self.env(), f"{self.balancer_url}/healthz")
        self._wait("nginx", f"{self.single_url}/healthz")

    def nginx_config(self, prefix: Path) -> str:
        servers = [f"        server 127.0.0.1:{self.instance_port(i)} max_fails=1 fail_timeout=2s;"
                   for i in range(self.instances)]
        values = {"prefix": str(prefix), "nginx_workers": str(self.nginx_workers), "max_body": "20m",
                  "servers_all": "\n".join(servers), "servers_one": servers[0],
                  "port_all": str(self.base_port), "port_one": str(self.base_port + 1)}
        text = (HERE / "nginx.conf.template").read_text()
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        return text

    def _refuse_taken_ports(self) -> None:
        import socket

        ports = [self.base_port, self.base_port + 1, *(self.instance_port(i) for i in range(self.instances))]
        ports += [self.base_port + 8, self.stub_port] if self.own_mocks else []
        for port in ports:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    raise RuntimeError(f"port {port} is taken: is a cluster already up (status/down)?")

    def _save(self) -> None:
        Path(self.run_dir).mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, run_dir: str | Path = DEFAULT_RUN_DIR) -> Cluster:
        path = Path(run_dir) / "state.json"
        if not path.exists():
            raise SystemExit(f"no cluster state in {path}: nothing is up")
        return cls(**json.loads(path.read_text()))


def _alive(pid: int) -> bool:
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _reap(pid: int) -> None:
    """Collect our own child once it has ended (a zombie still answers ``kill 0``)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


@contextlib.contextmanager
def running(cluster: Cluster) -> Iterator[Cluster]:
    """``cluster`` up for the block, down after it, whatever happens inside."""
    cluster.up()
    try:
        yield cluster
    finally:
        cluster.down()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.instances", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--run-dir", default=str(DEFAULT_RUN_DIR))
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="Sanic workers per instance")
    parser.add_argument("--base-port", type=int, default=18100)
    parser.add_argument("--database-url", default=os.environ.get("GOVHUB_DATABASE_URL") or DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=os.environ.get("GOVHUB_REDIS_URL") or DEFAULT_REDIS)
    parser.add_argument("--mock-url", default="", help="mock WeChat/Alipay servers already running "
                        "(default: start them and the department stub here)")
    parser.add_argument("--seed", action="store_true", help="migrate and seed the demo data first")
    args = parser.parse_args(argv)
    if args.command != "up":
        cluster = Cluster.load(args.run_dir)
        if args.command == "down":
            cluster.down()
            cluster.state_file.unlink(missing_ok=True)
            print("down")
        else:
            for what, state in cluster.status().items():
                print(f"  {what}: {state}")
        return 0
    cluster = Cluster(database_url=args.database_url, redis_url=args.redis_url, run_dir=args.run_dir,
                      base_port=args.base_port, instances=args.instances, workers=args.workers,
                      mock_url=args.mock_url)
    cluster.govhub("migrate")
    if args.seed:
        cluster.govhub("seed")
    cluster.up()
    print(f"  balancer:  {cluster.balancer_url}  (first instance alone: {cluster.single_url})")
    for url in cluster.instance_urls:
        print(f"  instance:  {url}  ({cluster.workers} workers and a scheduler)")
    print(f"  logs:      {cluster.run_dir}/*.log   stop: python -m deploy.instances down")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
