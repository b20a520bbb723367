"""A row moved to another agreement or product, on any two billing calendars: every day billed once.

Each example (hypothesis) syncs one row on random days while its seats
change; at one sync the mapping names another agreement (whose cycle,
anchor and start differ at random), another product, or both. The rule
(docs/billing.md, "A mapping moved"): the old line bills to the end of its
own period (from the day of the move when that is the first day of its
period), the row where it is now begins that day like a row that succeeds
it, and seats that change before then are billed on the old agreement's
calendar.

The check is per day, in seats, over both agreements: a main line bills
every day of a period at its quantity in force on the period's first day
(the invoice is made then), a dated line the days it covers. Each day must
bill what the reference model says (tests/billing/ledger_model.py): the old
agreement's ledger before the day the new one begins, and from it a ledger
that begins then, on the new agreement's calendar.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.billing.operations import FindingKind
from app.billing.periods import agreement_period
from app.billing.plan import plan
from app.billing.simulate import apply_plan
from app.billing.types import Agreement, Anchor, Cycle, Line, LineKind
from tests.billing.builders import agreement, inventory, lic, mapping, product, profile
from tests.billing.ledger_model import LedgerModel

FIRST = date(2026, 1, 1)
SCALE = float(os.environ.get("SEATSYNC_LEDGER_SCALE", "1"))


@st.composite
def agreements(draw, id: str, *, prorates: bool | None = None) -> Agreement:
    prorates = draw(st.booleans()) if prorates is None else prorates
    return replace(agreement(prorates=prorates, cycle=draw(st.sampled_from(list(Cycle))),
                             anchor=draw(st.sampled_from(list(Anchor))),
                             start=draw(st.dates(date(2020, 1, 1), date(2025, 12, 31)))), id=id)


@st.composite
def scenarios(draw):
    old, new = draw(agreements("A1")), draw(agreements("A2"))
    steps = draw(st.lists(st.tuples(st.integers(0, 45), st.integers(0, 15)), min_size=2, max_size=10))
    moved_at = draw(st.integers(1, len(steps) - 1))  # the sync that first sees the mapping on the new agreement
    # Moved to another agreement, to another product on the same agreement, or both.
    where = draw(st.sampled_from([(new, False), (old, True), (new, True)]))
    return old, where, draw(st.booleans()), steps, moved_at


def billed_on(lines: list[Line], agreements: dict[str, Agreement], day: date) -> int:
    """Seats the PSA bills ``day``, over every agreement."""
    seats = 0
    for line in lines:
        if line.kind is LineKind.MAIN:
            start = agreement_period(agreements[line.agreement_id], day).start
            if line.bills(start):
                seats += line.quantity_on(start)
        elif line.start is not None and line.end is not None and line.start <= day <= line.end:
            seats += line.quantity
    return seats


def handover(old: Agreement, lines: tuple[Line, ...], seen: date) -> date:
    """The first day the row bills where it is now, the move seen on ``seen``: the day the old line stops (at
    the end of its period, never before it starts) and its dated lines end, or ``seen`` when none bills any
    more."""
    period = agreement_period(old, seen)
    stops = [max(seen if seen == period.start else period.next_start, ln.start or seen) if ln.end is None
             else ln.end + timedelta(days=1) for ln in lines if not ln.ended_before(seen)]
    return max(stops, default=seen)


@settings(max_examples=int(1000 * SCALE), deadline=None)
@given(scenarios())
def test_a_moved_row_bills_every_day_once_on_either_calendar(scenario):
    old, (new, other_product), negative, steps, moved_at = scenario
    m = mapping(profile=profile("22.00"), negative_proration=negative)
    there = replace(m, agreement_id=new.id,
                    profile=profile("22.00", product_=product("22.00", id="P2")) if other_product else m.profile)
    by_id = {old.id: old, new.id: new}
    before = LedgerModel(prorates=old.prorates, negative_proration=negative, price=Decimal("22.00"))
    lines: tuple[Line, ...] = ()
    today, stop = FIRST, None
    for n, (gap, seats) in enumerate(steps):
        today += timedelta(days=gap if n else 0)
        row = m if n < moved_at else there
        inv = inventory(lic(seats, seats))
        if n == moved_at:
            stop = handover(old, lines, today)
        result = plan(inv, [row], [], [old, new], lines, today)
        assert {f.kind for f in result.findings} <= {FindingKind.SUSPICIOUS_DROP}, result.findings
        lines = apply_plan(lines, result)
        assert plan(inv, [row], [], [old, new], lines, today).operations == (), "a second plan writes nothing"
        before.observe(today, seats)
        # The row where it is now has seen what it saw from the move on.
        after = LedgerModel(prorates=new.prorates, negative_proration=negative, price=Decimal("22.00"),
                            begins=stop, observations=before.observations[moved_at:])
        assert sum(1 for ln in lines if ln.kind is LineKind.MAIN and ln.end is None) <= 1
        day = FIRST
        while day <= max(today, stop or today) + timedelta(days=40):
            if stop is None or day < stop:
                period, model = agreement_period(old, day), before
            else:
                period, model = agreement_period(new, day), after
            expected = 0 if model.first_day(period) > period.start and not model.prorates else model.billed(period,
                                                                                                            day)
            assert billed_on(list(lines), by_id, day) == expected, (
                f"{day}: the PSA bills {billed_on(list(lines), by_id, day)} seats, the ledger {expected}; "
                f"new agreement from {stop}; observed {before.observations}")
            day += timedelta(days=1)


@settings(max_examples=int(500 * SCALE), deadline=None)
@given(st.data())
def test_a_row_moved_back_and_forth_bills_every_day_once(data):
    """Constant seats, moved at random syncs among three agreements that prorate, on random calendars, and two
    products, sometimes back before the last move took effect: every day from the first sync on bills exactly
    the seats, once, whatever the agreement and product that bill it."""
    places = [data.draw(agreements(f"A{n}", prorates=True), label=f"A{n}") for n in (1, 2, 3)]
    seats, negative = data.draw(st.integers(1, 15), label="seats"), data.draw(st.booleans(), label="negative")
    steps = data.draw(st.lists(st.tuples(st.integers(0, 45), st.integers(0, 2), st.booleans()), min_size=2,
                               max_size=10), label="(days, agreement, other product) of each sync")
    by_id = {a.id: a for a in places}
    m = mapping(profile=profile("22.00"), negative_proration=negative)
    other = profile("22.00", product_=product("22.00", id="P2"))
    inv = inventory(lic(seats, seats))
    lines: tuple[Line, ...] = ()
    today = FIRST
    for n, (gap, where, other_product) in enumerate(steps):
        today += timedelta(days=gap if n else 0)
        row = replace(m, agreement_id=places[where].id, profile=other if other_product else m.profile)
        result = plan(inv, [row], [], places, lines, today)
        assert not result.findings, result.findings
        lines = apply_plan(lines, result)
        assert plan(inv, [row], [], places, lines, today).operations == (), "a second plan writes nothing"
        assert sum(1 for ln in lines if ln.kind is LineKind.MAIN and ln.end is None) <= 1
        day = FIRST
        while day <= today + timedelta(days=400):
            assert billed_on(list(lines), by_id, day) == seats, f"{day} bills {billed_on(list(lines), by_id, day)}"
            day += timedelta(days=1)
