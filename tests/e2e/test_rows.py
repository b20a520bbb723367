"""Rows that stop being mapped, end to end on each PSA (docs/billing.md, "Retired rows").

From ``synced`` (Business Premium 10 seats billed from 1 January), on 16
January: a removed mapping's line stops at the end of January; a row
narrowed to a user filter (or split, or merged: the same rule) replaces the
license's line from 1 February, with no prorate line for January, which the
old line already bills. What the PSA holds is read from its sandbox.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from app.billing.types import FilterField, RowKey, UserFilter
from tests.e2e.conftest import NEXT, PERIOD_END, SPB, START, Tenant


def spb_holdings(tenant: Tenant) -> list[tuple[str, int, date | None, date | None]]:
    """Business Premium's lines that bill in February or later: (kind, seats, start, end)."""
    return sorted((h.kind, h.quantity, h.start, h.end) for h in tenant.holdings(SPB)
                  if h.quantity and (h.end is None or h.end >= NEXT))


def test_a_removed_mapping_stops_its_line_at_the_end_of_the_period(synced: Tenant):
    sku = synced.scenario.sku_id(SPB)
    assert synced.context.mappings.delete(RowKey(tenant_id=synced.tenant_id, sku_id=sku))
    summary = synced.sync()
    assert not summary.failed, [r.error for r in summary.results]
    assert summary.writes == 1
    assert spb_holdings(synced) == []  # nothing bills Business Premium from February
    assert synced.dated(SPB) == []  # January stays billed, no credit
    assert [(h.start, h.end) for h in synced.holdings(SPB) if h.kind == "main"] == [(START, PERIOD_END)]
    assert synced.sync().writes == 0


def test_a_row_narrowed_to_a_user_filter_replaces_the_line_from_the_next_period(synced: Tenant):
    old = next(m for m in synced.context.mappings.all() if m.sku_id == synced.scenario.sku_id(SPB))
    domain = synced.scenario.tenant(synced.tenant_id).users[0].upn.split("@")[1]
    with synced.context.mappings.atomic():
        synced.context.mappings.save(replace(old, user_filter=UserFilter(field=FilterField.UPN_DOMAIN,
                                                                         value=domain)))
        synced.context.mappings.delete(old.row)
    summary = synced.sync()
    assert not summary.failed, [r.error for r in summary.results]
    assert summary.writes == 2  # the old line stops, the new one starts: nothing else
    assert synced.dated(SPB) == []  # January is billed once, by the old line
    assert spb_holdings(synced) == [("main", 10, NEXT, None)]
    assert sorted((h.start, h.end) for h in synced.holdings(SPB)) == [(START, PERIOD_END), (NEXT, None)]
    assert synced.sync().writes == 0
