"""Bundle declarations (一件事配置): product teams create and change a bundle's draft, validate it
against the catalog and the license types, and publish it (/admin/v1); each change is audited and
guarded by the version read. Citizens only ever see the published declaration.
"""
from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.applications import rules as application_rules
from domain.audit.service import SEED, Actor, AuditLog
from domain.bundles import declaration_rules
from domain.bundles.errors import BundleExists, BundleInvalid, BundleNotFound, BundleVersionConflict
from domain.bundles.models import Bundle
from domain.bundles.views import BundleView, bundle_view
from domain.catalog.errors import MatterNotFound
from domain.shared.clock import Clock


class BundleDeclarations:
    def __init__(self, *, clock: Clock, catalog, licenses) -> None:
        """``catalog``, ``licenses``: those modules' services (matters and license types checked)."""
        self.clock, self.catalog, self.licenses = clock, catalog, licenses

    async def list(self) -> list[BundleView]:
        return [bundle_view(b) for b in await Bundle.all().order_by("code")]

    async def get(self, code: str) -> BundleView:
        return bundle_view(await bundle_row(code))

    async def save(self, *, actor: Actor, code: str, definition: dict, version: int | None = None,
                   request_id: str | None = None) -> BundleView:
        """Create the bundle (``version`` None) or change its draft (``version`` = the one read).
        The shape is checked now; matters, cycles and coverage when validating or publishing."""
        definition = {**definition, "code": code}
        problems = declaration_rules.structure_problems(definition)
        if problems:
            raise BundleInvalid("请检查以下配置：" + "、".join(p["field"] for p in problems), errors=problems)
        now = self.clock.now()
        async with in_transaction():
            existing = await Bundle.select_for_update().get_or_none(code=code)
            if existing is None:
                if version is not None:
                    raise BundleNotFound(f"“一件事” {code} 不存在")
                try:
                    row = await Bundle.create(code=code, name=definition["name"], status="draft", draft=definition,
                                              version=1, created_at=now, updated_at=now)
                except IntegrityError as exc:
                    raise BundleExists(f"“一件事” {code} 已存在") from exc
                before = None
            else:
                if version is None:
                    raise BundleExists(f"“一件事” {code} 已存在；修改请带上当前版本号")
                if version != existing.version:
                    raise BundleVersionConflict(f"当前版本为 {existing.version}", current_version=existing.version)
                before = {"version": existing.version, "draft": existing.draft}
                existing.draft, existing.name = definition, definition["name"]
                existing.version, existing.updated_at = existing.version + 1, now
                await existing.save(update_fields=["draft", "name", "version", "updated_at"])
                row = existing
            await AuditLog.record(actor=actor, action="bundle.save", target_type="bundle", target_id=code,
                                  before=before, after={"version": row.version, "draft": definition},
                                  request_id=request_id, at=now)
        return bundle_view(row)

    async def validate(self, *, code: str) -> list[dict[str, str]]:
        """The draft's problems (empty: publishable)."""
        return await self._problems((await bundle_row(code)).draft)

    async def publish(self, *, actor: Actor, code: str, version: int, request_id: str | None = None) -> BundleView:
        row = await bundle_row(code)
        if version != row.version:
            raise BundleVersionConflict(f"当前版本为 {row.version}", current_version=row.version)
        problems = await self._problems(row.draft)
        if problems:
            raise BundleInvalid("校验未通过，不能发布：" + "；".join(p["message"] for p in problems[:3]),
                                errors=problems)
        now = self.clock.now()
        async with in_transaction():
            updated = await Bundle.filter(id=row.id, version=version).update(
                published=row.draft, published_version=version, status="published", published_at=now,
                updated_at=now)
            if not updated:
                raise BundleVersionConflict("配置已被他人修改，请刷新后重试")
            await AuditLog.record(actor=actor, action="bundle.publish", target_type="bundle", target_id=code,
                                  before={"published_version": row.published_version},
                                  after={"published_version": version}, request_id=request_id, at=now)
        return bundle_view(await Bundle.get(id=row.id))

    async def seed(self, definitions: list[dict]) -> dict[str, int]:
        """Declare and publish the demo bundles (idempotent: an unchanged one is left alone)."""
        report = {"created": 0, "changed": 0, "unchanged": 0}
        for definition in definitions:
            existing = await Bundle.get_or_none(code=definition["code"])
            if existing is not None and existing.published == definition:
                report["unchanged"] += 1
                continue
            view = await self.save(actor=SEED, code=definition["code"], definition=definition,
                                   version=existing.version if existing else None)
            await self.publish(actor=SEED, code=view.code, version=view.version)
            report["changed" if existing else "created"] += 1
        return report

    async def _problems(self, definition: dict) -> list[dict[str, str]]:
        found = declaration_rules.structure_problems(definition)
        if found:
            return found
        codes = {s["matter_code"] for s in definition["steps"]}
        codes |= {s["compensation"]["matter_code"] for s in definition["steps"] if s.get("compensation")}
        matters = {code: await self._matter_facts(code) for code in codes}
        licenses = {t.code: declaration_rules.LicenseFacts(fields=frozenset(t.fields), sensitive=frozenset(t.sensitive))
                    for t in self.licenses.types()}
        return declaration_rules.problems(definition, matters, licenses)

    async def _matter_facts(self, code: str) -> declaration_rules.MatterFacts | None:
        try:
            matter = await self.catalog.matter(code=code)
        except MatterNotFound:
            return None
        if not application_rules.may_apply_online(matter.online_depth):
            return None
        required = tuple(m["name"] for m in matter.materials or () if m.get("required"))
        return declaration_rules.MatterFacts(code=matter.code, form_schema=matter.form_schema or {},
                                            required_materials=required, entry=matter.entry)


async def bundle_row(code: str) -> Bundle:
    """The bundle ``code``, or BundleNotFound."""
    row = await Bundle.get_or_none(code=code) if isinstance(code, str) else None
    if row is None:
        raise BundleNotFound(f"未找到“一件事” {code}")
    return row
