"""The authorization matrix (issue #12): every operation of the hub's OpenAPI x every kind of caller,
with the answer each must get. How to read it and how to add a route: docs/security.md.

``MATRIX`` says, per operation, who may call it; what every caller gets follows from the rule
(``expect``). ``REQUESTS`` says what to send beyond the path (whose ids name the owner's objects:
tests/support/callers.py) so that an allowed caller gets past authorization. Allowed means a 2xx,
or a 400/409 (a body kept minimal on purpose, a state that no longer allows the change): never
401, 403, 404 or 5xx. A refused caller gets exactly its answer, status and code.
"""
from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass

import httpx
import pytest

from bff.app import create_app
from bff.settings import Settings
from domain.licenses.rules import epoch_of
from tests.conftest import empty_hub
from tests.support.admins import cheap_admin_services
from tests.support.callers import (
    FORM,
    KINDS,
    LEVELS,
    MATTER,
    RETIRED_MATTER,
    ROLES,
    Call,
    build_world,
    multipart,
    path_value,
)
from tests.support.citizens import ALICE, DAVE
from tests.support.housing_fund import ALICE_BJ, ALICE_CARD, BJ, fund_stub, reset
from tests.support.licenses import example


@dataclass(frozen=True)
class Answer:
    status: int
    code: str | None = None


ALLOWED = Answer(0, "allowed")
NO_TOKEN = Answer(401, "token_invalid")  # a channel route without a citizen token of its channel
NO_SESSION = Answer(401, "admin_session_invalid")
NO_SIGNATURE = Answer(401, "node_headers_missing")
ASSURANCE = Answer(403, "assurance_required")
ROLE = Answer(403, "role_required")


def not_found(code: str) -> Answer:
    return Answer(404, code)  # another's object looks exactly like one that does not exist


@dataclass(frozen=True)
class Public:
    """Answers every caller alike (``status``): no credential changes what it says."""
    status: int = 200

    def expect(self, kind: str) -> Answer:
        return Answer(self.status)


@dataclass(frozen=True)
class Citizen:
    """A channel route: a token of its own channel at ``level`` (1 login, 2 real name, 3 a fresh face
    scan), checked before anything is looked up. ``owned``: the request names the owner's object;
    any other person gets 404 ``owned``."""
    level: int
    owned: str | None = None

    def expect(self, kind: str) -> Answer:
        if kind not in LEVELS:
            return NO_TOKEN
        if LEVELS[kind] < self.level:
            return ASSURANCE
        if self.owned and kind not in ("L2", "L3"):
            return not_found(self.owned)
        return ALLOWED


class Admin:
    """A console route: a live session holding any of ``roles`` (none named: any admin)."""

    def __init__(self, *roles: str) -> None:
        self.roles = roles

    def expect(self, kind: str) -> Answer:
        if kind not in ROLES:
            return NO_SESSION
        return ALLOWED if not self.roles or kind in self.roles else ROLE


@dataclass(frozen=True)
class Node:
    """A signed /gov/v1 route: any registered node, or only ``owner`` (a node role of the world)
    when the call is about its object; another node gets ``refused``."""
    owner: str = "handler"
    refused: Answer | None = None

    def expect(self, kind: str) -> Answer:
        if kind == "owning_node" or (kind == "other_node" and self.refused is None):
            return ALLOWED
        return self.refused if kind == "other_node" else NO_SIGNATURE


EDITOR, CATALOG, OPERATOR = "topic_editor", "catalog_admin", "operator"

