"""Contract service units: adjustments split the unit rows, and what the
sandbox bills for them is right to the cent (units.py in the sandbox holds
the formula); the client's reading of the rows (units.py in the adapter)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.billing.periods import Period
from app.sandbox.autotask import AutotaskSandbox
from app.sandbox.autotask.store import StoreError
from app.services.psa.autotask.client import AutotaskClient
from app.services.psa.autotask.query import eq
from app.services.psa.autotask.units import UnitRow, adjustments_to, boundary, span
from tests.autotask.conftest import World


def contract_with_service(*, price: str = "12.50", units: int = 5, period: str = "Monthly",
                          start: date = date(2024, 1, 1)) -> tuple[AutotaskSandbox, int, int]:
    app = AutotaskSandbox()
    store = app.store
    company = store.add_company("Contoso Ltd")
    contract = store.add_contract(company, "Microsoft 365", start=start, end=date(2027, 12, 31), period=period)
    service = store.add_service("Microsoft 365 Business Premium", price)
    cs = store.add_contract_service(contract, service, units=units, start=start)
    return app, contract, cs


def rows_between(app: AutotaskSandbox, cs: int, first: date, last: date) -> list[tuple[date, date, int]]:
    return [(r.start, r.end, r.units) for r in app.store.rows(cs) if first <= r.start <= last]


def test_an_adjustment_splits_the_row_of_its_period() -> None:
    app, _, cs = contract_with_service()
    before = len(app.store.rows(cs))
    app.store.adjust(cs, date(2025, 1, 15), 2)
    assert len(app.store.rows(cs)) == before + 1
    assert rows_between(app, cs, date(2024, 12, 1), date(2025, 2, 1)) == [
        (date(2024, 12, 1), date(2024, 12, 31), 5),
        (date(2025, 1, 1), date(2025, 1, 14), 5),
        (date(2025, 1, 15), date(2025, 1, 31), 7),
        (date(2025, 2, 1), date(2025, 2, 28), 7),
    ]
    app.store.adjust(cs, date(2025, 1, 20), -1)
    assert rows_between(app, cs, date(2025, 1, 1), date(2025, 1, 31)) == [
        (date(2025, 1, 1), date(2025, 1, 14), 5),
        (date(2025, 1, 15), date(2025, 1, 19), 7),
        (date(2025, 1, 20), date(2025, 1, 31), 6),
    ]
    assert app.store.rows(cs)[-1].units == 6  # to the end of the contract


def test_adjustments_on_a_period_start_do_not_split() -> None:
    app, _, cs = contract_with_service()
    before = len(app.store.rows(cs))
    app.store.adjust(cs, date(2025, 4, 1), 3)
    assert len(app.store.rows(cs)) == before
    assert rows_between(app, cs, date(2025, 3, 1), date(2025, 4, 1)) == [
        (date(2025, 3, 1), date(2025, 3, 31), 5), (date(2025, 4, 1), date(2025, 4, 30), 8)]


# (price, effective, change, adjusted price, periods posted through, the period billed, the charge expected)
PRORATIONS = [
    ("12.50", date(2025, 1, 15), 2, None, None, date(2025, 1, 1), "13.71"),  # 2 × 12.50 × 17/31
    ("12.50", date(2025, 2, 10), -3, None, None, date(2025, 2, 1), "-25.45"),  # −3 × 12.50 × 19/28
    ("12.50", date(2024, 2, 29), 1, None, None, date(2024, 2, 1), "0.43"),  # 1 × 12.50 × 1/29 (leap year)
    ("12.50", date(2025, 6, 16), 4, "9.99", None, date(2025, 6, 1), "19.98"),  # 4 × 9.99 × 15/30
    ("0.01", date(2025, 6, 16), 1, None, None, date(2025, 6, 1), "0.01"),  # 0.005: half-up, not half-even
    ("0.01", date(2025, 6, 16), -1, None, None, date(2025, 6, 1), "-0.01"),  # a credit mirrors the charge
    ("12.50", date(2025, 4, 1), 7, None, date(2025, 4, 1), date(2025, 4, 1), "87.50"),  # posted: a full period
    ("12.50", date(2025, 3, 31), 3, None, date(2025, 3, 1), date(2025, 3, 1), "1.21"),  # 3 × 12.50 × 1/31
]


@pytest.mark.parametrize(("price", "effective", "change", "adjusted", "posted", "period", "charge"), PRORATIONS)
def test_mid_period_adjustments_are_prorated_to_the_cent(price: str, effective: date, change: int,
                                                         adjusted: str | None, posted: date | None, period: date,
                                                         charge: str) -> None:
    app, contract, cs = contract_with_service(price=price)
    if posted:
        app.store.post_through(posted, contract)
    app.store.adjust(cs, effective, change, Decimal(adjusted) if adjusted else None)
    items = app.store.billing(contract, period)
    assert [i.amount for i in items if i.kind == "adjustment"] == [Decimal(charge)]
    base = [i.amount for i in items if i.kind == "recurring"]
    assert base == [Decimal(5) * Decimal(price)]


def test_a_change_on_an_unbilled_period_start_changes_its_base_without_a_charge() -> None:
    app, contract, cs = contract_with_service()
    app.store.adjust(cs, date(2025, 4, 1), 7)
    items = app.store.billing(contract, date(2025, 4, 1))
    assert [(i.kind, i.amount) for i in items] == [("recurring", Decimal("150.00"))]  # 12 × 12.50


def test_a_posted_period_keeps_its_base() -> None:
    app, contract, cs = contract_with_service()
    app.store.post_through(date(2025, 3, 1), contract)
    app.store.adjust(cs, date(2025, 3, 10), 4)
    items = app.store.billing(contract, date(2025, 3, 1))
    assert [(i.kind, i.amount) for i in items] == [("recurring", Decimal("62.50")),
                                                  ("adjustment", Decimal("35.48"))]  # 4 × 12.50 × 22/31
    assert app.store.billed_total(contract, date(2025, 4, 1)) == Decimal("112.50")


def test_an_annual_contract_prorates_over_its_year() -> None:
    app, contract, cs = contract_with_service(price="120.00", units=0, period="Yearly", start=date(2024, 7, 1))
    app.store.adjust(cs, date(2025, 1, 1), 10)
    items = app.store.billing(contract, date(2024, 7, 1))
    assert [i.amount for i in items if i.kind == "adjustment"] == [Decimal("595.07")]  # 10 × 120 × 181/365


@pytest.mark.parametrize(("effective", "change", "message"), [
    (date(2023, 12, 31), 1, "within the contract's dates"),
    (date(2028, 1, 1), 1, "within the contract's dates"),
    (date(2025, 3, 10), -6, "fewer than zero units"),
])
def test_adjustments_the_sandbox_refuses(effective: date, change: int, message: str) -> None:
    app, _, cs = contract_with_service()
    with pytest.raises(StoreError, match=message):
        app.store.adjust(cs, effective, change)


def test_adjustments_over_http_split_the_rows_the_client_reads(world: World, client: AutotaskClient) -> None:
    store = world.app.store
    contract, service = world.ids["prorating"], world.ids["product"]
    cs = store.add_contract_service(contract, service, units=5, start=date(2025, 1, 1))
    client.create("V1.0/ContractServiceAdjustments", {"contractID": contract, "contractServiceID": cs,
                                                      "effectiveDate": "2025-03-10T00:00:00Z", "unitChange": 3},
                  endpoint="ContractServiceAdjustments")
    # By service id: Autotask finds the contract's service for it (APIS.md §B2).
    client.create(f"V1.0/Contracts/{contract}/ServiceAdjustments",
                  {"contractID": contract, "serviceID": service, "effectiveDate": "2025-04-01T00:00:00",
                   "unitChange": -2}, endpoint="ContractServiceAdjustments")
    rows = client.query("ContractServiceUnits", [eq("contractServiceID", cs)])
    march = [(r["startDate"], r["endDate"], r["units"]) for r in rows if r["startDate"].startswith("2025-0")
             and r["startDate"] < "2025-05"]
    assert march == [("2025-01-01T00:00:00", "2025-01-31T00:00:00", 5),
                     ("2025-02-01T00:00:00", "2025-02-28T00:00:00", 5),
                     ("2025-03-01T00:00:00", "2025-03-09T00:00:00", 5),
                     ("2025-03-10T00:00:00", "2025-03-31T00:00:00", 8),
                     ("2025-04-01T00:00:00", "2025-04-30T00:00:00", 6)]
    assert [i.amount for i in store.billing(contract, date(2025, 3, 1)) if i.kind == "adjustment"] == \
        [Decimal("46.84")]  # 3 × 22.00 (the service's price) × 22/31
    assert len(rows) == 12 * 4 + 1


# -- the client's reading of the rows ---------------------------------------------------------

def row(start: date, end: date, units: int, posted: bool = False) -> UnitRow:
    return UnitRow(start=start, end=end, units=units, price=Decimal("12.00"), posted=posted)


MAR = row(date(2025, 3, 1), date(2025, 3, 31), 5)
APR = row(date(2025, 4, 1), date(2025, 4, 30), 5)
MAY = row(date(2025, 5, 1), date(2025, 5, 31), 8)


@pytest.mark.parametrize(("rows", "quantity", "effective", "posts"), [
    ([MAR, APR, MAY], 5, date(2025, 3, 1), [(date(2025, 5, 1), -3)]),
    ([MAR, APR, MAY], 10, date(2025, 4, 1), [(date(2025, 4, 1), 5), (date(2025, 5, 1), -3)]),
    ([MAR, APR, MAY], 8, date(2025, 5, 1), []),
    ([MAR, APR, MAY], 0, date(2025, 4, 1), [(date(2025, 4, 1), -5), (date(2025, 5, 1), -3)]),
    ([MAR, APR, MAY], 7, date(2025, 3, 10), [(date(2025, 3, 10), 2), (date(2025, 5, 1), -3)]),
    ([MAR, APR, MAY], 9, date(2025, 6, 1), []),  # after the contract's last row: nothing to post
])
def test_adjustments_are_computed_from_the_rows_read(rows: list[UnitRow], quantity: int, effective: date,
                                                    posts: list[tuple[date, int]]) -> None:
    assert adjustments_to(rows, quantity, effective) == posts


@pytest.mark.parametrize(("rows", "quantity", "start", "end"), [
    ([MAR, APR, MAY], 8, date(2025, 3, 1), None),
    ([row(date(2025, 3, 1), date(2025, 3, 31), 0), APR, row(date(2025, 5, 1), date(2025, 5, 31), 0)], 0,
     date(2025, 4, 1), date(2025, 4, 30)),
    ([row(date(2025, 3, 1), date(2025, 3, 31), 0), row(date(2025, 4, 1), date(2025, 4, 30), 0)], 0,
     None, date(2025, 2, 28)),
    ([], 0, None, None),
])
def test_a_line_is_read_from_its_rows(rows: list[UnitRow], quantity: int, start: date | None,
                                     end: date | None) -> None:
    s = span(rows)
    assert (s.quantity, s.start, s.end) == (quantity, start, end)


PERIOD = Period(start=date(2025, 3, 1), end=date(2025, 3, 31))


@pytest.mark.parametrize(("effective", "prorates", "posted", "day"), [
    (date(2025, 3, 1), True, False, date(2025, 3, 1)),
    (date(2025, 3, 1), False, True, date(2025, 3, 1)),
    (date(2025, 3, 10), True, False, date(2025, 4, 1)),  # the prorate charge covers the rest of March
    (date(2025, 3, 10), False, False, date(2025, 3, 1)),  # proration off, March not yet billed
    (date(2025, 3, 10), False, True, date(2025, 4, 1)),  # proration off, March billed
])
def test_changes_land_on_period_boundaries(effective: date, prorates: bool, posted: bool, day: date) -> None:
    rows = [row(PERIOD.start, PERIOD.end, 5, posted), row(PERIOD.end + timedelta(days=1), date(2025, 4, 30), 5)]
    assert boundary(effective, PERIOD, rows, prorates) == day
