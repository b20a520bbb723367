"""The mapping dialog's preview shows what the sync writes for a row: a split license's row planned beside the
others, and a start date the sync no longer honours said to change nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from app.billing.markers import main_marker
from app.billing.operations import OpKind
from app.billing.plan import plan
from app.billing.simulate import apply_plan
from app.billing.types import Subscription, Term
from app.services.customers.mapping_preview import preview_mapping
from tests.billing.builders import SKU, agreement, inventory, lic, main_line, mapping

SPLIT_ON = date(2026, 1, 16)


def _licenses(monthly: int, annual: int) -> tuple:
    held = (Subscription(id="m", sku_id=SKU, quantity=monthly),
            Subscription(id="y", sku_id=SKU, quantity=annual, term=Term.YEAR))
    return (lic(monthly + annual, monthly + annual, subscriptions=held),)


def test_the_preview_of_a_split_row_shows_the_prorate_the_sync_writes_until_the_old_line_stops():
    """Split on 16 Jan (the license's line of 10 bills January), 2 seats added on 20 Jan: the sync prorates
    them until 31 Jan on one of the new rows; each row's preview shows what the sync writes for it."""
    agr = agreement()
    whole = mapping()
    rows = [replace(whole, subscription_id="m"), replace(whole, subscription_id="y")]
    assert main_marker(rows[0].row) < main_marker(rows[1].row)  # "m" settles the license: it sorts first
    lines = apply_plan((), plan(inventory(*_licenses(6, 4)), [whole], [], [agr], (), date(2026, 1, 1)))
    lines = tuple(replace(ln, written_row=whole.row) for ln in lines)
    lines = apply_plan(lines, plan(inventory(*_licenses(6, 4)), rows, [], [agr], lines, SPLIT_ON))
    today, licenses = date(2026, 1, 20), _licenses(8, 4)
    synced = plan(inventory(*licenses), rows, [], [agr], lines, today)
    for row in rows:
        preview = preview_mapping(row, licenses, agreement=agr, users=None, lines=lines, today=today,
                                  others=rows)
        written = [(op.quantity, op.effective, op.end) for op in synced.operations
                   if op.row == row.row and op.kind is OpKind.ADD_PRORATE]
        shown = [(ln.quantity, ln.dates) for ln in preview.lines if ln.kind == "prorate"]
        assert shown == [(q, f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}") for q, start, end in written]
    assert [(op.row.subscription_id, op.quantity) for op in synced.operations
            if op.kind is OpKind.ADD_PRORATE] == [("m", 2)]


def test_a_start_date_typed_for_a_row_already_billed_is_said_to_change_nothing():
    """A start date is a row's first sync's: typed once the row's line exists, the preview says it changes
    nothing (the sync ignores it), rather than showing the line as if it were honoured."""
    agr = agreement()
    billed = mapping(start_date_override=date(2026, 1, 1))
    line = main_line(10, billed, written_row=billed.row, last_written_quantity=10)
    licenses = (lic(10, 10),)
    kept = preview_mapping(billed, licenses, agreement=agr, users=None, lines=[line], today=date(2026, 3, 16),
                           others=())
    assert not kept.changes and not any("start date" in note for note in kept.notes)
    moved = replace(billed, start_date_override=date(2025, 11, 10))
    preview = preview_mapping(moved, licenses, agreement=agr, users=None, lines=[line], today=date(2026, 3, 16),
                              others=())
    assert not preview.changes
    assert "This row is billed since 1 Jan 2026: a start date applies to a row's first sync only, so " \
           "10 Nov 2025 changes nothing." in preview.notes
    new = preview_mapping(moved, licenses, agreement=agr, users=None, lines=(), today=date(2026, 3, 16), others=())
    assert new.changes and not any("changes nothing" in note for note in new.notes)
