"""Inventory snapshots: round trip, once per change, seats over time, latest per tenant, pruning."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app.billing import types as core
from app.models.inventory import InventorySnapshot
from app.models.records import RecordNotFound, SeatPoint
from app.models.repositories import Inventory
from tests.models.factories import BP, E3, FETCHED, OTHER_TENANT, TENANT, tenant


def _inventory(
    at: datetime = FETCHED, consumed: int = 8, with_e3: bool = True, tenant_id: str = TENANT
) -> core.TenantInventory:
    bp = core.License(
        sku_id=BP, part_number="SPB", name="Microsoft 365 Business Premium", enabled=10, warning=2, suspended=1,
        locked_out=1, consumed=consumed,
        subscriptions=(
            core.Subscription(id="S-annual", sku_id=BP, offer_name="BP (NCE annual)", quantity=9,
                              term=core.Term.YEAR, billing_cycle=core.Cycle.MONTHLY, status="active",
                              commitment_end=date(2025, 1, 31), cancellation_allowed_until=date(2024, 2, 7)),
            core.Subscription(id="S-monthly", sku_id=BP, quantity=3, auto_renew=False, is_trial=True,
                              status="suspended"),
        ),
    )
    e3 = core.License(sku_id=E3, part_number="ENTERPRISEPACK", enabled=5, consumed=5)
    return core.TenantInventory(
        tenant_id=tenant_id, name="Contoso Ltd", fetched_at=at, licenses=(bp, e3) if with_e3 else (bp,)
    )


@pytest.fixture
def contoso(database):
    return tenant()


def test_a_snapshot_round_trips_without_users(contoso):
    inventory = _inventory()
    users = (core.User(id="u1", upn="a@contoso.com"),)
    snapshot_id = Inventory().save(core.TenantInventory(**{**inventory.__dict__, "users": users}))
    assert Inventory().load(snapshot_id) == inventory
    assert Inventory().latest(TENANT) == inventory


def test_an_empty_inventory_round_trips(contoso):
    empty = core.TenantInventory(tenant_id=TENANT, name="Contoso Ltd", fetched_at=FETCHED)
    assert Inventory().load(Inventory().save(empty)) == empty


def test_a_snapshot_needs_its_read_time_and_a_known_tenant(contoso):
    with pytest.raises(ValueError, match="fetched_at"):
        Inventory().save(core.TenantInventory(tenant_id=TENANT))
    with pytest.raises(RecordNotFound, match=OTHER_TENANT):
        Inventory().save(_inventory(tenant_id=OTHER_TENANT))
    with pytest.raises(RecordNotFound, match="snapshot 404"):
        Inventory().load(404)


def test_latest_is_the_most_recent_read(contoso):
    assert Inventory().latest(TENANT) is None
    Inventory().save(_inventory(at=FETCHED + timedelta(days=1), consumed=9))
    Inventory().save(_inventory(at=FETCHED, consumed=7))  # an older read stored later
    assert Inventory().latest(TENANT).licenses[0].consumed == 9


def test_seats_over_time_with_zeros_where_the_license_was_absent(contoso):
    day = timedelta(days=1)
    Inventory().save(_inventory(at=FETCHED, consumed=8))
    Inventory().save(_inventory(at=FETCHED + day, consumed=11, with_e3=False))
    Inventory().save(_inventory(at=FETCHED + 2 * day, consumed=6))
    assert Inventory().history(TENANT, BP) == [
        SeatPoint(fetched_at=FETCHED, purchased=12, assigned=8),
        SeatPoint(fetched_at=FETCHED + day, purchased=12, assigned=11),
        SeatPoint(fetched_at=FETCHED + 2 * day, purchased=12, assigned=6),
    ]
    assert [p.purchased for p in Inventory().history(TENANT, E3)] == [5, 0, 5]
    assert [p.fetched_at for p in Inventory().history(TENANT, E3, since=FETCHED + day, until=FETCHED + 2 * day)] == [
        FETCHED + day]
    assert Inventory().history(TENANT, BP)[1].unassigned == 1


def test_latest_all_and_prune_keep_each_tenants_latest(contoso):
    tenant(OTHER_TENANT, "Other")
    old = FETCHED - timedelta(days=400)
    Inventory().save(_inventory(at=old, consumed=7))
    Inventory().save(_inventory(at=FETCHED))
    Inventory().save(_inventory(at=old, tenant_id=OTHER_TENANT))  # its only snapshot
    latest = Inventory().latest_all()
    assert {t: inv.fetched_at for t, inv in latest.items()} == {TENANT: FETCHED, OTHER_TENANT: old}
    assert Inventory().prune(before=FETCHED - timedelta(days=30)) == 1
    assert [p.fetched_at for p in Inventory().history(TENANT, BP)] == [FETCHED]
    assert Inventory().latest(OTHER_TENANT) is not None


def test_previous_skus_are_those_with_seats_in_each_tenants_second_latest_read(contoso):
    tenant(OTHER_TENANT, "Other")
    day = timedelta(days=1)
    Inventory().save(_inventory(at=FETCHED, with_e3=True))  # oldest: not the previous one
    Inventory().save(_inventory(at=FETCHED + day, with_e3=False))  # previous: no E3
    Inventory().save(_inventory(at=FETCHED + 2 * day, with_e3=True))  # latest: E3 is back, so "new"
    Inventory().save(_inventory(at=FETCHED, tenant_id=OTHER_TENANT))  # read once: nothing is new
    assert Inventory().previous_skus() == {TENANT: {BP.lower()}}


def test_a_read_that_finds_nothing_changed_keeps_no_new_snapshot(contoso):
    day = timedelta(days=1)
    first = Inventory().save(_inventory(at=FETCHED))
    assert [Inventory().save(_inventory(at=FETCHED + n * day)) for n in (1, 2, 3)] == [first] * 3
    assert InventorySnapshot.select().count() == 1
    assert Inventory().latest(TENANT) == _inventory(at=FETCHED + 3 * day)  # read last on day 3
    changed = Inventory().save(_inventory(at=FETCHED + 4 * day, consumed=9))
    assert changed != first and InventorySnapshot.select().count() == 2
    # The chart: a point at each snapshot's first and last read.
    assert [(p.fetched_at - FETCHED, p.assigned) for p in Inventory().history(TENANT, BP)] == [
        (timedelta(0), 8), (3 * day, 8), (4 * day, 9)]
    # Pruning goes by the last read: the first snapshot was read until day 3.
    assert Inventory().prune(before=FETCHED + 3 * day) == 0
    assert Inventory().prune(before=FETCHED + 3 * day + timedelta(seconds=1)) == 1


def test_a_sync_keeps_a_read_as_save_does_without_asking_for_its_id(contoso):
    day = timedelta(days=1)
    Inventory().save(_inventory(at=FETCHED))
    read = Inventory().latest(TENANT)
    Inventory().keep(_inventory(at=FETCHED + day), previous=read)  # found again: its last read moved
    assert InventorySnapshot.select().count() == 1 and Inventory().latest(TENANT).fetched_at == FETCHED + day
    # Read again elsewhere since: what this sync read before is no longer the last read, and the read is kept
    # as save keeps it (still nothing changed: one snapshot, read last now).
    Inventory().save(_inventory(at=FETCHED + 2 * day))
    Inventory().keep(_inventory(at=FETCHED + 3 * day), previous=read)
    assert InventorySnapshot.select().count() == 1 and Inventory().latest(TENANT).fetched_at == FETCHED + 3 * day
    # Changed elsewhere since: the read finds what this sync read before, which is no longer the latest snapshot.
    read = Inventory().latest(TENANT)
    Inventory().save(_inventory(at=FETCHED + 4 * day, consumed=9))
    Inventory().keep(_inventory(at=FETCHED + 5 * day), previous=read)
    assert [(p.fetched_at - FETCHED, p.assigned) for p in Inventory().history(TENANT, BP)] == [
        (timedelta(0), 8), (3 * day, 8), (4 * day, 9), (5 * day, 8)]
    tenant(OTHER_TENANT, "Fabrikam")
    Inventory().keep(_inventory(at=FETCHED + 6 * day, tenant_id=OTHER_TENANT))  # never read: kept as it is
    assert Inventory().latest(OTHER_TENANT) == _inventory(at=FETCHED + 6 * day, tenant_id=OTHER_TENANT)


def test_a_license_is_new_only_until_the_tenant_is_read_again_unchanged(contoso):
    day = timedelta(days=1)
    Inventory().save(_inventory(at=FETCHED, with_e3=False))
    Inventory().save(_inventory(at=FETCHED + day, with_e3=True))  # E3 bought: new
    assert Inventory().previous_skus() == {TENANT: {BP.lower()}}
    Inventory().save(_inventory(at=FETCHED + 2 * day, with_e3=True))  # read again, unchanged: no longer new
    assert Inventory().previous_skus() == {}
