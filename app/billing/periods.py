"""Billing periods: the period containing a day, for every cycle and anchor.

A calendar anchor starts monthly periods on the 1st and annual periods on
1 January. An anniversary anchor starts them on the agreement's start day
(monthly) or start month and day (annual). A start day that a month lacks
(the 29th to 31st) falls on that month's last day: an agreement started on
31 January has periods starting 28/29 February, 31 March, 30 April, ...
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

from app.billing.types import Agreement, Anchor, Cycle


@dataclass(frozen=True, kw_only=True)
class Period:
    """A billing period, both ends inclusive."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"a period cannot end ({self.end}) before it starts ({self.start})")

    @cached_property  # a period is shared by every row of its agreement in a plan: worked out once
    def days(self) -> int:
        return days_between(self.start, self.end)

    @cached_property
    def next_start(self) -> date:
        return self.end + timedelta(days=1)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def days_between(first: date, last: date) -> int:
    """Days from ``first`` to ``last``, both counted."""
    if last < first:
        raise ValueError(f"{last} is before {first}")
    return (last - first).days + 1


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def period_containing(day: date, cycle: Cycle, anchor: Anchor = Anchor.CALENDAR,
                      anchor_date: date | None = None) -> Period:
    """The billing period of the given cycle and anchor that contains ``day``."""
    if anchor is Anchor.ANNIVERSARY and anchor_date is None:
        raise ValueError("an anniversary anchor needs the agreement's start date")
    anchor_date = anchor_date if anchor is Anchor.ANNIVERSARY else date(2000, 1, 1)
    assert anchor_date is not None
    if cycle is Cycle.MONTHLY:
        def start_of(offset: int) -> date:
            y, m = _add_months(day.year, day.month, offset)
            return _clamped(y, m, anchor_date.day)
    else:
        def start_of(offset: int) -> date:
            return _clamped(day.year + offset, anchor_date.month, anchor_date.day)
    this = start_of(0)
    if day >= this:
        return Period(start=this, end=start_of(1) - timedelta(days=1))
    return Period(start=start_of(-1), end=this - timedelta(days=1))


def agreement_period(agreement: Agreement, day: date) -> Period:
    """The agreement's billing period containing ``day``."""
    return period_containing(day, agreement.cycle, agreement.anchor, agreement.start)
