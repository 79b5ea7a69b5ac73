"""Offline checking of health codes (健康码) at a checkpoint: docs/health-codes.md, "Verifier".

Stand-alone like the rest of ``verifier/``: it imports nothing of the hub. What it holds comes from
the three lists the hub publishes (trust list, rules, revocations), each an envelope signed by the
pinned trust anchor (``verifier/offline.py``'s ``check_anchor``/``check_signature``/``canonical``),
plus signer certificates imported by hand (``import_certificate``), kept apart from downloaded ones.

A code is checked in this order; the first failure decides:

1. the HC1 format and signature (``verifier/hcert.py``) against the signers held — downloaded
   first, imported by hand for a kid the lists do not name — and that it is a health pass;
2. the signer is bound to the issuing region and to the credential type, and uses its own
   algorithm; it was valid at iat (``valid_from <= iat < valid_until``), and — a revoked key —
   iat is before ``revoked_at``; the key has not expired at ``at`` (rotation: an old key's codes
   verify until the key's ``valid_until``);
3. the credential is valid at ``at`` (hcert: iat/vf, exp/vu), then not revoked (a live batch of
   the issuing region lists its hash);
4. the checkpoint region's rules in force at ``at``: colour-mapping rules in identifier order, the
   first giving a colour sets the effective colour; every acceptance rule must give true. A rule
   that raises, gives a non-boolean (acceptance) or an unknown colour (mapping) fails.

``invalid``: 1-3 fail. ``refused``: a genuine, valid code the checkpoint's rules or its colour do
not admit. ``accepted``: everything passes and the effective colour is green.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from verifier import hcert, health_rules
from verifier.health_entries import is_int, revocation_batch, rule_entry, signer_algorithm, trust_entry
from verifier.offline import check_anchor, open_signed, parse_time

TRUST, RULES, REVOCATIONS = "trust", "rules", "revocations"
LIST_TYPES = {TRUST: "govhub-health-trust-list", RULES: "govhub-health-rules",
              REVOCATIONS: "govhub-health-revocations"}
DOWNLOADED, IMPORTED = "downloaded", "imported"
HASH_TYPE = "SHA256-128"

ZH = {  # the Chinese half of each reason, by code
    "bad_prefix": "不是健康码", "too_large": "健康码过大", "bad_base45": "健康码编码已损坏",
    "bad_zlib": "健康码数据已损坏", "not_cose_sign1": "健康码结构错误", "bad_header": "健康码签名头错误",
    "unknown_kid": "签发者不在信任列表中", "alg_not_allowed": "签名算法与签发密钥不符",
    "bad_signature": "签名无效，健康码可能被篡改", "bad_payload": "健康码内容错误",
    "missing_claims": "健康码缺少必要内容", "bad_claims": "健康码内容不合规",
    "key_not_valid": "签发时密钥不在有效期内", "not_yet_valid": "健康码尚未生效", "expired": "健康码已过期",
    "not_health_code": "不是健康码凭证", "key_not_for_region": "签发密钥不属于签发地区",
    "key_not_for_type": "签发密钥无权签发此类凭证", "key_revoked": "签发密钥已被吊销",
    "key_expired": "签发密钥已过期", "revoked": "健康码已被撤销", "rule_failed": "未通过本地区的查验规则",
    "colour_not_green": "健康码不是绿码", "ok": "健康码有效，准予通行",
}


@dataclass
class HealthDecision:
    result: str  # accepted | refused | invalid
    code: str  # stable, for machines: hcert's Refused codes, revoked, key_*, rule_failed, colour_not_green, ok
    reason: str  # plain words, Chinese then English
    issued_colour: str | None = None
    colour: str | None = None  # effective, after the checkpoint's colour-mapping rules
    issuer_region: str | None = None
    masked_name: str | None = None
    valid_until: str | None = None
    credential_hash: str | None = None
    kid: str | None = None  # hex
    key_source: str | None = None  # downloaded | imported
    checked_at: str | None = None
    rules: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def credential_hash(credential_id: str) -> str:
    """The revocation hash: the first 128 bits of SHA-256 over the UTF-8 credential id, hex."""
    return hashlib.sha256(credential_id.encode("utf-8")).digest()[:16].hex()


def iso(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``, as ``strftime`` writes it; for the four-digit years by %-formatting
    the fields (once per check, timed side by side: 1.1 µs, against 2.0 through ``isoformat`` and
    2.6 through ``strftime``)."""
    moment = moment.astimezone(UTC)
    if moment.year < 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (moment.year, moment.month, moment.day, moment.hour,
                                               moment.minute, moment.second)


def _decision(result: str, code: str, english: str, **fields: Any) -> HealthDecision:
    return HealthDecision(result=result, code=code, reason=_reason(code, english), **fields)