# Operation -> who may call it. "{ch}" stands for each citizen channel (wx, alipay, app); a key
# ending in "*" covers every operation whose "METHOD path" starts with what precedes it; " #name"
# adds a case of the same operation with its own request. Exact keys win over {ch}, {ch} over "*".
MATRIX: dict[str, Public | Citizen | Admin | Node] = {
    # --- open to all: health, discovery, the catalog, verification ---------------------------
    "GET /healthz": Public(), "GET /readyz": Public(), "GET /openapi.json": Public(),
    "GET /.well-known/*": Public(), "GET /gov/v1/hub-key": Public(),
    "GET /public/v1/*": Public(),
    "POST /public/v1/presentations/verify": Public(),
    "POST /public/v1/seals/verify": Public(400),  # a minimal body: nobody is told apart
    "GET /{ch}/v1/home": Public(), "GET /{ch}/v1/matters": Public(), "GET /{ch}/v1/matters/{code}": Public(),
    "GET /{ch}/v1/bundles": Public(), "GET /{ch}/v1/bundles/{code}": Public(),
    # logins: a minimal body, the answer is the same whoever asks
    "POST /{ch}/v1/session": Public(400), "POST /{ch}/v1/session/refresh": Public(400),
    "POST /app/v1/sms-codes": Public(400), "POST /admin/v1/session": Public(400),
    # --- a citizen's own account --------------------------------------------------------------
    "DELETE /{ch}/v1/session": Citizen(1), "GET /{ch}/v1/me": Citizen(1),
    "POST /{ch}/v1/me/real-name": Citizen(1), "POST /wx/v1/me/phone": Citizen(1),
    "POST /{ch}/v1/me/face-verifications": Citizen(2),
    "GET /{ch}/v1/me/face-verifications/{session_id}": Citizen(1, "face_session_not_found"),
    "GET /{ch}/v1/me/identity": Citizen(3),
    "* /{ch}/v1/me/notification*": Citizen(1), "POST /{ch}/v1/me/subscriptions": Citizen(1),
    # --- applications -------------------------------------------------------------------------
    "POST /{ch}/v1/applications": Citizen(2), "GET /{ch}/v1/applications": Citizen(1),
    "POST /{ch}/v1/applications/materials": Citizen(1),
    "GET /{ch}/v1/applications/{number}": Citizen(1, "application_not_found"),
    "POST /{ch}/v1/applications/{number}/withdrawal": Citizen(1, "application_not_found"),
    "POST /{ch}/v1/applications/{number}/resubmission": Citizen(1, "application_not_found"),
    # --- the license wallet: a wallet needs real name; a guardian only lists a ward's licenses
    "GET /{ch}/v1/licenses": Citizen(2), "GET /{ch}/v1/license-access-log": Citizen(2),
    "GET /{ch}/v1/licenses/{license_id}": Citizen(2, "license_not_found"),
    "GET /{ch}/v1/licenses/{license_id} #full": Citizen(3, "license_not_found"),
    "GET /{ch}/v1/licenses/{license_id}/history": Citizen(2, "license_not_found"),
    "POST /{ch}/v1/licenses/{license_id}/presentations": Citizen(2, "license_not_found"),
    "POST /{ch}/v1/licenses/{license_id}/presentations #sensitive": Citizen(3, "license_not_found"),
    "GET /{ch}/v1/license-consents": Citizen(2),
    "POST /{ch}/v1/license-consents": Citizen(3, "consent_not_found"),  # a consent discloses: face scan
    "DELETE /{ch}/v1/license-consents/{consent_id}": Citizen(2, "consent_not_found"),
    # --- housing fund: the account named is alice's; a payout needs L3 and the bound face scan
    "GET /{ch}/v1/housing-fund/accounts": Citizen(2),
    "POST /{ch}/v1/housing-fund/eligibility": Citizen(2, "fund_account_not_found"),
    "POST /{ch}/v1/housing-fund/withdrawals": Citizen(2, "fund_account_not_found"),
    "GET /{ch}/v1/housing-fund/withdrawals": Citizen(1),
    "GET /{ch}/v1/housing-fund/withdrawals/{withdrawal_id}": Citizen(1, "withdrawal_not_found"),
    "POST /{ch}/v1/housing-fund/withdrawals/{withdrawal_id}/face-verifications":
        Citizen(2, "withdrawal_not_found"),
    "POST /{ch}/v1/housing-fund/withdrawals/{withdrawal_id}/submission": Citizen(3, "withdrawal_not_found"),
    # --- bundles: the confirmation is the second parent's (alice, on bob's run) ----------------
    "GET /{ch}/v1/bundles/{code}/form": Citizen(2), "POST /{ch}/v1/bundles/{code}/submissions": Citizen(2),
    "GET /{ch}/v1/bundle-runs": Citizen(1),
    "GET /{ch}/v1/bundle-runs/{number}": Citizen(1, "bundle_run_not_found"),
    "POST /{ch}/v1/bundle-runs/{number}/retry": Citizen(2, "bundle_run_not_found"),
    "GET /{ch}/v1/bundle-confirmations": Citizen(2),
    "POST /{ch}/v1/bundle-confirmations/{number}": Citizen(2, "bundle_confirmation_not_found"),
    # --- the console --------------------------------------------------------------------------
    "DELETE /admin/v1/session": Admin(), "GET /admin/v1/me": Admin(),
    "* /admin/v1/accounts*": Admin(OPERATOR), "GET /admin/v1/audit": Admin(OPERATOR),
    "* /admin/v1/topics*": Admin(EDITOR),  # writing; reading and switching on/off, operators too:
    "GET /admin/v1/topics*": Admin(EDITOR, OPERATOR),
    "POST /admin/v1/topics/{code}/publish": Admin(EDITOR, OPERATOR),
    "POST /admin/v1/topics/{code}/offline": Admin(EDITOR, OPERATOR),
    "* /admin/v1/matters/{code}": Admin(CATALOG),
    "GET /admin/v1/matters/{code}": Admin(CATALOG, OPERATOR, EDITOR),
    "* /admin/v1/deliveries*": Admin(OPERATOR),
    "* /admin/v1/bundles*": Admin(CATALOG), "GET /admin/v1/bundles*": Admin(CATALOG, OPERATOR),
    "* /admin/v1/bundle-runs*": Admin(OPERATOR),
    # --- nodes: signed; an object's node only ---------------------------------------------------
    "GET /gov/v1/whoami": Node(), "POST /gov/v1/echo": Node(), "POST /gov/v1/presentations/verify": Node(),
    "POST /gov/v1/licenses": Node("issuer", Answer(403, "license_issuer_not_allowed")),
    "* /gov/v1/licenses/{license_id}*": Node("issuer", not_found("license_not_found")),
    "POST /gov/v1/license-exchanges": Node("exchanger", Answer(403, "consent_required")),
    "* /gov/v1/applications/{number}*": Node("handler", not_found("application_not_found")),
    "POST /gov/v1/housing-fund/payouts/{payout_id}/events": Node("centre", not_found("payout_not_found")),
}

