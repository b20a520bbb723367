"""A license split into its subscriptions, or merged back, while seats change: every day billed what the ledger says.

Each example (hypothesis) syncs the license's row on random days, splits it
at one sync into its two subscriptions' rows (each on the license's
agreement or one of its own), and goes on syncing while each
subscription's seats change. The rule (docs/billing.md, "Retired rows"): the
license's line is retired and bills to the end of its period; the new rows
begin the day it stops; until then, seats the license gains are prorated
from the day they are seen (on the retired line's calendar), by one
new row (the first, or the one that settled before).

The check is per day, in seats, as in tests/billing/test_move_properties.py:
before the retired line stops, the license's ledger of its total seats;
from then on, each subscription's ledger, begun that day. The other tests
vary the split: a third subscription mapped (or the settling row removed)
before the old line stops; the subscriptions' rows moved among agreements;
the subscriptions merged back into one row.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.billing.markers import main_marker, row_key
from app.billing.operations import FindingKind, Plan
from app.billing.periods import agreement_period
from app.billing.plan import plan
from app.billing.simulate import apply_plan
from app.billing.types import Line, LineKind, Mapping, RowKey, Subscription, Term
from tests.billing.builders import SKU, inventory, lic, mapping, profile
from tests.billing.ledger_model import LedgerModel
from tests.billing.test_move_properties import agreements, billed_on

FIRST = date(2026, 1, 1)
SCALE = float(os.environ.get("SEATSYNC_LEDGER_SCALE", "1"))
PRICE = Decimal("22.00")


def retired_stop(lines: tuple[Line, ...], agreement, seen: date) -> date:
    """The day the license's line stops billing, retired on ``seen`` (``seen`` when none bills any more)."""
    period = agreement_period(agreement, seen)
    stops = [max(seen if seen == period.start else period.next_start, ln.start or seen) if ln.end is None
             else ln.end + timedelta(days=1) for ln in lines if ln.kind is LineKind.MAIN and not ln.ended_before(seen)]
    return max(stops, default=seen)


def rows_by_marker(*mappings: Mapping) -> dict[str, RowKey]:
    return {main_marker(m.row): m.row for m in mappings}


def journalled(lines: tuple[Line, ...], result: Plan, written: dict[str, RowKey]) -> tuple[Line, ...]:
    """The lines once ``result`` is written, each main line with the row it was written for (``written``: by main
    marker), as the journal tells the planner."""
    return tuple(replace(ln, written_row=written[row_key(ln.marker)]) if ln.kind is LineKind.MAIN else ln
                 for ln in apply_plan(lines, result))


@settings(max_examples=int(1000 * SCALE), deadline=None)
@given(st.data())
def test_a_split_license_bills_every_day_what_the_ledger_says(data):
    """Each subscription's row on the license's agreement or one of its own (the annual one on a yearly agreement,
    say), crediting decreases or not: until the old line stops, the license's ledger on its calendar; then each
    subscription's, begun that day, on its agreement's calendar."""
    old = data.draw(agreements("A1"), label="the license's agreement")
    others = {"m": data.draw(st.sampled_from([old, data.draw(agreements("A2"), label="another")]), label="m's"),
              "y": data.draw(st.sampled_from([old, data.draw(agreements("A3"), label="a third")]), label="y's")}
    by_id = {a.id: a for a in (old, *others.values())}
    steps = data.draw(st.lists(st.tuples(st.integers(0, 45), st.integers(0, 8), st.integers(0, 8)), min_size=2,
                               max_size=10), label="(days, monthly seats, annual seats) of each sync")
    split_at = data.draw(st.integers(1, len(steps) - 1), label="the sync that first sees the split")
    negative = data.draw(st.booleans(), label="the new rows credit decreases (negative proration)")
    whole = mapping(profile=profile(str(PRICE)))
    rows = [replace(whole, subscription_id=sub, agreement_id=on.id, negative_proration=negative)
            for sub, on in others.items()]
    written = rows_by_marker(whole, *rows)
    total = LedgerModel(prorates=old.prorates, negative_proration=False, price=PRICE)
    subs: dict[str, list[tuple[date, int]]] = {"m": [], "y": []}
    lines: tuple[Line, ...] = ()
    today, stop = FIRST, None
    for n, (gap, monthly, annual) in enumerate(steps):
        today += timedelta(days=gap if n else 0)
        held = (Subscription(id="m", sku_id=SKU, quantity=monthly),
                Subscription(id="y", sku_id=SKU, quantity=annual, term=Term.YEAR))
        inv = inventory(lic(monthly + annual, monthly + annual, subscriptions=held))
        if n == split_at:
            stop = retired_stop(lines, old, today)
        mapped = [whole] if n < split_at else rows
        result = plan(inv, mapped, [], by_id.values(), lines, today)
        assert not {f.kind for f in result.findings} - {FindingKind.SUSPICIOUS_DROP}, result.findings
        lines = journalled(lines, result, written)
        assert plan(inv, mapped, [], by_id.values(), lines, today).operations == (), "a second plan writes nothing"
        total.observe(today, monthly + annual)
        if n >= split_at:
            subs["m"].append((today, monthly))
            subs["y"].append((today, annual))
        day = FIRST
        while day <= max(today, stop or today) + timedelta(days=40):
            if stop is None or day < stop:
                expected = total.billed(agreement_period(old, day), day)
            else:
                expected = 0
                for sub, seen in subs.items():
                    on = others[sub]
                    period = agreement_period(on, day)
                    if day > period.start and stop > period.start and not on.prorates:
                        continue  # begun within a period of an agreement that does not prorate: billed from the next
                    expected += LedgerModel(prorates=on.prorates, negative_proration=negative, price=PRICE,
                                            begins=stop, observations=list(seen)).billed(period, day)
            assert billed_on(list(lines), by_id, day) == expected, (
                f"{day}: the PSA bills {billed_on(list(lines), by_id, day)} seats, the ledger {expected}; the new "
                f"rows from {stop}; totals {total.observations}; subscriptions {subs}")
            day += timedelta(days=1)


