"""The inventory service: exact counts from a seeded tenant, and no inventory from a bad read."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.billing.types import Cycle, License, TenantInventory, Term
from app.sandbox.microsoft import Scenario
from app.sandbox.microsoft.model import SandboxTenant
from app.sandbox.server import Fault
from app.services.microsoft import ConsentMissing, GdapMissing
from app.services.sync.inventory import InventoryRefused, InventoryService, LicensesGone, seat_total
from tests.microsoft.conftest import first_consented

NOW = datetime(2026, 3, 15, 6, 0, tzinfo=UTC)


class MemoryStore:
    def __init__(self, totals: dict[str, int] | None = None) -> None:
        self.totals = dict(totals or {})
        self.saved: list[TenantInventory] = []

    def latest(self, tenant_id: str) -> TenantInventory | None:
        total = self.totals.get(tenant_id)
        return None if total is None else TenantInventory(tenant_id=tenant_id, licenses=(
            License(sku_id="seats", enabled=total),))

    def save_snapshot(self, inventory: TenantInventory, previous: TenantInventory | None) -> None:
        self.saved.append(inventory)
        self.totals[inventory.tenant_id] = seat_total(inventory)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def service(clients, catalogue, store) -> InventoryService:
    return InventoryService(clients.graph, clients.partner_center, catalogue, store, now=lambda: NOW)


def expected_counts(tenant: SandboxTenant) -> dict[str, tuple[int, int, int]]:
    """(purchased, assigned, unassigned) per SKU, from the sandbox's own records."""
    out = {}
    for sku_id in {s.sku_id for s in tenant.subscriptions if s.status != "deleted"}:
        purchased = sum(s.quantity for s in tenant.subscriptions
                        if s.sku_id == sku_id and s.status in ("active", "expired"))
        assigned = sum(1 for u in tenant.users if sku_id in u.sku_ids)
        out[sku_id] = (purchased, assigned, max(purchased - assigned, 0))
    return out


def test_a_seeded_tenant_gives_the_exact_counts(service, scenario: Scenario, store, catalogue):
    tenant = max((t for t in scenario.tenants.values() if t.consent), key=lambda t: len(t.subscriptions))
    inventory = service.fetch(tenant.id, name=tenant.name, with_users=True)
    assert inventory.tenant_id == tenant.id and inventory.fetched_at == NOW
    assert {lic.sku_id: (lic.purchased, lic.assigned, lic.unassigned) for lic in inventory.licenses} == \
        expected_counts(tenant)
    assert any(lic.unassigned for lic in inventory.licenses)  # the seed bought spare seats here
    for lic in inventory.licenses:
        assert lic.name == catalogue.name(lic.sku_id) and lic.part_number
        subs = [s for s in tenant.subscriptions if s.sku_id == lic.sku_id]
        assert sorted((s.id, s.quantity) for s in lic.subscriptions) == sorted((s.id, s.quantity) for s in subs)
        for sub in lic.subscriptions:
            source = next(s for s in subs if s.id == sub.id)
            if source.in_partner_center:  # Partner Center's terms
                assert sub.term is Term(source.term) and sub.billing_cycle is Cycle(source.billing_cycle)
                assert sub.commitment_end == source.commitment_end
                assert sub.cancellation_allowed_until == source.cancellation_allowed_until
                assert sub.offer_name == source.offer_name and sub.auto_renew is True
    assert inventory.users is not None and len(inventory.users) == len(tenant.users)
    assert store.saved == [inventory]


def test_warning_units_are_purchased_and_suspended_are_not(service, scenario):
    tenant = first_consented(scenario)
    suite = tenant.subscriptions[0]
    scenario.add_sku(tenant.id, "VISIOCLIENT", 4, assigned=2)
    scenario.add_sku(tenant.id, "PROJECTPROFESSIONAL", 3)
    visio = scenario.add_sku(tenant.id, "VISIOCLIENT", 2)
    scenario.set_status(tenant.id, visio.id, "expired")  # Graph: warning (grace period)
    project = next(s for s in tenant.subscriptions if s.part_number == "PROJECTPROFESSIONAL")
    scenario.set_status(tenant.id, project.id, "suspended")
    inventory = service.fetch(tenant.id)
    by_part = {lic.part_number: lic for lic in inventory.licenses}
    assert (by_part["VISIOCLIENT"].enabled, by_part["VISIOCLIENT"].warning) == (4, 2)
    assert (by_part["VISIOCLIENT"].purchased, by_part["VISIOCLIENT"].assigned) == (6, 2)
    assert (by_part["PROJECTPROFESSIONAL"].purchased, by_part["PROJECTPROFESSIONAL"].suspended) == (0, 3)
    assert by_part[suite.part_number].purchased == expected_counts(tenant)[suite.sku_id][0]


