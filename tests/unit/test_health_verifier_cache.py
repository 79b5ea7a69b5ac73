"""The health lists in the verifier's cache and the CLI (``python -m verifier health-fetch|health-check|
health-import``), called in-process, against the three lists served by a small local HTTP server
(paged, with deltas) signed by a stand-in anchor."""
from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.health_verifier_world import (
    BJ,
    NOW,
    ZJ,
    Anchor,
    Signer,
    batch,
    credential_id_of,
    iso,
    rule,
)
from verifier import health_cache, health_cli
from verifier.__main__ import main
from verifier.cache import CacheInvalid
from verifier.health import LIST_TYPES, REVOCATIONS, RULES, TRUST

AT = iso(NOW + timedelta(hours=1))
PATHS = {"/public/v1/health/trust-list": TRUST, "/public/v1/health/rules": RULES,
         "/public/v1/health/revocations": REVOCATIONS}


class Hub:
    """The hub's three change feeds: each change of an entry gives it the list's next seq."""

    def __init__(self, anchor: Anchor, page_size: int = 2) -> None:
        self.anchor, self.page_size = anchor, page_size
        self.feeds = {name: {} for name in LIST_TYPES}
        self.seq = {name: 0 for name in LIST_TYPES}
        self.asked: list[tuple[str, int]] = []
        self.override: dict[str, dict] = {}  # path -> a fixed answer

    def change(self, name: str, key, entry: dict) -> None:
        self.seq[name] += 1
        self.feeds[name][key] = {**entry, "seq": self.seq[name]}

    def answer(self, path: str, since: int) -> dict:
        name = PATHS[path]
        changed = sorted((e for e in self.feeds[name].values() if e["seq"] > since), key=lambda e: e["seq"])
        entries = changed[:self.page_size]
        return self.anchor.envelope({"type": LIST_TYPES[name], "seq": self.seq[name], "since": since,
                                     "issued_at": iso(NOW), "entries": entries,
                                     "more": len(changed) > len(entries),
                                     "next_since": entries[-1]["seq"] if entries else None})


@pytest.fixture
def hub():
    state = Hub(Anchor())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlsplit(self.path)
            since = int(parse_qs(url.query).get("since", ["0"])[0])
            if url.path == "/public/v1/trust-anchor":
                body = state.anchor.anchor
            elif url.path in PATHS:
                state.asked.append((url.path.rsplit("/", 1)[1], since))
                body = state.override.get(url.path) or state.answer(url.path, since)
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def signers():
    return Signer("ES256"), Signer("ES256"), Signer("PS256")


def _run(capsys, *argv) -> tuple[int, dict]:
    code = main(list(argv))
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1]) if out else {}


def _fetch(capsys, hub, cache, pin=None):
    return _run(capsys, "health-fetch", "--hub", hub.url, "--anchor", pin or hub.anchor.pin, "--cache", str(cache))


def _check(capsys, hub, cache, hc1, region=BJ, at=AT):
    return _run(capsys, "health-check", hc1, "--region", region, "--at", at, "--anchor", hub.anchor.pin,
                "--cache", str(cache))


def _world(hub, signers):
    zj, other, ps = signers
    for signer, region in ((zj, ZJ), (other, "440000"), (ps, BJ)):
        hub.change(TRUST, signer.kid, signer.entry(region))
    hub.change(RULES, ("CM-110000-0001", 1), rule("CM-110000-0001", {"if": [{"===": [{"var": "payload.col"},
                                                                                     "yellow"]}, "red", None]},
                                                  kind="colour-mapping"))


