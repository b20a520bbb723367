"""The HaloPSA sandbox as any HTTP client sees it: Halo's envelopes, paging,
filters, upserts and error shapes (what the adapter does not exercise)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
import requests

from app.sandbox.server import Fault
from tests.halopsa.conftest import CLIENT_ID, SECRET, TENANT


@pytest.fixture
def http(tls):
    with requests.Session() as session:
        session.verify = tls.ca
        session.trust_env = False
        yield session


@pytest.fixture
def bearer(http, server):
    answer = http.post(f"{server.url}/auth/token", params={"tenant": TENANT},
                       data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET,
                             "scope": "all"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["scope"] == "all"
    return {"Authorization": f"Bearer {body['access_token']}"}


def test_token_errors_use_the_oauth_shape(http, server, halo):
    answer = http.post(f"{server.url}/auth/token", params={"tenant": TENANT},
                       data={"grant_type": "password", "client_id": CLIENT_ID, "client_secret": SECRET})
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"
    answer = http.post(f"{server.url}/auth/token", params={"tenant": "fabrikam"},
                       data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_tenant"
    halo.require_tenant = True  # Halo's shared authorisation server
    answer = http.post(f"{server.url}/auth/token", data={"grant_type": "client_credentials"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    answer = http.post(f"{server.url}/auth/token", params={"tenant": TENANT},
                       data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "x"})
    assert answer.status_code == 401 and answer.json() == {
        "error": "invalid_client", "error_description": "The client ID or secret is not valid."}


def test_a_token_without_a_tenant_from_the_instances_own_server(http, server):
    """How clients in use sign in to https://<name>.halopsa.com/auth/token: no tenant parameter."""
    answer = http.post(f"{server.url}/auth/token", data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                                         "client_secret": SECRET, "scope": "all"})
    assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer"


@pytest.mark.parametrize("path", ["/api/AuthInfo", "/api/authinfo"])
def test_auth_info_names_the_authorisation_server_without_a_token(http, server, path):
    answer = http.get(f"{server.url}{path}")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {"auth_url": f"{server.url}/auth", "tenant_id": TENANT}
    info = answer.json()  # what HaloAPI's Connect-HaloAPI does with it
    token = http.post(f"{info['auth_url']}/token", params={"tenant": info["tenant_id"]},
                      data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET})
    assert token.status_code == 200


def test_the_api_needs_a_bearer_token(http, server):
    answer = http.get(f"{server.url}/api/Client")
    assert answer.status_code == 401 and "invalid_token" in answer.headers["WWW-Authenticate"]
    assert answer.headers["Content-Type"] == "application/problem+json" and answer.json()["status"] == 401
    answer = http.get(f"{server.url}/api/Client", headers={"Authorization": "Bearer forged"})
    assert answer.status_code == 401


def test_list_envelope_paging_and_count(http, server, halo, bearer):
    for i in range(7):
        halo.add_client(f"Client {i}")
    url = f"{server.url}/api/Client"
    whole = http.get(url, headers=bearer).json()
    assert whole["record_count"] == 7 and len(whole["clients"]) == 7  # no paging asked: everything
    page = http.get(url, headers=bearer, params={"pageinate": "true", "page_size": 3, "page_no": 3}).json()
    assert page["record_count"] == 7 and [c["name"] for c in page["clients"]] == ["Client 6"]
    beyond = http.get(url, headers=bearer, params={"pageinate": "true", "page_size": 3, "page_no": 9}).json()
    assert beyond == {"record_count": 7, "clients": []}
    capped = http.get(url, headers=bearer, params={"count": 2}).json()
    assert len(capped["clients"]) == 2
    bad = http.get(url, headers=bearer, params={"pageinate": "true", "page_size": "ten"})
    assert bad.status_code == 400 and "page_size" in bad.json()["detail"]


def test_order_and_inactive_filters(http, server, halo, bearer):
    halo.add_client("Beta")
    halo.add_client("alpha")
    halo.add_client("Gamma", inactive=True)
    url = f"{server.url}/api/Client"
    names = [c["name"] for c in http.get(url, headers=bearer, params={"order": "name"}).json()["clients"]]
    assert names == ["alpha", "Beta"]
    every = http.get(url, headers=bearer, params={"includeinactive": "true", "order": "name", "orderdesc": "true"})
    assert [c["name"] for c in every.json()["clients"]] == ["Gamma", "Beta", "alpha"]


