"""A reference model of the billing rule, written apart from the planner (docs/billing.md, "The ledger").

It knows nothing of lines, markers or operations: only what each sync
observed (a quantity seen on a day) and the rule. For a period [S, E]:

- q(x) is the quantity last observed on or before x (0 before the first);
- q0 = q(S): what the period's invoice is made from;
- billed(S) = q0; for S < d <= E, billed(d) is q0 on an agreement that does
  not prorate, q(d) with negative proration, and otherwise the highest of
  q0 and every quantity observed in (S, d];
- the period costs q0 × price + Σ (billed(d) − q0) × price / days(S..E),
  exactly, as a fraction.

``psa_money`` is the other side: what the lines of a PSA charge for the
period (the main lines' quantity in force on S, plus every dated line
dated in the period), for the tests to compare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from app.billing.periods import Period
from app.billing.types import Line, LineKind


@dataclass
class LedgerModel:
    prorates: bool
    negative_proration: bool
    price: Decimal
    observations: list[tuple[date, int]] = field(default_factory=list)

    def observe(self, day: date, quantity: int) -> None:
        assert not self.observations or day >= self.observations[-1][0], "observations come in order"
        self.observations.append((day, quantity))

    def quantity(self, day: date) -> int:
        seen = [q for d, q in self.observations if d <= day]
        return seen[-1] if seen else 0

    def billed(self, period: Period, day: date) -> int:
        q0 = self.quantity(period.start)
        if day == period.start or not self.prorates:
            return q0
        if self.negative_proration:
            return self.quantity(day)
        return max([q0, *(q for d, q in self.observations if period.start < d <= day)])

    def money(self, period: Period) -> Fraction:
        q0 = self.quantity(period.start)
        price = Fraction(self.price)
        total = q0 * price
        # billed(d) changes only on days something was observed: sum it by runs of days.
        changes = [period.start, *sorted({d for d, _ in self.observations if period.start < d <= period.end})]
        for day, until in zip(changes, [*changes[1:], period.next_start], strict=True):
            total += (self.billed(period, day) - q0) * price * (until - day).days / period.days
        return total


def psa_money(lines: Iterable[Line], period: Period,
              in_force: Callable[[Line, date], int] = lambda line, day: line.quantity_on(day)) -> tuple[Decimal, int]:
    """What the lines charge for ``period``, and how many dated lines that took."""
    total, dated = Decimal("0"), 0
    for line in lines:
        if line.kind is LineKind.MAIN:
            if line.bills(period.start):
                total += in_force(line, period.start) * line.unit_price
        elif line.start is not None and line.start in period:
            assert line.amount is not None
            total += line.amount
            dated += 1
    return total, dated


def within(actual: Decimal, exact: Fraction, lines: int) -> bool:
    """Equal within one cent per dated line (each is rounded once), or exactly when there is none."""
    return abs(Fraction(actual) - exact) <= Fraction(1, 100) * lines