# (matrix key, caller) -> why the hub does not yet answer what the matrix says: a known hole of
# issue #12 in an area another engineer owns now. strict: fixing it fails here until removed.
KNOWN_HOLES: dict[tuple[str, str], str] = {
}

NOW = "2026-11-27T10:00:00+08:00"
XIHU = "330106000000"


def _event(kind: str) -> dict:
    return {"event_id": f"authz-{uuid.uuid4().hex[:12]}", "type": kind, "occurred_at": NOW}


# What to send beyond the path (whose ids come from callers.PATH_OBJECTS): by matrix key, a function of
# the world returning any of body, content, query, headers, path (ids to name instead).
# A body left out is ``{}`` on POST/PUT/PATCH: minimal on purpose, where no object is named in it.
REQUESTS = {
    "GET /public/v1/topics": lambda w: {"query": {"channel": "wechat", "region": XIHU}},
    "GET /public/v1/topics/{code}": lambda w: {"query": {"channel": "wechat", "region": XIHU}},
    "POST /public/v1/presentations/verify": lambda w: {"body": {"token": w.objects["presentation"]}},
    "GET /public/v1/status-lists/{epoch}": lambda w: {"path": {"epoch": epoch_of(w.clock.now())}},
    "GET /{ch}/v1/me/notification-preferences": lambda w: {},
    "PUT /{ch}/v1/me/notification-preferences": lambda w: {
        "body": {"channels": {"wechat": True, "alipay": True, "app": True}, "sms_fallback": True}},
    "POST /{ch}/v1/applications": lambda w: {"body": {"matter_code": MATTER, "form": FORM}},
    "POST /{ch}/v1/applications/materials": lambda w: _upload(),
    "POST /{ch}/v1/applications/{number}/withdrawal": lambda w: {
        "path": {"number": w.objects["application_to_withdraw"]}, "body": {"reason": "不需要了"}},
    "POST /{ch}/v1/applications/{number}/resubmission": lambda w: {"body": {"form": FORM}},
    "GET /{ch}/v1/licenses/{license_id} #full": lambda w: {"query": {"full": "true"}},
    "POST /{ch}/v1/licenses/{license_id}/presentations": lambda w: {
        "body": {"fields": ["sex", "birth_date"]}},
    "POST /{ch}/v1/licenses/{license_id}/presentations #sensitive": lambda w: {
        "body": {"fields": ["id_number", "address"]}},
    "POST /{ch}/v1/license-consents": lambda w: {"body": {"consent_id": w.objects["pending_consent"]}},
    "POST /{ch}/v1/housing-fund/eligibility": lambda w: {"body": _fund(amount_fen=100)},
    "POST /{ch}/v1/housing-fund/withdrawals": lambda w: {
        "body": _fund(amount_fen=100, bank_card_no=ALICE_CARD)},
    "POST /{ch}/v1/bundles/{code}/submissions": lambda w: {"body": {"form": {}}},
    "POST /{ch}/v1/bundle-confirmations/{number}": lambda w: {"body": {"decision": "confirm"}},
    "GET /admin/v1/topics/{code}/preview": lambda w: {"query": {"channel": "wechat", "region": XIHU}},
    "DELETE /admin/v1/topics/{code}": lambda w: {"path": {"code": w.objects["doomed_topic"]}},
    "DELETE /admin/v1/matters/{code}": lambda w: {"path": {"code": RETIRED_MATTER}},
    "PATCH /admin/v1/accounts/{username}": lambda w: {"body": {"display_name": "备用账号"}},
    "POST /gov/v1/echo": lambda w: {"content": b"hello, hub"},
    "POST /gov/v1/presentations/verify": lambda w: {"body": {"token": w.objects["presentation"]}},
    "POST /gov/v1/licenses": lambda w: {"body": {
        "type": "resident_id_card", "number": f"ID-{uuid.uuid4().hex[:10]}",
        "data": example("resident_id_card", name=DAVE["name"], id_number=DAVE["id_number"])}},
    "POST /gov/v1/licenses/{license_id}/status": lambda w: {"body": {"status": "valid", "reason": "核对状态"}},
    "POST /gov/v1/license-exchanges": lambda w: {"body": {
        "type": "resident_id_card", "holder": ALICE["id_number"], "purpose": "办理业务核验身份"}},
    "POST /gov/v1/applications/{number}/events": lambda w: {"body": _event("accepted")},
    "POST /gov/v1/housing-fund/payouts/{payout_id}/events": lambda w: {"body": _event("paid")},
}


