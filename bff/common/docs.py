"""One decorator to document a route in the OpenAPI document: summary, body, answer, error codes."""
from __future__ import annotations

from typing import Any

from sanic_ext import openapi

from bff.common.schemas import Problem

STATUS_TEXT = {400: "Bad input", 401: "Not logged in / bad credentials", 403: "Not allowed",
               404: "Not found", 409: "Conflict with the current state", 413: "Body too large",
               429: "Too many requests", 503: "An upstream system is unavailable"}


def doc(summary: str, *, tag: str, body: Any = None, ok: tuple[int, Any] | None = (200, None),
        errors: dict[int, list[str]] | None = None, secured: bool = True, description: str = ""):
    """``errors`` maps a status to the problem codes a client may meet there.

    Bodies and answers are only recorded on the handler: ``bff/common/openapi.py`` renders them with
    pydantic's own schemas. (sanic-ext's own walk of pydantic models gets shapes wrong and costs
    about a tenth of a second per route at import.)"""

    def decorate(handler):
        handler = openapi.summary(summary)(handler)
        handler = openapi.tag(tag)(handler)
        if description:
            handler = openapi.description(description)(handler)
        if secured:
            handler = openapi.secured("bearer")(handler)
        # the models themselves, for bff/common/openapi.py to render with pydantic's own schemas
        responses = {status: ("application/problem+json", Problem, _error_text(status, codes))
                     for status, codes in (errors or {}).items()}
        if ok is not None:
            responses[ok[0]] = ("application/json", ok[1], "OK" if ok[0] < 300 else "Done")
        handler.__govhub_doc__ = {"body": body, "responses": responses}
        return handler

    return decorate


def _error_text(status: int, codes: list[str]) -> str:
    return f"{STATUS_TEXT.get(status, 'Error')}; code: " + ", ".join(f"`{c}`" for c in codes)
