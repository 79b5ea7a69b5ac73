"""/metrics for Prometheus (issue #16): requests counted per route template, never per raw path or
per user; reachable by operators only (a token or a network); summed across worker processes
(prometheus_client's multiprocess mode). bff/common/metrics.py."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bff.common import metrics
from bff.settings import Settings, SettingsError
from tests.support.callers import MATTER, RETIRED_MATTER

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-" + "0123456789abcdef" * 3
MATTER_ROUTE = "/wx/v1/matters/{code}"


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


async def _scrape(client, **headers) -> dict[tuple[str, frozenset], float]:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return _samples(response.text)


def _count(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _labelled(samples, name: str, label: str) -> set[str]:
    return {dict(labels)[label] for sample, labels in samples if sample == name and label in dict(labels)}


@pytest.fixture
async def stranger(app):
    """A caller outside the configured networks (a documentation address, RFC 5737)."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield http


@pytest.fixture
def configure(app, monkeypatch):
    """Change the metrics settings of the running app for one test (the route reads app.ctx.settings)."""
    def change(**values):
        monkeypatch.setattr(app.ctx, "settings", dataclasses.replace(app.ctx.settings, **values))
    return change


async def test_requests_are_counted_by_route_template(client):
    before = await _scrape(client)
    await client.get("/wx/v1/home")
    await client.get(f"/wx/v1/matters/{MATTER}")
    await client.get(f"/wx/v1/matters/{RETIRED_MATTER}")
    after = await _scrape(client)

    def grew(route: str) -> float:
        return sum(value - before.get(key, 0.0) for key, value in after.items()
                   if key[0] == "http_requests_total" and dict(key[1])["route"] == route)

    assert grew("/wx/v1/home") == 1
    assert grew(MATTER_ROUTE) == 2  # two matters, one series
    routes = _labelled(after, "http_requests_total", "route")
    assert not {route for route in routes if MATTER in route or RETIRED_MATTER in route}
    names = {name for key in after if key[0] == "http_requests_total" for name, _ in key[1]}
    assert names == {"method", "route", "status"}  # nothing per user


async def test_a_path_no_route_matches_is_counted_as_unmatched(client):
    before = await _scrape(client)
    assert (await client.get("/no/such/page-4711")).status_code == 404
    after = await _scrape(client)
    key = dict(method="GET", route="unmatched", status="404")
    assert _count(after, "http_requests_total", **key) - _count(before, "http_requests_total", **key) == 1
    assert not any("4711" in route for route in _labelled(after, "http_requests_total", "route"))


async def test_an_unusual_method_adds_no_series(client):
    await client.request("BREW", "/wx/v1/home")
    methods = _labelled(await _scrape(client), "http_requests_total", "method")
    assert "BREW" not in methods and methods <= metrics.METHODS | {"other"}


async def test_durations_are_a_histogram_per_method_and_route(client):
    before = await _scrape(client)
    await client.get("/wx/v1/home")
    after = await _scrape(client)
    labels = dict(method="GET", route="/wx/v1/home")
    name = "http_request_duration_seconds"
    assert _count(after, f"{name}_count", **labels) - _count(before, f"{name}_count", **labels) == 1
    assert _count(after, f"{name}_sum", **labels) > _count(before, f"{name}_sum", **labels)
    assert _count(after, f"{name}_bucket", **labels, le="+Inf") == _count(after, f"{name}_count", **labels)
    bucket_labels = {label for key in after if key[0] == f"{name}_bucket" for label, _ in key[1]}
    assert bucket_labels == {"method", "route", "le"}


async def test_a_foreign_address_is_refused_without_the_token(stranger):
    response = await stranger.get("/metrics")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "metrics_forbidden"


async def test_the_token_admits_from_anywhere_and_a_wrong_one_does_not(stranger, configure):
    configure(metrics_token=TOKEN)
    assert (await stranger.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 200
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, "Bearer ", f"Basic {TOKEN}"):
        response = await stranger.get("/metrics", headers={"Authorization": wrong})
        assert (response.status_code, response.json()["code"]) == (403, "metrics_forbidden"), wrong


async def test_no_token_is_ever_accepted_when_none_is_configured(stranger, configure):
    configure(metrics_token="")
    response = await stranger.get("/metrics", headers={"Authorization": "Bearer "})
    assert response.json()["code"] == "metrics_forbidden"


