"""A contract service's units over time, read from its ContractServiceUnits.

Autotask keeps one row per billing period per contract service, split where
an adjustment falls mid-period (APIS.md §B2). A quantity change is an
adjustment: a ``unitChange`` delta from an ``effectiveDate`` to the end of
the contract. seatsync always computes that delta from the rows it has just
read, never from a counter of its own (USERS.md item 8), so a person's edit
in Autotask is respected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from app.billing.periods import Period
from app.services.psa import limits
from app.services.psa.autotask import wire

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, kw_only=True)
class UnitRow:
    start: date
    end: date
    units: int
    price: Decimal
    posted: bool

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> UnitRow:
        units = record.get("units")
        if isinstance(units, bool) or not isinstance(units, int):
            raise ValueError(f"ContractServiceUnits {record.get('id')} has no whole units: {str(units)[:40]!r}")
        limits.seats(units, f"the units of ContractServiceUnits {record.get('id')}")
        return cls(start=wire.parse_day(record.get("startDate"), "startDate"),
                   end=wire.parse_day(record.get("endDate"), "endDate"), units=units,
                   price=wire.money(record.get("price"), "price"), posted=bool(record.get("approveAndPostDate")))


def sorted_rows(records: list[dict[str, Any]]) -> list[UnitRow]:
    return sorted((UnitRow.from_record(r) for r in records), key=lambda r: r.start)


def row_on(rows: list[UnitRow], day: date) -> UnitRow | None:
    for row in rows:
        if row.start <= day <= row.end:
            return row
    return None


@dataclass(frozen=True, kw_only=True)
class Span:
    """What the rows say about a line: its scheduled quantity, first and last billed day."""

    quantity: int
    start: date | None
    end: date | None
    price: Decimal | None


def span(rows: list[UnitRow]) -> Span:
    """``quantity`` is the units of the last row: what the line holds from the
    last scheduled change on (a change dated next period is already the
    line's quantity, as the planner expects). ``end`` is set when the line
    holds no units from some day to the end of the contract."""
    if not rows:
        return Span(quantity=0, start=None, end=None, price=None)
    billed = [r for r in rows if r.units > 0]
    start = billed[0].start if billed else None
    last = rows[-1]
    end: date | None = None
    if last.units == 0:
        end = max(r.end for r in billed) if billed else rows[0].start - ONE_DAY
    return Span(quantity=last.units, start=start, end=end, price=last.price)


def adjustments_to(rows: list[UnitRow], quantity: int, effective: date) -> list[tuple[date, int]]:
    """The (effective date, unit change) posts that make every day from
    ``effective`` on hold ``quantity`` units, later scheduled changes included."""
    if quantity < 0:
        raise ValueError(f"a line cannot hold {quantity} units")
    segments: list[tuple[date, int]] = []
    for row in rows:
        if row.end < effective:
            continue
        first = max(row.start, effective)
        if not segments or segments[-1][1] != row.units:
            segments.append((first, row.units))
    posts: list[tuple[date, int]] = []
    shift = 0
    for day, units in segments:
        change = quantity - (units + shift)
        if change:
            posts.append((day, change))
            shift += change
    return posts


def boundary(effective: date, period: Period, rows: list[UnitRow], prorates: bool) -> date:
    """The day a change dated ``effective`` is posted, so Autotask never prorates it.

    seatsync bills proration itself (as exact contract charges) and must not
    let Autotask prorate a change again (DESIGN §2), so a main line changes
    only on a period's first day:
    - a change dated on a period's first day is posted on it;
    - on a prorating contract, a mid-period change is posted from the next
      period (the prorate or credit charge covers the rest of this one);
    - on a contract with proration disabled, a mid-period change is posted
      from the current period's first day when that period is not yet billed
      (approved and posted), else from the next period.
    """
    if effective == period.start:
        return effective
    if prorates:
        return period.next_start
    first = row_on(rows, period.start)
    return period.next_start if first is None or first.posted else period.start
