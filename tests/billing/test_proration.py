"""Proration: seats × unit price × days(D..E) / days(S..E), rounded once (DESIGN §2)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.billing.periods import Period, period_containing
from app.billing.proration import line_amount, prorated_amount
from app.billing.types import Cycle

JAN = Period(start=date(2026, 1, 1), end=date(2026, 1, 31))
APR = Period(start=date(2026, 4, 1), end=date(2026, 4, 30))
FEB = Period(start=date(2026, 2, 1), end=date(2026, 2, 28))
FEB_LEAP = Period(start=date(2028, 2, 1), end=date(2028, 2, 29))
YEAR = Period(start=date(2026, 1, 1), end=date(2026, 12, 31))


@pytest.mark.parametrize(
    ("seats", "price", "first_day", "period", "amount"),
    [
        (3, "22.00", date(2026, 1, 16), JAN, "34.06"),  # 3 × 22 × 16/31 = 34.0645...
        (3, "22.00", date(2026, 1, 1), JAN, "66.00"),  # the whole period
        (3, "22.00", date(2026, 1, 31), JAN, "2.13"),  # the last day: 1/31
        (2, "12.50", date(2026, 4, 16), APR, "12.50"),  # 2 × 12.5 × 15/30
        (1, "36.00", date(2026, 2, 15), FEB, "18.00"),  # 14/28
        (1, "36.00", date(2028, 2, 15), FEB_LEAP, "18.62"),  # 15/29 = 18.6206...
        (5, "264.00", date(2026, 7, 1), YEAR, "665.42"),  # annual: 5 × 264 × 184/365
        (-2, "22.00", date(2026, 1, 16), JAN, "-22.71"),  # a credit mirrors a charge
        (2, "22.00", date(2026, 1, 16), JAN, "22.71"),
        (1, "0.01", date(2026, 1, 16), JAN, "0.01"),  # 0.01 × 16/31 = 0.00516 → 0.01
        (1, "0.01", date(2026, 1, 18), JAN, "0.00"),  # 0.01 × 14/31 = 0.00451 → 0.00
    ],
)
def test_prorated_amounts_to_the_cent(seats, price, first_day, period, amount):
    assert prorated_amount(seats, Decimal(price), first_day, period) == Decimal(amount)


def test_a_day_outside_the_period_is_refused():
    with pytest.raises(ValueError, match="outside the period"):
        prorated_amount(1, Decimal("1"), date(2026, 2, 1), JAN)


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
seats = st.integers(min_value=1, max_value=5000)
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
cycles = st.sampled_from(list(Cycle))


@given(seats, prices, days, cycles)
def test_a_whole_period_is_seats_times_price_exactly(n, price, day, cycle):
    period = period_containing(day, cycle)
    assert prorated_amount(n, price, period.start, period) == line_amount(n, price) == n * price


@given(seats, prices, days, cycles, st.data())
def test_amounts_grow_with_the_days_held(n, price, day, cycle, data):
    period = period_containing(day, cycle)
    first = data.draw(st.integers(min_value=0, max_value=period.days - 1))
    later = data.draw(st.integers(min_value=first, max_value=period.days - 1))
    held_longer = prorated_amount(n, price, period.start + timedelta(days=first), period)
    held_shorter = prorated_amount(n, price, period.start + timedelta(days=later), period)
    assert held_longer >= held_shorter >= 0


@given(seats, prices, days, cycles, st.data())
def test_an_increase_then_a_credit_nets_to_the_days_held(n, price, day, cycle, data):
    """Seats added on D1 and removed on D2 (negative proration) cost the days D1..D2-1."""
    period = period_containing(day, cycle)
    d1 = data.draw(st.integers(min_value=0, max_value=period.days - 1))
    d2 = data.draw(st.integers(min_value=d1, max_value=period.days - 1))
    added = period.start + timedelta(days=d1)
    removed = period.start + timedelta(days=d2)
    net = prorated_amount(n, price, added, period) + prorated_amount(-n, price, removed, period)
    exact = Decimal(n) * price * Decimal(d2 - d1) / Decimal(period.days)
    assert abs(net - exact) <= Decimal("0.01")
