"""The offline verifier (verifier/) stands alone: it imports nothing of the hub's layers."""
from __future__ import annotations

from tests.architecture.test_layers import _top, _violations


def test_verifier_imports_no_layer():
    assert _violations("verifier", lambda rel, m: "a third party's verifier shares no code with the hub"
                       if _top(m) in {"bff", "domain", "adapters", "miniprogram_mock"} else None) == []


def test_the_check_sees_the_verifiers_files():
    from tests.architecture.test_layers import _sources

    assert {p.name for p in _sources("verifier")} >= {"offline.py", "__main__.py"}
