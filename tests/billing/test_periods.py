"""The billing period containing a day, for every cycle and anchor (DESIGN §2)."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.billing.periods import period_containing
from app.billing.types import Anchor, Cycle

M, A = Cycle.MONTHLY, Cycle.ANNUAL
CAL, ANN = Anchor.CALENDAR, Anchor.ANNIVERSARY


@pytest.mark.parametrize(
    ("day", "cycle", "anchor", "anchor_date", "start", "end", "days"),
    [
        # calendar months: 31, 30, 28 and 29 days
        (date(2026, 1, 15), M, CAL, None, date(2026, 1, 1), date(2026, 1, 31), 31),
        (date(2026, 4, 30), M, CAL, None, date(2026, 4, 1), date(2026, 4, 30), 30),
        (date(2026, 2, 1), M, CAL, None, date(2026, 2, 1), date(2026, 2, 28), 28),
        (date(2028, 2, 29), M, CAL, None, date(2028, 2, 1), date(2028, 2, 29), 29),
        (date(2026, 12, 31), M, CAL, None, date(2026, 12, 1), date(2026, 12, 31), 31),
        # calendar years, leap and not
        (date(2026, 7, 4), A, CAL, None, date(2026, 1, 1), date(2026, 12, 31), 365),
        (date(2028, 1, 1), A, CAL, None, date(2028, 1, 1), date(2028, 12, 31), 366),
        # monthly anniversary on the 15th
        (date(2026, 3, 14), M, ANN, date(2025, 6, 15), date(2026, 2, 15), date(2026, 3, 14), 28),
        (date(2026, 3, 15), M, ANN, date(2025, 6, 15), date(2026, 3, 15), date(2026, 4, 14), 31),
        # anniversary on the 31st: months without one start on their last day
        (date(2026, 2, 10), M, ANN, date(2025, 1, 31), date(2026, 1, 31), date(2026, 2, 27), 28),
        (date(2026, 2, 28), M, ANN, date(2025, 1, 31), date(2026, 2, 28), date(2026, 3, 30), 31),
        (date(2026, 4, 30), M, ANN, date(2025, 1, 31), date(2026, 4, 30), date(2026, 5, 30), 31),
        # anniversary on the 29th in a leap February and a common one
        (date(2028, 3, 1), M, ANN, date(2027, 1, 29), date(2028, 2, 29), date(2028, 3, 28), 29),
        (date(2027, 3, 1), M, ANN, date(2026, 1, 29), date(2027, 2, 28), date(2027, 3, 28), 29),
        # annual anniversary, including one started on 29 February
        (date(2026, 11, 25), A, ANN, date(2024, 7, 1), date(2026, 7, 1), date(2027, 6, 30), 365),
        (date(2026, 1, 15), A, ANN, date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 27), 365),
        (date(2028, 2, 29), A, ANN, date(2024, 2, 29), date(2028, 2, 29), date(2029, 2, 27), 365),
        (date(2027, 12, 1), A, ANN, date(2024, 2, 29), date(2027, 2, 28), date(2028, 2, 28), 366),
    ],
)
def test_period_containing(day, cycle, anchor, anchor_date, start, end, days):
    period = period_containing(day, cycle, anchor, anchor_date)
    assert (period.start, period.end, period.days) == (start, end, days)


def test_anniversary_needs_the_start_date():
    with pytest.raises(ValueError, match="start date"):
        period_containing(date(2026, 1, 1), M, ANN, None)


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@given(days, days, st.sampled_from([M, A]))
def test_periods_tile_time_without_gaps_or_overlaps(day, anchor_date, cycle):
    period = period_containing(day, cycle, ANN, anchor_date)
    assert period.start <= day <= period.end
    following = period_containing(period.next_start, cycle, ANN, anchor_date)
    assert following.start == period.next_start
    assert 28 <= period.days <= 31 if cycle is M else 365 <= period.days <= 366
