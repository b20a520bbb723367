"""Several partners in one sandbox: each its own CSP tenant, customers, app and consent (APIS.md §A4)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app.sandbox.microsoft import MicrosoftSandbox, Scenario, generate
from app.sandbox.microsoft.model import SandboxPartner
from app.sandbox.server import SandboxServer
from app.services.http import RetryPolicy
from app.services.microsoft import ConsentMissing, GdapMissing, MicrosoftClients, SecretInvalid, gdap
from app.services.microsoft.config import GRAPH_SCOPE
from app.services.microsoft.permissions import GRAPH_PERMISSIONS, PARTNER_GRAPH_PERMISSIONS, token_roles
from app.services.microsoft.wire import customer_from_partner_center
from tests.microsoft.conftest import FakeClock, first_consented


@pytest.fixture
def other(scenario: Scenario) -> SandboxPartner:
    return scenario.add_partner("Second Region CSP", customers=3)


@pytest.fixture
def other_clients(sandbox: MicrosoftSandbox, server: SandboxServer, clock: FakeClock,
                  other: SandboxPartner) -> Iterator[MicrosoftClients]:
    with MicrosoftClients.create(sandbox.settings(server, other.tenant_id), sleep=clock.sleep, now=clock.now,
                                 monotonic=clock.now, rng=random.Random(2),
                                 retry=RetryPolicy(max_attempts=2)) as made:
        yield made


def tenant_ids(clients: MicrosoftClients) -> set[str]:
    return {customer_from_partner_center(c).tenant_id for c in clients.partner_center.customers()}


def test_each_partner_lists_its_own_customers(clients, other_clients, scenario, other):
    mine = {t.id for t in scenario.customers_of(other.tenant_id)}
    assert len(mine) == 3 and tenant_ids(other_clients) == mine
    assert tenant_ids(clients) == set(scenario.tenants) - mine
    assert other.client_id != scenario.client_id and other.tenant_id != scenario.partner_tenant_id


def test_a_partner_cannot_read_another_partners_customer(clients, other_clients, scenario, other):
    theirs = scenario.customers_of(other.tenant_id)[0]
    assert other_clients.partner_center.subscriptions(theirs.id) is not None
    with pytest.raises(GdapMissing):
        clients.partner_center.subscriptions(theirs.id)


def test_an_app_is_consented_per_tenant(other_clients, scenario, other):
    home_customer = first_consented(scenario)
    with pytest.raises(ConsentMissing):  # the other partner's app was never consented there
        other_clients.tokens.token(home_customer.id, GRAPH_SCOPE)
    scenario.grant_consent(home_customer.id, other.client_id)
    assert other_clients.tokens.token(home_customer.id, GRAPH_SCOPE)
    assert scenario.consented(home_customer.id, scenario.client_id)  # the home app's consent is its own
    scenario.revoke_consent(home_customer.id, other.client_id)
    other_clients.tokens.invalidate(home_customer.id, GRAPH_SCOPE)
    with pytest.raises(ConsentMissing):
        other_clients.tokens.token(home_customer.id, GRAPH_SCOPE)
    assert scenario.consented(home_customer.id, scenario.client_id)


def test_credentials_are_per_app(clients, other_clients, scenario, other):
    other.client_secret = "not it"
    with pytest.raises(SecretInvalid):
        other_clients.partner_center.customers()
    assert tenant_ids(clients)  # the home partner's app is unaffected


def test_each_partner_reads_its_own_gdap_relationships(other_clients, scenario, other):
    scenario.add_role(*PARTNER_GRAPH_PERMISSIONS, partner_id=other.tenant_id)
    home_customer = first_consented(scenario)
    scenario.add_relationship(home_customer.id, partner_id=other.tenant_id, status="approvalPending")
    found = gdap.relationships(other_clients.graph, other.tenant_id)
    assert {r.customer_tenant_id for r in found} == {t.id for t in scenario.customers_of(other.tenant_id)} | {
        home_customer.id}
    now = datetime.combine(scenario.today, datetime.min.time(), UTC)
    assert gdap.gdap_status(found, home_customer.id, now).state is gdap.GdapState.PENDING


def test_a_new_partners_tokens_carry_its_own_apps_roles(other_clients, scenario, other):
    customer = scenario.customers_of(other.tenant_id)[0]
    assert token_roles(other_clients.tokens.token(customer.id, GRAPH_SCOPE)) == set(GRAPH_PERMISSIONS)
    scenario.leave_out_role("User.Read.All")  # the home app's permission, not this one's
    other_clients.tokens.invalidate(customer.id, GRAPH_SCOPE)
    assert token_roles(other_clients.tokens.token(customer.id, GRAPH_SCOPE)) == set(GRAPH_PERMISSIONS)


def test_the_home_partner_and_seeds_are_as_before(catalogue):
    one, two = generate(6, seed=9, catalogue=catalogue), generate(6, seed=9, catalogue=catalogue)
    assert list(one.partners) == [one.partner_tenant_id] and one.home.name == one.partner_name
    assert [t.id for t in one.tenants.values()] == [t.id for t in two.tenants.values()]
    assert [r.id for t in one.tenants.values() for r in t.relationships] == [
        r.id for t in two.tenants.values() for r in t.relationships]
    assert all(t.partner_id == one.partner_tenant_id for t in one.tenants.values())
