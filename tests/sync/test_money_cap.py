"""The cap on money changed in one run (docs/billing.md, "Approvals"): rows beyond it wait for a person."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.billing.markers import main_marker
from app.billing.operations import Operation, OpKind, Plan
from app.billing.types import BillingOption, RowKey
from app.services.sync.approval import decide, period_change
from app.services.sync.store import ApprovalRules

K = OpKind


def op(sku: str, kind: OpKind, before: int, after: int, price: str = "22.00", *,
       option: BillingOption = BillingOption.BILLABLE, foreign: bool = False) -> Operation:
    row = RowKey(tenant_id="t1", sku_id=sku)
    return Operation(key=f"{sku}-{kind.value}", kind=kind, row=row, agreement_id="A1", product_id=f"P-{sku}",
                     marker="" if foreign else main_marker(row), effective=date(2026, 2, 1), quantity=after,
                     before=before, unit_price=Decimal(price), billing_option=option)


@pytest.mark.parametrize(("name", "ops", "expected"), [
    ("a new line bills its seats", [op("a", K.CREATE_LINE, 0, 10)], "220.00"),
    ("seats added", [op("a", K.SET_QUANTITY, 10, 13)], "66.00"),
    ("seats taken away count the same", [op("a", K.SET_QUANTITY, 13, 10)], "66.00"),
    ("a cancelled line stops billing its seats", [op("a", K.CANCEL_LINE, 10, 0)], "220.00"),
    ("moved to another agreement: one line ends, one starts",
     [op("a", K.CANCEL_LINE, 10, 0), op("a", K.CREATE_LINE, 0, 10)], "440.00"),
    ("a prorate line is one-off", [op("a", K.ADD_PRORATE, 10, 3, "11.35")], "0"),
    ("a description changes no money", [op("a", K.UPDATE_DESCRIPTION, 10, 10)], "0"),
    ("a non-billable row bills no money", [op("a", K.SET_QUANTITY, 10, 20, option=BillingOption.NON_BILLABLE)], "0"),
    ("a person's cancel of another tool's line", [op("a", K.CANCEL_LINE, 10, 0, foreign=True)], "0"),
])
def test_what_a_rows_operations_change_a_periods_bill_by(name, ops, expected):
    assert period_change(ops) == Decimal(expected)


@pytest.mark.parametrize(("name", "cap", "rows", "going", "reasons"), [
    ("no cap", None, [op("a", K.CREATE_LINE, 0, 100)], ["a"], []),
    ("under the cap", "500", [op("a", K.CREATE_LINE, 0, 10), op("b", K.SET_QUANTITY, 5, 8)], ["a", "b"], []),
    ("exactly the cap goes", "286.00", [op("a", K.CREATE_LINE, 0, 10), op("b", K.SET_QUANTITY, 5, 8)], ["a", "b"],
     []),
    ("one row over the cap on its own", "200", [op("a", K.CREATE_LINE, 0, 10)], [],
     ["a change of 220.00 a period exceeds the cap of 200 per run"]),
    ("the row that takes the run over waits; a smaller one after it goes", "250",
     [op("a", K.CREATE_LINE, 0, 10), op("b", K.SET_QUANTITY, 5, 8), op("c", K.SET_QUANTITY, 4, 5, "4.00")],
     ["a", "c"], ["with the run's other changes, 286.00 a period exceeds the cap of 250 per run"]),
    ("a cap of nothing holds every change of money", "0",
     [op("a", K.SET_QUANTITY, 5, 6), op("b", K.UPDATE_DESCRIPTION, 5, 5)], ["b"],
     ["a change of 22.00 a period exceeds the cap of 0 per run"]),
])
def test_rows_beyond_the_cap_on_money_changed_in_one_run_wait(name, cap, rows, going, reasons):
    policy = ApprovalRules(max_amount_per_run=None if cap is None else Decimal(cap))
    decision = decide(Plan(operations=tuple(rows)), policy)
    assert [o.row.sku_id for o in decision.go] == going
    assert [why for _, why in decision.held] == reasons


def test_a_change_a_person_approved_goes_whatever_the_cap():
    big = op("a", K.CREATE_LINE, 0, 100)
    decision = decide(Plan(operations=(big,)), ApprovalRules(max_amount_per_run=Decimal(1)), approved=[big.key])
    assert decision.go == (big,) and decision.held == ()


seats = st.integers(min_value=0, max_value=60)


@given(st.lists(st.tuples(seats, seats, st.integers(0, 5000)), min_size=1, max_size=12),
       st.integers(min_value=0, max_value=100_000))
def test_what_goes_never_changes_a_period_by_more_than_the_cap_and_nothing_is_lost(changes, cap_cents):
    rows = [op(f"s{n}", K.SET_QUANTITY, before, after, str(Decimal(cents).scaleb(-2)))
            for n, (before, after, cents) in enumerate(changes)]
    cap = Decimal(cap_cents).scaleb(-2)
    decision = decide(Plan(operations=tuple(rows)), ApprovalRules(max_amount_per_run=cap))
    assert period_change(decision.go) <= cap
    assert sorted([o.key for o in decision.go] + [o.key for o, _ in decision.held]) == sorted(o.key for o in rows)
    # A row left waiting would have taken what went over the cap at its turn.
    for held, _ in decision.held:
        before = [o for o in decision.go if rows.index(o) < rows.index(held)]
        assert period_change(before) + period_change([held]) > cap
