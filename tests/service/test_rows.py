"""domain/shared/rows.insert_rows on both backends: values stored as Tortoise stores them (JSON,
dates, booleans, aware datetimes), ids back in the order given, conflicts skipped when asked,
large inserts split under the parameter limit, and a failed insert leaving nothing behind; ``unsaved``
builds the instance ``Model.__init__`` builds."""
from __future__ import annotations

from datetime import UTC, date, datetime, timezone

import pytest
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.applications.models import Application, Transition
from domain.delivery.models import Delivery
from domain.shared import rows
from domain.shared.models import IdempotencyKey
from domain.shared.rows import fields_of, insert_rows, unsaved

AT = datetime(2026, 11, 27, 16, 5, 30, 123456, tzinfo=UTC)


def _delivery(key: str, **changes) -> dict:
    return {"kind": "node.application.submitted", "target": "zj-platform", "payload": {"键": key, "n": [1, 2]},
            "dedupe_key": key, "status": "pending", "attempts": 0, "next_attempt_at": AT, "created_at": AT,
            "updated_at": AT, **changes}


async def test_rows_read_back_as_the_orm_wrote_them_and_ids_come_back_in_order(resources):
    conn = Tortoise.get_connection("default")
    returned = await insert_rows(Delivery, [_delivery(f"k{i}") for i in range(5)], connection=conn,
                                 returning=("id", "dedupe_key"))
    assert [r["dedupe_key"] for r in returned] == [f"k{i}" for i in range(5)]
    assert [r["id"] for r in returned] == sorted(r["id"] for r in returned)
    stored = await Delivery.get(dedupe_key="k3")
    assert stored.id == returned[3]["id"] and stored.payload == {"键": "k3", "n": [1, 2]}
    assert stored.next_attempt_at == AT and stored.claimed_by is None


async def test_a_model_instance_goes_in_with_its_dates_and_booleans(resources):
    app = Application(number="330106-20261128-000001", person_id="p_1", matter_code="m", matter_name="事项",
                      department_code="d", region_code="330106000000", node_code="zj-platform", channel="wechat",
                      status="submitted", form_sealed="x", promised_limit_days=5, due_on=date(2026, 12, 4),
                      calendar_basis="official", overdue=True, decision={"approved": False}, submitted_at=AT,
                      version=2, created_at=AT, updated_at=AT)
    [row] = await insert_rows(Application, [fields_of(app)], connection=Tortoise.get_connection("default"),
                              returning=("id",))
    stored = await Application.get(id=row["id"])
    assert (stored.due_on, stored.overdue, stored.decision, stored.submitted_at, stored.version) == (
        date(2026, 12, 4), True, {"approved": False}, AT, 2)


def _key(key: str) -> dict:
    return {"scope": "applications", "person_id": "p_1", "key": key, "operation": "submit", "request_hash": "h",
            "created_at": AT}


async def test_conflicts_are_skipped_only_when_asked(resources):
    # (a plain unique table: on PostgreSQL deliveries skip a used dedupe key on every insert,
    # through their key table; tests/service/test_partitions.py)
    conn = Tortoise.get_connection("default")
    await insert_rows(IdempotencyKey, [_key("same")], connection=conn)
    returned = await insert_rows(IdempotencyKey, [_key("same"), _key("other")], connection=conn,
                                 returning=("key",), ignore_conflicts=True)
    assert [r["key"] for r in returned] == ["other"]
    with pytest.raises(IntegrityError):
        async with in_transaction() as tx:
            await insert_rows(IdempotencyKey, [_key("third"), _key("same")], connection=tx)
    assert await IdempotencyKey.filter(key="third").count() == 0  # the whole statement failed
    assert await IdempotencyKey.all().count() == 2


async def test_many_rows_are_split_under_the_parameter_limit(resources, monkeypatch):
    monkeypatch.setattr(rows, "MAX_PARAMETERS", 25)  # 9 columns a row: 2 rows a statement
    returned = await insert_rows(Delivery, [_delivery(f"s{i}") for i in range(7)],
                                 connection=Tortoise.get_connection("default"), returning=("dedupe_key",))
    assert [r["dedupe_key"] for r in returned] == [f"s{i}" for i in range(7)]
    assert await Delivery.all().count() == 7


async def test_nothing_to_insert_sends_nothing(resources):
    assert await insert_rows(Delivery, [], connection=Tortoise.get_connection("default")) == []


DRAFT = {"number": "330106-20261128-000002", "person_id": "p_1", "matter_code": "m", "matter_name": "事项",
         "department_code": "d", "region_code": "330106000000", "node_code": "zj-platform",
         "channel": "wechat",
         "status": "draft", "form_sealed": "x", "promised_limit_days": 5, "due_on": date(2026, 12, 4),
         "calendar_basis": "official", "submitted_at": AT, "created_at": AT, "updated_at": AT}


@pytest.mark.parametrize("model, values", [
    (Application, DRAFT),  # entry, overdue, version and the other times from their defaults
    (Application, {**DRAFT, "entry": "bundle", "overdue": True, "version": 3, "decision": {"approved": True},
                   "accepted_at": datetime(2026, 11, 28, tzinfo=timezone.utc)}),
    (Transition, {"application_id": 7, "name": "submit", "from_status": "draft", "to_status": "submitted",
                  "at": AT, "actor_kind": "citizen", "actor_id": "p_1"}),  # reason and event_id default
])
async def test_unsaved_builds_what_the_orm_builds_and_it_saves_as_new(resources, model, values):
    fast, orm = unsaved(model, **values), model(**values)
    assert vars(fast) == vars(orm)
    if model is Application:  # it is a new row to Tortoise too: save() inserts it
        await fast.save()
        assert (await Application.get(number=DRAFT["number"])).version == fast.version


def test_unsaved_refuses_a_field_the_model_does_not_store():
    with pytest.raises(TypeError, match="no stored fields"):
        unsaved(Transition, application_id=1, nmae="submit")


def _stored_fields():
    """Every stored field of every model the hub has."""
    import importlib

    from tortoise.models import Model

    from domain import MODEL_MODULES

    modules = [importlib.import_module(m) for m in MODEL_MODULES]
    models = {v for m in modules for v in vars(m).values()
              if isinstance(v, type) and issubclass(v, Model) and v is not Model and not v._meta.abstract}
    return [(model, name, model._meta.fields_map[name]) for model in sorted(models, key=lambda m: m.__name__)
            for name in model._meta.fields_db_projection]


SAMPLES = [None, "", "短", "x" * 8, "x" * 64, "x" * 65, "x" * 300, 0, 7, -3, 2**40, True, False, 1.5, "12",
           AT, datetime(2026, 11, 27, 16, 5), date(2026, 12, 4), "2026-12-04T10:00:00+08:00",
           {"键": [1, None]}, [1, "a"], b"bytes"]


def _outcome(convert, value):
    import warnings

    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            result = convert(value)
        except Exception as refused:  # the same refusal, word for word
            return "refused", type(refused), str(refused), [str(w.message) for w in warned]
    return "stored", type(result), result, [str(w.message) for w in warned]


def test_to_db_stores_every_value_as_tortoise_would_for_every_field(resources):
    fields = _stored_fields()
    assert len(fields) > 500  # every model was found
    for model, name, field in fields:
        longest = getattr(field, "max_length", 1)
        for value in SAMPLES + ["y" * longest, "y" * (longest + 1)]:
            tortoise = _outcome(lambda v: field.to_db_value(v, None), value)  # noqa: B023 (called at once)
            assert _outcome(rows.to_db(field), value) == tortoise, (model.__name__, name, value)
