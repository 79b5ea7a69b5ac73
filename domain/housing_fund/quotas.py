"""What an account has used of its limits (``fund_quotas``): reserved with one conditional
UPDATE at submission, given back when a payout settles, read for the eligibility answer."""
from __future__ import annotations

from datetime import datetime

from tortoise.expressions import F

from domain.housing_fund import rules
from domain.housing_fund.models import Quota, Withdrawal
from domain.shared.rows import placeholders

IN_FLIGHT = "in_flight"  # the quota row of the balance that requested payouts hold


def account_key(account: rules.Account) -> str:
    return f"{account.centre_code}:{account.account_no}"


async def usage(account: rules.Account, period_key: str) -> rules.Usage:
    rows = dict(await Quota.filter(account_key=account_key(account), period_key__in=[period_key, IN_FLIGHT])
                .values_list("period_key", "used_fen"))
    return rules.Usage(period_used_fen=rows.get(period_key, 0), in_flight_fen=rows.get(IN_FLIGHT, 0))


async def reserve(conn, account_key: str, period_key: str, amount: int, cap: int, now: datetime) -> bool:
    """Take ``amount`` of the quota row if it stays within ``cap``: one conditional UPDATE, which
    PostgreSQL re-checks against the committed row when a concurrent transaction changed it and
    SQLite runs with the database's single writer. True if taken."""
    a, b, c = placeholders(conn, 3)
    await conn.execute_query(
        f"INSERT INTO fund_quotas (account_key, period_key, used_fen, updated_at) VALUES ({a}, {b}, 0, {c}) "
        "ON CONFLICT (account_key, period_key) DO NOTHING", [account_key, period_key, now])
    taken = await Quota.filter(account_key=account_key, period_key=period_key,
                               used_fen__lte=cap - amount).using_db(conn).update(
        used_fen=F("used_fen") + amount, updated_at=now)
    return bool(taken)


async def release(conn, withdrawal: Withdrawal, outcome: str, now: datetime) -> None:
    """Give back what a settled payout's ``outcome`` releases: a paid one keeps its period usage
    (it was withdrawn) and frees its in-flight share; a failed or returned one frees both."""
    period, in_flight = rules.releases(outcome)
    key = f"{withdrawal.centre_code}:{withdrawal.account_no}"
    for released, period_key in ((period, withdrawal.period_key), (in_flight, IN_FLIGHT)):
        if released:
            await Quota.filter(account_key=key, period_key=period_key).using_db(conn).update(
                used_fen=F("used_fen") - withdrawal.amount_fen, updated_at=now)
