"""The Partner Center client against the sandbox: seek paging, request ids, errors."""

from __future__ import annotations

import uuid

import pytest

from app.sandbox.server import Fault
from app.services.microsoft import GdapMissing, MalformedResponse, TenantNotFound
from app.services.microsoft.partner_center import PartnerCenterClient
from app.services.microsoft.wire import customer_from_partner_center
from tests.microsoft.conftest import first_consented


def test_customers_page_by_seek(clients, server, sandbox, scenario):
    client = PartnerCenterClient(clients.partner_center_api, clients.tokens, scenario.partner_tenant_id, page_size=5)
    customers = [customer_from_partner_center(c) for c in client.customers()]
    assert sorted(c.tenant_id for c in customers) == sorted(scenario.tenants)
    assert server.request_count("GET", "pc:customers") == 3  # 12 customers, 5 a page
    first = customers[0]
    tenant = scenario.tenants[first.tenant_id]
    assert (first.name, first.default_domain, first.domains) == (tenant.name, tenant.default_domain,
                                                                 tuple(tenant.domains))
    request_ids = [r for r, _ in sandbox.partner_center_ids]
    correlations = {c for _, c in sandbox.partner_center_ids}
    assert len(set(request_ids)) == 3 and all(uuid.UUID(r) for r in request_ids)
    assert len(correlations) == 1  # the pages of one listing share a correlation id


def test_a_retried_request_keeps_its_ms_request_id(clients, server, sandbox, scenario):
    tenant = first_consented(scenario)
    server.chaos.inject(Fault("status_after", path=f"/v1/customers/{tenant.id}/subscriptions", status=503))
    assert len(clients.partner_center.subscriptions(tenant.id)) == sum(
        1 for s in tenant.subscriptions if s.in_partner_center)
    (first, corr1), (second, corr2) = list(sandbox.partner_center_ids)[-2:]
    assert first == second and corr1 == corr2


def test_throttled_partner_center_waits_as_told(clients, server, scenario, clock):
    server.chaos.inject(Fault("status", path="/v1/customers", status=429, retry_after=57))
    assert len(clients.partner_center.customers()) == len(scenario.tenants)
    assert clock.sleeps == [57.0]


def test_subscriptions_carry_the_terms(clients, scenario):
    tenant = first_consented(scenario)
    items = {s.str("id"): s for s in clients.partner_center.subscriptions(tenant.id)}
    for sub in tenant.subscriptions:
        if not sub.in_partner_center:
            assert sub.id not in items
            continue
        item = items[sub.id]
        assert item.str("termDuration") == sub.term and item.str("billingCycle") == sub.billing_cycle
        assert item.date("commitmentEndDate") == sub.commitment_end
        assert item.obj_at("productType").str("id") == "OnlineServicesNCE"  # type: ignore[union-attr]


def test_no_relationship_is_gdap_missing(clients, scenario):
    tenant = first_consented(scenario)
    scenario.end_reseller_relationship(tenant.id)
    with pytest.raises(GdapMissing) as caught:
        clients.partner_center.subscriptions(tenant.id)
    assert caught.value.code == "20002" and tenant.id in str(caught.value)


def test_unknown_customer_is_tenant_not_found(clients):
    missing = str(uuid.UUID(int=11))
    with pytest.raises(TenantNotFound) as caught:
        clients.partner_center.subscriptions(missing)
    assert caught.value.code == "60003"


def test_malformed_customer(clients, sandbox):
    def corrupt(route: str, payload: dict) -> dict:
        if route == "customers":
            payload["items"][1].pop("companyProfile")
        return payload

    sandbox.tamper = corrupt
    with pytest.raises(MalformedResponse) as caught:
        [customer_from_partner_center(c) for c in clients.partner_center.customers()]
    assert "customers page 1.items[1].companyProfile is missing" in str(caught.value)