def test_fetch_pages_through_the_lists_then_checks_offline(capsys, hub, signers, tmp_path):
    _world(hub, signers)
    zj = signers[0]
    revoked = zj.issue()
    hub.change(REVOCATIONS, "a" * 32, batch("a" * 32, [credential_id_of(revoked)]))
    code, summary = _fetch(capsys, hub, tmp_path)
    assert code == 0 and summary[TRUST] == {"seq": 3, "entries": 3} and summary[RULES]["entries"] == 1
    assert ("trust-list", 0) in hub.asked and ("trust-list", 2) in hub.asked  # two pages of two
    assert {path.name for path in tmp_path.iterdir()} >= {"anchor.json", *health_cache.LIST_FILES.values()}

    green = zj.issue()
    code, decision = _check(capsys, hub, tmp_path, green)
    assert (code, decision["result"], decision["code"], decision["issuer_region"]) == (0, "accepted", "ok", ZJ)
    code, decision = _check(capsys, hub, tmp_path, zj.issue(colour="yellow"))
    assert (code, decision["result"], decision["colour"], decision["rules"][0]["colour"]) == (1, "refused", "red", "red")
    code, decision = _check(capsys, hub, tmp_path, revoked)
    assert (code, decision["result"], decision["code"]) == (1, "invalid", "revoked")
    code, decision = _check(capsys, hub, tmp_path, green, at=iso(NOW + timedelta(days=2)))
    assert (code, decision["code"]) == (1, "expired")

    # a delta: the hub revokes another code and un-revokes the first; the next fetch asks from the seq held
    hub.asked.clear()
    hub.change(REVOCATIONS, "b" * 32, batch("b" * 32, [credential_id_of(green)]))
    hub.change(REVOCATIONS, "a" * 32, batch("a" * 32, [], deleted=True))
    assert _fetch(capsys, hub, tmp_path)[0] == 0
    assert ("revocations", 1) in hub.asked and ("trust-list", 3) in hub.asked
    assert _check(capsys, hub, tmp_path, green)[1]["code"] == "revoked"
    assert _check(capsys, hub, tmp_path, revoked)[1]["result"] == "accepted"
    held = health_cache.load(tmp_path, hub.anchor.pin)
    assert held.held_seq == {TRUST: 3, RULES: 1, REVOCATIONS: 3}


def test_every_load_rechecks_every_file_against_the_pin(capsys, hub, signers, tmp_path):
    _world(hub, signers)
    assert _fetch(capsys, hub, tmp_path)[0] == 0
    hc1 = signers[0].issue()
    assert _check(capsys, hub, tmp_path, hc1)[0] == 0
    rules_file = tmp_path / health_cache.LIST_FILES[RULES]
    held = json.loads(rules_file.read_text())
    held["lists"][0]["payload"]["entries"][0]["logic"] = True  # the mapping rule quietly disarmed
    rules_file.write_text(json.dumps(held))
    code, answer = _check(capsys, hub, tmp_path, hc1)
    assert (code, answer["result"]) == (2, "cache_invalid") and "health_rules.json" in answer["reason"]
    code, answer = _run(capsys, "health-check", hc1, "--region", BJ, "--anchor", Anchor().pin, "--cache", str(tmp_path))
    assert (code, answer["result"]) == (2, "cache_invalid") and "anchor.json" in answer["reason"]
    # a fetch drops the lists failing their check and downloads them afresh
    assert main(["health-fetch", "--hub", hub.url, "--anchor", hub.anchor.pin, "--cache", str(tmp_path)]) == 0
    assert "discarding the cached health lists (health_rules.json" in capsys.readouterr().err
    assert _check(capsys, hub, tmp_path, hc1)[0] == 0
    (tmp_path / health_cache.LIST_FILES[TRUST]).unlink()
    assert _check(capsys, hub, tmp_path, hc1)[0] == 2
    assert _check(capsys, hub, tmp_path / "empty", hc1)[0] == 2


def test_the_cache_replays_its_pages_in_order(signers, tmp_path):
    anchor, (zj, other, _ps) = Anchor(), signers
    verifier = anchor.verifier([zj.entry()])
    verifier.load_trust_list(anchor.page(TRUST, [other.entry(BJ)], since=verifier.held_seq[TRUST]))
    health_cache.save_lists(tmp_path, verifier)
    again = health_cache.load(tmp_path, anchor.pin)
    assert again.held_seq == verifier.held_seq and set(again.entries[TRUST]) == {zj.kid, other.kid}
    trust_file = tmp_path / health_cache.LIST_FILES[TRUST]
    pages = json.loads(trust_file.read_text())["lists"]
    for shuffled in ([pages[1], pages[0]], [pages[1]]):  # out of order; a delta without its start
        trust_file.write_text(json.dumps({"lists": shuffled}))
        with pytest.raises(CacheInvalid, match="health_trust.json"):
            health_cache.load(tmp_path, anchor.pin)


