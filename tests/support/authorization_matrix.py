"""The authorization matrix (issue #12): every operation of the hub's OpenAPI x every kind of caller,
with the answer each must get. How to read it and how to add a route: docs/security.md. Its tests:
tests/api/test_authorization_matrix_coverage.py (every operation has its entry) and
tests/api/test_authorization_matrix_answers.py (every caller gets its answer).

``MATRIX`` says, per operation, who may call it; what every caller gets follows from the rule
(``expect``). ``REQUESTS`` says what to send beyond the path (whose ids name the owner's objects:
tests/support/callers.py) so that an allowed caller gets past authorization. Allowed means a 2xx,
or a 400/409 (a body kept minimal on purpose, a state that no longer allows the change): never
401, 403, 404 or 5xx. A refused caller gets exactly its answer, status and code.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from domain.licenses.rules import epoch_of
from tests.support.callers import FORM, LEVELS, MATTER, RETIRED_MATTER, ROLES, multipart
from tests.support.citizens import ALICE, DAVE
from tests.support.housing_fund import ALICE_BJ, ALICE_CARD, BJ
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
    # operators' scrape: by GOVHUB_METRICS_TOKEN or an address in GOVHUB_METRICS_NETWORKS, whose default
    # (loopback) every caller here comes from, whatever its credential; refusals: tests/api/test_metrics.py
    "GET /metrics": Public(),
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
    "* /admin/v1/search-words*": Admin(CATALOG),
    "GET /admin/v1/search-words*": Admin(CATALOG, OPERATOR, EDITOR),
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
    # --- data sharing: the issuer (bj-psb) provides, the exchanger (bj-civil) holds grants ------
    "GET /{ch}/v1/me/data-uses": Citizen(1),  # an account without real name has no uses: an empty list
    "* /gov/v1/sharing/services*": Node(),  # the catalog is every node's; publishing makes one's own
    "POST /gov/v1/sharing/services/{code}/retire": Node("issuer", not_found("data_service_not_found")),
    "* /gov/v1/sharing/grants*": Node(),  # asking, and listing one's own
    "* /gov/v1/sharing/grants/{grant_id}*": Node("issuer", Answer(403, "data_grant_party_only")),
    "POST /gov/v1/identity/verifications": Node("exchanger", Answer(403, "data_grant_required")),
    "GET /r1/*": Node("exchanger", Answer(403, "xroad_client_mismatch")),  # it names the exchanger as client
    "* /admin/v1/sharing*": Admin(OPERATOR),
    # --- health codes: a region acts through its provincial platform (the handler, zj-platform) -------
    "* /{ch}/v1/me/health*": Citizen(2),  # records are kept by ID number: real name first
    "* /gov/v1/health*": Node("handler", Answer(403, "health_issuer_only")),
    "POST /gov/v1/health/checks": Node(),  # any checkpoint's node
    "POST /gov/v1/health/records/query #pooled": Node("exchanger", Answer(403, "data_grant_required")),
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
    # search words: the world has none; a write without a body or a version is refused after the role check
    "GET /admin/v1/search-words/expansion": lambda w: {"query": {"q": "查社保缴费"}},
    "PUT /admin/v1/search-words/{word_id}": lambda w: {"path": {"word_id": 1}},
    "DELETE /admin/v1/search-words/{word_id}": lambda w: {"path": {"word_id": 1}},
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
    "GET /gov/v1/sharing/services/{provider}/{code}": lambda w: {
        "path": {"provider": w.nodes["issuer"].code, "code": "household-register-extract"}},
    "POST /gov/v1/sharing/services/{code}/retire": lambda w: {"body": {"notice_days": 30}},
    **{f"POST {area}/sharing/grants/{{grant_id}}/{step}": lambda w: {"body": {"reason": "核查异常调用"}}
       for area in ("/gov/v1", "/admin/v1") for step in ("refuse", "suspend", "revoke")},
    "POST /gov/v1/identity/verifications": lambda w: {"body": {"name": ALICE["name"], "id_number": ALICE["id_number"]}},
    "POST /gov/v1/health/keys": lambda w: {"body": {"delegate": True}},
    "POST /gov/v1/health/keys/{kid}/revoke": lambda w: {"path": {"kid": w.objects["health_kid"]}},
    "POST /gov/v1/health/records": lambda w: {"body": {"records": [{
        "record_id": f"authz-{uuid.uuid4().hex[:8]}", "id_number": ALICE["id_number"], "kind": "test",
        "occurred_at": NOW, "result": "negative"}]}},
    "POST /gov/v1/health/records/query": lambda w: {"body": {"id_number": ALICE["id_number"]}},
    "POST /gov/v1/health/records/query #pooled": lambda w: {"body": {"id_number": ALICE["id_number"],
                                                                     "scope": "pooled"}},
    "POST /gov/v1/health/rules": lambda w: {"body": {
        "identifier": "CR-330000-0002", "version": 1, "type": "colour", "logic": {"if": [False, "red", None]},
        "description": [{"lang": "zh", "desc": "授权矩阵用例"}], "valid_from": w.clock.now().isoformat(),
        "valid_until": "2036-01-01T00:00:00+00:00"}},
    "POST /gov/v1/health/rules/{identifier}/{version}/withdraw": lambda w: {
        "path": {"identifier": w.objects["health_rule"], "version": 1}},
    "POST /gov/v1/health/revocations": lambda w: {"body": {"credential_ids": ["URN:HC:330000:unknown"]}},
    "GET /r1/{instance}/{member_class}/{member_code}/{subsystem}/{service_code}/{rest}": lambda w: {
        "path": {"instance": "CN", "member_class": "GOV", "member_code": w.nodes["issuer"].code,
                 "subsystem": "psb-data", "service_code": "household-register-extract", "rest": "extract"},
        "query": {"id_number": ALICE["id_number"]},
        "headers": {"X-Road-Client": f"CN/GOV/{w.nodes['exchanger'].code}/case-system"}},
}


def _fund(**extra) -> dict:
    return {"kind": "renting", "centre_code": BJ, "account_no": ALICE_BJ, **extra}


def _upload() -> dict:
    content, media = multipart()
    return {"content": content, "headers": {"Content-Type": media}}