def test_azure_tenants_only_when_asked(http, server, halo, bearer):
    cid = halo.add_client("Contoso", azure_tenants=[("tid-1", "contoso.onmicrosoft.com")])
    plain = http.get(f"{server.url}/api/Client", headers=bearer).json()["clients"][0]
    assert "azure_tenants" not in plain
    asked = http.get(f"{server.url}/api/Client", headers=bearer, params={"includeazuretenants": "true"})
    tenant = asked.json()["clients"][0]["azure_tenants"][0]
    assert tenant["azure_tenant_id"] == "tid-1" and tenant["client_id"] == cid


def test_recurring_invoices_with_lines_and_totals(http, server, halo, bearer):
    client = halo.add_client("Contoso")
    contract = halo.add_contract(client, ref="M365", start=date(2024, 1, 1))
    item = halo.add_item("E3", price="36.00")
    halo.add_line(contract, item, 3)
    halo.add_line(contract, item, 2, unit_price="10.0025")  # 20.005: half-up to 20.01
    halo.add_line(contract, item, 9, inactive=True)
    url = f"{server.url}/api/RecurringInvoice"
    bare = http.get(url, headers=bearer, params={"contract_id": contract}).json(parse_float=Decimal)
    invoice = bare["invoices"][0]
    assert "lines" not in invoice and invoice["total"] == Decimal("128.01")  # the inactive line is left out
    full = http.get(url, headers=bearer, params={"contract_id": contract, "includelines": "true"})
    lines = full.json(parse_float=Decimal)["invoices"][0]["lines"]
    assert [line["net_amount"] for line in lines] == [108, Decimal("20.01"), 324]
    assert all(line["contract_id"] == contract for line in lines)
    assert http.get(url, headers=bearer, params={"contract_id": contract + 99}).json()["record_count"] == 0


def test_lines_are_upserted_and_checked(http, server, halo, bearer):
    client = halo.add_client("Contoso")
    contract = halo.add_contract(client, ref="M365", start=date(2024, 1, 1))
    item = halo.add_item("E3", price="36.00")
    line = halo.add_line(contract, item, 3)
    url = f"{server.url}/api/RecurringInvoice/updatelines"
    changed = http.post(url, headers=bearer, data=json.dumps([{"id": line, "qty_order": 4}])).json()
    assert changed["qty_order"] == 4 and changed["net_amount"] == 144 and changed["_itemid"] == item
    ghost_item = http.post(url, headers=bearer, data=json.dumps([{"id": line, "_itemid": 999}]))
    assert ghost_item.status_code == 400 and "Item 999" in ghost_item.json()["detail"]
    no_invoice = http.post(f"{server.url}/api/RecurringInvoice/Lines", headers=bearer,
                           data=json.dumps([{"ihid": 12345, "qty_order": 1}]))
    assert no_invoice.status_code == 400 and "ihid" in no_invoice.json()["detail"]
    text = http.post(url, headers=bearer, data=json.dumps([{"id": line, "qty_order": "4"}]))
    assert text.status_code == 400 and "qty_order" in text.json()["detail"]
    assert halo.line(line)["qty_order"] == Decimal(4)


def test_post_bodies_must_be_arrays_of_json(http, server, bearer):
    url = f"{server.url}/api/Client"
    assert http.post(url, headers=bearer, data=json.dumps({"name": "x"})).status_code == 400
    assert http.post(url, headers=bearer, data="[{").status_code == 400
    assert http.post(url, headers=bearer, data="[]").status_code == 400


def test_unknown_records_and_routes_are_404_problems(http, server, bearer):
    answer = http.get(f"{server.url}/api/ClientContract/4242", headers=bearer)
    assert answer.status_code == 404 and answer.json()["title"] == "Not Found"
    assert http.get(f"{server.url}/api/Nothing", headers=bearer).status_code == 404
    assert http.delete(f"{server.url}/api/RecurringInvoice/4242", headers=bearer).status_code == 404


def test_deleting_a_recurring_invoice_removes_its_lines(http, server, halo, bearer):
    client = halo.add_client("Contoso")
    contract = halo.add_contract(client, ref="M365", start=date(2024, 1, 1))
    halo.add_line(contract, halo.add_item("E3", price="1"), 1)
    invoice = halo.invoice_for(contract)
    assert http.delete(f"{server.url}/api/RecurringInvoice/{invoice['id']}", headers=bearer).status_code == 200
    assert halo.lines() == [] and halo.invoice_for(contract) is None


