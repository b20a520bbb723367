"""The sandbox as clients other than seatsync's see it: plain msal, and requests written from APIS.md.

Where third-party clients and the sandbox could disagree, the sandbox answers as the live APIs do:
/users/$count (text/plain with ConsistencyLevel: eventual, 400 without), /users/{id} (404
Request_ResourceNotFound for an unknown id), $count=true ignored without the header, and Partner Center's
size=0 (what Microsoft's .NET SDK sends for a plain listing) read as the default page size.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import quote

import jsonschema
import msal
import pytest
import requests

from app.sandbox.microsoft import MicrosoftSandbox
from app.sandbox.server import SandboxServer
from tests.microsoft import schemas
from tests.microsoft.conftest import first_consented

GRAPH = "https://graph.microsoft.com/.default"
PC = "https://api.partnercenter.microsoft.com/.default"


@pytest.fixture
def http(server: SandboxServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.verify = server.tls.ca  # type: ignore[union-attr]
        session.trust_env = False  # REQUESTS_CA_BUNDLE must not override the test CA (APIS.md §F)
        yield session


def msal_app(sandbox: MicrosoftSandbox, server: SandboxServer, http: requests.Session, tenant: str,
             secret: str | None = None) -> msal.ConfidentialClientApplication:
    """msal as any app would build it: the sandbox is only the authority's host."""
    return msal.ConfidentialClientApplication(
        sandbox.scenario.client_id, client_credential=secret or sandbox.scenario.client_secret,
        authority=f"{server.url}/{tenant}", instance_discovery=False, http_client=http)


def bearer(sandbox: MicrosoftSandbox, server: SandboxServer, http: requests.Session, tenant: str,
           scope: str = GRAPH) -> dict[str, str]:
    result = msal_app(sandbox, server, http, tenant).acquire_token_for_client(scopes=[scope])
    assert "access_token" in result, result
    return {"Authorization": f"Bearer {result['access_token']}"}


# -- msal -------------------------------------------------------------------------------------------------------


def test_plain_msal_gets_tokens_from_the_sandbox_and_caches_them(http, server, sandbox, scenario):
    tenant = first_consented(scenario).id
    app = msal_app(sandbox, server, http, tenant)
    first = app.acquire_token_for_client(scopes=[GRAPH])
    assert first["token_type"] == "Bearer" and first["expires_in"] > 3000
    assert first.get("token_source") == "identity_provider"
    again = app.acquire_token_for_client(scopes=[GRAPH])
    assert again["access_token"] == first["access_token"] and again.get("token_source") == "cache"
    assert server.request_count("POST", "entra:token") == 1
    partner = msal_app(sandbox, server, http, scenario.partner_tenant_id).acquire_token_for_client(scopes=[PC])
    response = http.get(f"{server.url}/v1/customers", headers={"Authorization": f"Bearer {partner['access_token']}"})
    assert response.status_code == 200


@pytest.mark.parametrize(("case", "code"), [("unconsented", 700016), ("wrong secret", 7000215)])
def test_plain_msal_reads_the_sandboxs_refusals(http, server, sandbox, scenario, case, code):
    tenant = scenario.unconsented[0] if case == "unconsented" else first_consented(scenario).id
    secret = "wrong" if case == "wrong secret" else None
    result = msal_app(sandbox, server, http, tenant, secret).acquire_token_for_client(scopes=[GRAPH])
    assert "access_token" not in result
    assert result["error_codes"] == [code] and result["error_description"].startswith(f"AADSTS{code}: ")


# -- Graph, with requests --------------------------------------------------------------------------------------


def test_requests_pages_a_filtered_users_query_by_next_link(http, server, sandbox, scenario):
    tenant = first_consented(scenario, min_users=5)
    scenario.add_users(tenant.id, 30)
    auth = bearer(sandbox, server, http, tenant.id)
    url: str | None = f"{server.url}/v1.0/users"
    params: dict[str, str] | None = {"$filter": "accountEnabled eq true", "$select": "id,accountEnabled",
                                     "$top": "7"}
    seen: list[str] = []
    while url:
        body = http.get(url, headers=auth, params=params).json()
        params = None  # the nextLink carries the query
        assert all(u["accountEnabled"] is True for u in body["value"])
        seen += [u["id"] for u in body["value"]]
        url = body.get("@odata.nextLink")
    assert sorted(seen) == sorted(u.id for u in tenant.users if u.enabled)


