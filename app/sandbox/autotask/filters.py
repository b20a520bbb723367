"""The QueryModel evaluator: Autotask's 13 filter operators and and/or groups.

From the vendor's QueryModel/Filter schemas and APIS.md §B2:
- a filter item is {op, field, value, udf, items}; ``op`` is one of eq, noteq,
  gt, gte, lt, lte, beginsWith, endsWith, contains, exist, notExist, in,
  notIn, or a group ``and``/``or`` whose conditions are in ``items``;
- top-level items are ANDed; at least one is required;
- exist/notExist take no value; in/notIn take an array;
- booleans must be true/false; at most 500 OR conditions per query;
- maxRecords is 1..500; includeFields names must exist, and must include id
  when the result set exceeds 500 rows.
Property names are matched case-insensitively, as the .NET binder does.
String comparisons are case-insensitive (SQL Server's default collation),
and a null field fails every comparison except notExist (SQL semantics).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from app.sandbox.autotask import fields as meta
from app.sandbox.autotask.jsonio import parse_datetime

MAX_RECORDS = 500
MAX_OR_CONDITIONS = 500
COMPARISONS = ("eq", "noteq", "gt", "gte", "lt", "lte")
STRING_OPS = ("beginswith", "endswith", "contains")
LEAF_OPS = frozenset((*COMPARISONS, *STRING_OPS, "exist", "notexist", "in", "notin"))
GROUP_OPS = frozenset(("and", "or"))


class QueryError(Exception):
    """A query Autotask would refuse; the message is the one it would send."""


@dataclass(frozen=True)
class Query:
    max_records: int
    include_fields: tuple[str, ...] | None
    predicate: Callable[[dict[str, Any]], bool]


def get_ci(obj: dict[str, Any], key: str) -> Any:
    """``obj[key]`` with the key matched case-insensitively (``key`` in lower case)."""
    for k, v in obj.items():
        if k.lower() == key:
            return v
    return None


def parse_query(entity: str, model: Any) -> Query:
    if not isinstance(model, dict):
        raise QueryError("The query body must be a QueryModel object.")
    max_records = get_ci(model, "maxrecords")
    if max_records is None:
        max_records = MAX_RECORDS
    if isinstance(max_records, bool) or not isinstance(max_records, int) or not 1 <= max_records <= MAX_RECORDS:
        raise QueryError(f"MaxRecords must be between 1 and {MAX_RECORDS}.")
    include = get_ci(model, "includefields")
    include_fields: tuple[str, ...] | None = None
    if include:
        if not isinstance(include, list) or not all(isinstance(n, str) for n in include):
            raise QueryError("IncludeFields must be an array of field names.")
        names = []
        for name in include:
            f = meta.field(entity, name)
            if f is None:
                raise QueryError(f"Unable to find {name} in the {entity} entity.")
            names.append(f.name)
        include_fields = tuple(names)
    items = get_ci(model, "filter")
    if not isinstance(items, list) or not items:
        raise QueryError("A query must contain at least one filter condition.")
    counter = [0]
    predicates = [_compile(entity, item, counter, in_or=False) for item in items]
    if counter[0] > MAX_OR_CONDITIONS:
        raise QueryError(f"The query has {counter[0]} OR conditions; the limit is {MAX_OR_CONDITIONS}.")
    return Query(max_records, include_fields, lambda record: all(p(record) for p in predicates))


def _compile(entity: str, item: Any, counter: list[int], *, in_or: bool) -> Callable[[dict[str, Any]], bool]:
    if not isinstance(item, dict):
        raise QueryError("Each filter must be an object with op, field and value.")
    op = get_ci(item, "op")
    if not isinstance(op, str) or op.lower() not in LEAF_OPS | GROUP_OPS:
        raise QueryError(f"Invalid filter operator: {op!r}.")
    op = op.lower()
    if op in GROUP_OPS:
        children = get_ci(item, "items")
        if not isinstance(children, list) or not children:
            raise QueryError(f"The '{op}' grouping needs a non-empty items array.")
        compiled = [_compile(entity, c, counter, in_or=in_or or op == "or") for c in children]
        if op == "and":
            return lambda record: all(c(record) for c in compiled)
        return lambda record: any(c(record) for c in compiled)
    name = get_ci(item, "field")
    if not isinstance(name, str) or not name:
        raise QueryError(f"The '{op}' filter needs a field.")
    udf = get_ci(item, "udf") is True
    value = get_ci(item, "value")
    if udf:
        ftype = meta.STRING
        getter = _udf_getter(name)
    else:
        f = meta.field(entity, name)
        if f is None:
            raise QueryError(f"Unable to find {name} in the {entity} entity.")
        ftype = f.type
        canonical = f.name
        getter = lambda record: record.get(canonical)  # noqa: E731
    if in_or:
        counter[0] += len(value) if op in ("in", "notin") and isinstance(value, list) else 1
    elif op in ("in", "notin") and isinstance(value, list):
        counter[0] += len(value)
    return _leaf(op, name, ftype, getter, value)


def _udf_getter(name: str) -> Callable[[dict[str, Any]], Any]:
    def get(record: dict[str, Any]) -> Any:
        for udf in record.get("userDefinedFields") or ():
            if str(udf.get("name", "")).lower() == name.lower():
                return udf.get("value")
        return None
    return get


def _leaf(op: str, name: str, ftype: str, getter: Callable[[dict[str, Any]], Any],
          value: Any) -> Callable[[dict[str, Any]], bool]:
    if op in ("exist", "notexist"):
        def present(record: dict[str, Any]) -> bool:
            v = getter(record)
            return v is not None and v != ""
        return present if op == "exist" else (lambda record: not present(record))
    if op in ("in", "notin"):
        if not isinstance(value, list) or not value:
            raise QueryError(f"The '{op}' filter on {name} needs a non-empty array value.")
        wanted = [_coerce(ftype, name, v) for v in value]
        keys = {_key(w) for w in wanted}
        if op == "in":
            return lambda record: (v := getter(record)) is not None and _key(_norm(ftype, v)) in keys
        return lambda record: (v := getter(record)) is not None and _key(_norm(ftype, v)) not in keys
    if value is None:
        raise QueryError(f"The '{op}' filter on {name} needs a value.")
    if op in STRING_OPS:
        if ftype != meta.STRING:
            raise QueryError(f"The '{op}' operator applies to text fields; {name} is {ftype}.")
        needle = str(value).lower()
        test = {"beginswith": str.startswith, "endswith": str.endswith,
                "contains": lambda s, n: n in s}[op]
        return lambda record: (v := getter(record)) is not None and test(str(v).lower(), needle)
    wanted = _coerce(ftype, name, value)

    def compare(record: dict[str, Any]) -> bool:
        v = getter(record)
        if v is None:
            return False
        have = _norm(ftype, v)
        a, b = _key(have), _key(wanted)
        if op == "eq":
            return a == b
        if op == "noteq":
            return a != b
        try:
            return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
        except TypeError:
            return False
    return compare


def _coerce(ftype: str, name: str, value: Any) -> Any:
    """A filter value as the field's type, or the error Autotask would give."""
    if ftype == meta.BOOLEAN:
        if not isinstance(value, bool):
            raise QueryError(f"The value for {name} must be true or false.")
        return value
    if ftype in (meta.INT, meta.LONG):
        if isinstance(value, bool):
            raise QueryError(f"The value for {name} must be a whole number.")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise QueryError(f"The value for {name} must be a whole number.") from None
        if number != number.to_integral_value():
            raise QueryError(f"The value for {name} must be a whole number.")
        return int(number)
    if ftype == meta.DOUBLE:
        if isinstance(value, bool):
            raise QueryError(f"The value for {name} must be a number.")
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise QueryError(f"The value for {name} must be a number.") from None
    if ftype == meta.DATETIME:
        if not isinstance(value, str):
            raise QueryError(f"The value for {name} must be a date-time.")
        try:
            return parse_datetime(value)
        except ValueError:
            raise QueryError(f"The value for {name} must be a date-time.") from None
    if isinstance(value, (dict, list)):
        raise QueryError(f"The value for {name} must be text.")
    return str(value) if not isinstance(value, bool) else str(value).lower()


def _norm(ftype: str, stored: Any) -> Any:
    if ftype == meta.DATETIME and isinstance(stored, str):
        return parse_datetime(stored)
    if ftype == meta.DOUBLE and not isinstance(stored, Decimal):
        return Decimal(str(stored))
    return stored


def _key(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, datetime):
        return value
    return value
