"""The stub department's Sanic application (see the package docstring and docs/delivery.md)."""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json as jsonlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
from sanic import Blueprint, Request, Sanic, json
from sanic.response import HTTPResponse

from adapters.departments.node_client import SignedNodeClient
from adapters.departments.stub import (  # fund_centre: housing fund
    data_services,
    fund_centre,
    health_signer,  # health codes: a region signing its own codes
    review,
)
from adapters.departments.stub import licenses as stub_licenses  # bundles
from adapters.departments.stub.store import StubStore
from adapters.timestamping import server as timestamping
from adapters.timestamping.authority import TimeStampAuthority
from domain.nodes import rules as node_rules
from domain.nodes import signatures
from domain.shared.clock import Clock

log = logging.getLogger("govhub.stub")
DEVKEYS = Path(__file__).resolve().parents[3] / "devkeys"
FAULT_MODES = ("down", "slow", "5xx", "429", "4xx")
CALLBACK_TICK = 0.1
CALLBACK_RETRY_CAP = 30.0
_app_numbers = itertools.count(1)


@dataclass
class Fault:
    """The next ``remaining`` delivery requests (all of them when None) misbehave this way."""

    mode: str
    remaining: int | None = None
    seconds: float = 5.0          # slow: answer (normally) after this long
    retry_after: int | None = None  # 429 (and 5xx): the Retry-After header
    status: int | None = None     # 5xx: default 503; 4xx: default 422

    def describe(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def take(self) -> bool:
        """Use one occurrence; False once it is used up."""
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


@dataclass
class StubConfig:
    hub_url: str = "http://127.0.0.1:8000"
    hub_key_path: str | None = None  # None: fetched from {hub_url}/gov/v1/hub-key on first use
    nodes: dict[str, bytes] = field(default_factory=dict)  # node code -> its private key (PEM)
    delay: float = 2.0  # seconds between a delivery and each callback of its review script
    review: bool = True  # False: only receive (benchmarks)
    db_path: str = ":memory:"
    fault: Fault | None = None
    clock: Clock = field(default_factory=Clock)  # moved by GOVHUB_CLOCK_OFFSET, as the hub's is


DEMO_NODE_KEYS = {
    "zj-platform": "demo_node_zhejiang_private.pem",
    "bj-psb": "demo_node_beijing_psb_private.pem",
    "beijing-platform": "demo_node_beijing_private.pem",
    "tianjin-platform": "demo_node_tianjin_private.pem",
    "hebei-platform": "demo_node_hebei_private.pem",
    "shanghai-platform": "demo_node_shanghai_private.pem",
    "jiangsu-platform": "demo_node_jiangsu_private.pem",
    "anhui-platform": "demo_node_anhui_private.pem",
    "bj-hrss": "demo_node_beijing_hrss_private.pem",  # data exchange: providers (stub/data_services.py)
    "bj-amr": "demo_node_beijing_amr_private.pem",
}


def demo_nodes() -> dict[str, bytes]:
    """The demo nodes of ``govhub seed`` with their dev keys (devkeys/README.md)."""
    nodes = {code: (DEVKEYS / name).read_bytes() for code, name in DEMO_NODE_KEYS.items()
             if (DEVKEYS / name).is_file()}
    nodes.update(fund_centre.demo_nodes())  # housing fund: the demo fund centres
    return nodes


def create_stub_app(config: StubConfig) -> Sanic:
    app = Sanic(f"department_stub_{next(_app_numbers)}")
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.AUTO_EXTEND = False
    app.ctx.config = config
    app.ctx.clock = config.clock
    app.ctx.store = StubStore(config.db_path, config.clock)
    app.ctx.fault = config.fault
    app.ctx.nonces = {}
    app.ctx.signers = {}
    app.ctx.hub_key = (signatures.load_public_key(Path(config.hub_key_path).read_bytes())
                       if config.hub_key_path else None)
    app.blueprint(_deliveries())
    app.blueprint(_controls())
    fund_centre.install(app)  # housing fund: the fund-centre role (stub/fund_centre.py)
    data_services.install(app)  # data exchange: the provider role (stub/data_services.py)
    health_signer.install(app)  # health codes: Zhejiang's signing service (stub/health_signer.py)
    # the message log's time-stamping authority (RFC 3161), offline: POST /tsa
    timestamping.install(app, TimeStampAuthority.from_files(
        private_key=DEVKEYS / "tsa_private.pem", certificate=DEVKEYS / "tsa_cert.pem", clock=config.clock))

    @app.after_server_start
    async def start_callbacks(app: Sanic) -> None:
        app.ctx.http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))
        app.ctx.callback_task = asyncio.create_task(_callback_loop(app))

    @app.before_server_stop
    async def stop_callbacks(app: Sanic) -> None:
        app.ctx.callback_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app.ctx.callback_task
        await app.ctx.http.aclose()

    return app


