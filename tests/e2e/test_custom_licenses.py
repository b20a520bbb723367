"""Custom licenses end to end on each PSA (docs/billing.md, "Custom licenses").

On 1 January the tenant (Business Premium 10 seats, Exchange 4, mapped) gets
two custom licenses in the window's service: its shared mailboxes (3, from
Microsoft 365's mailbox report) and the members of its "Sales" group (3,
one of them through a nested group). Each is mapped through a profile of its
own product on the same agreement as the Microsoft rows. On 16 January two
shared mailboxes and one Sales member more: each custom row's main line
follows from February and a prorate line bills 16 → 31 January, as a
Microsoft row's would. What the PSA holds is read from its sandbox.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.billing.custom import CountRule
from app.billing.operations import OpKind
from app.billing.types import BillingProfile, Mapping
from app.models.records import EditConflict
from app.models.repositories import ConfigChanges
from app.services.customers.custom import CustomRefused
from app.services.microsoft.permissions import COUNT_PERMISSIONS
from tests.e2e.conftest import EXO, MID, NEXT, PERIOD_END, PRODUCT, SPB, START, Tenant

MAILBOX, SALES = "SHARED-MBX", "SALES-SEAT"
PRICES = {MAILBOX: Decimal("3.10"), SALES: Decimal("5.00")}


@pytest.fixture(autouse=True)
def counts_allowed(tenant: Tenant) -> None:
    """The app holds the Graph permissions custom counts need (docs/permissions.md), consented anew."""
    tenant.scenario.add_role(*COUNT_PERMISSIONS)
    tenant.context.microsoft.forget()  # tokens issued before the consent lack them


def product_profile(tenant: Tenant, identifier: str) -> BillingProfile:
    tenant.world.psa_side.add_product(identifier, description=f"{identifier} service", price=str(PRICES[identifier]),
                                      cost="1.00")
    tenant.context.admin.refresh_catalog(tenant.connection)
    product = next(p for p in tenant.context.uow.catalog.products(tenant.connection, active_only=True)
                   if p.identifier == identifier)
    return tenant.context.uow.profiles.save(tenant.connection, BillingProfile(id="", name=identifier, product=product))


def lines(tenant: Tenant, identifier: str) -> list[tuple[str, object, object, object]]:
    """The product's lines on the agreement: ("main", seats, start, end), ("dated", amount, start, end) (each PSA
    keeps a dated line's seats its own way; its amount is what it bills)."""
    return sorted((h.kind, h.amount if h.kind == "dated" else h.quantity, h.start, h.end)
                  for h in tenant.world.psa_side.holdings(tenant.agreement) if h.product == identifier)


def test_shared_mailboxes_and_group_members_bill_beside_the_microsoft_rows_with_the_ledger(tenant: Tenant):
    scenario, tenant_id = tenant.scenario, tenant.tenant_id
    people = scenario.tenant(tenant_id).users
    scenario.conceal_report_names(tenant_id, False)  # the customer's admin shows names in reports
    scenario.add_shared_mailboxes(tenant_id, 3)
    north = scenario.add_group(tenant_id, "Sales North", members=[people[5]])
    sales = scenario.add_group(tenant_id, "Sales", members=[people[3], people[4], north])
    scenario.add_group(tenant_id, "Finance", members=[people[6]])
    service = tenant.context.custom_licenses
    assert [name for _, name in service.groups(tenant_id)] == ["Finance", "Sales", "Sales North"]

    mailboxes = service.add(tenant_id, name="Shared mailboxes", rule=CountRule.SHARED_MAILBOXES, actor="amy")
    members = service.add(tenant_id, name="Sales seats", rule=CountRule.GROUP_MEMBERS, param=sales.id,
                          group_name="Sales", actor="amy")
    assert (mailboxes.seats, members.seats) == (3, 3)
    for added, identifier in ((mailboxes, MAILBOX), (members, SALES)):
        tenant.context.uow.mappings.save(Mapping(tenant_id=tenant_id, sku_id=added.custom.sku_id,
                                                 profile=product_profile(tenant, identifier),
                                                 agreement_id=tenant.agreement))

    first = tenant.sync()
    assert not first.failed, [r.error for r in first.results]
    assert lines(tenant, MAILBOX) == [("main", 3, START, None)]
    assert lines(tenant, SALES) == [("main", 3, START, None)]
    assert [h.quantity for h in tenant.holdings(SPB)] == [10] and [h.quantity for h in tenant.holdings(EXO)] == [4]

    tenant.move_to(MID)
    scenario.add_shared_mailboxes(tenant_id, 2)
    scenario.add_members(tenant_id, north.id, [people[7]])
    summary = tenant.sync()
    assert not summary.failed, [r.error for r in summary.results]
    # The main lines bill the new count from February (their history, in the journal); the prorate lines
    # bill 16 → 31 January: 2 × 3.10 × 16/31 and 1 × 5.00 × 16/31.
    assert lines(tenant, MAILBOX) == [("dated", Decimal("3.20"), MID, PERIOD_END), ("main", 5, START, None)]
    assert lines(tenant, SALES) == [("dated", Decimal("2.58"), MID, PERIOD_END), ("main", 4, START, None)]
    assert [op.effective for r in summary.results for op in r.applied if op.kind is OpKind.SET_QUANTITY] == \
        [NEXT, NEXT]
    assert [h.quantity for h in tenant.holdings(SPB)] == [10]  # the Microsoft rows are untouched
    assert tenant.sync().writes == 0

    history = [p.assigned for p in tenant.context.companies.history(tenant_id, mailboxes.custom.sku_id)]
    assert history[0] == 3 and history[-1] == 5 and sorted(set(history)) == [3, 5]  # seats over time


