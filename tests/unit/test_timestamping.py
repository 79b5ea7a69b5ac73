"""RFC 3161 time-stamping (adapters/timestamping): the authority, its tokens checked by TsaVerifier
and by ``openssl ts -verify``, rejections of bad requests, and the HTTP client against the
install()ed endpoint. Time is a frozen clock, never the wall's (openssl is told it with -attime)."""
from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sanic import Sanic

from adapters.timestamping.authority import POLICY_OID, TimeStampAuthority, TimeStampResp
from adapters.timestamping.client import TsaClient, build_request
from adapters.timestamping.server import install
from adapters.timestamping.verify import TsaVerifier
from domain.shared.clock import FrozenClock
from domain.shared.errors import UpstreamUnavailable
from tests.conftest import serving

DEVKEYS = Path(__file__).resolve().parents[2] / "devkeys"
TSA_KEY = DEVKEYS / "tsa_private.pem"
TSA_CERT = DEVKEYS / "tsa_cert.pem"
AT = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
DIGEST = hashlib.sha256(b"message-log entry 1").digest()
OTHER_DIGEST = hashlib.sha256(b"message-log entry 2").digest()
URL = "http://tsa.test/tsa"


@pytest.fixture(scope="module")
def authority() -> TimeStampAuthority:
    return TimeStampAuthority.from_files(private_key=TSA_KEY, certificate=TSA_CERT, clock=FrozenClock(AT))


@pytest.fixture(scope="module")
def verifier() -> TsaVerifier:
    return TsaVerifier.from_file(TSA_CERT, policy=POLICY_OID)


def _impostor() -> tuple[bytes, bytes]:
    """Another key with a certificate that copies the trusted one's name, serial and extensions."""
    trusted = x509.load_pem_x509_certificate(TSA_CERT.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(trusted.subject).issuer_name(trusted.issuer)
               .public_key(key.public_key()).serial_number(trusted.serial_number)
               .not_valid_before(trusted.not_valid_before_utc).not_valid_after(trusted.not_valid_after_utc))
    for extension in trusted.extensions:
        if not isinstance(extension.value, (x509.SubjectKeyIdentifier, x509.AuthorityKeyIdentifier)):
            builder = builder.add_extension(extension.value, critical=extension.critical)
    certificate = builder.sign(key, hashes.SHA256())
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
            certificate.public_bytes(serialization.Encoding.PEM))


def _reply(der: bytes) -> TimeStampResp:
    return TimeStampResp.load(der)


def _tst_info(token: bytes) -> tsp.TSTInfo:
    encapsulated = cms.ContentInfo.load(token)["content"]["encap_content_info"]
    return tsp.TSTInfo.load(bytes(encapsulated["content"]))


# --- the authority and the verifier -----------------------------------------------------------


def test_a_token_verifies_and_tells_the_clocks_time(authority, verifier):
    token = authority.token(DIGEST, nonce=7)
    gen_time = verifier.verify(token, DIGEST)
    assert gen_time == AT and gen_time.tzinfo is not None and gen_time.utcoffset().total_seconds() == 0
    info = _tst_info(token)
    assert info["policy"].dotted == POLICY_OID and info["nonce"].native == 7
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"


def test_a_token_without_the_certificate_verifies_too(authority, verifier):
    token = authority.token(DIGEST, include_certificate=False)
    assert cms.ContentInfo.load(token)["content"]["certificates"].native is None
    assert verifier.verify(token, DIGEST) == AT


def test_a_token_over_another_digest_is_refused(authority, verifier):
    with pytest.raises(ValueError, match="another digest"):
        verifier.verify(authority.token(DIGEST), OTHER_DIGEST)


def test_every_changed_byte_of_a_token_is_refused(authority, verifier):
    token = authority.token(DIGEST, nonce=7)
    for at in range(len(token)):
        changed = bytearray(token)
        changed[at] ^= 0x01
        with pytest.raises(ValueError):
            verifier.verify(bytes(changed), DIGEST)
            pytest.fail(f"a token changed at byte {at} still verified")


@pytest.mark.parametrize("junk", [b"", b"\x30\x00", b"not a token", b"\x30\x82\xff\xff" + b"\x00" * 8])
def test_junk_is_refused_with_a_value_error(verifier, junk):
    with pytest.raises(ValueError, match="not a time-stamp token"):
        verifier.verify(junk, DIGEST)


