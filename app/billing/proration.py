"""Proration: seats × unit price × days(D..E) / days(S..E), exact, rounded once.

The fraction is computed exactly (in integers: a Decimal is exactly a ratio of
two integers) and rounded a single time, half away from zero, to the
currency's minor unit, so a credit is the exact negative of the matching
charge.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from app.billing.money import minor_unit, to_money
from app.billing.periods import Period, days_between


def round_fraction(value: Fraction, currency: str = "USD") -> Decimal:
    """Round an exact fraction half away from zero to the currency's minor unit."""
    return _round_ratio(value.numerator, value.denominator, currency)


def _round_ratio(numerator: int, denominator: int, currency: str) -> Decimal:
    """``numerator / denominator`` (denominator > 0) rounded half away from zero to the minor unit."""
    digits = minor_unit(currency)
    units, rest = divmod(abs(numerator) * 10 ** digits, denominator)
    if 2 * rest >= denominator:
        units += 1
    if numerator < 0:
        units = -units
    return Decimal(units).scaleb(-digits)


def prorated_amount(seats: int, unit_price: Decimal, first_day: date, period: Period,
                    currency: str = "USD") -> Decimal:
    """What ``seats`` held from ``first_day`` to the period's end cost."""
    if isinstance(seats, bool) or not isinstance(seats, int):
        raise TypeError(f"seats must be a whole number, not {type(seats).__name__}")
    price = to_money(unit_price)
    if first_day not in period:
        raise ValueError(f"{first_day} is outside the period {period.start}..{period.end}")
    held = days_between(first_day, period.end)
    numerator, denominator = price.as_integer_ratio()  # exact: seats × price × held / days, in integers
    return _round_ratio(seats * numerator * held, denominator * period.days, currency)


def line_amount(quantity: int, unit_price: Decimal, currency: str = "USD") -> Decimal:
    """A whole period of a line: quantity × unit price, rounded once."""
    price = to_money(unit_price)
    if not isinstance(quantity, int):  # a quantity that is not a whole number, exactly as given
        return round_fraction(Fraction(quantity) * Fraction(price), currency)
    numerator, denominator = price.as_integer_ratio()
    return _round_ratio(quantity * numerator, denominator, currency)
