"""The sandbox answers in Microsoft's shapes (APIS.md §A1/§A2/§E), checked with plain HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import requests

from app.sandbox.microsoft import MicrosoftSandbox
from app.sandbox.server import Fault, SandboxServer
from tests.microsoft import schemas
from tests.microsoft.conftest import FakeClock, first_consented

GRAPH = "https://graph.microsoft.com/.default"
PC = "https://api.partnercenter.microsoft.com/.default"


@pytest.fixture
def http(server: SandboxServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.verify = server.tls.ca  # type: ignore[union-attr]
        session.trust_env = False  # REQUESTS_CA_BUNDLE must not override the test CA (APIS.md §F)
        yield session


def token_form(sandbox: MicrosoftSandbox, scope: str = GRAPH, **changes: str) -> dict[str, str]:
    form = {"client_id": sandbox.scenario.client_id, "client_secret": sandbox.scenario.client_secret,
            "grant_type": "client_credentials", "scope": scope}
    form.update(changes)
    return {k: v for k, v in form.items() if v != "-"}


def get_token(http: requests.Session, server: SandboxServer, sandbox: MicrosoftSandbox, tenant: str,
              scope: str = GRAPH) -> str:
    response = http.post(f"{server.url}/{tenant}/oauth2/v2.0/token", data=token_form(sandbox, scope))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def check(schema: dict, body: object) -> None:
    jsonschema.validate(body, schema)


# -- Entra ID -----------------------------------------------------------------------


def test_discovery_and_token_shapes(http, server, sandbox, scenario):
    tenant = first_consented(scenario)
    config = http.get(f"{server.url}/{tenant.id}/v2.0/.well-known/openid-configuration")
    assert config.status_code == 200
    check(schemas.OPENID_CONFIGURATION, config.json())
    assert config.json()["token_endpoint"] == f"{server.url}/{tenant.id}/oauth2/v2.0/token"
    # A verified domain names the tenant too; the endpoints then carry its GUID.
    by_domain = http.get(f"{server.url}/{tenant.domains[0]}/v2.0/.well-known/openid-configuration").json()
    assert by_domain["token_endpoint"].endswith(f"/{tenant.id}/oauth2/v2.0/token")

    response = http.post(config.json()["token_endpoint"], data=token_form(sandbox))
    assert response.status_code == 200
    check(schemas.TOKEN, response.json())
    assert response.json()["expires_in"] == 3599


@pytest.mark.parametrize("shared", ["organizations", "common"])
def test_the_shared_discovery_names_no_tenant(http, server, shared):
    config = http.get(f"{server.url}/{shared}/v2.0/.well-known/openid-configuration")
    assert config.status_code == 200
    check(schemas.OPENID_CONFIGURATION, config.json())
    assert config.json()["token_endpoint"] == f"{server.url}/{shared}/oauth2/v2.0/token"
    assert config.json()["issuer"] == f"{server.url}/{{tenantid}}/v2.0"


@pytest.mark.parametrize(("tenant_kind", "changes", "status", "code"), [
    ("unknown", {}, 400, 90002),
    ("ok", {"grant_type": "password"}, 400, 70003),
    ("ok", {"grant_type": "-"}, 400, 900144),
    ("ok", {"scope": "https://graph.microsoft.com/User.Read.All"}, 400, 1002012),
    ("ok", {"scope": "https://example.com/.default"}, 400, 500011),
    ("ok", {"client_id": str(uuid.UUID(int=7))}, 400, 700016),
    ("unconsented", {}, 400, 700016),
    ("ok", {"client_secret": "-"}, 401, 7000218),
    ("ok", {"client_secret": "wrong"}, 401, 7000215),
])
def test_token_errors_are_aadsts_shaped(http, server, sandbox, scenario, tenant_kind, changes, status, code):
    tenant = {"unknown": str(uuid.UUID(int=1)), "ok": first_consented(scenario).id,
              "unconsented": scenario.unconsented[0]}[tenant_kind]
    response = http.post(f"{server.url}/{tenant}/oauth2/v2.0/token", data=token_form(sandbox, **changes))
    assert response.status_code == status
    check(schemas.ENTRA_ERROR, response.json())
    assert response.json()["error_codes"] == [code]
    assert sandbox.scenario.client_secret not in response.text


def test_expired_secret_and_form_encoding(http, server, sandbox, scenario):
    tenant = first_consented(scenario).id
    scenario.secret_expired = True
    expired = http.post(f"{server.url}/{tenant}/oauth2/v2.0/token", data=token_form(sandbox))
    assert (expired.status_code, expired.json()["error_codes"]) == (401, [7000222])
    as_json = http.post(f"{server.url}/{tenant}/oauth2/v2.0/token", json=token_form(sandbox))
    assert as_json.status_code == 400 and as_json.json()["error_codes"] == [900144]


def test_unknown_tenant_discovery(http, server):
    response = http.get(f"{server.url}/nosuch.example/v2.0/.well-known/openid-configuration")
    assert response.status_code == 400
    check(schemas.ENTRA_ERROR, response.json())
    assert response.json()["error_codes"] == [90002]


# -- Graph --------------------------------------------------------------------------


def test_graph_collections_match_the_resource_tables(http, server, sandbox, scenario):
    tenant = first_consented(scenario, min_users=3)
    auth = {"Authorization": f"Bearer {get_token(http, server, sandbox, tenant.id)}", "client-request-id": "abc"}
    skus = http.get(f"{server.url}/v1.0/subscribedSkus", headers=auth)
    assert skus.status_code == 200
    check(schemas.collection(schemas.SUBSCRIBED_SKU, r"\$metadata#subscribedSkus$"), skus.json())
    assert skus.json()["value"] and all(s["accountId"] == tenant.id for s in skus.json()["value"])
    for header in ("request-id", "client-request-id", "x-ms-ags-diagnostic", "x-ms-resource-unit"):
        assert header in skus.headers
    assert skus.headers["client-request-id"] == "abc"
    assert skus.headers["x-ms-resource-unit"] == "3"

    subs = http.get(f"{server.url}/v1.0/directory/subscriptions", headers=auth)
    check(schemas.collection(schemas.COMPANY_SUBSCRIPTION, r"#directory/subscriptions$"), subs.json())
    linked = {i for s in skus.json()["value"] for i in s["subscriptionIds"]}
    assert linked <= {s["id"] for s in subs.json()["value"]}

    default = http.get(f"{server.url}/v1.0/users", headers=auth).json()
    check(schemas.collection(schemas.user(["businessPhones", "displayName", "givenName", "jobTitle", "mail",
                                           "mobilePhone", "officeLocation", "preferredLanguage", "surname",
                                           "userPrincipalName", "id"]), r"#users$"), default)
    assert all("assignedLicenses" not in u for u in default["value"])  # only when selected

    fields = ["id", "userPrincipalName", "accountEnabled", "assignedLicenses"]
    chosen = http.get(f"{server.url}/v1.0/users?$select={','.join(fields)}", headers=auth).json()
    check(schemas.collection(schemas.user(fields), r"#users\(id,userPrincipalName,accountEnabled,assignedLicenses\)$"),
          chosen)


def test_users_paging_keeps_select_and_filter(http, server, sandbox, scenario):
    tenant = first_consented(scenario, min_users=5)
    sku = tenant.users[0].sku_ids[0]
    holders = {u.id for u in tenant.users if sku in u.sku_ids}
    auth = {"Authorization": f"Bearer {get_token(http, server, sandbox, tenant.id)}"}
    url = (f"{server.url}/v1.0/users?$select=id,assignedLicenses&$top=2"
           f"&$filter=assignedLicenses/any(x:x/skuId eq {sku})")
    seen: list[str] = []
    pages = 0
    while url:
        body = http.get(url, headers=auth).json()
        pages += 1
        seen += [u["id"] for u in body["value"]]
        assert all(set(u) == {"id", "assignedLicenses"} for u in body["value"])
        url = body.get("@odata.nextLink")
        if url:
            query = parse_qs(urlsplit(url).query)
            assert query["$select"] == ["id,assignedLicenses"] and query["$top"] == ["2"]
            assert query["$filter"] == [f"assignedLicenses/any(x:x/skuId eq {sku})"]
            assert urlsplit(url).netloc == urlsplit(server.url).netloc
    assert sorted(seen) == sorted(holders) and len(seen) == len(set(seen))
    assert pages == -(-len(holders) // 2)


@pytest.mark.parametrize(("query", "code"), [
    ("$top=1000", "Request_UnsupportedQuery"),
    ("$top=0", "Request_UnsupportedQuery"),
    ("$select=nosuchfield", "Request_BadRequest"),
    ("$filter=endsWith(mail,'x.com')", "Request_UnsupportedQuery"),
    ('$search="displayName:ada"', "Request_UnsupportedQuery"),  # without ConsistencyLevel: eventual
    ("$skiptoken=forged", "Directory_ExpiredPageToken"),
])
def test_users_bad_queries(http, server, sandbox, scenario, query, code):
    auth = {"Authorization": f"Bearer {get_token(http, server, sandbox, first_consented(scenario).id)}"}
    response = http.get(f"{server.url}/v1.0/users?{query}", headers=auth)
    assert response.status_code == 400
    check(schemas.GRAPH_ERROR, response.json())
    assert response.json()["error"]["code"] == code
    if "top=1000" in query:
        assert "Must be between 1 and 999 inclusive" in response.json()["error"]["message"]


def test_subscribed_skus_refuses_filter(http, server, sandbox, scenario):
    auth = {"Authorization": f"Bearer {get_token(http, server, sandbox, first_consented(scenario).id)}"}
    response = http.get(f"{server.url}/v1.0/subscribedSkus?$filter=capabilityStatus eq 'Enabled'", headers=auth)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_bearer_is_checked_and_bound_to_its_tenant(http, server, sandbox, scenario, clock: FakeClock):
    a, b = [t for t in scenario.tenants.values() if t.consent][:2]
    for header in ({}, {"Authorization": "Bearer nonsense"},
                   {"Authorization": f"Bearer {get_token(http, server, sandbox, a.id, PC)}"}):
        response = http.get(f"{server.url}/v1.0/users", headers=header)
        assert response.status_code == 401
        check(schemas.GRAPH_ERROR, response.json())
        assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    for tenant in (a, b):
        auth = {"Authorization": f"Bearer {get_token(http, server, sandbox, tenant.id)}"}
        ids = {u["id"] for u in http.get(f"{server.url}/v1.0/users?$top=999", headers=auth).json()["value"]}
        assert ids == {u.id for u in tenant.users}
    clock.advance(3600)  # the token outlives its lifetime
    expired = http.get(f"{server.url}/v1.0/users", headers=auth)
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]


def test_lapsed_gdap_is_403_authorization_request_denied(http, server, sandbox, scenario):
    tenant = first_consented(scenario)
    auth = {"Authorization": f"Bearer {get_token(http, server, sandbox, tenant.id)}"}
    scenario.expire_gdap(tenant.id)
    response = http.get(f"{server.url}/v1.0/subscribedSkus", headers=auth)
    assert response.status_code == 403
    check(schemas.GRAPH_ERROR, response.json())
    assert response.json()["error"]["code"] == "Authorization_RequestDenied"


def test_graph_throttling_shape(http, server, sandbox, scenario):
    auth = {"Authorization": f"Bearer {get_token(http, server, sandbox, first_consented(scenario).id)}"}
    server.chaos.inject(Fault("status", path="/v1.0/users", status=429, retry_after=7))
    response = http.get(f"{server.url}/v1.0/users", headers=auth)
    assert response.status_code == 429
    check(schemas.GRAPH_ERROR, response.json())
    assert response.json()["error"]["code"] == "TooManyRequests"
    assert response.headers["Retry-After"] == "7"
    assert response.headers["x-ms-throttle-scope"].startswith("Tenant_Application/")
    assert response.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"


# -- Partner Center -------------------------------------------------------------------


def test_partner_center_shapes_and_seek_paging(http, server, sandbox, scenario):
    pc = {"Authorization": f"Bearer {get_token(http, server, sandbox, scenario.partner_tenant_id, PC)}",
          "MS-RequestId": str(uuid.uuid4()), "MS-CorrelationId": str(uuid.uuid4())}
    first = http.get(f"{server.url}/v1/customers?size=5", headers=pc)
    assert first.status_code == 200
    check(schemas.CUSTOMERS, first.json())
    assert first.headers["MS-RequestId"] == pc["MS-RequestId"]
    assert first.headers["MS-CorrelationId"] == pc["MS-CorrelationId"]
    ids = [c["id"] for c in first.json()["items"]]
    body = first.json()
    while "continuationToken" in body:
        nxt = body["links"]["next"]
        assert nxt["headers"] == [{"key": "MS-ContinuationToken", "value": body["continuationToken"]}]
        response = http.get(f"{server.url}/v1{nxt['uri']}",
                            headers={**pc, "MS-ContinuationToken": body["continuationToken"]})
        check(schemas.CUSTOMERS, response.json())
        body = response.json()
        ids += [c["id"] for c in body["items"]]
    assert sorted(ids) == sorted(scenario.tenants) and len(ids) == len(set(ids))
    missing_token = http.get(f"{server.url}/v1/customers?size=5&seekOperation=Next", headers=pc)
    assert missing_token.status_code == 400
    check(schemas.PC_ERROR, missing_token.json())

    tenant = first_consented(scenario)
    one = http.get(f"{server.url}/v1/customers/{tenant.id}", headers=pc).json()
    check(schemas.CUSTOMER, one)
    assert one["allowDelegatedAccess"] is True
    subs = http.get(f"{server.url}/v1/customers/{tenant.id}/subscriptions", headers=pc)
    check(schemas.SUBSCRIPTIONS, subs.json())
    assert {s["id"] for s in subs.json()["items"]} == {s.id for s in tenant.subscriptions if s.in_partner_center}


def test_partner_center_errors(http, server, sandbox, scenario):
    pc = {"Authorization": f"Bearer {get_token(http, server, sandbox, scenario.partner_tenant_id, PC)}"}
    unknown = http.get(f"{server.url}/v1/customers/{uuid.UUID(int=5)}/subscriptions", headers=pc)
    assert unknown.status_code == 404 and unknown.json()["code"] == "60003"
    check(schemas.PC_ERROR, unknown.json())
    tenant = first_consented(scenario)
    scenario.end_reseller_relationship(tenant.id)
    denied = http.get(f"{server.url}/v1/customers/{tenant.id}/subscriptions", headers=pc)
    assert denied.status_code == 403 and denied.json()["code"] == "20002"
    check(schemas.PC_ERROR, denied.json())
    graph_token = get_token(http, server, sandbox, tenant.id)
    wrong = http.get(f"{server.url}/v1/customers", headers={"Authorization": f"Bearer {graph_token}"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("OAuth realm=urn:cpsvc:cpid:")
    check(schemas.PC_ERROR, wrong.json())
    server.chaos.inject(Fault("status", path="/v1/customers", status=429, retry_after=57))
    throttled = http.get(f"{server.url}/v1/customers", headers=pc)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "57"
    check(schemas.PC_THROTTLED, throttled.json())
    assert throttled.json()["message"] == "Rate limit is exceeded. Try again in 57 seconds."


def test_users_default_page_is_100(http, server, sandbox, scenario):
    tenant = first_consented(scenario)
    scenario.add_users(tenant.id, max(0, 150 - len(tenant.users)))
    auth = {"Authorization": f"Bearer {get_token(http, server, sandbox, tenant.id)}"}
    body = http.get(f"{server.url}/v1.0/users", headers=auth).json()
    assert len(body["value"]) == 100 and "$skiptoken=" in body["@odata.nextLink"]
    rest = http.get(body["@odata.nextLink"], headers=auth).json()
    assert len(rest["value"]) == len(tenant.users) - 100 and "@odata.nextLink" not in rest


@pytest.mark.parametrize(("method", "path", "status", "schema"), [
    ("POST", "/{tenant}/oauth2/v2.0/token", 429, schemas.ENTRA_ERROR),
    ("POST", "/{tenant}/oauth2/v2.0/token", 503, schemas.ENTRA_ERROR),
    ("GET", "/v1.0/subscribedSkus", 503, schemas.GRAPH_ERROR),
    ("GET", "/v1.0/users", 504, schemas.GRAPH_ERROR),
    ("GET", "/v1/customers", 500, schemas.PC_ERROR),
    ("GET", "/v1.0/nosuchthing", 400, schemas.GRAPH_ERROR),
    ("GET", "/v1/nosuchthing", 404, schemas.PC_ERROR),
])
def test_faults_answer_in_each_apis_shape(http, server, sandbox, scenario, method, path, status, schema):
    tenant = first_consented(scenario).id
    url = f"{server.url}{path.format(tenant=tenant)}"
    if path.endswith("nosuchthing"):
        response = http.request(method, url)
    else:
        server.chaos.inject(Fault("status", method=method, path=path.split("{tenant}")[-1], status=status,
                                  retry_after=3))
        response = http.request(method, url, data=token_form(sandbox) if method == "POST" else None)
    assert response.status_code == status
    check(schema, response.json())
