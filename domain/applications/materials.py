"""Materials of applications (申请材料): files a citizen uploads before applying, kept through the
storage port; e-licenses of their wallet named instead of a file; what a submission or a
resubmission attaches; the bytes a handling node may fetch; and uploads nobody used, deleted.

An upload exists before the application that uses it and belongs to one person. Attaching is a
conditional update (only while the upload is still free), so two submissions racing for one
upload cannot both take it.
"""
from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.applications import material_rules, rules
from domain.applications.errors import ApplicationNotFound, MaterialsInvalid
from domain.applications.models import Application, Material
from domain.applications.ports import EmptyWallet, LicenseRef, LicenseWallet, MaterialStore
from domain.applications.views import MaterialContent, MaterialView, material_view
from domain.shared.clock import Clock

log = logging.getLogger("govhub.applications.materials")

# An upload no application used within this long is deleted, file and row: a citizen's document
# is not kept for an application that was never made.
UNUSED_UPLOAD_KEPT = timedelta(hours=24)
PURGE_BATCH = 500


@dataclass
class Resolved:
    """A material as given in a submission, resolved against the person's uploads and wallet."""

    given: material_rules.GivenMaterial
    upload: Material | None = None
    license: LicenseRef | None = None


class Materials:
    def __init__(self, *, clock: Clock, store: MaterialStore, upload_max_bytes: int,
                 wallet: LicenseWallet | None = None) -> None:
        self.clock, self.store, self.upload_max_bytes = clock, store, upload_max_bytes
        self.wallet: LicenseWallet = wallet or EmptyWallet()

    async def upload(self, *, person_id: str, data: bytes, filename: str | None) -> MaterialView:
        """Check and keep an uploaded file; a later submit or resubmit names it by its id."""
        content_type = material_rules.check_upload(data, max_bytes=self.upload_max_bytes)
        now = self.clock.now()
        key = f"{now:%Y/%m/%d}/{uuid.uuid4().hex}"
        await self.store.put(key, data, content_type=content_type)
        material = await Material.create(
            public_id="m_" + secrets.token_hex(12), person_id=person_id, kind="upload", storage_key=key,
            filename=material_rules.safe_filename(filename), content_type=content_type, size=len(data),
            sha256=sha256(data).hexdigest(), created_at=now)
        return material_view(material)

    async def for_node(self, *, node_code: str, number: str, material_id: str) -> MaterialContent:
        """An uploaded material's bytes, for the node that handles the application only."""
        app = await Application.get_or_none(**rules.by_number(number), node_code=node_code)
        material = await Material.get_or_none(public_id=material_id, application_id=app.id) if app else None
        if material is None or material.storage_key is None:
            raise ApplicationNotFound("未找到该办件或材料")
        return MaterialContent(data=await self.store.get(material.storage_key),
                               content_type=material.content_type or "application/octet-stream",
                               filename=material.filename)

    async def applicants_naming(self, *, license_id: str, node_code: str) -> list[str]:
        """Who applied, to this node, with this e-license as a material (the licenses module
        releases the license to that node without a separate consent). Withdrawn ones do not count."""
        named = Material.filter(kind="license", license_id=license_id, application__node_code=node_code)
        rows = await named.exclude(application__status=rules.WITHDRAWN).values_list("application__person_id",
                                                                                    flat=True)
        return sorted(set(rows))

    async def resolve(self, person_id: str, items: Sequence[dict]) -> list[Resolved]:
        """Each given material with the problem it has, if any: an upload that is not the person's,
        taken already or given twice; a license not (or no longer) in their wallet."""
        upload_ids = [i.get("upload_id") for i in items if i.get("upload_id")]
        uploads = {m.public_id: m for m in await Material.filter(
            public_id__in=upload_ids, person_id=person_id, kind="upload")} if upload_ids else {}
        resolved, seen = [], set()
        for item in items:
            slot = str(item.get("name") or "")
            if upload_id := item.get("upload_id"):
                row = uploads.get(upload_id)
                problem = ("未找到该上传文件" if row is None else "该文件已用于其他办件" if row.application_id
                           else "同一文件不能重复使用" if upload_id in seen else None)
                seen.add(upload_id)
                resolved.append(Resolved(material_rules.GivenMaterial(slot, "upload", problem=problem), upload=row))
            elif license_id := item.get("license_id"):
                ref = await self.wallet.holds(person_id=person_id, license_id=license_id)
                problem = None if ref else "电子证照夹中没有该证照或证照已失效"
                license_type = ref.license_type if ref else None
                given = material_rules.GivenMaterial(slot, "license", license_type, problem=problem)
                resolved.append(Resolved(given, license=ref))
            else:
                problem = "应给出 upload_id 或 license_id"
                resolved.append(Resolved(material_rules.GivenMaterial(slot, "upload", problem=problem)))
        return resolved

    async def attach(self, conn: BaseDBAsyncClient, app: Application, resolved: list[Resolved],
                     now: datetime) -> list[Material]:
        """Attach resolved materials to ``app`` on ``conn``: uploads taken (if still free), licenses
        recorded as references."""
        attached = []
        for item in resolved:
            if item.upload is not None:
                # conditional: two submissions racing for one upload cannot both take it
                taken = await Material.filter(id=item.upload.id, application_id=None).using_db(conn).update(
                    application_id=app.id, slot=item.given.slot, attached_at=now)
                if not taken:
                    raise MaterialsInvalid("该文件已用于其他办件",
                                           errors=[{"field": "materials", "message": "该文件已用于其他办件"}])
                item.upload.slot, item.upload.attached_at = item.given.slot, now
                attached.append(item.upload)
            elif item.license is not None:
                attached.append(await Material.create(
                    public_id="m_" + secrets.token_hex(12), person_id=app.person_id, application_id=app.id,
                    slot=item.given.slot, kind="license", license_id=item.license.license_id,
                    license_type=item.license.license_type, filename=item.license.title, created_at=now,
                    attached_at=now, using_db=conn))
        return attached

    async def purge_unused(self) -> dict:
        """Delete uploads older than ``UNUSED_UPLOAD_KEPT`` that no application took. Each row is
        deleted only if still unattached (a submit taking it right now wins: on PostgreSQL the
        delete waits for that transaction), then its file."""
        cutoff = self.clock.now() - UNUSED_UPLOAD_KEPT
        rows = await (Material.filter(kind="upload", application_id=None, created_at__lt=cutoff)
                      .order_by("id").limit(PURGE_BATCH))
        purged = 0
        for row in rows:
            if not await Material.filter(id=row.id, application_id=None).delete():
                continue
            purged += 1
            try:
                await self.store.delete(row.storage_key)
            except OSError:  # the row is gone, so nothing refers to the file: logged, not retried
                log.warning("unused upload %s: file %s not deleted", row.public_id, row.storage_key, exc_info=True)
        return {"purged": purged}


def payload(m: Material, number: str) -> dict:
    """A material as the department receives it: an upload to fetch (signed), or a license to pull."""
    if m.kind == "license":
        return {"name": m.slot, "kind": "license", "license_id": m.license_id, "license_type": m.license_type}
    return {"name": m.slot, "kind": "upload", "id": m.public_id, "filename": m.filename,
            "content_type": m.content_type, "size": m.size, "sha256": m.sha256,
            "download": f"/gov/v1/applications/{number}/materials/{m.public_id}"}
