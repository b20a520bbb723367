"""What a sync reads from the PSA: each agreement's lines once, read back only after a write.

A sync with nothing to change reads the PSA's catalog once per run and the
lines of each of the tenant's agreements once: no read-back (there was no
write) and, on ConnectWise and HaloPSA, no check that the agreement exists
(asked only when its lines came back empty). Counted on the in-memory PSA's
call log and on the sandboxes' request counters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from app.billing.operations import FindingKind
from app.sandbox.server import TlsFiles, make_tls
from app.services.psa.port import PsaUnavailable
from app.services.sync.engine import Status
from tests.e2e.conftest import Tenant, close_tenant, make_tenant
from tests.sync.conftest import SPB

#: The run's catalog: its two reads are in flight at once, so either may come first (``reads`` sorts them).
CATALOG = [("list_agreements", ""), ("list_products", "")]


def reads(world) -> list[tuple[str, str]]:
    """The reads the PSA was asked, each agreement's lines once (``list_lines_of`` reads them one by one on
    this PSA, each logged), the catalog first."""
    calls = [call for call in world.psa.calls if call[0].startswith("list_") and call[0] != "list_lines_of"]
    return sorted(c for c in calls if c in CATALOG) + [c for c in calls if c not in CATALOG]


def test_a_sync_with_no_change_reads_the_lines_once_and_nothing_else(world):
    world.tenant("t1")
    world.engine().sync("t1")
    world.psa.calls.clear()

    result = world.engine().sync("t1")

    assert (result.status, result.writes) == (Status.OK, 0)
    assert reads(world) == [*CATALOG, ("list_lines", world.agreement)]


def test_the_catalog_is_read_once_per_engine_and_each_agreement_once_per_tenant(world):
    world.tenant("t1")
    world.tenant("t2", agreement=world.flat_agreement)
    engine = world.engine()
    for tenant in ("t1", "t2"):
        engine.sync(tenant)
    world.psa.calls.clear()

    for tenant in ("t1", "t2"):
        assert engine.sync(tenant).writes == 0

    assert reads(world) == [("list_lines", world.agreement), ("list_lines", world.flat_agreement)]


def test_a_sync_that_writes_reads_its_agreement_back_once(world):
    world.tenant("t1")
    world.engine().sync("t1")
    world.microsoft.seats("t1", SPB, 13)
    world.today[0] = date(2026, 1, 16)
    world.psa.calls.clear()

    result = world.engine().sync("t1")

    assert result.writes == 2
    assert not [f for f in result.findings if f.kind is FindingKind.VERIFY_MISMATCH]
    assert reads(world) == [*CATALOG, ("list_lines", world.agreement), ("list_lines", world.agreement)]


def test_lines_are_read_again_before_planning_only_when_a_lost_answer_was_settled(world):
    world.tenant("t1")
    world.psa.fail_next("create_line", PsaUnavailable("timed out", maybe_applied=True), apply=True)
    world.engine().sync("t1")  # the first line's answer is lost: the tenant stops there
    world.psa.calls.clear()

    second = world.engine().sync("t1")  # settles it (applied), then writes the other line

    assert [op.kind.value for op in second.recovered] == ["create_line"] and second.writes == 1
    # read, read again after settling, read back after the write
    assert reads(world) == [*CATALOG, *[("list_lines", world.agreement)] * 3]
    world.psa.calls.clear()
    assert world.engine().sync("t1").writes == 0
    assert reads(world) == [*CATALOG, ("list_lines", world.agreement)]


# -- on the sandboxes, over HTTP ---------------------------------------------------------------

#: Per PSA: the request that reads an agreement's lines, and the one that asks whether it exists.
ROUTES = {
    "connectwise": (("GET", "/finance/agreements/{parentId}/additions"), ("GET", "/finance/agreements/{id}")),
    "halopsa": (("GET", "GET RecurringInvoice"), ("GET", "GET ClientContract/{id}")),
}
#: The run's catalog: agreements and products, read once (HaloPSA pages its items by type).
CATALOG_REQUESTS = {"connectwise": 2, "halopsa": 3}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("reads-tls"))


@pytest.fixture(params=sorted(ROUTES))
def tenant(request: pytest.FixtureRequest, tmp_path: Path, tls: TlsFiles) -> Iterator[Tenant]:
    made = make_tenant(tmp_path, tls, request.param)
    yield made
    close_tenant(made)


def psa_requests(tenant: Tenant) -> dict[tuple[str, str], int]:
    return dict(tenant.world.psa_server.requests)


def test_an_agreement_read_empty_is_asked_about_once(tenant: Tenant):
    lines, exists = ROUTES[tenant.kind]
    tenant.world.psa_server.reset_counts()

    summary = tenant.plan()  # nothing written yet: the agreement holds no line

    assert not summary.failed
    counts = psa_requests(tenant)
    assert (counts.get(lines), counts.get(exists)) == (1, 1)


def test_a_sync_with_no_change_sends_the_lines_read_and_the_catalog_only(tenant: Tenant):
    lines, exists = ROUTES[tenant.kind]
    assert not tenant.sync().failed
    tenant.world.psa_server.reset_counts()

    summary = tenant.sync()

    assert not summary.failed and summary.writes == 0
    counts = psa_requests(tenant)
    assert counts.get(lines) == 1 and exists not in counts
    assert sum(counts.values()) == 1 + CATALOG_REQUESTS[tenant.kind], counts
