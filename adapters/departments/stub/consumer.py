"""A consumer department calling the hub's data exchange (一网通享), as a node.

``python -m adapters.departments.stub.consumer --hub http://127.0.0.1:8000 --node bj-psb
--key devkeys/demo_node_beijing_psb_private.pem --client-subsystem case-system
--user-id CN110105199003070017 --issue 京公刑立字2026第0001号
GET 'CN/GOV/bj-hrss/hrss-data/social-insurance-payments/payments?id_number=110105199003070017'``

calls ``GET {hub}/r1/CN/GOV/bj-hrss/hrss-data/social-insurance-payments/payments?id_number=…``
signed GOVHUB-SIG-V1 as the node (``domain/nodes/signatures.py``, docs/nodes.md) with
``X-Road-Client: {instance}/GOV/{node}/{subsystem}``, and ``X-Road-UserId`` / ``X-Road-Issue``
when given, then prints the status, the ``X-Road-*`` headers of the answer and its JSON body.
Exit status: 0 for an answer below 400, 1 for another answer, 2 when the hub could not be reached.

Header values are percent-encoded UTF-8 (as X-Road encodes identifier parts): an HTTP header carries
ASCII, so ``X-Road-Issue: 案件号`` travels as ``%E6%A1%88%E4%BB%B6%E5%8F%B7``; ASCII letters, digits
and ``-._~/:`` travel as they are. ``--key`` defaults to the node's dev key for a demo node.
``call`` (async) and ``build_request`` are the same for tests and journeys.
"""
from __future__ import annotations

import argparse
import asyncio
import json as jsonlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx

from domain.nodes import signatures
from domain.shared.clock import OFFSET_VARIABLE, Clock, offset_from

DEFAULT_INSTANCE = "CN"
MEMBER_CLASS = "GOV"
PROTOCOL = "r1"
_SAFE = "-._~/:"  # besides letters and digits: left as they are in header values


def encode_part(value: str) -> str:
    """One identifier part or header value, percent-encoded UTF-8 (ASCII tokens unchanged)."""
    return quote(value, safe=_SAFE)


def client_id(node: str, subsystem: str, *, instance: str = DEFAULT_INSTANCE) -> str:
    """``X-Road-Client``: ``{instance}/GOV/{node}/{subsystem}``, each part percent-encoded."""
    return "/".join(quote(part, safe="") for part in (instance, MEMBER_CLASS, node, subsystem))


def service_target(service: str) -> str:
    """``CN/GOV/bj-hrss/hrss-data/social-insurance-payments/payments?id_number=…`` (a leading
    ``/`` or ``/r1/`` is allowed) -> ``/r1/CN/GOV/…``. The service id needs its five parts."""
    rest = service.lstrip("/")
    if rest.startswith(f"{PROTOCOL}/"):
        rest = rest[len(PROTOCOL) + 1:]
    path = rest.partition("?")[0]
    parts = path.split("/")
    if len(parts) < 5 or not all(parts[:5]):
        raise ValueError("the service is "
                         "{instance}/{memberClass}/{memberCode}/{subsystem}/{serviceCode}[/path]")
    return f"/{PROTOCOL}/{rest}"


def x_road_headers(*, node: str, client_subsystem: str, instance: str = DEFAULT_INSTANCE,
                   user_id: str | None = None, issue: str | None = None,
                   message_id: str | None = None) -> dict[str, str]:
    headers = {"X-Road-Client": client_id(node, client_subsystem, instance=instance)}
    if user_id:
        headers["X-Road-UserId"] = encode_part(user_id)
    if issue:
        headers["X-Road-Issue"] = encode_part(issue)
    if message_id:
        headers["X-Road-Id"] = encode_part(message_id)
    return headers


def build_request(http: httpx.AsyncClient, *, hub: str, node: str, private_key_pem: bytes, method: str,
                  service: str, client_subsystem: str, instance: str = DEFAULT_INSTANCE,
                  user_id: str | None = None, issue: str | None = None, message_id: str | None = None,
                  body: bytes = b"", timestamp: int) -> httpx.Request:
    """The signed request, not sent. The signature covers the path and query as httpx will send
    them (taken from the built request, after httpx has encoded the URL) and the body's bytes."""
    headers = {"Accept": "application/json",
               **x_road_headers(node=node, client_subsystem=client_subsystem, instance=instance,
                                user_id=user_id, issue=issue, message_id=message_id)}
    if body:
        headers["Content-Type"] = "application/json; charset=utf-8"
    request = http.build_request(method.upper(), hub.rstrip("/") + service_target(service),
                                 content=body, headers=headers)
    wire_path, _, query = request.url.raw_path.decode("ascii").partition("?")
    request.headers.update(signatures.signed_headers(
        private_key=signatures.load_private_key(private_key_pem), node=node, method=request.method,
        path=wire_path, query_string=query, body=body, timestamp=timestamp))
    return request


