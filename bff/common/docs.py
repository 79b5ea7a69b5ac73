"""One decorator to document a route in the OpenAPI document: summary, query, headers, body, answer,
error codes.

What the edge refuses in one place is documented here in one place too: a route with a body also
answers 400 ``malformed_json`` / ``invalid_input`` and 413 ``payload_too_large`` (bff/common/jsonio.py
and the body limit), a route with a query 400 ``invalid_input``; a 429 carries Retry-After and a 401
its challenge."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sanic_ext import openapi

from bff.common.schemas import Problem

STATUS_TEXT = {400: "Bad input", 401: "Not logged in / bad credentials", 403: "Not allowed",
               404: "Not found", 409: "Conflict with the current state", 413: "Body too large",
               429: "Too many requests", 503: "An upstream system is unavailable"}
PROBLEM = "application/problem+json"
BODY_ERRORS = {400: ["invalid_input", "malformed_json"], 413: ["payload_too_large"]}
QUERY_ERRORS = {400: ["invalid_input"]}


@dataclass(frozen=True)
class Header:
    name: str
    description: str
    required: bool = False
    schema: tuple = (("type", "string"),)

    def parameter(self) -> dict:
        return {"name": self.name, "in": "header", "required": self.required, "description": self.description,
                "schema": dict(self.schema)}

    def answer(self) -> dict:
        return {"description": self.description, "schema": dict(self.schema)}

    def needed(self) -> Header:
        return Header(self.name, self.description, True, self.schema)


_KEY_SCHEMA = (("type", "string"), ("minLength", 1), ("maxLength", 128))
IDEMPOTENCY_KEY = Header("Idempotency-Key", "a new value per new request, the same on every retry of it: a "
                                            "retry answers the first result; the same key with another body "
                                            "is 409 `idempotency_key_reused`", schema=_KEY_SCHEMA)
IF_NONE_MATCH = Header("If-None-Match", "the ETag you hold: 304 without a body when it is still current")
IF_MATCH = Header("If-Match", "the ETag (version) the change is based on, e.g. \"3\"; or `version` in the body")
DEVICE_ID = Header("X-Device-Id", "the app's device id: binds the refresh token to this device",
                   schema=(("type", "string"), ("maxLength", 128)))
# in answers
LOCATION = Header("Location", "where the created resource is read")
ETAG = Header("ETag", "the version of what was answered; send it back as If-None-Match or If-Match")
REPLAYED = Header("Idempotent-Replayed", "`true` when this is the first result again (a retry)")
NO_STORE = Header("Cache-Control", "`no-store`: personal data, never cached")
RETRY_AFTER = Header("Retry-After", "seconds to wait before trying again", schema=(("type", "integer"),))
CHALLENGE = Header("WWW-Authenticate", "the authentication scheme the route accepts (RFC 9110)")


PENDING_DOC = "__govhub_channel_doc__"  # a channel route's doc, applied per channel (channel_routes.mount)


def doc(summary: str, *, tag: str | None = None, body: Any = None, query: Any = None,
        ok: tuple[int, Any] | None = (200, None), errors: dict[int, list[str]] | None = None,
        secured: bool = True, description: str = "", headers: tuple[Header, ...] = (),
        ok_headers: tuple[Header, ...] = (), ok_media: str = "application/json",
        ok_also: dict[str, Any] | None = None, also: dict[int, str] | None = None):
    """``errors`` maps a status to the problem codes a client may meet there; ``query`` is the model
    ``parse_query`` reads the query string with (its fields become the documented parameters);
    ``headers`` are request headers, ``ok_headers`` those of the success answer, ``ok_also`` its
    other media types (media type -> schema); ``also`` other answers without a body (status -> what
    it means, e.g. 304). ``body`` is a model (JSON) or a media type -> schema map (a multipart upload).

    A channel route names no ``tag``: its documentation waits for the channel it is mounted on
    (``bff/common/channel_routes.py``), which is its tag and may decide its shapes (``ByChannel``).

    Bodies and answers are only recorded on the handler: ``bff/common/openapi.py`` renders them with
    pydantic's own schemas. (sanic-ext's own walk of pydantic models gets shapes wrong and costs
    about a tenth of a second per route at import.)"""
    if tag is None:
        arguments = dict(body=body, query=query, ok=ok, errors=errors, secured=secured, description=description,
                         headers=headers, ok_headers=ok_headers, ok_media=ok_media, ok_also=ok_also, also=also)

        def wait_for_channel(handler):
            setattr(handler, PENDING_DOC, (summary, arguments))
            return handler

        return wait_for_channel
    errors = _merged(errors or {}, BODY_ERRORS if isinstance(body, type) else {},
                     QUERY_ERRORS if query is not None else {})

    def decorate(handler):
        handler = openapi.summary(summary)(handler)
        handler = openapi.tag(tag)(handler)
        if description:
            handler = openapi.description(description)(handler)
        if secured:
            handler = openapi.secured("bearer")(handler)
        # the models themselves, for bff/common/openapi.py to render with pydantic's own schemas
        # status -> (media type -> model or schema, description, headers)
        responses = {status: ({PROBLEM: Problem}, _error_text(status, codes), _error_headers(status))
                     for status, codes in errors.items()}
        if ok is not None:
            content = {ok_media: ok[1]} if ok[1] is not None else {}
            responses[ok[0]] = ({**content, **(ok_also or {})}, "OK" if ok[0] < 300 else "Done", ok_headers)
        for status, text in (also or {}).items():
            responses[status] = ({}, text, ok_headers)
        handler.__govhub_doc__ = {"body": body, "query": query, "headers": headers, "responses": responses}
        return handler

    return decorate


def _merged(*maps: dict[int, list[str]]) -> dict[int, list[str]]:
    merged: dict[int, list[str]] = {}
    for codes_by_status in maps:
        for status, codes in codes_by_status.items():
            known = merged.setdefault(status, [])
            known.extend(code for code in codes if code not in known)
    return dict(sorted(merged.items()))


def _error_headers(status: int) -> tuple[Header, ...]:
    return {401: (CHALLENGE,), 429: (RETRY_AFTER,)}.get(status, ())


def _error_text(status: int, codes: list[str]) -> str:
    return f"{STATUS_TEXT.get(status, 'Error')}; code: " + ", ".join(f"`{c}`" for c in codes)
