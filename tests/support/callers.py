"""Who calls the hub, for the authorization matrix (tests/support/authorization_matrix.py), and the
small world of owned objects they call about.

The world is alice's (the owner): an application handled by zj-platform with an uploaded material,
her resident ID card issued by bj-psb, consents (one standing, for bj-civil), a submitted fund
withdrawal the Beijing centre pays, a face session per channel, a bundle run of her own and the
confirmation she owes bob's newborn bundle. bob is a guardian: his ward's household register is
listed in his wallet. carol is another citizen at L3 who owns nothing; dave logged in and never
gave his real name (L1). Admins hold one role each; one was disabled, one logged out. Every node
is registered with its own key; ``stranger`` owns nothing.

Everything is made through the hub's own routes and services, as the journeys make it, and every
call is a real request through the in-process app. Signatures take their time from the hub's clock.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from adapters.departments.stub.licenses import license_request
from domain.bundles.demo import seed_bundles
from domain.delivery.models import Delivery
from domain.housing_fund.models import Withdrawal
from domain.identity.models import Person
from domain.nodes import signatures
from tests.support.admins import PASSWORD, TESTER, make_admin
from tests.support.applications import JPEG, TestNode, matter, register_node
from tests.support.bundles import NEWBORN_FORM
from tests.support.citizens import ALICE, BOB, CAROL, bearer
from tests.support.clock import suite_clock
from tests.support.housing_fund import ALICE_BJ, ALICE_CARD, BJ, private_key, register_centres
from tests.support.licenses import department, example
from tests.support.topics import topic_values

PREFIXES = {"wx": "wechat", "alipay": "alipay", "app": "app"}  # route prefix -> channel
CITIZENS = ("L1", "L2", "L3", "other_citizen", "guardian", "other_channel")
ADMINS = ("topic_editor", "catalog_admin", "operator", "disabled_admin", "logged_out_admin")
ROLES = ("topic_editor", "catalog_admin", "operator")  # domain/admin/rules.py: one admin each
NODES = ("owning_node", "other_node")
KINDS = ("anonymous", *CITIZENS, *ADMINS, *NODES)
LEVELS = {"L1": 1, "L2": 2, "L3": 3, "other_citizen": 3, "guardian": 3}  # L2 and L3 are alice
DEVICE = "authz-device"

MATTER = "330100-NAT-0031"  # plain: no material required, handled by zj-platform (the province's)
RETIRED_MATTER = "330100-NAT-0032"  # the one DELETE /admin/v1/matters/{code} retires
FORM = {"amount_fen": 1200, "bank_account": "6222020000000000001"}
OPTIONAL_MATERIAL = [{"name": "补充材料", "license_type": None, "required": False}]
WARD = {"child_name": "王小宝", "child_sex": "男", "birth_date": "2026-10-02", "birth_place": "西湖区妇幼保健院",
        "mother_name": BOB["name"], "mother_id_number": BOB["id_number"], "certificate_number": "N3301060042",
        "household_address": "浙江省杭州市西湖区文三路2号"}


@dataclass
class Call:
    """One request, before a caller's credentials are added."""
    method: str
    path: str
    query: dict = field(default_factory=dict)
    body: dict | None = None
    content: bytes | None = None
    headers: dict = field(default_factory=dict)


