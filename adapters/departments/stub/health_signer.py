"""The department stub's health-code signing role: a region that keeps its signing key itself.

Zhejiang (node ``zj-platform``, region ``330000``) did not hand its health-code key to the hub; it
signs each code the hub makes for it (docs/health-codes.md; ``domain/health/ports.RegionSigner``;
the hub's side is ``adapters/health/region_signer.py``). The stub plays that signing service with
the dev key ``devkeys/health_zhejiang_private.pem`` (ES256) and its certificate
``devkeys/health_zhejiang_cert.pem``:

``POST /nodes/<node>/health/sign`` (signed by the hub, checked by the stub's own
``server._check_signature``), body ``{"kid": "<16 hex>", "alg": "ES256", "protected": "<base64>",
"payload": "<base64>", "health_pass": {...}}``. It signs only what it would have decided itself,
and refuses (422 ``{"code", "detail", ...}``, a problem document like the stub's others):

- ``unknown_kid``: ``kid`` is not its key's (first 8 bytes of SHA-256 over the certificate's DER);
- ``alg_mismatch``: ``alg`` is not its key's (ES256);
- ``header_mismatch``: the protected header is not the CBOR map ``{1: -7, 4: <its kid>}``;
- ``pass_mismatch``: the CWT payload's hcert[1] (claim -260, key 1) is not ``health_pass``, or the
  CWT's iss is not the pass's ``reg``;
- ``wrong_region``: the pass's ``reg`` is not the region it signs for (330000);
- ``type_not_allowed``: the pass's ``t`` is not ``health_code``, the one type its key signs;

then answers ``{"signature": "<base64 of r || s>"}`` (ES256, 32 + 32 bytes, over
``Sig_structure = ["Signature1", protected, b"", payload]``). A body it cannot read is 400
``sign_malformed``; a node it does not play (or that has no health key here) 404 ``node_not_here``.
The stub's fault switch (``POST /_stub/faults``: down, slow, 5xx, 429, 4xx) applies here as it
does to deliveries.

Controls (unsigned, for tests): ``GET /_stub/health/signatures[?node=&outcome=signed|refused]``
(every request whose hub signature verified: what was asked, the outcome, the refusal's code, the
signature given), ``GET /_stub/health/keys`` (node, region, alg, kid_hex, the certificate's DER in
base64) and ``POST /_stub/health/reset``.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import json as jsonlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sanic import Blueprint, Request, Sanic, json

from domain.shared.clock import Clock

DEVKEYS = Path(__file__).resolve().parents[3] / "devkeys"
ES256, COSE_ES256 = "ES256", -7
ALG, KID = 1, 4  # COSE header labels
ISS, HCERT = 1, -260  # CWT claims
HEALTH_CODE = "health_code"


@dataclass(frozen=True)
class HealthKeyFiles:
    region: str
    private_key: str
    certificate: str


# the regions that keep their own key, as the stub plays them (devkeys/README.md)
DEMO_HEALTH_KEYS = {
    "zj-platform": HealthKeyFiles("330000", "health_zhejiang_private.pem", "health_zhejiang_cert.pem"),
}


@dataclass(frozen=True)
class SigningKey:
    node: str
    region: str
    private_key: ec.EllipticCurvePrivateKey
    certificate_der: bytes

    @property
    def kid(self) -> bytes:
        """hcert's kid: the first 8 bytes of SHA-256 over the certificate's DER."""
        return hashlib.sha256(self.certificate_der).digest()[:8]

    def sign(self, protected: bytes, payload: bytes) -> bytes:
        """ES256 over COSE's Sig_structure, as COSE wants it: ``r || s``, 32 bytes each."""
        message = cbor2.dumps(["Signature1", protected, b"", payload])
        r, s = decode_dss_signature(self.private_key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def load_key(node: str, files: HealthKeyFiles, folder: Path = DEVKEYS) -> SigningKey:
    private_key = serialization.load_pem_private_key((folder / files.private_key).read_bytes(), password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or private_key.curve.name != "secp256r1":
        raise ValueError(f"{files.private_key}: ES256 needs a P-256 key")
    certificate = x509.load_pem_x509_certificate((folder / files.certificate).read_bytes())
    if certificate.public_key() != private_key.public_key():
        raise ValueError(f"{files.certificate} is not the certificate of {files.private_key}")
    return SigningKey(node=node, region=files.region, private_key=private_key,
                      certificate_der=certificate.public_bytes(serialization.Encoding.DER))


def demo_keys(nodes) -> dict[str, SigningKey]:
    """The health keys of the nodes this stub plays (whose key files are there)."""
    return {node: load_key(node, files) for node, files in DEMO_HEALTH_KEYS.items()
            if node in nodes and (DEVKEYS / files.private_key).is_file()
            and (DEVKEYS / files.certificate).is_file()}


# --- what it signed and refused ----------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS health_signatures (
    id INTEGER PRIMARY KEY AUTOINCREMENT, node TEXT NOT NULL, kid TEXT, alg TEXT, outcome TEXT NOT NULL,
    reason TEXT, credential_id TEXT, region TEXT, colour TEXT, health_pass TEXT, protected TEXT,
    payload TEXT, signature TEXT, at REAL NOT NULL);
"""


class SignatureLog:
    """The stub's record of every signing request whose hub signature verified (its own table in
    the stub's SQLite file, next to StubStore's)."""

    def __init__(self, path: str, clock: Clock) -> None:
        self._clock = clock
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(SCHEMA)

    def record(self, *, node: str, body: dict[str, Any], outcome: str, reason: str | None = None,
               signature: bytes | None = None) -> None:
        health_pass = body.get("health_pass") if isinstance(body.get("health_pass"), dict) else {}
        self._db.execute(
            "INSERT INTO health_signatures (node, kid, alg, outcome, reason, credential_id, region, colour,"
            " health_pass, protected, payload, signature, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (node, _text(body.get("kid")), _text(body.get("alg")), outcome, reason,
             _text(health_pass.get("id")), _text(health_pass.get("reg")), _text(health_pass.get("col")),
             jsonlib.dumps(health_pass, ensure_ascii=False), _text(body.get("protected")),
             _text(body.get("payload")), base64.b64encode(signature).decode() if signature else None,
             self._clock.timestamp()))

    def rows(self, *, node: str | None = None, outcome: str | None = None) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM health_signatures WHERE (? IS NULL OR node = ?)"
                                " AND (? IS NULL OR outcome = ?) ORDER BY id", (node, node, outcome, outcome))
        found = [dict(row) for row in rows.fetchall()]
        for row in found:
            row["health_pass"] = jsonlib.loads(row["health_pass"]) if row["health_pass"] else None
        return found

    def reset(self) -> None:
        self._db.execute("DELETE FROM health_signatures")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- deciding -----------------------------------------------------------------------------------


class Refusal(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def _cbor(data: bytes, what: str) -> Any:
    """One CBOR item and nothing after it."""
    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except (cbor2.CBORDecodeError, ValueError, EOFError) as exc:
        raise Refusal(400, "sign_malformed", f"{what} is not CBOR: {exc}") from exc
    if stream.tell() != len(data):
        raise Refusal(400, "sign_malformed", f"{what}: bytes after the CBOR item")
    return item


def _bytes(body: dict[str, Any], field: str) -> bytes:
    value = body.get(field)
    try:
        if not isinstance(value, str) or not value:
            raise ValueError("missing")
        return base64.b64decode(value, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise Refusal(400, "sign_malformed", f"{field} must be base64: {exc}") from exc


def checked(key: SigningKey, body: Any) -> tuple[bytes, bytes]:
    """The protected header and payload to sign, once everything agrees; else ``Refusal``."""
    if not isinstance(body, dict):
        raise Refusal(400, "sign_malformed", "the body is a JSON object")
    health_pass = body.get("health_pass")
    if not (isinstance(body.get("kid"), str) and isinstance(body.get("alg"), str)
            and isinstance(health_pass, dict)):
        raise Refusal(400, "sign_malformed", "kid, alg, protected, payload and health_pass are required")
    protected, payload = _bytes(body, "protected"), _bytes(body, "payload")
    if body["kid"].lower() != key.kid.hex():
        raise Refusal(422, "unknown_kid", f"kid {body['kid']} is not a key of {key.node}")
    if body["alg"] != ES256:
        raise Refusal(422, "alg_mismatch", f"the key {key.kid.hex()} signs {ES256}, not {body['alg']}")
    header = _cbor(protected, "protected")
    if not isinstance(header, dict) or header.get(ALG) != COSE_ES256 or header.get(KID) != key.kid:
        raise Refusal(422, "header_mismatch",
                      f"the protected header must name alg {COSE_ES256} and kid {key.kid.hex()}")
    claims = _cbor(payload, "payload")
    hcert = claims.get(HCERT) if isinstance(claims, dict) else None
    if not isinstance(hcert, dict) or hcert.get(1) != health_pass:
        raise Refusal(422, "pass_mismatch", "the CWT's hcert[1] is not the health pass sent")
    if claims.get(ISS) != health_pass.get("reg"):
        raise Refusal(422, "pass_mismatch", "the CWT's iss is not the pass's reg")
    if health_pass.get("reg") != key.region:
        raise Refusal(422, "wrong_region", f"{key.node} signs codes of region {key.region} only")
    if health_pass.get("t") != HEALTH_CODE:
        raise Refusal(422, "type_not_allowed", f"the key {key.kid.hex()} signs {HEALTH_CODE} only")
    return protected, payload


# --- the role -----------------------------------------------------------------------------------


def install(app: Sanic) -> None:
    """Add the signing role to a stub app (the one hook in server.create_stub_app)."""
    app.ctx.health_keys = demo_keys(app.ctx.config.nodes)
    app.ctx.health_log = SignatureLog(app.ctx.config.db_path, app.ctx.clock)
    app.blueprint(_routes())


def _routes() -> Blueprint:
    bp = Blueprint("stub_health_signer")

    @bp.post("/nodes/<node:str>/health/sign")
    async def sign(request: Request, node: str):
        # the stub's own checks; imported here, since server.py imports this module
        from adapters.departments.stub.server import _problem, gate

        key: SigningKey | None = request.app.ctx.health_keys.get(node)
        stopped = await gate(request, plays=node in request.app.ctx.config.nodes and key is not None,
                             what=f"sign health codes for {node}")
        if stopped is not None:
            return stopped
        log: SignatureLog = request.app.ctx.health_log
        try:
            body = jsonlib.loads(request.body or b"null")
        except ValueError:
            body = None
        try:
            protected, payload = checked(key, body)
        except Refusal as refusal:
            log.record(node=node, body=body if isinstance(body, dict) else {}, outcome="refused",
                       reason=refusal.code)
            return _problem(refusal.status, refusal.code, refusal.detail)
        signature = key.sign(protected, payload)
        log.record(node=node, body=body, outcome="signed", signature=signature)
        if getattr(request.ctx, "slow", None):  # the slow fault: signed, answered late
            await asyncio.sleep(request.ctx.slow)
        return json({"signature": base64.b64encode(signature).decode("ascii")})

    @bp.get("/_stub/health/signatures")
    async def signatures(request: Request):
        log: SignatureLog = request.app.ctx.health_log
        rows = log.rows(node=request.args.get("node"), outcome=request.args.get("outcome"))
        return json({"signatures": rows}, ensure_ascii=False)

    @bp.get("/_stub/health/keys")
    async def keys(request: Request):
        return json({"keys": [{"node": k.node, "region": k.region, "alg": ES256, "kid_hex": k.kid.hex(),
                               "certificate": base64.b64encode(k.certificate_der).decode("ascii")}
                              for k in request.app.ctx.health_keys.values()]})

    @bp.post("/_stub/health/reset")
    async def reset(request: Request):
        request.app.ctx.health_log.reset()
        return json({"status": "reset"})

    return bp
