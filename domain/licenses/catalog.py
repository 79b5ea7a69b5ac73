"""License types (证照类型) after the national catalog: loaded from seed_data/license_types.json.

Each type has a JSON Schema for its data, the kind of department that issues it, a validity rule,
whether it belongs to a person or a legal person, which field names the holder (and, for a legal
person, whose wallet shows it) and which fields are sensitive (masked in the wallet).
Types change with the code (a reviewed data file), not at run time.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SEED_DATA = Path(__file__).parent / "seed_data" / "license_types.json"


@dataclass(frozen=True)
class LicenseType:
    code: str
    name: str
    holder_kind: str  # person | legal_person
    issuer_kind: str  # the department kind whose seal may issue it (public_security, civil_affairs...)
    validity: dict[str, Any]  # {"kind": "permanent"} | {"kind": "years", "years": n} | {"kind": "field", "field": f}
    holder_field: str  # the field with the holder's ID number or unified social credit code
    wallet_field: str  # the field with the ID number of the citizen whose wallet shows it
    sensitive: dict[str, str]  # field -> mask kind (id_number | name | text)
    schema: dict[str, Any]
    example: dict[str, Any]

    @functools.cached_property
    def validator(self) -> Draft202012Validator:
        return Draft202012Validator(self.schema)

    @property
    def fields(self) -> list[str]:
        return list(self.schema["properties"])

    def problems(self, data: Any) -> list[dict[str, str]]:
        """Field-by-field schema violations of ``data`` (empty when valid)."""
        if not isinstance(data, dict):
            return [{"field": "data", "message": "应为JSON对象"}]
        found = []
        for error in sorted(self.validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
            where = ".".join(str(p) for p in error.absolute_path)
            field = "data." + where if where else "data"
            found.append({"field": field, "message": _message(error)})
        return found


def _message(error) -> str:
    return {"required": "缺少必填项", "type": "类型有误", "pattern": "格式有误", "enum": "不在可选值中",
            "additionalProperties": "不支持的字段", "minimum": "数值过小", "maximum": "数值过大",
            "minLength": "内容过短", "maxLength": "内容过长", "minItems": "至少一项",
            "exclusiveMinimum": "数值过小"}.get(error.validator, "不符合要求") + f"（{error.message[:80]}）"


@functools.lru_cache(maxsize=1)
def license_types() -> dict[str, LicenseType]:
    raw = json.loads(SEED_DATA.read_text(encoding="utf-8"))
    types = {}
    for entry in raw["types"]:
        Draft202012Validator.check_schema(entry["schema"])
        types[entry["code"]] = LicenseType(**entry)
    return types


def license_type(code: str) -> LicenseType | None:
    return license_types().get(code) if isinstance(code, str) else None


class CatalogLicenseTypes:
    """The catalog as the seals module's ``LicenseTypes`` port: which types a department kind issues
    (a seal is bound to some of them; wired in bff/container.py)."""

    def issued_by(self, department_kind: str) -> list[str]:
        return [kind.code for kind in license_types().values() if kind.issuer_kind == department_kind]
