"""The department stub's housing-fund-centre role (住房公积金管理中心), offline.

For the centres it plays (node codes ``<region6>-housing_fund``) the stub also:

- **answers account queries**: ``POST /nodes/<centre>/fund/accounts/query`` (signed by the hub)
  with the test identities' accounts (``fund_store.DEMO_ACCOUNTS``: alice in Beijing; bob in Hefei, sealed
  since he left, and in Hangzhou, where he works now);
- **verifies the payout instruction** of a withdrawal's application (``node.application.submitted``
  whose form carries a ``payout``) as docs/housing-fund.md tells a real centre to: a statement the
  hub signed (GOVHUB-STMT-V1) with its current key, for this centre, agreeing with the form, with
  its face binding, naming the account's holder on record (``instructions.refusal``). Anything else
  is recorded (``fund_refusals``) and rejected at intake (不予受理), its payout id never touched —
  but a signed instruction whose account or holder does not match is refused and its payout
  reported failed, so the hub settles the withdrawal;
- **decides a withdrawal**: the account exists, is not closed, and holds the amount → accepted and
  approved — at once when the hub says every rule passed (``rule_clear``), after a review step
  otherwise — then the payout, then completed; else refused, and the payout reported failed;
- **pays once**: the payout instruction's ``payout_id`` is a primary key here; the same id arriving
  again (another delivery, a resend) is counted and never paid again. Paying debits the account;
  a card the bank returns (bank_card_stub.RETURNING_CARDS) leaves the balance as it was;
- **calls back** ``POST /gov/v1/housing-fund/payouts/{payout_id}/events`` (paid / failed / returned),
  signed as the centre, retried until the hub answers.

Controls (unsigned): ``GET /_stub/fund/accounts``, ``GET /_stub/fund/payouts``,
``GET /_stub/fund/refusals``, ``GET /_stub/fund/callbacks``,
``POST /_stub/fund/unreachable {"centre": code | null, "on": bool}`` (account queries answer 503:
the hub must show "unreachable", never a zero balance),
``POST /_stub/fund/reset``.
"""
from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import logging
from pathlib import Path
from urllib.parse import quote

import httpx
from sanic import Blueprint, Request, Sanic, json

from adapters.departments.node_client import SignedNodeClient
from adapters.departments.stub.fund_instructions import checked_instruction
from adapters.departments.stub.fund_store import FundStore

log = logging.getLogger("govhub.stub.fund")
DEVKEYS = Path(__file__).resolve().parents[3] / "devkeys"
TICK = 0.1
RETRY_CAP = 30.0

DEMO_CENTRE_KEYS = {
    "110000-housing_fund": "demo_node_beijing_fund_private.pem",
    "330100-housing_fund": "demo_node_hangzhou_fund_private.pem",
    "340100-housing_fund": "demo_node_hefei_fund_private.pem",
}


def demo_nodes() -> dict[str, bytes]:
    """The demo centres with their dev keys, for the stub's default node list."""
    return {code: (DEVKEYS / name).read_bytes() for code, name in DEMO_CENTRE_KEYS.items()
            if (DEVKEYS / name).is_file()}


def is_centre(node: str) -> bool:
    return node.endswith("-housing_fund")



def install(app: Sanic) -> None:
    """Add the centre role to a stub app (the one hook in server.create_stub_app)."""
    app.ctx.fund = FundStore(app.ctx.config.db_path, app.ctx.clock)
    app.ctx.fund_unreachable = set()  # centre codes; "*" for every centre
    app.blueprint(_routes())

    @app.after_server_start
    async def start_payouts(app: Sanic) -> None:
        app.ctx.fund_task = asyncio.create_task(_payout_loop(app))

    @app.before_server_stop
    async def stop_payouts(app: Sanic) -> None:
        app.ctx.fund_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app.ctx.fund_task


def handle_delivery(app: Sanic, node: str, kind: str, delivery_id: str, payload: dict) -> bool:
    """A withdrawal's application arriving at a centre (first arrival of its delivery): verify its
    payout instruction, decide, schedule the application's events and the payout. False: not a
    withdrawal; the stub's normal review handles it."""
    if is_centre(node) and kind == "node.application.withdrawn":
        app.ctx.fund.cancel(number=str(payload.get("number")))  # not yet paid: never paid
        return False  # the stub's own handling cancels the application's pending events
    form = payload.get("form") or {}
    if not (is_centre(node) and kind == "node.application.submitted" and isinstance(form, dict)
            and "payout" in form):
        return False
    store, fund = app.ctx.store, app.ctx.fund
    number, delay = payload["number"], app.ctx.config.delay
    payout, refused = checked_instruction(app.ctx.hub_key, node, form, fund.account)
    if refused is not None:
        fund.record_refusal(centre=node, number=number, delivery_id=delivery_id, refusal=refused,
                            payout_id=payout["payout_id"] if payout else None)
        log.warning("fund stub: %s refused the payout instruction of %s: %s", node, number, refused.reason)
    if payout is None:  # nothing in it can be trusted, not even its payout id: not accepted, never paid
        store.schedule(node=node, number=number, delay=delay / 10,
                       events=[(f"stub-{delivery_id}-1", "rejected", f"支付指令未通过核验（{refused.message}），不予受理")])
        return True
    account = fund.account(node, payout["account_no"])
    refusal = refused.message if refused else _refusal(account, payout["amount_fen"])
    if refusal:
        events = [("accepted", None), ("refused", refusal), ("completed", None)]
    elif form.get("rule_clear"):  # every rule passed at the hub: approved at once (即时审批)
        events = [("accepted", None), ("approved", None), ("completed", None)]
    else:
        events = [("accepted", None), ("review_started", None), ("approved", None), ("completed", None)]
    quick = delay / 10 if form.get("rule_clear") else delay
    store.schedule(node=node, number=number, delay=quick,
                   events=[(f"stub-{delivery_id}-{i}", e, r) for i, (e, r) in enumerate(events[:-1], start=1)])
    paid_at = app.ctx.clock.timestamp() + quick * (len(events) - 1)
    store.schedule(node=node, number=number, delay=delay,
                   events=[(f"stub-{delivery_id}-{len(events)}", events[-1][0], None)])
    first = fund.take_payout(centre=node, number=number, account_no=payout["account_no"], payout=payout,
                             decision="refused" if refusal else "approved", reason=refusal, due_at=paid_at)
    if not first:
        log.info("fund stub: payout %s arrived again (delivery %s); not paid twice", payout["payout_id"], delivery_id)
    return True


