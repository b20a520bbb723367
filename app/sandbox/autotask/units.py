"""Contract service units, adjustments and what Autotask bills for them.

A contract service holds a number of units per billing period. Its
ContractServiceUnits are one row per period of the contract (APIS.md §B2);
a ContractServiceAdjustment changes the units by ``unitChange`` from its
``effectiveDate`` to the end of the contract, and splits the row of the
period it falls in: a new row starts at the effective date and runs to the
period's end or the next adjustment.

What the sandbox bills (its model of Autotask's Approve and Post):
- each period bills every contract service's units at the period's start
  times the row's unit price, rounded half-up to the cent. Once a period is
  posted (``approveAndPostDate`` set on its rows) that base is frozen;
- an adjustment effective on a period's first day, in a period not yet
  posted, simply changes that base;
- any other adjustment is prorated by days:
      unitChange × unit price × days(effective..period end) / days(period)
  rounded once, half-up, to the cent (a negative change is a credit).
  The unit price is the adjustment's ``adjustedUnitPrice`` when given, else
  the row's price. A mid-period adjustment's rows hold the new units from
  the effective date, so the rows and the prorated charge tell the same story;
- contract charges bill their ``billableAmount`` in the period holding
  their ``datePurchased``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.sandbox.autotask.periods import period_of

CENT = Decimal("0.01")
_EPOCH = date(2000, 1, 1)


@dataclass
class Change:
    """One adjustment of a contract service's units (or its initial units)."""

    id: int
    effective: date
    delta: int
    price: Decimal | None
    cost: Decimal | None = None


@dataclass(frozen=True)
class Row:
    start: date
    end: date
    units: int
    price: Decimal
    period: tuple[date, date]


def rows_for(periods: list[tuple[date, date]], changes: list[Change], default_price: Decimal) -> list[Row]:
    ordered = sorted(changes, key=lambda c: (c.effective, c.id))
    rows: list[Row] = []
    for first, last in periods:
        cuts = sorted({first} | {c.effective for c in ordered if first < c.effective <= last})
        for i, start in enumerate(cuts):
            end = cuts[i + 1] - timedelta(days=1) if i + 1 < len(cuts) else last
            units = sum(c.delta for c in ordered if c.effective <= start)
            price = default_price
            for c in ordered:
                if c.effective <= start and c.price is not None:
                    price = c.price
            rows.append(Row(start, end, units, price, (first, last)))
    return rows


def row_id(contract_service_id: int, start: date) -> int:
    """Stable ids: one row per (contract service, start day)."""
    return contract_service_id * 100_000 + (start - _EPOCH).days


def row_record(cs: dict[str, Any], row: Row, posted_at: datetime | None) -> dict[str, Any]:
    return {
        "id": row_id(cs["id"], row.start),
        "contractID": cs["contractID"],
        "contractServiceID": cs["id"],
        "serviceID": cs["serviceID"],
        "startDate": datetime.combine(row.start, time()),
        "endDate": datetime.combine(row.end, time()),
        "units": row.units,
        "price": row.price,
        "cost": cs.get("unitCost") or Decimal("0"),
        "internalCurrencyPrice": row.price,
        "approveAndPostDate": posted_at,
        "organizationalLevelAssociationID": None,
        "vendorCompanyID": None,
    }


def lowest_units(rows: list[Row]) -> int:
    return min((r.units for r in rows), default=0)


def row_on(rows: list[Row], day: date) -> Row | None:
    for r in rows:
        if r.start <= day <= r.end:
            return r
    return None


def round_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def prorated(delta: int, price: Decimal, effective: date, period: tuple[date, date]) -> Decimal:
    held = (period[1] - effective).days + 1
    days = (period[1] - period[0]).days + 1
    return round_cents(Decimal(delta) * price * Decimal(held) / Decimal(days))


@dataclass(frozen=True)
class BillingItem:
    """One amount on the period's invoice, as the sandbox bills it."""

    kind: str  # "recurring" | "adjustment" | "charge"
    source_id: int
    amount: Decimal
    detail: str = ""


def adjustment_charge(periods: list[tuple[date, date]], rows_before: list[Row], effective: date, delta: int,
                      price: Decimal | None, posted: set[date]) -> tuple[tuple[date, date], Decimal | None]:
    """The period an adjustment falls in and its prorated charge (None: folded into the base)."""
    period = period_of(periods, effective)
    assert period is not None
    if effective == period[0] and period[0] not in posted:
        return period, None
    row = row_on(rows_before, effective)
    unit_price = price if price is not None else (row.price if row else Decimal("0"))
    return period, prorated(delta, unit_price, effective, period)
