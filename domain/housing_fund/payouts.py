"""The centre's word on a payout it carries out (POST /gov/v1/housing-fund/payouts/{id}/events):
only the paying centre may speak, an event id seen again answers as the first time
(``domain/shared/node_events.py``), and only a requested payout changes, once."""
from __future__ import annotations

import logging
from datetime import datetime

from tortoise.transactions import in_transaction

from domain.housing_fund import quotas, rules
from domain.housing_fund.errors import PayoutNotFound
from domain.housing_fund.models import PayoutEvent, Withdrawal
from domain.housing_fund.views import PayoutOutcome
from domain.shared import idempotency, node_events
from domain.shared.clock import Clock

log = logging.getLogger("govhub.housing_fund")


async def apply_event(clock: Clock, *, node_code: str, payout_id: str, event_id: str, type: str,
                      occurred_at: datetime, reason: str | None = None,
                      bank_reference: str | None = None) -> PayoutOutcome:
    body_hash = idempotency.fingerprint({"payout_id": payout_id, "type": type, "occurred_at": occurred_at.isoformat(),
                                         "reason": reason, "bank_reference": bank_reference})
    withdrawal = await Withdrawal.get_or_none(payout_id=payout_id) if isinstance(payout_id, str) else None
    if withdrawal is None or withdrawal.centre_code != node_code:  # only the paying centre
        raise PayoutNotFound(f"未找到由本节点支付的支付指令 {payout_id}")

    async def apply() -> dict:
        async with in_transaction() as conn:
            locked = await Withdrawal.select_for_update().using_db(conn).get(id=withdrawal.id)
            verdict = rules.payout_verdict(locked.status, type)
            if verdict == rules.APPLY:
                await _settle(conn, locked, type, reason, bank_reference, clock.now())
            answer = {"payout_id": payout_id, "event_id": event_id, "status": locked.status,
                      "applied": verdict == rules.APPLY, "outcome": verdict}
            await PayoutEvent.create(withdrawal_id=locked.id, node_code=node_code, event_id=event_id, type=type,
                                     occurred_at=occurred_at, reason=reason, bank_reference=bank_reference,
                                     body_hash=body_hash, outcome=verdict, answer=answer,
                                     received_at=clock.now(), using_db=conn)
        if verdict != rules.APPLY:
            log.info("payout %s: %s event %s recorded, not applied (already %s)", payout_id, type, event_id,
                     locked.status)
        return answer

    answer, replayed = await node_events.once(PayoutEvent, node_code=node_code, event_id=event_id,
                                              body_hash=body_hash, apply=apply)
    return PayoutOutcome(**answer, replayed=replayed)


async def _settle(conn, withdrawal: Withdrawal, outcome: str, reason: str | None, bank_reference: str | None,
                  now: datetime) -> None:
    """requested -> paid | failed | returned, once (conditional on the status), giving back
    what the outcome releases of the quotas."""
    moved = await Withdrawal.filter(id=withdrawal.id, status=rules.REQUESTED).using_db(conn).update(
        status=outcome, settled_at=now, updated_at=now, payout_reason=reason, bank_reference=bank_reference)
    if not moved:
        return
    await quotas.release(conn, withdrawal, outcome, now)
    withdrawal.status = outcome
