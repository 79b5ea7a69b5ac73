"""``/metrics`` for Prometheus: what the hub answered, per route template, in every worker.

Two series, named as Prometheus' conventions name them:

- ``http_requests_total{method, route, status}`` (counter)
- ``http_request_duration_seconds{method, route}`` (histogram, from the start of the hub's request
  middleware to its response middleware: bff/common/request_cycle.py)

``route`` is the matched route's template as the OpenAPI document names it (``/wx/v1/matters/{code}``),
never the raw path: two matters are one series. What matched no route (404, 405) is
``route="unmatched"``, and a method outside HTTP's usual seven is ``method="other"``: nothing a caller
sends can add series. Nothing is labelled per user.

Requests reach the series through the process's request tally (bff/common/traffic.py), within a
second of their answer; a scrape first hands over its own worker's tally.

Several workers: each Sanic worker is its own process with its own counters, and a scrape reaches
one of them. prometheus_client's multiprocess mode keeps each process's values in files of one
directory (``PROMETHEUS_MULTIPROC_DIR``) and sums them at each scrape. prometheus_client chooses that
mode when it is imported, so the directory must be named before the workers start: with
``GOVHUB_WORKERS`` > 1 the main process makes one (``govhub-metrics-*`` in the temporary directory,
or empties the one already named by ``PROMETHEUS_MULTIPROC_DIR``) in ``main_process_start``, before
Sanic spawns the workers, which inherit the variable; a stopping worker is marked dead, and the main
process removes a directory it made when it stops. One worker keeps its counters in memory.

Reachable only by operators (docs/configuration.md): ``Authorization: Bearer GOVHUB_METRICS_TOKEN``,
or a client address inside ``GOVHUB_METRICS_NETWORKS``; anyone else gets 403 ``metrics_forbidden``.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from sanic import Request, Sanic
from sanic.response import raw

from bff.common.docs import doc
from bff.common.limits import client_ip
from bff.settings import Settings, metrics_networks
from domain.figures import rules
from domain.shared.errors import Forbidden

log = logging.getLogger("govhub.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# headers a proxy adds: behind one that Sanic is not told to trust, the peer's address is the proxy's
FORWARDING = ("forwarded", "x-forwarded-for", "x-real-ip")

disable_created_metrics()  # no `*_created` series: multiprocess mode has none, one worker the same
REGISTRY = CollectorRegistry()  # the hub's own series (one worker); several: the directory's files
REQUESTS = Counter("http_requests_total", "HTTP requests answered, by method, route template and status",
                   ["method", "route", "status"], registry=REGISTRY)
DURATION = Histogram("http_request_duration_seconds", "Time to answer an HTTP request, by method and "
                     "route template", ["method", "route"], buckets=rules.BUCKETS, registry=REGISTRY)


class MetricsForbidden(Forbidden):
    code = "metrics_forbidden"
    title = "没有权限访问运行指标"


def record(method: str, route: str, status: int, seconds: float) -> None:
    """One answered request (``route``: a template or ``unmatched``)."""
    record_many(method, route, status, bucket=rules.bucket_index(seconds), times=1, seconds=seconds)


def record_many(method: str, route: str, status: int, *, bucket: int, times: int, seconds: float) -> None:
    """``times`` answered requests alike, all in the duration ``bucket`` (rules.bucket_index),
    ``seconds`` summed (the request tally hands them over together: bff/common/traffic.py)."""
    count, duration = _series(method, route, status)
    count.inc(times)
    # prometheus_client observes one sample at a time; its observe() is exactly these two steps
    # (the sum, then the first bucket the sample fits under), done here once for ``times`` samples.
    # tests/api/test_metrics.py holds them to observe()'s result, so a change in the library shows.
    duration._sum.inc(seconds)
    duration._buckets[bucket].inc(times)


@lru_cache(maxsize=8192)  # finite: methods x route templates x statuses; labels() locks and builds tuples
def _series(method: str, route: str, status: int):
    method = method if method in METHODS else "other"
    return REQUESTS.labels(method, route, str(status)), DURATION.labels(method, route)


@lru_cache(maxsize=4096)  # one entry per route: the router's paths are finite
def route_template(sanic_path: str) -> str:
    """``wx/v1/matters/<code:matter_code>`` -> ``/wx/v1/matters/{code}``, as /openapi.json names it."""
    return "/" + "/".join("{" + part[1:-1].split(":")[0] + "}" if part.startswith("<") else part
                          for part in sanic_path.split("/"))


def render() -> bytes:
    """The text exposition: summed over the directory's processes in multiprocess mode."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)


