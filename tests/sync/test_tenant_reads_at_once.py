"""A tenant's reads are in flight at once: its Microsoft inventory beside its PSA reads, and as many tenants at
once as keep the PSA at its cap."""

from __future__ import annotations

import threading
import time

import pytest

from app.bootstrap import open_context
from app.services.microsoft.errors import ConsentMissing
from app.services.sync.engine import Status, SyncEngine
from app.services.sync.pool import tenant_workers
from tests.sync.psa_shop import open_shop


def test_the_psa_lines_are_read_while_microsoft_is_read(world):
    tenant = world.tenant("t1")
    asked = threading.Event()
    read_lines = world.psa.list_lines_of

    def list_lines_of(agreement_ids):
        asked.set()
        return read_lines(agreement_ids)

    world.psa.list_lines_of = list_lines_of

    def fetch(tenant_id: str, with_users: bool):
        # Read one after the other, the PSA would be asked only after this returned: the wait would time out.
        if not asked.wait(10):
            raise AssertionError("the PSA's lines were not read while Microsoft was")
        return world.microsoft(tenant_id, with_users)

    engine = SyncEngine(psa=world.psa, fetch_inventory=fetch, store=world.store, today=lambda: world.today[0])
    result = engine.sync(tenant)
    assert result.status is Status.OK and result.applied
    assert world.owned(), "the sync planned from the lines read beside Microsoft, and wrote its own"


def test_a_tenant_whose_microsoft_read_fails_leaves_no_psa_read_running(world):
    tenant = world.tenant("t1")
    finished = threading.Event()
    read_lines = world.psa.list_lines_of

    def list_lines_of(agreement_ids):
        time.sleep(0.2)  # still reading when Microsoft refuses
        lines = read_lines(agreement_ids)
        finished.set()
        return lines

    world.psa.list_lines_of = list_lines_of

    def refused(tenant_id: str, with_users: bool):
        raise ConsentMissing(f"(tenant {tenant_id})", tenant_id=tenant_id)

    engine = SyncEngine(psa=world.psa, fetch_inventory=refused, store=world.store, today=lambda: world.today[0])
    result = engine.sync(tenant)
    assert result.status is Status.FAILED
    assert finished.is_set(), "the tenant ended while its PSA read was still in flight"


@pytest.mark.parametrize(("cap", "workers"), [(1, 8), (3, 8), (4, 8), (8, 16), (10, 20), (12, 24), (64, 24)])
def test_a_run_keeps_twice_the_psas_cap_of_tenants_in_flight(cap, workers):
    assert tenant_workers(cap) == workers


def test_a_sync_is_as_wide_as_its_psa_allows_unless_told(data_dir):
    context = open_context(data_dir)
    try:
        shop = open_shop(context, ["Adatum", "Contoso Dental"])
        connection = context.uow.psa_connections.all()[0].id
        shop.psa.concurrency = 10
        assert shop.service().workers_for(connection) == 20
        assert shop.service(workers=3).workers_for(connection) == 3
        summary = shop.service().sync(actor="test")
        assert not summary.failed and summary.writes == 4  # a main line and a prorate line each
    finally:
        context.close()
