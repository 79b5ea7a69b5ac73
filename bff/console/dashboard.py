"""The dashboard (数据看板): the platform's figures for today (by hour), 7 or 30 days (by day), drawn
as server-side SVG (charts.py) with a table of every figure. Read from the rollups the
``roll_up_figures`` job keeps (domain/figures), never from the capabilities' tables. Any admin."""
from __future__ import annotations

from markupsafe import Markup
from sanic import Request
from sanic.response import HTTPResponse

from bff.console import charts
from bff.console.pages import bp
from bff.console.render import page
from bff.console.session import console_page
from domain.figures import rules
from domain.figures.rules import Dashboard
from domain.shared.clock import SHANGHAI

CHANNEL_NAMES = {"wechat": "微信小程序", "alipay": "支付宝小程序", "app": "App"}
GROUP_NAMES = {"wx": "微信小程序 /wx", "alipay": "支付宝小程序 /alipay", "app": "App /app", "admin": "管理接口 /admin",
               "gov": "部门与省级节点 /gov", "console": "管理控制台", "public": "公开接口", "ops": "运维探针",
               "other": "未匹配路由"}
TILES = (rules.USERS_REGISTERED, rules.USERS_REAL_NAME, rules.VISITS, rules.PAGE_VIEWS, rules.SUBMITTED,
         rules.COMPLETED, rules.INSTANT_APPROVALS, rules.LICENSES_ISSUED, rules.LICENSES_SHOWN,
         rules.EXCHANGE_CALLS, rules.IDENTITY_CHECKS)
UNITS = {rules.USERS_REGISTERED: "人", rules.USERS_REAL_NAME: "人", rules.VISITS: "人次", rules.PAGE_VIEWS: "次",
         rules.SUBMITTED: "件", rules.COMPLETED: "件", rules.INSTANT_APPROVALS: "件", rules.LICENSES_ISSUED: "张",
         rules.LICENSES_SHOWN: "次", rules.EXCHANGE_CALLS: "次", rules.IDENTITY_CHECKS: "次"}


@bp.get("/dashboard")
@console_page()
async def dashboard(request: Request) -> HTTPResponse:
    period = request.args.get("period") if request.args.get("period") in rules.PERIODS else "today"
    board = await request.app.ctx.figures.dashboard(period=period)
    return await page(request, "dashboard.html", title="数据看板", board=board, period=period,
                      periods=rules.PERIOD_NAMES,
                      tiles=[(rules.FIGURE_NAMES[f], board.total(f), UNITS[f]) for f in TILES],
                      charts=[Markup(chart) for chart in drawn(board)], table=table(board), routes=routes(board),
                      rolled_at=_when(board))


def drawn(board: Dashboard) -> list[str]:
    """The page's charts, in reading order."""
    over = "按小时" if board.window.grain == rules.HOUR else "按日"
    labels = list(board.labels)
    return [
        charts.line_chart(title=f"浏览量（{over}，按渠道）", labels=labels, unit="次",
                          series=[(CHANNEL_NAMES.get(c, c), points)
                                  for c, points in sorted(board.series.get(rules.PAGE_VIEWS, {}).items())]),
        charts.line_chart(title=f"办件（{over}）", labels=labels, unit="件",
                          series=[(rules.FIGURE_NAMES[f], summed(board, f))
                                  for f in (rules.SUBMITTED, rules.COMPLETED, rules.INSTANT_APPROVALS)]),
        charts.line_chart(title=f"电子证照（{over}）", labels=labels, unit="次",
                          series=[(rules.FIGURE_NAMES[f], summed(board, f))
                                  for f in (rules.LICENSES_ISSUED, rules.LICENSES_SHOWN)]),
        charts.line_chart(title=f"注册与实名用户（{over}）", labels=labels, unit="人",
                          series=[(rules.FIGURE_NAMES[f], summed(board, f))
                                  for f in (rules.USERS_REGISTERED, rules.USERS_REAL_NAME)]),
        charts.bar_chart(title="访客（按渠道）", unit="人次",
                         items=[(CHANNEL_NAMES.get(c, c), n)
                                for c, n in board.totals.get(rules.VISITS, {}).items()]),
        charts.bar_chart(title="数据交换调用（按部门）", unit="次", items=by_department(board, rules.EXCHANGE_CALLS)),
        charts.bar_chart(title="身份核验调用（按部门）", unit="次", items=by_department(board, rules.IDENTITY_CHECKS)),
        charts.bar_chart(title="P95 耗时（按接口组）", unit="ms",
                         items=[(GROUP_NAMES.get(r.group, r.group), round(r.p95_ms, 1))
                                for r in board.routes if r.p95_ms is not None]),
    ]


def summed(board: Dashboard, figure: str) -> list[int]:
    """A figure's series over every dimension."""
    points = [0] * len(board.window.slots)
    for values in board.series.get(figure, {}).values():
        points = [a + b for a, b in zip(points, values)]
    return points


def by_department(board: Dashboard, figure: str) -> list[tuple[str, int]]:
    return [(board.names.get(code, code), n) for code, n in board.totals.get(figure, {}).items()]


def table(board: Dashboard) -> list[tuple[str, str, str]]:
    """Every figure of the period with each of its dimensions: (figure, dimension, value)."""
    out = []
    for figure in TILES:
        found = board.totals.get(figure, {})
        unit = UNITS[figure]
        out.append((rules.FIGURE_NAMES[figure], "合计", charts.number(board.total(figure)) + unit))
        if set(found) - {""}:
            for dimension, value in sorted(found.items(), key=lambda item: -item[1]):
                named = CHANNEL_NAMES.get(dimension) or board.names.get(dimension) or dimension
                out.append(("", named, charts.number(value) + unit))
    return out


def routes(board: Dashboard) -> list[tuple[str, str, str, str, str]]:
    return [(GROUP_NAMES.get(r.group, r.group), charts.number(r.requests), charts.number(r.errors),
             "—" if r.error_rate is None else f"{r.error_rate:.2%}",
             "—" if r.p95_ms is None else f"{r.p95_ms:.1f} ms") for r in board.routes]


def _when(board: Dashboard) -> str:
    return board.rolled_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if board.rolled_at else "尚未汇总"
