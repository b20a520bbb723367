"""An independent client against the sandbox: plain ``requests`` calls written from the vendor's
documentation (its Swagger, tests/specs/autotask.subset.json, and APIS.md §B2), not through
seatsync's client. Every exchange must also follow the vendor's schemas (spec.py).

- zone lookup: GET {lookup}/V1.0/zoneInformation?user=... with no credential, answering
  {"zoneName", "url", "webUrl", "ci"}; an unknown user answers 500 {"errors": [...]};
- every other call goes to the zone's url with the ApiIntegrationCode, UserName and Secret
  headers;
- POST {Entity}/query with a QueryModel, at most maxRecords records a page, following
  pageDetails.nextPageUrl (a GET) until it is null; GET {Entity}/query?search= is the same query;
- {Entity}/query/count answers {"queryCount": n};
- failures answer {"errors": [...]}: 401 for a wrong secret, 500 for a user name or tracking
  identifier the zone does not know, 500 for a query Autotask refuses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from tests.autotask import spec
from tests.autotask.conftest import World


@pytest.fixture
def session(world: World) -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False
        s.verify = world.tls.ca
        yield s


def headers(world: World, **changes: str) -> dict[str, str]:
    values = {"ApiIntegrationCode": world.account.integration_code, "UserName": world.account.username,
              "Secret": world.account.secret, "Content-Type": "application/json"}
    values.update(changes)
    return values


def zone(world: World, session: requests.Session) -> str:
    answer = session.get(f"{world.server.url}/ATServicesRest/V1.0/zoneInformation",
                         params={"user": world.account.username})
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"zoneName", "url", "webUrl", "ci"} and body["url"].endswith("/ATServicesRest/")
    return str(body["url"])


def test_the_zone_lookup_needs_only_the_user_name(world: World, session: requests.Session) -> None:
    exchanges = world.app.record_exchanges()
    url = zone(world, session)
    assert url.startswith(world.server.url + "/") and isinstance(session.get(
        f"{world.server.url}/ATServicesRest/V1.0/zoneInformation", params={"user": world.account.username}
    ).json()["ci"], int)
    unknown = session.get(f"{world.server.url}/ATServicesRest/V1.0/zoneInformation",
                          params={"user": "nobody@example.com"})
    assert unknown.status_code == 500 and unknown.json() == {"errors": ["Zone information could not be determined"]}
    assert exchanges[0].header_names.isdisjoint({"apiintegrationcode", "username", "secret"})
    assert [p for x in exchanges for p in spec.check(x)] == []


def test_a_paged_query_follows_next_page_urls(world: World, session: requests.Session) -> None:
    for n in range(7):
        world.app.store.add_company(f"Paged {n}")
    exchanges = world.app.record_exchanges()
    base = zone(world, session)
    query = {"maxRecords": 4, "filter": [{"op": "gte", "field": "id", "value": 0}]}
    page = session.post(f"{base}V1.0/Companies/query", headers=headers(world), data=json.dumps(query)).json()
    ids, pages = [r["id"] for r in page["items"]], 1
    while page["pageDetails"]["nextPageUrl"]:
        assert page["pageDetails"]["count"] == len(page["items"]) == 4
        page = session.get(page["pageDetails"]["nextPageUrl"], headers=headers(world)).json()
        ids += [r["id"] for r in page["items"]]
        pages += 1
    count = session.post(f"{base}V1.0/Companies/query/count", headers=headers(world),
                         data=json.dumps({"filter": query["filter"]})).json()
    assert pages == 3 and ids == sorted(set(ids)) and len(ids) == count["queryCount"] == 10
    assert page["pageDetails"]["prevPageUrl"]
    assert [p for x in exchanges for p in spec.check(x)] == []


def test_a_filtered_query_in_both_forms(world: World, session: requests.Session) -> None:
    exchanges = world.app.record_exchanges()
    base = zone(world, session)
    query = {"filter": [{"op": "eq", "field": "companyID", "value": world.ids["company"]},
                        {"op": "or", "items": [{"op": "eq", "field": "contractType", "value": 7},
                                               {"op": "contains", "field": "contractName", "value": "HOURS"}]}],
             "includeFields": ["contractName", "companyID"]}
    posted = session.post(f"{base}V1.0/Contracts/query", headers=headers(world), data=json.dumps(query)).json()
    got = session.get(f"{base}V1.0/Contracts/query", headers=headers(world),
                      params={"search": json.dumps(query)}).json()
    assert posted == got
    assert {r["id"] for r in posted["items"]} == {world.ids["prorating"], world.ids["flat"], world.ids["inactive"]}
    assert all(list(r) == ["id", "companyID", "contractName", "userDefinedFields"] for r in posted["items"])
    assert [p for x in exchanges for p in spec.check(x)] == []


@pytest.mark.parametrize(("change", "status", "said"), [
    ({"Secret": "not-the-secret"}, 401, None),
    ({"ApiIntegrationCode": "NOT-A-TRACKING-ID"}, 500, "IntegrationCode is invalid."),
    ({"UserName": "nobody@example.com"}, 500, "UserName is invalid."),
])
def test_credentials_the_zone_refuses(world: World, session: requests.Session, change: dict[str, str], status: int,
                                      said: str | None) -> None:
    """A wrong secret is 401; a user name or tracking identifier the zone does not know is 500 with
    an errors body, as the live API answers (apigrate/autotask-restapi#19)."""
    exchanges = world.app.record_exchanges()
    base = zone(world, session)
    answer = session.post(f"{base}V1.0/Companies/query/count", headers=headers(world, **change),
                          data=json.dumps({"filter": [{"op": "gte", "field": "id", "value": 0}]}))
    assert answer.status_code == status and isinstance(answer.json()["errors"], list)
    if said:
        assert answer.json()["errors"] == [said]
    assert [p for x in exchanges for p in spec.check(x)] == []


def test_a_query_autotask_refuses_answers_an_errors_body(world: World, session: requests.Session) -> None:
    exchanges = world.app.record_exchanges()
    base = zone(world, session)
    answer = session.post(f"{base}V1.0/Companies/query", headers=headers(world),
                          data=json.dumps({"filter": [{"op": "eq", "field": "colour", "value": "blue"}]}))
    assert answer.status_code == 500 and answer.json() == {"errors": ["Unable to find colour in the Companies entity."]}
    too_many = session.post(f"{base}V1.0/Companies/query", headers=headers(world),
                            data=json.dumps({"maxRecords": 501, "filter": [{"op": "gte", "field": "id", "value": 0}]}))
    assert too_many.status_code == 500 and too_many.json()["errors"]
    assert [p for x in exchanges for p in spec.check(x)] == []