# --- receiving deliveries --------------------------------------------------------------------


def _problem(status: int, code: str, detail: str) -> HTTPResponse:
    return json({"type": "about:blank", "title": detail, "status": status, "code": code, "detail": detail},
                status=status, content_type="application/problem+json")


def _deliveries() -> Blueprint:
    bp = Blueprint("stub_deliveries")

    @bp.post("/nodes/<node:str>/deliveries")
    async def receive(request: Request, node: str):
        app = request.app
        stopped = await gate(request, plays=node in app.ctx.config.nodes, what=f"play node {node}")
        if stopped is not None:
            return stopped
        try:
            body = jsonlib.loads(request.body)
            delivery_id, kind, payload = str(body["delivery_id"]), str(body["kind"]), body["payload"]
            if not delivery_id or not isinstance(payload, dict):
                raise ValueError("delivery_id and payload")
        except (ValueError, KeyError, TypeError) as exc:
            return _problem(400, "delivery_malformed", f"body is not a delivery: {exc}")
        first = app.ctx.store.receive(node=node, delivery_id=delivery_id, kind=kind, payload=payload)
        if first:
            _start_review(app, node, delivery_id, kind, payload)
        if getattr(request.ctx, "slow", None):
            # done, but answered late: a hub that gave up meanwhile sends it again (the dedupe case)
            await asyncio.sleep(request.ctx.slow)
        # a repeat answers 2xx again and does nothing twice
        return json({"delivery_id": delivery_id, "status": "accepted", "duplicate": not first},
                    status=202 if first else 200)

    return bp


async def gate(request: Request, *, plays: bool, what: str) -> HTTPResponse | None:
    """What a node route answers before its own work, or None to go on: 404 for a node the stub does
    not play, the fault switch's misbehaviour, 401 for a request the hub did not sign."""
    if not plays:
        return _problem(404, "node_not_here", f"this stub does not {what}")
    faulted = await _fault(request)
    return faulted if faulted is not None else await _check_signature(request)


async def _fault(request: Request) -> HTTPResponse | None:
    fault: Fault | None = request.app.ctx.fault
    if fault is None or not fault.take():
        return None
    if fault.mode == "down":
        # as close to "not there" as a running server gets: the connection drops, no answer
        request.transport.close()
        raise asyncio.CancelledError
    if fault.mode == "slow":
        request.ctx.slow = fault.seconds  # processed at once, answered after this long
        return None
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    if fault.mode == "429":
        response = _problem(429, "too_many_requests", "slow down (stub fault)")
    elif fault.mode == "5xx":
        response = _problem(fault.status or 503, "unavailable", "temporarily unavailable (stub fault)")
    else:
        response = _problem(fault.status or 422, "refused", "refused (stub fault)")
    response.headers.update(headers)
    return response


