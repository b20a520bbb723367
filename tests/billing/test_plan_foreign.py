"""Foreign lines (app/billing/foreign.py): a row held until a person adopts, cancels or ignores each.

TODAY is 16 January on a monthly, prorating agreement: the period is
1–31 January (16 days left); the profile bills 22.00 a seat.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from app.billing.foreign import ForeignAction, ForeignDecision, default_last_day
from app.billing.markers import main_marker
from app.billing.operations import FindingKind, OpKind
from app.billing.plan import plan
from app.billing.simulate import apply_plan
from app.billing.types import Line, LineKind
from tests.billing.builders import agreement, inventory, lic, main_line, mapping

TODAY = date(2026, 1, 16)
A = ForeignAction
M = mapping()
ROW = main_marker(M.row)


def cloudconsole(quantity: int = 5, *, id: str = "X7", marker: str = "Cloudconsole", **kw) -> Line:
    return Line(id=id, agreement_id="A1", product_id="P1", quantity=quantity, unit_price=M.profile.product.price,
                start=date(2025, 6, 1), marker=marker, **kw)


def decided(action: ForeignAction, last_day: date | None = None, *, line_id: str = "X7",
            on: date = TODAY) -> dict[str, ForeignDecision]:
    return {line_id: ForeignDecision(line_id=line_id, action=action, decided_on=on, last_day=last_day)}


#: Once adopted, the line gets seatsync's description of the row (today: it does not change what is billed).
DESCRIBED = ("update_description", "X7", True, 5, 7, "2026-01-16", "0.00")


def ops(result):
    return [(op.kind.value, op.line_id, op.marker == ROW, op.before, op.quantity, op.effective.isoformat(),
             str(op.amount)) for op in result.operations]


@pytest.mark.parametrize(("name", "lines", "decisions", "expected"), [
    ("undecided: the row is held", [cloudconsole()], {}, []),
    ("ignored: billed beside it, as if it were not there", [cloudconsole()], decided(A.IGNORE),
     [("add_prorate", "", False, 0, 7, "2026-01-16", "79.48"),
      ("create_line", "", True, 0, 7, "2026-02-01", "154.00")]),
    ("cancelled after this period (the default): seatsync starts with the next, nothing prorated",
     [cloudconsole()], decided(A.CANCEL, date(2026, 1, 31)),
     [("cancel_line", "X7", False, 5, 0, "2026-02-01", "0.00"),
      ("create_line", "", True, 0, 7, "2026-02-01", "154.00")]),
    ("cancelled from the 21st: seatsync prorates from the 21st on, not a day before",
     [cloudconsole()], decided(A.CANCEL, date(2026, 1, 20)),
     [("cancel_line", "X7", False, 5, 0, "2026-01-21", "0.00"),
      ("add_prorate", "", False, 0, 7, "2026-01-21", "54.65"),
      ("create_line", "", True, 0, 7, "2026-02-01", "154.00")]),
    ("cancel already written: not written again", [cloudconsole(end=date(2026, 1, 31))],
     decided(A.CANCEL, date(2026, 1, 31)), [("create_line", "", True, 0, 7, "2026-02-01", "154.00")]),
    ("adopted: only the marker is written; the line keeps its 5 seats this period",
     [cloudconsole()], decided(A.ADOPT), [("adopt_line", "X7", True, 5, 5, "2026-01-01", "110.00")]),
    ("adopted by the row: corrected to 7 from the next period, nothing prorated for this one",
     [cloudconsole(marker=ROW, last_written_quantity=5, history=((date(2026, 1, 1), 5),))], decided(A.ADOPT),
     [("set_quantity", "X7", True, 5, 7, "2026-02-01", "154.00"), DESCRIBED]),
    ("adopted last period: this period's changes are prorated as usual",
     [cloudconsole(marker=ROW, last_written_quantity=5, history=((date(2025, 12, 1), 5),))],
     decided(A.ADOPT, on=date(2025, 12, 10)),
     [("add_prorate", "", False, 5, 2, "2026-01-16", "22.71"),
      ("set_quantity", "X7", True, 5, 7, "2026-02-01", "154.00"), DESCRIBED]),
])
def test_foreign_line_decisions(name, lines, decisions, expected):
    result = plan(inventory(lic(7, 7)), [M], [], [agreement()], lines, TODAY, decisions=decisions)
    assert ops(result) == expected
    held = [f.line_id for f in result.findings if f.kind is FindingKind.FOREIGN_LINE]
    assert held == ([] if decisions else ["X7"])
    # What was planned, once applied, needs nothing more the same day.
    again = plan(inventory(lic(7, 7)), [M], [], [agreement()], apply_plan(lines, result), TODAY, decisions=decisions)
    if decisions and not any(op.kind is OpKind.ADOPT_LINE for op in result.operations):
        assert again.operations == ()


def test_an_adopted_line_is_then_planned_as_the_rows_own():
    lines = (cloudconsole(),)
    adopted = apply_plan(lines, plan(inventory(lic(7, 7)), [M], [], [agreement()], lines, TODAY,
                                     decisions=decided(A.ADOPT)))
    assert [ln.marker for ln in adopted] == [ROW]
    then = plan(inventory(lic(7, 7)), [M], [], [agreement()], adopted, TODAY, decisions=decided(A.ADOPT))
    assert ops(then) == [("set_quantity", "X7", True, 5, 7, "2026-02-01", "154.00"), DESCRIBED]
    done = apply_plan(adopted, then)
    assert plan(inventory(lic(7, 7)), [M], [], [agreement()], done, TODAY, decisions=decided(A.ADOPT)).empty


def test_a_last_day_passed_before_the_first_sync_is_billed_from_the_day_after_it():
    """Cancelled to bill until 10 January, first synced on the 16th: seatsync bills 11-31 January, not 16-31."""
    result = plan(inventory(lic(7, 7)), [M], [], [agreement()], [cloudconsole()], TODAY,
                  decisions=decided(A.CANCEL, date(2026, 1, 10)))
    assert ops(result) == [("cancel_line", "X7", False, 5, 0, "2026-01-11", "0.00"),
                           ("add_prorate", "", False, 0, 7, "2026-01-11", "104.32"),
                           ("create_line", "", True, 0, 7, "2026-02-01", "154.00")]


@pytest.mark.parametrize(("name", "mapping_", "decisions", "synced", "expected"), [
    ("the other tool bills until the 20th; 3 seats gone on the 18th: credited from the 21st",
     M, decided(A.CANCEL, date(2026, 1, 20)), date(2026, 1, 18),
     [("add_credit", "", False, 7, -3, "2026-01-21", "-23.42"),
      ("set_quantity", "new-3", True, 7, 4, "2026-02-01", "88.00")]),
    ("the same, until 15 February: credited from 16 February",
     M, decided(A.CANCEL, date(2026, 2, 15)), date(2026, 1, 18),
     [("add_credit", "", False, 7, -3, "2026-02-16", "-30.64"),
      ("set_quantity", "new-3", True, 7, 4, "2026-03-01", "88.00")]),  # the main line starts 1 March
    ("a start date of 21 January; 3 seats gone on the 18th: credited from the 21st",
     replace(M, start_date_override=date(2026, 1, 21)), {}, date(2026, 1, 18),
     [("add_credit", "", False, 7, -3, "2026-01-21", "-23.42"),
      ("set_quantity", "new-2", True, 7, 4, "2026-02-01", "88.00")]),
    ("gone on the 21st itself, a day seatsync bills: billed to the period's end, as any decrease",
     M, decided(A.CANCEL, date(2026, 1, 20)), date(2026, 1, 21),
     [("set_quantity", "new-3", True, 7, 4, "2026-02-01", "88.00")]),
])
def test_seats_gone_before_the_row_starts_billing_are_not_billed(name, mapping_, decisions, synced, expected):
    """A row planned ahead of the day it starts billing (after another tool's line, or from its start date)
    has a prorate line for days to come; seats gone before that day are credited, even without negative
    proration: none of those days was billed."""
    start = [cloudconsole()] if decisions else []
    lines = apply_plan(start, plan(inventory(lic(7, 7)), [mapping_], [], [agreement()], start, TODAY,
                                   decisions=decisions))
    fewer = plan(inventory(lic(4, 4)), [mapping_], [], [agreement()], lines, synced, decisions=decisions)
    assert ops(fewer) == expected
    assert plan(inventory(lic(4, 4)), [mapping_], [], [agreement()], apply_plan(lines, fewer), synced,
                decisions=decisions).empty


@pytest.mark.parametrize(("name", "lines", "decisions", "why"), [
    ("two lines to adopt for one row", [cloudconsole(), cloudconsole(id="X8")],
     {**decided(A.ADOPT), **decided(A.ADOPT, line_id="X8")}, "a row takes over one"),
    ("seatsync already bills the row", [main_line(7, M), cloudconsole()], decided(A.ADOPT),
     "seatsync already bills this row on line L1"),
    ("a prorate line cannot carry a row's seats", [cloudconsole(kind=LineKind.PRORATE, end=date(2026, 1, 31))],
     decided(A.ADOPT), "only a main line can be adopted"),
])
def test_an_adoption_that_cannot_be_done_holds_the_row_and_says_why(name, lines, decisions, why):
    result = plan(inventory(lic(7, 7)), [M], [], [agreement()], lines, TODAY, decisions=decisions)
    assert result.operations == ()
    assert [f.kind for f in result.findings] == [FindingKind.FOREIGN_LINE]
    assert why in result.findings[0].message


def test_a_foreign_line_of_another_product_or_agreement_does_not_hold_the_row():
    lines = [main_line(7, M), Line(id="X8", agreement_id="A1", product_id="P2", quantity=5),
             Line(id="X9", agreement_id="A2", product_id="P1", quantity=5)]
    result = plan(inventory(lic(7, 7)), [M], [], [agreement()], lines, TODAY)
    assert result.findings == () and result.operations == ()


def test_a_foreign_line_ended_before_today_does_not_hold_the_row():
    result = plan(inventory(lic(7, 7)), [M], [], [agreement()], [cloudconsole(end=date(2025, 12, 31))], TODAY)
    assert [op.kind for op in result.operations] == [OpKind.ADD_PRORATE, OpKind.CREATE_LINE]


@pytest.mark.parametrize(("own_start", "expected"), [
    (None, date(2026, 1, 31)),  # no line of seatsync's yet: it starts with the next period
    (date(2026, 2, 1), date(2026, 1, 31)),  # the day before seatsync's line starts
    (date(2025, 11, 1), TODAY),  # seatsync bills already: from today on, never in the past
])
def test_the_default_last_day_of_a_cancelled_line(own_start, expected):
    own = [] if own_start is None else [replace(main_line(7, M), start=own_start)]
    assert default_last_day(agreement(), own, TODAY) == expected


def test_a_cancel_needs_its_last_day():
    with pytest.raises(ValueError, match="last billed day"):
        ForeignDecision(line_id="X7", action=A.CANCEL, decided_on=TODAY)


def test_a_cancelled_line_of_a_product_no_row_bills_is_cancelled_on_an_agreement_a_row_bills_on():
    other = Line(id="X8", agreement_id="A1", product_id="P9", quantity=5, marker="Unite", start=date(2025, 6, 1))
    elsewhere = replace(other, id="X9", agreement_id="A2")  # no row bills agreement A2: nothing to carry it
    decisions = {**decided(A.CANCEL, date(2026, 1, 31), line_id="X8"),
                 **decided(A.CANCEL, date(2026, 1, 31), line_id="X9")}
    result = plan(inventory(lic(7, 7)), [M], [], [agreement()], [main_line(7, M), other, elsewhere], TODAY,
                  decisions=decisions)
    assert [(op.kind, op.line_id, op.effective) for op in result.operations] == [
        (OpKind.CANCEL_LINE, "X8", date(2026, 2, 1))]
