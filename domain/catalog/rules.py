"""Pure catalog rules: what a valid matter record is, and its normalized form and content hash."""
from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

KINDS = {
    "administrative_licensing": "行政许可",
    "administrative_confirmation": "行政确认",
    "administrative_payment": "行政给付",
    "administrative_ruling": "行政裁决",
    "administrative_reward": "行政奖励",
    "administrative_levy": "行政征收",
    "public_service": "公共服务",
    "other": "其他行政权力",
}
CHANNELS = ("wechat", "alipay", "app", "pc")
# Which capability submits a matter's applications (its entry point); every other entry refuses it
# (domain/applications/rules.py ``may_enter``). A plain application includes instant approval,
# which runs inside the plain submission.
ENTRIES = {
    "application": "办事申请",  # POST /applications (and a bundle may name it as a step)
    "housing_fund": "住房公积金提取",  # only a withdrawal that passed its rules and its face scan
    "bundle": "“一件事”步骤",  # only as a step of a bundle
}
DEFAULT_ENTRY = "application"
ONLINE_DEPTHS = {1: "信息公开", 2: "在线预约/下载表格", 3: "在线申请、线下核验", 4: "全程网办"}
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TAG = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class RecordProblems(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def normalize(record: dict[str, Any]) -> dict[str, Any]:
    """Check a matter record (from an import row or an admin) and return its stored form.

    Raises RecordProblems naming every problem at once, so an import report says all of them."""
    problems: list[str] = []
    out: dict[str, Any] = {}

    def text(name: str, max_len: int, required: bool = True) -> str:
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                problems.append(f"{name}: required")
            return ""
        if not isinstance(value, str) or len(value.strip()) > max_len:
            problems.append(f"{name}: text of at most {max_len} characters")
            return ""
        return value.strip()

    def integer(name: str, low: int, high: int, default: int) -> int:
        value = record.get(name, default)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            problems.append(f"{name}: a whole number from {low} to {high}")
            return default
        return value

    def flag(name: str, default: bool) -> bool:
        value = record.get(name, default)
        if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
            return value.lower() in {"true", "1", "yes"}
        if not isinstance(value, bool):
            problems.append(f"{name}: true or false")
            return default
        return value

    def tags(name: str) -> list[str]:
        value = _as_list(record.get(name, []))
        if value is None or not all(isinstance(t, str) and _TAG.match(t) for t in value):
            problems.append(f"{name}: a list of lower-case tags")
            return []
        return sorted(set(value))

    out["code"] = text("code", 64)
    if out["code"] and not _CODE.match(out["code"]):
        problems.append("code: letters, digits, '.', '_' and '-' only")
    out["catalog_code"] = text("catalog_code", 32)
    if out["catalog_code"] and not _CODE.match(out["catalog_code"]):
        problems.append("catalog_code: letters, digits, '.', '_' and '-' only")
    out["name"] = text("name", 200)
    out["catalog_name"] = text("catalog_name", 200, required=False) or out["name"]
    out["kind"] = text("kind", 32)
    if out["kind"] and out["kind"] not in KINDS:
        problems.append(f"kind: one of {', '.join(KINDS)}")
    out["region_code"] = text("region_code", 12)
    if out["region_code"] and not re.fullmatch(r"\d{12}", out["region_code"]):
        problems.append("region_code: 12 digits")
    out["department_code"] = text("department_code", 64)
    if out["department_code"] and not _CODE.match(out["department_code"]):
        problems.append("department_code: letters, digits, '.', '_' and '-' only")
    out["for_individuals"] = flag("for_individuals", True)
    out["for_legal_persons"] = flag("for_legal_persons", False)
    if not (out["for_individuals"] or out["for_legal_persons"]):
        problems.append("for_individuals / for_legal_persons: a matter serves someone")
    out["life_events"] = tags("life_events")
    out["themes"] = tags("themes")
    out["zones"] = tags("zones")
    out["legal_limit_days"] = integer("legal_limit_days", 0, 3650, 0)
    out["promised_limit_days"] = integer("promised_limit_days", 0, 3650, 0)
    if out["legal_limit_days"] and out["promised_limit_days"] > out["legal_limit_days"]:
        problems.append("promised_limit_days: cannot exceed legal_limit_days")
    out["fee_fen"] = integer("fee_fen", 0, 10**12, 0)
    out["online_depth"] = integer("online_depth", 1, 4, 1)
    out["cross_province"] = flag("cross_province", False)
    out["instant_approval"] = flag("instant_approval", False)
    out["entry"] = text("entry", 16, required=False) or DEFAULT_ENTRY
    if out["entry"] not in ENTRIES:
        problems.append(f"entry: one of {', '.join(ENTRIES)}")
    out["channels"] = _channels(record.get("channels", list(CHANNELS)), problems)
    out["materials"] = _materials(record.get("materials", []), problems)
    out["form_schema"] = _form_schema(record.get("form_schema", {}), problems)
    if problems:
        raise RecordProblems(problems)
    out["content_hash"] = content_hash(out)
    return out


def entry_given(record: dict[str, Any]) -> bool:
    """Does the record say its entry? A record that does not keeps the stored matter's (a new
    matter gets the default): a feed or an editor unaware of entries never opens a fund's or a
    bundle's matter to the plain route."""
    value = record.get("entry")
    return not (value is None or (isinstance(value, str) and not value.strip()))


def with_entry(normalized: dict[str, Any], entry: str) -> dict[str, Any]:
    """The normalized record with ``entry`` (a stored one, trusted) and its hash to match."""
    changed = {**normalized, "entry": entry}
    changed["content_hash"] = content_hash(changed)
    return changed


def content_hash(normalized: dict[str, Any]) -> str:
    # The default entry is left out, so matters stored before ``entry`` existed keep their hash
    # (a re-import finds them unchanged); any other entry is part of the content.
    body = {k: v for k, v in normalized.items()
            if k != "content_hash" and not (k == "entry" and v == DEFAULT_ENTRY)}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _as_list(value: Any) -> list | None:
    if isinstance(value, str):  # CSV cells: "a|b|c"
        return [v for v in value.split("|") if v]
    return value if isinstance(value, list) else None


def _channels(value: Any, problems: list[str]) -> list[str]:
    value = _as_list(value)
    if value is None or not value or not all(v in CHANNELS for v in value):
        problems.append(f"channels: a non-empty list of {', '.join(CHANNELS)}")
        return []
    return [c for c in CHANNELS if c in value]


def _materials(value: Any, problems: list[str]) -> list[dict]:
    if isinstance(value, str):
        value = _json_cell(value, "materials", problems, [])
    if not isinstance(value, list):
        problems.append("materials: a list")
        return []
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            problems.append(f"materials[{i}]: an object with a name")
            continue
        license_type = item.get("license_type")
        if license_type is not None and not (isinstance(license_type, str) and _TAG.match(license_type)):
            problems.append(f"materials[{i}].license_type: a license type code")
            continue
        out.append({"name": item["name"].strip(), "required": bool(item.get("required", True)),
                    "license_type": license_type, "copies": int(item.get("copies", 1) or 1),
                    "notes": str(item.get("notes", ""))[:500]})
    return out


def _form_schema(value: Any, problems: list[str]) -> dict:
    if isinstance(value, str):
        value = _json_cell(value, "form_schema", problems, {})
    if not isinstance(value, dict):
        problems.append("form_schema: a JSON Schema object")
        return {}
    problem = _schema_problem(json.dumps(value, sort_keys=True))
    if problem:
        problems.append(f"form_schema: not a valid JSON Schema ({problem})")
        return {}
    return value


@lru_cache(maxsize=4096)
def _schema_problem(schema_json: str) -> str | None:
    """Checking against the meta-schema costs milliseconds; an import repeats the same few forms."""
    try:
        Draft202012Validator.check_schema(json.loads(schema_json))
    except SchemaError as exc:
        return exc.message
    return None


def _json_cell(value: str, name: str, problems: list[str], empty):
    if not value.strip():
        return empty
    try:
        return json.loads(value)
    except ValueError:
        problems.append(f"{name}: not valid JSON")
        return empty