def _settle(decision: HealthDecision, result: str, code: str, english: str) -> HealthDecision:
    """The verdict written into a decision whose facts were gathered first (a code that passed the
    signature check: built once, by keyword, rather than merged from dicts of facts)."""
    decision.result, decision.code, decision.reason = result, code, _reason(code, english)
    return decision


def _reason(code: str, english: str) -> str:
    return f"{ZH.get(code, code)} / {english}"


class _Binding(NamedTuple):
    """A signer's entry with what every check reads of it made ready once per load (its times were
    parse_time lookups on each check)."""

    entry: dict[str, Any]
    source: str  # downloaded | imported
    kid_hex: str
    valid_from: datetime
    valid_until: datetime
    revoked_from: datetime | None  # a revoked key: codes issued from then on are refused


def _binding(kid: bytes, entry: dict[str, Any], source: str) -> _Binding:
    revoked_at = entry.get("revoked_at")
    revoked_from = None if entry["status"] != "revoked" else \
        parse_time(revoked_at) if revoked_at is not None else datetime.min.replace(tzinfo=UTC)
    return _Binding(entry, source, kid.hex(), parse_time(entry["valid_from"]),
                    parse_time(entry["valid_until"]), revoked_from)


def _key_problem(binding: _Binding, verified: hcert.Verified, at: datetime) -> tuple[str, str] | None:
    """Why the signer may not vouch for this code (code, English), or None: its region, the credential
    type, its algorithm, its validity when the code was issued, its revocation, its expiry."""
    entry, kind = binding.entry, verified.kind
    if kind != hcert.HEALTH_CODE:
        return "not_health_code", "a valid HC1 credential, but not a health pass"
    if entry["region"] != verified.issuer:
        return "key_not_for_region", \
            f"the signer belongs to region {entry['region']}, not to {verified.issuer}"
    if kind not in entry["credential_types"]:
        return "key_not_for_type", f"the signer may not sign {kind}"
    if entry["alg"] != verified.alg:
        return "alg_not_allowed", f"the signer signs with {entry['alg']}, not {verified.alg}"
    iat = verified.issued_at
    if not binding.valid_from <= iat < binding.valid_until:
        return "key_not_valid", "the signing key was not valid when the code was issued"
    if binding.revoked_from is not None and iat >= binding.revoked_from:
        return "key_revoked", "the signing key was revoked before the code was issued"
    if at >= binding.valid_until:
        return "key_expired", f"the signing key expired at {entry['valid_until']}"
    return None


