"""Autotask's wire format: JSON numbers for money read as Decimal, UTC
date-times without a zone suffix (APIS.md §B2: "Date-times come back as UTC
without Z. Accept both forms"), and the ``{"errors": [...]}`` body.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from app import jsoncodec
from app.billing.money import to_money
from app.services.psa import limits


def dumps(value: Any) -> str:
    """JSON with Decimal written as a plain number and days as Autotask's date-times; floats are
    refused (money is never float)."""
    return jsoncodec.dumps(value, decimals="plain", default=_autotask_value)


def _autotask_value(value: Any) -> str:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, date):
        return at_midnight(value)
    raise TypeError(f"cannot send {type(value).__name__} to Autotask")


def loads(text: str) -> Any:
    return jsoncodec.loads(text, nan=True)


def at_midnight(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"


def parse_day(value: Any, what: str) -> date:
    """The date of an Autotask date-time ("2025-03-01T00:00:00", with or without Z)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} is not a date-time: {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what} is not a date-time: {value[:40]!r}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.date()


def money(value: Any, what: str) -> Decimal:
    """An amount as Decimal; None reads as zero (Autotask leaves unset prices null).
    Raises ValueError on anything else, and on an amount no line bills (limits.py)."""
    if value is None:
        return Decimal("0")
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return limits.amount(to_money(value), what)
    raise ValueError(f"{what} is not a number: {str(value)[:40]!r}")


#: How much of one message from Autotask an error quotes.
MESSAGE_LIMIT = 300


def error_messages(body: Any) -> list[str]:
    """The messages of an ``{"errors": [...]}`` body, or [] when it is not one; each as
    ``plain`` text."""
    if isinstance(body, dict):
        found = body.get("errors") or body.get("Errors")
        if isinstance(found, str):
            found = [found]
        if isinstance(found, list):
            return [plain(m if isinstance(m, str) else limits.short(m)) for m in found[:20] if m]
    return []


def plain(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Text from Autotask as a message quotes it (``limits.plain``)."""
    return limits.plain(text, limit)


def udf(record: dict[str, Any], name: str) -> str | None:
    for field in record.get("userDefinedFields") or ():
        if isinstance(field, dict) and str(field.get("name", "")).lower() == name.lower():
            value = field.get("value")
            return None if value is None else str(value)
    return None
