"""The layer rules of docs/architecture.md, as import-linter contracts in pyproject.toml
([tool.importlinter]), checked on every import the code makes (grimp builds the whole graph:
``from domain.seals import crypto``, relative imports and chains through other modules included)."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]


def lint_imports(folder: Path, *contracts: str) -> subprocess.CompletedProcess:
    """``lint-imports`` on the packages under ``folder``, limited to ``contracts`` when named."""
    limits = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", *limits], cwd=folder, text=True,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(folder)}, timeout=120)


def test_the_code_keeps_every_contract():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


# one deliberately forbidden import per contract, written into a small copy of the layout
BREACHES = {
    "layers": ("adapters/cache/redis.py", "from bff import app\n"),
    "domain-free": ("domain/seals/service.py", "import redis\n"),
    "bff-no-orm": ("bff/public/routes.py", "from domain.seals.models import Seal\n"),
    "composition-root": ("bff/public/routes.py", "from adapters.cache import redis\n"),
    "capabilities": ("domain/licenses/service.py", "from domain.seals import crypto\n"),
    "pure-rules": ("domain/licenses/rules.py", "from domain.seals.service import SealService\n"),
    "adapters-no-orm": ("adapters/cache/redis.py", "from domain.seals.models import Seal\n"),
    "stand-alone": ("verifier/offline.py", "from domain.seals import rules\n"),
}
# ...and the imports each layer is allowed, so that a contract is seen to pass before it fails
LAYOUT = {
    "bff/container.py": "from adapters.cache import redis\nfrom domain.licenses import service\n",
    "bff/public/routes.py": "from domain.seals.service import SealService\n",
    "adapters/cache/redis.py": "from domain.seals import rules\n",
    "miniprogram_mock/server.py": "",
    "verifier/offline.py": "",
    "domain/shared/clock.py": "",
    "domain/seals/models.py": "",
    "domain/seals/crypto.py": "",
    "domain/seals/rules.py": "from domain.shared import clock\n",
    "domain/seals/service.py": "from domain.seals import crypto, models, rules\n",
    "domain/licenses/rules.py": "from domain.seals import rules\n",
    "domain/licenses/service.py": "from domain.seals import rules, service\nfrom domain.shared import clock\n",
}


def _layout(folder: Path, contract: dict) -> None:
    for file, imports in LAYOUT.items():
        for package in Path(file).parents[:-1]:
            (folder / package).mkdir(parents=True, exist_ok=True)
            (folder / package / "__init__.py").touch()
        (folder / file).write_text(imports)
    # the contract's patterns as written; its one-off ignores name modules this small copy lacks,
    # and some patterns (ports, errors) have nothing to match here
    patterns = [line for line in contract.get("ignore_imports", []) if "*" in line]
    copy = {**contract, "ignore_imports": patterns, "unmatched_ignore_imports_alerting": "none"}
    config = {**CONTRACTS, "contracts": [copy]}
    (folder / "pyproject.toml").write_text(_toml({"tool": {"importlinter": config}}))


def _toml(table: dict, prefix: str = "") -> str:
    """Just enough TOML for an import-linter section (the standard library only reads it)."""
    lines, tables = [], []
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            tables.append(f"[{name}]\n" + _toml(value, name))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            tables += [f"[[{name}]]\n" + _toml(item, name) for item in value]
        else:
            lines.append(f"{key} = {_value(value)}")
    return "\n".join(lines) + "\n" + "".join(tables)


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.parametrize("contract_id", sorted(BREACHES))
def test_each_contract_fails_on_the_import_it_forbids(tmp_path, contract_id):
    """A rule that cannot fail is no rule: the same contract passes a clean copy of the layout and
    fails once one forbidden import is added to it."""
    [contract] = [c for c in CONTRACTS["contracts"] if c["id"] == contract_id]
    _layout(tmp_path, contract)
    clean = lint_imports(tmp_path, contract_id)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    file, breach = BREACHES[contract_id]
    with (tmp_path / file).open("a") as source:
        source.write(breach)
    broken = lint_imports(tmp_path, contract_id)
    assert broken.returncode == 1 and "BROKEN" in broken.stdout, broken.stdout + broken.stderr
    assert file.removesuffix(".py").replace("/", ".") in broken.stdout


def test_every_contract_has_a_breach_that_proves_it():
    assert {c["id"] for c in CONTRACTS["contracts"]} == set(BREACHES)
