"""The seat-day ledger of one row in one billing period (docs/billing.md, "The ledger").

For a period [S, E]: q0 is what the main lines bill for the period (their
quantity in force on S); the dated lines (prorate and credit) of the row
cover, day by day, what the period bills above or below q0. A sync on day
D compares what the period already bills on D (q0 + the dated lines
covering D) with what it must bill from D on, and writes only the
difference, from D to E:

- without negative proration, a seat billed in a period stays billed to its
  end: the target is max(already billed, today's quantity);
- with negative proration, the period bills today's quantity.

Every function here is pure; the planner builds its dated lines from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from app.billing.periods import Period
from app.billing.types import Line, LineKind


def opening_quantity(main_lines: Iterable[Line], period: Period, day: date) -> int:
    """q0: what the row's main lines bill for ``period`` on ``day``.

    A main line billing the period's first day bills its quantity in force
    then for the whole period (the invoice is made at S; a credit line, not
    the line's end, refunds a part). seatsync starts its main lines on the
    first day of a period; a line started later in the period (by a person,
    or another tool) bills from the day it starts.
    """
    total = 0
    for line in main_lines:
        first = period.start if line.start is None else max(period.start, line.start)
        if line.kind is LineKind.MAIN and first <= day and line.bills(first):
            total += line.quantity_on(first)
    return total


def covered(dated_lines: Iterable[Line], day: date) -> int:
    """Seats the row's prorate and credit lines add to (or take from) ``day``."""
    return sum(line.quantity for line in dated_lines
               if line.kind is not LineKind.MAIN and line.start is not None and line.end is not None
               and line.start <= day <= line.end)


def target(billed: int, quantity: int, *, negative_proration: bool) -> int:
    """What the period must bill from today on, given what it already bills today."""
    return quantity if negative_proration else max(billed, quantity)
