"""The layer rules of docs/architecture (bff -> domain <- adapters), checked on every import."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSITION_ROOTS = {"bff/container.py", "bff/app.py", "bff/cli.py", "bff/seed.py"}  # may build adapters
DOMAIN_FORBIDDEN = {"bff", "adapters", "miniprogram_mock", "sanic", "sanic_ext", "sanic_testing",
                    "httpx", "redis", "fakeredis", "wechatpy", "apscheduler", "requests", "alembic",
                    "sqlalchemy"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _violations(package: str, rule) -> list[str]:
    bad = []
    for path in _sources(package):
        rel = path.relative_to(ROOT).as_posix()
        for line, module in _imports(path):
            reason = rule(rel, module)
            if reason:
                bad.append(f"{rel}:{line} imports {module}: {reason}")
    return bad


def _top(module: str) -> str:
    return module.split(".")[0]


def test_domain_imports_no_framework_sdk_or_outer_layer():
    def rule(rel, module):
        return "the domain stays free of HTTP, SDKs and outer layers" if _top(module) in DOMAIN_FORBIDDEN else None

    assert _violations("domain", rule) == []


def test_domain_modules_use_each_other_only_through_services():
    def rule(rel, module):
        parts = module.split(".")
        if parts[0] != "domain" or len(parts) < 3 or parts[1] == "shared":
            return None
        own = rel.split("/")[1]
        if parts[1] != own and parts[2] not in {"service", "errors", "ports", "rules"}:
            return f"another module's {parts[2]}: use its service, errors, ports or pure rules"
        return None

    assert _violations("domain", rule) == []


def test_adapters_never_import_bff():
    assert _violations("adapters", lambda rel, m: "adapters serve the domain, not the BFF"
                       if _top(m) in {"bff", "miniprogram_mock"} else None) == []


def test_only_the_composition_root_imports_adapters():
    def rule(rel, module):
        if _top(module) == "adapters" and rel not in COMPOSITION_ROOTS:
            return "only bff/container.py (the composition root) builds adapters"
        return None

    assert _violations("bff", rule) == []


def test_mock_is_independent_of_the_layers():
    assert _violations("miniprogram_mock", lambda rel, m: "the mock stands in for the outside world"
                       if _top(m) in {"bff", "domain", "adapters"} else None) == []


@pytest.mark.parametrize("rule_name", ["domain", "adapters"])
def test_the_check_itself_catches_a_violation(tmp_path, rule_name):
    """A rule that cannot fail is no rule: feed it a bad file."""
    bad = tmp_path / "bad.py"
    bad.write_text("import sanic\nfrom bff.app import create_app\n")
    modules = [m for _, m in _imports(bad)]
    assert "sanic" in modules and "bff.app" in modules
    assert any(_top(m) in DOMAIN_FORBIDDEN for m in modules)