def prepare_directory() -> tuple[Path, bool]:
    """In the main process, before the workers start: the directory every worker writes to, emptied of
    an earlier run's files, and whether the hub made it (and so removes it)."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        directory, made = Path(given), False
        directory.mkdir(parents=True, exist_ok=True)
    else:
        directory, made = Path(tempfile.mkdtemp(prefix="govhub-metrics-")), True
        os.environ[MULTIPROC_ENV] = str(directory)
    for stale in directory.glob("*.db"):  # last run's counters would be summed into this run's
        stale.unlink()
    return directory, made


def allowed(request: Request, settings: Settings) -> bool:
    """A scraper with the token, or at an address inside the configured networks."""
    token = settings.metrics_token
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode()):
        return True
    address = _address(request)
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    networks = _networks(settings.metrics_networks)
    return any(ip.version == network.version and ip in network for network in networks)


_networks = lru_cache(maxsize=8)(metrics_networks)  # parsed once per configured list, not per scrape


def _address(request: Request) -> str | None:
    """The caller's address, or None when an untrusted proxy relayed the request: Sanic reads the
    forwarded address only when told to trust the proxy (SANIC_PROXIES_COUNT / SANIC_FORWARDED_SECRET);
    otherwise a proxy on the same host would lend every caller its own 127.0.0.1."""
    if request.remote_addr:
        return request.remote_addr
    if any(header in request.headers for header in FORWARDING):
        return None
    return client_ip(request)


def install(app: Sanic, settings: Settings) -> None:
    """The ``/metrics`` route and, with several workers, the shared directory (requests are counted
    by the request tally, bff/common/traffic.py, in the hub's one response middleware)."""
    metrics_networks(settings.metrics_networks)  # a mistyped list stops create_app, not the first scrape

    @doc("Prometheus 运行指标 Metrics", tag="operations", ok=(200, {"type": "string"}), ok_media="text/plain",
         errors={403: ["metrics_forbidden"]}, secured=False,
         description="Prometheus text format: `http_requests_total{method,route,status}` and "
                     "`http_request_duration_seconds{method,route}`, summed over the hub's workers. "
                     "Operators only: `Authorization: Bearer` with GOVHUB_METRICS_TOKEN, or a client address "
                     "inside GOVHUB_METRICS_NETWORKS (docs/configuration.md).")
    async def metrics(request: Request):
        if not allowed(request, request.app.ctx.settings):
            raise MetricsForbidden("运行指标仅向运维人员开放")
        request.app.ctx.request_tally.hand_over()  # this worker's requests of the last second too
        return raw(render(), content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

    app.add_route(metrics, "/metrics", methods=["GET"], name="metrics", ctx_public=True)
    if settings.workers > 1:
        _share_across_workers(app)


def _share_across_workers(app: Sanic) -> None:
    made: list[Path] = []

    @app.main_process_start
    async def name_directory(app: Sanic) -> None:
        directory, owned = prepare_directory()
        made.extend([directory] if owned else [])
        log.info("metrics of every worker in %s", directory)

    @app.after_server_stop
    async def mark_dead(app: Sanic) -> None:
        if os.environ.get(MULTIPROC_ENV):
            multiprocess.mark_process_dead(os.getpid())

    @app.main_process_stop
    async def remove_directory(app: Sanic) -> None:
        for directory in made:
            shutil.rmtree(directory, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)