async def _check_signature(request: Request) -> HTTPResponse | None:
    """GOVHUB-SIG-V1, checked as a real department would: the signer is the hub, the time is
    fresh, the signature verifies with the hub's key, the nonce is new."""
    headers = request.headers
    values = [headers.get(name, "") for name in signatures.HEADERS]
    if not all(values):
        return _problem(401, "signature_missing", "missing X-Gov-* signature headers")
    signer, timestamp, nonce, signature = values
    if signer != node_rules.HUB_NODE_CODE:
        return _problem(401, "signer_unknown", f"only {node_rules.HUB_NODE_CODE} delivers here")
    if not timestamp.isdigit() or not node_rules.timestamp_fresh(int(timestamp), request.app.ctx.clock.timestamp()):
        return _problem(401, "timestamp_stale", "X-Gov-Timestamp is not within 300 s of this server's clock")
    key = await _hub_key(request.app)
    if key is None:
        return _problem(503, "hub_key_unavailable", "cannot fetch the hub's key yet; try again")
    message = signatures.string_to_sign(node=signer, method=request.method, path=request.path,
                                        query_string=request.query_string, timestamp=timestamp, nonce=nonce,
                                        body=request.body or b"")
    if not signatures.verify(key, message, signature):
        return _problem(401, "signature_invalid", "the signature does not verify with the hub's key")
    nonces: dict[str, float] = request.app.ctx.nonces
    now = request.app.ctx.clock.timestamp()
    if nonces.get(nonce, 0) > now:
        return _problem(401, "nonce_replayed", "X-Gov-Nonce was used already")
    if len(nonces) > 100_000:
        for old in [n for n, until in nonces.items() if until <= now]:
            del nonces[old]
    nonces[nonce] = now + node_rules.nonce_ttl()
    return None


async def _hub_key(app: Sanic):
    if app.ctx.hub_key is None:
        try:
            answer = await app.ctx.http.get(f"{app.ctx.config.hub_url.rstrip('/')}/gov/v1/hub-key")
            answer.raise_for_status()
            app.ctx.hub_key = signatures.load_public_key(answer.json()["public_key_pem"])
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            log.warning("stub: cannot fetch the hub's key: %s", exc)
    return app.ctx.hub_key


def _start_review(app: Sanic, node: str, delivery_id: str, kind: str, payload: dict) -> None:
    number = payload.get("number")
    if not isinstance(number, str) or not app.ctx.config.review:
        return
    store: StubStore = app.ctx.store
    if fund_centre.handle_delivery(app, node, kind, delivery_id, payload):  # housing fund
        return
    if kind == "node.application.withdrawn":
        store.cancel(node=node, number=number)
        return
    events = [(f"stub-{delivery_id}-{i}", event, reason)
              for i, (event, reason) in enumerate(review.steps(kind, payload, app.ctx.clock.today().isoformat()),
                                                         start=1)]
    store.schedule(node=node, number=number, events=events, delay=app.ctx.config.delay)


# --- calling the hub back --------------------------------------------------------------------


async def _callback_loop(app: Sanic) -> None:
    while True:
        try:
            for callback in app.ctx.store.due_callbacks():
                await _send_callback(app, callback)
        except Exception:  # the loop must outlive one bad row; it is logged and tried next tick
            log.exception("stub: callback loop failed")
        await asyncio.sleep(CALLBACK_TICK)


async def _send_callback(app: Sanic, callback: dict) -> None:
    store: StubStore = app.ctx.store
    node = callback["node"]
    client = app.ctx.signers.get(node)
    if client is None:  # one signer per node, its key parsed once
        client = app.ctx.signers[node] = SignedNodeClient(
            base_url=app.ctx.config.hub_url, hub_node_code=node, private_key_pem=app.ctx.config.nodes[node],
            http=app.ctx.http, retry_delays=(), now=app.ctx.clock.timestamp)
    # bundles: the review script's license issuance (stub/licenses.py)
    if callback["type"] == stub_licenses.ISSUE:
        await _issue_license(app, client, callback)
        return
    body = jsonlib.dumps({"event_id": callback["event_id"], "type": callback["type"],
                          "occurred_at": app.ctx.clock.now().isoformat(), "reason": callback["reason"],
                          "department_reference": f"{node}:{callback['number']}"},
                         ensure_ascii=False, separators=(",", ":")).encode()
    path = f"gov/v1/applications/{quote(callback['number'], safe='')}/events"
    retry_in = min(CALLBACK_RETRY_CAP, 0.5 * 2 ** callback["attempts"])
    try:
        answer = await app.ctx.http.send(client.build("POST", path, body))
    except httpx.TransportError as exc:
        store.callback_failed(callback["id"], error=type(exc).__name__, status=None, retry_in=retry_in)
        return
    if answer.status_code == 429 or answer.status_code >= 500:
        store.callback_failed(callback["id"], error=f"http {answer.status_code}", status=answer.status_code,
                              retry_in=retry_in)
    elif answer.status_code >= 400:
        log.warning("stub: the hub refused %s for %s: %s %s", callback["type"], callback["number"],
                    answer.status_code, answer.text[:300])
        store.callback_refused(callback["id"], status=answer.status_code, answer=answer.text)
    else:
        store.callback_sent(callback["id"], status=answer.status_code, answer=answer.text)


