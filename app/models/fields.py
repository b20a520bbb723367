"""Column types that keep values exact: money, instants and JSON.

SQLite gives a column declared DECIMAL or NUMERIC "numeric affinity" and
stores 12.10 as the float 12.1, so on SQLite money is kept as canonical TEXT
(``str(Decimal)``: digits, sign and exponent preserved) and read back as the
same Decimal. Instants are aware datetimes kept as fixed-width UTC ISO 8601
TEXT, so text order is time order. Each field's type is seatsync's own
(MONEY, INSTANT, DAY), which each database maps to its engine's
(app/models/database.py): on PostgreSQL, NUMERIC (exact, with the scale
written), TIMESTAMPTZ and DATE. The values sent are the same text on both.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from peewee import TextField

from app import jsoncodec
from app.billing.money import to_money

_INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_STORED_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", re.ASCII)


class MoneyField(TextField):
    """A Decimal stored as its canonical text (NUMERIC on PostgreSQL); floats are refused."""

    field_type = "MONEY"

    def db_value(self, value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError(f"{self.name}: money must be Decimal, int or str, never float ({value!r})")
        return str(to_money(value))

    def python_value(self, value: object) -> Decimal | None:
        if value is None:
            return None
        return to_money(str(value))


def instant_text(value: datetime) -> str:
    """An aware datetime as fixed-width UTC text (naive datetimes are refused)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"a naive datetime is ambiguous; pass an aware one (UTC): {value.isoformat()}")
    return value.astimezone(UTC).strftime(_INSTANT_FORMAT)


def parse_instant(text: str) -> datetime:
    if _STORED_INSTANT.fullmatch(text):  # what instant_text writes: read without strptime (some 50 times faster)
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    return datetime.strptime(text, _INSTANT_FORMAT).replace(tzinfo=UTC)


class InstantField(TextField):
    """An aware datetime, stored in UTC, returned aware (UTC)."""

    field_type = "INSTANT"

    def db_value(self, value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return instant_text(value)
        if isinstance(value, str):  # already in storage form (comparisons)
            return instant_text(parse_instant(value))
        raise TypeError(f"{self.name}: expected an aware datetime, not {type(value).__name__}")

    def python_value(self, value: object) -> datetime | None:
        if isinstance(value, datetime):  # PostgreSQL's TIMESTAMPTZ
            return value.astimezone(UTC)
        return None if value is None else parse_instant(str(value))


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return instant_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def dump_json(value: Any, where: str = "value") -> str:
    """Canonical JSON: sorted keys, Decimal as string, floats refused."""
    return jsoncodec.dumps(value, decimals="text", default=_encode, sort_keys=True, ensure_ascii=False, where=where)


class JsonField(TextField):
    """A JSON document kept as TEXT (Decimals come back as strings)."""

    field_type = "TEXT"

    def db_value(self, value: object) -> str | None:
        return None if value is None else dump_json(value, self.name or "json")

    def python_value(self, value: object) -> Any:
        return None if value is None else json.loads(str(value))


class DayField(TextField):
    """A calendar date, sent as ISO 8601 text (no reliance on the driver's date adapters)."""

    field_type = "DAY"

    def db_value(self, value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime) or not isinstance(value, (date, str)):
            raise TypeError(f"{self.name}: expected a date, not {type(value).__name__}")
        return (date.fromisoformat(value) if isinstance(value, str) else value).isoformat()

    def python_value(self, value: object) -> date | None:
        if isinstance(value, date):  # PostgreSQL's DATE
            return value
        return None if value is None else date.fromisoformat(str(value))
