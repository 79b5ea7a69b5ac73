"""Raw SQL where the ORM's cost per row is what a hot path pays: one multi-row INSERT, one
SELECT of a few columns by a list of keys, and the placeholders of either backend.

Tortoise's ``bulk_create`` builds a model per row, a query builder per statement and runs one
``executemany``; in a batch of submissions that was a large share of the hub's CPU (docs/benchmarks.md).
``insert_rows`` sends the same rows as one ``INSERT … VALUES (…), (…)`` whose text is built once per
shape and kept, with each value converted by the model's own field (so JSON, dates and booleans are
stored exactly as Tortoise stores them), and can return columns of what it inserted (PostgreSQL
and SQLite ≥ 3.35 both have ``RETURNING``; rows come back in the order given). ``unsaved`` builds
the model instance of a row the hub made itself without ``Model.__init__``'s checks and conversions.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from functools import lru_cache
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields import DatetimeField, Field
from tortoise.models import Model
from tortoise.validators import MaxLengthValidator

# Both backends bind at most 32,766 parameters to one statement (SQLite since 3.32; PostgreSQL
# 32,767): larger inserts go in several statements.
MAX_PARAMETERS = 32_000
ROW_ID_MAX = 2**63 - 1  # the widest id column (BIGINT) on either backend
M = TypeVar("M", bound=Model)


def is_row_id(value: object) -> bool:
    """Could ``value`` be a row's id? Anything else would make the database raise (an integer
    beyond BIGINT) rather than find nothing: a service asked for it answers "not found"."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= ROW_ID_MAX


def placeholders(connection: BaseDBAsyncClient, count: int, *, start: int = 1) -> list[str]:
    """``$1, $2, …`` on PostgreSQL, ``?`` on SQLite."""
    if connection.capabilities.dialect == "postgres":
        return [f"${n}" for n in range(start, start + count)]
    return ["?"] * count