async def test_a_configured_network_admits_its_addresses(app, stranger, configure):
    configure(metrics_networks="10.0.0.0/8, 203.0.113.0/24")
    assert (await stranger.get("/metrics")).status_code == 200
    configure(metrics_networks="10.0.0.0/8")
    assert (await stranger.get("/metrics")).status_code == 403
    transport = httpx.ASGITransport(app=app, client=("::1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as local6:
        configure(metrics_networks="127.0.0.1/32,::1/128")
        assert (await local6.get("/metrics")).status_code == 200


async def test_a_request_relayed_by_an_untrusted_proxy_is_not_local(client):
    """Behind a proxy Sanic is not told to trust, the peer (127.0.0.1) is the proxy, not the caller."""
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        response = await client.get("/metrics", headers={header: "198.51.100.1"})
        assert (response.status_code, response.json()["code"]) == (403, "metrics_forbidden"), header


async def test_metrics_are_documented_for_operators(client):
    op = (await client.get("/openapi.json")).json()["paths"]["/metrics"]["get"]
    assert "text/plain" in op["responses"]["200"]["content"]
    assert "`metrics_forbidden`" in op["responses"]["403"]["description"]
    assert op["tags"] == ["operations"]


def test_settings_refuse_a_mistyped_network_list():
    with pytest.raises(SettingsError, match="GOVHUB_METRICS_NETWORKS"):
        Settings.from_env({"GOVHUB_METRICS_NETWORKS": "10.0.0.0/8,localhost"})
    settings = Settings.from_env({"GOVHUB_METRICS_TOKEN": TOKEN,
                                  "GOVHUB_METRICS_NETWORKS": "10.8.0.0/16,::1"})
    assert (settings.metrics_token, settings.metrics_networks) == (TOKEN, "10.8.0.0/16,::1")


def test_production_takes_no_token_or_a_long_one_and_never_every_address():
    def problems(**values) -> str:
        with pytest.raises(SettingsError) as refused:  # a bare Settings() is refused for its dev parts
            Settings(env="production", **values).check_production()
        return str(refused.value)

    assert "METRICS" not in problems()  # no token: the network list alone admits
    assert "METRICS" not in problems(metrics_token=TOKEN)
    assert "GOVHUB_METRICS_TOKEN must be at least 32" in problems(metrics_token="short")
    assert "GOVHUB_METRICS_NETWORKS must not admit every address" in problems(metrics_networks="0.0.0.0/0")
    assert "GOVHUB_METRICS_NETWORKS must not admit every address" in problems(metrics_networks="::/0")


RECORD = """
import sys
from bff.common import metrics
for _ in range(int(sys.argv[1])):
    metrics.record("GET", "/wx/v1/matters/{code}", 200, 0.02)
metrics.record("POST", "/wx/v1/applications", 201, 0.3)
"""


def _worker(directory: Path, times: int) -> None:
    env = {**os.environ, metrics.MULTIPROC_ENV: str(directory)}
    subprocess.run([sys.executable, "-c", RECORD, str(times)], cwd=ROOT, env=env, check=True, timeout=60)


def test_two_processes_are_summed(tmp_path, monkeypatch):
    """Two workers write to one directory; a scrape of either reads both (what /metrics answers)."""
    _worker(tmp_path, 3)
    _worker(tmp_path, 4)
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per process
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    samples = _samples(metrics.render().decode())
    labels = dict(method="GET", route=MATTER_ROUTE)
    assert _count(samples, "http_requests_total", status="200", **labels) == 7
    assert _count(samples, "http_request_duration_seconds_count", **labels) == 7
    assert _count(samples, "http_request_duration_seconds_bucket", le="0.025", **labels) == 7
    posts = dict(method="POST", route="/wx/v1/applications", status="201")
    assert _count(samples, "http_requests_total", **posts) == 2
    assert not [key for key in samples if key[0].endswith("_created")]


def test_the_main_process_names_an_empty_directory_before_the_workers_start(tmp_path, monkeypatch):
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    directory, made = metrics.prepare_directory()
    try:
        assert made and os.environ[metrics.MULTIPROC_ENV] == str(directory) and directory.is_dir()
    finally:
        directory.rmdir()
        os.environ.pop(metrics.MULTIPROC_ENV, None)
    # a directory an operator named is kept, and emptied of the last run's counters
    (tmp_path / "counter_999.db").write_bytes(b"stale")
    (tmp_path / "keep.txt").write_text("not ours")
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    assert metrics.prepare_directory() == (tmp_path, False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


async def test_several_workers_share_a_directory_the_hub_owns(settings, resources, monkeypatch):
    """With GOVHUB_WORKERS > 1 the app names the directory in the main process, marks each stopping
    worker dead, and removes the directory when the main process stops."""
    from bff.app import create_app

    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    app = create_app(dataclasses.replace(settings, workers=2), hub=resources, name="govhub_metrics_workers")
    registered = {(future.event, future.listener.__name__): future.listener
                  for future in app._future_listeners}
    by_name = {name: listener for (event, name), listener in registered.items()}
    assert {("main_process_start", "name_directory"), ("after_server_stop", "mark_dead"),
            ("main_process_stop", "remove_directory")} <= set(registered)
    await by_name["name_directory"](app)
    directory = Path(os.environ[metrics.MULTIPROC_ENV])
    assert directory.is_dir() and directory.name.startswith("govhub-metrics-")
    await by_name["mark_dead"](app)
    await by_name["remove_directory"](app)
    assert not directory.exists() and metrics.MULTIPROC_ENV not in os.environ
    single = create_app(settings, hub=resources, name="govhub_metrics_single")
    assert "name_directory" not in {future.listener.__name__ for future in single._future_listeners}