class HealthVerifier:
    """The pinned anchor, the three lists (each envelope checked as it is loaded, and kept), the
    signers imported by hand; ``verify`` decides on one code."""

    def __init__(self, *, anchor: dict[str, Any], pin: str) -> None:
        check_anchor(anchor, pin)
        self.anchor = anchor
        self.envelopes: dict[str, list[dict[str, Any]]] = {name: [] for name in LIST_TYPES}
        self.held_seq: dict[str, int] = {name: 0 for name in LIST_TYPES}  # entries held up to: fetch's `since`
        self.newest_seq: dict[str, int] = {name: 0 for name in LIST_TYPES}  # the highest list seq seen
        self.entries: dict[str, dict[Any, dict[str, Any]]] = {name: {} for name in LIST_TYPES}
        self._parsed: dict[str, dict[Any, Any]] = {name: {} for name in LIST_TYPES}  # certificates, hash sets
        self.imported: dict[bytes, dict[str, Any]] = {}
        self._imported_certificates: dict[bytes, x509.Certificate] = {}
        # derived from what is held, for checks: rebuilt after each load (bench/health_bench.py measured
        # the scans they replace at a sixth of a check with 31 regions and 20 revocation batches)
        self._derived: dict[str, Any] = {}

    # --- the signed lists -----------------------------------------------------------------

    def load_trust_list(self, envelope: dict[str, Any]) -> None:
        self._load(TRUST, envelope, trust_entry)

    def load_rules(self, envelope: dict[str, Any]) -> None:
        self._load(RULES, envelope, rule_entry)

    def load_revocations(self, envelope: dict[str, Any]) -> None:
        self._load(REVOCATIONS, envelope, revocation_batch)

    def reset(self, name: str) -> None:
        """Forget a list's entries (to download it again from the start); the newest seq seen stays,
        so an older list is still refused."""
        self.envelopes[name], self.held_seq[name] = [], 0
        self.entries[name], self._parsed[name] = {}, {}
        self._derived.clear()

    def _open(self, envelope: Any) -> dict[str, Any]:
        return open_signed(envelope, self.anchor)

    def _load(self, name: str, envelope: Any, check_entry) -> None:
        payload, kind = self._open(envelope), LIST_TYPES[name]
        if payload.get("type") != kind:
            raise ValueError(f"not a {kind} (its type is {payload.get('type')!r})")
        seq, since, entries = payload.get("seq"), payload.get("since"), payload.get("entries")
        more, next_since = payload.get("more", False), payload.get("next_since")
        if not (is_int(seq) and (since is None or is_int(since)) and isinstance(entries, list) and isinstance(more, bool)):
            raise ValueError(f"a malformed {kind} (seq, since, entries, more)")
        if seq < self.newest_seq[name]:
            raise ValueError(f"stale {kind}: its seq {seq} is older than the seq {self.newest_seq[name]} "
                             "already held")
        if since is not None and since > self.held_seq[name]:
            raise ValueError(f"{kind} delta starts after what is held (since {since}, held {self.held_seq[name]})")
        checked = []
        for entry in entries:
            entry_seq = entry.get("seq") if isinstance(entry, dict) else None
            if not (is_int(entry_seq) and (since or 0) < entry_seq <= seq):
                raise ValueError(f"{kind}: an entry's seq is missing or outside ({since}, {seq}]")
            checked.append((*check_entry(entry), entry))
        if more and not (is_int(next_since) and (since or 0) < next_since <= seq):
            raise ValueError(f"{kind}: 'more' without a usable next_since")
        for key, parsed, entry in checked:  # merged only once every entry passed
            held = self.entries[name].get(key)
            if held is None or held["seq"] <= entry["seq"]:
                self.entries[name][key], self._parsed[name][key] = entry, parsed
        if entries or seq > self.newest_seq[name]:
            self.envelopes[name].append(envelope)
        self.held_seq[name] = max(self.held_seq[name], next_since if more else seq)
        self.newest_seq[name] = seq
        self._derived.clear()

    # --- signers imported by hand -----------------------------------------------------------

    def import_certificate(self, path: str | Path, *, region: str, credential_types=("health_code",),
                           valid_until: datetime | None = None) -> str:
        """Trust the signer certificate in ``path`` (PEM or DER) for ``region`` and ``credential_types``,
        from its notBefore until its notAfter (or ``valid_until``, if earlier). Returns its kid, hex."""
        if isinstance(credential_types, str) or not credential_types:
            raise ValueError("name the credential types the signer may sign, e.g. ('health_code',)")
        data = Path(path).read_bytes()
        try:
            certificate = (x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data
                           else x509.load_der_x509_certificate(data))
        except ValueError:
            raise ValueError(f"{path}: not an X.509 certificate (PEM or DER)") from None
        der = certificate.public_bytes(Encoding.DER)
        start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
        if valid_until is not None:
            if valid_until.tzinfo is None:
                raise ValueError("valid_until must be timezone-aware")
            end = min(end, valid_until)
        if end <= start:
            raise ValueError("the certificate would never be valid")
        kid = hcert.kid_of(der)
        self.load_imported({
            "kid": base64.b64encode(kid).decode(), "kid_hex": kid.hex(), "region": region,
            "alg": signer_algorithm(certificate), "certificate": base64.b64encode(der).decode(),
            "credential_types": list(credential_types), "valid_from": iso(start), "valid_until": iso(end),
            "status": "active", "revoked_at": None, "source": IMPORTED})
        return kid.hex()

    def load_imported(self, entry: dict[str, Any]) -> None:
        """An imported signer (from ``import_certificate`` or the cache), checked like a downloaded one."""
        kid, certificate = trust_entry(entry)
        if entry.get("source") != IMPORTED:
            raise ValueError("an imported signer is marked source 'imported'")
        self.imported[kid], self._imported_certificates[kid] = entry, certificate
        self._derived.clear()

    # --- checking a code ----------------------------------------------------------------------

    def signer(self, kid: bytes) -> tuple[dict[str, Any], x509.Certificate, str] | None:
        """The entry for ``kid``: the downloaded one (the hub's word on its status) before an imported one."""
        if kid in self.entries[TRUST]:
            return self.entries[TRUST][kid], self._parsed[TRUST][kid], DOWNLOADED
        if kid in self.imported:
            return self.imported[kid], self._imported_certificates[kid], IMPORTED
        return None

    def verify(self, hc1: str, *, checkpoint_region: str, at: datetime | None = None) -> HealthDecision:
        at = at or datetime.now(UTC)
        if at.tzinfo is None:
            raise ValueError("'at' must be timezone-aware")
        checked_at = iso(at)
        try:
            verified = hcert.verify(hc1, trusted=self._derive("trusted", self._trusted), at=at)
        except hcert.Refused as refused:
            return _decision("invalid", refused.code, refused.reason, checked_at=checked_at)
        binding = self._derive("bindings", self._bindings)[verified.kid]
        problem = _key_problem(binding, verified, at)
        if problem:
            return _decision("invalid", *problem, kid=binding.kid_hex, key_source=binding.source,
                             checked_at=checked_at)
        content = verified.content
        digest = credential_hash(content["id"]) if isinstance(content["id"], str) else None
        decision = HealthDecision(
            result="invalid", code="", reason="", issued_colour=content["col"], colour=content["col"],
            issuer_region=verified.issuer, masked_name=content["nam"], valid_until=content["vu"],
            credential_hash=digest, kid=binding.kid_hex, key_source=binding.source, checked_at=checked_at)
        if digest is None:
            return _settle(decision, "invalid", "bad_claims", "the credential id is not text")
        if self._revoked(verified.issuer, digest):
            return _settle(decision, "invalid", "revoked", "the code has been revoked")
        return self._apply_rules(decision, content, checkpoint_region, at)

    def _trusted(self) -> dict[bytes, hcert.Signer]:
        """Every signer held, its key made ready for hcert once per load rather than on every check."""
        held = {**self._imported_certificates, **self._parsed[TRUST]}
        return {kid: hcert.prepare(certificate) for kid, certificate in held.items()}

    def _bindings(self) -> dict[bytes, _Binding]:
        """Every signer held, by kid, as ``signer`` chooses it: downloaded before imported."""
        imported = {kid: _binding(kid, entry, IMPORTED) for kid, entry in self.imported.items()}
        downloaded = {kid: _binding(kid, entry, DOWNLOADED) for kid, entry in self.entries[TRUST].items()}
        return {**imported, **downloaded}

    def _revoked(self, region: str | None, digest: str) -> bool:
        return digest in self._derive("revoked", self._revoked_by_region).get(region, ())

    def _revoked_by_region(self) -> dict[str | None, set[str]]:
        """Every live batch's hashes, by the region whose codes they revoke."""
        revoked: dict[str | None, set[str]] = {}
        for batch_id, hashes in self._parsed[REVOCATIONS].items():
            batch = self.entries[REVOCATIONS][batch_id]
            if not batch.get("deleted") and batch.get("hash_type") == HASH_TYPE:
                revoked.setdefault(batch.get("region"), set()).update(hashes)
        return revoked

    def _derive(self, name: str, build):
        if name not in self._derived:
            self._derived[name] = build()
        return self._derived[name]

    def rules_in_force(self, region: str, at: datetime, certificate_type: str = hcert.HEALTH_CODE) -> list[dict]:
        """The checkpoint rules of ``region`` at ``at``, one version per identifier, in identifier order.
        Remembered with the span of time over which the answer cannot change (between the nearest
        validity bounds of the region's rules around ``at``), so a checkpoint's checks do not choose
        among the region's rules each time."""
        return list(self._in_force(region, at, certificate_type))

    def _in_force(self, region: str, at: datetime, certificate_type: str) -> tuple[dict[str, Any], ...]:
        """``rules_in_force``, as the remembered tuple (not copied: a check only reads it)."""
        remembered = self._derive("in_force", dict)
        held = remembered.get((region, certificate_type))
        if held is not None and held[0] <= at < held[1]:
            return held[2]
        rules = self._derive("rules", self._rules_by_region).get(region, ())
        chosen = tuple(health_rules.in_force(rules, at, certificate_type))
        remembered[(region, certificate_type)] = (*health_rules.steady_span(rules, at), chosen)
        return chosen

    def _rules_by_region(self) -> dict[str, list[tuple[tuple[str, int], dict[str, Any]]]]:
        by_region: dict[str, list[tuple[tuple[str, int], dict[str, Any]]]] = {}
        for key, rule in self.entries[RULES].items():
            by_region.setdefault(rule["region"], []).append((key, rule))
        return by_region

    def _apply_rules(self, decision: HealthDecision, content: dict, region: str,
                     at: datetime) -> HealthDecision:
        colour, decision.rules, failed = health_rules.apply(
            self._in_force(region, at, content["t"]), content, issuer=decision.issuer_region, region=region,
            at=decision.checked_at, prepared=self._parsed[RULES])
        decision.colour = colour
        if failed:
            names = ", ".join(f"{each['identifier']} v{each['version']}" for each in failed)
            return _settle(decision, "refused", "rule_failed",
                           f"the checkpoint's rules refuse the code ({names})")
        if colour != "green":
            return _settle(decision, "refused", "colour_not_green", f"the code counts as {colour} here")
        return _settle(decision, "accepted", "ok", "a valid green code")
