"""The HaloPSA client against its sandbox: sign-in, tokens, paging, upserts,
typed errors, throttling and lost answers."""

from __future__ import annotations

from datetime import date

import pytest

from app.sandbox.server import Fault
from app.services.psa.halopsa.client import TOKEN_MARGIN, HaloConfig
from app.services.psa.halopsa.errors import (
    HaloBadCredentials,
    HaloMalformedResponse,
    HaloNotFound,
    HaloPermissionError,
    HaloRequestRejected,
    HaloTenantError,
    HaloTokenRejected,
    HaloUnavailable,
)
from app.services.psa.port import PsaAuthError, PsaNotFound, PsaPermissionError, PsaUnavailable
from tests.halopsa.conftest import SECRET, TENANT


def token_requests(server) -> int:
    return server.request_count("POST", "token")


# -- sign-in and tokens ---------------------------------------------------------


def test_one_token_serves_many_requests(client, server):
    for _ in range(3):
        client.list("/Client", "clients")
    assert token_requests(server) == 1 and client.tokens_issued == 1


def test_the_token_request_is_a_client_credentials_form_naming_the_tenant(client, halo):
    client.list("/Item", "items")
    assert halo.token_requests == [{"tenant": TENANT, "content_type": "application/x-www-form-urlencoded",
                                    "grant_type": "client_credentials", "client_id": "seatsync-app",
                                    "scope": "all"}]
    assert halo.exchanges[0].query.keys() >= {"pageinate"}


def test_a_token_is_renewed_shortly_before_it_expires(client, server, clock):
    client.list("/Client", "clients")
    clock.advance(3600 - TOKEN_MARGIN - 1)
    client.list("/Client", "clients")
    assert token_requests(server) == 1
    clock.advance(2)
    client.list("/Client", "clients")
    assert token_requests(server) == 2


def test_a_401_renews_the_token_once_and_the_request_succeeds(client, server, halo):
    halo.add_client("Contoso")
    client.list("/Client", "clients")
    halo.revoke_tokens()  # e.g. the application's secret was rotated in Halo, or Halo restarted
    assert [c["name"] for c in client.list("/Client", "clients")] == ["Contoso"]
    assert token_requests(server) == 2


def test_an_expired_token_on_the_server_side_is_renewed(client, server, halo, clock):
    halo.token_lifetime = 30  # shorter than the client's renewal margin: every call renews
    client.list("/Client", "clients")
    clock.advance(31)
    client.list("/Client", "clients")
    assert token_requests(server) == 2


def test_a_write_refused_with_401_is_sent_again_once(client, server, halo):
    client.list("/Client", "clients")
    halo.revoke_tokens()
    saved = client.post("/Client", [{"name": "Northwind"}])
    assert saved[0]["name"] == "Northwind" and len(halo.clients) == 1


def test_a_401_that_persists_is_a_typed_error(client, server):
    server.chaos.inject(Fault("status", method="GET", path="/api/Client", status=401, times=2))
    with pytest.raises(HaloTokenRejected):
        client.list("/Client", "clients")
    assert token_requests(server) == 2


def test_a_wrong_secret_is_a_credentials_error_without_the_secret(make_client):
    client = make_client(secret="not-the-secret")
    with pytest.raises(HaloBadCredentials) as caught:
        client.list("/Client", "clients")
    assert isinstance(caught.value, PsaAuthError)
    assert "not-the-secret" not in str(caught.value) and "Configuration > Integrations" in str(caught.value)


def test_an_unknown_client_id_is_a_credentials_error(make_client):
    with pytest.raises(HaloBadCredentials):
        make_client(client_id="someone-else").list("/Client", "clients")


def test_an_empty_secret_is_refused_before_any_request(make_client):
    with pytest.raises(HaloBadCredentials):
        make_client(secret="")


def test_a_missing_tenant_is_named_by_the_shared_authorisation_server(make_client, halo):
    halo.require_tenant = True  # Halo's shared authorisation server: the tenant picks the instance
    with pytest.raises(HaloTenantError) as caught:
        make_client(tenant=None).list("/Client", "clients")
    assert "tenant" in str(caught.value)