def _fund(**extra) -> dict:
    return {"kind": "renting", "centre_code": BJ, "account_no": ALICE_BJ, **extra}


def _upload() -> dict:
    content, media = multipart()
    return {"content": content, "headers": {"Content-Type": media}}


# --- the operations: the app's own, each with its entries --------------------------------------

CHANNEL = re.compile(r"^/(wx|alipay|app)/v1/")


@functools.cache
def operations() -> tuple[tuple[str, str], ...]:
    """Every (METHOD, path template) the app serves, named as its OpenAPI names them. Test cases are
    made at collection, before the hub runs, so this reads the routes of an app built for the
    purpose; test_the_matrix_covers_exactly_the_openapi holds them to /openapi.json itself."""
    app = create_app(Settings(env="test", scheduler_enabled=False, seed_demo=False, log_level="WARNING"),
                     name="govhub_authz_matrix")
    served = [route for route in app.router.routes if not route.path.startswith("docs")]  # docs: its viewer
    found = {(method, _template(route.path)) for route in served
             for method in route.methods - {"HEAD", "OPTIONS"}}
    return tuple(sorted(found, key=lambda op: (op[1], op[0])))


def _template(sanic_path: str) -> str:
    """``wx/v1/matters/<code:str>`` -> ``/wx/v1/matters/{code}``."""
    return "/" + "/".join("{" + part[1:-1].split(":")[0] + "}" if part.startswith("<") else part
                          for part in sanic_path.split("/"))


def _generic(path: str) -> str:
    return CHANNEL.sub("/{ch}/v1/", path)


def _prefix(path: str) -> str:
    found = CHANNEL.match(path)
    return found.group(1) if found else "wx"  # a citizen calling a route of no channel: with WeChat's token


def _split(key: str) -> tuple[str, str, str]:
    head, _, case = key.partition(" #")
    method, pattern = head.split(" ", 1)
    return method, pattern, case


def _closeness(key: str, method: str, path: str) -> tuple | None:
    """How closely ``key`` names the operation (the highest wins), or None if it does not."""
    wanted, pattern, _ = _split(key)
    if wanted not in ("*", method):
        return None
    for concrete, candidate in ((1, path), (0, _generic(path))):
        if pattern == candidate:
            return (1, concrete, len(pattern), wanted != "*")
        if pattern.endswith("*") and candidate.startswith(pattern[:-1]):
            return (0, concrete, len(pattern), wanted != "*")
    return None


def entries_of(method: str, path: str) -> list[str]:
    """The operation's entry (the closest key without a case name), then its named cases."""
    scored = [(score, key) for key in MATRIX if (score := _closeness(key, method, path)) is not None]
    base = sorted((score, key) for score, key in scored if not _split(key)[2])
    if not base:
        return []
    return [base[-1][1]] + [key for score, key in scored if _split(key)[2] and score[0] == 1]