def test_a_token_signed_by_another_key_is_refused(verifier):
    key_pem, cert_pem = _impostor()  # same name, serial and extensions as the trusted certificate
    impostor = TimeStampAuthority(private_key_pem=key_pem, certificate_pem=cert_pem, clock=FrozenClock(AT))
    token = impostor.token(DIGEST)
    assert TsaVerifier(cert_pem).verify(token, DIGEST) == AT  # a good token, of another TSA
    with pytest.raises(ValueError, match="another certificate"):
        verifier.verify(token, DIGEST)


def test_the_key_and_certificate_must_belong_together():
    key_pem, _ = _impostor()
    with pytest.raises(ValueError, match="not the private key's"):
        TimeStampAuthority(private_key_pem=key_pem, certificate_pem=TSA_CERT.read_bytes(),
                           clock=FrozenClock(AT))


def test_a_verifier_wants_a_time_stamping_certificate():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "not a TSA")])
    plain = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
             .serial_number(1).not_valid_before(datetime(2025, 1, 1)).not_valid_after(datetime(2045, 1, 1))
             .sign(key, hashes.SHA256()))
    with pytest.raises(ValueError, match="timeStamping"):
        TsaVerifier(plain.public_bytes(serialization.Encoding.PEM))


def test_a_granted_answer_echoes_the_request(authority, verifier):
    first = _reply(authority.respond(build_request(DIGEST, nonce=2**64 - 1)))
    second = _reply(authority.respond(build_request(DIGEST, nonce=None)))
    assert first["status"]["status"].native == "granted"
    token = first["time_stamp_token"].dump()
    assert verifier.verify(token, DIGEST) == AT
    info = _tst_info(token)
    assert info["nonce"].native == 2**64 - 1
    assert _tst_info(second["time_stamp_token"].dump())["nonce"].native is None  # none asked, none echoed
    other = _tst_info(second["time_stamp_token"].dump())
    assert info["serial_number"].native != other["serial_number"].native
    assert len(cms.ContentInfo.load(token)["content"]["certificates"]) == 1  # certReq: the TSA certificate


def test_without_cert_req_the_token_carries_no_certificate(authority):
    request = tsp.TimeStampReq({"version": "v1", "message_imprint": {
        "hash_algorithm": {"algorithm": "sha256"}, "hashed_message": DIGEST}}).dump()
    token = _reply(authority.respond(request))["time_stamp_token"]
    assert token["content"]["certificates"].native is None