def test_a_wrong_tenant_is_named(make_client):
    with pytest.raises(HaloTenantError) as caught:
        make_client(tenant="fabrikam").list("/Client", "clients")
    assert "fabrikam" in str(caught.value)


def test_an_instances_own_authorisation_server_needs_no_tenant(make_client, halo):
    """https://<name>.halopsa.com/auth/token and a self-hosted /auth/token: no ?tenant= (the default)."""
    assert make_client(tenant=None).list("/Client", "clients") == []
    assert halo.token_requests[-1]["tenant"] is None


def test_a_scope_not_granted_is_a_permission_error(make_client, halo):
    halo.add_app("reader", "r-secret", scopes="read:customers")
    with pytest.raises(HaloPermissionError):
        make_client(client_id="reader", secret="r-secret", scope="all").list("/Client", "clients")


def test_a_read_only_application_cannot_write(make_client, halo):
    halo.add_app("reader", "r-secret", scopes="read:customers read:items")
    client = make_client(client_id="reader", secret="r-secret", scope="read:customers read:items")
    assert client.list("/Client", "clients") == []
    with pytest.raises(HaloPermissionError) as caught:
        client.post("/Client", [{"name": "Northwind"}])
    assert isinstance(caught.value, PsaPermissionError) and "POST /Client" in str(caught.value)
    with pytest.raises(PsaPermissionError):
        client.list("/RecurringInvoice", "invoices")


def test_secrets_stay_out_of_reprs():
    config = HaloConfig(api_url="https://acme.halopsa.com", client_id="id", client_secret=SECRET, tenant="acme")
    assert SECRET not in repr(config)


def test_addresses_are_derived_from_the_resource_server():
    config = HaloConfig(api_url="https://acme.halopsa.com/", client_id="i", client_secret="s")
    assert config.api_base == "https://acme.halopsa.com/api"
    assert config.token_url == "https://acme.halopsa.com/auth/token"
    both = HaloConfig(api_url="https://halo.example/api", auth_url="https://login.example/auth/",
                      client_id="i", client_secret="s")
    assert both.api_base == "https://halo.example/api" and both.token_url == "https://login.example/auth/token"


# -- paging -------------------------------------------------------------------------


def test_lists_are_read_page_by_page(make_client, halo, server):
    for i in range(250):
        halo.add_client(f"Client {i:03}")
    client = make_client(page_size=100)
    server.reset_counts()
    clients = client.list("/Client", "clients")
    assert [c["name"] for c in clients] == [f"Client {i:03}" for i in range(250)]
    assert server.request_count("GET", "GET Client") == 3
    pages = [x.query for x in halo.exchanges if x.path == "/api/Client"]
    assert [(q["pageinate"], q["page_size"], q["page_no"]) for q in pages] == [
        (["true"], ["100"], ["1"]), (["true"], ["100"], ["2"]), (["true"], ["100"], ["3"])]


def test_an_exact_multiple_of_the_page_size_stops_on_the_record_count(make_client, halo, server):
    for i in range(200):
        halo.add_item(f"Item {i}", price="1.00")
    client = make_client(page_size=100)
    server.reset_counts()
    assert len(client.list("/Item", "items")) == 200
    assert server.request_count("GET", "GET Item") == 2


def test_filters_reach_the_server(client, halo):
    a = halo.add_client("Contoso")
    b = halo.add_client("Fabrikam")
    halo.add_contract(a, ref="A", start=date(2024, 1, 1))
    halo.add_contract(b, ref="B", start=date(2024, 1, 1))
    assert [c["ref"] for c in client.list("/ClientContract", "contracts", {"client_id": b})] == ["B"]
    assert [c["name"] for c in client.list("/Client", "clients", {"search": "fab"})] == ["Fabrikam"]


