"""Connections, companies, tenants and their links."""

from __future__ import annotations

import pytest

from app.billing.types import FilterField, UserFilter
from app.models.records import ConsentStatus, MicrosoftConnectionRecord, RecordInUse, RecordNotFound, TenantRecord
from app.models.repositories import Companies, MicrosoftConnections, PsaConnections, Tenants
from app.services.psa.port import PsaCompany
from tests.models.factories import OTHER_TENANT, TENANT, connection, profile, tenant


def test_psa_connection_keeps_its_non_secret_settings(database, clock):
    repo = PsaConnections(now=clock)
    created = repo.create(kind="halopsa", name=" Halo ", settings={"url": "https://halo.example", "tenant": "acme"})
    assert repo.get(created.id) == created
    assert (created.name, dict(created.settings), created.created_at) == (
        "Halo", {"url": "https://halo.example", "tenant": "acme"}, clock.now)
    updated = repo.update(created.id, settings={"url": "https://halo2.example"})
    assert dict(repo.get(created.id).settings) == {"url": "https://halo2.example"} == dict(updated.settings)


@pytest.mark.parametrize("name", ["client_secret", "password", "PrivateKey", "api_key", "token"])
def test_psa_connection_refuses_settings_that_look_like_credentials(database, name):
    with pytest.raises(ValueError, match="SecretStore"):
        PsaConnections().create(kind="connectwise", name="Main", settings={name: "x"})


def test_psa_connection_needs_a_kind(database):
    with pytest.raises(ValueError, match="needs a kind"):
        PsaConnections().create(kind=" ", name="K")


def test_unknown_connection_is_a_typed_error(database):
    with pytest.raises(RecordNotFound, match="PSA connection 42"):
        PsaConnections().get(42)


def test_deleting_a_connection_with_profiles_is_refused(database):
    cid = connection()
    profile(cid)
    with pytest.raises(RecordInUse, match="billing profiles"):
        PsaConnections().delete(cid)
    assert PsaConnections().get(cid).name == "Main"


def test_microsoft_connection_round_trip(database):
    repo = MicrosoftConnections()
    saved = repo.save(MicrosoftConnectionRecord(id=0, name="Partner", partner_tenant_id="p-1", client_id="app-1"))
    assert repo.get(saved.id) == saved and saved.graph_url == "https://graph.microsoft.com"
    moved = repo.save(MicrosoftConnectionRecord(**{**saved.__dict__, "graph_url": "https://127.0.0.1:9/graph"}))
    assert repo.all() == [moved] and moved.graph_url == "https://127.0.0.1:9/graph"


def test_companies_are_replaced_and_vanished_ones_kept_inactive(database):
    cid = connection()
    repo = Companies()
    repo.replace(cid, [PsaCompany(id="19", name="Contoso", identifier="CONTOSO", domains=("Contoso.com",)),
                       PsaCompany(id="20", name="Fabrikam", identifier="FAB")])
    after = repo.replace(cid, [PsaCompany(id="19", name="Contoso Ltd", identifier="CONTOSO")])
    assert [(c.psa_id, c.name, c.active) for c in after] == [("19", "Contoso Ltd", True), ("20", "Fabrikam", False)]
    assert repo.by_psa_id(cid, "19").domains == ()
    assert repo.by_psa_id(cid, "nope") is None


def test_tenant_add_is_an_upsert_that_keeps_added_at(database, clock):
    repo = Tenants(now=clock)
    first = tenant()
    assert repo.get(TENANT) == first and first.verified_domains == ("contoso.com", "contoso.onmicrosoft.com")
    clock.advance(days=1)
    again = repo.add(TenantRecord(tenant_id=TENANT, name="Contoso Group"))
    assert (again.name, again.added_at) == ("Contoso Group", first.added_at)
    repo.set_consent(TENANT, "expired")
    assert repo.get(TENANT).consent_status is ConsentStatus.EXPIRED
    with pytest.raises(ValueError, match="is not a valid ConsentStatus"):
        repo.set_consent(TENANT, "maybe")


def test_unknown_tenant_is_named(database):
    with pytest.raises(RecordNotFound, match=f"tenant {OTHER_TENANT}: add it under Customers first"):
        Tenants().get(OTHER_TENANT)
    assert Tenants().find(OTHER_TENANT) is None


def test_a_tenant_bills_to_several_companies_and_a_company_has_several_tenants(database):
    cid = connection()
    leeds, york = Companies().replace(cid, [PsaCompany(id="1", name="Leeds Office"), PsaCompany(id="2", name="York")])
    tenant()
    tenant(OTHER_TENANT, "Other")
    repo = Tenants()
    by_office = UserFilter(field=FilterField.OFFICE, value="Leeds")
    repo.link(TENANT, leeds.id, by_office)
    repo.link(TENANT, leeds.id, by_office)  # idempotent
    repo.link(TENANT, york.id, UserFilter(field=FilterField.OFFICE, value="York"))
    repo.link(OTHER_TENANT, leeds.id)
    links = repo.links_of_tenant(TENANT)
    assert [(link.company_name, link.user_filter) for link in links] == [
        ("Leeds Office", by_office), ("York", UserFilter(field=FilterField.OFFICE, value="York"))]
    assert sorted(link.tenant_id for link in repo.links_of_company(leeds.id)) == sorted([TENANT, OTHER_TENANT])
    every = repo.all_links()
    assert sorted(every, key=repr) == sorted(links + repo.links_of_tenant(OTHER_TENANT), key=repr)
    assert sorted(every, key=repr) == sorted(repo.links_of_tenants([OTHER_TENANT, TENANT, TENANT]), key=repr)
    assert repo.linked_companies() == 2  # Leeds (two tenants, one of them twice) and York
    assert repo.unlink(TENANT, leeds.id, by_office) is True
    assert repo.unlink(TENANT, leeds.id, by_office) is False


def test_removing_a_tenant_removes_its_links(database):
    cid = connection()
    [company] = Companies().replace(cid, [PsaCompany(id="1", name="Contoso")])
    tenant()
    Tenants().link(TENANT, company.id)
    Tenants().remove(TENANT)
    assert Tenants().links_of_company(company.id) == []
