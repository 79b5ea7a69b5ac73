"""Rendering a console page: the template (Jinja2 through sanic-ext's templating) with what every
page shows — the admin, their roles, the CSRF token for its forms, the menu."""
from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse
from sanic_ext import render

MENU = (("/console", "总览"), ("/console/dashboard", "数据看板"), ("/console/topics", "服务专题"),
        ("/console/matters", "事项"), ("/console/bundles", "一件事"), ("/console/deliveries", "投递"))
ROLE_NAMES = {"topic_editor": "专题编辑", "catalog_admin": "目录管理", "operator": "运维"}


async def page(request: Request, template: str, *, status: int = 200, **context) -> HTTPResponse:
    admin = getattr(request.ctx, "admin", None)
    common = {"admin": admin, "csrf": getattr(request.ctx, "csrf", None), "menu": MENU, "role_names": ROLE_NAMES,
              "roles": set(admin.roles) if admin else set(), "path": request.path}
    response = await render(template, status=status, app=request.app, context={**common, **context})
    response.headers["Cache-Control"] = "no-store"
    return response


async def forbidden(request: Request, roles: tuple[str, ...]) -> HTTPResponse:
    return await page(request, "message.html", status=403, title="无权访问",
                      message="此页面需要以下角色之一：" + "、".join(ROLE_NAMES.get(r, r) for r in roles))