def test_time_moves_the_counts(service, scenario):
    tenant = first_consented(scenario)
    suite = tenant.subscriptions[0]
    before = service.fetch(tenant.id).license(suite.sku_id)
    scenario.add_seats(tenant.id, suite.sku_id, 3)
    scenario.add_users(tenant.id, 2, sku=suite.sku_id)
    after = service.fetch(tenant.id).license(suite.sku_id)
    assert (after.purchased - before.purchased, after.assigned - before.assigned) == (3, 2)
    new = scenario.add_sku(tenant.id, "AAD_PREMIUM", 5, assigned=1)
    lic = service.fetch(tenant.id).license(new.sku_id)
    assert (lic.name, lic.purchased, lic.assigned) == ("Microsoft Entra ID P1", 5, 1)


def test_moving_the_date_renews_or_expires_terms(service, scenario):
    owner, annual = next((t, s) for t in scenario.tenants.values() if t.consent for s in t.subscriptions
                         if s.term == "P1Y" and s.in_partner_center)
    end = annual.commitment_end
    scenario.renew_gdap(owner.id, days=3000)  # the relationship outlives the test's time travel
    scenario.set_date(end + timedelta(days=1))
    renewed = next(s for lic in service.fetch(owner.id).licenses for s in lic.subscriptions if s.id == annual.id)
    next_start = end + timedelta(days=1)
    assert renewed.commitment_end == next_start.replace(year=next_start.year + 1) - timedelta(days=1)

    visio = scenario.add_sku(owner.id, "VISIOCLIENT", 2, term="P1M")
    visio.auto_renew = False
    lapse = visio.commitment_end
    seen = []
    for days in (5, 60, 200):  # grace period (still billed by Microsoft), disabled, deleted
        scenario.set_date(lapse + timedelta(days=days))
        lic = service.fetch(owner.id).license(visio.sku_id)
        seen.append(None if lic is None else (lic.warning, lic.purchased, [s.status for s in lic.subscriptions]))
    assert seen == [(2, 2, ["expired"]), (0, 0, ["disabled"]), None]


def test_a_failed_read_is_refused_with_its_cause(service, scenario, store):
    unconsented = scenario.unconsented[0]
    with pytest.raises(InventoryRefused) as caught:
        service.fetch(unconsented)
    assert isinstance(caught.value.cause, ConsentMissing) and caught.value.tenant_id == unconsented
    tenant = first_consented(scenario)
    scenario.expire_gdap(tenant.id)
    with pytest.raises(InventoryRefused) as caught:
        service.fetch(tenant.id)
    assert isinstance(caught.value.cause, GdapMissing)
    assert store.saved == []


def test_a_partial_read_is_refused(service, server, sandbox, scenario, store):
    tenant = first_consented(scenario)
    scenario.add_users(tenant.id, 1200)

    def break_page_two(route: str, payload: dict) -> dict:
        if route == "users":
            sandbox.tamper = None
            server.chaos.inject(Fault("status", path="/v1.0/users", status=500, times=50))
        return payload

    sandbox.tamper = break_page_two
    with pytest.raises(InventoryRefused):
        service.fetch(tenant.id, with_users=True)
    assert store.saved == []


def test_zero_licenses_where_there_were_seats_is_refused(service, scenario, store):
    tenant = first_consented(scenario)
    store.totals[tenant.id] = 25
    for sub in tenant.subscriptions:
        scenario.set_status(tenant.id, sub.id, "deleted")
    with pytest.raises(LicensesGone) as caught:
        service.fetch(tenant.id)
    assert "no licenses" in str(caught.value) and "(it had 25 seats)" in str(caught.value)
    assert caught.value.inventory.tenant_id == tenant.id and seat_total(caught.value.inventory) == 0
    for sub in tenant.subscriptions:
        scenario.set_status(tenant.id, sub.id, "suspended")
    with pytest.raises(LicensesGone) as caught:
        service.fetch(tenant.id)
    assert caught.value.seats_before == 25
    assert store.saved == [] and store.totals[tenant.id] == 25


