"""A sync end to end on each PSA: what the PSA holds afterwards, to the cent, in its own records.

Each test starts from ``synced``: the tenant's first sync on 1 January
(Business Premium 10 seats, Exchange 4, one main line each), then the clock
moves to 16 January (16 of January's 31 days left) and Microsoft changes.
Business Premium costs 22.00 a seat and month.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.billing.operations import FindingKind
from tests.e2e.conftest import E3, EXO, MID, NEXT, PERIOD_END, SPB, START, Tenant, findings, make_tenant

PRORATES = pytest.mark.parametrize("prorates", [True, False], ids=["prorating", "not-prorating"])


@pytest.fixture
def billed(request, synced: Tenant) -> Tenant:
    """``synced``, on an agreement that prorates or not (the test's ``prorates`` parameter)."""
    if not request.getfixturevalue("prorates"):
        synced.world.set_prorates(synced.agreement, False)
    return synced


def autotask_bills(tenant: Tenant, period_start) -> Decimal:
    """What Autotask's own billing model invoices for the agreement's period (Autotask only)."""
    return tenant.world.psa.store.billed_total(int(tenant.agreement), period_start)


@PRORATES
def test_seats_added_mid_month_raise_the_main_line_and_prorate_the_rest_of_the_month(billed: Tenant, prorates):
    billed.seats(SPB, 13)
    before = billed.writes()
    summary = billed.sync()
    assert not summary.failed, [r.error for r in summary.results]
    main = billed.main(SPB)
    assert (main.quantity, main.amount) == (13, Decimal("286.00"))
    # 3 × 22.00 × 16/31 = 34.06, covering 16-31 January, once.
    assert billed.dated(SPB) == ([(MID, PERIOD_END, Decimal("34.06"))] if prorates else [])
    assert billed.writes() - before == (2 if prorates else 1)
    if billed.kind == "autotask":
        # January was invoiced at 10 seats; the prorate charge adds the rest; February bills 13.
        assert autotask_bills(billed, START) == Decimal("220.00") + (Decimal("34.06") if prorates else 0) \
            + Decimal("16.00")
        assert autotask_bills(billed, NEXT) == Decimal("286.00") + Decimal("16.00")


@PRORATES
@pytest.mark.parametrize("negative", [False, True], ids=["no-credit", "negative-proration"])
def test_seats_removed_lower_the_main_line_and_credit_only_under_negative_proration(billed: Tenant, prorates,
                                                                                     negative):
    if negative:
        billed.map(SPB, negative_proration=True)
    billed.seats(SPB, 8)
    summary = billed.sync()
    assert not summary.failed, [r.error for r in summary.results]
    main = billed.main(SPB)
    assert (main.quantity, main.amount) == (8, Decimal("176.00"))
    # −2 × 22.00 × 16/31 = −22.71, only when the agreement prorates and the mapping allows it.
    credit = [(MID, PERIOD_END, Decimal("-22.71"))] if prorates and negative else []
    assert billed.dated(SPB) == credit
    if billed.kind == "autotask":
        assert autotask_bills(billed, NEXT) == Decimal("176.00") + Decimal("16.00")


@PRORATES
def test_a_new_sku_is_reported_unmapped_and_nothing_is_written(billed: Tenant, prorates):
    billed.seats(E3, 5)
    before = billed.writes()
    summary = billed.sync()
    unmapped = findings(summary, FindingKind.UNMAPPED_LICENSE)
    assert [f.sku_id for f in unmapped] == [billed.scenario.sku_id(E3)]
    assert summary.writes == 0 and billed.writes() == before
    assert billed.holdings(E3) == []


@PRORATES
def test_an_excluded_sku_gives_neither_finding_nor_write(billed: Tenant, prorates):
    billed.exclude(E3)
    billed.seats(E3, 5)
    before = billed.writes()
    summary = billed.sync()
    assert not [f for r in summary.results for f in r.findings if f.sku_id == billed.scenario.sku_id(E3)]
    assert summary.writes == 0 and billed.writes() == before


@PRORATES
def test_a_second_run_with_no_change_writes_nothing(billed: Tenant, prorates):
    billed.seats(SPB, 12)
    assert billed.sync().writes == (2 if prorates else 1)
    before = billed.writes()
    again = billed.sync()
    assert again.writes == 0 and again.planned == 0
    assert billed.writes() == before  # not one write request reached the PSA
    assert billed.main(SPB).quantity == 12


@PRORATES
def test_a_manual_edit_of_an_owned_line_is_reported_and_set_right(billed: Tenant, prorates):
    line = billed.main(SPB)
    billed.world.psa_side.edit_quantity(line.id, 7, NEXT)
    summary = billed.sync()
    edits = findings(summary, FindingKind.MANUAL_EDIT)
    assert len(edits) == 1 and edits[0].sku_id == billed.scenario.sku_id(SPB)
    assert billed.main(SPB).quantity == 10
    again = billed.sync()
    assert findings(again, FindingKind.MANUAL_EDIT) == [] and again.writes == 0


def test_the_first_sync_mid_month_creates_the_line_from_next_month_and_prorates_this_one(tmp_path, tls, psa):
    tenant = make_tenant(tmp_path, tls, psa)
    try:
        tenant.move_to(MID)
        summary = tenant.sync()
        assert not summary.failed, [r.error for r in summary.results]
        assert (tenant.main(SPB).quantity, tenant.main(EXO).quantity) == (10, 4)
        # 10 × 22.00 × 16/31 = 113.55; 4 × 4.00 × 16/31 = 8.26.
        assert tenant.dated(SPB) == [(MID, PERIOD_END, Decimal("113.55"))]
        assert tenant.dated(EXO) == [(MID, PERIOD_END, Decimal("8.26"))]
    finally:
        tenant.context.close()
        tenant.world.stop()


def test_a_line_that_starts_later_changed_before_it_starts_bills_nothing_before_it(tenant: Tenant):
    """A start date of 5 January on an agreement that does not prorate starts Business Premium's line on
    1 February. Seats that change on 1 January, after the first sync, change the line from 1 February: changed
    from the first day of January, as a line billing January would be, it made Autotask bill January."""
    tenant.world.set_prorates(tenant.agreement, False)
    tenant.map(SPB, start_date_override=date(2026, 1, 5))
    for seats in (10, 12):
        tenant.seats(SPB, seats)
        summary = tenant.sync()
        assert not summary.failed, [r.error for r in summary.results]
    main = tenant.main(SPB)
    assert (main.start, main.quantity, tenant.dated(SPB)) == (NEXT, 12, [])
    if tenant.kind == "autotask":
        assert autotask_bills(tenant, START) == Decimal("16.00")  # Exchange alone
        assert autotask_bills(tenant, NEXT) == Decimal("264.00") + Decimal("16.00")