def test_throttling_answers_429_with_retry_after(http, server, bearer):
    server.chaos.inject(Fault("status", path="/api/Item", status=429, retry_after=3))
    answer = http.get(f"{server.url}/api/Item", headers=bearer)
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"
    assert answer.json()["status"] == 429


def test_the_seeded_instance_reads_through_the_adapter(halo, adapter):
    from app.billing.types import AgreementStatus
    from app.sandbox.halopsa import CATALOGUE, seed

    seeded = seed(halo, 40)
    assert seed(type(halo)(), 40).contracts == seeded.contracts  # the same input, the same instance
    companies = adapter.list_companies()
    assert len(companies) == 40 and companies[0].domains == ("customer0001.example",)
    agreements = adapter.list_agreements()
    assert len(agreements) == 40 + 4 + 2
    assert sum(a.status is AgreementStatus.INACTIVE for a in agreements) == 2
    assert sum(not a.prorates for a in agreements if a.id in {str(c) for c in seeded.contracts.values()}) == 8
    products = adapter.list_products()
    assert len(products) == len(CATALOGUE) + 1 and sum(not p.active for p in products) == 1


def test_users_list_filters_and_pages_as_halo_does(http, server, bearer, halo):
    contoso, fabrikam = halo.add_client("Contoso"), halo.add_client("Fabrikam")
    for n in range(5):
        halo.add_user(contoso, f"User{n}", "Paged", email=f"u{n}@contoso.com", inactive=n == 4)
    halo.add_user(fabrikam, "Dan", "Brown", email="dan@fabrikam.com")

    def listed(**params):
        answer = http.get(f"{server.url}/api/Users", headers=bearer, params=params)
        assert answer.status_code == 200
        return answer.json()

    assert listed(client_id=contoso)["record_count"] == 4  # active users only, as Halo lists them
    everyone = listed(client_id=contoso, includeinactive="true")
    assert everyone["record_count"] == 5 and {u["client_id"] for u in everyone["users"]} == {contoso}
    assert listed(client_id=contoso, includeinactive="true", includeactive="false")["record_count"] == 1
    page = listed(client_id=contoso, includeinactive="true", pageinate="true", page_size=2, page_no=3)
    assert page["record_count"] == 5 and [u["firstname"] for u in page["users"]] == ["User4"]
    assert everyone["users"][0]["name"] == "User0 Paged" and everyone["users"][0]["site_name"] == "Main"


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/api/Users/999999", None, 404),
    ("GET", "/api/Users/bob", None, 400),
    ("POST", "/api/Users", [{"id": 999999, "title": "CEO"}], 404),
    ("POST", "/api/Users", {"client_id": "{client}", "firstname": "A"}, 400),  # not an array
    ("POST", "/api/Users", [{"client_id": 999999, "firstname": "A"}], 400),
    ("POST", "/api/Users", [{"client_id": "{client}"}], 400),  # no name
    ("POST", "/api/Users", [{"client_id": "{client}", "firstname": "A", "emailaddress": "not an address"}], 400),
    ("POST", "/api/Users", [{"id": "{user}", "inactive": "yes"}], 400),
])
def test_user_errors_use_halos_shape_and_change_nothing(http, server, bearer, halo, method, path, body, status):
    client = halo.add_client("Contoso")
    user = halo.add_user(client, "Bob", "Jones", email="bob@contoso.com")
    text = json.dumps(body).replace('"{client}"', str(client)).replace('"{user}"', str(user))
    answer = http.request(method, f"{server.url}{path}", headers={**bearer, "Content-Type": "application/json"},
                          data=text if body is not None else None)
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json()["status"] == status and answer.json()["detail"]
    assert list(halo.users) == [user] and "title" not in halo.users[user]
    assert halo.users[user]["inactive"] is False and halo.users[user]["firstname"] == "Bob"


def test_faults_reach_the_users_endpoint(http, server, bearer, halo):
    client = halo.add_client("Contoso")
    server.chaos.inject(Fault("status", path="/api/Users", status=429, retry_after=2))
    answer = http.get(f"{server.url}/api/Users", headers=bearer, params={"client_id": client})
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "2"
    server.chaos.inject(Fault("status_after", method="POST", path="/api/Users", status=503))
    answer = http.post(f"{server.url}/api/Users", headers=bearer,
                       json=[{"client_id": client, "firstname": "Alice", "surname": "Smith"}])
    assert answer.status_code == 503
    assert [u["name"] for u in halo.users.values()] == ["Alice Smith"]  # applied, the answer lost
