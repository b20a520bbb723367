"""Autotask's query grammar (the vendor's QueryModel and Filter schemas).

A filter item is ``{"op", "field", "value", "udf"}``, or a group
``{"op": "and"|"or", "items": [...]}``. Thirteen operators: eq, noteq, gt,
gte, lt, lte, beginsWith, endsWith, contains, exist, notExist (no value),
in, notIn (array value). Top-level items are ANDed. At most 500 OR
conditions per query and 500 records per page (APIS.md §B2).

Values are sent as their JSON types: whole numbers and Decimal as numbers,
booleans as true/false, dates as ``YYYY-MM-DDT00:00:00``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.services.psa.autotask.wire import at_midnight

OPERATORS = ("eq", "noteq", "gt", "gte", "lt", "lte", "beginsWith", "endsWith", "contains", "exist", "notExist",
             "in", "notIn")
NO_VALUE = frozenset({"exist", "notExist"})
LIST_VALUE = frozenset({"in", "notIn"})
MAX_RECORDS = 500
MAX_OR_CONDITIONS = 500


@dataclass(frozen=True)
class Condition:
    op: str
    field: str
    value: Any = None
    udf: bool = False

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise ValueError(f"unknown Autotask filter operator {self.op!r} (one of {', '.join(OPERATORS)})")
        if not isinstance(self.field, str) or not self.field:
            raise ValueError(f"the {self.op} filter needs a field name")
        if self.op in NO_VALUE:
            if self.value is not None:
                raise ValueError(f"the {self.op} filter on {self.field} takes no value")
        elif self.op in LIST_VALUE:
            if isinstance(self.value, (str, bytes)) or not isinstance(self.value, Iterable):
                raise ValueError(f"the {self.op} filter on {self.field} needs a list of values")
            values = tuple(self.value)
            if not values:
                raise ValueError(f"the {self.op} filter on {self.field} needs at least one value")
            object.__setattr__(self, "value", values)
        elif self.value is None:
            raise ValueError(f"the {self.op} filter on {self.field} needs a value")

    def to_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"op": self.op, "field": self.field}
        if self.op in LIST_VALUE:
            item["value"] = [_value(v) for v in self.value]
        elif self.op not in NO_VALUE:
            item["value"] = _value(self.value)
        if self.udf:
            item["udf"] = True
        return item


@dataclass(frozen=True)
class Group:
    op: str
    items: tuple[Filter, ...]

    def __post_init__(self) -> None:
        if self.op not in ("and", "or"):
            raise ValueError(f"a filter group is 'and' or 'or', not {self.op!r}")
        if not self.items:
            raise ValueError(f"an '{self.op}' group needs at least one condition")

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "items": [item.to_json() for item in self.items]}


Filter = Condition | Group


def _value(value: Any) -> Any:
    if isinstance(value, float):
        raise TypeError("filter values are never floats; use Decimal")
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, date):
        return at_midnight(value)
    if isinstance(value, (bool, int, str, Decimal)):
        return value
    raise TypeError(f"cannot filter on a {type(value).__name__}")


def eq(field: str, value: Any, *, udf: bool = False) -> Condition:
    return Condition("eq", field, value, udf)


def noteq(field: str, value: Any, *, udf: bool = False) -> Condition:
    return Condition("noteq", field, value, udf)


def gt(field: str, value: Any) -> Condition:
    return Condition("gt", field, value)


def gte(field: str, value: Any) -> Condition:
    return Condition("gte", field, value)


def lt(field: str, value: Any) -> Condition:
    return Condition("lt", field, value)


def lte(field: str, value: Any) -> Condition:
    return Condition("lte", field, value)


def begins_with(field: str, value: str, *, udf: bool = False) -> Condition:
    return Condition("beginsWith", field, value, udf)


def ends_with(field: str, value: str, *, udf: bool = False) -> Condition:
    return Condition("endsWith", field, value, udf)


def contains(field: str, value: str, *, udf: bool = False) -> Condition:
    return Condition("contains", field, value, udf)


def exist(field: str, *, udf: bool = False) -> Condition:
    return Condition("exist", field, None, udf)


def not_exist(field: str, *, udf: bool = False) -> Condition:
    return Condition("notExist", field, None, udf)


def in_(field: str, values: Iterable[Any]) -> Condition:
    return Condition("in", field, tuple(values))


def not_in(field: str, values: Iterable[Any]) -> Condition:
    return Condition("notIn", field, tuple(values))


def and_(*items: Filter) -> Group:
    return Group("and", tuple(items))


def or_(*items: Filter) -> Group:
    return Group("or", tuple(items))


def or_conditions(items: Sequence[Filter], inside_or: bool = False) -> int:
    """How many OR conditions Autotask counts: leaves under an 'or' group and
    every value of an in/notIn list."""
    total = 0
    for item in items:
        if isinstance(item, Group):
            total += or_conditions(item.items, inside_or or item.op == "or")
        elif item.op in LIST_VALUE:
            total += len(item.value)
        elif inside_or:
            total += 1
    return total


#: A condition every record meets, for "all records" queries (a query needs one).
EVERYTHING = Condition("gte", "id", 0)


def query_model(filters: Sequence[Filter], *, max_records: int = MAX_RECORDS,
                include_fields: Sequence[str] | None = None) -> dict[str, Any]:
    """The JSON body of ``POST {Entity}/query``."""
    if isinstance(max_records, bool) or not 1 <= max_records <= MAX_RECORDS:
        raise ValueError(f"maxRecords must be 1..{MAX_RECORDS}, not {max_records}")
    items = list(filters) or [EVERYTHING]
    if (n := or_conditions(items)) > MAX_OR_CONDITIONS:
        raise ValueError(f"the query has {n} OR conditions; Autotask allows {MAX_OR_CONDITIONS}")
    body: dict[str, Any] = {"maxRecords": max_records, "filter": [item.to_json() for item in items]}
    if include_fields:
        fields = list(include_fields)
        if "id" not in fields:
            # Needed for paging past 500 records (APIS.md §B2).
            fields.insert(0, "id")
        body["includeFields"] = fields
    return body


def chunks(values: Sequence[Any], size: int = MAX_OR_CONDITIONS) -> list[tuple[Any, ...]]:
    """``values`` cut into lists short enough for one ``in`` condition each."""
    unique = list(dict.fromkeys(values))
    return [tuple(unique[i:i + size]) for i in range(0, len(unique), size)]
