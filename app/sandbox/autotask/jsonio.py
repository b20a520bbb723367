"""JSON the way Autotask's REST API writes it.

Money goes over the wire as a JSON number (the vendor's models say
``double``), never as a string, and is read back as ``Decimal`` so no float
ever holds an amount. Date-times are written in UTC without a zone suffix,
e.g. ``2025-03-01T00:00:00`` (APIS.md §B2: "Date-times come back as UTC
without Z"); both forms are accepted on input.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from app import jsoncodec


def dumps(value: Any) -> bytes:
    return jsoncodec.dumps(value, decimals="plain", default=_autotask_value).encode("utf-8")


def _autotask_value(value: Any) -> str:
    if isinstance(value, date):
        return fmt_datetime(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def loads(data: bytes | str) -> Any:
    return jsoncodec.loads(data, nan=True)


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