def test_a_group_gone_from_the_tenant_stops_its_sync_naming_the_custom_license(tenant: Tenant):
    """Counting a deleted group as 0 would cancel its seats: the tenant is not synced, and nothing is written."""
    scenario, tenant_id = tenant.scenario, tenant.tenant_id
    group = scenario.add_group(tenant_id, "Sales", members=scenario.tenant(tenant_id).users[:2])
    added = tenant.context.custom_licenses.add(tenant_id, name="Sales seats", rule=CountRule.GROUP_MEMBERS,
                                               param=group.id, group_name="Sales")
    tenant.context.uow.mappings.save(Mapping(tenant_id=tenant_id, sku_id=added.custom.sku_id,
                                             profile=tenant.profiles["M365-E3"], agreement_id=tenant.agreement))
    assert not tenant.sync().failed and lines(tenant, "M365-E3") == [("main", 2, START, None)]
    with scenario.lock:
        scenario.tenant(tenant_id).groups.remove(group)
    tenant.move_to(MID)
    writes = tenant.writes()
    summary = tenant.sync()
    assert len(summary.failed) == 1 and tenant.writes() == writes
    assert "Sales seats" in str(summary.results[0].error) and "group" in str(summary.results[0].error)
    assert lines(tenant, "M365-E3") == [("main", 2, START, None)]
    with pytest.raises(CustomRefused, match="was not added"):  # and a new one is refused, keeping nothing
        tenant.context.custom_licenses.add(tenant_id, name="Gone", rule=CountRule.GROUP_MEMBERS, param=group.id)
    assert [c.name for c in tenant.context.custom_licenses.of_tenant(tenant_id)] == ["Sales seats"]


def test_a_mapped_custom_license_cannot_be_removed_until_its_mapping_is(tenant: Tenant):
    tenant_id = tenant.tenant_id
    added = tenant.context.custom_licenses.add(tenant_id, name="Support seats", rule=CountRule.FIXED, param="4")
    mapping = tenant.context.uow.mappings.save(Mapping(tenant_id=tenant_id, sku_id=added.custom.sku_id,
                                                       profile=tenant.profiles[PRODUCT[SPB]],
                                                       agreement_id=tenant.agreement))
    with pytest.raises(CustomRefused, match="remove its mapping first"):
        tenant.context.custom_licenses.remove(added.custom.id)
    tenant.context.uow.mappings.delete(mapping.row)
    assert tenant.context.custom_licenses.remove(added.custom.id, actor="amy") is True
    assert tenant.context.custom_licenses.of_tenant(tenant_id) == []


def test_a_mapped_custom_license_is_changed_and_its_line_bills_the_new_count(tenant: Tenant):
    """Its row and its mapping stay: the line is changed like any change of seats, never cancelled and made
    again; a change made on a stale copy, or a sum of a row added after it, is refused."""
    tenant_id, service = tenant.tenant_id, tenant.context.custom_licenses
    added = service.add(tenant_id, name="Support seats", rule=CountRule.FIXED, param="4")
    tenant.context.uow.mappings.save(Mapping(tenant_id=tenant_id, sku_id=added.custom.sku_id,
                                             profile=tenant.profiles["M365-E3"], agreement_id=tenant.agreement))
    assert not tenant.sync().failed and lines(tenant, "M365-E3") == [("main", 4, START, None)]
    read = service.editing(added.custom.id).version

    tenant.move_to(MID)
    changed = service.change(added.custom.id, name="Support desk seats", rule=CountRule.FIXED, param="6",
                             expected_version=read, actor="amy")
    assert (changed.custom.sku_id, changed.seats, changed.mapped) == (added.custom.sku_id, 6, True)
    summary = tenant.sync()
    assert not summary.failed, [r.error for r in summary.results]
    assert sorted(op.kind for r in summary.results for op in r.applied) == [OpKind.ADD_PRORATE, OpKind.SET_QUANTITY]
    assert [(kind, start, end) for kind, _, start, end in lines(tenant, "M365-E3")] == [
        ("dated", MID, PERIOD_END), ("main", START, None)]
    assert tenant.sync().writes == 0
    [company] = tenant.context.companies.company_rows()
    names = [row.name for row in tenant.context.companies.company(company.id).licenses]
    assert "Support desk seats" in names and "Support seats" not in names

    with pytest.raises(EditConflict, match="the custom license Support desk seats was changed by amy"):
        service.change(added.custom.id, name="Support seats", rule=CountRule.FIXED, param="5", expected_version=read)
    later = service.add(tenant_id, name="Spare seats", rule=CountRule.FIXED, param="1")
    with pytest.raises(CustomRefused, match="has no license Spare seats to count before this one"):
        service.change(added.custom.id, name="Support desk seats", rule=CountRule.SUM,
                       terms=[(1, later.custom.sku_id)])
    with pytest.raises(CustomRefused, match="already has a custom license named 'Spare seats'"):
        service.change(added.custom.id, name="spare SEATS", rule=CountRule.FIXED, param="6")
    changes = ConfigChanges().query(kind="custom_license", key=added.custom.id)
    assert [(c.action, c.actor, c.after["param"] if c.after else None) for c in changes] == [
        ("changed", "amy", "6"), ("created", "", "4")]
