"""A submit's few seconds' memory of the matter and its nodes (domain/applications/submission.py):
what it keeps is a frozen snapshot, never the ORM object another request could change."""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from domain.applications.submission import MatterTerms, RecentReads


def _matter(**changes):
    fields = {"id": 7, "code": "330100-NAT-0036", "catalog_code": "NAT-0036", "name": "居民身份证挂失申报",
              "entry": "application", "region_code": "330100000000", "department_code": "hz-gaj",
              "channels": ["wechat"], "online_depth": 4, "form_schema": {"required": ["amount_fen"]},
              "materials": [{"slot": "id_card"}], "promised_limit_days": 5, "instant_approval": False,
              "status": "active"}
    return SimpleNamespace(**{**fields, **changes})


class Catalog:
    def __init__(self):
        self.reads, self.row = 0, _matter()

    async def matter(self, *, code):
        self.reads += 1
        return self.row


async def test_the_matter_is_kept_as_a_frozen_copy_read_once():
    catalog = Catalog()
    reads = RecentReads(catalog=catalog, nodes=None)
    first = await reads.matter("330100-NAT-0036")
    catalog.row.form_schema["required"].append("bank_account")  # a request changing its own object
    catalog.row.channels.append("alipay")
    again = await reads.matter("330100-NAT-0036")
    assert again is first and catalog.reads == 1
    assert first.form_schema == {"required": ["amount_fen"]} and first.channels == ("wechat",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.name = "another"  # type: ignore[misc]
    reads.forget()
    assert (await reads.matter("330100-NAT-0036")).channels == ("wechat", "alipay") and catalog.reads == 2


def test_terms_copy_every_field_a_submission_reads():
    terms = MatterTerms.of(_matter())
    assert {f.name for f in dataclasses.fields(terms)} <= set(vars(_matter()))
