"""Independent clients against the HaloPSA sandbox: plain ``requests``, written from Halo's
documentation (APIS.md §B3, Halo's API guide and its schemas in tests/specs) and from how
the clients in use sign in, never seatsync's client. If the sandbox drifts from Halo,
this fails even when seatsync's client has drifted the same way."""

from __future__ import annotations

import math
from datetime import date

import pytest
import requests

from tests.halopsa.conftest import CLIENT_ID, SECRET, TENANT
from tests.halopsa.spec import errors, schema

FORM = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET, "scope": "all"}


@pytest.fixture
def http(tls):
    with requests.Session() as session:
        session.verify = tls.ca
        session.trust_env = False
        yield session


def test_sign_in_as_the_pypi_halopsa_package_does(http, server):
    """HaloPSA (PyPI) 2.0.2 posts the form to https://<tenant>.halopsa.com/auth/token, no tenant parameter."""
    answer = http.post(f"{server.url}/auth/token", data=FORM,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200
    token = answer.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600 and token["access_token"]
    clients = http.get(f"{server.url}/api/Client", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert clients.status_code == 200 and clients.json() == {"record_count": 0, "clients": []}


def test_sign_in_as_haloapi_does(http, server, halo):
    """HaloAPI's Connect-HaloAPI: GET api/authinfo (no token), then {auth_url}/token?tenant={tenant_id}."""
    info = http.get(f"{server.url}/api/authinfo")
    assert info.status_code == 200
    auth_url, tenant = info.json()["auth_url"], info.json()["tenant_id"]
    answer = http.post(f"{auth_url.rstrip('/')}/token", params={"tenant": tenant}, data=FORM)
    assert answer.status_code == 200 and answer.json()["access_token"]
    halo.require_tenant = True  # Halo's shared authorisation server: the tenant picks the instance
    assert http.post(f"{auth_url}/token", params={"tenant": TENANT}, data=FORM).status_code == 200
    refused = http.post(f"{auth_url}/token", data=FORM)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"


@pytest.fixture
def bearer(http, server):
    token = http.post(f"{server.url}/auth/token", data=FORM).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    return server.url


def test_a_paged_list(http, bearer, halo):
    for i in range(7):
        halo.add_client(f"Client {i}", domains=[f"client{i}.example"])
    seen, page, pages = [], 1, None
    while pages is None or page <= pages:
        answer = http.get(f"{bearer}/api/Client", params={"pageinate": "true", "page_size": 3, "page_no": page})
        body = answer.json()
        pages = math.ceil(body["record_count"] / 3)
        for record in body["clients"]:
            assert errors(schema("Area"), record) == []
        seen += [c["id"] for c in body["clients"]]
        page += 1
    assert pages == 3 and len(seen) == len(set(seen)) == 7
    assert len(http.get(f"{bearer}/api/Client", params={"count": 2}).json()["clients"]) == 2


def test_a_filtered_query(http, bearer, halo):
    contoso = halo.add_client("Contoso", domains=["contoso.com"])
    fabrikam = halo.add_client("Fabrikam")
    contract = halo.add_contract(contoso, ref="M365", start=date(2024, 1, 1))
    halo.add_contract(fabrikam, ref="M365", start=date(2024, 1, 1))
    item = halo.add_item("Microsoft 365 E3", price="36.00")
    halo.add_line(contract, item, 4)
    found = http.get(f"{bearer}/api/Client", params={"search": "conto"}).json()
    assert [c["name"] for c in found["clients"]] == ["Contoso"]
    contracts = http.get(f"{bearer}/api/ClientContract", params={"client_id": contoso}).json()
    assert [c["id"] for c in contracts["contracts"]] == [contract]
    assert errors(schema("ContractHeader_List"), contracts["contracts"][0]) == []
    invoices = http.get(f"{bearer}/api/RecurringInvoice", params={"contract_id": contract, "includelines": "true"})
    [header] = invoices.json()["invoices"]
    assert header["contract_id"] == contract and [line["qty_order"] for line in header["lines"]] == [4]
    assert errors(schema("InvoiceHeader"), header) == []


def test_error_answers(http, server, bearer):
    wrong = http.post(f"{server.url}/auth/token", data={**FORM, "client_secret": "wrong"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    bare = requests.get(f"{server.url}/api/Client", verify=http.verify)
    assert bare.status_code == 401
    missing = http.get(f"{bearer}/api/ClientContract/999999")
    assert missing.status_code == 404
    refused = http.post(f"{bearer}/api/Item", json={"name": "not an array"})
    assert refused.status_code == 400
