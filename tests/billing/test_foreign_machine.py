"""A stateful test of switching from another tool: random seats, days, syncs and one decision about the line.

The row (Business Premium, monthly, prorating) starts held by another tool's
line of 5 seats. Seats change and days pass at random; a person adopts or
cancels the line (on its default last day or one they pick) at a random
moment; each sync plans and applies (``simulate.apply_plan``). Promised:

- while nobody decided, seatsync writes nothing for the row;
- no day is billed both by the other tool's line and by a line of seatsync's
  (cancelled: every line of seatsync's starts after the line's last day;
  adopted: nothing but the line bills the period it was adopted in), and the
  row never has two open main lines;
- what a sync planned, once applied, needs nothing more (a second sync writes nothing);
- cancelled: from the day after its last day, every period costs what the reference model of the rule says
  (tests/billing/ledger_model.py), from the seats each sync since the decision saw.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from app.billing.foreign import ForeignAction, ForeignDecision, default_last_day
from app.billing.periods import agreement_period
from app.billing.plan import plan
from app.billing.simulate import apply_plan
from app.billing.types import Line, LineKind
from tests.billing.builders import agreement, inventory, lic, mapping
from tests.billing.ledger_model import LedgerModel, psa_money, within

FOREIGN = "X7"


class SwitchingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.agreement = agreement()
        self.mapping = mapping()
        self.today = date(2026, 1, 1)
        self.seats = 7
        self.lines: tuple[Line, ...] = (Line(id=FOREIGN, agreement_id="A1", product_id="P1", quantity=5,
                                             start=date(2025, 6, 1), marker="Cloudconsole"),)
        self.decision: ForeignDecision | None = None
        self.model: LedgerModel | None = None  # once the line is cancelled: what seatsync's lines must bill

    def _plan(self):
        return plan(inventory(lic(self.seats, self.seats)), [self.mapping], [], [self.agreement], self.lines,
                    self.today, decisions={FOREIGN: self.decision} if self.decision else {})

    @rule(seats=st.integers(0, 12))
    def seats_change(self, seats):
        self.seats = seats

    @rule(days=st.integers(1, 40))
    def days_pass(self, days):
        self.today += timedelta(days=days)

    @precondition(lambda self: self.decision is None)
    @rule(adopt=st.booleans(), pick=st.none() | st.integers(-5, 45))
    def a_person_decides(self, adopt, pick):
        own = [ln for ln in self.lines if ln.owned]
        last = default_last_day(self.agreement, own, self.today) if pick is None else self.today + timedelta(pick)
        self.decision = ForeignDecision(line_id=FOREIGN, action=ForeignAction.ADOPT if adopt else ForeignAction.CANCEL,
                                        decided_on=self.today, last_day=None if adopt else last)
        if not adopt:
            self.model = LedgerModel(prorates=True, negative_proration=False, price=Decimal("22.00"),
                                     begins=last + timedelta(days=1))

    @rule()
    def sync(self):
        planned = self._plan()
        if self.decision is None:
            assert planned.operations == (), "nothing is written while the line is undecided"
        self.lines = apply_plan(self.lines, planned)
        for _ in range(2):  # an adoption is planned from the adopted line by the sync after it
            again = self._plan()
            if not again.operations:
                break
            assert self.decision is not None and self.decision.action is ForeignAction.ADOPT, again.operations
            self.lines = apply_plan(self.lines, again)
        assert self._plan().operations == (), "a second sync writes nothing"
        if self.model is not None:
            self.model.observe(self.today, self.seats)

    @invariant()
    def no_day_billed_by_both(self):
        foreign = next(ln for ln in self.lines if ln.id == FOREIGN)
        ours = [ln for ln in self.lines if ln.id != FOREIGN and (ln.quantity or ln.kind is not LineKind.MAIN)]
        if self.decision is None:
            assert not ours
        elif self.decision.action is ForeignAction.CANCEL:
            assert self.decision.last_day is not None
            assert all(ln.start is not None and ln.start > self.decision.last_day for ln in ours), (ours, foreign)
        else:
            adopted = agreement_period(self.agreement, self.decision.decided_on)
            assert all(ln.start is not None and ln.start > adopted.end for ln in ours), \
                "the period the line was adopted in is billed by it alone"
        open_mains = [ln for ln in self.lines if ln.kind is LineKind.MAIN and ln.end is None and ln.quantity
                      and (ln.owned or self.decision is None or self.decision.action is not ForeignAction.CANCEL)]
        assert len(open_mains) <= 1, open_mains

    @invariant()
    def cancelled_seatsync_bills_what_the_ledger_says(self):
        if self.model is None or not self.model.observations:
            return
        assert self.model.begins is not None
        ours = [ln for ln in self.lines if ln.id != FOREIGN]
        period = agreement_period(self.agreement, self.model.begins)
        while period.start <= max(self.today, self.model.begins):
            charged, dated = psa_money(ours, period)
            exact = self.model.money(period)
            assert within(charged, exact, dated), (
                f"{period.start}..{period.end}: seatsync's lines charge {charged}, the ledger {float(exact):.4f} "
                f"({dated} dated lines); observed {self.model.observations} from {self.model.begins}")
            period = agreement_period(self.agreement, period.next_start)


TestSwitching = SwitchingMachine.TestCase
TestSwitching.settings = settings(max_examples=300, stateful_step_count=25, deadline=None)


def test_a_row_cancelled_before_it_started_starts_again_after_the_cancelled_line_stops():
    """Found by the machine: the other tool's line cancelled to stop on 1 Feb, seatsync's row planned from 2 Feb
    (main line from 1 Mar); the seats fall to 0 (the main line, not started, is cancelled from 1 Feb) and come
    back the next sync. The new main line started the day after the cancelled one's end, 1 Feb: a day the other
    tool's line still bills."""
    machine = SwitchingMachine()
    machine.a_person_decides(adopt=False, pick=31)  # last day billed by the other tool: 1 Feb
    machine.sync()
    machine.days_pass(days=1)
    for seats in (0, 1):
        machine.seats_change(seats=seats)
        machine.sync()
        machine.no_day_billed_by_both()
    assert [ln.start for ln in machine.lines if ln.owned and ln.end is None] == [date(2026, 3, 1)]
