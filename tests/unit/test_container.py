"""The hub's typed wiring: ``app.ctx`` (HubContext) names every service of the Hub with its type."""
from __future__ import annotations

import typing
from dataclasses import fields

from bff.container import Hub, HubContext


def test_the_app_context_declares_every_hub_field_with_its_type():
    hub_types = typing.get_type_hints(Hub)
    context_types = typing.get_type_hints(HubContext)
    assert {f.name: hub_types[f.name] for f in fields(Hub)} == \
        {name: context_types[name] for name in hub_types if name in context_types}
    assert set(hub_types) <= set(context_types), "add the new Hub field to HubContext as well"


def test_a_hub_is_frozen():
    assert Hub.__dataclass_params__.frozen
