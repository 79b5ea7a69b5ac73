"""The department stub's housing-fund-centre role (住房公积金管理中心), offline.

For the centres it plays (node codes ``<region6>-housing_fund``) the stub also:

- **answers account queries**: ``POST /nodes/<centre>/fund/accounts/query`` (signed by the hub)
  with the test identities' accounts (``DEMO_ACCOUNTS``: alice in Beijing; bob in Hefei, sealed
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
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

import httpx
from sanic import Blueprint, Request, Sanic, json

from adapters.departments.bank_card_stub import RETURNING_CARDS
from adapters.departments.node_client import SignedNodeClient
from adapters.departments.stub.fund_instructions import checked_instruction
from domain.housing_fund import instructions
from domain.shared.clock import Clock

log = logging.getLogger("govhub.stub.fund")
DEVKEYS = Path(__file__).resolve().parents[3] / "devkeys"
TICK = 0.1
RETRY_CAP = 30.0

DEMO_CENTRE_KEYS = {
    "110000-housing_fund": "demo_node_beijing_fund_private.pem",
    "330100-housing_fund": "demo_node_hangzhou_fund_private.pem",
    "340100-housing_fund": "demo_node_hefei_fund_private.pem",
}
CENTRE_NAMES = {"110000-housing_fund": "北京住房公积金管理中心", "330100-housing_fund": "杭州住房公积金管理中心",
                "340100-housing_fund": "合肥住房公积金管理中心"}


@dataclass(frozen=True)
class DemoAccount:
    centre: str
    account_no: str
    id_number: str
    name: str
    status: str
    balance_fen: int
    monthly_deposit_fen: int
    opened_on: str
    deposits_since: str  # YYYY-MM: the first month of the current run of deposits
    sealed_on: str | None = None
    employer: str | None = None


DEMO_ACCOUNTS = (
    DemoAccount("110000-housing_fund", "110000100017", "110105199003070017", "张丽", "normal", 5_680_000, 240_000,
                "2018-07-01", "2018-07", employer="北京某信息技术有限公司"),
    DemoAccount("340100-housing_fund", "340100200023", "330106198805120023", "王强", "sealed", 3_215_000, 180_000,
                "2012-09-01", "2012-09", sealed_on="2025-12-31", employer="合肥某科技有限公司"),
    DemoAccount("330100-housing_fund", "330100300023", "330106198805120023", "王强", "normal", 3_000_000, 300_000,
                "2026-01-01", "2026-01", employer="杭州某网络有限公司"),
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS fund_accounts (
    centre TEXT NOT NULL, account_no TEXT NOT NULL, id_number TEXT NOT NULL, name TEXT NOT NULL,
    status TEXT NOT NULL, balance_fen INTEGER NOT NULL, monthly_deposit_fen INTEGER NOT NULL,
    opened_on TEXT NOT NULL, deposits_since TEXT NOT NULL, sealed_on TEXT, employer TEXT,
    PRIMARY KEY (centre, account_no));
CREATE TABLE IF NOT EXISTS fund_payouts (
    payout_id TEXT PRIMARY KEY, centre TEXT NOT NULL, number TEXT NOT NULL, account_no TEXT NOT NULL,
    amount_fen INTEGER NOT NULL, card_no TEXT NOT NULL, decision TEXT NOT NULL, reason TEXT,
    due_at REAL NOT NULL, outcome TEXT, bank_reference TEXT, arrivals INTEGER NOT NULL, executed_at REAL);
CREATE TABLE IF NOT EXISTS fund_refusals (
    id INTEGER PRIMARY KEY AUTOINCREMENT, centre TEXT NOT NULL, number TEXT NOT NULL, delivery_id TEXT NOT NULL,
    reason TEXT NOT NULL, detail TEXT NOT NULL, payout_id TEXT);
CREATE TABLE IF NOT EXISTS fund_callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, centre TEXT NOT NULL, payout_id TEXT NOT NULL,
    event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, reason TEXT, bank_reference TEXT, due_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, last_status INTEGER,
    answer TEXT);
"""


def demo_nodes() -> dict[str, bytes]:
    """The demo centres with their dev keys, for the stub's default node list."""
    return {code: (DEVKEYS / name).read_bytes() for code, name in DEMO_CENTRE_KEYS.items()
            if (DEVKEYS / name).is_file()}


