"""An independent client against the ConnectWise sandbox: plain ``requests``, written from
ConnectWise's documentation (APIS.md §B1 and the vendor's schemas, tests/specs), never
seatsync's client. If the sandbox drifts from what ConnectWise documents, this fails even
when seatsync's client has drifted the same way."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.connectwise.spec import validate

COMPANY, PUBLIC, PRIVATE, CLIENT_ID = "seatsync", "sandbox-public", "sandbox-private", "fidelity-tests"


@pytest.fixture
def http(tls):
    with requests.Session() as session:
        session.verify = tls.ca
        session.trust_env = False
        yield session


def basic(company: str, public: str, private: str) -> str:
    return "Basic " + base64.b64encode(f"{company}+{public}:{private}".encode()).decode()


@pytest.fixture
def api(http, server, sandbox):
    """What a ConnectWise client does first: the codebase, then the API base and its headers."""
    sandbox.scenario([(f"Company {i}", [f"c{i}.example"]) for i in range(1, 6)] + [("Contoso Ltd", ["contoso.com"])])
    info = http.get(f"{server.url}/login/companyinfo/{COMPANY}")
    assert info.status_code == 200
    codebase = info.json()["Codebase"]
    assert re.fullmatch(r"v[\d_]+/", codebase)
    http.headers.update({"Authorization": basic(COMPANY, PUBLIC, PRIVATE), "clientId": CLIENT_ID,
                         "Accept": "application/vnd.connectwise.com+json; version=2025.8"})
    return f"{server.url}/{codebase}apis/3.0"


def test_authentication(http, server, api) -> None:
    answer = http.get(f"{api}/company/companies/count")
    assert answer.status_code == 200 and answer.json() == {"count": 6}
    assert answer.headers["Content-Type"].startswith("application/vnd.connectwise.com+json")
    assert http.get(f"{server.url}/v4_6_release/apis/3.0/company/companies/count").status_code == 200  # the alias
    wrong = http.get(f"{api}/company/companies", headers={"Authorization": basic(COMPANY, PUBLIC, "nope")})
    assert wrong.status_code == 401 and set(wrong.json()) >= {"code", "message"}
    validate("ErrorResponseMessage", wrong.json())
    no_client_id = requests.get(f"{api}/company/companies", verify=http.verify,
                                headers={"Authorization": basic(COMPANY, PUBLIC, PRIVATE)})
    assert no_client_id.status_code == 401


def test_a_paged_list_along_the_link_header(http, api) -> None:
    seen, url, params = [], f"{api}/company/companies", {"pageSize": 2, "orderBy": "id asc"}
    while url:
        answer = http.get(url, params=params)
        assert answer.status_code == 200 and len(answer.json()) <= 2
        validate("Company", answer.json(), array=True)
        seen += [c["id"] for c in answer.json()]
        url, params = answer.links.get("next", {}).get("url"), None
        if url:
            assert parse_qs(urlsplit(url).query)["pageSize"] == ["2"]
    assert len(seen) == 6 and seen == sorted(seen)
    forward, url = [], f"{api}/company/companies?pageSize=4"
    while url:
        answer = http.get(url, headers={"pagination-type": "forward-only"})
        forward += [c["id"] for c in answer.json()]
        url = answer.links.get("next", {}).get("url")
        assert url is None or "pageId=" in url
    assert forward == seen


def test_a_filtered_query(http, api, sandbox) -> None:
    answer = http.get(f"{api}/company/companies", params={"conditions": 'name like "Cont*" and deletedFlag=false',
                                                          "fields": "id,name,status/name"})
    assert [c["name"] for c in answer.json()] == ["Contoso Ltd"]
    assert set(answer.json()[0]) == {"id", "name", "status"} and set(answer.json()[0]["status"]) == {"name"}
    contoso = answer.json()[0]["id"]
    agreements = http.get(f"{api}/finance/agreements", params={"conditions": f"company/id={contoso}"}).json()
    assert len(agreements) == 1 and agreements[0]["company"]["id"] == contoso
    validate("Agreement", agreements, array=True)
    sandbox.agreements[agreements[0]["id"]]["_info"]["lastUpdated"] = "2099-02-01T00:00:00Z"
    recent = http.get(f"{api}/finance/agreements", params={"conditions": "lastUpdated > [2099-01-01T00:00:00Z]"})
    assert [a["id"] for a in recent.json()] == [agreements[0]["id"]]
    counted = http.get(f"{api}/procurement/catalog/count", params={"conditions": 'identifier in ("M365-BP","EXO-P1")'})
    assert counted.json() == {"count": 2}


def test_error_answers(http, api) -> None:
    unknown = http.get(f"{api}/company/companies", params={"conditions": 'typeids="1"'})
    assert unknown.status_code == 400
    assert unknown.json() == {"code": "ApiFindCondition", "message": "typeids is not a recognized name."}
    missing = http.get(f"{api}/finance/agreements/999999")
    assert missing.status_code == 404 and missing.json()["code"] == "NotFound"
    agreement = http.get(f"{api}/finance/agreements", params={"pageSize": 1}).json()[0]["id"]
    refused = http.post(f"{api}/finance/agreements/{agreement}/additions", json={"quantity": 3})
    assert refused.status_code == 400
    body = refused.json()
    validate("ErrorResponseMessage", body)
    assert body["code"] == "InvalidObject" and body["errors"][0]["field"] in ("product", "billCustomer")


def test_writes_as_documented(http, api, sandbox) -> None:
    agreement = http.get(f"{api}/finance/agreements", params={"pageSize": 1}).json()[0]["id"]
    product = http.get(f"{api}/procurement/catalog", params={"conditions": 'identifier="M365-BP"'}).json()[0]
    created = http.post(f"{api}/finance/agreements/{agreement}/additions",
                        json={"product": {"id": product["id"]}, "billCustomer": "Billable", "quantity": 3,
                              "effectiveDate": "2025-03-01T00:00:00Z"})
    assert created.status_code == 201
    validate("Addition", created.json())
    path = f"{api}/finance/agreements/{agreement}/additions/{created.json()['id']}"
    patched = http.patch(path, json=[{"op": "replace", "path": "quantity", "value": 5}])
    assert patched.status_code == 200 and patched.json()["quantity"] == 5
    assert http.delete(path).status_code == 204
    assert http.get(path).status_code == 404