def _request(**changes) -> bytes:
    fields = {"version": "v1", "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                                                   "hashed_message": DIGEST}, "nonce": 5, "cert_req": True}
    fields.update(changes)
    return tsp.TimeStampReq(fields).dump()


@pytest.mark.parametrize("request_der, fail_info", [
    (b"", "bad_data_format"),
    (b"GET / HTTP/1.1\r\n", "bad_data_format"),
    (_request() + b"\x00", "bad_data_format"),  # trailing bytes
    (_request()[:-3], "bad_data_format"),  # cut short
    (_request(message_imprint={"hash_algorithm": {"algorithm": "sha1"},
                               "hashed_message": hashlib.sha1(b"x").digest()}), "bad_alg"),
    (_request(message_imprint={"hash_algorithm": {"algorithm": "sha512"},
                               "hashed_message": hashlib.sha512(b"x").digest()}), "bad_alg"),
    (_request(message_imprint={"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": DIGEST[:31]}),
     "bad_data_format"),
    (_request(message_imprint={"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": DIGEST + b"\0"}),
     "bad_data_format"),
    (_request(version="v2"), "bad_request"),
    (_request(req_policy="1.2.3.4"), "unaccepted_policy"),
    (_request(extensions=[{"extn_id": "1.2.3.4", "extn_value": b"x"}]), "unaccepted_extensions"),
])
def test_a_bad_request_gets_a_rejection_with_its_fail_info(authority, request_der, fail_info):
    reply = _reply(authority.respond(request_der))
    assert reply["status"]["status"].native == "rejection"
    assert reply["status"]["fail_info"].native == {fail_info}
    assert reply["status"]["status_string"].native  # says why
    assert reply["time_stamp_token"].native is None


def test_our_own_policy_may_be_asked_for(authority):
    assert _reply(authority.respond(_request(req_policy=POLICY_OID)))["status"]["status"].native == "granted"


# --- over HTTP: the endpoint and the client -----------------------------------------------------


@pytest.fixture(scope="module")
async def tsa_app(authority):
    app = Sanic("govhub_tsa_test", configure_logging=False)
    app.config.TOUCHUP = False  # Sanic rewrites its class methods once per process: leave that to the hub
    install(app, authority)
    async with serving(app) as served:
        yield served


@pytest.fixture
async def http(tsa_app):
    transport = httpx.ASGITransport(app=tsa_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tsa.test") as client:
        yield client


async def test_the_client_gets_a_token_that_verifies(http, verifier):
    stamper = TsaClient(url=URL, client=http, verifier=verifier)
    token = await stamper.stamp(DIGEST)
    await stamper.aclose()  # not its client: still open
    assert verifier.verify(token, DIGEST) == AT
    assert not http.is_closed


async def test_the_endpoint_answers_a_timestamp_reply(http):
    response = await http.post("/tsa", content=build_request(DIGEST, 9),
                               headers={"Content-Type": "application/timestamp-query"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/timestamp-reply"
    assert _reply(response.content)["status"]["status"].native == "granted"


async def test_a_bad_query_is_a_rejection_not_an_http_error(http):
    response = await http.post("/tsa", content=b"\x30\x03\x02\x01\x01",
                               headers={"Content-Type": "application/timestamp-query"})
    assert response.status_code == 200
    assert _reply(response.content)["status"]["fail_info"].native == {"bad_data_format"}


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "application/json",
                                          "application/timestamp-reply"])
async def test_another_content_type_is_415(http, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = await http.post("/tsa", content=build_request(DIGEST, 9), headers=headers)
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_oversized_query_is_413(http):
    response = await http.post("/tsa", content=b"\x30" * 5000,
                               headers={"Content-Type": "application/timestamp-query; charset=binary"})
    assert response.status_code == 413


class _Answering:
    """A transport answering with ``answer(request body) -> httpx.Response``, counting calls."""

    def __init__(self, answer) -> None:
        self.calls = 0
        self._answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return self._answer(request.content)


def _granted(der: bytes) -> httpx.Response:
    return httpx.Response(200, content=der, headers={"Content-Type": "application/timestamp-reply"})


async def _stamp_through(handler) -> bytes:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return await TsaClient(url=URL, client=client, retry_delay=0).stamp(DIGEST)


async def test_a_token_with_another_nonce_is_refused(authority):
    def replay(body: bytes) -> httpx.Response:
        asked = tsp.TimeStampReq.load(body)
        return _granted(authority.respond(build_request(DIGEST, asked["nonce"].native + 1)))

    with pytest.raises(UpstreamUnavailable) as refused:
        await _stamp_through(_Answering(replay))
    assert refused.value.upstream_code == "nonce_mismatch"


async def test_a_token_over_another_digest_is_refused_by_the_client(authority):
    def elsewhere(body: bytes) -> httpx.Response:
        asked = tsp.TimeStampReq.load(body)
        return _granted(authority.respond(build_request(OTHER_DIGEST, asked["nonce"].native)))

    with pytest.raises(UpstreamUnavailable) as refused:
        await _stamp_through(_Answering(elsewhere))
    assert refused.value.upstream_code == "imprint_mismatch"


async def test_a_token_that_does_not_verify_is_refused_by_the_client(verifier):
    key_pem, cert_pem = _impostor()
    impostor = TimeStampAuthority(private_key_pem=key_pem, certificate_pem=cert_pem, clock=FrozenClock(AT))
    transport = httpx.MockTransport(_Answering(lambda body: _granted(impostor.respond(body))))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(UpstreamUnavailable) as refused:
            await TsaClient(url=URL, client=client, verifier=verifier).stamp(DIGEST)
    assert refused.value.upstream_code == "bad_token"


@pytest.mark.parametrize("response, code", [
    (httpx.Response(503, text="busy"), "http-503"),
    (httpx.Response(404, text="no"), "http-404"),
    (httpx.Response(200, content=b"<html>", headers={"Content-Type": "text/html"}), "bad_reply"),
    (_granted(b"\x30\x03\x02\x01\x00"), "bad_reply"),
    (_granted(b"not DER"), "bad_reply"),
])
async def test_an_unusable_answer_is_upstream_unavailable_without_retry(response, code):
    answering = _Answering(lambda body: response)
    with pytest.raises(UpstreamUnavailable) as refused:
        await _stamp_through(answering)
    assert refused.value.upstream_code == code and answering.calls == 1


async def test_a_rejection_is_upstream_unavailable_naming_the_failure():
    rejection = TimeStampResp({"status": {"status": "rejection",
                                          "fail_info": tsp.PKIFailureInfo({"bad_alg"})}})
    with pytest.raises(UpstreamUnavailable) as refused:
        await _stamp_through(_Answering(lambda body: _granted(rejection.dump())))
    assert refused.value.upstream_code == "rejection:bad_alg"


async def test_a_connect_error_is_tried_once_more(authority, verifier):
    def flaky(request: httpx.Request) -> httpx.Response:
        flaky.calls += 1
        if flaky.calls == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return _granted(authority.respond(request.content))

    flaky.calls = 0
    assert verifier.verify(await _stamp_through(flaky), DIGEST) == AT
    assert flaky.calls == 2


async def test_nothing_listening_is_upstream_unavailable():
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens on it now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with TsaClient(url=f"http://127.0.0.1:{port}/tsa", retry_delay=0) as stamper:
        with pytest.raises(UpstreamUnavailable) as refused:
            await stamper.stamp(DIGEST)
    assert refused.value.upstream_code == "unreachable"


async def test_a_digest_must_be_sha256_sized():
    async with httpx.AsyncClient() as client:
        with pytest.raises(ValueError):
            await TsaClient(url=URL, client=client).stamp(b"short")
    with pytest.raises(ValueError):
        TsaVerifier.from_file(TSA_CERT).verify(b"", b"short")


# --- openssl's word -----------------------------------------------------------------------------

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


def _openssl_verify(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """``openssl ts -verify ... -CAfile devkeys/tsa_cert.pem`` at the frozen clock's moment."""
    return subprocess.run(
        ["openssl", "ts", "-verify", *args, "-CAfile", str(TSA_CERT), "-attime", str(int(AT.timestamp()))],
        cwd=tmp_path, capture_output=True, text=True, timeout=30)


@needs_openssl
def test_openssl_verifies_a_reply_against_the_digest(authority, tmp_path):
    (tmp_path / "resp.tsr").write_bytes(authority.respond(build_request(DIGEST, 12345)))
    done = _openssl_verify(tmp_path, "-digest", DIGEST.hex(), "-in", "resp.tsr")
    assert "Verification: OK" in done.stdout, done.stdout + done.stderr


@needs_openssl
def test_openssl_verifies_a_reply_against_its_query(authority, tmp_path):
    query = build_request(DIGEST, 2**63 + 5)
    (tmp_path / "query.tsq").write_bytes(query)
    (tmp_path / "resp.tsr").write_bytes(authority.respond(query))
    done = _openssl_verify(tmp_path, "-queryfile", "query.tsq", "-in", "resp.tsr")  # nonce and imprint too
    assert "Verification: OK" in done.stdout, done.stdout + done.stderr


@needs_openssl
async def test_openssl_verifies_the_token_the_client_returns(http, tmp_path):
    token = await TsaClient(url=URL, client=http).stamp(DIGEST)
    (tmp_path / "token.der").write_bytes(token)
    done = _openssl_verify(tmp_path, "-digest", DIGEST.hex(), "-token_in", "-in", "token.der")
    assert "Verification: OK" in done.stdout, done.stdout + done.stderr


@needs_openssl
def test_openssl_refuses_the_token_for_another_digest(authority, tmp_path):
    (tmp_path / "resp.tsr").write_bytes(authority.respond(build_request(DIGEST, 1)))
    done = _openssl_verify(tmp_path, "-digest", OTHER_DIGEST.hex(), "-in", "resp.tsr")
    assert "Verification: OK" not in done.stdout and done.returncode != 0
