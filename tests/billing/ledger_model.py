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

A row that ``begins`` billing on a day B (it succeeds another tool's line
that bills until the day before) bills nothing before B. A period holding B
after its first day bills nothing at S (so nothing at all on an agreement
that does not prorate) and, from B, what a row started then bills: the
seats last observed before B (or else the first ones observed: a first sync
on or after B bills back to it what it sees), and from there the usual
rule over the observations from B on.

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
    begins: date | None = None

    def observe(self, day: date, quantity: int) -> None:
        assert not self.observations or day >= self.observations[-1][0], "observations come in order"
        self.observations.append((day, quantity))

    def quantity(self, day: date) -> int:
        seen = [q for d, q in self.observations if d <= day]
        if seen:
            return seen[-1]
        return self.observations[0][1] if self.begins is not None and self.observations else 0

    def first_day(self, period: Period) -> date:
        """The period's first day billed (after ``period.end`` when it bills none)."""
        return period.start if self.begins is None else max(period.start, self.begins)

    def billed(self, period: Period, day: date) -> int:
        first = self.first_day(period)
        if first == period.start:
            q0, seen = self.quantity(first), [q for d, q in self.observations if first < d <= day]
            if day == first or not self.prorates:
                return q0
        else:
            before = [q for d, q in self.observations if d < first]
            q0, seen = before[-1] if before else self.observations[0][1], [
                q for d, q in self.observations if first <= d <= day]
        if self.negative_proration:
            return self.quantity(day)
        return max([q0, *seen])

    def money(self, period: Period) -> Fraction:
        first = self.first_day(period)
        if first > period.end or (first > period.start and not self.prorates):
            return Fraction(0)
        # billed(d) changes only on days something was observed: sum it by runs of days.
        changes = [first, *sorted({d for d, _ in self.observations if first < d <= period.end})]
        days = sum((until - day).days * self.billed(period, day)
                   for day, until in zip(changes, [*changes[1:], period.next_start], strict=True))
        return Fraction(self.price) * days / period.days


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
