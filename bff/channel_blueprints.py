"""The citizen channels' blueprints: each channel of bff/common/channels.py serves its own routes
(login and the like) and every shared route table, under its prefix and guarded by its audience."""
from __future__ import annotations

from sanic import Blueprint

from bff.alipay import routes as alipay
from bff.common import (
    account,
    application_routes,
    bundle_routes,
    catalog_routes,
    data_use_routes,
    health_routes,
    home_routes,
    housing_fund_routes,
    notification_routes,
    wallet_routes,
)
from bff.common.channel_routes import mount
from bff.common.channels import CHANNELS
from bff.mobile import routes as mobile
from bff.wechat import routes as wechat

ROUTE_TABLES = (
    wechat.routes, alipay.routes, mobile.routes,  # each serves its own channel only
    account.routes, catalog_routes.routes, home_routes.routes, application_routes.routes,
    notification_routes.routes, wallet_routes.routes, housing_fund_routes.routes, bundle_routes.routes,
    data_use_routes.routes, health_routes.routes,
)


def blueprints() -> list[Blueprint]:
    return [mount(channel, ROUTE_TABLES) for channel in CHANNELS]
