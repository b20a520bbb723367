"""Two Microsoft partner connections, end to end on each PSA.

The world's tenant belongs to the home partner (a direct-bill CSP). A second
partner account, an indirect reseller in another region, has a customer of
its own, with a PSA company and agreement. Its connection is added beside
the first (tested, then stored), its customer is onboarded as its tenant,
and one run syncs both tenants, each read through its own partner's app:
the home app is never consented in the other partner's customer, so a read
through the wrong app would fail. A second run writes nothing. The
companies list tells the two partners apart, GDAP is read per partner, and
a partner whose secret stops working fails its own tenants only.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time

import pytest

from app.errors import ConfigurationError
from app.models.connections import MicrosoftConnection
from app.models.connections import Tenant as Tenant_
from app.models.records import RecordInUse, RecordNotFound
from app.models.repositories import ConfigChanges
from app.services.connections.access import AccessService
from app.services.connections.admin import MicrosoftDraft
from app.services.customers.bulk_add import Choice
from app.services.microsoft.permissions import PARTNER_GRAPH_PERMISSIONS
from app.services.review.approvals import HistoryFilter
from tests.e2e.conftest import E3, OTHER, SPB, Tenant, other_partner


def second_partner(tenant: Tenant, customers: int = 1) -> Tenant:
    """The other partner's first customer, onboarded through its own connection, with E3 (6 seats) mapped (its
    other customers have no PSA company, and are not added)."""
    context = tenant.context
    other, theirs, agreement = other_partner(tenant, customers)
    url = tenant.world.microsoft_server.url
    saved, result = context.admin.test_and_save_microsoft(MicrosoftDraft(
        name=OTHER, kind="indirect_reseller", client_id=other.client_id, partner_tenant_id=other.tenant_id,
        client_secret=other.client_secret, authority_url=url, graph_url=url, partner_center_url=url))
    assert (result.customers, result.problems) == (customers, ())
    home = context.uow.microsoft_connections.all()[0]
    assert [(s.record.name, s.kind_label, s.tenants) for s in context.admin.microsoft_connections()] == [
        (home.name, "Direct-bill CSP", 1), (OTHER, "Indirect reseller", 0)]

    proposal = context.customers.propose()
    [link] = proposal.result.links  # the one with a PSA company, matched by its domain
    assert (link.customer.tenant_id, link.customer.partner_id, link.customer.partner) == (theirs.id, saved.id, OTHER)
    context.customers.add([Choice(customer=link.customer, company_ids=(int(link.company.id),))])
    assert context.uow.tenants.get(theirs.id).partner_id == saved.id

    second = replace(tenant, tenant_id=theirs.id, agreement=agreement)
    second.seats(E3, 6)
    second.map(E3)
    return second


def test_two_partner_connections_with_tenants_in_each_are_synced_in_one_run(tenant: Tenant):
    scenario = tenant.scenario
    second = second_partner(tenant)
    assert not scenario.consented(second.tenant_id, scenario.client_id)  # only its own partner's app may read it

    summary = tenant.sync()
    assert not summary.failed, [r.error for r in summary.results]
    assert {r.tenant_id for r in summary.results} == {tenant.tenant_id, second.tenant_id}
    assert (tenant.main(SPB).quantity, second.main(E3).quantity) == (10, 6)
    assert tenant.sync().writes == 0

    rows = {r.name: r.partners for r in tenant.context.companies.company_rows()}
    home = tenant.context.uow.microsoft_connections.all()[0].name
    assert sorted(rows.values()) == sorted([(home,), (OTHER,)])

    second.seats(E3, 7)
    with scenario.lock:
        scenario.partners[scenario.tenant(second.tenant_id).partner_id].client_secret = "rotated"
    tenant.context.microsoft.forget()
    tenant.seats(SPB, 11)
    broken = tenant.sync()  # the other partner's secret no longer works: its tenant fails, the home one syncs
    assert [r.tenant_id for r in broken.failed] == [second.tenant_id]
    assert "client secret" in (broken.failed[0].error or "")
    assert (tenant.main(SPB).quantity, second.main(E3).quantity) == (11, 6)
    checked = tenant.context.access.check()  # "Check again": the home tenant is asked, the other one cannot be
    assert list(checked.unchecked) == [second.tenant_id] and "client secret" in checked.unchecked[second.tenant_id]
    name = tenant.context.uow.tenants.get(second.tenant_id).name
    assert checked.words().startswith("Checked 1 tenant(s). Each one is consented. Not checked: " + name)


def test_gdap_and_pending_customers_are_read_per_partner(tenant: Tenant):
    scenario, context = tenant.scenario, tenant.context
    second = second_partner(tenant, customers=2)
    other_partner = scenario.tenant(second.tenant_id).partner_id
    [waiting] = [t.id for t in scenario.customers_of(other_partner) if t.id != second.tenant_id]
    for partner_id in (None, other_partner):
        scenario.add_role(*PARTNER_GRAPH_PERMISSIONS, partner_id=partner_id)
    context.microsoft.forget()
    access = AccessService(context.uow, context.microsoft,  # on the world's day (GDAP's end dates are the sandbox's)
                           now=lambda: datetime.combine(tenant.clock(), time(12), UTC))
    assert access.check_gdap() == ""
    states = {t.tenant_id: t.gdap_state for t in context.uow.tenants.all()}
    assert states == {tenant.tenant_id: "FINE", second.tenant_id: "FINE"}
    scenario.expire_gdap(second.tenant_id)
    assert access.check_gdap() == ""
    assert {t.tenant_id: t.gdap_state for t in context.uow.tenants.all()}[second.tenant_id] == "ENDED"

    pending, failures = context.after_sync.pending_customers()
    assert ([(c.tenant_id, c.partner) for c in pending], failures) == ([(waiting, OTHER)], [])
    home = context.uow.microsoft_connections.all()[0].name
    with scenario.lock:
        scenario.client_secret = "rotated"  # the home partner's Partner Center no longer answers seatsync
    context.microsoft.forget()
    pending, failures = context.after_sync.pending_customers()
    assert [c.tenant_id for c in pending] == [waiting]  # the other partner's are still said
    assert len(failures) == 1 and f"of partner connection '{home}'" in failures[0], failures


@pytest.mark.parametrize("psa", ["connectwise"])
def test_a_tenant_moved_to_another_partner_connection_is_read_through_it_from_then_on(tenant: Tenant):
    """The customer moves from the home partner to the indirect reseller's account. Until the other partner
    serves it and its app is consented there, the move says so and the tenant fails alone, nothing written;
    then the run reads it through the other app, and writes the change once."""
    scenario, context = tenant.scenario, tenant.context
    second = second_partner(tenant)
    tenant.sync()
    home, other = context.uow.microsoft_connections.all()
    name = context.uow.tenants.get(tenant.tenant_id).name

    moved = context.access.move([tenant.tenant_id, second.tenant_id], other.id, actor="dana")
    assert moved.tenants == 1  # the other partner's own customer stays as it was
    assert moved.words().startswith(f"1 tenant(s) are read through partner connection '{OTHER}' from now on. "
                                    f"Checked 1 tenant(s). Without consent: {name}.")
    record = context.uow.tenants.get(tenant.tenant_id)
    assert (record.partner_id, record.consent_status.value) == (other.id, "missing")
    assert [(t.tenant_id, t.partner) for t in context.access.tenants()
            if t.tenant_id == tenant.tenant_id] == [(tenant.tenant_id, OTHER)]
    [change] = ConfigChanges().query(kind="tenant")
    assert (change.key, change.actor, change.before, change.after) == (
        tenant.tenant_id, "dana", {"name": name, "partner": home.name}, {"name": name, "partner": OTHER})

    [row] = context.review.config_history(HistoryFilter(), "tenant")  # History > "Tenants moved"
    assert (row.kind, row.what, row.before, row.after, row.change.actor) == (
        "Tenant", name, f"partner connection: {home.name}", f"partner connection: {OTHER}", "dana")

    tenant.seats(SPB, 12)
    failed = tenant.sync()  # the other app is not consented in it yet: it fails alone, nothing written for it
    assert [r.tenant_id for r in failed.failed] == [tenant.tenant_id] and tenant.main(SPB).quantity == 10
    scenario.transfer(tenant.tenant_id, other.partner_tenant_id)  # in Partner Center; GDAP and consent follow
    scenario.add_relationship(tenant.tenant_id)
    scenario.grant_consent(tenant.tenant_id)
    scenario.revoke_consent(tenant.tenant_id, scenario.client_id)  # the home app may no longer read it
    summary = tenant.sync()
    assert not summary.failed, [r.error for r in summary.results]
    assert tenant.main(SPB).quantity == 12 and tenant.sync().writes == 0
    assert context.access.move([tenant.tenant_id], other.id).words() == (
        f"Each of them is read through partner connection '{OTHER}' already.")
    with pytest.raises(RecordNotFound, match="add it under Customers first"):  # all or none
        context.access.move([second.tenant_id, "not-a-tenant"], home.id)
    assert context.uow.tenants.get(second.tenant_id).partner_id == other.id
    with pytest.raises(RecordNotFound, match="was removed"):
        context.access.move([tenant.tenant_id], other.id + home.id)


@pytest.mark.parametrize("psa", ["connectwise"])
def test_a_tenant_recorded_without_its_partner_is_refused_until_it_is_given_one(tenant: Tenant):
    """A tenant added before partners were recorded, while two connections existed: which app reads it is not
    known, so it is not read until a person moves it to its partner connection."""
    second = second_partner(tenant)
    context = tenant.context
    home, _ = context.uow.microsoft_connections.all()
    with context.uow:
        Tenant_.update(partner=None).where(Tenant_.tenant_id == tenant.tenant_id).execute()
    refused = tenant.sync()
    assert [r.tenant_id for r in refused.failed] == [tenant.tenant_id]
    assert "partner connection" in (refused.failed[0].error or "")
    assert [r.partner for r in context.access.tenants() if r.tenant_id == tenant.tenant_id] == [""]
    assert context.access.move([tenant.tenant_id], home.id).tenants == 1
    summary = tenant.sync()
    assert not summary.failed and {r.tenant_id for r in summary.results} == {tenant.tenant_id, second.tenant_id}


@pytest.mark.parametrize("psa", ["connectwise"])
def test_a_partner_connection_is_refused_twice_and_kept_while_its_tenants_belong_to_it(tenant: Tenant):
    context = tenant.context
    second_partner(tenant)
    home, other = context.uow.microsoft_connections.all()
    url = tenant.world.microsoft_server.url
    again = MicrosoftDraft(name="Another name", client_id=other.client_id, partner_tenant_id=other.partner_tenant_id,
                           client_secret="x", authority_url=url, graph_url=url, partner_center_url=url)
    with pytest.raises(ConfigurationError, match=f"already connected as '{OTHER}'"):
        context.admin.save_microsoft(again)
    with pytest.raises(ConfigurationError, match=f"another partner connection is named '{home.name}'"):
        context.admin.save_microsoft(replace(again, name=home.name.upper(), partner_tenant_id="x" * 8))
    with pytest.raises(RecordInUse, match="reads 1 customer tenant"):
        context.admin.delete_microsoft(other.id)
    assert len(context.uow.microsoft_connections.all()) == 2


@pytest.mark.parametrize("psa", ["connectwise"])
def test_a_run_without_any_partner_connection_says_so_once(tenant: Tenant):
    with tenant.context.uow:
        MicrosoftConnection.delete().execute()
    tenant.context.microsoft.forget()
    with pytest.raises(ConfigurationError, match="no Microsoft partner connection: add it in Settings"):
        tenant.sync()
