"""The verifier's cache directory: what was downloaded, kept as the signed documents themselves, and
the replay memory.

    anchor.json      the trust anchor (seal id, key id, algorithm, public key)
    trust.json       {"lists": [full trust list, delta, delta…]}, each signed by the anchor
    status.json      [status list, …], each signed by the anchor
    replay.sqlite3   presentation ids accepted, until their tokens expire (replay.py)

Nothing in the directory is trusted for being there: on load the anchor must match the pin given
by whoever runs the verifier, and every list must verify against the anchor — a file that does
not is refused (``CacheInvalid``), and ``fetch`` replaces it with a fresh download. Files are
written whole (a temporary file, then renamed), so a reader never sees half a file.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from verifier.offline import AnchorMismatch, OfflineVerifier
from verifier.replay import FileReplay

ANCHOR, TRUST, STATUS, REPLAY = "anchor.json", "trust.json", "status.json", "replay.sqlite3"


class CacheInvalid(ValueError):
    """A cached file is missing, unreadable, or fails its check against the pinned anchor."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason


def load(cache: Path, pin: str) -> OfflineVerifier:
    """A verifier from the cache, every file checked against ``pin``; CacheInvalid names the first
    file that fails."""
    cache = Path(cache)
    try:
        verifier = OfflineVerifier(anchor=_read(cache, ANCHOR), pin=pin, replay=FileReplay(cache / REPLAY))
    except AnchorMismatch as exc:
        raise CacheInvalid(ANCHOR, str(exc)) from None
    lists = _read(cache, TRUST)
    if not isinstance(lists, dict) or not isinstance(lists.get("lists"), list) or not lists["lists"]:
        raise CacheInvalid(TRUST, "no signed trust list")
    for envelope in lists["lists"]:
        _check(TRUST, verifier.load_trust_list, envelope)
    if lists["lists"][0]["payload"]["since"] is not None:
        raise CacheInvalid(TRUST, "does not start with a full trust list")
    status = _read(cache, STATUS)
    for envelope in status if isinstance(status, list) else [None]:
        _check(STATUS, verifier.load_status_list, envelope)
    return verifier


def save(cache: Path, verifier: OfflineVerifier) -> None:
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    _write(cache / ANCHOR, verifier.anchor)
    _write(cache / TRUST, {"lists": verifier.trust_lists})
    _write(cache / STATUS, list(verifier.status_envelopes.values()))


def replay_memory(cache: Path) -> FileReplay:
    Path(cache).mkdir(parents=True, exist_ok=True)
    return FileReplay(Path(cache) / REPLAY)


def _read(cache: Path, name: str) -> Any:
    try:
        return json.loads((cache / name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CacheInvalid(name, "missing: run `python -m verifier fetch` first") from None
    except (OSError, ValueError) as exc:
        raise CacheInvalid(name, f"unreadable ({exc.__class__.__name__})") from None


def _check(name: str, load_one, envelope: Any) -> None:
    try:
        load_one(envelope)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CacheInvalid(name, f"fails its check against the pinned anchor ({exc})") from None


def _write(path: Path, value: Any) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(value, out, ensure_ascii=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
