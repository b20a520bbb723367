"""The planner against the reference model of the rule, over random sequences of changes (hypothesis).

Each example is one row synced on random days across several periods while
its seats change, vanish and come back; after every sync the PSA's lines
(simulated with ``apply_plan``) must charge every period what the model
says, a second plan must be empty, and the row must never have two open
main lines. The stateful test through the real engine and its faults is in
tests/sync/test_ledger_machine.py.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.billing.periods import agreement_period
from app.billing.plan import plan
from app.billing.simulate import apply_plan
from app.billing.types import Anchor, Cycle, LineKind
from tests.billing.builders import agreement, inventory, lic, mapping, profile
from tests.billing.ledger_model import LedgerModel, psa_money, within

START = date(2026, 1, 1)
#: ``make ledger`` runs 10 times as many examples.
SCALE = float(os.environ.get("SEATSYNC_LEDGER_SCALE", "1"))


@st.composite
def scenarios(draw):
    cycle = draw(st.sampled_from(list(Cycle)))
    agr = agreement(prorates=draw(st.booleans()), cycle=cycle, anchor=draw(st.sampled_from(list(Anchor))),
                    start=draw(st.dates(date(2020, 1, 1), date(2025, 12, 31))))
    longest = 120 if cycle is Cycle.ANNUAL else 25
    steps = draw(st.lists(st.tuples(st.integers(0, longest), st.none() | st.integers(0, 15)), min_size=1,
                          max_size=12))
    override = draw(st.none() | st.integers(-60, 90).filter(bool)) if steps[0][1] else None  # < 0: to come
    return agr, draw(st.sampled_from(["22.00", "9.99", "264.00"])), draw(st.booleans()), steps, override


def _check_periods(model: LedgerModel, lines, agr, first: date, until: date) -> None:
    period = agreement_period(agr, first)
    while period.start <= until:
        charged, dated = psa_money(lines, period)
        exact = model.money(period)
        assert within(charged, exact, dated), (period, charged, float(exact), dated)
        period = agreement_period(agr, period.next_start)


@settings(max_examples=int(1000 * SCALE), deadline=None)
@given(scenarios())
def test_every_period_bills_what_the_ledger_says(scenario):
    agr, price, negative, steps, override = scenario
    start = START - timedelta(days=override) if override else None
    m = mapping(profile=profile(price), negative_proration=negative, start_date_override=start)
    model = LedgerModel(prorates=agr.prorates, negative_proration=negative, price=Decimal(price), begins=start)
    lines: tuple = ()
    today = START
    for n, (gap, seats) in enumerate(steps):
        today += timedelta(days=gap if n else 0)
        inv = inventory() if seats is None else inventory(lic(seats + 2, seats))
        result = plan(inv, [m], [], [agr], lines, today)
        lines = apply_plan(lines, result)
        assert plan(inv, [m], [], [agr], lines, today).operations == ()
        model.observe(today, seats or 0)
        assert sum(1 for ln in lines if ln.kind is LineKind.MAIN and ln.end is None) <= 1
        _check_periods(model, lines, agr, start or START, max(today, start or today))
