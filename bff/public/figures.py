"""The platform's headline figures for anyone (``/public/v1/figures``): no login, read from the
rollups the ``roll_up_figures`` job keeps (domain/figures), never counted on the request. Answers
may be cached by clients and CDNs for a minute; the rollups move every few minutes."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.common.docs import Header, doc
from bff.common.schemas import Out
from domain.figures import rules

bp = Blueprint("public_figures", url_prefix="/public/v1")
CACHE = {"Cache-Control": "public, max-age=60"}
CACHE_HEADER = Header("Cache-Control", "`public, max-age=60`: the same figures for everyone, a minute")


class PeriodFigures(Out):
    visits: int = Field(description="distinct citizens or devices per day per channel, summed over the days")
    page_views: int = Field(description="home, search and matter pages answered on the citizen channels")
    applications_submitted: int
    applications_completed: int = Field(description="applications that reached 办结")
    instant_approvals: int = Field(description="applications approved by 秒批, without an examiner")
    licenses_issued: int
    licenses_shown: int = Field(description="license presentations made (亮证)")
    exchange_calls: int = Field(description="calls through the data exchange, every department")
    identity_verifications: int = Field(description="identity verifications departments asked for")


class Periods(Out):
    today: PeriodFigures = Field(description="since 00:00 Beijing time")
    last_7_days: PeriodFigures = Field(description="today and the 6 Beijing days before it")
    last_30_days: PeriodFigures = Field(description="today and the 29 Beijing days before it")


class Users(Out):
    registered: int = Field(description="people registered (a merged duplicate counts once)")
    real_name: int = Field(description="of whom real-name verified")


class FiguresOut(Out):
    rolled_at: datetime | None = Field(description="when the figures were last rolled up; null before the "
                                                   "first time")
    users: Users
    periods: Periods


PERIOD_KEYS = {"today": "today", "7d": "last_7_days", "30d": "last_30_days"}


@bp.get("/figures", ctx_public=True)
@doc("平台运行数据 The platform's headline figures", tag="public", ok=(200, FiguresOut), secured=False,
     ok_headers=(CACHE_HEADER,),
     description="Users, visits, page views, applications, instant approvals, licenses and exchange calls, "
                 "for today, 7 and 30 Beijing days; from hourly and daily rollups a scheduled job keeps "
                 "(docs/console.md, \"Dashboard\").")
async def figures(request: Request) -> HTTPResponse:
    headline = await request.app.ctx.figures.headline()
    body = {"rolled_at": headline.rolled_at.isoformat() if headline.rolled_at else None,
            "users": {"registered": headline.users_registered, "real_name": headline.users_real_name},
            "periods": {PERIOD_KEYS[period]: {figure: values.get(figure, 0) for figure in rules.HEADLINE}
                        for period, values in headline.periods.items()}}
    return json(body, headers=CACHE)
