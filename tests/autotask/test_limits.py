"""Autotask's limits: 3 concurrent requests per endpoint per tracking
identifier, and 10,000 requests per rolling hour shared by every integration."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from app.sandbox.autotask import AutotaskSandbox, seed_account, serve
from app.sandbox.server import Response, TlsFiles
from app.services.psa.autotask import AutotaskClient, RequestBudget
from app.services.psa.autotask.errors import AutotaskBudgetExhausted
from app.services.psa.autotask.query import eq
from tests.autotask.conftest import FakeClock, World, answering, seed_world


@pytest.fixture
def slow_world(tls: TlsFiles) -> Iterator[World]:
    # The server holds every request 30 ms (a real pause on the server side) so
    # that requests overlap and concurrency is observable.
    app = AutotaskSandbox(processing_delay=0.03)
    account = seed_account(app)
    ids = seed_world(app)
    server = serve(app, tls=tls)
    try:
        yield World(app, server, account, tls, ids)
    finally:
        server.stop()


def test_a_pool_of_ten_threads_stays_within_three_requests_per_endpoint(slow_world: World) -> None:
    ids = slow_world.ids
    with slow_world.client() as client, ThreadPoolExecutor(max_workers=10) as pool:
        jobs = [pool.submit(client.query, "Companies", [eq("id", ids["company"])]) for _ in range(30)]
        jobs += [pool.submit(client.query, "Services", [eq("id", ids["product"])]) for _ in range(30)]
        results = [job.result() for job in jobs]
    assert all(len(found) == 1 for found in results)
    gate = slow_world.app.gate
    assert gate.peak_for("Companies") == 3 and gate.peak_for("Services") == 3
    assert sum(gate.refused.values()) == 0


def test_the_sandbox_refuses_a_fourth_concurrent_request(slow_world: World) -> None:
    """Without the client's gate, ten threads at once overrun the limit and get 429s."""
    slow_world.app.processing_delay = 0.25  # overlap even when the handshakes are slow (a busy machine)
    account = slow_world.account
    url = f"{slow_world.server.url}/{account.zone}/ATServicesRest/V1.0/Companies/query"
    headers = {"ApiIntegrationCode": account.integration_code, "UserName": account.username,
               "Secret": account.secret}
    start = threading.Barrier(10)

    def one(_: int) -> tuple[int, dict[str, object]]:
        with requests.Session() as session:
            session.trust_env = False
            start.wait()
            answer = session.post(url, json={"filter": [{"op": "gte", "field": "id", "value": 0}]}, headers=headers,
                                  verify=slow_world.tls.ca)
            return answer.status_code, answer.json()

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(one, range(10)))
    refused = [body for status, body in answers if status == 429]
    assert refused and all("Thread threshold exceeded" in body["errors"][0] for body in refused)  # type: ignore[index]
    assert slow_world.app.gate.peak_for("Companies") > 3


# -- the hourly budget ---------------------------------------------------------------------

def spend(budget: RequestBudget, clock: FakeClock, count: int) -> list[float]:
    delays = []
    for _ in range(count):
        delay = budget.reserve()
        delays.append(delay)
        clock.sleep(delay)
    return delays


def test_the_budget_does_not_wait_below_half_then_spreads_the_rest() -> None:
    clock = FakeClock()
    budget = RequestBudget(100, clock=clock)
    # Requests reserved at one instant (a burst from many threads): each later one waits longer.
    delays = [budget.reserve() for _ in range(98)]
    assert delays[:51] == [0.0] * 51
    assert delays[51] == pytest.approx(3600 / 50)  # at 50 % one request per 72 s
    assert all(b > a for a, b in itertools.pairwise(delays[51:]))
    assert delays[97] - delays[96] == pytest.approx(3600 / 4)  # at 96 %, one per 15 minutes
    with pytest.raises(AutotaskBudgetExhausted):
        budget.reserve()  # 98 % used: the rest is left to the other integrations
    clock.now += 3600 + max(delays)  # the hour rolls on
    assert budget.reserve() == 0.0


def test_a_paced_caller_never_runs_the_budget_out() -> None:
    clock = FakeClock()
    budget = RequestBudget(100, clock=clock)
    delays = spend(budget, clock, 400)  # raises if the pace ever let usage reach the stop
    assert delays[:51] == [0.0] * 51 and max(delays) > 0
    assert sum(delays) > 3600  # 400 requests took more than an hour


