"""A stateful test of the billing promises: random changes, syncs, faults and approvals across periods.

``LedgerMachine`` drives one mapped row through the real sync engine (with a
start date, past or to come, when the harness gives one): its
seats change on random days, the license vanishes and comes back, days and
periods pass, a person edits the line in the PSA, a write fails in one of
the ways a PSA fails, a read comes back short, decreases are held and
approved. After every step it checks what the user is promised:

- every period costs what the reference model of the rule says
  (tests/billing/ledger_model.py), within one cent per dated line;
- the row never has two open main lines, and no dated line's marker is on two lines;
- ``plan`` lists exactly what the following ``sync`` applies;
- a second sync writes nothing;
- every write the PSA holds was audited once.

A ``Harness`` gives the machine a PSA and a Microsoft tenant: the in-memory
PSA (tests/sync/test_ledger_machine.py) or a PSA sandbox over HTTP
(tests/e2e/test_ledger_machine.py).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from app.billing.periods import agreement_period
from app.billing.types import Agreement, Line, LineKind
from app.services.sync.engine import Status, TenantResult
from tests.billing.ledger_model import LedgerModel, psa_money, within

FAULTS = ("lost_answer", "timeout_before", "refused", "short_read")


class Harness(Protocol):
    today: date  # the first day
    start: date | None  # the mapping's start date (override), past or to come
    agreement: Agreement
    price: Decimal
    billable: bool
    negative_proration: bool
    hold_decreases: bool
    faults: tuple[str, ...]  # which of FAULTS this harness can inject

    def set_seats(self, seats: int | None) -> None: ...
    def move_to(self, day: date) -> None: ...
    def plan(self) -> TenantResult: ...
    def sync(self) -> TenantResult: ...
    def approve_held(self) -> int: ...
    def arm(self, fault: str) -> None: ...
    def disarm(self) -> None: ...
    def edit_main(self, quantity: int) -> bool: ...
    def lines(self) -> list[Line]: ...
    def audited(self) -> list[str]: ...
    def written(self) -> int: ...


class LedgerMachine(RuleBasedStateMachine):
    """Subclasses set ``make_harness(draw)`` and close what it opened in ``teardown``."""

    def make_harness(self, data) -> Harness:  # pragma: no cover - set by subclasses
        raise NotImplementedError

    @initialize(data=st.data(), seats=st.integers(1, 12))
    def start(self, data, seats):
        self.h = self.make_harness(data)
        # A no-charge or non-billable row costs nothing, whatever happens to it.
        self.model = LedgerModel(prorates=self.h.agreement.prorates, negative_proration=self.h.negative_proration,
                                 price=self.h.price if self.h.billable else Decimal("0"), begins=self.h.start)
        self.seats: int | None = seats
        self.first = self.today = self.h.today
        self.snapshots: list[tuple[date, dict[str, int]]] = []  # the main lines' quantities after each sync
        self.syncs = 0
        self.h.set_seats(seats)
        self._sync_clean()

    # -- what happens ------------------------------------------------------------------------

    @rule(seats=st.none() | st.integers(0, 14))
    def seats_change(self, seats):
        self.seats = seats
        self.h.set_seats(seats)

    @rule(days=st.integers(1, 20))
    def days_pass(self, days):
        self._move(self.today + timedelta(days=days))

    @rule(days=st.integers(30, 200))
    def months_pass(self, days):
        self._move(self.today + timedelta(days=days))

    @rule()
    def sync(self):
        self._sync_clean()

    @rule(data=st.data())
    def sync_through_a_fault(self, data):
        if not self.h.faults:
            return self._sync_clean()
        fault = data.draw(st.sampled_from(self.h.faults))
        before = self.h.written()
        self.h.arm(fault)
        result = self.h.sync()
        self.h.disarm()
        if fault == "short_read" and result.status is Status.FAILED:
            assert self.h.written() == before, "a partial read wrote nothing"
        self._sync_clean(check_plan=False)

    @rule(quantity=st.integers(0, 14))
    def a_person_edits_the_main_line(self, quantity):
        if self.h.edit_main(quantity):
            self._sync_clean()  # the edit is corrected the same day, before a period could start on it

    # -- the promises ----------------------------------------------------------------------------

    @invariant()
    def every_period_bills_what_the_ledger_says(self):
        if not hasattr(self, "h"):
            return
        lines = self.h.lines()
        start = self.h.start or self.first
        period = agreement_period(self.h.agreement, min(start, self.first))
        while period.start <= max(start, self.today):
            charged, dated = psa_money(lines, period, self._in_force)
            exact = self.model.money(period)
            assert within(charged, exact, dated), (
                f"{period.start}..{period.end}: the PSA charges {charged}, the ledger {float(exact):.4f} "
                f"({dated} dated lines); observed {self.model.observations}")
            period = agreement_period(self.h.agreement, period.next_start)

    @invariant()
    def one_open_main_line_and_no_marker_twice(self):
        if not hasattr(self, "h"):
            return
        lines = self.h.lines()
        assert sum(1 for ln in lines if ln.kind is LineKind.MAIN and ln.end is None and ln.quantity) <= 1
        markers = Counter(ln.marker for ln in lines if ln.kind is not LineKind.MAIN)
        assert all(n == 1 for n in markers.values()), markers  # a cancelled main line keeps its row's marker

    @invariant()
    def every_write_audited_once(self):
        if not hasattr(self, "h"):
            return
        audited = Counter(self.h.audited())
        assert all(n == 1 for n in audited.values()), audited

    # -- steps ----------------------------------------------------------------------------------

    def _move(self, day: date) -> None:
        self.today = day
        self.h.move_to(day)

    def _sync_clean(self, *, check_plan: bool = True) -> None:
        """Sync as a person would see it through: held decreases approved, until the PSA is in step."""
        for _ in range(4):
            planned = self.h.plan()
            result = self.h.sync()
            assert result.status is Status.OK, result.error
            if check_plan and not result.held:
                assert [op.key for op in result.applied] == [op.key for op in planned.go], "plan == sync"
            if not result.held:
                break
            assert self.h.approve_held()  # held by the policy, or as a suspicious drop: a person approves
        again = self.h.sync()
        assert (again.status, again.applied, again.held) == (Status.OK, [], []), "a second sync writes nothing"
        self.syncs += 1
        self.model.observe(self.today, self.seats or 0)
        self.snapshots.append((self.today, {ln.id: ln.quantity for ln in self.h.lines() if ln.kind is LineKind.MAIN}))

    def _in_force(self, line: Line, day: date) -> int:
        """A main line's quantity on ``day``: as it was after the last sync on or before that day (a line
        written to start before the sync that wrote it: as that sync wrote it)."""
        seen = [(d, snap[line.id]) for d, snap in self.snapshots if line.id in snap]
        by_then = [quantity for d, quantity in seen if d <= day]
        return by_then[-1] if by_then else seen[0][1] if seen else 0
