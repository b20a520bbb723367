"""The seat-day ledger, worked example by worked example (docs/billing.md, "The ledger").

Each case is one row synced on several days: the seats each sync sees,
the operations each sync plans (kind, seats, first day, last day, amount),
and what each period then costs in all. Price 22.00 a seat a month unless a
case says otherwise; the row starts with a main line of 10 seats from 1
January 2026 unless it says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from app.billing.operations import OpKind
from app.billing.periods import agreement_period
from app.billing.plan import plan
from app.billing.simulate import apply_plan
from app.billing.types import Cycle
from tests.billing.builders import agreement, inventory, lic, main_line, mapping, profile
from tests.billing.ledger_model import psa_money

CREATE, SET, PRORATE, CREDIT, CANCEL = (OpKind.CREATE_LINE, OpKind.SET_QUANTITY, OpKind.ADD_PRORATE,
                                        OpKind.ADD_CREDIT, OpKind.CANCEL_LINE)
d = date


@dataclass
class Case:
    name: str
    #: (day, seats seen, None when the license is gone) → the operations planned that day
    syncs: list[tuple[date, int | None, list[tuple]]]
    #: (a day of the period, what the period costs in all)
    costs: list[tuple[date, str]]
    start: int | None = 10
    agreement: dict = field(default_factory=dict)
    mapping: dict = field(default_factory=dict)


CASES = [
    Case("hire, leave, hire in one month: the second hire was already billed", [
        (d(2026, 1, 10), 13, [(PRORATE, 3, d(2026, 1, 10), d(2026, 1, 31), "46.84"),
                              (SET, 13, d(2026, 2, 1), None, "286.00")]),
        (d(2026, 1, 15), 10, [(SET, 10, d(2026, 2, 1), None, "220.00")]),
        (d(2026, 1, 20), 13, [(SET, 13, d(2026, 2, 1), None, "286.00")]),
    ], [(d(2026, 1, 1), "266.84"), (d(2026, 2, 1), "286.00")]),
    Case("hire, leave, hire in one month with negative proration: each change billed", [
        (d(2026, 1, 10), 13, [(PRORATE, 3, d(2026, 1, 10), d(2026, 1, 31), "46.84"),
                              (SET, 13, d(2026, 2, 1), None, "286.00")]),
        (d(2026, 1, 15), 10, [(CREDIT, -3, d(2026, 1, 15), d(2026, 1, 31), "-36.19"),
                              (SET, 10, d(2026, 2, 1), None, "220.00")]),
        (d(2026, 1, 20), 13, [(PRORATE, 3, d(2026, 1, 20), d(2026, 1, 31), "25.55"),
                              (SET, 13, d(2026, 2, 1), None, "286.00")]),
    ], [(d(2026, 1, 1), "256.20"), (d(2026, 2, 1), "286.00")], mapping={"negative_proration": True}),
    Case("a decrease without credit, then a smaller and a larger increase", [
        (d(2026, 1, 10), 7, [(SET, 7, d(2026, 2, 1), None, "154.00")]),
        (d(2026, 1, 15), 9, [(SET, 9, d(2026, 2, 1), None, "198.00")]),
        (d(2026, 1, 20), 12, [(PRORATE, 2, d(2026, 1, 20), d(2026, 1, 31), "17.03"),
                              (SET, 12, d(2026, 2, 1), None, "264.00")]),
    ], [(d(2026, 1, 1), "237.03"), (d(2026, 2, 1), "264.00")]),
    Case("a license gone and back with more seats", [
        (d(2026, 1, 10), None, [(CANCEL, 0, d(2026, 2, 1), None, "0.00")]),
        (d(2026, 1, 20), 14, [(PRORATE, 4, d(2026, 1, 20), d(2026, 1, 31), "34.06"),
                              (CREATE, 14, d(2026, 2, 1), None, "308.00")]),
    ], [(d(2026, 1, 1), "254.06"), (d(2026, 2, 1), "308.00")]),
    Case("a license gone and back with more seats, negative proration", [
        (d(2026, 1, 10), None, [(CREDIT, -10, d(2026, 1, 10), d(2026, 1, 31), "-156.13"),
                                (CANCEL, 0, d(2026, 1, 10), None, "0.00")]),
        (d(2026, 1, 20), 14, [(PRORATE, 14, d(2026, 1, 20), d(2026, 1, 31), "119.23"),
                              (CREATE, 14, d(2026, 2, 1), None, "308.00")]),
    ], [(d(2026, 1, 1), "183.10"), (d(2026, 2, 1), "308.00")], mapping={"negative_proration": True}),
    Case("two increases on an annual agreement", [
        (d(2026, 7, 1), 7, [(PRORATE, 2, d(2026, 7, 1), d(2026, 12, 31), "266.17"),
                            (SET, 7, d(2027, 1, 1), None, "1848.00")]),
        (d(2026, 10, 1), 9, [(PRORATE, 2, d(2026, 10, 1), d(2026, 12, 31), "133.08"),
                             (SET, 9, d(2027, 1, 1), None, "2376.00")]),
    ], [(d(2026, 1, 1), "1719.25"), (d(2027, 1, 1), "2376.00")], start=5,
        agreement={"cycle": Cycle.ANNUAL}, mapping={"profile": profile("264.00")}),
    Case("an override start date two periods back bills the days from it", [
        (d(2026, 3, 16), 10, [(PRORATE, 10, d(2026, 1, 10), d(2026, 1, 31), "156.13"),
                              (PRORATE, 10, d(2026, 2, 1), d(2026, 2, 28), "220.00"),
                              (CREATE, 10, d(2026, 3, 1), None, "220.00")]),
        (d(2026, 3, 20), 10, []),
    ], [(d(2026, 1, 1), "156.13"), (d(2026, 2, 1), "220.00"), (d(2026, 3, 1), "220.00")], start=None,
        mapping={"start_date_override": d(2026, 1, 10)}),
    Case("an override start date back on an agreement that does not prorate bills whole periods only", [
        (d(2026, 3, 16), 10, [(PRORATE, 10, d(2026, 2, 1), d(2026, 2, 28), "220.00"),
                              (CREATE, 10, d(2026, 3, 1), None, "220.00")]),
    ], [(d(2026, 1, 1), "0.00"), (d(2026, 2, 1), "220.00")], start=None,
        agreement={"prorates": False}, mapping={"start_date_override": d(2026, 1, 10)}),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_ledger_rule(case: Case):
    m = mapping(**case.mapping)
    agr = agreement(**case.agreement)
    lines = () if case.start is None else (
        main_line(case.start, m, history=((d(2026, 1, 1), case.start),)),)
    for day, seats, expected in case.syncs:
        inv = inventory() if seats is None else inventory(lic(seats + 2, seats))
        result = plan(inv, [m], [], [agr], lines, day)
        got = [(op.kind, op.quantity, op.effective, op.end, op.amount) for op in result.operations]
        assert got == [(k, q, eff, end, Decimal(a)) for k, q, eff, end, a in expected], day
        lines = apply_plan(lines, result)
        assert plan(inv, [m], [], [agr], lines, day).operations == ()
    for day, cost in case.costs:
        assert psa_money(lines, agreement_period(agr, day))[0] == Decimal(cost), day