@dataclass
class World:
    client: httpx.AsyncClient
    app: object
    resources: object
    people: dict[str, str] = field(default_factory=dict)  # caller kind -> person public id
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, prefix) -> access token
    admin_tokens: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, TestNode] = field(default_factory=dict)  # role -> node
    objects: dict[str, str] = field(default_factory=dict)  # name -> id (alice's unless said)
    face_sessions: dict[str, str] = field(default_factory=dict)  # prefix -> alice's face session

    @property
    def clock(self):
        return self.resources.clock

    async def send(self, kind: str, call: Call, *, prefix: str, owner: str = "handler",
                   fresh: bool = False) -> list[httpx.Response]:
        """``call`` made by a caller of ``kind``: a citizen with their token for the route's channel
        (``prefix``), a node signing as ``owner`` (a node role) or as the stranger. ``fresh``: a new
        login first (for logout routes, which end the login they are called with)."""
        if kind == "anonymous":
            return [await self._request(call, {})]
        if kind == "other_channel":  # alice's L3 tokens of the other channels
            return [await self._request(call, self.citizen(self.tokens[("L3", other)]))
                    for other in PREFIXES if other != prefix]
        if kind in LEVELS:
            token = (await self.citizen_token(kind, prefix) if fresh else self.tokens[(kind, prefix)])
            return [await self._request(call, self.citizen(token))]
        if kind in ADMINS:
            token = await self.admin_token(kind) if fresh and kind in ROLES else self.admin_tokens[kind]
            return [await self._request(call, {"Authorization": f"Bearer {token}"})]
        node = self.nodes[owner if kind == "owning_node" else "stranger"]
        return [await self._request(call, {}, node=node)]

    async def signed(self, role: str, method: str, path: str, body: dict | None = None) -> httpx.Response:
        return await self._request(Call(method, path, body=body), {}, node=self.nodes[role])

    async def citizen_token(self, kind: str, prefix: str) -> str:
        person = await Person.get(public_id=self.people[kind])
        issued = await self.resources.tokens.issue(person=person, channel=PREFIXES[prefix],
                                                               assurance=LEVELS[kind], device_id=DEVICE)
        return issued.access_token

    async def admin_token(self, username: str) -> str:
        return (await self.app.ctx.admin_sessions.login(username=username, password=PASSWORD)).token

    @staticmethod
    def citizen(token: str) -> dict:
        return {**bearer({"access_token": token}), "X-Device-Id": DEVICE}

    async def _request(self, call: Call, credentials: dict, *,
                       node: TestNode | None = None) -> httpx.Response:
        raw = call.content if call.content is not None else (
            json.dumps(call.body, ensure_ascii=False).encode() if call.body is not None else b"")
        headers = {**({"Content-Type": "application/json"} if call.body is not None else {}), **call.headers,
                   **credentials}
        request = self.client.build_request(call.method, call.path, params=call.query, content=raw,
                                            headers=headers)
        if node is not None:  # signed exactly as sent: the raw path and query
            target, _, query = request.url.raw_path.decode().partition("?")
            request.headers.update(signatures.signed_headers(
                private_key=node.key, node=node.code, method=call.method, path=target, query_string=query,
                body=raw, timestamp=int(self.clock.now().timestamp())))
        return await self.client.send(request)


def multipart(data: bytes = JPEG, filename: str = "scan.jpg") -> tuple[bytes, str]:
    """One file in field ``file``, as wx.uploadFile sends it: (body, content type)."""
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n")
    body = head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# --- what a path names -----------------------------------------------------------------------

# The object a path parameter names, by the segment before it: the owner's (alice's) unless said.
PATH_OBJECTS = {
    ("applications", "number"): "application", ("materials", "material_id"): "material",
    ("licenses", "license_id"): "license", ("license-consents", "consent_id"): "revocable_consent",
    ("withdrawals", "withdrawal_id"): "withdrawal", ("payouts", "payout_id"): "payout",
    ("bundle-runs", "number"): "bundle_run", ("bundle-confirmations", "number"): "bundle_confirmation",
    ("deliveries", "delivery_id"): "delivery", ("grants", "grant_id"): "grant",
}
PATH_VALUES = {("matters", "code"): MATTER, ("bundles", "code"): "newborn",
               ("regions", "code"): "330106000000", ("accounts", "username"): "spare",
               ("services", "code"): "household-register-extract"}


def path_value(world: World, segment: str, name: str, *, prefix: str, kind: str, path: str) -> str:
    if (segment, name) == ("licenses", "license_id") and kind == "guardian":
        return world.objects["ward_license"]  # a guardian names the ward's license: listed, never opened
    if (segment, name) == ("face-verifications", "session_id"):
        return world.face_sessions[prefix]
    if (segment, name) == ("topics", "code"):
        return world.objects["live_topic" if path.startswith("/public/") else "draft_topic"]
    if (segment, name) in PATH_OBJECTS:
        return world.objects[PATH_OBJECTS[(segment, name)]]
    if (segment, name) in PATH_VALUES:
        return PATH_VALUES[(segment, name)]
    raise LookupError(f"{path}: say in tests/support/callers.py PATH_OBJECTS which object {{{name}}} names")


