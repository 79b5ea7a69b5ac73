"""How a route is written once and served on every citizen channel (bff/common/channels.py).

A capability module keeps its routes in a ``ChannelRoutes`` table, each path written out::

    routes = ChannelRoutes()

    @routes.get("/applications/<number:application_number>")
    @doc("办件详情 Application detail", ok=(200, DETAIL), errors=...)
    async def show(request: Request, channel: Channel, number: str) -> HTTPResponse: ...

``mount`` (called by bff/channel_blueprints.py) puts the table on each channel's blueprint
(``/wx/v1``, ``/alipay/v1``, ``/app/v1``): the handler gets that ``Channel`` (its name, prefix and
presenters) and the route keeps its name per channel (``wechat.show``, the OpenAPI operation
``get~wechat.show``). A route's documentation says
``ByChannel`` where the channel decides (its answer's shape); ``doc`` without a tag waits for the
channel, and ``mount`` documents each channel's route with its own tag and shapes.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from sanic import Blueprint, Request

from bff.common.auth import install_guard
from bff.common.channels import Channel
from bff.common.docs import PENDING_DOC, doc


@dataclass(frozen=True)
class ByChannel:
    """A documented value the channel decides (an answer's shape, a header): ``pick(channel)``."""

    pick: Callable[[Channel], Any]


@dataclass(frozen=True)
class ChannelRoute:
    method: str
    path: str
    handler: Callable
    channels: tuple[str, ...] | None  # None: every channel
    options: dict = field(default_factory=dict)  # stream, and ctx_* flags for the route's ctx


class ChannelRoutes:
    """A table of routes served on channels: every channel unless ``channels`` names some."""

    def __init__(self, channels: Iterable[str] | None = None) -> None:
        self.channels = tuple(channels) if channels is not None else None
        self.routes: list[ChannelRoute] = []

    def route(self, method: str, path: str, *, channels: Iterable[str] | None = None, **options):
        def register(handler):
            if not hasattr(handler, PENDING_DOC):
                raise TypeError(f"{handler.__name__}: document a channel route with doc(...) and no tag")
            only = tuple(channels) if channels is not None else self.channels
            self.routes.append(ChannelRoute(method, path, handler, only, options))
            return handler

        return register

    def get(self, path: str, **options):
        return self.route("GET", path, **options)

    def post(self, path: str, **options):
        return self.route("POST", path, **options)

    def put(self, path: str, **options):
        return self.route("PUT", path, **options)

    def delete(self, path: str, **options):
        return self.route("DELETE", path, **options)


def mount(channel: Channel, tables: Iterable[ChannelRoutes]) -> Blueprint:
    """The channel's blueprint: every route of ``tables`` served there, guarded by its token audience."""
    bp = Blueprint(channel.name, url_prefix=channel.prefix)
    install_guard(bp, channel=channel.name)
    for table in tables:
        for route in table.routes:
            if route.channels is None or channel.name in route.channels:
                bp.add_route(_on(channel, route.handler), route.path, methods=[route.method],
                             name=route.handler.__name__, **route.options)
    return bp


def _on(channel: Channel, handler: Callable) -> Callable:
    """The handler as served on ``channel``: its own function, so each channel's route has its own
    OpenAPI operation (sanic-ext files operations by function), documented with the channel's shapes."""

    @wraps(handler)
    async def on_channel(request: Request, **params):
        return await handler(request, channel, **params)

    summary, documented = getattr(handler, PENDING_DOC)
    return doc(summary, tag=channel.name, **_resolved(documented, channel))(on_channel)


def _resolved(value: Any, channel: Channel) -> Any:
    if isinstance(value, ByChannel):
        return value.pick(channel)
    if isinstance(value, dict):
        return {key: _resolved(item, channel) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_resolved(item, channel) for item in value)
    return value
