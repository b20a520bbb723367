"""App-only tokens through msal against the sandbox's Entra endpoints."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace

import pytest

from app.sandbox.server import Fault
from app.services.microsoft import (
    ConsentMissing,
    MicrosoftClients,
    SecretInvalid,
    TenantNotFound,
    TokenRefused,
)
from app.services.microsoft.config import GRAPH_SCOPE, PARTNER_CENTER_SCOPE
from tests.microsoft.conftest import first_consented

TOKEN_ROUTE = "entra:token"


def test_a_token_is_reused_until_shortly_before_it_expires(clients, server, scenario, clock):
    tenant = first_consented(scenario).id
    first = clients.tokens.token(tenant, GRAPH_SCOPE)
    assert clients.tokens.token(tenant, GRAPH_SCOPE) == first
    clock.advance(3599 - 301)  # still outside the five-minute margin
    assert clients.tokens.token(tenant, GRAPH_SCOPE) == first
    assert server.request_count("POST", TOKEN_ROUTE) == 1
    clock.advance(2)  # now inside it: refreshed before Microsoft would refuse it
    second = clients.tokens.token(tenant, GRAPH_SCOPE)
    assert second != first
    assert server.request_count("POST", TOKEN_ROUTE) == 2
    assert server.request_count("GET", "entra:openid-configuration") == 1


def test_tokens_are_per_tenant_and_scope(clients, server, scenario):
    a, b = [t.id for t in scenario.tenants.values() if t.consent][:2]
    tokens = {clients.tokens.token(a, GRAPH_SCOPE), clients.tokens.token(b, GRAPH_SCOPE),
              clients.tokens.token(scenario.partner_tenant_id, PARTNER_CENTER_SCOPE)}
    assert len(tokens) == 3
    assert server.request_count("POST", TOKEN_ROUTE) == 3


def test_entra_is_discovered_once_for_every_tenant(clients, server, scenario):
    consented = [t for t in scenario.tenants.values() if t.consent]
    for tenant in consented:
        clients.tokens.token(tenant.id, GRAPH_SCOPE)
    # by a verified domain too: the token endpoint is the one its name gives
    clients.tokens.token(consented[0].domains[0], PARTNER_CENTER_SCOPE)
    assert len(consented) > 2
    assert server.request_count("GET", "entra:openid-configuration") == 1
    assert server.request_count("POST", TOKEN_ROUTE) == len(consented) + 1


def test_an_api_refusing_the_token_gets_a_fresh_one(clients, server, sandbox, scenario):
    tenant = first_consented(scenario)
    assert len(clients.graph.subscribed_skus(tenant.id)) == len(tenant.sku_ids())
    sandbox.revoke_tokens()  # e.g. revoked early: Graph answers 401
    assert len(clients.graph.subscribed_skus(tenant.id)) == len(tenant.sku_ids())
    assert server.request_count("POST", TOKEN_ROUTE) == 2
    assert server.request_count("GET", "graph:subscribedSkus") == 3  # ok, 401, ok


def test_concurrent_callers_share_one_token_request(clients, server, scenario):
    tenant = first_consented(scenario).id
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(clients.tokens.token(tenant, GRAPH_SCOPE)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(results) == 8
    assert server.request_count("POST", TOKEN_ROUTE) == 1


def test_consent_missing(clients, scenario):
    tenant = scenario.unconsented[0]
    with pytest.raises(ConsentMissing) as caught:
        clients.tokens.token(tenant, GRAPH_SCOPE)
    assert "AADSTS700016" in str(caught.value) and tenant in str(caught.value)
    assert caught.value.tenant_id == tenant and caught.value.code == "AADSTS700016"


def test_consent_revoked_after_tokens_were_issued_then_granted_again(clients, scenario):
    tenant = first_consented(scenario)
    clients.graph.subscribed_skus(tenant.id)
    scenario.revoke_consent(tenant.id)
    with pytest.raises(ConsentMissing):
        clients.graph.subscribed_skus(tenant.id)
    scenario.grant_consent(tenant.id)  # the customer's admin consents: the next try works at once
    assert len(clients.graph.subscribed_skus(tenant.id)) == len(tenant.sku_ids())


@pytest.mark.parametrize(("secret", "expired", "code"), [("wrong-secret", False, "AADSTS7000215"),
                                                         (None, True, "AADSTS7000222")])
def test_secret_invalid_or_expired(sandbox, server, scenario, clock, secret, expired, code):
    settings = sandbox.settings(server)
    if secret:
        settings = replace(settings, client_secret=secret)
    scenario.secret_expired = expired
    with (MicrosoftClients.create(settings, sleep=clock.sleep, now=clock.now) as clients,
          pytest.raises(SecretInvalid) as caught):
        clients.tokens.token(first_consented(scenario).id, GRAPH_SCOPE)
    assert caught.value.code == code
    # The secret never reaches a message or a repr.
    assert scenario.client_secret not in str(caught.value) and scenario.client_secret not in repr(settings)
    assert "wrong-secret" not in str(caught.value) and "wrong-secret" not in repr(settings)


def test_unknown_client_id_is_a_missing_consent(sandbox, server, scenario, clock):
    settings = replace(sandbox.settings(server), client_id=str(uuid.UUID(int=9)))
    with MicrosoftClients.create(settings, sleep=clock.sleep, now=clock.now) as clients, pytest.raises(ConsentMissing):
        clients.tokens.token(first_consented(scenario).id, GRAPH_SCOPE)


def test_tenant_not_found(clients):
    missing = str(uuid.UUID(int=3))
    with pytest.raises(TenantNotFound) as caught:
        clients.tokens.token(missing, GRAPH_SCOPE)
    assert "AADSTS90002" in str(caught.value) and missing in str(caught.value)


def test_token_endpoint_throttling_is_retried(clients, server, scenario, clock):
    server.chaos.inject(Fault("status", method="POST", path="/oauth2/v2.0/token", status=429, retry_after=4))
    assert clients.tokens.token(first_consented(scenario).id, GRAPH_SCOPE)
    assert clock.sleeps == [4.0]
    assert server.request_count("POST", TOKEN_ROUTE) == 2


def test_unknown_aadsts_is_a_token_refusal(sandbox, server, clock):
    with (MicrosoftClients.create(sandbox.settings(server), sleep=clock.sleep, now=clock.now) as clients,
          pytest.raises(TokenRefused) as caught):
        clients.tokens.token(sandbox.scenario.partner_tenant_id, "https://example.com/.default")
    assert caught.value.code == "AADSTS500011"
