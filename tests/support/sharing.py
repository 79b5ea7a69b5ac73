"""Data sharing test data: a time-stamping authority in-process (real RFC 3161 tokens, no HTTP),
real-name citizens the hub knows by ID number, and a small service description."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.timestamping.authority import TimeStampAuthority
from adapters.timestamping.verify import TsaVerifier
from domain.identity.models import Person
from domain.identity.people import ID_NUMBER, NAME
from domain.shared.errors import UpstreamUnavailable
from domain.shared.values import IdNumber
from tests.support.mock_server import REPO_ROOT

DEVKEYS = REPO_ROOT / "devkeys"
TSA_CERT = (DEVKEYS / "tsa_cert.pem").read_bytes()


class InProcessStamper:
    """The stub authority's own tokens, without its HTTP server; ``down`` makes it refuse."""

    def __init__(self, clock) -> None:
        self.authority = TimeStampAuthority.from_files(private_key=DEVKEYS / "tsa_private.pem",
                                                       certificate=DEVKEYS / "tsa_cert.pem", clock=clock)
        self.down = False
        self.stamped = 0

    async def stamp(self, digest: bytes) -> bytes:
        if self.down:
            raise UpstreamUnavailable("time-stamping authority down (test)", system="tsa:test")
        self.stamped += 1
        return self.authority.token(digest)


def verifier() -> TsaVerifier:
    return TsaVerifier(TSA_CERT)


async def real_name_citizen(vault, public_id: str, name: str, id_number: str) -> str:
    number = IdNumber.parse(id_number)
    await Person.create(public_id=public_id, assurance=2, name_sealed=vault.seal(name, context=NAME),
                        id_number_sealed=vault.seal(number.value, context=ID_NUMBER),
                        id_number_hash=vault.lookup_hash(number.value, context=ID_NUMBER),
                        id_number_masked=number.masked, real_name_verified_at=datetime(2026, 1, 1, tzinfo=UTC))
    return public_id


HOUSEHOLD = {
    "code": "household-register-extract", "subsystem": "population", "title": "户籍信息摘要",
    "description": "按公民身份号码返回户籍登记摘要", "owner_department": "北京市公安局",
    "fields": [{"name": "name", "title": "姓名", "classification": "personal", "source": "全国人口基础信息库"},
               {"name": "sex", "title": "性别", "classification": "personal", "source": "全国人口基础信息库"},
               {"name": "household_address", "title": "户籍地址", "classification": "sensitive",
                "source": "全国人口基础信息库"},
               {"name": "police_station", "title": "登记派出所", "classification": "public", "source": "户籍系统"}],
    "operations": [{"method": "GET", "path": "/extract"}],
    "subject": {"in": "query", "name": "id_number"},
    "openapi": {"openapi": "3.0.3", "info": {"title": "户籍信息摘要", "version": "1"}, "paths": {}},
}


def later(clock, **delta) -> None:
    """Move a FrozenClock on."""
    clock.advance(timedelta(**delta).total_seconds())


# --- the exchange over real HTTP: the department stub as providers, a court as consumer ----------

PROVIDERS = ("bj-psb", "bj-hrss", "bj-amr")
HOUSEHOLD_ID = "CN/GOV/bj-psb/psb-data/household-register-extract"
BUSINESS_ID = "CN/GOV/bj-amr/amr-data/business-registration"


def provider_stub():
    """The department stub playing the three demo providers (a context manager)."""
    from adapters.departments.stub.server import DEMO_NODE_KEYS
    from tests.support.department_stub import running_stub

    return running_stub(review=False, nodes={code: DEVKEYS / DEMO_NODE_KEYS[code] for code in PROVIDERS})


async def publish_providers(resources, stub) -> None:
    """The providers registered with their stub endpoints, their services published (as the seed does)."""
    from adapters.departments.stub.data_services import SERVICE_DEFINITIONS
    from domain.nodes import signatures

    for code in PROVIDERS:
        key = signatures.load_private_key((DEVKEYS / f"demo_node_beijing_{code.split('-')[1]}_private.pem").read_bytes())
        await resources.nodes.register(code=code, kind="department", name=f"北京 {code}", region_code="110000000000",
                                       public_key_pem=signatures.public_key_pem(key.public_key()),
                                       endpoint_url=stub.endpoint(code))
    for definition in SERVICE_DEFINITIONS:
        await resources.sharing.catalog.publish(
            provider=definition["provider"], description={k: v for k, v in definition.items() if k != "provider"})


def log_record(n: int, at: datetime):
    """A message-log record of a court's call to the household extract, ``n``-th of a series."""
    from domain.sharing.message_log import Record, digest

    return Record(kind="exchange", message_id=f"m-{n}", request_id=f"r-{n:04d}", client="CN/GOV/bj-court",
                  service="CN/GOV/bj-psb/psb-data/household-register-extract", grant_id="G1", consumer="bj-court",
                  provider="bj-psb", user_id="CN110101198001010011", issue=f"(2026)京0105民初{n}号",
                  subject_hash="ab" * 32, method="GET",
                  path="/r1/CN/GOV/bj-psb/psb-data/household-register-extract/extract", fields_returned=("name",),
                  request_in_at=at, request_out_at=at + timedelta(milliseconds=1),
                  response_in_at=at + timedelta(milliseconds=20, microseconds=7),
                  response_out_at=at + timedelta(milliseconds=21), request_bytes=0, response_bytes=18,
                  request_digest=digest(b""), response_digest=digest(b'{"name":"x"}'), request_hash="h", status=200,
                  fault=None)