async def call(*, hub: str, node: str, private_key_pem: bytes, service: str, method: str = "GET",
               client_subsystem: str, instance: str = DEFAULT_INSTANCE, user_id: str | None = None,
               issue: str | None = None, message_id: str | None = None, body: bytes | None = None,
               http: httpx.AsyncClient | None = None, now: Callable[[], float] | None = None,
               timeout: float = 30.0) -> httpx.Response:
    """Call a service through the hub as ``node``; any answer is returned (no retry: a retry must
    be signed again). ``now`` defaults to the process clock (moved by GOVHUB_CLOCK_OFFSET)."""
    clock = now or Clock(offset_from(os.environ.get(OFFSET_VARIABLE))).timestamp
    owned = http is None
    client = http or httpx.AsyncClient(timeout=timeout)
    try:
        request = build_request(client, hub=hub, node=node, private_key_pem=private_key_pem, method=method,
                                service=service, client_subsystem=client_subsystem, instance=instance,
                                user_id=user_id, issue=issue, message_id=message_id, body=body or b"",
                                timestamp=int(clock()))
        response = await client.send(request)
        await response.aread()
        return response
    finally:
        if owned:
            await client.aclose()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m adapters.departments.stub.consumer",
                                     description="call a data service through the hub's exchange, as a node")
    parser.add_argument("--hub", default="http://127.0.0.1:8000", help="the hub's base URL")
    parser.add_argument("--node", required=True, help="the calling node's code (X-Gov-Node, X-Road-Client)")
    parser.add_argument("--key", type=Path,
                        help="the node's private key (PEM); default: a demo node's dev key")
    parser.add_argument("--client-subsystem", required=True, help="the calling subsystem (X-Road-Client)")
    parser.add_argument("--instance", default=DEFAULT_INSTANCE, help="X-Road instance (default: CN)")
    parser.add_argument("--user-id", help="X-Road-UserId: the official, country prefixed (CN110101…)")
    parser.add_argument("--issue", help="X-Road-Issue: the case or file that calls for the data")
    parser.add_argument("--message-id", help="X-Road-Id (default: none; the hub assigns it)")
    parser.add_argument("--data", help="a JSON request body (or @file)")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("method", help="GET, POST, ...")
    parser.add_argument("service",
                        help="{instance}/{memberClass}/{memberCode}/{subsystem}/{serviceCode}[/path][?query]")
    return parser


def _key(args: argparse.Namespace) -> bytes:
    if args.key is not None:
        return args.key.read_bytes()
    from adapters.departments.stub.server import DEMO_NODE_KEYS, DEVKEYS

    if args.node not in DEMO_NODE_KEYS:
        raise SystemExit(f"--key is required: {args.node} is not a demo node")
    return (DEVKEYS / DEMO_NODE_KEYS[args.node]).read_bytes()


def _body(data: str | None) -> bytes | None:
    if data is None:
        return None
    return Path(data[1:]).read_bytes() if data.startswith("@") else data.encode("utf-8")


def show(response: httpx.Response, out=None) -> None:
    """Status, X-Road-* headers, then the body (JSON pretty-printed, with Chinese as it is)."""
    out = out or sys.stdout
    print(f"HTTP {response.status_code} {response.reason_phrase}", file=out)
    for name, value in response.headers.raw:  # as the hub spelled them
        if name.lower().startswith(b"x-road-"):
            print(f"{name.decode('latin-1')}: {value.decode('latin-1')}", file=out)
    print(file=out)
    try:
        print(jsonlib.dumps(response.json(), ensure_ascii=False, indent=2), file=out)
    except ValueError:
        print(response.text, file=out)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        target = service_target(args.service)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    try:
        response = asyncio.run(call(hub=args.hub, node=args.node, private_key_pem=_key(args), service=target,
                                    method=args.method, client_subsystem=args.client_subsystem,
                                    instance=args.instance, user_id=args.user_id, issue=args.issue,
                                    message_id=args.message_id, body=_body(args.data), timeout=args.timeout))
    except httpx.HTTPError as exc:
        print(f"cannot reach the hub at {args.hub}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    show(response)
    return 0 if response.status_code < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
