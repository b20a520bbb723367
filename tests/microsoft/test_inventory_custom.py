"""Custom licenses counted in a tenant's read: rows of their own, from reads that must agree."""

from __future__ import annotations

import pytest

from app.billing.custom import CountRule, CustomLicense, MailboxKind
from app.services.sync.inventory import InventoryRefused, InventoryService
from tests.microsoft.conftest import first_consented
from tests.microsoft.test_inventory import NOW, MemoryStore


class Reads:
    """Groups and mailboxes as Graph would answer them, and which were asked for."""

    def __init__(self, groups: dict[str, list[str]] | None = None,
                 mailboxes: dict[MailboxKind, list[str]] | None = None, concealed: bool = False) -> None:
        self.group_members = groups or {}
        self.boxes = mailboxes or {}
        self.concealed = concealed
        self.asked: list[str] = []

    def group_member_ids(self, tenant_id: str, group_id: str) -> list[str]:
        self.asked.append(f"group {group_id}")
        return self.group_members[group_id]

    def mailboxes(self, tenant_id: str) -> tuple[dict[MailboxKind, list[str]], bool]:
        self.asked.append("mailboxes")
        return self.boxes, self.concealed

    def groups(self, tenant_id: str) -> list[tuple[str, str]]:
        return [(group, group.title()) for group in self.group_members]


def _custom(tenant_id: str, n: int, rule: CountRule, **values: object) -> CustomLicense:
    return CustomLicense(id=f"{n:032x}", tenant_id=tenant_id, name=f"Custom {n}", rule=rule, **values)  # type: ignore[arg-type]


def _service(clients, catalogue, store, reads: Reads | None) -> InventoryService:
    return InventoryService(clients.graph, clients.partner_center, catalogue, store, now=lambda: NOW,
                            custom_reads=reads)


def test_custom_rows_are_counted_from_each_read_once_and_kept_in_the_snapshot(clients, catalogue, scenario):
    tenant = first_consented(scenario, min_users=3)
    users = [u for u in tenant.users]
    sales = [users[0].id, users[1].id]
    reads = Reads(groups={"sales": sales}, mailboxes={MailboxKind.SHARED: [users[2].upn]})
    store = MemoryStore()
    custom = (_custom(tenant.id, 1, CountRule.GROUP_MEMBERS, param="sales"),
              _custom(tenant.id, 2, CountRule.SHARED_MAILBOXES), _custom(tenant.id, 3, CountRule.FIXED, param="4"),
              _custom(tenant.id, 4, CountRule.SUM, terms=((1, f"custom:{1:032x}"), (1, f"custom:{3:032x}"))))
    inventory = _service(clients, catalogue, store, reads).fetch(tenant.id, custom=custom)
    counts = {lic.sku_id: lic.assigned for lic in inventory.licenses if lic.sku_id.startswith("custom:")}
    assert counts == {custom[0].sku_id: 2, custom[1].sku_id: 1, custom[2].sku_id: 4, custom[3].sku_id: 6}
    assert sorted(reads.asked) == ["group sales", "mailboxes"]  # each read once, at once with the others
    assert inventory.users is not None  # read for the rows that count users, though the mappings did not ask
    assert {u.id for u in inventory.users if custom[0].sku_id in u.sku_ids} == set(sales)
    assert store.saved == [inventory]
    microsoft = [lic for lic in inventory.licenses if not lic.sku_id.startswith("custom:")]
    assert microsoft and all(lic.sku_id in {s.sku_id for s in tenant.subscriptions} for lic in microsoft)


def test_a_group_member_the_users_read_lacks_stops_the_tenant_and_keeps_nothing(clients, catalogue, scenario):
    tenant = first_consented(scenario, min_users=1)
    store = MemoryStore()
    reads = Reads(groups={"sales": [tenant.users[0].id, "not-a-user-read"]})
    with pytest.raises(InventoryRefused, match="1 of the group's 2 members"):
        _service(clients, catalogue, store, reads).fetch(
            tenant.id, custom=(_custom(tenant.id, 1, CountRule.GROUP_MEMBERS, param="sales"),))
    assert store.saved == []


def test_without_graphs_group_reads_a_group_row_is_refused_in_words(clients, catalogue, scenario):
    tenant = first_consented(scenario)
    with pytest.raises(InventoryRefused, match="without Microsoft Graph's groups"):
        _service(clients, catalogue, MemoryStore(), None).fetch(
            tenant.id, custom=(_custom(tenant.id, 1, CountRule.GROUP_MEMBERS, param="sales"),))


def test_a_fixed_row_does_not_hide_that_microsoft_answered_with_no_licenses(clients, catalogue, scenario):
    """The guard against an empty read counts Microsoft's licenses only."""
    tenant = first_consented(scenario)
    store = MemoryStore({tenant.id: 10})
    for sub in tenant.subscriptions:
        sub.quantity = 0
    for user in tenant.users:
        user.sku_ids = set()
    with pytest.raises(InventoryRefused, match="reports no licenses"):
        _service(clients, catalogue, store, Reads()).fetch(
            tenant.id, custom=(_custom(tenant.id, 1, CountRule.FIXED, param="5"),))


def test_guests_read_from_graph_are_not_enabled_members(clients, catalogue, scenario):
    """userType is read with the users: a guest is no member, so "all enabled member users" leaves it out."""
    tenant = first_consented(scenario, min_users=2)
    with scenario.lock:
        tenant.users[0].user_type = "Guest"
        enabled = sum(1 for u in tenant.users if u.enabled and u.user_type == "Member")
    members = _custom(tenant.id, 1, CountRule.ENABLED_MEMBERS)
    inventory = _service(clients, catalogue, MemoryStore(), Reads()).fetch(tenant.id, custom=(members,))
    assert inventory.license(members.sku_id).assigned == enabled
    assert not next(u for u in inventory.users if u.id == tenant.users[0].id).member
