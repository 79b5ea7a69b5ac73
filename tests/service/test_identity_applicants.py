"""``IdentityService.applicants``: the people a batch of submissions names, read in one query of the
fields an applicant needs (domain/identity/people.py) — the same answer ``me`` gives each of them:
assurance now (L3 only while the face scan is fresh), the masked name, merges followed, the
unknown left out — on either backend (SQLite hands times back as text)."""
from __future__ import annotations

from datetime import timedelta

from domain.identity.models import Person
from domain.identity.people import NAME
from domain.identity.rules import FACE_FRESH_FOR


async def test_many_applicants_in_one_read_as_me_sees_each(resources):
    identity, vault, now = resources.identity, resources.vault, resources.clock.now()

    async def person(public_id: str, name: str | None, assurance: int, **more) -> Person:
        return await Person.create(public_id=public_id, assurance=assurance,
                                   name_sealed=vault.seal(name, context=NAME) if name else None, **more)

    await person("p-plain", "张丽", 2)
    await person("p-face", "王伟", 2, face_verified_at=now - timedelta(minutes=1))
    await person("p-stale-face", "李娜", 2, face_verified_at=now - FACE_FRESH_FOR - timedelta(minutes=1))
    await person("p-l1", None, 1)
    survivor = await person("p-survivor", "赵强", 2)
    await person("p-merged", "赵强", 1, merged_into=survivor, merged_at=now)

    asked = ["p-plain", "p-face", "p-stale-face", "p-l1", "p-merged", "p-unknown", "p-plain"]
    found = await identity.applicants(person_ids=asked)
    assert {key: (a.id, a.assurance, a.name_masked) for key, a in found.items()} == {
        "p-plain": ("p-plain", 2, "*丽"), "p-face": ("p-face", 3, "*伟"), "p-stale-face": ("p-stale-face", 2, "*娜"),
        "p-l1": ("p-l1", 1, None), "p-merged": ("p-survivor", 2, "*强")}
    for key, applicant in found.items():  # one read for all answers what ``me`` answers each alone
        me = await identity.me(person_id=key)
        assert (applicant.id, applicant.assurance, applicant.name_masked) == (me.id, me.assurance, me.name_masked)
    assert await identity.applicants(person_ids=[]) == {}