async def insert_rows(model: type[Model], rows: Sequence[Mapping[str, Any]], *, connection: BaseDBAsyncClient,
                      returning: Sequence[str] = (), ignore_conflicts: bool = False) -> list[dict]:
    """Insert ``rows`` (each a mapping of field name to value, all with the same fields) into
    ``model``'s table. Returns the ``returning`` columns of the inserted rows, in order (rows a
    conflict skipped return nothing)."""
    if not rows:
        return []
    fields = tuple(rows[0])
    meta = model._meta
    converters = _converters(model, fields)
    per_statement = max(1, MAX_PARAMETERS // len(fields))
    out: list[dict] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        sql = _insert_sql(meta.db_table, tuple(meta.fields_db_projection[f] for f in fields), len(chunk),
                          connection.capabilities.dialect, tuple(returning), ignore_conflicts)
        values = [convert(row[f]) for row in chunk for f, convert in zip(fields, converters)]
        if returning:
            out += await connection.execute_query_dict(sql, values)  # fetches on both backends
        else:
            await connection.execute_query(sql, values)
    return out


async def select_in(model: type[Model], fields: Sequence[str], *, where: str, values: Sequence[Any],
                    connection: BaseDBAsyncClient) -> list[dict]:
    """``fields`` of ``model``'s rows whose field ``where`` is one of ``values``, as dicts, each value
    read as the model's field reads it (a time comes back as text from SQLite): no query builder
    and no model per row, which in a batch of submissions cost more than the query (docs/benchmarks.md)."""
    if not values:
        return []
    meta = model._meta
    columns = [meta.fields_db_projection[f] for f in fields]
    readers = [meta.fields_map[f].to_python_value for f in fields]
    sql = (f'SELECT {_names(columns)} FROM "{meta.db_table}" WHERE "{meta.fields_db_projection[where]}" '
           f"IN ({', '.join(placeholders(connection, len(values)))})")
    return [{f: read(row[c]) for f, c, read in zip(fields, columns, readers)}
            for row in await connection.execute_query_dict(sql, list(values))]


def fields_of(instance: Model) -> dict[str, Any]:
    """An unsaved model instance's stored fields (all but a generated key), as ``insert_rows``
    takes them. Auto-now fields are not filled in here: set them."""
    meta = instance._meta
    generated = meta.pk_attr if meta.pk.generated else None
    return {f: getattr(instance, f) for f in meta.fields_db_projection if f != generated}


def unsaved(model: type[M], **values: Any) -> M:
    """``model(**values)`` for values the hub built itself, each already of its field's type (no
    relations, no async defaults): the same instance without ``Model.__init__``'s per-field checks
    and conversions, ~30 µs a row — in a batch of submissions, the drafts and their transitions
    were a twentieth of the hub's CPU (docs/benchmarks.md). A field not given takes its default,
    as there; tests/service/test_rows.py holds the two equal."""
    stored, constants, made = _defaults(model)
    if not stored.issuperset(values):
        raise TypeError(f"{model.__name__} has no stored fields {sorted(set(values) - stored)}")
    instance = model.__new__(model)
    state = instance.__dict__
    state.update(_partial=False, _saved_in_db=False, _custom_generated_pk=False, _await_when_save={})
    state.update(constants)
    state.update((name, make()) for name, make in made if name not in values)
    state.update(values)
    return instance


@lru_cache(maxsize=64)
def _defaults(model: type[Model]) -> tuple[frozenset[str], dict[str, Any], tuple[tuple[str, Callable], ...]]:
    """What ``Model.__init__`` sets for a stored field not given: the fields, the defaults that are
    plain values (None, a number, text) and, per field, the maker of each other default (a
    callable's result, a copy of a mutable value, the database's default)."""
    constants: dict[str, Any] = {}
    made: list[tuple[str, Callable]] = []
    for name in model._meta.fields_db_projection:
        field = model._meta.fields_map[name]
        default = field.default
        if inspect.iscoroutinefunction(default):  # Model.__init__ leaves it for save(): not a row made here
            raise TypeError(f"{model.__name__}.{name} has an async default")
        if callable(default):
            made.append((name, default))
        elif default is None and field.has_db_default():
            made.append((name, field.get_db_default_value))
        elif default is None or isinstance(default, (int, float, str, bool, bytes)):
            constants[name] = default
        else:
            made.append((name, lambda default=default: deepcopy(default)))
    return frozenset(model._meta.fields_db_projection), constants, tuple(made)


@lru_cache(maxsize=256)
def _converters(model: type[Model], fields: tuple[str, ...]) -> tuple[Callable[[Any], Any], ...]:
    return tuple(to_db(model._meta.fields_map[f]) for f in fields)


def to_db(field: Field) -> Callable[[Any], Any]:
    """``field.to_db_value(value, None)``, its common case answered without it: a value already of
    the field's type (None where that passes) that the field's checks pass — none, or a maximum
    length — is stored as it is; anything else goes through Tortoise's own conversion, which
    converts it or refuses it with its own error. Tortoise's conversion and checks per value were
    ~8 % of the hub's CPU in a batch of submissions (docs/benchmarks.md); tests/service/test_rows.py
    holds the two equal for every stored field of every model."""
    slow = field.to_db_value
    kind = type(field)
    plain = kind.to_db_value is Field.to_db_value
    # a time's conversion touches only a naive time (and auto_now, never with no instance)
    timed = kind.to_db_value is DatetimeField.to_db_value
    if not (plain or timed) or any(type(v) is not MaxLengthValidator for v in field.validators):
        return lambda value: slow(value, None)
    field_type, none_passes = field.field_type, field.null or not field.validators
    longest = min((v.max_length for v in field.validators), default=None)

    def convert(value: Any) -> Any:
        if value is None:
            return None if none_passes else slow(value, None)
        if (type(value) is not field_type or (longest is not None and len(value) > longest)
                or (timed and value.utcoffset() is None)):
            return slow(value, None)
        return value

    return convert


@lru_cache(maxsize=256)
def _insert_sql(table: str, columns: tuple[str, ...], count: int, dialect: str, returning: tuple[str, ...],
                ignore_conflicts: bool) -> str:
    width = len(columns)
    if dialect == "postgres":
        groups = (", ".join(f"${r * width + c + 1}" for c in range(width)) for r in range(count))
    else:
        groups = (", ".join(["?"] * width) for _ in range(count))
    sql = f'INSERT INTO "{table}" ({_names(columns)}) VALUES ' + ", ".join(f"({g})" for g in groups)
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += " RETURNING " + _names(returning)
    return sql


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)
