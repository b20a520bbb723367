"""Contract billing periods as Autotask lays them out for a Recurring Service
contract: consecutive periods from the contract's start date to its end date,
each ``months`` long (Monthly 1, Quarterly 3, Semi-Annual 6, Yearly 12),
anchored on the start date's day of month. A day the month lacks falls on
the month's last day (a contract started on 31 January has periods starting
28/29 February, 31 March, ...)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(anchor: date, months: int) -> date:
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def contract_periods(start: date, end: date, months: int) -> list[tuple[date, date]]:
    periods: list[tuple[date, date]] = []
    n = 0
    first = start
    while first <= end:
        following = add_months(start, months * (n + 1))
        periods.append((first, min(following - timedelta(days=1), end)))
        first = following
        n += 1
    return periods


def period_of(periods: list[tuple[date, date]], day: date) -> tuple[date, date] | None:
    for first, last in periods:
        if first <= day <= last:
            return first, last
    return None
