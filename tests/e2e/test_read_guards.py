"""A read that cannot be the whole truth stops the tenant's sync, on each PSA, and writes nothing.

Each test starts from ``synced`` (the first sync on 1 January: Business
Premium 10 seats, Exchange 4), then on 16 January Business Premium goes to
13 seats and a sync writes a prorate line (16-31 January) and raises the
main line. On 20 January Business Premium goes to 15 seats: a sync that
believed a faulty read would write now (and, believing a short read, would
write a line it already has a second time). Then one read is faulty:

- the PSA's lines read comes back short (one of seatsync's lines, or all of
  them, missing: ``PsaSide.hide_line``), or one of seatsync's lines carries
  a marker that does not parse (``PsaSide.set_marker``): the engine's
  partial-read guard (app/billing/written.py ``read_problems``);
- Microsoft's users list comes back without a licensed user while a row
  bills usernames (``Scenario.cut_users_reads``): the inventory's check
  (app/services/sync/inventory.py ``InventoryService._check``).

The tenant's sync fails with a plain message (naming the lines), no write
request reaches the PSA, the journal and the audit are untouched. Once the
read is whole again the next sync writes the 20 January change once, no
line twice, and one more sync writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from app.billing.operations import FindingKind
from app.sandbox.world_psas import Holding
from app.services.sync.engine import Status
from app.services.sync.service import RunSummary
from app.services.sync.store import JournalState
from tests.e2e.conftest import EXO, MID, PERIOD_END, SPB, Tenant, findings

LATER = date(2026, 1, 20)
#: 2 × 22.00 × 12/31 = 17.03 for 20-31 January.
LATER_PRORATE = (LATER, PERIOD_END, Decimal("17.03"))
JANUARY_PRORATE = (MID, PERIOD_END, Decimal("34.06"))  # 3 × 22.00 × 16/31


@dataclass(frozen=True)
class Before:
    """What the PSA, the journal and the audit hold before the faulty read."""

    writes: int
    lines: list[Holding]
    journal: list[JournalState]
    audited: list[str]


@pytest.fixture
def changed(synced: Tenant) -> Tenant:
    """``synced`` after the 16 January change (13 seats: a prorate line and a raised main line), on the 20th
    with 15 seats in Microsoft and not yet synced."""
    tenant = synced
    tenant.seats(SPB, 13)
    summary = tenant.sync()
    assert not summary.failed, [r.error for r in summary.results]
    assert (tenant.main(SPB).quantity, tenant.dated(SPB)) == (13, [JANUARY_PRORATE])
    tenant.move_to(LATER)
    tenant.seats(SPB, 15)
    return tenant


def before(tenant: Tenant) -> Before:
    return Before(writes=tenant.writes(), lines=tenant.holdings(), journal=tenant.journal(),
                  audited=tenant.audited_keys())


def line(tenant: Tenant, which: str) -> Holding:
    """seatsync's Business Premium main line, or its 16 January prorate line."""
    if which == "main":
        return tenant.main(SPB)
    (prorate,) = [h for h in tenant.holdings(SPB) if h.kind == "dated"]
    return prorate


def assert_stopped(tenant: Tenant, summary: RunSummary, was: Before, *, kind: FindingKind | None,
                   names: list[str]) -> str:
    """The tenant's sync failed, saying so plainly, and nothing reached the PSA, the journal or the audit."""
    (result,) = summary.results
    assert summary.failed and result.status is Status.FAILED, result
    assert (result.applied, result.go, result.recovered, summary.writes) == ([], [], [], 0)
    assert tenant.writes() == was.writes, "a write request reached the PSA"
    assert tenant.holdings() == was.lines
    assert (tenant.journal(), tenant.audited_keys()) == (was.journal, was.audited)
    error = result.error
    assert error and "Error" not in error and "Traceback" not in error, error  # a sentence, not a class name
    for name in names:
        assert name in error, (name, error)
    if kind is not None:
        found = findings(summary, kind)
        assert found, result.findings
        for name in names:
            assert any(name in f.message for f in found), (name, found)
    return error


def assert_converged(tenant: Tenant, was: Before, *, described: bool = False) -> None:
    """The next sync writes the 20 January change once; nothing is written twice; one more writes nothing.

    ``described``: the row bills usernames, so the two new seat holders' names change its description too.
    """
    summary = tenant.sync()
    assert not summary.failed, [r.error for r in summary.results]
    (result,) = summary.results
    assert findings(summary, FindingKind.PARTIAL_READ) == []
    assert result.recovered == []
    lines = tenant.holdings()
    markers = [h.marker for h in lines]
    assert len(markers) == len(set(markers)), f"a line was written twice: {lines}"
    # Every line held before is still there, the same record; the only new one is the 20 January prorate.
    held = {h.id: h for h in lines}
    assert all(h.id in held and held[h.id].marker == h.marker for h in was.lines), lines
    assert [h.kind for h in lines if h.id not in {w.id for w in was.lines}] == ["dated"], lines
    main = tenant.main(SPB)
    assert main.id == next(h.id for h in was.lines if h.kind == "main" and h.product == "M365-BP")
    assert (main.quantity, main.amount) == (15, Decimal("330.00"))
    assert tenant.dated(SPB) == [JANUARY_PRORATE, LATER_PRORATE]
    assert (tenant.main(EXO).quantity, tenant.dated(EXO)) == (4, [])
    expected = ["add_prorate", "set_quantity"] + (["update_description"] if described else [])
    assert [op.kind.value for op in result.applied] == expected
    assert tenant.writes() - was.writes == len(expected)
    states = tenant.journal()
    assert JournalState.PENDING not in states and JournalState.UNKNOWN not in states, states
    audited = tenant.audited_keys()
    assert len(audited) == len(set(audited)) == len(was.audited) + len(expected), "a write was audited twice"
    quiet_before = tenant.writes()
    quiet = tenant.sync()
    assert not quiet.failed, [r.error for r in quiet.results]
    assert (quiet.writes, quiet.planned, tenant.writes() - quiet_before) == (0, 0, 0)