def test_fetch_refuses_an_anchor_that_is_not_pinned_and_a_stale_list(capsys, hub, signers, tmp_path):
    _world(hub, signers)
    with pytest.raises(SystemExit, match="refusing the hub's trust anchor"):
        _fetch(capsys, hub, tmp_path, pin=Anchor().pin)
    assert not (tmp_path / "anchor.json").exists()
    assert _fetch(capsys, hub, tmp_path)[0] == 0
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    hub.override["/public/v1/health/trust-list"] = hub.anchor.envelope({
        "type": LIST_TYPES[TRUST], "seq": 1, "since": None, "issued_at": iso(NOW), "entries": [],
        "more": False, "next_since": None})
    with pytest.raises(SystemExit, match="stale"):
        _fetch(capsys, hub, tmp_path)
    hub.override["/public/v1/health/trust-list"] = Anchor().envelope(hub.answer("/public/v1/health/trust-list", 0))
    with pytest.raises(SystemExit, match="pinned trust anchor"):
        _fetch(capsys, hub, tmp_path)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


def test_many_small_deltas_are_replaced_by_one_fresh_download(capsys, hub, tmp_path, monkeypatch):
    monkeypatch.setattr(health_cli, "MAX_HELD_PAGES", 2)
    hub.page_size = 10
    for day in range(4):
        hub.change(RULES, (f"AR-110000-000{day}", 1), rule(f"AR-110000-000{day}", True))
        assert _fetch(capsys, hub, tmp_path)[0] == 0
    held = health_cache.load(tmp_path, hub.anchor.pin)
    assert len(held.envelopes[RULES]) <= 2 and len(held.entries[RULES]) == 4 and held.held_seq[RULES] == 4


def test_import_by_hand_then_check_and_fetch_keeps_it(capsys, hub, signers, tmp_path):
    _world(hub, signers)
    assert _fetch(capsys, hub, tmp_path)[0] == 0
    own = Signer("ES256")  # in no list
    pem = own.pem_file(tmp_path)
    code, imported = _run(capsys, "health-import", str(pem), "--region", ZJ, "--types", "health_code",
                          "--anchor", hub.anchor.pin, "--cache", str(tmp_path))
    assert (code, imported["kid_hex"], imported["alg"], imported["source"]) == (0, own.kid.hex(), "ES256", "imported")
    hc1 = own.issue()
    code, decision = _check(capsys, hub, tmp_path, hc1)
    assert (code, decision["result"], decision["key_source"]) == (0, "accepted", "imported")
    kept = (tmp_path / health_cache.IMPORTED_FILE).read_bytes()
    hub.change(TRUST, b"new", Signer("ES256").entry())
    assert _fetch(capsys, hub, tmp_path)[0] == 0
    assert (tmp_path / health_cache.IMPORTED_FILE).read_bytes() == kept
    assert _check(capsys, hub, tmp_path, hc1)[0] == 0
    # not a certificate; an imported file that was tampered with
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    assert _run(capsys, "health-import", str(junk), "--region", ZJ, "--anchor", hub.anchor.pin,
                "--cache", str(tmp_path))[0] == 1
    entries = json.loads(kept)
    entries["keys"][0]["region"] = "Zhejiang"
    (tmp_path / health_cache.IMPORTED_FILE).write_text(json.dumps(entries))
    assert _check(capsys, hub, tmp_path, hc1)[0] == 2


def test_the_command_line_refuses_what_it_cannot_read(capsys, hub, tmp_path):
    for argv in (["health-check", "HC1:X", "--region", "Beijing"], ["health-check", "HC1:X", "--region", BJ,
                                                                      "--at", "2026-12-06T09:00:00"]):
        with pytest.raises(SystemExit):
            main([*argv, "--anchor", hub.anchor.pin, "--cache", str(tmp_path)])
    assert _run(capsys, "health-import", "x.pem", "--region", ZJ, "--anchor", hub.anchor.pin,
                "--cache", str(tmp_path))[0] == 2  # no anchor cached yet