# --- the world -----------------------------------------------------------------------------

async def build_world(client: httpx.AsyncClient, app, resources, stub) -> World:
    world = World(client=client, app=app, resources=resources)
    services = resources
    await services.regions.seed_regions()
    await _nodes(world, stub)
    await _people(world)
    await _admins(world)
    civil = ("330100000000", "330100-civil_affairs")  # no node of its own: zj-platform handles it
    report = await services.catalog.upsert([
        matter(MATTER, *civil, catalog_code="NAT-0031", materials=OPTIONAL_MATERIAL),
        matter(RETIRED_MATTER, *civil, catalog_code="NAT-0032", materials=[])])
    assert not report.rejected, report.rejected
    await seed_bundles(services.bundles, services.catalog, services.seals)
    await _licenses(world)
    await _consents(world)
    await _applications(world)
    await _withdrawal(world)
    await _bundles(world)
    await _topics(world)
    await _sharing(world, stub)
    await _health(world)
    for prefix, channel in PREFIXES.items():
        started = await services.identity.start_face(person_id=world.people["L2"], channel=channel)
        world.face_sessions[prefix] = started.id
    world.objects["delivery"] = str((await Delivery.all().order_by("id").first()).id)
    return world


async def _nodes(world: World, stub) -> None:
    """zj-platform handles Zhejiang's applications (and holds the demo bundles' seals), bj-psb
    issues ID cards, zj-health birth certificates, bj-civil holds alice's standing consent, the
    Beijing fund centre pays her withdrawal; the stranger is a node like any other."""
    resources = world.resources
    world.nodes["handler"] = await register_node(resources, "zj-platform", "province", "330000000000")
    psb = await department(resources)
    health = await department(resources, node="zj-health", department_code="330106-health", kind="health")
    world.nodes |= {"issuer": TestNode(psb.node, psb.key), "health": TestNode(health.node, health.key)}
    world.nodes["exchanger"] = await register_node(resources, "bj-civil", "department", "110000000000")
    world.nodes["stranger"] = await register_node(resources, "sh-stranger", "department", "310000000000")
    await register_centres(resources, stub)
    world.nodes["centre"] = TestNode(BJ, signatures.load_private_key(private_key(BJ)))


async def _people(world: World) -> None:
    identity = world.resources.identity
    for kind, who in (("L2", ALICE), ("other_citizen", CAROL), ("guardian", BOB)):
        public_id = f"p_{kind.lower()}_{uuid.uuid4().hex[:8]}"
        await Person.create(public_id=public_id, assurance=1)
        await identity.verify_real_name(person_id=public_id, channel="app", name=who["name"],
                                        id_number=who["id_number"])
        # a fresh face scan on record, as the L3 tokens below claim
        await Person.filter(public_id=public_id).update(face_verified_at=world.clock.now())
        world.people[kind] = public_id
    world.people["L3"] = world.people["L2"]
    never_named = await Person.create(public_id=f"p_l1_{uuid.uuid4().hex[:8]}", assurance=1)
    world.people["L1"] = never_named.public_id
    for kind in LEVELS:
        for prefix in PREFIXES:
            world.tokens[(kind, prefix)] = await world.citizen_token(kind, prefix)


async def _admins(world: World) -> None:
    """One admin per role (named after it), a spare account to change, a disabled and a logged-out one."""
    accounts, sessions = world.app.ctx.admin_accounts, world.app.ctx.admin_sessions
    for role in ROLES:
        await make_admin(accounts, role, role)
        world.admin_tokens[role] = await world.admin_token(role)
    await make_admin(accounts, "spare", "topic_editor")
    for kind in ("disabled_admin", "logged_out_admin"):
        await make_admin(accounts, kind.replace("_", "."), *ROLES)
        world.admin_tokens[kind] = await world.admin_token(kind.replace("_", "."))
    await accounts.update(actor=TESTER, username="disabled.admin", status="disabled")
    await sessions.logout(principal=await sessions.authenticate(world.admin_tokens["logged_out_admin"]))


