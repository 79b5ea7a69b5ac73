"""Tables owned by topics: the service topics product teams curate for the channels' home pages."""
from __future__ import annotations

from tortoise import fields, models


class Topic(models.Model):
    """A service topic (服务专题): a curated page of matters, bundles and links, shown on some
    channels to some regions, switched on and off by product teams or by its own time window.

    ``entries`` is an ordered list of ``{id, kind, ref, title, icon}``; ``channels`` and
    ``regions`` are lists (``regions`` empty = nationwide). ``version`` grows by one with every
    change: an editor's write names the version it was based on (optimistic locking).
    """

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    title = fields.CharField(max_length=60)
    subtitle = fields.CharField(max_length=120, null=True)
    banner_url = fields.CharField(max_length=500, null=True)
    entries = fields.JSONField()
    channels = fields.JSONField()
    regions = fields.JSONField()
    status = fields.CharField(max_length=16, db_index=True)  # draft | published | offline
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    weight = fields.IntField(default=0)  # higher shows first
    version = fields.IntField(default=1)
    published_at = fields.DatetimeField(null=True)  # the last time it went out
    created_by = fields.CharField(max_length=64)
    updated_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "topics"
