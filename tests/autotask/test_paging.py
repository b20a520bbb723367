"""Paging over more than 500 records: maxRecords ≤ 500 and pageDetails.nextPageUrl."""

from __future__ import annotations

import pytest
import requests

from app.services.psa.autotask.client import AutotaskClient
from app.services.psa.autotask.query import begins_with, gte
from tests.autotask.conftest import World

SEEDED = 1203


@pytest.fixture
def many(world: World) -> list[int]:
    return [world.app.store.add_company(f"Paged {n:04d} Ltd") for n in range(SEEDED)]


def test_the_client_follows_next_page_urls_to_the_end(world: World, client: AutotaskClient,
                                                      many: list[int]) -> None:
    world.app.record_exchanges()
    found = client.query("Companies", [begins_with("companyName", "Paged ")])
    assert [r["id"] for r in found] == many
    pages = [x for x in world.app.exchanges or () if "Companies/query" in x.path]
    assert [x.method for x in pages] == ["POST", "GET", "GET"]
    assert [x.response["pageDetails"]["count"] for x in pages] == [500, 500, 203]
    assert all(x.response["pageDetails"]["requestCount"] == 500 for x in pages)
    assert pages[-1].response["pageDetails"]["nextPageUrl"] is None
    assert pages[0].response["pageDetails"]["prevPageUrl"] is None
    assert pages[1].response["pageDetails"]["prevPageUrl"]


def test_smaller_pages_and_include_fields(world: World, client: AutotaskClient, many: list[int]) -> None:
    found = client.query("Companies", [begins_with("companyName", "Paged ")], include_fields=["companyName"],
                         page_size=200)
    assert len(found) == SEEDED and list(found[0]) == ["id", "companyName", "userDefinedFields"]
    assert [r["id"] for r in found] == many


def test_paging_links_survive_new_records(world: World, client: AutotaskClient, many: list[int]) -> None:
    """An id cursor: a record created between two pages neither repeats nor hides others."""
    first = client.call("POST", "V1.0/Companies/query", endpoint="Companies", read=True,
                        body={"maxRecords": 500, "filter": [{"op": "beginsWith", "field": "companyName",
                                                             "value": "Paged "}]})
    late = world.app.store.add_company("Paged late arrival")
    rest = client.call("GET", first["pageDetails"]["nextPageUrl"], endpoint="Companies")
    ids = [r["id"] for r in first["items"]] + [r["id"] for r in rest["items"]]
    assert ids == many[:1000]
    back = client.call("GET", rest["pageDetails"]["prevPageUrl"], endpoint="Companies")
    assert [r["id"] for r in back["items"]] == many[:500]
    assert late > many[-1]


@pytest.mark.parametrize(("body", "message"), [
    ({"maxRecords": 501, "filter": [{"op": "gte", "field": "id", "value": 0}]}, "MaxRecords"),
    ({"maxRecords": 100, "includeFields": ["companyName"], "filter": [{"op": "gte", "field": "id", "value": 0}]},
     "must include id"),
])
def test_the_sandbox_refuses_oversized_pages(world: World, many: list[int], body: dict[str, object],
                                             message: str) -> None:
    session = requests.Session()
    session.trust_env = False
    session.verify = world.tls.ca
    headers = {"ApiIntegrationCode": world.account.integration_code, "UserName": world.account.username,
               "Secret": world.account.secret}
    try:
        answer = session.post(f"{world.server.url}/{world.account.zone}/ATServicesRest/V1.0/Companies/query",
                              json=body, headers=headers)
    finally:
        session.close()
    assert answer.status_code == 500
    assert message in answer.json()["errors"][0]


def test_a_repeating_next_page_url_is_a_malformed_answer(world: World, client: AutotaskClient,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from app.services.psa.autotask.errors import AutotaskMalformedResponse

    loop = {"items": [{"id": 1}], "pageDetails": {"count": 1, "requestCount": 500, "prevPageUrl": None,
                                                  "nextPageUrl": client.zone_url() + "V1.0/Companies/query/next"}}
    monkeypatch.setattr(client, "call", lambda *a, **k: loop)
    with pytest.raises(AutotaskMalformedResponse, match="repeats"):
        client.query("Companies", [gte("id", 0)])
