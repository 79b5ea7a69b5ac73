"""What a demo fund centre remembers (the department stub's own SQLite file): its accounts, the
payout instructions it took, the ones it refused, and the callbacks it owes the hub.

The role around it — answering queries, checking instructions, paying, calling back — is
``fund_centre.py``.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

from adapters.departments.bank_card_stub import RETURNING_CARDS
from domain.housing_fund import instructions
from domain.shared.clock import Clock

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