async def _licenses(world: World) -> None:
    """alice's ID card and a presentation of it; bob's child's birth certificate and household
    register (a ward's license, in bob's wallet list)."""
    card = await world.signed("issuer", "POST", "/gov/v1/licenses", {
        "type": "resident_id_card", "number": "ID-AUTHZ-1", "data": example("resident_id_card")})
    assert card.status_code == 201, card.text
    world.objects["license"] = card.json()["id"]
    for step, role in (("BDL-0001", "health"), ("BDL-0002", "issuer")):
        call = license_request({"matter_code": f"330106-{step}", "form": WARD,
                                "number": f"330106-20261127-9-{step}"}, suite_clock.today().isoformat())
        issued = await world.signed(role, "POST", "/gov/v1/licenses", call["body"])
        assert issued.status_code == 201, issued.text
    guardian = world.citizen(world.tokens[("guardian", "wx")])
    owner = world.citizen(world.tokens[("L2", "wx")])
    listed = await world.client.get("/wx/v1/licenses", headers=guardian)
    assert listed.status_code == 200, listed.text
    [ward] = [item for item in listed.json()["items"] if item["held_by"] == "minor"]
    world.objects["ward_license"] = ward["id"]
    shown = await world.client.post(f"/wx/v1/licenses/{world.objects['license']}/presentations",
                                    json={"fields": ["sex"]}, headers=owner)
    assert shown.status_code == 201, shown.text
    world.objects["presentation"] = shown.json()["token"]


async def _consents(world: World) -> None:
    """Standing consents to bj-civil (never revoked: the exchange's owner) and to zj-health (the one
    DELETE revokes); a request the fund centre filed (granting it opens nothing to the stranger)."""
    exchange = world.resources.license_exchange
    for name, role in (("standing_consent", "exchanger"), ("revocable_consent", "health")):
        given = await exchange.grant(person_id=world.people["L2"], assurance=3, department=world.nodes[role].code,
                                     type_code="resident_id_card", purpose="授权矩阵测试", kind="standing", days=30)
        world.objects[name] = given.id
    asked = await world.signed("centre", "POST", "/gov/v1/license-exchanges", {
        "type": "resident_id_card", "holder": ALICE["id_number"], "purpose": "核验身份"})
    assert asked.status_code == 403, asked.text
    world.objects["pending_consent"] = asked.json()["consent_request"]


async def _applications(world: World) -> None:
    owner = world.citizen(world.tokens[("L2", "wx")])
    content, media = multipart()
    uploaded = await world.client.post("/wx/v1/applications/materials", content=content,
                                       headers={**owner, "Content-Type": media})
    assert uploaded.status_code == 201, uploaded.text
    world.objects["material"] = uploaded.json()["id"]
    for name, materials in (("application", [{"name": "补充材料", "upload_id": uploaded.json()["id"]}]),
                            ("application_to_withdraw", [])):
        made = await world.client.post("/wx/v1/applications", json={"matter_code": MATTER, "form": FORM,
                                                                     "materials": materials},
                                       headers={**owner, "Idempotency-Key": f"authz-{name}"})
        assert made.status_code == 201, made.text
        world.objects[name] = made.json()["number"]


async def _withdrawal(world: World) -> None:
    """alice's renting withdrawal from her Beijing account, face-scanned and submitted: a payout."""
    owner = world.citizen(world.tokens[("L2", "wx")])
    started = await world.client.post("/wx/v1/housing-fund/withdrawals", headers=owner, json={
        "kind": "renting", "centre_code": BJ, "account_no": ALICE_BJ, "amount_fen": 150_000,
        "bank_card_no": ALICE_CARD})
    assert started.status_code == 201, started.text
    scanned = await world.client.get(started.json()["face"]["result"], headers=owner)
    assert scanned.status_code == 200 and scanned.json()["passed"], scanned.text
    withdrawal = started.json()["withdrawal"]["id"]
    submitted = await world.client.post(
        f"/wx/v1/housing-fund/withdrawals/{withdrawal}/submission",
        headers={**world.citizen(scanned.json()["session"]["access_token"]), "Idempotency-Key": "authz-fund"})
    assert submitted.status_code == 200, submitted.text
    world.objects["withdrawal"] = withdrawal
    world.objects["payout"] = (await Withdrawal.get(public_id=withdrawal)).payout_id


