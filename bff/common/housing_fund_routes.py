"""Housing provident fund (住房公积金) on every citizen channel: accounts across cities, the rules of
a withdrawal kind, a withdrawal with a face scan bound to it, its submission and its payout.
The same use cases everywhere, shaped per channel (docs/housing-fund.md).

A withdrawal in three calls:
1. ``POST /housing-fund/withdrawals`` — every detail (kind, account, amount, card); checked, then
   created with a face session of its own (``face``: the SDK token and where to read the verdict);
2. the device runs the face SDK and reads the verdict once at ``face.result`` (an L3 session);
3. ``POST /housing-fund/withdrawals/{id}/submission`` with that L3 token and an Idempotency-Key.
"""
from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field, create_model
from sanic import Request
from sanic.response import HTTPResponse, json

from bff.common.application_routes import MaterialIn
from bff.common.auth import require_assurance
from bff.common.channel_routes import ByChannel, ChannelRoutes
from bff.common.channels import Channel
from bff.common.docs import IDEMPOTENCY_KEY, LOCATION, REPLAYED, doc
from bff.common.housing_fund_presenters import face as present_face
from bff.common.limits import rate_limited
from bff.common.parsing import idempotency_key, parse_body
from bff.common.housing_fund_schemas import FaceOut
from bff.common.schemas import Body, Fen, Out, items_of
from domain.housing_fund import rules

AUTH = {401: ["token_invalid"]}
L2 = {403: ["assurance_required"]}
UPSTREAM = {503: ["upstream_unavailable"]}
BAD = ["invalid_input", "malformed_json"]


class DetailsIn(Body):
    home_owner: Literal["self", "spouse"] | None = Field(None, description="buying / loan: whose the home is")
    purchased_on: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="buying: YYYY-MM-DD")
    price_fen: Fen | None = Field(None, description="buying: the price")
    repaid_this_year_fen: Fen | None = Field(None, description="loan repayment: repaid this year")
    medical_cost_fen: Fen | None = Field(None, description="illness: this year's own medical costs")


class EligibilityIn(Body):
    kind: Literal[rules.KINDS]  # type: ignore[valid-type]
    centre_code: str = Field(min_length=3, max_length=64, examples=["330100-housing_fund"])
    account_no: str = Field(min_length=1, max_length=32)
    amount_fen: Fen | None = None
    details: DetailsIn = Field(default_factory=DetailsIn)
    materials: list[MaterialIn] = Field(default_factory=list, max_length=10,
                                        description="e-licenses (license_id) or uploads (upload_id) by material name")


class WithdrawalIn(EligibilityIn):
    amount_fen: Fen = Field(ge=rules.MIN_AMOUNT_FEN)
    bank_card_no: str = Field(pattern=r"^[0-9]{16,19}$", description="a debit card in the citizen's own name")


class NothingIn(Body):
    """No fields: send nothing or ``{}`` (everything was given when the withdrawal started)."""


@cache
def started_shape(withdrawal: type[Out]) -> type[Out]:
    """What starting a withdrawal answers: the withdrawal in the channel's shape and its face session."""
    name = "WithdrawalStart" + withdrawal.__name__.removeprefix("Withdrawal")
    return create_model(name, __base__=Out, withdrawal=(withdrawal, ...), face=(FaceOut, ...))


OVERVIEW = ByChannel(lambda channel: channel.shapes.fund_overview.shape)
ELIGIBILITY = ByChannel(lambda channel: channel.shapes.fund_eligibility.shape)
WITHDRAWAL = ByChannel(lambda channel: channel.shapes.fund_withdrawal.shape)
WITHDRAWALS = ByChannel(lambda channel: items_of(channel.shapes.fund_withdrawal.shape))
STARTED = ByChannel(lambda channel: started_shape(channel.shapes.fund_withdrawal.shape))

routes = ChannelRoutes()


@routes.get("/housing-fund/accounts")
@doc("我的公积金账户 My housing fund accounts, every city", ok=(200, OVERVIEW),
     errors={**AUTH, **L2, 429: ["rate_limited"]},
     description="Asks every fund centre at once (answers cached 30 s). A centre that cannot answer is "
                 "listed in `unreachable` — never as an empty account or a zero balance. Needs real name (L2).")
@rate_limited("fund-accounts", capacity=30, per_seconds=60, by="person")
async def fund_accounts(request: Request, channel: Channel) -> HTTPResponse:
    found = await request.app.ctx.housing_fund.accounts(person_id=request.ctx.auth.subject)
    return json(channel.shapes.fund_overview(found), ensure_ascii=False, headers={"Cache-Control": "no-store"})


@routes.post("/housing-fund/eligibility")
@doc("提取条件检查 Check a withdrawal kind's rules", body=EligibilityIn, ok=(200, ELIGIBILITY),
     errors={400: BAD, **AUTH, **L2, 404: ["fund_account_not_found"], **UPSTREAM},
     description="Every rule of the kind, rule by rule in plain Chinese, and how much may be withdrawn now "
                 "(the period's limit less what is paid or in flight, and the balance). Stores nothing.")
async def fund_eligibility(request: Request, channel: Channel) -> HTTPResponse:
    body = parse_body(request, EligibilityIn)
    judged = await request.app.ctx.housing_fund.eligibility(
        person_id=request.ctx.auth.subject, kind=body.kind, centre_code=body.centre_code,
        account_no=body.account_no, details=body.details.model_dump(exclude_none=True),
        materials=_materials(body.materials), amount_fen=body.amount_fen)
    return json(channel.shapes.fund_eligibility(judged), ensure_ascii=False)


