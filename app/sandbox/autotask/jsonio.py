"""JSON the way Autotask's REST API writes it.

Money goes over the wire as a JSON number (the vendor's models say
``double``), never as a string, and is read back as ``Decimal`` so no float
ever holds an amount. Date-times are written in UTC without a zone suffix,
e.g. ``2025-03-01T00:00:00`` (APIS.md §B2: "Date-times come back as UTC
without Z"); both forms are accepted on input.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def dumps(value: Any) -> bytes:
    return _write(value).encode("utf-8")


def _write(value: Any) -> str:
    if value is None or isinstance(value, (bool, str)):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a JSON number: {value}")
        text = format(value, "f")
        return text
    if isinstance(value, float):
        raise TypeError("the sandbox never writes floats")
    if isinstance(value, datetime):
        return json.dumps(fmt_datetime(value))
    if isinstance(value, date):
        return json.dumps(fmt_datetime(value))
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_write(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_write(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def loads(data: bytes | str) -> Any:
    return json.loads(data, parse_float=Decimal)


def fmt_datetime(value: date | datetime) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        text = value.isoformat(timespec="milliseconds")
        return text[:-4] if text.endswith(".000") else text
    return f"{value.isoformat()}T00:00:00"


def parse_datetime(text: str) -> datetime:
    """A date-time from a request: ISO 8601 with or without Z/offset, or a bare date."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def parse_date(text: str) -> date:
    return parse_datetime(text).date()
