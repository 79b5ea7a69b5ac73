"""One-thing bundles (一件事) on every citizen channel: see what bundles there are, open the one
form pre-filled, submit it once, watch every step, retry what failed, and — for the second
parent — confirm on one's own device. The same use cases everywhere, shaped per
channel (docs/bundles.md)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Request
from sanic.response import HTTPResponse, json

from bff.common import bundle_presenters
from bff.common.channel_routes import ByChannel, ChannelRoutes
from bff.common.channels import Channel
from bff.common.docs import IDEMPOTENCY_KEY, LOCATION, REPLAYED, doc
from bff.common.limits import rate_limited
from bff.common.parsing import idempotency_key, parse_body
from bff.common.bundle_schemas import BundleCardOut, BundleOut, ConfirmationCompact, ConfirmationFull, FormOut
from bff.common.schemas import Body, items_of

AUTH = {401: ["token_invalid"]}
REAL_NAME = {403: ["assurance_required"]}
FORM_ERRORS = ["invalid_input", "malformed_json", "bundle_form_invalid"]
RUN = ByChannel(lambda channel: channel.shapes.bundle_run_detail.shape)
RUNS = ByChannel(lambda channel: items_of(channel.shapes.bundle_run.shape))
CONFIRMATION = ByChannel(lambda channel: ConfirmationCompact if channel.shapes.compact else ConfirmationFull)
CONFIRMATIONS = ByChannel(lambda channel: items_of(CONFIRMATION.pick(channel)))

routes = ChannelRoutes()


class BundleSubmitIn(Body):
    form: dict = Field(description="answers to the bundle's one form (JSON Schema in GET /bundles/{code})")
    optional_steps: list[str] = Field(default_factory=list, max_length=20,
                                      description="keys of the optional steps to include")


class RetryIn(Body):
    form: dict | None = Field(None, description="corrected answers (only the fields that change)")


class ConfirmIn(Body):
    decision: Literal["confirm", "decline"]
    digest: str | None = Field(None, pattern="^[0-9a-f]{64}$",
                               description="the `digest` of the confirmation as listed: required to confirm "
                                           "(what one was shown is what one confirms)")


@routes.get("/bundles", ctx_public=True)
@doc("一件事列表 Bundles on offer", ok=(200, items_of(BundleCardOut)), secured=False)
async def bundle_list(request: Request, channel: Channel) -> HTTPResponse:
    definitions = await request.app.ctx.bundles.published()
    return json({"items": [bundle_presenters.bundle_card(d) for d in definitions]}, ensure_ascii=False)


@routes.get("/bundles/<code:bundle_code>", ctx_public=True)
@doc("一件事详情 A bundle: its steps and its one form", ok=(200, BundleOut), secured=False,
     errors={404: ["bundle_not_found"], 409: ["bundle_not_published"]})
async def bundle_describe(request: Request, channel: Channel, code: str) -> HTTPResponse:
    definition = await request.app.ctx.bundles.describe(code=code)
    return json(bundle_presenters.bundle_detail(definition), ensure_ascii=False)


@routes.get("/bundles/<code:bundle_code>/form")
@doc("开始办理：预填的申请表 Start: the one form, pre-filled", ok=(200, FormOut),
     errors={**AUTH, **REAL_NAME, 404: ["bundle_not_found"], 409: ["bundle_not_published"]},
     description="Needs real name (L2). Identity fields are locked (the hub fills them from the "
                 "real-name record); others come from the newest valid license of the declared type "
                 "in the wallet (reading it is logged in the citizen's license access log).")
async def bundle_form(request: Request, channel: Channel, code: str) -> HTTPResponse:
    filled = await request.app.ctx.bundles.prefilled(person_id=request.ctx.auth.subject, code=code)
    return json(bundle_presenters.prefilled(filled), ensure_ascii=False)


@routes.post("/bundles/<code:bundle_code>/submissions")
@doc("提交一件事 Submit the one form", body=BundleSubmitIn, ok=(201, RUN),
     headers=(IDEMPOTENCY_KEY.needed(),), ok_headers=(LOCATION, REPLAYED),
     errors={400: FORM_ERRORS + ["idempotency_key_required"], **AUTH, **REAL_NAME,
             404: ["bundle_not_found"], 409: ["idempotency_key_reused", "bundle_not_published"],
             429: ["rate_limited"]},
     description="Needs real name (L2) and an `Idempotency-Key`: the same key and body answer the "
                 "first bundle again (`Idempotent-Replayed: true`), however many arrive at once. Each "
                 "step becomes an application as soon as the steps it waits for are done.")
@rate_limited("bundle_submit", capacity=60, per_seconds=60, by="person")
async def bundle_submit(request: Request, channel: Channel, code: str) -> HTTPResponse:
    key = idempotency_key(request)
    body = parse_body(request, BundleSubmitIn)
    result = await request.app.ctx.bundles.submit(
        person_id=request.ctx.auth.subject, channel=channel.name, code=code, form=body.form,
        optional_steps=body.optional_steps, idempotency_key=key)
    headers = {"Location": f"{channel.prefix}/bundle-runs/{result.run.number}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json(channel.shapes.bundle_run_detail(result.run), status=201, headers=headers, ensure_ascii=False)


@routes.get("/bundle-runs")
@doc("我的一件事 My bundles", ok=(200, RUNS), errors=AUTH)
async def bundle_runs(request: Request, channel: Channel) -> HTTPResponse:
    found = await request.app.ctx.bundles.runs(person_id=request.ctx.auth.subject)
    return json({"items": [channel.shapes.bundle_run(r) for r in found]}, ensure_ascii=False)


@routes.get("/bundle-runs/<number:bundle_run_number>")
@doc("一件事进度 Every step of a bundle", ok=(200, RUN),
     errors={**AUTH, 404: ["bundle_run_not_found"]},
     description="Each step's status, its application number, and for a failed step `failure`: "
                 "`reason` (why) and `advice` (what to do). Another person's number is 404.")
async def bundle_show(request: Request, channel: Channel, number: str) -> HTTPResponse:
    found = await request.app.ctx.bundles.run(person_id=request.ctx.auth.subject, number=number)
    return json(channel.shapes.bundle_run_detail(found), ensure_ascii=False)


@routes.post("/bundle-runs/<number:bundle_run_number>/retry")
@doc("重试未通过的步骤 Retry the steps that failed", body=RetryIn, ok=(200, RUN),
     errors={400: FORM_ERRORS, **AUTH, **REAL_NAME, 404: ["bundle_run_not_found"],
             409: ["bundle_run_not_retryable", "bundle_confirmed_facts_sent", "matter_entry_not_allowed"]},
     description="Redoes only what did not succeed (failed, blocked, undone steps) with a new "
                 "application each; done steps are never redone. `form` corrects answers first. "
                 "Changing a fact or party the other parent confirmed voids the confirmation and "
                 "asks the (new) other parent again; once a step sent them, they cannot change (409).")
@rate_limited("bundle_retry", capacity=20, per_seconds=60, by="person")
async def bundle_retry(request: Request, channel: Channel, number: str) -> HTTPResponse:
    body = parse_body(request, RetryIn)
    found = await request.app.ctx.bundles.retry(person_id=request.ctx.auth.subject, number=number,
                                                form_changes=body.form)
    return json(channel.shapes.bundle_run_detail(found), ensure_ascii=False)


@routes.get("/bundle-confirmations")
@doc("待我确认的一件事 Bundles waiting for my confirmation", ok=(200, CONFIRMATIONS),
     errors={**AUTH, **REAL_NAME},
     description="For the second parent, on their own device: found by their real-name ID number.")
async def bundle_confirmations(request: Request, channel: Channel) -> HTTPResponse:
    found = await request.app.ctx.bundles.confirmations(person_id=request.ctx.auth.subject)
    return json({"items": [bundle_presenters.confirmation(c, compact=channel.shapes.compact) for c in found]},
                ensure_ascii=False)


@routes.post("/bundle-confirmations/<number:bundle_run_number>")
@doc("确认或拒绝 Confirm (or decline) as the second parent", body=ConfirmIn,
     ok=(200, CONFIRMATION),
     errors={400: ["invalid_input", "malformed_json"], **AUTH,
             403: ["assurance_required", "bundle_confirmation_not_allowed"],
             404: ["bundle_confirmation_not_found"],
             409: ["bundle_confirmation_closed", "bundle_confirmation_changed"]},
     description="`confirm` (with the `digest` listed) lets household registration go ahead for "
                 "exactly the facts and parties shown; if the applicant changed them since, 409 "
                 "`bundle_confirmation_changed`. `decline` stops it and tells the applicant. Only the "
                 "person named as the other party, never the applicant.")
async def bundle_confirm(request: Request, channel: Channel, number: str) -> HTTPResponse:
    body = parse_body(request, ConfirmIn)
    decision = "confirmed" if body.decision == "confirm" else "declined"
    found = await request.app.ctx.bundles.confirm(person_id=request.ctx.auth.subject, number=number,
                                                  decision=decision, digest=body.digest)
    return json(bundle_presenters.confirmation(found, compact=channel.shapes.compact), ensure_ascii=False)