@routes.post("/housing-fund/withdrawals")
@doc("发起提取并开始人脸核验 Start a withdrawal and its face scan", body=WithdrawalIn,
     ok_headers=(LOCATION,),
     ok=(201, STARTED),
     errors={400: BAD + ["withdrawal_not_eligible", "bank_card_not_own"], **AUTH, **L2,
             404: ["fund_account_not_found"], 429: ["rate_limited"], **UPSTREAM},
     description="Checks the rules (`withdrawal_not_eligible` lists each failed rule in `errors` and all "
                 "in `checks`) and that the card is the citizen's own (`bank_card_not_own`), then creates "
                 "the withdrawal (`awaiting_face`, 30 minutes) with a face session bound to it.")
@rate_limited("fund-start", capacity=10, per_seconds=3600, by="person")
async def fund_start(request: Request, channel: Channel) -> HTTPResponse:
    body = parse_body(request, WithdrawalIn)
    started = await request.app.ctx.housing_fund.start(
        person_id=request.ctx.auth.subject, channel=channel.name, kind=body.kind, centre_code=body.centre_code,
        account_no=body.account_no, amount_fen=body.amount_fen, card_no=body.bank_card_no,
        details=body.details.model_dump(exclude_none=True), materials=_materials(body.materials))
    return json({"withdrawal": channel.shapes.fund_withdrawal(started.withdrawal),
                 "face": present_face(started.face, channel.face_verifications)},
                status=201, ensure_ascii=False, headers={"Location": f"{request.path}/{started.withdrawal.id}"})


@routes.post("/housing-fund/withdrawals/<withdrawal_id:withdrawal_id>/face-verifications")
@doc("重新人脸核验 A new face scan for a withdrawal", body=NothingIn, ok=(201, FaceOut),
     errors={**AUTH, **L2, 404: ["withdrawal_not_found"],
             409: ["withdrawal_already_submitted", "withdrawal_expired"], 429: ["rate_limited"], **UPSTREAM},
     description="When the first scan failed or is older than 5 minutes. Only the newest scan counts.")
@rate_limited("face", capacity=10, per_seconds=3600, by="person")
async def fund_restart_face(request: Request, channel: Channel, withdrawal_id: str) -> HTTPResponse:
    started = await request.app.ctx.housing_fund.restart_face(
        person_id=request.ctx.auth.subject, withdrawal_id=withdrawal_id, channel=channel.name)
    return json(present_face(started, channel.face_verifications), status=201)


@routes.post("/housing-fund/withdrawals/<withdrawal_id:withdrawal_id>/submission")
@doc("提交提取 Submit the withdrawal (L3, bound face scan)", body=NothingIn, ok=(200, WITHDRAWAL),
     headers=(IDEMPOTENCY_KEY.needed(),), ok_headers=(REPLAYED,),
     errors={400: ["idempotency_key_required", "invalid_input", "withdrawal_not_eligible"], **AUTH,
             403: ["assurance_required"], 404: ["withdrawal_not_found", "fund_account_not_found"],
             409: ["idempotency_key_reused", "withdrawal_already_submitted", "withdrawal_expired",
                   "withdrawal_limit_exceeded"], 429: ["rate_limited"], 503: ["upstream_unavailable",
                                                                              "no_handling_node"]},
     description="Needs an L3 token and this withdrawal's own face scan, passed and read at most 5 minutes "
                 "ago (else 403 `assurance_required`). Idempotency-Key required: a retry with the same key "
                 "answers the first result (`Idempotent-Replayed: true`). Submitted as an application to "
                 "the fund centre, which pays once; follow `status`.")
@require_assurance(3)
@rate_limited("fund-submit", capacity=20, per_seconds=60, by="person")
async def fund_submit(request: Request, channel: Channel, withdrawal_id: str) -> HTTPResponse:
    result = await request.app.ctx.housing_fund.submit(
        person_id=request.ctx.auth.subject, withdrawal_id=withdrawal_id, idempotency_key=idempotency_key(request))
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return json(channel.shapes.fund_withdrawal(result), ensure_ascii=False, headers=headers)


@routes.get("/housing-fund/withdrawals")
@doc("我的提取 My withdrawals", ok=(200, WITHDRAWALS), errors=AUTH,
     description="Newest first (50 at most).")
async def fund_withdrawals(request: Request, channel: Channel) -> HTTPResponse:
    rows = await request.app.ctx.housing_fund.list_own(person_id=request.ctx.auth.subject)
    return json({"items": [channel.shapes.fund_withdrawal(w) for w in rows]}, ensure_ascii=False)


@routes.get("/housing-fund/withdrawals/<withdrawal_id:withdrawal_id>")
@doc("提取进度 A withdrawal's status", ok=(200, WITHDRAWAL),
     errors={**AUTH, 404: ["withdrawal_not_found"]},
     description="awaiting_face → requested → paid | failed | returned (by the bank); another person's "
                 "withdrawal is 404.")
async def fund_withdrawal(request: Request, channel: Channel, withdrawal_id: str) -> HTTPResponse:
    found = await request.app.ctx.housing_fund.detail(person_id=request.ctx.auth.subject,
                                                      withdrawal_id=withdrawal_id)
    return json(channel.shapes.fund_withdrawal(found), ensure_ascii=False)

def _materials(items: list[MaterialIn]) -> list[dict]:
    return [item.model_dump(exclude_none=True) for item in items]
