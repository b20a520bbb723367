"""Halo's wire format: JSON with exact numbers, its dates, and its codes.

Halo sends money as JSON numbers (``double`` in its OpenAPI document). They
are read as ``Decimal`` (``parse_float=Decimal``) and written back as plain
decimal numerals, so no amount ever passes through a binary float.
Dates are ``date-time`` strings without an offset ("2024-03-01T00:00:00");
seatsync uses only their date part.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.billing.types import Cycle
from app.services.psa import limits
from app.services.psa.limits import plain  # noqa: F401 - the clients quote Halo's words through wire

#: Halo billing-period codes (ClientContract ``billingperiod``, RecurringInvoice
#: ``period``). The public spec gives no enum [U: APIS.md §B3]; these are the
#: defaults an instance ships with and the adapter takes its own table when an
#: instance numbers them differently. Codes not listed (weekly, quarterly,
#: six-monthly, ...) cannot be billed by seatsync.
BILLING_PERIODS: dict[int, Cycle] = {1: Cycle.MONTHLY, 3: Cycle.ANNUAL}
QUARTERLY = 2  # a period seatsync does not bill (used by the sandbox and tests)


def period_code(cycle: Cycle, table: dict[int, Cycle] | None = None) -> int:
    for code, value in (table or BILLING_PERIODS).items():
        if value is cycle:
            return code
    raise ValueError(f"no Halo billing period for {cycle}")


def loads(text: str | bytes) -> Any:
    """Parse Halo JSON with every non-integer number as an exact Decimal.

    NaN and Infinity, which JSON does not have, raise ValueError like any other
    text that is not JSON. A lone surrogate (JSON's "\\ud800", no character, and
    text no database or screen takes) reads as U+FFFD, as undecodable bytes would.
    """
    data = json.loads(text, parse_float=Decimal, parse_constant=_not_a_number)
    if isinstance(text, bytes) and not _ESCAPED_SURROGATE.search(text):
        return data
    return limits.mended(data)


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def dumps(value: Any) -> str:
    """JSON text in which Decimals are written as numbers, exactly as they are."""
    return "".join(_encode(value))


def _encode(value: Any):  # a generator of JSON fragments
    if value is None or isinstance(value, (bool, str)):
        yield json.dumps(value)
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a non-finite amount cannot be sent to Halo")
        yield format(value, "f")
    elif isinstance(value, float):
        raise TypeError("a float is never sent to Halo: use Decimal (or int)")
    elif isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            if i:
                yield ","
            yield json.dumps(str(key))
            yield ":"
            yield from _encode(item)
        yield "}"
    elif isinstance(value, (list, tuple)):
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ","
            yield from _encode(item)
        yield "]"
    elif isinstance(value, (date, datetime)):
        yield json.dumps(halo_datetime(value))
    else:
        raise TypeError(f"cannot send {type(value).__name__} to Halo")


def halo_datetime(value: date | datetime) -> str:
    """Halo's date-time text for a day (midnight, no offset)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0).isoformat()
    return f"{value.isoformat()}T00:00:00"


def parse_date(value: Any) -> date | None:
    """The date part of a Halo date-time, or None when absent.

    Halo writes "no date" as null or as its minimum date ("1900-01-01T00:00:00");
    both read as None. Raises ValueError on anything that is not a date.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    day = date.fromisoformat(value[:10])
    return None if day.year <= 1900 else day


def to_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        return Decimal(value)
    raise ValueError(f"not a number: {value!r}")