def test_the_budget_counts_the_other_integrations() -> None:
    clock = FakeClock()
    budget = RequestBudget(clock=clock)
    assert spend(budget, clock, 3) == [0.0, 0.0, 0.0]
    budget.observe(6000, 10_000)  # ThresholdInformation: the whole database's count
    delays = spend(budget, clock, 3)
    assert delays == [0.0, pytest.approx(3600 / 4000), pytest.approx(3600 / 3999)]
    assert budget.used() == 6003


def test_the_client_reads_the_shared_count_and_slows_down(world: World) -> None:
    clock = FakeClock()
    world.app.sleep = lambda seconds: None  # the sandbox's own added latency is not what this test measures
    world.app.budget.record_external(6000)  # other integrations of this Autotask database
    with world.client(clock) as client:
        for _ in range(5):
            client.query("Companies", [eq("id", world.ids["company"])])
    assert len(clock.slept) == 4 and all(0.8 < s < 1.0 for s in clock.slept)


def test_the_client_does_not_wait_when_the_budget_is_fresh(world: World) -> None:
    clock = FakeClock()
    with world.client(clock) as client:
        for _ in range(20):
            client.query("Companies", [eq("id", world.ids["company"])])
    assert clock.slept == []


def test_the_sandbox_adds_latency_past_half_and_refuses_at_the_limit(tls: TlsFiles) -> None:
    clock = FakeClock()
    app = AutotaskSandbox(clock=clock, sleep=clock.sleep, hourly_limit=100)
    account = seed_account(app)
    seed_world(app)
    server = serve(app, tls=tls)
    world = World(app, server, account, tls)
    try:
        # A client that ignores the shared count (no ThresholdInformation reads, a huge own budget).
        client = world.client(budget=RequestBudget(10**9, clock=clock), threshold_every=0)
        with client:
            for _ in range(100):
                client.count("Companies")
            with pytest.raises(AutotaskBudgetExhausted):
                client.count("Companies")
    finally:
        server.stop()
    added = clock.slept  # the sandbox's latency, slept on the fake clock
    assert app.budget.refused >= 1
    assert len(added) == 51  # requests 50..100 of 100
    assert added[0] == pytest.approx(0.5) and added[-1] == pytest.approx(1.0)
    assert added == sorted(added)


def test_the_client_paces_itself_against_the_shared_count(tls: TlsFiles) -> None:
    clock = FakeClock()
    app = AutotaskSandbox(clock=clock, sleep=lambda s: None, hourly_limit=200)
    account = seed_account(app)
    seed_world(app)
    server = serve(app, tls=tls)
    world = World(app, server, account, tls)
    try:
        with world.client(clock, threshold_every=5) as client:
            for _ in range(300):
                client.count("Companies")
            app.budget.record_external(app.budget.limit - app.budget.used() - 2)  # another integration bursts
            with pytest.raises(AutotaskBudgetExhausted):  # noqa: PT012 - within the ten, the budget runs out
                for _ in range(10):
                    client.count("Companies")
    finally:
        server.stop()
    waits = [s for s in clock.slept if s > 0]
    assert len(waits) > 100 and sum(waits) > 3600  # 300 requests spread over more than the hour
    assert sum(app.gate.refused.values()) == 0
    assert app.budget.refused == 0  # the client stopped before the sandbox had to refuse


@pytest.mark.parametrize("body", [
    {"externalRequestThreshold": -5, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 10},
    {"externalRequestThreshold": 0, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 10},
    {"externalRequestThreshold": 10.5, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 10},
    {"externalRequestThreshold": None, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 10},
])
def test_a_threshold_answer_without_a_usable_limit_keeps_seatsync_s_own(world: World, client: AutotaskClient,
                                                                        body: dict[str, object]) -> None:
    """A limit of -5 or 0 would stop every request that follows: only a whole positive limit is taken."""
    client.zone_url()
    with answering(world, "GET", r"/ThresholdInformation$", Response.json(body)):
        client.read_threshold()
    assert client.budget.limit == 10_000 and client.budget.used() >= 10
    assert client.count("Companies") == 3


def test_a_count_beyond_reason_is_not_taken(world: World, client: AutotaskClient) -> None:
    client.zone_url()
    body = {"externalRequestThreshold": 10_000, "currentTimeframeRequestCount": -3}
    with answering(world, "GET", r"/ThresholdInformation$", Response.json(body)):
        client.read_threshold()
    assert client.budget.used() == 1  # the read itself
