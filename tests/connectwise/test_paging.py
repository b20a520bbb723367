"""Paging as ConnectWise does it: Link headers, navigable and forward-only, pageSize capped at 1,000."""

from __future__ import annotations

import pytest
import requests

from app.sandbox.connectwise import ConnectWiseSandbox
from app.services.psa.connectwise import ConnectWiseClient


@pytest.fixture
def many(sandbox: ConnectWiseSandbox) -> list[int]:
    return [sandbox.add_company(f"Customer {n:04d}", domains=[f"c{n}.example"]) for n in range(1, 58)]


def get(client: ConnectWiseClient, path: str, headers: dict[str, str] | None = None,
        **params: object) -> requests.Response:
    url = path if path.startswith("http") else client.url(path)
    return client.http.session.get(url, params=params or None, headers=headers)


def test_the_default_page_is_25_with_navigable_links(client: ConnectWiseClient, many: list[int]) -> None:
    response = get(client, "/company/companies")
    assert [c["id"] for c in response.json()] == many[:25]
    links = response.links
    assert set(links) == {"next", "first", "last"}
    assert "page=2" in links["next"]["url"] and "page=3" in links["last"]["url"]
    second = get(client, links["next"]["url"])
    assert [c["id"] for c in second.json()] == many[25:50]
    assert set(second.links) == {"prev", "next", "first", "last"}
    last = get(client, second.links["last"]["url"])
    assert [c["id"] for c in last.json()] == many[50:]
    assert "next" not in last.links and "page=2" in last.links["prev"]["url"]


def test_links_keep_the_query(client: ConnectWiseClient, many: list[int]) -> None:
    response = get(client, "/company/companies", conditions='name like "Customer 00*"', orderBy="name desc",
                   fields="id,name", pageSize=4)
    assert [c["name"] for c in response.json()] == ["Customer 0057", "Customer 0056", "Customer 0055",
                                                     "Customer 0054"]
    follow = get(client, response.links["next"]["url"]).json()
    assert [c["name"] for c in follow] == ["Customer 0053", "Customer 0052", "Customer 0051", "Customer 0050"]
    assert all(set(c) == {"id", "name"} for c in follow)


def test_forward_only_paging_uses_page_id(client: ConnectWiseClient, many: list[int]) -> None:
    headers = {"pagination-type": "forward-only"}
    response = get(client, "/company/companies", headers=headers, pageSize=20)
    assert [c["id"] for c in response.json()] == many[:20]
    assert set(response.links) == {"next"}
    assert f"pageId={many[19]}" in response.links["next"]["url"]
    seen = [c["id"] for c in response.json()]
    while "next" in response.links:
        response = get(client, response.links["next"]["url"], headers=headers)
        seen += [c["id"] for c in response.json()]
    assert seen == many


def test_page_size_is_capped_at_1000(client: ConnectWiseClient, sandbox: ConnectWiseSandbox) -> None:
    for n in range(1005):
        sandbox.add_product(f"SKU-{n}", price="1.00")
    response = get(client, "/procurement/catalog", pageSize=5000)
    assert response.status_code == 200 and len(response.json()) == 1000
    assert "pageSize=1000" in response.links["next"]["url"]


@pytest.mark.parametrize(("params", "message"), [({"pageSize": 0}, "pageSize must be at least 1"),
                                                  ({"pageSize": "ten"}, "pageSize must be a whole number"),
                                                  ({"page": 0}, "page must be at least 1"),
                                                  ({"orderBy": "name sideways"}, "Invalid orderBy")])
def test_bad_paging_parameters_are_refused(client: ConnectWiseClient, many: list[int], params: dict[str, object],
                                           message: str) -> None:
    response = get(client, "/company/companies", **params)
    assert response.status_code == 400 and message in response.json()["message"]


def test_the_client_reads_every_page(make_client, many: list[int], server) -> None:
    client = make_client(page_size=10)
    records = client.list("/company/companies", fields="id")
    assert [r["id"] for r in records] == many
    assert server.request_count("GET", "/company/companies") == 6


def test_the_client_reads_forward_only(make_client, many: list[int], server) -> None:
    client = make_client(page_size=25)
    assert [r["id"] for r in client.list("/company/companies", forward_only=True)] == many
    assert server.request_count("GET", "/company/companies") == 3


def test_count_and_fields(client: ConnectWiseClient, many: list[int]) -> None:
    assert client.count("/company/companies") == 57
    assert client.count("/company/companies", 'name like "Customer 001*"') == 10
    record = client.get(f"/company/companies/{many[0]}", {"fields": "name,status/name"})
    assert record == {"name": "Customer 0001", "status": {"name": "Active"}}