def test_a_page_without_its_envelope_is_malformed(client, halo):
    with pytest.raises(HaloMalformedResponse) as caught:
        client.list("/Client", "items")  # the wrong collection key
    assert "'items'" in str(caught.value)


# -- upserts and deletes ----------------------------------------------------------------


def test_post_without_id_creates_and_with_id_updates(client, halo):
    created = client.post("/Client", [{"name": "Northwind", "domain": "northwind.example"}])[0]
    assert isinstance(created["id"], int) and halo.clients[created["id"]]["name"] == "Northwind"
    updated = client.post("/Client", [{"id": created["id"], "name": "Northwind Traders"}])[0]
    assert updated["id"] == created["id"] and updated["domain"] == "northwind.example"
    assert [c["name"] for c in halo.clients.values()] == ["Northwind Traders"]


def test_several_objects_in_one_post(client, halo):
    saved = client.post("/Item", [{"name": "A", "baseprice": 1}, {"name": "B", "baseprice": 2}])
    assert [s["name"] for s in saved] == ["A", "B"] and len(halo.items) == 2


def test_updating_a_missing_record_is_not_found(client):
    with pytest.raises(HaloNotFound) as caught:
        client.post("/Item", [{"id": 424242, "name": "ghost"}])
    assert isinstance(caught.value, PsaNotFound)


def test_an_invalid_record_is_refused_with_halos_reason(client):
    with pytest.raises(HaloRequestRejected) as caught:
        client.post("/ClientContract", [{"ref": "no client"}])
    assert "valid client" in str(caught.value)


def test_delete_by_id(client, halo):
    item = client.post("/Item", [{"name": "Old", "baseprice": 1}])[0]
    client.delete("/Item", item["id"])
    with pytest.raises(HaloNotFound):
        client.get("/Item", item["id"])
    with pytest.raises(HaloNotFound):
        client.delete("/Item", item["id"])


def test_a_non_numeric_id_is_not_found_without_a_request(client, server):
    server.reset_counts()
    with pytest.raises(HaloNotFound):
        client.get("/Client", "abc")
    assert server.request_count() == 0


# -- throttling, faults, lost answers ---------------------------------------------------


def test_429_is_retried_after_retry_after(client, server, waits):
    server.chaos.inject(Fault("status", method="GET", path="/api/Item", status=429, retry_after=7))
    assert client.list("/Item", "items") == []
    assert waits == [7.0]


def test_a_read_that_fails_with_503_is_retried(client, server):
    server.chaos.inject(Fault("status", method="GET", path="/api/Item", status=503))
    assert client.list("/Item", "items") == []


def test_persistent_throttling_is_unavailable_and_not_applied(client, server):
    server.chaos.inject(Fault("status", method="POST", path="/api/Item", status=429, times=5))
    with pytest.raises(HaloUnavailable) as caught:
        client.post("/Item", [{"name": "A"}])
    assert caught.value.maybe_applied is False


def test_a_write_whose_answer_is_lost_may_have_been_applied(client, server, halo):
    client.list("/Client", "clients")
    server.chaos.inject(Fault("drop_after", method="POST", path="/api/Client"))
    with pytest.raises(PsaUnavailable) as caught:
        client.post("/Client", [{"name": "Northwind"}])
    assert caught.value.maybe_applied is True
    assert [c["name"] for c in halo.clients.values()] == ["Northwind"]  # applied, answer lost
    assert server.request_count("POST", "/api/Client") == 1  # never blindly sent again


def test_a_lost_answer_to_a_read_is_retried(client, server, halo):
    halo.add_client("Contoso")
    client.list("/Client", "clients")
    server.chaos.inject(Fault("drop_after", method="GET", path="/api/Client"))
    assert [c["name"] for c in client.list("/Client", "clients")] == ["Contoso"]


def test_a_server_error_on_a_write_may_have_been_applied(client, server):
    server.chaos.inject(Fault("status_after", method="POST", path="/api/Item", status=500))
    with pytest.raises(HaloUnavailable) as caught:
        client.post("/Item", [{"name": "A"}])
    assert caught.value.maybe_applied is True
