"""The Graph client against the sandbox: paging, throttling, faults, errors."""

from __future__ import annotations

import email.utils

import pytest

from app.sandbox.microsoft import Scenario
from app.sandbox.server import Fault, Response
from app.services.http import Throttled, Unavailable
from app.services.microsoft import GdapMissing, MalformedResponse
from app.services.microsoft.graph import GraphClient
from app.services.microsoft.ratelimit import BucketSpec, RateLimiter
from app.services.microsoft.wire import licenses_from_graph, user_from_graph
from tests.microsoft.conftest import first_consented

USERS = "graph:users"


def resize(scenario: Scenario, tenant_id: str, count: int) -> None:
    users = scenario.tenants[tenant_id].users
    if len(users) > count:
        scenario.remove_users(tenant_id, len(users) - count)
    else:
        scenario.add_users(tenant_id, count - len(users))


@pytest.mark.parametrize(("count", "pages"), [(1, 1), (999, 1), (1000, 2), (1001, 2)])
def test_users_are_read_across_pages(clients, server, scenario, count, pages):
    tenant = first_consented(scenario)
    resize(scenario, tenant.id, count)
    users = [user_from_graph(u) for u in clients.graph.users(tenant.id)]
    assert len(users) == count
    assert {u.id for u in users} == {u.id for u in tenant.users}
    assert server.request_count("GET", USERS) == pages
    by_id = {u.id: u for u in tenant.users}
    for user in users[:50]:
        source = by_id[user.id]
        assert (user.upn, user.office, user.department, user.city, user.state, user.enabled) == (
            source.upn, source.office, source.department, source.city, source.state, source.enabled)
        assert user.sku_ids == frozenset(source.sku_ids)


