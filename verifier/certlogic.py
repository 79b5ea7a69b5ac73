"""CertLogic compiled once, when a rule is loaded, into a tree of Python closures.

panzi-json-logic's ``certLogic`` interprets the rule's JSON tree on every call: per node an
``isinstance``, a dict lookup of the operation, a list of evaluated arguments. A checkpoint runs the
same few rules on every code, so ``compile_logic`` does that dispatch once and leaves, per node, one
closure call. The interpreter stays the reference: ``compile_logic(logic)(data)`` gives what
``certLogic(logic, data)`` gives — the same value, or the same exception with the same message —
which tests/unit/test_certlogic.py holds over generated rules and data (hypothesis). To keep that
true by construction, each node does exactly what ``json_logic/cert_logic/apply.py`` does for it
and calls the library's own operations; only ``var`` with a constant path, ``===``, ``plusTime``
and the time comparisons are written out here (they are most of a rule), with the library's code
as their model. Any operation the compiler does not know (``or``, a dotted name, a typo) runs
through the interpreter itself, so it fails or succeeds exactly as the library says.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from json_logic.cert_logic import builtins as cl
from json_logic.cert_logic import certLogic

from verifier import offline

Compiled = Callable[[Any], Any]

_LIST_OR_STR = (list, str)


def compile_logic(logic: Any) -> Compiled:
    """A function of the data giving what ``certLogic(logic, data)`` gives. A tree too deep to
    compile is interpreted."""
    try:
        return _compile(logic)
    except RecursionError:
        return lambda data: certLogic(logic, data)


def _compile(logic: Any) -> Compiled:
    if isinstance(logic, list):
        items = [_compile(item) for item in logic]
        return lambda data: [item(data) for item in items]
    if not isinstance(logic, dict) or len(logic) != 1:
        return _Constant(logic)
    op = next(iter(logic))
    args = logic[op]
    if not isinstance(args, list):
        args = [args]
    special = _SPECIAL.get(op)
    if special is not None:
        return special(args)
    compiled = [_compile(arg) for arg in args]
    if op == "var":
        return _var(compiled)
    if op == "===" and len(compiled) == 2:
        a, b = compiled
        return lambda data: a(data) == b(data)
    if op == "plusTime":
        return _plus_time(compiled)
    if op in _TIME_COMPARISONS:
        return _time_comparison(_TIME_COMPARISONS[op], compiled)
    operation = cl.BUILTINS.get(op)
    if operation is None:  # unknown, or a dotted name: the interpreter decides (and raises)
        return lambda data: certLogic(logic, data)
    return _call(operation, compiled)


class _Constant:
    """A value that is not an operation: returned as it is, the very object (as the interpreter does)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, data: Any) -> Any:
        return self.value


def _call(operation, args: list[Compiled]) -> Compiled:
    """The library's operation on the evaluated arguments, left to right."""
    if len(args) == 0:
        return lambda data: operation(data)
    if len(args) == 1:
        a, = args
        return lambda data: operation(data, a(data))
    if len(args) == 2:
        a, b = args
        return lambda data: operation(data, a(data), b(data))
    if len(args) == 3:
        a, b, c = args
        return lambda data: operation(data, a(data), b(data), c(data))
    return lambda data: operation(data, *[arg(data) for arg in args])


def _if(args: list[Any]) -> Compiled:
    if not args:
        return _Constant(None)
    test = _compile(args[0])
    then = _compile(args[1]) if len(args) >= 2 else _Constant(None)
    otherwise = _compile(args[2]) if len(args) >= 3 else _Constant(None)
    to_bool = cl.to_bool
    return lambda data: then(data) if to_bool(test(data)) else otherwise(data)


def _and(args: list[Any]) -> Compiled:
    compiled = [_compile(arg) for arg in args]
    not_ = cl.not_

    def and_(data: Any) -> Any:
        current = None
        for arg in compiled:
            current = arg(data)
            if not_(current):
                return current
        return current
    return and_


def _reduce(args: list[Any]) -> Compiled:
    if not args:
        return _Constant(None)
    items = _compile(args[0])
    sublogic = _compile(args[1] if len(args) > 1 else None)
    init = args[2] if len(args) > 2 else None  # never evaluated, as in the interpreter

    def reduce_(data: Any) -> Any:
        values = items(data)
        if not isinstance(values, list):
            return init
        context = {"accumulator": init, "data": data}
        for item in values:
            context["current"] = item
            context["accumulator"] = sublogic(context)
        return context["accumulator"]
    return reduce_


_SPECIAL = {"if": _if, "and": _and, "reduce": _reduce}