# bundles: issuing a license as the node
async def _issue_license(app: Sanic, client: SignedNodeClient, callback: dict) -> None:
    store: StubStore = app.ctx.store
    outcome, status, text = await stub_licenses.send(app.ctx.http, client, callback)
    if outcome == "sent":
        store.callback_sent(callback["id"], status=status or 0, answer=text)
    elif outcome == "retry":
        store.callback_failed(callback["id"], error=text, status=status,
                              retry_in=min(CALLBACK_RETRY_CAP, 0.5 * 2 ** callback["attempts"]))
    else:
        store.callback_refused(callback["id"], status=status or 0, answer=text)


# --- controls --------------------------------------------------------------------------------


def parse_fault(body: dict) -> Fault:
    mode = body.get("mode")
    if mode not in FAULT_MODES:
        raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}")
    count = body.get("count")
    if count is not None and (not isinstance(count, int) or count < 1):
        raise ValueError("count must be a positive integer or null (until cleared)")
    status = body.get("status")
    if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
        raise ValueError("status must be an HTTP error status")
    return Fault(mode=mode, remaining=count, seconds=float(body.get("seconds", 5.0)),
                 retry_after=body.get("retry_after"), status=status)


def _controls() -> Blueprint:
    bp = Blueprint("stub_controls", url_prefix="/_stub")

    @bp.get("/health")
    async def health(request: Request):
        return json({"status": "ok", "nodes": sorted(request.app.ctx.config.nodes)})

    @bp.get("/deliveries")
    async def deliveries(request: Request):
        """How many times each delivery arrived, and that each was processed once."""
        rows = request.app.ctx.store.deliveries(request.args.get("node"))
        return json({"deliveries": rows, "unique": len(rows), "arrivals": sum(r["arrivals"] for r in rows)})

    @bp.get("/deliveries/<node:str>/<delivery_id:str>")
    async def delivery(request: Request, node: str, delivery_id: str):
        found = request.app.ctx.store.delivery(node, delivery_id)
        return json(found, ensure_ascii=False) if found else _problem(404, "not_received", "never arrived")

    @bp.get("/callbacks")
    async def callbacks(request: Request):
        return json({"callbacks": request.app.ctx.store.callbacks(request.args.get("number"))}, ensure_ascii=False)

    @bp.get("/faults")
    async def get_fault(request: Request):
        fault = request.app.ctx.fault
        return json({"fault": fault.describe() if fault else None})

    @bp.post("/faults")
    async def set_fault(request: Request):
        try:
            request.app.ctx.fault = parse_fault(request.json if isinstance(request.json, dict) else {})
        except (ValueError, TypeError) as exc:
            return _problem(400, "invalid_fault", str(exc))
        return json({"fault": request.app.ctx.fault.describe()}, status=201)

    @bp.delete("/faults")
    async def clear_fault(request: Request):
        request.app.ctx.fault = None
        return json({"fault": None})

    @bp.post("/reset")
    async def reset(request: Request):
        request.app.ctx.store.reset()
        request.app.ctx.fault = None
        return json({"status": "reset"})

    return bp
