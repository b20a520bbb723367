"""A new tenant's license is mapped by a rule on its first sync, and that sync bills it."""

from __future__ import annotations

from datetime import date

import pytest

from app.billing.types import LineKind, TenantInventory
from app.bootstrap import open_context
from app.models.repositories.mappings import mapping_key
from tests.rules_world import E3, RulesWorld, e3

TODAY = date(2026, 11, 16)


@pytest.fixture
def ctx(data_dir):
    context = open_context(data_dir)
    context.settings.set_max_seats_change_per_line(None)
    context.settings.set_max_operations_per_run(None)
    yield context
    context.close()


def test_a_new_tenants_license_is_mapped_by_a_rule_and_billed_on_its_first_sync(ctx):
    world = RulesWorld(ctx).setup()
    tid = world.company("New customer", snapshot=False)  # never read: the sync is its first
    agreement = world.agreements["New customer"]
    reads: list[str] = []

    def fetch(tenant_id: str, with_users: bool) -> TenantInventory:
        reads.append(tenant_id)
        return world.inventory(tenant_id, "New customer", (e3(assigned=7),))

    rule = ctx.rules.add(world.rule(), actor="alice")
    summary = ctx.sync_service(today=lambda: TODAY, fetch_inventory=fetch).sync(actor="test")

    assert [(r.target.tenant_id, r.target.sku_id, r.agreement.id if r.agreement else None, r.rule_id)
            for r in summary.mapped_by_rule] == [(tid, E3, agreement, rule.id)]
    [line] = [line for line in world.psa.lines() if line.kind is LineKind.MAIN]
    assert (line.agreement_id, line.product_id, line.quantity) == (agreement, world.product.id, 7)
    assert reads == [tid]  # read once: the engine planned from the inventory the rules read
    [mapping] = ctx.uow.mappings.all()
    assert ctx.rules.mapped_by_rule() == {mapping_key(mapping.row): rule.id}

    again = ctx.sync_service(today=lambda: TODAY, fetch_inventory=fetch).sync(actor="test")
    assert again.mapped_by_rule == () and again.writes == 0


def test_without_rules_a_new_tenant_stays_unmapped_and_is_read_by_its_engine_only(ctx):
    world = RulesWorld(ctx).setup()
    world.company("New customer", snapshot=False)
    reads: list[str] = []

    def fetch(tenant_id: str, with_users: bool) -> TenantInventory:
        reads.append(tenant_id)
        return world.inventory(tenant_id, "New customer")

    summary = ctx.sync_service(today=lambda: TODAY, fetch_inventory=fetch).sync(actor="test")
    assert summary.mapped_by_rule == () and world.psa.lines() == [] and len(reads) == 1
