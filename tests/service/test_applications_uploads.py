"""Applications on the database, uploads: checked and kept by the store, deleted when no application
took them within a day, fetched by the handling node."""
from __future__ import annotations

import pytest

from domain.applications import errors
from domain.applications.models import Material
from tests.support.application_service import NOW, alice, nodes, service  # noqa: F401  (fixtures)
from tests.support.application_service import submit as _submit
from tests.support.application_service import upload as _upload
from tests.support.applications import PDF

pytestmark = pytest.mark.frozen_at(NOW)


async def test_uploads_are_checked_and_kept_by_the_store(service, alice, tmp_path):
    view = await service.upload_material(person_id="p_alice", data=PDF, filename="../合同.pdf")
    assert (view.content_type, view.size, view.filename, view.slot) == ("application/pdf", len(PDF), "合同.pdf", None)
    stored = await Material.get(public_id=view.id)
    assert (tmp_path / stored.storage_key).read_bytes() == PDF
    with pytest.raises(errors.MaterialTypeNotAllowed):
        await service.upload_material(person_id="p_alice", data=b"<html>not a scan</html>", filename="a.pdf")
    with pytest.raises(errors.MaterialTooLarge):
        await service.upload_material(person_id="p_alice", data=PDF + b"0" * 5000, filename="big.pdf")
    assert await Material.all().count() == 1


async def test_uploads_no_application_took_within_a_day_are_deleted_file_and_row(service, alice, clock, tmp_path):
    used = await _submit(service)  # its upload is attached: kept
    kept_upload = await Material.get(kind="upload", application_id__not_isnull=True)
    unused = await _upload(service)
    unused_file = tmp_path / (await Material.get(public_id=unused)).storage_key
    assert unused_file.exists()
    clock.advance(23 * 3600)
    recent = await _upload(service)
    assert await service.purge_unused_uploads() == {"purged": 0}  # nothing a day old yet
    clock.advance(3600 + 1)
    assert await service.purge_unused_uploads() == {"purged": 1}
    left = {m.public_id for m in await Material.filter(kind="upload")}
    assert left == {kept_upload.public_id, recent}
    assert not unused_file.exists() and (tmp_path / kept_upload.storage_key).exists()
    assert (await service.detail(person_id="p_alice", number=used.application.number)).materials


async def test_the_handling_node_fetches_uploaded_material(service, alice):
    app = (await _submit(service)).application
    upload = next(m for m in app.materials if m.kind == "upload")
    content = await service.material_for_node(node_code="zj-platform", number=app.number, material_id=upload.id)
    assert (content.data, content.content_type) == (PDF, "application/pdf")
    with pytest.raises(errors.ApplicationNotFound):
        await service.material_for_node(node_code="bj-psb", number=app.number, material_id=upload.id)