def test_subscribed_skus_follow_next_link_when_present(clients, server, sandbox, scenario):
    tenant = max((t for t in scenario.tenants.values() if t.consent), key=lambda t: len(t.sku_ids()))
    assert len(tenant.sku_ids()) >= 3
    sandbox.skus_page_size = 2
    skus = clients.graph.subscribed_skus(tenant.id)
    assert sorted(s.str("skuId") for s in skus) == sorted(tenant.sku_ids())
    assert server.request_count("GET", "graph:subscribedSkus") == -(-len(tenant.sku_ids()) // 2)


@pytest.mark.parametrize("kind", ["status", "drop"])
def test_a_fault_in_the_middle_of_paging_is_retried_without_duplicates(clients, server, sandbox, scenario, kind):
    tenant = first_consented(scenario)
    resize(scenario, tenant.id, 2500)

    def fail_next_page(route: str, payload: dict) -> dict:
        if route == "users" and "@odata.nextLink" in payload:
            sandbox.tamper = None
            server.chaos.inject(Fault(kind, path="/v1.0/users", status=503))
        return payload

    sandbox.tamper = fail_next_page
    users = clients.graph.users(tenant.id)
    assert len(users) == 2500 and len({u.str("id") for u in users}) == 2500
    assert server.request_count("GET", USERS) == 4  # three pages, one of them twice


def test_a_persistent_fault_in_the_middle_of_paging_returns_nothing(clients, server, sandbox, scenario, clock):
    tenant = first_consented(scenario)
    resize(scenario, tenant.id, 1500)

    def break_next_pages(route: str, payload: dict) -> dict:
        if route == "users":
            sandbox.tamper = None
            server.chaos.inject(Fault("status", path="/v1.0/users", status=503, times=100))
        return payload

    sandbox.tamper = break_next_pages
    with pytest.raises(Unavailable) as caught:
        clients.graph.users(tenant.id)
    assert caught.value.status == 503
    assert server.request_count("GET", USERS) == 1 + 4  # first page, then the retry budget
    assert len(clock.sleeps) == 3 and all(0 < s <= 2.0 for s in clock.sleeps)  # bounded backoff, never real


def test_retry_after_seconds_is_honoured(clients, server, scenario, clock):
    server.chaos.inject(Fault("status", path="/v1.0/subscribedSkus", status=429, retry_after=12, times=2))
    clients.graph.subscribed_skus(first_consented(scenario).id)
    assert clock.sleeps == [12.0, 12.0]


def test_retry_after_http_date_is_honoured(clients, server, sandbox, scenario, clock):
    def throttled(retry_after: int | None) -> Response:
        when = email.utils.formatdate(clock.now() + 30, usegmt=True)
        return Response.json({"error": {"code": "TooManyRequests", "message": "Too many requests."}}, 429,
                             {"Retry-After": when})

    sandbox.throttled = throttled  # type: ignore[method-assign]
    server.chaos.inject(Fault("status", path="/v1.0/users", status=429))
    clients.graph.users(first_consented(scenario).id)
    assert clock.sleeps == [30.0]


def test_throttling_without_retry_after_backs_off_with_jitter(clients, server, scenario, clock):
    server.chaos.inject(Fault("status", path="/v1.0/users", status=429, retry_after=None, times=3))
    clients.graph.users(first_consented(scenario).id)
    assert len(clock.sleeps) == 3
    for attempt, slept in enumerate(clock.sleeps, start=1):
        ceiling = 0.5 * 2 ** (attempt - 1)
        assert ceiling / 2 <= slept <= ceiling


def test_throttling_beyond_the_budget_is_a_typed_error(clients, server, scenario):
    server.chaos.inject(Fault("status", path="/v1.0/users", status=429, retry_after=1, times=10))
    with pytest.raises(Throttled):
        clients.graph.users(first_consented(scenario).id)


def test_503_and_504_are_retried(clients, server, scenario, clock):
    server.chaos.inject(Fault("status", path="/v1.0/directory/subscriptions", status=503))
    server.chaos.inject(Fault("status", path="/v1.0/directory/subscriptions", status=504))
    tenant = first_consented(scenario)
    assert len(clients.graph.directory_subscriptions(tenant.id)) == len(tenant.subscriptions)
    assert len(clock.sleeps) == 2


def test_the_rate_limiter_paces_requests_per_tenant(clients, scenario, clock):
    limiter = RateLimiter(per_key=BucketSpec(capacity=3, per_second=1.0), now=clock.now, sleep=clock.sleep)
    graph = GraphClient(clients.graph_api, clients.tokens, limiter)
    a, b = [t.id for t in scenario.tenants.values() if t.consent][:2]
    graph.subscribed_skus(a)  # costs 3: the bucket is empty
    graph.subscribed_skus(b)  # another tenant, its own bucket
    assert clock.sleeps == []
    graph.subscribed_skus(a)
    assert clock.sleeps == [3.0]


def test_lapsed_gdap(clients, scenario):
    tenant = first_consented(scenario)
    scenario.expire_gdap(tenant.id)
    with pytest.raises(GdapMissing) as caught:
        clients.graph.subscribed_skus(tenant.id)
    assert "Authorization_RequestDenied" in str(caught.value) and tenant.id in str(caught.value)


@pytest.mark.parametrize(("route", "corrupt", "where"), [
    ("subscribedSkus", lambda p: {k: v for k, v in p.items() if k != "value"}, "subscribedSkus page 1.value"),
    ("subscribedSkus", lambda p: {**p, "value": [{k: v for k, v in p["value"][0].items() if k != "prepaidUnits"}]},
     "subscribedSkus[0].prepaidUnits is missing"),
    ("subscribedSkus", lambda p: {**p, "value": [{**p["value"][0], "consumedUnits": "7"}]},
     "subscribedSkus[0].consumedUnits is str"),
    ("subscribedSkus", lambda p: {**p, "value": [{**p["value"][0],
                                                  "prepaidUnits": {"enabled": None, "warning": 0}}]},
     "prepaidUnits.enabled is missing"),
    ("users", lambda p: {**p, "value": [{k: v for k, v in p["value"][0].items() if k != "userPrincipalName"}]},
     "users[0].userPrincipalName is missing"),
    ("users", lambda p: {**p, "@odata.nextLink": "https://elsewhere.example/v1.0/users?$skiptoken=x"},
     "nextLink points away from Graph"),
])
def test_malformed_responses_are_clear_errors(clients, sandbox, scenario, catalogue, route, corrupt, where):
    tenant = first_consented(scenario)
    sandbox.tamper = lambda r, payload: corrupt(payload) if r == route else payload
    def read() -> object:
        if route == "subscribedSkus":
            return licenses_from_graph(clients.graph.subscribed_skus(tenant.id), None, None, catalogue)
        return [user_from_graph(u) for u in clients.graph.users(tenant.id)]

    with pytest.raises(MalformedResponse) as caught:
        read()
    assert where in str(caught.value) and tenant.id in str(caught.value)