def _var(args: list[Compiled]) -> Compiled:
    """``var`` with a constant text path of one or more names: the library's walk (op_var), the path
    split once. Any other form calls op_var itself."""
    key = args[0].value if args and isinstance(args[0], _Constant) else None
    if len(args) > 2 or not isinstance(key, str) or key == "":
        return _call(cl.BUILTINS["var"], args)
    props = key.split(".")
    default = args[1] if len(args) == 2 else _Constant(None)
    if isinstance(default, _Constant):  # the usual case: no default, or a constant one
        return _var_walk(props, default.value)

    def var(data: Any) -> Any:
        return _var_walk(props, default(data))(data)  # the default evaluated first, as an argument
    return var


def _var_walk(props: list[str], fallback: Any) -> Compiled:
    """op_var's walk along ``props`` in ``data``, ``fallback`` where it finds nothing."""
    if len(props) == 2:
        return _var_walk_two(props, fallback)

    def var(data: Any) -> Any:
        for prop in props:
            if isinstance(data, _LIST_OR_STR):
                if prop == "length":
                    return len(data)
                try:
                    index = int(prop, 10)
                except ValueError:
                    return fallback
                if prop != str(index) or index < 0 or index >= len(data):
                    return fallback
                data = data[index]
            elif isinstance(data, dict):
                data = data.get(prop)
            else:
                return fallback
        return fallback if data is None else data
    return var


def _var_walk_two(props: list[str], fallback: Any) -> Compiled:
    """``payload.col``, ``external.validationClock``: the walk of two names through the two dicts
    every rule's data is made of, without the general walk's loop; anything else takes that walk."""
    first, second = props
    general = _var_walk([first], None), _var_walk([second], fallback)

    def var(data: Any) -> Any:
        if type(data) is dict:
            inner = data.get(first)
            if type(inner) is dict:
                value = inner.get(second)
                return fallback if value is None else value
            return general[1](inner) if inner is not None else fallback
        inner = general[0](data)
        return fallback if inner is None else general[1](inner)
    return var


def parse_time(value: Any) -> datetime:
    """cert_logic's parse_time: an aware datetime (a ``plusTime`` result) as it is, and
    ``YYYY-MM-DDTHH:MM:SSZ`` (every time in a health pass and the validation clock) read by
    ``fromisoformat`` instead of the library's general pattern."""
    if type(value) is datetime and value.tzinfo is not None:
        return value
    if type(value) is str:
        moment = _plain_utc(value)
        if moment is not None:
            return moment
    return cl.parse_time(value)


@lru_cache(maxsize=4096)
def _plain_utc(value: str) -> datetime | None:
    """A ``...Z`` time — the shape hcert and the hub write, read by ``verifier/offline.py``'s
    ``parse_time`` — or None to leave it to the library (another shape, or out of range: the library
    says how). Remembered: the validation clock is the same text for every code checked in a second."""
    try:
        return offline.parse_time(value)
    except ValueError:
        return None


def _plus_time(args: list[Compiled]) -> Compiled:
    """op_plus_time; for a constant day or hour amount the timedelta is made once."""
    dtstr, value, unit = (args + [_Constant(None)] * 3)[:3]
    constant = isinstance(value, _Constant) and isinstance(unit, _Constant) and unit.value in ("day", "hour")
    if constant:
        try:
            delta = timedelta(**{unit.value + "s": cl.to_number(value.value)})
        except Exception:  # noqa: BLE001 - the library would raise it after parsing the time: leave it to it
            constant = False
    if constant:
        extra = args[3:]

        def plus_constant(data: Any) -> datetime:
            moment = dtstr(data)
            for arg in extra:
                arg(data)
            return parse_time(moment) + delta
        return plus_constant
    return _call(_op_plus_time, args)


def _op_plus_time(data=None, dtstr=None, value=None, unit=None, *_ignored) -> datetime:
    dt = parse_time(dtstr)
    if unit == "year":
        return dt.replace(year=dt.year + cl.to_int(value))
    if unit == "month":
        month = dt.month + cl.to_int(value)
        years = (month - 1) // 12
        return dt.replace(year=dt.year + years, month=month - years * 12)
    if unit == "day":
        return dt + timedelta(days=cl.to_number(value))
    if unit == "hour":
        return dt + timedelta(hours=cl.to_number(value))
    raise ValueError(f"illegal unit: {unit!r}")


def _after(a, b) -> bool:
    return a > b


def _before(a, b) -> bool:
    return a < b


def _not_after(a, b) -> bool:
    return a <= b


def _not_before(a, b) -> bool:
    return a >= b


_TIME_COMPARISONS = {"after": _after, "before": _before, "not-after": _not_after, "not-before": _not_before}


def _time_comparison(compare, args: list[Compiled]) -> Compiled:
    """op_after and its kin: two times compared, or three in a row (a chained comparison)."""
    def comparison(data=None, a=None, b=None, c=None, *_ignored) -> bool:
        if c is None:
            return compare(parse_time(a), parse_time(b))
        return compare(parse_time(a), parse_time(b)) and compare(parse_time(b), parse_time(c))
    return _call(comparison, args)
