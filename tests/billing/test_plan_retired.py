"""Rows that stop being mapped, and the rows that take their place (docs/billing.md, "Retired rows").

Removing a mapping, splitting a license into its subscriptions, merging it
back, or narrowing a row to a user filter changes which rows exist. The
line seatsync wrote for a row that no longer exists stops at the end of its
period; a row that takes its place starts the day after, so no seat is
billed twice and none is missed (seats added before then are prorated until
then). Only lines seatsync wrote for this tenant
(its journal says which row each was written for) are ever retired.

Price 22.00 a seat a month; today is 16 January 2026 unless a row says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

import pytest

from app.billing.operations import OpKind
from app.billing.plan import plan
from app.billing.simulate import apply_plan
from app.billing.types import Exclusion, FilterField, License, Subscription, Term, UserFilter
from tests.billing.builders import SKU, SKU2, agreement, inventory, lic, main_line, mapping, users

CREATE, PRORATE, CANCEL = OpKind.CREATE_LINE, OpKind.ADD_PRORATE, OpKind.CANCEL_LINE
JAN_16, FEB_1, MAR_1 = date(2026, 1, 16), date(2026, 2, 1), date(2026, 3, 1)

WHOLE = mapping()
MONTHLY, ANNUAL = mapping(subscription_id="m"), mapping(subscription_id="y")
PARIS = mapping(user_filter=UserFilter(field=FilterField.OFFICE, value="Paris"))
OTHER_SKU = mapping(sku=SKU2)

SUBSCRIPTIONS = (Subscription(id="m", sku_id=SKU, quantity=5),
                 Subscription(id="y", sku_id=SKU, quantity=5, term=Term.YEAR))
STAFF = users("a@contoso.com", "b@contoso.com", "c@contoso.com", office="Paris") + tuple(
    replace(u, id=f"l{n}") for n, u in enumerate(users("d@contoso.com", "e@contoso.com", office="London")))


def written(quantity: int, m, *, id: str = "L1", **kw):
    """A main line seatsync wrote for ``m``'s row (its journal says so)."""
    return main_line(quantity, m, id=id, written_row=m.row, last_written_quantity=quantity, **kw)


@dataclass
class Case:
    name: str
    mappings: list
    lines: list
    expected: list[tuple]  # (kind, row's mapping, quantity, effective)
    licenses: tuple[License, ...] = (lic(12, 10, subscriptions=SUBSCRIPTIONS),)
    today: date = JAN_16
    exclusions: list = field(default_factory=list)
    user_list: tuple | None = None


CASES = [
    Case("mapping removed: its line stops at the end of the period", [], [written(10, WHOLE)],
         [(CANCEL, WHOLE, 0, FEB_1)]),
    Case("mapping removed on the first day of a period: stops that day", [], [written(10, WHOLE)],
         [(CANCEL, WHOLE, 0, FEB_1)], today=FEB_1),
    Case("a line seatsync did not write for this tenant is never retired", [],
         [main_line(10, WHOLE, last_written_quantity=None)], []),
    Case("a retired line already ending is left alone", [], [written(10, WHOLE, end=date(2026, 1, 31))], []),
    Case("an excluded license keeps its line (the exclusion offers the cancel)", [WHOLE], [written(10, WHOLE)],
         [], exclusions=[Exclusion(sku_id=SKU)]),
    Case("split: the license's line stops, each subscription's starts the day after", [MONTHLY, ANNUAL],
         [written(10, WHOLE)],
         [(CANCEL, WHOLE, 0, FEB_1), (CREATE, MONTHLY, 5, FEB_1), (CREATE, ANNUAL, 5, FEB_1)]),
    Case("merge: the subscriptions' lines stop, the license's starts the day after", [WHOLE],
         [written(5, MONTHLY, id="L1"), written(5, ANNUAL, id="L2")],
         [(CANCEL, MONTHLY, 0, FEB_1), (CANCEL, ANNUAL, 0, FEB_1), (CREATE, WHOLE, 10, FEB_1)]),
    Case("narrowed to a user filter: the filtered row starts the day after", [PARIS], [written(10, WHOLE)],
         [(CANCEL, WHOLE, 0, FEB_1), (CREATE, PARIS, 3, FEB_1)], user_list=STAFF),
    Case("a successor whose predecessor already stops starts the day after it", [MONTHLY, ANNUAL],
         [written(10, WHOLE, end=date(2026, 1, 31))],
         [(CREATE, MONTHLY, 5, FEB_1), (CREATE, ANNUAL, 5, FEB_1)]),
    Case("split before the license's line started (1 March): it never bills, the subscriptions start 1 March",
         [MONTHLY, ANNUAL], [replace(written(10, WHOLE), start=MAR_1)],
         [(CANCEL, WHOLE, 0, MAR_1), (CREATE, MONTHLY, 5, MAR_1), (CREATE, ANNUAL, 5, MAR_1)]),
    Case("split, then 2 seats added before the license's line stops: prorated until it does, 2 × 22 × 12/31 "
         "(by the first new row, in the order of their markers)", [MONTHLY, ANNUAL],
         [written(10, WHOLE, end=date(2026, 1, 31)), replace(written(5, MONTHLY, id="L2"), start=FEB_1),
          replace(written(5, ANNUAL, id="L3"), start=FEB_1)],
         [(PRORATE, MONTHLY, 2, date(2026, 1, 20)), (OpKind.SET_QUANTITY, MONTHLY, 7, FEB_1)],
         licenses=(lic(12, 12, subscriptions=(Subscription(id="m", sku_id=SKU, quantity=7),
                                              Subscription(id="y", sku_id=SKU, quantity=5, term=Term.YEAR))),),
         today=date(2026, 1, 20)),
    Case("a new license is no successor: prorated as usual", [OTHER_SKU], [written(10, WHOLE)],
         [(CANCEL, WHOLE, 0, FEB_1), (PRORATE, OTHER_SKU, 10, JAN_16), (CREATE, OTHER_SKU, 10, FEB_1)],
         licenses=(lic(12, 10), lic(10, 10, sku=SKU2))),
]


def run(case: Case, lines: list, today: date | None = None):
    return plan(inventory(*case.licenses, users=case.user_list), case.mappings, case.exclusions, [agreement()],
                lines, today or case.today)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_retired_rows(case: Case):
    result = run(case, case.lines)
    got = sorted((op.kind, op.row.digest, op.quantity, op.effective) for op in result.operations)
    assert got == sorted((kind, m.row.digest, quantity, effective) for kind, m, quantity, effective in case.expected)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_planning_against_the_result_is_empty(case: Case):
    after = apply_plan(case.lines, run(case, case.lines))
    assert run(case, list(after)).operations == ()
    assert run(case, list(after), date(2026, 2, 10)).operations == ()


def test_each_seat_is_billed_once_per_day_across_the_change():
    """Split on 16 January: January is billed by the license's line alone, February by the subscriptions'."""
    case = CASES[5]
    after = apply_plan(case.lines, run(case, case.lines))

    def seats_on(day: date) -> int:
        return sum(ln.quantity for ln in after if ln.start <= day and (ln.end is None or ln.end >= day))

    assert [seats_on(date(2026, 1, 20)), seats_on(date(2026, 1, 31)), seats_on(FEB_1)] == [10, 10, 10]
    assert sum(op.amount for op in run(case, case.lines).operations) == Decimal("220.00")