def hide(tenant: Tenant, lines: list[Holding]) -> Callable[[], None]:
    restores = [tenant.world.psa_side.hide_line(h.id) for h in lines]

    def put_back() -> None:
        for restore in reversed(restores):
            restore()

    return put_back


# -- the PSA's lines read ---------------------------------------------------------------------


@pytest.mark.parametrize("which", ["main", "prorate"])
def test_a_lines_read_without_one_of_seatsyncs_lines_stops_the_tenant(changed: Tenant, which: str):
    tenant = changed
    missing = line(tenant, which)
    was = before(tenant)
    put_back = hide(tenant, [missing])
    assert missing.id not in {h.id for h in tenant.holdings()}, "the hook hid nothing"
    summary = tenant.sync()
    put_back()
    assert tenant.holdings() == was.lines, "the hook did not put the line back as it was"
    error = assert_stopped(tenant, summary, was, kind=FindingKind.PARTIAL_READ, names=[missing.id])
    assert "missing from the read" in error, error
    assert_converged(tenant, was)


def test_a_lines_read_without_any_of_seatsyncs_lines_stops_the_tenant(changed: Tenant):
    tenant = changed
    was = before(tenant)
    assert len(was.lines) == 3  # Business Premium's main and prorate lines, Exchange's main line
    put_back = hide(tenant, was.lines)
    assert tenant.holdings() == []
    summary = tenant.sync()
    put_back()
    assert tenant.holdings() == was.lines
    assert_stopped(tenant, summary, was, kind=FindingKind.PARTIAL_READ, names=[h.id for h in was.lines])
    assert_converged(tenant, was)


@pytest.mark.parametrize("which", ["main", "prorate"])
def test_a_line_whose_marker_does_not_parse_stops_the_tenant(changed: Tenant, which: str):
    tenant = changed
    mangled = line(tenant, which)
    was = before(tenant)
    # The marker field cut short: still seatsync's, no longer readable.
    restore = tenant.world.psa_side.set_marker(mangled.id, mangled.marker[:-3])
    assert [h.marker for h in tenant.holdings() if h.id == mangled.id] == [mangled.marker[:-3]]
    summary = tenant.sync()
    restore()
    assert tenant.holdings() == was.lines, "the hook did not restore the marker"
    error = assert_stopped(tenant, summary, was, kind=FindingKind.PARTIAL_READ, names=[mangled.id])
    assert "marker seatsync cannot read" in error, error
    assert_converged(tenant, was)


# -- Microsoft's users read -------------------------------------------------------------------


def users_pages(tenant: Tenant) -> int:
    server = tenant.world.microsoft_server
    with server._counter_lock:
        return server.requests[("GET", "graph:users")]


@pytest.mark.parametrize("page_size", [None, 7], ids=["one-page", "pages-of-7"])
def test_a_users_list_cut_short_stops_a_tenant_that_bills_usernames(changed: Tenant, page_size: int | None):
    tenant = changed
    if page_size:
        tenant.context.microsoft.clients().graph.page_size = page_size  # 30 users or more: the read spans pages
    tenant.map(SPB, usernames_in_description=True)
    # Settle the new descriptions first, so the run after the cut read has only the 20 January change.
    tenant.seats(SPB, 13)
    settled = tenant.sync()
    assert not settled.failed, [r.error for r in settled.results]
    assert {op.kind.value for r in settled.results for op in r.applied} == {"update_description"}
    tenant.seats(SPB, 15)
    was = before(tenant)
    tenant.scenario.cut_users_reads = 1
    pages = users_pages(tenant)
    summary = tenant.sync()
    assert tenant.scenario.cut_users_reads == 0, "the users read was never cut"
    users = len(tenant.scenario.tenant(tenant.tenant_id).users)
    assert users_pages(tenant) - pages == (-(-users // page_size) if page_size else 1)
    error = assert_stopped(tenant, summary, was, kind=None, names=["cut short"])
    assert "users" in error and "nothing was written" in error, error
    assert_converged(tenant, was, described=True)


def test_a_cut_users_read_is_left_alone_when_no_row_needs_users(changed: Tenant):
    """Without a row that counts users the users list is not read: the cut waits for a read that does."""
    tenant = changed
    was = before(tenant)
    tenant.scenario.cut_users_reads = 1
    summary = tenant.sync()
    assert not summary.failed, [r.error for r in summary.results]
    assert tenant.scenario.cut_users_reads == 1
    tenant.scenario.cut_users_reads = 0
    assert tenant.writes() - was.writes == 2
