"""Tables of the platform's figures (the schema itself is owned by Alembic: migration 0023)."""
from __future__ import annotations

from tortoise import fields, models


class FigureRollup(models.Model):
    """One figure of the platform (平台运行数据) for one dimension over one hour or one Beijing day.

    Kept by the ``roll_up_figures`` job from the capabilities' own counts and from the counters taken
    at request time; read by the dashboard and the public figures, never computed on a page view.
    A roll-up of a period replaces every row of it: re-running an hour or a day gives the same rows.
    ``dimension`` is "" for a figure without one, else a channel, a route group, a department's node
    code, or "<route group>|<bucket>" for latency buckets."""

    id = fields.BigIntField(primary_key=True)
    figure = fields.CharField(max_length=32)
    dimension = fields.CharField(max_length=100)
    grain = fields.CharField(max_length=8)  # hour | day
    period_start = fields.DatetimeField()  # UTC: the hour, or 00:00 of the Beijing day
    value = fields.BigIntField()
    rolled_at = fields.DatetimeField()

    class Meta:
        table = "figure_rollups"
        unique_together = (("figure", "dimension", "grain", "period_start"),)
        indexes = (("grain", "period_start"),)
