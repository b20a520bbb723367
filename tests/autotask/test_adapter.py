"""The adapter's Autotask-specific mapping: which contracts are agreements, where
proration is disabled, where changes land, and that the money matches DESIGN §2."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.billing.periods import agreement_period
from app.billing.proration import prorated_amount
from app.billing.types import AgreementStatus, Anchor, BillingOption, Cycle, LineKind
from app.sandbox.autotask import PRORATION_UDF
from app.services.psa.autotask import AutotaskPsa
from app.services.psa.autotask.errors import (
    AutotaskInactiveService,
    AutotaskNoMaterialCode,
    AutotaskUnsupportedContract,
)
from app.services.psa.port import NewLine, PsaCompany
from tests.autotask.conftest import TODAY, World

PRICE = Decimal("22.00")


def main(world: World, contract: str = "prorating", quantity: int = 5, start: date = date(2025, 3, 1),
         marker: str = "seatsync:0123456789ab", **kw: object) -> NewLine:
    return NewLine(agreement_id=str(world.ids[contract]), product_id=str(world.ids["product"]), kind=LineKind.MAIN,
                   quantity=quantity, unit_price=PRICE, start=start, end=None,
                   description="Microsoft 365 Business Premium", marker=marker, **kw)  # type: ignore[arg-type]


def dated(world: World, seats: int, day: date, end: date, amount: Decimal, marker: str,
          contract: str = "prorating") -> NewLine:
    return NewLine(agreement_id=str(world.ids[contract]), product_id=str(world.ids["product"]),
                   kind=LineKind.PRORATE if seats > 0 else LineKind.CREDIT, quantity=seats, unit_price=PRICE,
                   start=day, end=end, description="Microsoft 365 Business Premium (prorated)", marker=marker,
                   amount=amount)


def test_companies_carry_their_domains(world: World, psa: AutotaskPsa) -> None:
    companies = {c.id: c for c in psa.list_companies()}
    assert companies[str(world.ids["company"])] == PsaCompany(
        id=str(world.ids["company"]), name="Contoso Ltd", identifier=str(world.ids["company"]),
        domains=("contoso.com", "contoso.co.uk"), active=True)


def test_only_monthly_or_yearly_recurring_service_contracts_are_agreements(world: World, psa: AutotaskPsa) -> None:
    agreements = {a.id: a for a in psa.list_agreements()}
    ids = world.ids
    assert str(ids["quarterly"]) not in agreements and str(ids["hours"]) not in agreements
    prorating = agreements[str(ids["prorating"])]
    assert (prorating.cycle, prorating.anchor, prorating.start, prorating.type_name, prorating.status) == (
        Cycle.MONTHLY, Anchor.CALENDAR, date(2024, 1, 1), "Recurring Service", AgreementStatus.ACTIVE)
    northwind = agreements[str(ids["northwind"])]
    assert northwind.anchor is Anchor.ANNIVERSARY and northwind.start == date(2024, 1, 15)
    assert agreements[str(ids["inactive"])].status is AgreementStatus.INACTIVE


def test_proration_is_disabled_by_contract_udf_company_udf_or_setting(world: World, psa: AutotaskPsa) -> None:
    ids = world.ids
    flags = {a.id: a.prorates for a in psa.list_agreements()}
    assert flags[str(ids["prorating"])] is True
    assert flags[str(ids["flat"])] is False  # the contract's UDF
    assert flags[str(ids["northwind"])] is False  # its company's UDF
    assert flags[str(ids["fabrikam"])] is True
    setting = AutotaskPsa(psa.client, no_proration_companies={str(ids["other"])})
    assert {a.id: a.prorates for a in setting.list_agreements(str(ids["other"]))}[str(ids["fabrikam"])] is False
    world.app.store.set_udf("Companies", ids["company"], PRORATION_UDF, "no")
    fresh = AutotaskPsa(psa.client)
    assert {a.id: a.prorates for a in fresh.list_agreements(str(ids["company"]))}[str(ids["prorating"])] is True


def test_an_increase_with_proration_bills_exactly_design_s_formula(world: World, psa: AutotaskPsa) -> None:
    """Seats rise 5 -> 8 on 10 March: March bills 5 seats plus one prorate charge of
    3 × 22.00 × 22/31, April bills 8 seats; Autotask prorates nothing itself."""
    store, contract = world.app.store, world.ids["prorating"]
    line = psa.create_line(main(world, start=date(2025, 2, 1)))
    store.post_through(date(2025, 3, 1))  # March is invoiced in advance on the 1st
    agreement = {a.id: a for a in psa.list_agreements()}[str(contract)]
    period = agreement_period(agreement, date(2025, 3, 10))
    amount = prorated_amount(3, PRICE, date(2025, 3, 10), period)
    assert amount == Decimal("46.84")
    changed = psa.set_quantity(line, 8, period.next_start)
    prorate = psa.add_dated_line(dated(world, 3, date(2025, 3, 10), period.end, amount,
                                       "seatsync:0123456789ab:p20250310:5>8"))
    assert changed.quantity == 8 and prorate.amount == amount and prorate.kind is LineKind.PRORATE
    march = store.billing(contract, date(2025, 3, 1))
    assert sorted((i.kind, i.amount) for i in march) == [("charge", Decimal("46.84")),
                                                        ("recurring", Decimal("110.00"))]
    assert store.billed_total(contract, date(2025, 4, 1)) == Decimal("176.00")
    assert all(a["charge"] is None for a in store.adjustments)  # no adjustment was prorated by Autotask
    listed = {each.id: each for each in psa.list_lines(str(contract))}
    assert listed[prorate.id].product_id == str(world.ids["product"])
    charge = store.tables["ContractCharges"][int(prorate.id.removeprefix("charge-"))]
    assert charge["contractServiceID"] == int(line.id)  # sits beside its main line in Autotask


def test_reads_cost_a_bounded_number_of_requests(world: World, psa: AutotaskPsa) -> None:
    for n in range(40):
        company = world.app.store.add_company(f"Tenant {n}")
        world.app.store.add_contract(company, "Microsoft 365", start=date(2024, 1, 1), end=date(2026, 12, 31))
    psa.create_line(main(world))
    world.server.reset_counts()
    assert len(psa.list_agreements()) >= 40
    assert world.server.request_count() <= 4  # companies with the UDF, contracts, two picklist reads
    world.server.reset_counts()
    psa.list_lines(str(world.ids["prorating"]))
    assert world.server.request_count() == 3  # services, their unit rows, the charges


def test_a_mid_period_change_on_a_prorating_contract_waits_for_the_next_period(world: World,
                                                                             psa: AutotaskPsa) -> None:
    line = psa.create_line(main(world))
    psa.set_quantity(line, 9, date(2025, 3, 10))
    rows = [(r.start, r.units) for r in world.app.store.rows(int(line.id))
            if date(2025, 3, 1) <= r.start <= date(2025, 4, 1)]
    assert rows == [(date(2025, 3, 1), 5), (date(2025, 4, 1), 9)]


@pytest.mark.parametrize(("posted", "lands"), [(False, date(2025, 3, 1)), (True, date(2025, 4, 1))])
def test_with_proration_disabled_a_change_lands_on_the_boundary(world: World, psa: AutotaskPsa, posted: bool,
                                                                lands: date) -> None:
    line = psa.create_line(main(world, contract="flat", start=date(2025, 2, 1)))
    if posted:
        world.app.store.post_through(date(2025, 3, 1), world.ids["flat"])
    psa.set_quantity(line, 7, date(2025, 3, 17))
    rows = [(r.start, r.units) for r in world.app.store.rows(int(line.id))
            if date(2025, 2, 1) <= r.start <= date(2025, 4, 1)]
    expected = {date(2025, 2, 1): 5, date(2025, 3, 1): 5, date(2025, 4, 1): 7}
    expected.update({d: 7 for d in expected if d >= lands})
    assert rows == sorted(expected.items())
    assert not [a for a in world.app.store.adjustments if a["charge"] is not None and not posted]


def test_a_change_is_computed_from_autotask_not_from_a_counter(world: World, psa: AutotaskPsa) -> None:
    line = psa.create_line(main(world))
    world.app.store.set_units(int(line.id), 11, TODAY)  # someone edits the units in Autotask
    psa.set_quantity(line, 8, date(2025, 4, 1))  # ``line`` still says 5
    assert [a["unitChange"] for a in world.app.store.adjustments][-1] == -3
    assert {each.id: each.quantity for each in psa.list_lines(str(world.ids["prorating"]))}[line.id] == 8


def test_the_same_change_twice_writes_once(world: World, psa: AutotaskPsa) -> None:
    line = psa.create_line(main(world))
    psa.set_quantity(line, 8, date(2025, 4, 1))
    count = len(world.app.store.adjustments)
    psa.set_quantity(line, 8, date(2025, 4, 1))
    assert len(world.app.store.adjustments) == count
    first = psa.add_dated_line(dated(world, 3, date(2025, 3, 10), date(2025, 3, 31), Decimal("46.84"), "seatsync:x:p1"))
    again = psa.add_dated_line(dated(world, 3, date(2025, 3, 10), date(2025, 3, 31), Decimal("46.84"), "seatsync:x:p1"))
    assert first.id == again.id and len(world.app.store.tables["ContractCharges"]) == 1


def test_a_credit_is_a_negative_charge(world: World, psa: AutotaskPsa) -> None:
    credit = psa.add_dated_line(dated(world, -4, date(2025, 3, 10), date(2025, 3, 31), Decimal("-62.45"),
                                      "seatsync:0123456789ab:c20250310:9>5"))
    assert (credit.kind, credit.quantity, credit.amount) == (LineKind.CREDIT, -4, Decimal("-62.45"))
    assert world.app.store.billed_total(world.ids["prorating"], date(2025, 3, 1)) == Decimal("-62.45")


def test_non_billable_lines(world: World, psa: AutotaskPsa) -> None:
    line = psa.create_line(main(world, billing_option=BillingOption.NO_CHARGE))
    assert line.unit_price == Decimal("0")
    charge = psa.add_dated_line(NewLine(**{**dated(world, 2, date(2025, 3, 10), date(2025, 3, 31), Decimal("31.23"),
                                                   "seatsync:n:p").__dict__,
                                           "billing_option": BillingOption.NON_BILLABLE}))
    record = world.app.store.tables["ContractCharges"][int(charge.id.removeprefix("charge-"))]
    assert record["isBillableToCompany"] is False


def test_refusals_name_what_is_wrong(world: World, psa: AutotaskPsa) -> None:
    with pytest.raises(AutotaskInactiveService, match="Office 365 E1"):
        psa.create_line(NewLine(**{**main(world).__dict__, "product_id": str(world.ids["inactive_product"])}))
    with pytest.raises(AutotaskUnsupportedContract, match="Quarterly backup"):
        psa.create_line(main(world, contract="quarterly"))
    with pytest.raises(ValueError, match="goes through add_dated_line"):
        psa.create_line(dated(world, 2, date(2025, 3, 10), date(2025, 3, 31), Decimal("1.00"), "seatsync:m"))
    world.app.store.tables["BillingCodes"].clear()
    with pytest.raises(AutotaskNoMaterialCode):
        psa.add_dated_line(dated(world, 2, date(2025, 3, 10), date(2025, 3, 31), Decimal("1.00"), "seatsync:m"))


def test_updating_and_cancelling_dated_lines(world: World, psa: AutotaskPsa) -> None:
    charge = psa.add_dated_line(dated(world, 2, date(2025, 3, 10), date(2025, 3, 31), Decimal("31.23"), "seatsync:d"))
    updated = psa.update_description(charge, "M365 BP prorate\nalice@contoso.com")
    assert updated.description == "M365 BP prorate\nalice@contoso.com" and updated.amount == Decimal("31.23")
    cancelled = psa.cancel_line(charge, date(2025, 3, 10))
    assert cancelled.end == date(2025, 3, 9)
    assert psa.list_lines(str(world.ids["prorating"])) == []


def test_a_cancelled_line_ends_the_day_before_its_change(world: World, psa: AutotaskPsa) -> None:
    line = psa.create_line(main(world, start=date(2025, 2, 1)))
    cancelled = psa.cancel_line(line, date(2025, 3, 12))  # mid-period on a prorating contract
    assert (cancelled.quantity, cancelled.end) == (0, date(2025, 3, 31))  # billed through March, as invoiced
    relisted = {each.id: each for each in psa.list_lines(str(world.ids["prorating"]))}[line.id]
    assert relisted.end == date(2025, 3, 31) and relisted.start == date(2025, 2, 1)
