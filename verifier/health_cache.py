"""The health lists in the verifier's cache directory, next to ``verifier/cache.py``'s files:

    anchor.json              the trust anchor (shared with the license verifier)
    health_trust.json        {"lists": [signed trust-list pages, in the order loaded]}
    health_rules.json        {"lists": [signed rule pages]}
    health_revocations.json  {"lists": [signed revocation pages]}
    health_imported.json     {"keys": [signer entries imported by hand, source "imported"]}

As for the license lists, nothing is trusted for being in the directory: every load checks the
anchor against the pin and every page against the anchor, replaying them in order (so a page that
does not follow the one before, or is older, is refused: ``CacheInvalid``). Imported signers are
signed by no one but the operator who imported them: each is checked to be a well-formed signer
(its kid is its certificate's, its algorithm its key's), and a download never touches their file.
"""
from __future__ import annotations

from pathlib import Path

from verifier.cache import ANCHOR, CacheInvalid, _check, _read, _write
from verifier.health import REVOCATIONS, RULES, TRUST, HealthVerifier
from verifier.offline import AnchorMismatch

LIST_FILES = {TRUST: "health_trust.json", RULES: "health_rules.json", REVOCATIONS: "health_revocations.json"}
IMPORTED_FILE = "health_imported.json"
FETCH_FIRST = "missing: run `python -m verifier health-fetch` first"


def load(cache: Path, pin: str) -> HealthVerifier:
    """A health verifier from the cache — anchor, the three lists, imported signers — every file
    checked against ``pin``; CacheInvalid names the first file that fails."""
    verifier = load_anchor(cache, pin)
    load_lists(cache, verifier)
    load_imported(cache, verifier)
    return verifier


def load_anchor(cache: Path, pin: str) -> HealthVerifier:
    """An empty health verifier on the cached anchor, which must match ``pin``."""
    if not (Path(cache) / ANCHOR).exists():
        raise CacheInvalid(ANCHOR, FETCH_FIRST)
    try:
        return HealthVerifier(anchor=_read(Path(cache), ANCHOR), pin=pin)
    except AnchorMismatch as exc:
        raise CacheInvalid(ANCHOR, str(exc)) from None


def load_lists(cache: Path, verifier: HealthVerifier, *, required: bool = True) -> None:
    """The three lists' pages, replayed in order; a missing file is CacheInvalid when ``required``,
    else an empty list."""
    cache = Path(cache)
    loaders = {TRUST: verifier.load_trust_list, RULES: verifier.load_rules, REVOCATIONS: verifier.load_revocations}
    for name, filename in LIST_FILES.items():
        if not (cache / filename).exists():
            if required:
                raise CacheInvalid(filename, FETCH_FIRST)
            continue
        held = _read(cache, filename)
        if not isinstance(held, dict) or not isinstance(held.get("lists"), list):
            raise CacheInvalid(filename, "not a file of signed lists")
        for envelope in held["lists"]:
            _check(filename, loaders[name], envelope)


def load_imported(cache: Path, verifier: HealthVerifier) -> None:
    """The signers imported by hand, if any."""
    if not (Path(cache) / IMPORTED_FILE).exists():
        return
    imported = _read(Path(cache), IMPORTED_FILE)
    if not isinstance(imported, dict) or not isinstance(imported.get("keys"), list):
        raise CacheInvalid(IMPORTED_FILE, "not a file of imported signers")
    for entry in imported["keys"]:
        try:
            verifier.load_imported(entry)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CacheInvalid(IMPORTED_FILE, f"an imported signer fails its check ({exc})") from None


def save_lists(cache: Path, verifier: HealthVerifier) -> None:
    """The anchor and the three lists' pages (never the imported signers: ``save_imported``)."""
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    _write(cache / ANCHOR, verifier.anchor)
    for name, filename in LIST_FILES.items():
        _write(cache / filename, {"lists": verifier.envelopes[name]})


def save_imported(cache: Path, verifier: HealthVerifier) -> None:
    Path(cache).mkdir(parents=True, exist_ok=True)
    keys = sorted(verifier.imported.values(), key=lambda entry: entry["kid_hex"])
    _write(Path(cache) / IMPORTED_FILE, {"keys": keys})