def is_centre(node: str) -> bool:
    return node.endswith("-housing_fund")


# --- what the centre remembers -----------------------------------------------------------------


class FundStore:
    def __init__(self, path: str, clock: Clock) -> None:
        self._clock = clock
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(SCHEMA)
        self.seed()

    def seed(self) -> None:
        for a in DEMO_ACCOUNTS:
            self._db.execute("INSERT INTO fund_accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                             " ON CONFLICT (centre, account_no) DO NOTHING",
                             (a.centre, a.account_no, a.id_number, a.name, a.status, a.balance_fen,
                              a.monthly_deposit_fen, a.opened_on, a.deposits_since, a.sealed_on, a.employer))

    def reset(self) -> None:
        self._db.executescript("DELETE FROM fund_accounts; DELETE FROM fund_payouts; DELETE FROM fund_callbacks;"
                               " DELETE FROM fund_refusals;")
        self.seed()

    def accounts_of(self, centre: str, id_number: str) -> list[dict]:
        rows = self._db.execute("SELECT * FROM fund_accounts WHERE centre = ? AND id_number = ? ORDER BY account_no",
                                (centre, id_number)).fetchall()
        return [_account_answer(dict(row), self._clock.today()) for row in rows]

    def account(self, centre: str, account_no: str) -> dict | None:
        row = self._db.execute("SELECT * FROM fund_accounts WHERE centre = ? AND account_no = ?",
                               (centre, account_no)).fetchone()
        return dict(row) if row else None

    def all_accounts(self, centre: str | None) -> list[dict]:
        sql = "SELECT centre, account_no, name, status, balance_fen FROM fund_accounts"
        rows = self._db.execute(sql + (" WHERE centre = ?" if centre else "") + " ORDER BY centre, account_no",
                                (centre,) if centre else ()).fetchall()
        return [dict(r) for r in rows]

    def take_payout(self, *, centre: str, number: str, account_no: str, payout: dict, decision: str,
                    reason: str | None, due_at: float) -> bool:
        """Record a payout instruction. True the first time its id arrives; after that it is only
        counted: one payout id is carried out once, however often it comes."""
        inserted = self._db.execute(
            "INSERT INTO fund_payouts (payout_id, centre, number, account_no, amount_fen, card_no, decision, reason,"
            " due_at, arrivals) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (payout_id) DO NOTHING",
            (payout["payout_id"], centre, number, account_no, int(payout["amount_fen"]), payout["bank_card_no"],
             decision, reason, due_at)).rowcount
        if not inserted:
            self._db.execute("UPDATE fund_payouts SET arrivals = arrivals + 1 WHERE payout_id = ?",
                             (payout["payout_id"],))
        return bool(inserted)

    def record_refusal(self, *, centre: str, number: str, delivery_id: str, refusal: instructions.Refusal,
                       payout_id: str | None) -> None:
        """A payout instruction this centre would not act on, and why (``payout_id`` only when
        the hub's signature vouches for it)."""
        self._db.execute("INSERT INTO fund_refusals (centre, number, delivery_id, reason, detail, payout_id)"
                         " VALUES (?, ?, ?, ?, ?, ?)", (centre, number, delivery_id, refusal.reason, refusal.message,
                                                        payout_id))

    def refusals(self) -> list[dict]:
        rows = self._db.execute("SELECT centre, number, delivery_id, reason, detail, payout_id FROM fund_refusals"
                                " ORDER BY id").fetchall()
        return [dict(r) for r in rows]

    def cancel(self, *, number: str) -> int:
        """The citizen withdrew the application: a payout not yet carried out ends as failed."""
        return self._db.execute("UPDATE fund_payouts SET decision = 'refused', reason = '申请人已撤回申请'"
                                " WHERE number = ? AND outcome IS NULL", (number,)).rowcount

    def execute_due(self) -> list[dict]:
        """Carry out the payouts that are due, each in one transaction with its debit and its callback."""
        done = []
        for row in self._db.execute("SELECT * FROM fund_payouts WHERE outcome IS NULL AND due_at <= ?",
                                    (self._clock.timestamp(),)).fetchall():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                outcome, reason, reference = self._pay(dict(row))
                self._db.execute("UPDATE fund_payouts SET outcome = ?, reason = ?, bank_reference = ?, executed_at = ?"
                                 " WHERE payout_id = ? AND outcome IS NULL",
                                 (outcome, reason, reference, self._clock.timestamp(), row["payout_id"]))
                self._db.execute("INSERT INTO fund_callbacks (centre, payout_id, event_id, type, reason, bank_reference,"
                                 " due_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                                 (row["centre"], row["payout_id"], f"payout-{row['payout_id']}-{outcome}", outcome,
                                  reason, reference, self._clock.timestamp()))
                self._db.execute("COMMIT")
            except Exception:
                self._db.execute("ROLLBACK")
                raise
            done.append({"payout_id": row["payout_id"], "outcome": outcome})
        return done

    def _pay(self, payout: dict) -> tuple[str, str | None, str | None]:
        if payout["decision"] != "approved":
            return "failed", payout["reason"], None
        account = self.account(payout["centre"], payout["account_no"])
        if account is None or account["balance_fen"] < payout["amount_fen"]:
            return "failed", "账户余额不足，未能支付", None
        if payout["card_no"] in RETURNING_CARDS:
            return "returned", "收款银行卡已销户，银行退回，款项已退回公积金账户", None
        self._db.execute("UPDATE fund_accounts SET balance_fen = balance_fen - ? WHERE centre = ? AND account_no = ?",
                         (payout["amount_fen"], payout["centre"], payout["account_no"]))
        return "paid", None, f"BANK-{payout['payout_id'][-10:].upper()}"

    def payouts(self) -> list[dict]:
        rows = self._db.execute("SELECT payout_id, centre, number, account_no, amount_fen, decision, outcome, reason,"
                                " arrivals FROM fund_payouts ORDER BY rowid").fetchall()
        return [dict(r) for r in rows]

    def due_callbacks(self) -> list[dict]:
        rows = self._db.execute("SELECT * FROM fund_callbacks WHERE state = 'pending' AND due_at <= ? ORDER BY id",
                                (self._clock.timestamp(),)).fetchall()
        return [dict(r) for r in rows]

    def callback_done(self, callback_id: int, *, state: str, status: int, answer: str) -> None:
        self._db.execute("UPDATE fund_callbacks SET state = ?, attempts = attempts + 1, last_status = ?, answer = ?"
                         " WHERE id = ?", (state, status, answer[:2000], callback_id))

    def callback_failed(self, callback_id: int, *, status: int | None, retry_in: float) -> None:
        self._db.execute("UPDATE fund_callbacks SET attempts = attempts + 1, last_status = ?, due_at = ? WHERE id = ?",
                         (status, self._clock.timestamp() + retry_in, callback_id))

    def callbacks(self) -> list[dict]:
        rows = self._db.execute("SELECT id, centre, payout_id, event_id, type, state, attempts, last_status, answer"
                                " FROM fund_callbacks ORDER BY id").fetchall()
        return [dict(r) for r in rows]


def _account_answer(row: dict, today: date) -> dict:
    """An account as the centre contract answers it: consecutive months of deposits and the last
    twelve months of history are computed from when the current deposits began."""
    start_year, start_month = (int(x) for x in row["deposits_since"].split("-"))
    end = date.fromisoformat(row["sealed_on"]) if row["sealed_on"] else today
    months = [(y, m) for y in range(start_year, end.year + 1) for m in range(1, 13)
              if (start_year, start_month) <= (y, m) < (end.year, end.month)]
    return {"account_no": row["account_no"], "centre_name": CENTRE_NAMES.get(row["centre"], row["centre"]),
            "status": row["status"], "balance_fen": row["balance_fen"],
            "monthly_deposit_fen": row["monthly_deposit_fen"],
            "deposit_months": len(months) if row["status"] == "normal" else 0,
            "opened_on": row["opened_on"], "sealed_on": row["sealed_on"], "employer": row["employer"],
            "history": [{"month": f"{y}-{m:02d}", "amount_fen": row["monthly_deposit_fen"]} for y, m in months[-12:]]}


# --- the role in the stub server -----------------------------------------------------------------


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
