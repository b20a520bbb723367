"""The bounds every PSA's records are read within, whatever the vendor.

A PSA that answers a quantity of 1e30, a price of a trillion or a record id
of -4 has not answered anything seatsync can bill or write back: each
adapter turns the ValueError raised here into its own malformed-response
error naming the record and the field, never a number the planner uses.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

#: More seats than any Microsoft 365 tenant holds of one license.
MAX_SEATS = 10_000_000
#: No line of an agreement bills a trillion (in any currency seatsync bills).
MAX_AMOUNT = Decimal(10) ** 12
#: PSA record ids are positive 32- or 64-bit integers.
MAX_ID = 2**63 - 1


def seats(value: Decimal | int, what: str) -> int:
    """A quantity as whole seats (half-up), refused beyond ``MAX_SEATS`` either way."""
    number = Decimal(value)
    if not number.is_finite() or abs(number) > MAX_SEATS:
        raise ValueError(f"{what} is {value}, more seats than any tenant holds")
    return int(number.to_integral_value(rounding=ROUND_HALF_UP))


def amount(value: Decimal, what: str) -> Decimal:
    """An amount of money within ``MAX_AMOUNT`` either way."""
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        raise ValueError(f"{what} is {value}, which is not an amount seatsync can bill")
    return value


def record_id(value: Any, what: str) -> int:
    """A record's id: a positive whole number (a JSON number or its digits in a string)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{what} has no numeric id (it is {short(value)})")
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
        raise ValueError(f"{what} has the id {short(value)}, which is not a positive whole number")
    return int(text)


def plain(text: Any, limit: int = 300) -> str:
    """Text from a PSA as a message quotes it: control characters, bidirectional marks, lone
    surrogates and other unprintable characters escaped (``\\u202e``), clipped to ``limit``."""
    text = text if isinstance(text, str) else repr(text)
    out = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text[:limit])
    return out if len(text) <= limit else out + "…"


def mended(value: Any) -> Any:
    """A decoded JSON answer with every lone surrogate in its text (keys too) replaced by U+FFFD, as
    undecodable bytes would be: one odd character in a field seatsync never reads stops nothing."""
    if isinstance(value, str):
        return value if value.isascii() else "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)
    if isinstance(value, dict):
        return {mended(key): mended(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mended(item) for item in value]
    return value


def short(value: Any) -> str:
    """A value as a message quotes it: at most 40 characters."""
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
