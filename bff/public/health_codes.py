"""What a health-code verifier downloads (/public/v1/health), no login: the trust list of issuers'
keys, the regions' rules and the revocation batches — each a change feed signed by the platform's
trust anchor, with deltas and paging (``since``, ``limit``) and HTTP caching (ETag / If-None-Match,
Last-Modified / If-Modified-Since). docs/health-codes.md is the contract."""
from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, json

from bff.common.docs import ETAG, IF_NONE_MATCH, Header, doc
from bff.common.health_schemas import ListQuery, SignedList
from bff.common.parsing import parse_query
from domain.health.feeds import REVOCATIONS, RULES, TRUST
from domain.health.service import FeedAsk

bp = Blueprint("public_health_codes", url_prefix="/public/v1/health")
IF_MODIFIED_SINCE = Header("If-Modified-Since", "an HTTP date: without `since`, only entries changed after it "
                                                "(304 when none)")
LAST_MODIFIED = Header("Last-Modified", "when the list last changed")
CACHING = "public, max-age=60"
NOT_MODIFIED = {304: "Not modified: the ETag or the date you sent is current"}


def _feed(name: str, summary: str, description: str):
    @bp.get(f"/{name}", name=f"health_{name.replace('-', '_')}", ctx_public=True)
    @doc(summary, tag="public", ok=(200, SignedList), query=ListQuery, secured=False,
         headers=(IF_NONE_MATCH, IF_MODIFIED_SINCE), ok_headers=(ETAG, LAST_MODIFIED), also=NOT_MODIFIED,
         description=description + " Signed by the trust anchor (`GET /public/v1/trust-anchor`). Every entry "
                                    "carries its `seq`; ask `since=<seq held>` until `more` is false.")
    async def handler(request: Request) -> HTTPResponse:
        query = parse_query(request, ListQuery)
        health = request.app.ctx.health
        head = await health.head(name)
        headers = {"ETag": head.etag(name), "Cache-Control": CACHING}
        if head.changed_at is not None:
            headers["Last-Modified"] = format_datetime(head.changed_at.astimezone(UTC), usegmt=True)
        if request.headers.get("If-None-Match") == headers["ETag"]:
            return empty(status=304, headers=headers)
        modified_since = _http_date(request.headers.get("If-Modified-Since")) if query.since is None else None
        if modified_since is not None and (head.changed_at is None or head.changed_at.replace(microsecond=0)
                                           <= modified_since):
            return empty(status=304, headers=headers)
        page = await health.list_page(name, FeedAsk(since=query.since, limit=query.limit,
                                                    modified_since=modified_since), head)
        return json(page, ensure_ascii=False, headers=headers)

    return handler


trust_list = _feed(TRUST, "健康码信任列表 Issuers' signing keys",
                   "Every region's keys: kid, certificate, algorithm, validity, status and the credential types "
                   "each may sign.")
rule_list = _feed(RULES, "健康码规则 Regions' rules (CertLogic)",
                  "Every version of every region's rules with its validity window.")
revocation_list = _feed(REVOCATIONS, "健康码撤销列表 Revocation batches",
                        "Hashed credential ids (first 128 bits of SHA-256), in batches; a deleted batch is dropped.")


def _http_date(text: str | None):
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None  # an unreadable date is no condition: the whole list is answered
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
