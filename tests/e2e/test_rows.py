"""Rows that stop being mapped, end to end on each PSA (docs/billing.md, "Retired rows").

From ``synced`` (Business Premium 10 seats billed from 1 January), on 16
January: a removed mapping's line stops at the end of January; a row
narrowed to a user filter (or split, or merged: the same rule) replaces the
license's line from 1 February, with no prorate line for January, which the
old line already bills; a tenant split between two companies by office
bills each its office's seats from then on. What the PSA holds is read from
its sandbox.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from app.billing.periods import agreement_period
from app.billing.types import FilterField, RowKey, UserFilter
from tests.e2e.conftest import EXO, NEXT, PERIOD_END, SPB, START, Tenant

CENT = Decimal("0.01")


def office(value: str) -> UserFilter:
    return UserFilter(field=FilterField.OFFICE, value=value)


def spb_holdings(tenant: Tenant) -> list[tuple[str, int, date | None, date | None]]:
    """Business Premium's lines that bill in February or later: (kind, seats, start, end)."""
    return sorted((h.kind, h.quantity, h.start, h.end) for h in tenant.holdings(SPB)
                  if h.quantity and (h.end is None or h.end >= NEXT))


def test_a_removed_mapping_stops_its_line_at_the_end_of_the_period(synced: Tenant):
    sku = synced.scenario.sku_id(SPB)
    assert synced.context.uow.mappings.delete(RowKey(tenant_id=synced.tenant_id, sku_id=sku))
    summary = synced.sync()
    assert not summary.failed, [r.error for r in summary.results]
    assert summary.writes == 1
    assert spb_holdings(synced) == []  # nothing bills Business Premium from February
    assert synced.dated(SPB) == []  # January stays billed, no credit
    assert [(h.start, h.end) for h in synced.holdings(SPB) if h.kind == "main"] == [(START, PERIOD_END)]
    assert synced.sync().writes == 0


def test_a_row_narrowed_to_a_user_filter_replaces_the_line_from_the_next_period(synced: Tenant):
    old = next(m for m in synced.context.uow.mappings.all() if m.sku_id == synced.scenario.sku_id(SPB))
    domain = synced.scenario.tenant(synced.tenant_id).users[0].upn.split("@")[1]
    with synced.context.uow.mappings.atomic():
        synced.context.uow.mappings.save(replace(old, user_filter=UserFilter(field=FilterField.UPN_DOMAIN,
                                                                         value=domain)))
        synced.context.uow.mappings.delete(old.row)
    summary = synced.sync()
    assert not summary.failed, [r.error for r in summary.results]
    assert summary.writes == 2  # the old line stops, the new one starts: nothing else
    assert synced.dated(SPB) == []  # January is billed once, by the old line
    assert spb_holdings(synced) == [("main", 10, NEXT, None)]
    assert sorted((h.start, h.end) for h in synced.holdings(SPB)) == [(START, PERIOD_END), (NEXT, None)]
    assert synced.sync().writes == 0


def test_a_row_moved_to_an_agreement_on_another_calendar_bills_each_day_once(synced: Tenant):
    """On 16 January Business Premium moves to a second agreement of the company, started on 10 March 2025
    (Autotask bills it from the 10th of each month; ConnectWise and HaloPSA by the calendar month). The old
    line bills to the end of its own period, January; the new agreement bills from 1 February: a prorate to
    the end of its period when that started before 1 February, then its main line."""
    company = synced.world.intended[synced.tenant_id.lower()]
    second = synced.world.psa_side.add_agreement(company, start=date(2025, 3, 10))
    synced.context.admin.refresh_catalog(synced.connection)
    synced.map(SPB, agreement_id=second)
    summary = synced.sync()
    assert not summary.failed, [r.error for r in summary.results]
    assert [(h.kind, h.start, h.end) for h in synced.holdings(SPB)] == [("main", START, PERIOD_END)]
    period = agreement_period(synced.context.uow.catalog.agreement(synced.connection, second), NEXT)
    moved = sorted((h.kind, h.start, h.end, h.amount) for h in synced.world.psa_side.holdings(second)
                   if h.product == "M365-BP")
    if period.start == NEXT:
        assert moved == [("main", NEXT, None, Decimal("220.00"))]
    else:  # 10 seats × 22.00 for the days of the period from 1 February
        days = (period.end - NEXT).days + 1
        assert moved == [("dated", NEXT, period.end, (Decimal(220 * days) / period.days).quantize(CENT)),
                         ("main", period.next_start, None, Decimal("220.00"))]
    assert synced.sync().writes == 0


def test_a_tenant_split_between_two_companies_by_office_bills_each_its_users_once(synced: Tenant):
    """Four Business Premium users move to York, billed to a second company; the rest stay in Leeds with
    the tenant's company. Narrowing the link to Leeds carries both its mappings (Business Premium and
    Exchange) with it: from 1 February each agreement bills its office's seats, January stays billed once
    by the old lines, and nothing is prorated."""
    spb, exo = synced.scenario.sku_id(SPB), synced.scenario.sku_id(EXO)
    tenant = synced.scenario.tenant(synced.tenant_id)
    with synced.scenario.lock:
        york_users = [u for u in tenant.users if spb in u.sku_ids][-4:]
        for user in tenant.users:
            user.office = "York" if user in york_users else "Leeds"
        exo_in_leeds = sum(1 for u in tenant.users if exo in u.sku_ids and u.office == "Leeds")
    york_company = synced.world.psa_side.add_company("Contoso York", domains=["york.example"])
    york_agreement = synced.world.psa_side.add_agreement(york_company, start=START)
    synced.context.admin.refresh_catalog(synced.connection)
    york = synced.context.uow.companies.by_psa_id(synced.connection, york_company)

    links = synced.context.links
    [whole] = synced.context.uow.tenants.links_of_tenant(synced.tenant_id)
    links.link(synced.tenant_id, whole.company_id, office("Leeds"), replacing=whole)
    links.link(synced.tenant_id, york.id, office("York"))
    service = synced.context.companies
    york_row = next(r for r in service.company(york.id).licenses if r.license.sku_id == spb)
    service.quick_map(york_row.target, synced.profiles["M365-BP"].id, york_agreement)

    summary = synced.sync()
    assert not summary.failed, [r.error for r in summary.results]
    assert summary.writes == 5  # two old lines stop; Leeds' two lines and York's one start
    assert spb_holdings(synced) == [("main", 6, NEXT, None)]
    assert [(h.quantity, h.start) for h in synced.holdings(EXO) if h.end is None] == [(exo_in_leeds, NEXT)]
    york_lines = [(h.kind, h.quantity, h.start, h.end) for h in synced.world.psa_side.holdings(york_agreement)
                  if h.marker.startswith("seatsync:")]
    assert york_lines == [("main", 4, NEXT, None)]
    assert synced.dated(SPB) == [] and synced.dated(EXO) == []
    assert synced.sync().writes == 0
