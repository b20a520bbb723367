"""What the planner reports instead of (or beside) writing (DESIGN §2, §3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.billing.markers import main_marker
from app.billing.operations import FindingKind
from app.billing.plan import PlanOptions, plan
from app.billing.types import (
    AgreementStatus,
    Anchor,
    BillingOption,
    Exclusion,
    Line,
    LineKind,
    PriceKind,
    PricePolicy,
    Subscription,
    Term,
)
from tests.billing.builders import SKU, SKU2, TENANT, agreement, inventory, lic, main_line, mapping, product, profile

TODAY = date(2026, 1, 16)
F = FindingKind


def kinds(result):
    return sorted(f.kind for f in result.findings)


@pytest.mark.parametrize(
    ("name", "mappings", "agreements", "findings"),
    [
        ("a license without mapping is unmapped", [], [agreement()], [F.UNMAPPED_LICENSE]),
        ("mapped to an agreement the PSA lacks", [mapping()], [], [F.MISSING_AGREEMENT]),
        ("mapped to a cancelled agreement", [mapping()], [agreement(status=AgreementStatus.CANCELLED)],
         [F.INACTIVE_AGREEMENT]),
        ("the profile does not allow the agreement's type",
         [mapping(profile=profile(types=frozenset({"Managed Services"})))], [agreement()],
         [F.AGREEMENT_TYPE_NOT_ALLOWED]),
        ("the product is inactive", [mapping(profile=profile(product_=product(active=False)))], [agreement()],
         [F.INACTIVE_PRODUCT]),
    ],
)
def test_a_mapping_that_cannot_be_billed_is_a_finding_and_writes_nothing(name, mappings, agreements, findings):
    result = plan(inventory(lic(10, 10)), mappings, [], agreements, [], TODAY)
    assert result.operations == ()
    assert kinds(result) == findings


@pytest.mark.parametrize("exclusion", [Exclusion(sku_id=SKU), Exclusion(sku_id=SKU.upper(), tenant_id=TENANT)])
def test_excluded_licenses_raise_nothing(exclusion):
    subs = (Subscription(id="s", sku_id=SKU, quantity=30, term=Term.YEAR),)
    inv = inventory(lic(40, 10, subscriptions=subs))  # unmapped, unassigned, committed above usage
    m = mapping()
    for mappings, lines in (([], []), ([m], [main_line(5, m)])):
        result = plan(inv, mappings, [exclusion], [agreement()], lines, TODAY)
        assert result.operations == () and result.findings == ()


def test_an_exclusion_for_another_tenant_does_not_apply():
    result = plan(inventory(lic(10, 10)), [], [Exclusion(sku_id=SKU, tenant_id="other")], [agreement()], [], TODAY)
    assert kinds(result) == [F.UNMAPPED_LICENSE]


def test_annual_commitment_above_usage_is_a_finding_not_an_error():
    subs = (Subscription(id="y", sku_id=SKU, quantity=25, term=Term.YEAR, commitment_end=date(2026, 9, 30)),)
    m = mapping()
    result = plan(inventory(lic(25, 20, subscriptions=subs)), [m], [], [agreement()], [main_line(20, m)], TODAY)
    assert kinds(result) == [F.COMMITMENT_ABOVE_USAGE, F.UNASSIGNED_SEATS]
    assert result.operations == ()


@pytest.mark.parametrize(("in_psa", "written", "assigned", "expected"), [
    (8, 10, 10, [("set_quantity", 8, 10, "220.00")]),  # lowered by hand: restored, not prorated
    (12, 10, 10, [("set_quantity", 12, 10, "220.00")]),  # raised by hand: restored, nothing credited
    (8, 10, 13, [("add_prorate", 10, 3, "34.06"), ("set_quantity", 8, 13, "286.00")]),  # and seats added: +3
    # edited to what the rule gives: written anyway, so the next period starts from seatsync's own 13
    (13, 10, 13, [("add_prorate", 10, 3, "34.06"), ("set_quantity", 13, 13, "286.00")]),
])
def test_a_manual_edit_is_reported_and_corrected_without_prorating_it(in_psa, written, assigned, expected):
    m = mapping(negative_proration=True)
    edited = main_line(in_psa, m, last_written_quantity=written)
    result = plan(inventory(lic(20, assigned)), [m], [], [agreement()], [edited], TODAY)
    assert kinds(result) == [F.MANUAL_EDIT, F.UNASSIGNED_SEATS]
    assert [(op.kind.value, op.before, op.quantity, str(op.amount)) for op in result.operations] == expected


def test_a_large_drop_is_suspicious():
    m = mapping()
    result = plan(inventory(lic(40, 4)), [m], [], [agreement()], [main_line(30, m)], TODAY)
    assert F.SUSPICIOUS_DROP in kinds(result)
    small = plan(inventory(lic(40, 28)), [m], [], [agreement()], [main_line(30, m)], TODAY)
    assert F.SUSPICIOUS_DROP not in kinds(small)


def test_two_open_owned_lines_for_one_row_stop_that_row():
    m = mapping()
    result = plan(inventory(lic(10, 12)), [m], [], [agreement()],
                  [main_line(10, m), main_line(10, m, id="L2")], TODAY)
    assert kinds(result) == [F.DUPLICATE_OWNED_LINE] and result.operations == ()


def test_a_split_license_reports_its_unmapped_subscriptions():
    subs = (Subscription(id="m", sku_id=SKU, quantity=5), Subscription(id="y", sku_id=SKU, quantity=5, term=Term.YEAR))
    m = mapping(subscription_id="m")
    result = plan(inventory(lic(10, 10, subscriptions=subs)), [m], [], [agreement()], [], TODAY)
    assert [f.kind for f in result.findings] == [F.UNMAPPED_LICENSE]
    assert "y" in result.findings[0].message


def test_a_mapping_moved_to_another_agreement_cancels_the_old_line_and_starts_the_new():
    from dataclasses import replace

    m = mapping()
    old = main_line(10, m)
    moved = replace(m, agreement_id="A2")
    a2 = replace(agreement(), id="A2")
    result = plan(inventory(lic(10, 10)), [moved], [], [agreement(), a2], [old], TODAY)
    assert [(op.kind.value, op.agreement_id, op.effective) for op in result.operations] == [
        ("cancel_line", "A1", date(2026, 2, 1)), ("create_line", "A2", date(2026, 2, 1))]


MOVED_TO_THE_15TH = replace(agreement(anchor=Anchor.ANNIVERSARY, start=date(2024, 1, 15)), id="A2")


@pytest.mark.parametrize(("today", "seats", "expected"), [
    # The old line bills February; the new agreement bills from 1 March: 14 of its 28 days, then whole periods.
    (date(2026, 2, 10), 10, [("add_prorate", "2026-03-01", "2026-03-14", 10, "110.00"),
                             ("cancel_line", "2026-03-01", None, 0, "0.00"),
                             ("create_line", "2026-03-15", None, 10, "220.00")]),
    # On the first day of the old line's period, it stops that day: 14 of the 31 days of 15 Jan..14 Feb.
    (date(2026, 2, 1), 10, [("add_prorate", "2026-02-01", "2026-02-14", 10, "99.35"),
                            ("cancel_line", "2026-02-01", None, 0, "0.00"),
                            ("create_line", "2026-02-15", None, 10, "220.00")]),
    # Seats added before the old line stops are prorated on its calendar: 2 × 22.00 × 19/28 (10..28 Feb).
    (date(2026, 2, 10), 12, [("add_prorate", "2026-02-10", "2026-02-28", 2, "29.86"),
                             ("add_prorate", "2026-03-01", "2026-03-14", 12, "132.00"),
                             ("cancel_line", "2026-03-01", None, 0, "0.00"),
                             ("create_line", "2026-03-15", None, 12, "264.00")]),
])
def test_a_row_moved_to_an_agreement_on_another_calendar_bills_each_day_once(today, seats, expected):
    m = mapping()
    result = plan(inventory(lic(seats, seats)), [replace(m, agreement_id="A2")], [], [agreement(), MOVED_TO_THE_15TH],
                  [main_line(10, m)], today)
    assert [(op.kind.value, op.effective.isoformat(), op.end and op.end.isoformat(), op.quantity, str(op.amount))
            for op in result.operations] == expected
    assert {op.agreement_id for op in result.operations if op.kind.value != "cancel_line"} == {"A2"}


def test_a_row_moved_back_begins_after_what_still_bills_elsewhere_even_when_its_line_there_is_gone():
    """Moved to the 15th-of-the-month agreement on 10 Jan and back on 5 Feb: the PSA deleted the line there
    (cancelled before it billed), but its prorate bills 1-14 Feb. The row begins again on 15 Feb."""
    m = mapping()
    old = replace(main_line(10, m), end=date(2026, 1, 31))
    there = Line(id="L9", agreement_id="A2", product_id="P1", kind=LineKind.PRORATE, quantity=10,
                 unit_price=Decimal("22.00"), start=date(2026, 2, 1), end=date(2026, 2, 14),
                 marker=f"{main_marker(m.row)}:p20260201:0>10", amount=Decimal("99.35"))
    result = plan(inventory(lic(10, 10)), [m], [], [agreement(), MOVED_TO_THE_15TH], [old, there], date(2026, 2, 5))
    assert [(op.kind.value, op.effective, op.end, str(op.amount)) for op in result.operations] == [
        ("add_prorate", date(2026, 2, 15), date(2026, 2, 28), "110.00"),  # 10 × 22.00 × 14/28
        ("create_line", date(2026, 3, 1), None, "220.00")]


def test_the_second_tenant_license_row_is_planned_independently():
    m1, m2 = mapping(), mapping(sku=SKU2, profile=profile(product_=product(id="P2")))
    result = plan(inventory(lic(10, 10), lic(5, 5, sku=SKU2)), [m1, m2], [], [agreement()], [], date(2026, 1, 1))
    assert sorted((op.product_id, op.quantity) for op in result.operations) == [("P1", 10), ("P2", 5)]


def test_another_installations_line_holds_the_row_and_this_installations_lines_carry_its_name():
    m = mapping()
    mine, theirs = PlanOptions(installation="ab12"), f"{main_marker(m.row)}.cd34"
    other = replace(main_line(10, m), marker=theirs)
    held = plan(inventory(lic(20, 13)), [m], [], [agreement()], [other], TODAY, mine)
    assert held.operations == () and F.OTHER_INSTALLATION in kinds(held)
    assert "another seatsync installation (cd34)" in next(f.message for f in held.findings
                                                          if f.kind is F.OTHER_INSTALLATION)
    # Lines written before installations were named are this installation's: it goes on billing them.
    legacy = main_line(10, m)
    ops = plan(inventory(lic(20, 13)), [m], [], [agreement()], [legacy], TODAY, mine).operations
    assert [(op.kind.value, op.marker) for op in ops] == [
        ("add_prorate", f"{main_marker(m.row)}.ab12:p20260116:10>13"), ("set_quantity", main_marker(m.row))]
    new = plan(inventory(lic(20, 13)), [m], [], [agreement()], [], TODAY, mine).operations
    assert {op.marker.split(":")[1] for op in new} == {f"{m.row.digest}.ab12"}
    # Without an installation (a preview, a report) every installation's line is the row's.
    assert plan(inventory(lic(20, 10)), [m], [], [agreement()], [other], TODAY).operations == ()


# -- price and cost: seatsync writes a line's price when it creates it, and reports when they part -------------


@pytest.mark.parametrize(("name", "line_price", "policy", "option", "assigned", "expected"), [
    ("the line bills the profile's price", "22.00", None, BillingOption.BILLABLE, 10, []),
    ("the line bills less than the PSA's price now", "20.00", None, BillingOption.BILLABLE, 10,
     ["line L1 bills 20.00 a seat; billing profile M365 BP monthly gives 22.00"]),
    ("a percentage follows the PSA's price: 22.00 + 10 %", "22.00", PricePolicy(kind=PriceKind.PERCENT,
                                                                                percent=Decimal("10")),
     BillingOption.BILLABLE, 10, ["line L1 bills 22.00 a seat; billing profile M365 BP monthly gives 24.20"]),
    ("a fixed price above the line's", "22.00", PricePolicy(kind=PriceKind.FIXED, fixed=Decimal("22.01")),
     BillingOption.BILLABLE, 10, ["line L1 bills 22.00 a seat; billing profile M365 BP monthly gives 22.01"]),
    ("seats change too: the quantity is written, the price reported", "20.00", None, BillingOption.BILLABLE, 12,
     ["line L1 bills 20.00 a seat; billing profile M365 BP monthly gives 22.00"]),
    ("a non-billable row bills no price", "20.00", None, BillingOption.NON_BILLABLE, 10, []),
    ("a no-charge row bills no price", "0.00", None, BillingOption.NO_CHARGE, 10, []),
])
def test_a_line_billing_another_price_than_its_profile_is_reported_never_rewritten(name, line_price, policy, option,
                                                                                  assigned, expected):
    m = mapping(profile=profile(policy=policy, option=option))
    line = replace(main_line(10, m), unit_price=Decimal(line_price))
    result = plan(inventory(lic(assigned, assigned)), [m], [], [agreement()], [line], TODAY)
    assert [f.message for f in result.findings if f.kind is F.PRICE_DRIFT] == expected
    assert all(f.line_id == "L1" and f.sku_id == SKU for f in result.findings if f.kind is F.PRICE_DRIFT)
    written = [(op.kind.value, op.quantity) for op in result.operations if op.line_id == "L1"]
    assert written == ([("set_quantity", assigned)] if assigned != 10 else [])  # seats only: never the price
    if assigned != 10 and option is BillingOption.BILLABLE:  # the new seats' prorate line bills the profile's price
        [prorate] = [op for op in result.operations if op.kind.value == "add_prorate"]
        assert prorate.unit_price == Decimal("22.00")


@pytest.mark.parametrize(("name", "cost", "policy", "option", "assigned", "minimum", "expected"), [
    ("a margin", "18.00", None, BillingOption.BILLABLE, 10, 0, []),
    ("no cost kept in the PSA", "0", None, BillingOption.BILLABLE, 10, 0, []),
    ("no cost kept, and a minimum: the whole price is margin", "0", None, BillingOption.BILLABLE, 10, 20, []),
    ("price equal to cost: no margin, no loss", "22.00", None, BillingOption.BILLABLE, 10, 0, []),
    ("the cost rose above the price", "23.50", None, BillingOption.BILLABLE, 10, 0,
     ["billing profile M365 BP monthly bills 22.00 a seat; product M365-P1 costs 23.50 in the PSA: a margin of "
      "-1.50 a seat (-6.8 % of the price)"]),
    ("a fixed price under the cost", "21.00", PricePolicy(kind=PriceKind.FIXED, fixed=Decimal("20.00")),
     BillingOption.BILLABLE, 10, 0,
     ["billing profile M365 BP monthly bills 20.00 a seat; product M365-P1 costs 21.00 in the PSA: a margin of "
      "-1.00 a seat (-5.0 % of the price)"]),
    ("a discount taking the price under the cost", "21.00", PricePolicy(kind=PriceKind.PERCENT,
                                                                        percent=Decimal("-5")),
     BillingOption.BILLABLE, 10, 0,
     ["billing profile M365 BP monthly bills 20.90 a seat; product M365-P1 costs 21.00 in the PSA: a margin of "
      "-0.10 a seat (-0.5 % of the price)"]),
    ("a price of nothing for a seat that costs", "4.00", PricePolicy(kind=PriceKind.FIXED, fixed=Decimal("0")),
     BillingOption.BILLABLE, 10, 0,
     ["billing profile M365 BP monthly bills 0.00 a seat; product M365-P1 costs 4.00 in the PSA: a margin of "
      "-4.00 a seat"]),
    ("15 % under a minimum of 20 %", "18.70", None, BillingOption.BILLABLE, 10, 20,
     ["billing profile M365 BP monthly bills 22.00 a seat; product M365-P1 costs 18.70 in the PSA: a margin of "
      "3.30 a seat (15.0 % of the price), under the minimum of 20 %"]),
    ("exactly the minimum", "17.60", None, BillingOption.BILLABLE, 10, 20, []),  # 4.40 is 20 % of 22.00
    ("a cent under the minimum", "17.61", None, BillingOption.BILLABLE, 10, 20,
     ["billing profile M365 BP monthly bills 22.00 a seat; product M365-P1 costs 17.61 in the PSA: a margin of "
      "4.39 a seat (20.0 % of the price), under the minimum of 20 %"]),
    ("a row billed at no charge is the MSP's choice", "23.50", None, BillingOption.NO_CHARGE, 10, 0, []),
    ("a non-billable row too", "23.50", None, BillingOption.NON_BILLABLE, 10, 20, []),
    ("a row billing no seats loses nothing", "23.50", None, BillingOption.BILLABLE, 0, 0, []),
])
def test_a_row_billed_under_its_cost_or_the_minimum_margin_is_reported(name, cost, policy, option, assigned, minimum,
                                                                       expected):
    m = mapping(profile=profile(policy=policy, option=option, product_=product(cost=cost)))
    options = PlanOptions(minimum_margin=Decimal(minimum))
    result = plan(inventory(lic(10, assigned)), [m], [], [agreement()], [], TODAY, options)
    assert [f.message for f in result.findings if f.kind is F.LOW_MARGIN] == expected
    assert all(f.agreement_id == "A1" and f.sku_id == SKU for f in result.findings if f.kind is F.LOW_MARGIN)
    # Reported, and billed as the profile says all the same.
    assert sum(op.quantity for op in result.operations if op.kind.value == "create_line") == assigned


cents = st.integers(min_value=0, max_value=100_000).map(lambda n: Decimal(n).scaleb(-2))


@given(price=cents, cost=cents, minimum=st.integers(min_value=0, max_value=99), seats=st.integers(0, 40))
def test_low_margin_is_reported_exactly_when_the_margin_is_under_the_minimum_and_changes_nothing(price, cost, minimum,
                                                                                                   seats):
    m = mapping(profile=profile(product_=product(price=str(price), cost=str(cost))))
    options = PlanOptions(minimum_margin=Decimal(minimum))
    result = plan(inventory(lic(40, seats)), [m], [], [agreement()], [], TODAY, options)
    # The reference: exact fractions, the margin as a share of the price.
    under = seats > 0 and Fraction(price - cost) < Fraction(price) * Fraction(minimum, 100)
    assert [f.kind for f in result.findings if f.kind is F.LOW_MARGIN] == ([F.LOW_MARGIN] if under else [])
    unpriced = plan(inventory(lic(40, seats)), [replace(m, profile=profile(product_=product(price=str(price))))], [],
                    [agreement()], [], TODAY, options)
    assert result.operations == unpriced.operations  # a finding, never a change of what is billed
