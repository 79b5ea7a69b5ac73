"""Pure rules of materials (申请材料): which ones a matter asks for and how many, and what an
uploaded file really is. No I/O: ``materials.py`` stores and attaches them."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.applications.errors import MaterialsInvalid, MaterialTooLarge, MaterialTypeNotAllowed

MAX_ITEMS_PER_MATERIAL = 9  # pages of one material (a contract photographed page by page)


@dataclass(frozen=True)
class GivenMaterial:
    """A material as the citizen gave it, resolved: an upload of theirs or a license in their wallet."""

    slot: str  # the matter's material name
    kind: str  # upload | license
    license_type: str | None = None
    problem: str | None = None  # set when the reference did not resolve (not found, not theirs, used)


def material_problems(required: Sequence[dict], given: Sequence[GivenMaterial]) -> list[dict[str, str]]:
    """Every material named by the matter, satisfied; nothing the matter does not name."""
    by_name = {m["name"]: m for m in required}
    problems, counts = [], {}
    for i, item in enumerate(given):
        field = f"materials[{i}]"
        spec = by_name.get(item.slot)
        if spec is None:
            problems.append({"field": f"{field}.name", "message": "该事项不需要此材料"})
            continue
        if item.problem:
            problems.append({"field": field, "message": item.problem})
            continue
        if item.kind == "license":
            if not spec.get("license_type"):
                problems.append({"field": field, "message": "该材料不能以电子证照提供，请上传文件"})
                continue
            if item.license_type != spec["license_type"]:
                problems.append({"field": field, "message": "电子证照类型与该材料不符"})
                continue
        counts[item.slot] = counts.get(item.slot, 0) + 1
        if counts[item.slot] == MAX_ITEMS_PER_MATERIAL + 1:
            problems.append({"field": field, "message": f"每项材料最多{MAX_ITEMS_PER_MATERIAL}个文件"})
    for spec in required:
        if spec.get("required", True) and spec["name"] not in counts:
            problems.append({"field": "materials", "message": f"缺少必需材料：{spec['name']}"})
    return problems


def check_materials(required: Sequence[dict], given: Sequence[GivenMaterial]) -> None:
    problems = material_problems(required, given)
    if problems:
        raise MaterialsInvalid("请检查申请材料", errors=problems)


# Uploads.

# What a file really is, by its first bytes: the declared content type is the client's guess.
_SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"),
               (b"\x89PNG\r\n\x1a\n", "image/png"))
UPLOAD_TYPES = tuple(t for _, t in _SIGNATURES)


def sniff_content_type(head: bytes) -> str | None:
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def check_upload(data: bytes, *, max_bytes: int) -> str:
    """The file's real content type, or a typed refusal (type first: it says more)."""
    content_type = sniff_content_type(data[:16])
    if content_type is None:
        raise MaterialTypeNotAllowed("仅支持 PDF、JPEG、PNG 格式的文件", allowed=list(UPLOAD_TYPES))
    if not data or len(data) > max_bytes:
        raise MaterialTooLarge(f"文件不能超过{max_bytes // 1024}KB", max_bytes=max_bytes)
    return content_type


def safe_filename(name: str | None) -> str | None:
    """The name to show back, never a path: the last segment, printable, at most 200 characters."""
    if not name:
        return None
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in last if ch.isprintable())[:200].strip()
    return cleaned or None
