"""The reference fund centre's check of a payout instruction, exactly as docs/housing-fund.md
("How a centre verifies a payout instruction") tells a real centre to do it."""
from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import ec

from domain.housing_fund import instructions
from domain.nodes import statements

# A verified instruction refused for these names a payout of this centre's (its id is the hub's
# word): it is recorded and reported failed, so the hub settles the withdrawal. Any other refusal
# may carry someone else's payout id, which is never touched.
SETTLED_REFUSALS = ("account_not_found", "holder_mismatch")


Checked = tuple[dict | None, instructions.Refusal | None]


def checked_instruction(hub_key: ec.EllipticCurvePublicKey | None, node: str, form: dict,
                        account_of: Callable[[str, str], dict | None]) -> Checked:
    """The payout instruction in ``form`` checked as docs/housing-fund.md tells a centre to: signed
    by the hub with its current key, for this centre (``node``), agreeing with the form, with its
    face binding, naming the holder this centre has on record (``account_of(centre, account_no)``).
    Returns (the claims, or None when nothing in it may be trusted; why it is refused, or None)."""
    if hub_key is None:
        return None, instructions.Refusal("key", "无法取得平台公钥")
    try:
        claims = statements.verify(hub_key, form["payout"], type=instructions.PAYOUT_STATEMENT)
    except statements.StatementRefused as refused:
        return None, instructions.Refusal(f"statement_{refused.reason}", "支付指令没有有效的平台签名")
    account = account_of(node, str(claims.get("account_no")))
    refused = instructions.refusal(claims, centre=node, form=form,
                                   holder_id_number=account["id_number"] if account else None)
    if refused is not None and refused.reason not in SETTLED_REFUSALS:
        return None, refused
    return claims, refused