@settings(max_examples=int(500 * SCALE), deadline=None)
@given(st.data())
def test_rows_mapped_or_removed_before_the_old_line_stops_settle_each_day_once(data):
    """While the license's old line still bills, a third subscription is mapped (its row sorts first) and the
    row that settled the license may be removed: the seats the rows mapped bill in all are prorated once."""
    agr = data.draw(agreements("A1"), label="agreement")
    steps = data.draw(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 8), st.integers(0, 8)), min_size=3,
                               max_size=8), label="(days, seats of the first two, seats of the third) of each sync")
    split_at = data.draw(st.integers(1, len(steps) - 2), label="the sync that first sees the split")
    added_at = data.draw(st.integers(split_at + 1, len(steps) - 1), label="the sync that maps the third")
    removed_at = data.draw(st.integers(split_at + 1, len(steps)), label="the sync that removes the first's row")
    whole = mapping(profile=profile(str(PRICE)))
    first, second, third = (replace(whole, subscription_id=s) for s in ("m", "y", "c3"))
    assert main_marker(third.row) < main_marker(first.row) < main_marker(second.row), "c3, then m, then y"
    written = rows_by_marker(whole, first, second, third)
    total = LedgerModel(prorates=agr.prorates, negative_proration=False, price=PRICE)
    lines: tuple[Line, ...] = ()
    today, stop, mapped = FIRST, None, [whole]
    for n, (gap, seats, added) in enumerate(steps):
        today += timedelta(days=gap if n else 0)
        if n == split_at:
            stop = retired_stop(lines, agr, today)
            mapped = [first, second]
        if stop is not None and n >= min(added_at, removed_at) and today >= stop:
            break  # mapped or removed once the old line stopped, a row is on its own: not what this test is about
        if n == added_at:
            mapped = [*mapped, third]
        if n == removed_at:
            mapped = [m for m in mapped if m != first]
        held = {"m": seats, "y": 1, "c3": added if third in mapped else 0}
        inv = inventory(lic(sum(held.values()), sum(held.values()), subscriptions=tuple(
            Subscription(id=sub, sku_id=SKU, quantity=quantity) for sub, quantity in held.items())))
        result = plan(inv, mapped, [], [agr], lines, today)
        assert not {f.kind for f in result.findings} - {FindingKind.SUSPICIOUS_DROP, FindingKind.UNMAPPED_LICENSE}
        lines = journalled(lines, result, written)
        assert plan(inv, mapped, [], [agr], lines, today).operations == (), "a second plan writes nothing"
        total.observe(today, sum(held.values()) if mapped == [whole] else sum(
            held[m.subscription_id] for m in mapped))
    assert stop is not None
    day = FIRST
    while day < min(stop, today + timedelta(days=1)):
        expected = total.billed(agreement_period(agr, day), day)
        assert billed_on(list(lines), {agr.id: agr}, day) == expected, (
            f"{day}: the PSA bills {billed_on(list(lines), {agr.id: agr}, day)} seats, the ledger {expected}; "
            f"the new rows from {stop}; totals {total.observations}")
        day += timedelta(days=1)