def test_users_count_needs_consistency_level_eventual(http, server, sandbox, scenario):
    tenant = first_consented(scenario)
    auth = bearer(sandbox, server, http, tenant.id)
    counted = http.get(f"{server.url}/v1.0/users/$count", headers={**auth, "ConsistencyLevel": "eventual"})
    assert counted.status_code == 200
    assert counted.headers["Content-Type"].startswith("text/plain")
    assert counted.text == str(len(tenant.users))
    # The segment percent-encoded, and with a filter (the usual one-call count of enabled members).
    enabled = http.get(f"{server.url}/v1.0/users/%24count?$filter=accountEnabled eq true",
                       headers={**auth, "ConsistencyLevel": "eventual"})
    assert enabled.text == str(sum(1 for u in tenant.users if u.enabled))

    refused = http.get(f"{server.url}/v1.0/users/$count", headers=auth)
    assert refused.status_code == 400
    jsonschema.validate(refused.json(), schemas.GRAPH_ERROR)
    assert refused.json()["error"]["code"] == "Request_BadRequest"
    assert refused.json()["error"]["message"] == "$count is not currently supported."


def test_count_true_is_ignored_without_consistency_level(http, server, sandbox, scenario):
    tenant = first_consented(scenario)
    auth = bearer(sandbox, server, http, tenant.id)
    plain = http.get(f"{server.url}/v1.0/users?$count=true&$top=999", headers=auth)
    assert plain.status_code == 200 and "@odata.count" not in plain.json()
    advanced = http.get(f"{server.url}/v1.0/users?$count=true&$top=1",
                        headers={**auth, "ConsistencyLevel": "eventual"}).json()
    assert advanced["@odata.count"] == len(tenant.users) and len(advanced["value"]) == 1


def test_one_user_by_id_or_upn_and_an_unknown_one_is_404(http, server, sandbox, scenario):
    tenant = first_consented(scenario, min_users=1)
    auth = bearer(sandbox, server, http, tenant.id)
    user = tenant.users[0]
    by_id = http.get(f"{server.url}/v1.0/users/{user.id}", headers=auth)
    assert by_id.status_code == 200
    body = by_id.json()
    assert body.pop("@odata.context") == "https://graph.microsoft.com/v1.0/$metadata#users/$entity"
    jsonschema.validate(body, schemas.user(["businessPhones", "displayName", "givenName", "jobTitle", "mail",
                                            "mobilePhone", "officeLocation", "preferredLanguage", "surname",
                                            "userPrincipalName", "id"]))
    by_upn = http.get(f"{server.url}/v1.0/users/{quote(user.upn.upper())}?$select=id,assignedLicenses",
                      headers=auth).json()
    assert by_upn["id"] == user.id and sorted(a["skuId"] for a in by_upn["assignedLicenses"]) == sorted(user.sku_ids)
    assert by_upn["@odata.context"].endswith("#users(id,assignedLicenses)/$entity")

    missing = str(uuid.UUID(int=77))
    unknown = http.get(f"{server.url}/v1.0/users/{missing}", headers=auth)
    assert unknown.status_code == 404
    jsonschema.validate(unknown.json(), schemas.GRAPH_ERROR)
    assert unknown.json()["error"]["code"] == "Request_ResourceNotFound"
    assert unknown.json()["error"]["message"] == (f"Resource '{missing}' does not exist or one of its queried "
                                                  "reference-property objects are not present.")
    # Another tenant's user is unknown here too.
    other = next(t for t in scenario.tenants.values() if t.consent and t.id != tenant.id and t.users)
    assert http.get(f"{server.url}/v1.0/users/{other.users[0].id}", headers=auth).status_code == 404


# -- Partner Center, with requests ------------------------------------------------------------------------------


def test_size_zero_is_the_default_page_and_continuation_reads_the_rest(http, server, sandbox, scenario):
    sandbox.customers_page_default = 5
    pc = {**bearer(sandbox, server, http, scenario.partner_tenant_id, PC),
          "MS-RequestId": str(uuid.uuid4()), "MS-CorrelationId": str(uuid.uuid4())}
    first = http.get(f"{server.url}/v1/customers?size=0", headers=pc)
    assert first.status_code == 200
    body = first.json()
    jsonschema.validate(body, schemas.CUSTOMERS)
    assert len(body["items"]) == 5 and body["continuationToken"]
    ids = [c["id"] for c in body["items"]]
    while "continuationToken" in body:
        body = http.get(f"{server.url}/v1/customers?size=0&seekOperation=Next",
                        headers={**pc, "MS-ContinuationToken": body["continuationToken"]}).json()
        ids += [c["id"] for c in body["items"]]
    assert sorted(ids) == sorted(scenario.tenants)
    for size in ("-1", "501", "ten"):
        refused = http.get(f"{server.url}/v1/customers?size={size}", headers=pc)
        assert refused.status_code == 400 and refused.json()["code"] == "3000"
        jsonschema.validate(refused.json(), schemas.PC_ERROR)


def test_requests_reads_partner_center_errors(http, server, sandbox, scenario):
    pc = bearer(sandbox, server, http, scenario.partner_tenant_id, PC)
    unknown = http.get(f"{server.url}/v1/customers/{uuid.UUID(int=5)}/subscriptions", headers=pc)
    assert unknown.status_code == 404 and unknown.json()["code"] == "60003"
    jsonschema.validate(unknown.json(), schemas.PC_ERROR)