def test_licenses_assigned_but_no_licensed_user_returned_is_refused(service, sandbox, scenario, store):
    tenant = first_consented(scenario)
    sandbox.tamper = lambda route, payload: {**payload, "value": []} if route == "users" else payload
    with pytest.raises(InventoryRefused):
        service.fetch(tenant.id, with_users=True)
    assert store.saved == []


def test_a_tenant_partner_center_does_not_know_keeps_graphs_view(clients, catalogue, store, scenario):
    tenant = first_consented(scenario)

    class DirectOnly:
        def subscriptions(self, tenant_id: str) -> list:
            return clients.partner_center.subscriptions(str(uuid.UUID(int=12)))  # 60003

    service = InventoryService(clients.graph, DirectOnly(), catalogue, store)  # type: ignore[arg-type]
    inventory = service.fetch(tenant.id)
    assert {lic.sku_id: lic.purchased for lic in inventory.licenses} == {
        k: v[0] for k, v in expected_counts(tenant).items()}
    assert all(s.offer_name == "" for lic in inventory.licenses for s in lic.subscriptions)


def test_fetch_many_keeps_tenants_independent(service, scenario):
    ids = list(scenario.tenants)
    results = service.fetch_many(ids, max_workers=4)
    assert list(results) == ids
    failed = {t for t, r in results.items() if isinstance(r, Exception)}
    assert failed == set(scenario.unconsented)
    assert all(isinstance(results[t], TenantInventory) for t in set(ids) - failed)


def test_requests_to_read_one_tenant_with_300_users(clients, service, scenario, capsys):
    a, b = [t for t in scenario.tenants.values() if t.consent][:2]
    for tenant in (a, b):
        scenario.remove_users(tenant.id, len(tenant.users))
        for sub in tenant.subscriptions:
            sub.quantity = max(sub.quantity, 300)
        scenario.add_users(tenant.id, 300, sku=tenant.subscriptions[0].sku_id)
    service.fetch(a.id, with_users=True)
    first = clients.request_count()
    service.fetch(b.id, with_users=True)
    another = clients.request_count() - first
    service.fetch(b.id, with_users=True)
    again = clients.request_count() - first - another
    with capsys.disabled():
        print(f"\nrequests for one 300-user tenant: first {first} (incl. the partner's token), "
              f"another tenant {another}, the same tenant again {again}")
    # Entra's discovery once for all tenants; a token per tenant (once); then subscribedSkus,
    # directory/subscriptions, users and Partner Center's subscriptions
    assert (first, another, again) == (7, 5, 4)


class Overlapping:
    """Graph and Partner Center reads that each wait for all the others to be in flight (4 at once)."""

    def __init__(self, clients, fail: tuple[str, ...] = ()) -> None:
        self.clients, self.fail = clients, fail
        self.meet = threading.Barrier(4, timeout=10)

    def _read(self, name: str, read):
        self.meet.wait()  # a read made after another has ended never meets the other three: BrokenBarrierError
        if name in self.fail:
            raise ConsentMissing(f"({name} refused)")
        return read()

    def subscribed_skus(self, tenant_id):
        return self._read("skus", lambda: self.clients.graph.subscribed_skus(tenant_id))

    def directory_subscriptions(self, tenant_id):
        return self._read("directory", lambda: self.clients.graph.directory_subscriptions(tenant_id))

    def users(self, tenant_id):
        return self._read("users", lambda: self.clients.graph.users(tenant_id))

    def subscriptions(self, tenant_id):
        return self._read("terms", lambda: self.clients.partner_center.subscriptions(tenant_id))


def test_a_tenants_reads_are_in_flight_at_once(clients, catalogue, store, scenario):
    tenant = first_consented(scenario)
    reads = Overlapping(clients)
    inventory = InventoryService(reads, reads, catalogue, store).fetch(tenant.id, with_users=True)  # type: ignore[arg-type]
    assert {lic.sku_id: lic.purchased for lic in inventory.licenses} == {
        k: v[0] for k, v in expected_counts(tenant).items()}
    assert inventory.users is not None and len(inventory.users) == len(tenant.users)


def test_of_several_failed_reads_the_first_in_reading_order_is_said(clients, catalogue, store, scenario):
    tenant = first_consented(scenario)
    reads = Overlapping(clients, fail=("users", "directory"))
    with pytest.raises(InventoryRefused, match="directory refused"):
        InventoryService(reads, reads, catalogue, store).fetch(tenant.id, with_users=True)  # type: ignore[arg-type]
    assert store.saved == []