def _refusal(account: dict | None, amount: int) -> str | None:
    if account is None:
        return "未找到该公积金账户"
    if account["status"] == "closed":
        return "账户已销户"
    if account["balance_fen"] < amount:
        return "账户余额不足"
    return None


async def _payout_loop(app: Sanic) -> None:
    signers: dict[str, SignedNodeClient] = {}
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0)) as http:
        while True:
            try:
                app.ctx.fund.execute_due()
                for callback in app.ctx.fund.due_callbacks():
                    await _send(app, http, signers, callback)
            except Exception:  # the loop outlives one bad row; logged and tried next tick
                log.exception("fund stub: payout loop failed")
            await asyncio.sleep(TICK)


async def _send(app: Sanic, http: httpx.AsyncClient, signers: dict, callback: dict) -> None:
    centre = callback["centre"]
    if centre not in signers:
        signers[centre] = SignedNodeClient(base_url=app.ctx.config.hub_url, hub_node_code=centre,
                                           private_key_pem=app.ctx.config.nodes[centre], http=http, retry_delays=(),
                                           now=app.ctx.clock.timestamp)
    body = jsonlib.dumps({"event_id": callback["event_id"], "type": callback["type"],
                          "occurred_at": app.ctx.clock.now().isoformat(), "reason": callback["reason"],
                          "bank_reference": callback["bank_reference"]},
                         ensure_ascii=False, separators=(",", ":")).encode()
    path = f"gov/v1/housing-fund/payouts/{quote(callback['payout_id'], safe='')}/events"
    retry_in = min(RETRY_CAP, 0.5 * 2 ** callback["attempts"])
    try:
        answer = await http.send(signers[centre].build("POST", path, body))
    except httpx.TransportError:
        app.ctx.fund.callback_failed(callback["id"], status=None, retry_in=retry_in)
        return
    if answer.status_code == 429 or answer.status_code >= 500:
        app.ctx.fund.callback_failed(callback["id"], status=answer.status_code, retry_in=retry_in)
    else:
        state = "sent" if answer.status_code < 400 else "refused"
        app.ctx.fund.callback_done(callback["id"], state=state, status=answer.status_code, answer=answer.text)


def _routes() -> Blueprint:
    bp = Blueprint("stub_fund_centre")

    @bp.post("/nodes/<node:str>/fund/accounts/query")
    async def query(request: Request, node: str):
        from adapters.departments.stub.server import _check_signature, _problem  # the stub's own checks

        if node not in request.app.ctx.config.nodes or not is_centre(node):
            return _problem(404, "node_not_here", f"this stub does not play centre {node}")
        if {node, "*"} & request.app.ctx.fund_unreachable:
            return _problem(503, "centre_unreachable", "the centre's system is unavailable (stub switch)")
        refused = await _check_signature(request)
        if refused is not None:
            return refused
        body = request.json if isinstance(request.json, dict) else {}
        if not isinstance(body.get("id_number"), str):
            return _problem(400, "query_malformed", "id_number is required")
        return json({"accounts": request.app.ctx.fund.accounts_of(node, body["id_number"])}, ensure_ascii=False)

    @bp.get("/_stub/fund/accounts")
    async def accounts(request: Request):
        return json({"accounts": request.app.ctx.fund.all_accounts(request.args.get("centre"))}, ensure_ascii=False)

    @bp.get("/_stub/fund/payouts")
    async def payouts(request: Request):
        return json({"payouts": request.app.ctx.fund.payouts()}, ensure_ascii=False)

    @bp.get("/_stub/fund/refusals")
    async def refusals(request: Request):
        return json({"refusals": request.app.ctx.fund.refusals()}, ensure_ascii=False)

    @bp.get("/_stub/fund/callbacks")
    async def callbacks(request: Request):
        return json({"callbacks": request.app.ctx.fund.callbacks()}, ensure_ascii=False)

    @bp.post("/_stub/fund/unreachable")
    async def unreachable(request: Request):
        body = request.json if isinstance(request.json, dict) else {}
        centre = body.get("centre") or "*"
        (request.app.ctx.fund_unreachable.add if body.get("on", True) else request.app.ctx.fund_unreachable.discard)(
            centre)
        return json({"unreachable": sorted(request.app.ctx.fund_unreachable)})

    @bp.post("/_stub/fund/reset")
    async def reset(request: Request):
        request.app.ctx.fund.reset()
        request.app.ctx.fund_unreachable.clear()
        return json({"status": "reset"})

    return bp