@settings(max_examples=int(500 * SCALE), deadline=None)
@given(st.data())
def test_subscriptions_merged_back_bill_every_day_once(data):
    """The reverse of a split: the subscriptions' rows bill on their own, then the license is merged back into
    one row. Until their lines stop, each day bills what the subscriptions' rows billed before the merge, or (where
    the agreement prorates) the license's seats seen since when more; then the license's ledger, begun that day."""
    agr = data.draw(agreements("A1"), label="agreement")
    steps = data.draw(st.lists(st.tuples(st.integers(0, 45), st.integers(0, 8), st.integers(0, 8)), min_size=2,
                               max_size=10), label="(days, monthly seats, annual seats) of each sync")
    merge_at = data.draw(st.integers(1, len(steps) - 1), label="the sync that first sees the merge")
    whole = mapping(profile=profile(str(PRICE)))
    rows = [replace(whole, subscription_id="m"), replace(whole, subscription_id="y")]
    written = rows_by_marker(whole, *rows)
    subs = {"m": LedgerModel(prorates=agr.prorates, negative_proration=False, price=PRICE),
            "y": LedgerModel(prorates=agr.prorates, negative_proration=False, price=PRICE)}
    merged: list[tuple[date, int]] = []  # the license's seats seen from the merge on
    lines: tuple[Line, ...] = ()
    today, merged_on, stop = FIRST, FIRST, None
    for n, (gap, monthly, annual) in enumerate(steps):
        today += timedelta(days=gap if n else 0)
        held = (Subscription(id="m", sku_id=SKU, quantity=monthly),
                Subscription(id="y", sku_id=SKU, quantity=annual, term=Term.YEAR))
        inv = inventory(lic(monthly + annual, monthly + annual, subscriptions=held))
        if n == merge_at:
            merged_on, stop = today, retired_stop(lines, agr, today)
        mapped = rows if n < merge_at else [whole]
        result = plan(inv, mapped, [], [agr], lines, today)
        assert not {f.kind for f in result.findings} - {FindingKind.SUSPICIOUS_DROP}, result.findings
        lines = journalled(lines, result, written)
        assert plan(inv, mapped, [], [agr], lines, today).operations == (), "a second plan writes nothing"
        if n < merge_at:
            subs["m"].observe(today, monthly)
            subs["y"].observe(today, annual)
        else:
            merged.append((today, monthly + annual))
    after = LedgerModel(prorates=agr.prorates, negative_proration=False, price=PRICE, begins=stop,
                        observations=merged)
    day = FIRST
    while day <= max(today, stop or today) + timedelta(days=40):
        period = agreement_period(agr, day)
        if stop is None or day < stop:
            expected = sum(model.billed(period, day) for model in subs.values())
            if day >= merged_on and stop is not None and agr.prorates:  # never less; the license's seats when more
                expected = max([expected, *(q for seen, q in merged if seen <= day)])
        elif day > period.start and stop > period.start and not agr.prorates:
            expected = 0  # a row begun within a period of an agreement that does not prorate bills from the next
        else:
            expected = after.billed(period, day)
        assert billed_on(list(lines), {agr.id: agr}, day) == expected, (
            f"{day}: the PSA bills {billed_on(list(lines), {agr.id: agr}, day)} seats, the ledger {expected}; "
            f"merged on {merged_on}, the license's row from {stop}; seen since {merged}")
        day += timedelta(days=1)


@settings(max_examples=int(500 * SCALE), deadline=None)
@given(st.data())
def test_split_rows_moved_among_agreements_bill_every_day_once(data):
    """Constant seats; the license is split at one sync, and from then on each subscription's row is moved at
    random syncs among three agreements that prorate, on random calendars, sometimes before the license's old line
    (or its own last line) stops: every day from the first sync on bills the license's seats exactly once."""
    places = [data.draw(agreements(f"A{n}", prorates=True), label=f"A{n}") for n in (1, 2, 3)]
    monthly, annual = data.draw(st.integers(0, 8), label="monthly seats"), data.draw(st.integers(1, 8), label="annual")
    steps = data.draw(st.lists(st.tuples(st.integers(0, 45), st.integers(0, 2), st.integers(0, 2)), min_size=2,
                               max_size=10), label="(days, m's agreement, y's agreement) of each sync")
    split_at = data.draw(st.integers(1, len(steps) - 1), label="the sync that first sees the split")
    by_id = {a.id: a for a in places}
    whole = mapping(profile=profile(str(PRICE)))
    written = rows_by_marker(whole, *(replace(whole, subscription_id=s) for s in "my"))
    held = (Subscription(id="m", sku_id=SKU, quantity=monthly),
            Subscription(id="y", sku_id=SKU, quantity=annual, term=Term.YEAR))
    inv = inventory(lic(monthly + annual, monthly + annual, subscriptions=held))
    lines: tuple[Line, ...] = ()
    today = FIRST
    for n, (gap, m_on, y_on) in enumerate(steps):
        today += timedelta(days=gap if n else 0)
        mapped = [whole] if n < split_at else [replace(whole, subscription_id="m", agreement_id=places[m_on].id),
                                               replace(whole, subscription_id="y", agreement_id=places[y_on].id)]
        result = plan(inv, mapped, [], places, lines, today)
        assert not result.findings, result.findings
        lines = journalled(lines, result, written)
        assert plan(inv, mapped, [], places, lines, today).operations == (), "a second plan writes nothing"
        day = FIRST
        while day <= today + timedelta(days=400):
            assert billed_on(list(lines), by_id, day) == monthly + annual, (
                f"{day} bills {billed_on(list(lines), by_id, day)} seats, not {monthly + annual}")
            day += timedelta(days=1)