async def _bundles(world: World) -> None:
    """alice's own newborn bundle (bob confirms it) and bob's, which waits for alice's confirmation."""
    bundles = world.resources.bundles
    for kind, name in (("L2", "bundle_run"), ("guardian", "bundle_confirmation")):
        made = await bundles.submit(person_id=world.people[kind], channel="wechat", code="newborn",
                                    form={**NEWBORN_FORM, "certificate_number": f"Q3301062026-{name}"},
                                    optional_steps=[], idempotency_key=f"authz-{name}")
        world.objects[name] = made.run.number


async def _topics(world: World) -> None:
    topics = world.app.ctx.topics
    for code in ("authz-draft", "authz-doomed", "authz-live"):
        await topics.create(actor=TESTER, **topic_values(code))
    await topics.publish(actor=TESTER, code="authz-live")
    topics.invalidate()
    world.objects |= {"draft_topic": "authz-draft", "doomed_topic": "authz-doomed",
                      "live_topic": "authz-live"}


async def _sharing(world: World, stub) -> None:
    """bj-psb (the issuer) provides its household extract, played by the stub; bj-civil (the
    exchanger) holds a grant for it and one for the hub's identity verification, and has asked for
    another (``grant``, undecided: the one the grant routes are called about)."""
    from adapters.departments.stub.data_services import definition
    from domain.sharing.service import Approval, GrantRequest, Party

    sharing, psb = world.resources.sharing, world.nodes["issuer"].code
    await world.resources.nodes.set_endpoint(code=psb, endpoint_url=stub.endpoint(psb))
    household = {k: v for k, v in definition("household-register-extract").items() if k != "provider"}
    await sharing.catalog.publish(provider=psb, description=household)

    async def asked(provider: str, service: str, fields: tuple[str, ...]):
        return await sharing.grants.request(consumer=world.nodes["exchanger"].code, asked=GrantRequest(
            provider=provider, service_code=service, fields=fields, purpose="核实申请人身份与户籍",
            legal_basis="《政务服务数据共享管理办法》", expected_daily_calls=100))

    held = await asked(psb, household["code"], ("name", "sex"))
    await sharing.grants.approve(party=Party(node=psb), grant_id=held.id, approval=Approval(quota_per_minute=60_000))
    for service, fields in (("identity-verification", ("result",)), ("health-records", ("test",))):
        hub_service = await asked("govhub", service, fields)
        await sharing.grants.approve(party=Party(operator="operator"), grant_id=hub_service.id,
                                     approval=Approval(quota_per_minute=60_000))
    world.objects["grant"] = (await asked(psb, household["code"], ("name",))).id


async def _health(world: World) -> None:
    """zj-platform (the handler, Zhejiang's provincial platform) delegated a signing key and published
    a making rule: the key revoked and the rule withdrawn in the calls about them."""
    from domain.health.rulebook import RuleDraft

    health, zj = world.resources.health, world.resources.nodes
    node = await zj.get(world.nodes["handler"].code)
    key = await health.delegate_key(node, alg="ES256", credential_types=["health_code"], valid_days=30)
    world.objects["health_kid"] = key.kid
    now = world.resources.clock.now()
    await health.publish_rule(node, RuleDraft(
        identifier="CR-330000-0001", version=1, type="colour", logic={"if": [False, "red", None]},
        description=[{"lang": "zh", "desc": "授权矩阵用例"}], valid_from=now, valid_until=now + timedelta(days=30),
        affected_fields=[]))
    world.objects["health_rule"] = "CR-330000-0001"
