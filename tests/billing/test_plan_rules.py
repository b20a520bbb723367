"""The planner, rule by rule: each row is a worked example (docs/billing.md).

Price 22.00 a seat a month unless a row says otherwise; January 2026 has 31
days, February 2026 28, February 2028 29.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from app.billing.markers import main_marker
from app.billing.operations import OpKind
from app.billing.plan import plan
from app.billing.simulate import apply_plan
from app.billing.types import Anchor, BillingOption, Cycle
from tests.billing.builders import agreement, inventory, lic, main_line, mapping, profile

CREATE, SET, PRORATE, CREDIT, CANCEL, DESC = (OpKind.CREATE_LINE, OpKind.SET_QUANTITY, OpKind.ADD_PRORATE,
                                              OpKind.ADD_CREDIT, OpKind.CANCEL_LINE, OpKind.UPDATE_DESCRIPTION)
d = date


@dataclass
class Case:
    name: str
    today: date
    assigned: int | None  # None: the license is gone from the tenant
    billed: int | None  # the owned main line's quantity; None: no line yet
    expected: list[tuple]  # (kind, quantity, effective, end, amount)
    purchased: int = 40
    agreement: dict = field(default_factory=dict)
    mapping: dict = field(default_factory=dict)


CASES = [
    Case("new row mid-month on a prorating agreement", d(2026, 1, 16), 10, None,
         [(PRORATE, 10, d(2026, 1, 16), d(2026, 1, 31), "113.55"), (CREATE, 10, d(2026, 2, 1), None, "220.00")]),
    Case("new row on the first day of the period", d(2026, 1, 1), 10, None,
         [(CREATE, 10, d(2026, 1, 1), None, "220.00")]),
    Case("new row on an agreement that does not prorate", d(2026, 1, 16), 10, None,
         [(CREATE, 10, d(2026, 2, 1), None, "220.00")], agreement={"prorates": False}),
    Case("increase mid-month, 31-day month", d(2026, 1, 16), 13, 10,
         [(PRORATE, 3, d(2026, 1, 16), d(2026, 1, 31), "34.06"), (SET, 13, d(2026, 2, 1), None, "286.00")]),
    Case("increase on an agreement that does not prorate", d(2026, 1, 16), 13, 10,
         [(SET, 13, d(2026, 2, 1), None, "286.00")], agreement={"prorates": False}),
    Case("increase on the last day of the period", d(2026, 1, 31), 13, 10,
         [(PRORATE, 3, d(2026, 1, 31), d(2026, 1, 31), "2.13"), (SET, 13, d(2026, 2, 1), None, "286.00")]),
    Case("increase on the first day of the period", d(2026, 2, 1), 13, 10,
         [(SET, 13, d(2026, 2, 1), None, "286.00")]),
    Case("increase mid-February (28 days)", d(2026, 2, 15), 13, 10,
         [(PRORATE, 3, d(2026, 2, 15), d(2026, 2, 28), "33.00"), (SET, 13, d(2026, 3, 1), None, "286.00")]),
    Case("increase mid-February in a leap year (29 days)", d(2028, 2, 15), 13, 10,
         [(PRORATE, 3, d(2028, 2, 15), d(2028, 2, 29), "34.14"), (SET, 13, d(2028, 3, 1), None, "286.00")]),
    Case("increase in a 30-day month", d(2026, 4, 16), 12, 10,
         [(PRORATE, 2, d(2026, 4, 16), d(2026, 4, 30), "22.00"), (SET, 12, d(2026, 5, 1), None, "264.00")]),
    Case("increase on an annual agreement", d(2026, 7, 1), 7, 5,
         [(PRORATE, 2, d(2026, 7, 1), d(2026, 12, 31), "266.17"), (SET, 7, d(2027, 1, 1), None, "1848.00")],
         agreement={"cycle": Cycle.ANNUAL}, mapping={"profile": profile("264.00")}),
    Case("increase on an anniversary agreement started on the 31st", d(2026, 2, 10), 12, 10,
         [(PRORATE, 2, d(2026, 2, 10), d(2026, 2, 27), "28.29"), (SET, 12, d(2026, 2, 28), None, "264.00")],
         agreement={"anchor": Anchor.ANNIVERSARY, "start": d(2025, 1, 31)}),
    Case("decrease without negative proration: from the next period", d(2026, 1, 16), 10, 13,
         [(SET, 10, d(2026, 2, 1), None, "220.00")]),
    Case("decrease with negative proration: a credit line", d(2026, 1, 16), 10, 13,
         [(CREDIT, -3, d(2026, 1, 16), d(2026, 1, 31), "-34.06"), (SET, 10, d(2026, 2, 1), None, "220.00")],
         mapping={"negative_proration": True}),
    Case("negative proration on an agreement that does not prorate", d(2026, 1, 16), 10, 13,
         [(SET, 10, d(2026, 2, 1), None, "220.00")], agreement={"prorates": False},
         mapping={"negative_proration": True}),
    Case("license gone from the tenant: cancelled from the next period", d(2026, 1, 16), None, 10,
         [(CANCEL, 0, d(2026, 2, 1), None, "0.00")]),
    Case("license gone, negative proration: cancelled from the day, credited", d(2026, 1, 16), None, 10,
         [(CREDIT, -10, d(2026, 1, 16), d(2026, 1, 31), "-113.55"), (CANCEL, 0, d(2026, 1, 16), None, "0.00")],
         mapping={"negative_proration": True}),
    Case("quantity falls to zero: the line is cancelled", d(2026, 1, 16), 0, 10,
         [(CANCEL, 0, d(2026, 2, 1), None, "0.00")]),
    Case("included above assigned: nothing to bill, no line", d(2026, 1, 16), 3, None, [],
         mapping={"included_quantity": 5}),
    Case("included seats reduce the quantity", d(2026, 1, 1), 12, None,
         [(CREATE, 9, d(2026, 1, 1), None, "198.00")], mapping={"included_quantity": 3}),
    Case("minimum above billable", d(2026, 1, 1), 2, None,
         [(CREATE, 5, d(2026, 1, 1), None, "110.00")], mapping={"minimum_quantity": 5}),
    Case("bill unassigned seats: purchased is the base", d(2026, 1, 1), 12, None,
         [(CREATE, 15, d(2026, 1, 1), None, "330.00")], purchased=15, mapping={"basis": "purchased"}),
    Case("override start date on the 1st of next month (migration)", d(2026, 1, 16), 10, None,
         [(CREATE, 10, d(2026, 2, 1), None, "220.00")], mapping={"start_date_override": d(2026, 2, 1)}),
    Case("override start date earlier in this period: prorated from it", d(2026, 1, 16), 10, None,
         [(PRORATE, 10, d(2026, 1, 10), d(2026, 1, 31), "156.13"), (CREATE, 10, d(2026, 2, 1), None, "220.00")],
         mapping={"start_date_override": d(2026, 1, 10)}),
    Case("no-charge profile: no money, no prorate line", d(2026, 1, 16), 13, 10,
         [(SET, 13, d(2026, 2, 1), None, "0.00")],
         mapping={"profile": profile(option=BillingOption.NO_CHARGE)}),
    Case("nothing changed: nothing to do", d(2026, 1, 16), 10, 10, []),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_plan_rule(case: Case):
    m = mapping(**case.mapping)
    licenses = () if case.assigned is None else (lic(case.purchased, case.assigned),)
    lines = [] if case.billed is None else [main_line(case.billed, m)]
    result = plan(inventory(*licenses), [m], [], [agreement(**case.agreement)], lines, case.today)
    got = [(op.kind, op.quantity, op.effective, op.end, op.amount) for op in result.operations]
    assert got == [(k, q, eff, end, Decimal(a)) for k, q, eff, end, a in case.expected]


def test_a_line_not_started_yet_stops_before_its_first_day_and_comes_back_on_it():
    """Found by the ledger property: a start date of 2 February on an agreement that does not prorate starts
    the line on 1 March. The license gone on 2 January cancelled it from 1 February, so when the license came
    back the same day, a new line started 1 February and billed a month before the start date."""
    m, agr = mapping(start_date_override=d(2026, 2, 2)), agreement(prorates=False)
    lines = apply_plan((), plan(inventory(lic(1, 1)), [m], [], [agr], (), d(2026, 1, 1)))
    assert [(ln.start, ln.quantity) for ln in lines] == [(d(2026, 3, 1), 1)]
    gone = plan(inventory(), [m], [], [agr], lines, d(2026, 1, 2))
    assert [(op.kind, op.effective) for op in gone.operations] == [(CANCEL, d(2026, 3, 1))]  # it never bills
    lines = apply_plan(lines, gone)
    back = plan(inventory(lic(1, 1)), [m], [], [agr], lines, d(2026, 1, 2))
    assert [(op.kind, op.effective) for op in back.operations] == [(CREATE, d(2026, 3, 1))]


@pytest.mark.parametrize(("start_date", "today", "written", "starts"), [
    (d(2026, 1, 1), d(2026, 1, 2), False, d(2026, 1, 1)),  # never written: from the start date
    (d(2026, 1, 1), d(2026, 1, 2), True, d(2026, 2, 1)),  # written: not again (from today, next period here)
    (d(2026, 1, 2), d(2026, 1, 1), True, d(2026, 2, 1)),  # written, the start date to come: not before it
])
def test_a_row_whose_lines_are_gone_does_not_bill_its_start_date_again(start_date, today, written, starts):
    """Found by the ledger machine: start date 1 January, synced that day with 1 seat (the line starts
    1 January); the license gone the same day cancels the line on its first day, and the PSA deletes a line
    that never billed. Back on the 2nd, the row looked never written and its start date billed January."""
    m, agr = mapping(start_date_override=start_date), agreement(prorates=False)
    generations = {main_marker(m.row): 2} if written else {}
    result = plan(inventory(lic(1, 1)), [m], [], [agr], [], today, generations=generations)
    assert [(op.kind, op.effective) for op in result.operations] == [(CREATE, starts)]


def test_operations_carry_their_basis_and_a_stable_key():
    m = mapping(included_quantity=1)
    first = plan(inventory(lic(20, 13)), [m], [], [agreement()], [main_line(10, m)], d(2026, 1, 16))
    again = plan(inventory(lic(20, 13)), [m], [], [agreement()], [main_line(10, m)], d(2026, 1, 16))
    assert first == again
    prorate, set_op = first.operations
    assert (set_op.basis.assigned, set_op.basis.purchased, set_op.basis.included, set_op.quantity) == (13, 20, 1, 12)
    assert prorate.basis.formula == "2 × 22.00 × 16/31 days = 22.71 (the period bills 10, the ledger 12)"
    assert (prorate.basis.days_held, prorate.basis.days_in_period) == (16, 31)
    assert set_op.key != prorate.key and set_op.key.startswith("v2-")
    assert prorate.marker.startswith(set_op.marker) and len(prorate.marker) <= 50


def test_a_dated_line_already_in_the_psa_is_not_planned_again():
    m = mapping()
    first = plan(inventory(lic(20, 13)), [m], [], [agreement()], [main_line(10, m)], d(2026, 1, 16))
    prorate = first.operations[0]
    from app.billing.types import Line, LineKind

    written = Line(id="L9", agreement_id="A1", product_id="P1", kind=LineKind.PRORATE, quantity=3,
                   start=prorate.effective, end=prorate.end, marker=prorate.marker, amount=prorate.amount)
    for day in (d(2026, 1, 16), d(2026, 1, 20)):  # the same day, or a later one in the period
        again = plan(inventory(lic(20, 13)), [m], [], [agreement()], [main_line(10, m), written], day)
        assert [op.kind for op in again.operations] == [SET]
    next_period = plan(inventory(lic(20, 13)), [m], [], [agreement()], [main_line(10, m), written], d(2026, 2, 3))
    assert [op.kind for op in next_period.operations] == [PRORATE, SET]


def test_description_with_usernames_and_unassigned():
    from tests.billing.builders import users

    m = mapping(usernames_in_description=True, basis="purchased")
    inv = inventory(lic(4, 2), users=users("zed@contoso.com", "amy@contoso.com"))
    (create,) = plan(inv, [m], [], [agreement()], [], d(2026, 1, 1)).operations
    assert create.description == "Microsoft 365 Business Premium\namy@contoso.com\nzed@contoso.com\n2 unassigned"


def test_a_changed_description_alone_is_updated():
    m = mapping(description_override="M365 BP (Contoso)")
    (op,) = plan(inventory(lic(20, 10)), [m], [], [agreement()], [main_line(10, m)], d(2026, 1, 16)).operations
    assert (op.kind, op.description, op.line_id) == (DESC, "M365 BP (Contoso)", "L1")
