"""Approving a held change adjusted (app/billing/adjust.py): part of it, or later, never more than planned.

The operations are what the planner holds on 16 January on a monthly,
prorating agreement at 22.00 a seat (tests/billing/builders.py).
"""

from __future__ import annotations

from datetime import date

import pytest

from app.billing.adjust import AdjustmentRefused, adjust
from app.billing.operations import OpKind
from app.billing.periods import agreement_period
from app.billing.plan import plan
from tests.billing.builders import agreement, inventory, lic, main_line, mapping

TODAY = date(2026, 1, 16)
M = mapping(negative_proration=True)


def periods(day: date):
    return agreement_period(agreement(), day)


def planned(kind: OpKind, assigned: int = 4, written: int = 10):
    """The operation of ``kind`` the planner makes when seats go from ``written`` to ``assigned`` today."""
    ops = plan(inventory(lic(assigned, assigned)), [M], [], [agreement()], [main_line(written, M)], TODAY).operations
    return next(op for op in ops if op.kind is kind)


@pytest.mark.parametrize(("kind", "quantity", "effective", "expected"), [
    # A decrease 10 → 4 from February approved as 10 → 6: the rest waits for the next sync's decision.
    (OpKind.SET_QUANTITY, 6, None, (6, date(2026, 2, 1), "132.00")),
    # ... or from March: a main line changes on the first day of a period.
    (OpKind.SET_QUANTITY, None, date(2026, 3, 1), (4, date(2026, 3, 1), "88.00")),
    # The credit for the rest of January, -6 seats, approved as -2.
    (OpKind.ADD_CREDIT, -2, None, (-2, TODAY, "-22.71")),
    # ... from the 20th: the amount is the days left from then.
    (OpKind.ADD_CREDIT, None, date(2026, 1, 20), (-6, date(2026, 1, 20), "-51.10")),
])
def test_an_adjusted_change_is_part_of_the_planned_one_with_its_amount_worked_out_again(kind, quantity, effective,
                                                                                          expected):
    op = planned(kind)
    adjusted = adjust(op, quantity=quantity, effective=effective, periods=periods, currency="USD",
                      by="ana")
    assert (adjusted.quantity, adjusted.effective, str(adjusted.amount)) == expected
    assert adjusted.key == op.key  # the approval still answers the planned change
    assert "adjusted by ana" in adjusted.basis.formula


@pytest.mark.parametrize(("kind", "quantity", "effective", "why"), [
    (OpKind.SET_QUANTITY, 3, None, "between 10 and 4"),  # more than planned: seats Microsoft does not count
    (OpKind.SET_QUANTITY, 11, None, "between 10 and 4"),
    (OpKind.SET_QUANTITY, None, date(2026, 2, 15), "first day of a billing period"),
    (OpKind.SET_QUANTITY, None, date(2026, 1, 1), "not before"),
    (OpKind.ADD_CREDIT, -7, None, "between -1 and -6"),
    (OpKind.ADD_CREDIT, 0, None, "between -1 and -6"),
    (OpKind.ADD_CREDIT, None, date(2026, 2, 1), "within the period it credits"),
    (OpKind.UPDATE_DESCRIPTION, 5, None, "cannot be adjusted"),
])
def test_an_adjustment_outside_the_ledger_s_rules_is_refused(kind, quantity, effective, why):
    op = planned(kind) if kind is not OpKind.UPDATE_DESCRIPTION else next(
        o for o in plan(inventory(lic(4, 4)), [M], [], [agreement()], [main_line(10, M, description="old")],
                        TODAY).operations if o.kind is kind)
    with pytest.raises(AdjustmentRefused, match=why):
        adjust(op, quantity=quantity, effective=effective, periods=periods, currency="USD", by="ana")


def test_nothing_to_adjust_is_refused():
    with pytest.raises(AdjustmentRefused, match="a quantity or a day"):
        adjust(planned(OpKind.SET_QUANTITY), periods=periods, currency="USD", by="ana")