def _cases() -> list:
    cases = []
    for method, path in operations():
        for key in entries_of(method, path):
            case = _split(key)[2]
            for kind in KINDS:
                hole = KNOWN_HOLES.get((key, kind))
                marks = [pytest.mark.xfail(reason=hole, strict=True)] if hole else []
                cases.append(pytest.param(key, method, path, kind, marks=marks,
                                          id=f"{method} {path}{' #' + case if case else ''} as {kind}"))
    return cases


def build_call(world, key: str, method: str, path: str, kind: str) -> Call:
    case = f" #{_split(key)[2]}" if _split(key)[2] else ""
    make = REQUESTS.get(f"{method} {path}{case}") or REQUESTS.get(f"{method} {_generic(path)}{case}")
    asked = make(world) if make else {}
    parts, named = path.split("/"), asked.get("path", {})
    for i, part in enumerate(parts):
        if part.startswith("{"):
            name = part[1:-1]
            parts[i] = str(named[name] if name in named else path_value(
                world, parts[i - 1], name, prefix=_prefix(path), kind=kind, path=path))
    minimal = {} if method in ("POST", "PUT", "PATCH") and "content" not in asked else None
    headers = {**({"Idempotency-Key": f"authz-{uuid.uuid4().hex}"} if method == "POST" else {}),
               **asked.get("headers", {})}  # a key on every POST: its absence must not answer first
    return Call(method, "/".join(parts), query=asked.get("query", {}), body=asked.get("body", minimal),
                content=asked.get("content"), headers=headers)


# --- the world, built once for the module ----------------------------------------------------

@pytest.fixture(autouse=True)
def clean_state():
    """Overrides the suite's, which empties the database before every test: the world is built once
    for this module and must outlive its tests. The world fixture empties what it needs itself."""
    yield


@pytest.fixture(scope="module")
def stub():
    with fund_stub() as running:
        yield running


@pytest.fixture(scope="module")
async def world(app, resources, stub):
    await empty_hub(resources)
    reset(stub)
    with cheap_admin_services(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50003))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield await build_world(client, app, resources, stub)
    await empty_hub(resources)




@pytest.fixture(autouse=True)
async def full_buckets(resources):
    """Every case starts with full rate-limit buckets: a 429 would hide the answer under test."""
    redis = resources.redis.aio
    if keys := [key async for key in redis.scan_iter(match="govhub:rl:*")]:
        await redis.delete(*keys)


# --- the tests -------------------------------------------------------------------------------

def test_every_operation_has_an_entry():
    missing = [f"{method} {path}" for method, path in operations() if not entries_of(method, path)]
    assert not missing, ("say who may call these: add entries to MATRIX in "
                         f"tests/api/test_authorization_matrix.py (docs/security.md): {missing}")


def test_every_entry_names_an_operation():
    used = {key for method, path in operations() for key in entries_of(method, path)}
    assert set(MATRIX) <= used, f"MATRIX entries that name no operation: {sorted(set(MATRIX) - used)}"
    served = {f"{method} {p}" for method, path in operations() for p in (path, _generic(path))}
    asked = {key.partition(" #")[0] for key in REQUESTS}
    assert asked <= served, f"REQUESTS for operations the app does not serve: {sorted(asked - served)}"
    assert {key for key, _ in KNOWN_HOLES} <= set(MATRIX) and {kind for _, kind in KNOWN_HOLES} <= set(KINDS)


async def test_the_matrix_covers_exactly_the_openapi(world):
    spec = (await world.client.get("/openapi.json")).json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert documented == set(operations())


@pytest.mark.parametrize(("key", "method", "path", "kind"), _cases())
async def test_each_caller_gets_the_answer_of_the_matrix(world, key, method, path, kind):
    rule = MATRIX[key]
    expected, call = rule.expect(kind), build_call(world, key, method, path, kind)
    owner = rule.owner if isinstance(rule, Node) else "handler"
    fresh = method == "DELETE" and path.endswith("/session")  # logging out ends the login it is sent with
    for answer in await world.send(kind, call, prefix=_prefix(path), owner=owner, fresh=fresh):
        where = (f"{method} {call.path} as {kind}: expected {expected}, "
                 f"got {answer.status_code}: {answer.text[:300]}")
        if expected is ALLOWED:
            assert answer.status_code < 300 or answer.status_code in (400, 409), where
        elif expected.code is None:
            assert answer.status_code == expected.status, where
        else:
            assert Answer(answer.status_code, _code(answer)) == expected, where


def _code(answer: httpx.Response) -> str | None:
    if "json" not in answer.headers.get("content-type", ""):
        return None
    body = answer.json()
    return body.get("code") if isinstance(body, dict) else None
