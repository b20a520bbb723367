"""Proration: seats × unit price × days(D..E) / days(S..E), exact, rounded once.

The fraction is computed exactly (``fractions.Fraction``) and rounded a single
time, half away from zero, to the currency's minor unit, so a credit is the
exact negative of the matching charge.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from app.billing.money import minor_unit, to_money
from app.billing.periods import Period, days_between


def round_fraction(value: Fraction, currency: str = "USD") -> Decimal:
    """Round an exact fraction half away from zero to the currency's minor unit."""
    scale = 10 ** minor_unit(currency)
    scaled = abs(value) * scale
    units = int(scaled)
    if scaled - units >= Fraction(1, 2):
        units += 1
    if value < 0:
        units = -units
    return Decimal(units).scaleb(-minor_unit(currency))


def prorated_amount(seats: int, unit_price: Decimal, first_day: date, period: Period,
                    currency: str = "USD") -> Decimal:
    """What ``seats`` held from ``first_day`` to the period's end cost."""
    if isinstance(seats, bool) or not isinstance(seats, int):
        raise TypeError(f"seats must be a whole number, not {type(seats).__name__}")
    price = to_money(unit_price)
    if first_day not in period:
        raise ValueError(f"{first_day} is outside the period {period.start}..{period.end}")
    held = days_between(first_day, period.end)
    exact = Fraction(seats) * Fraction(price) * Fraction(held, period.days)
    return round_fraction(exact, currency)


def line_amount(quantity: int, unit_price: Decimal, currency: str = "USD") -> Decimal:
    """A whole period of a line: quantity × unit price, rounded once."""
    return round_fraction(Fraction(quantity) * Fraction(to_money(unit_price)), currency)
