"""Fixtures: the Microsoft sandbox over TLS, a seeded scenario, and clients on a fake clock."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import requests

from app.sandbox.microsoft import MicrosoftSandbox, Scenario, generate
from app.sandbox.server import SandboxServer, TlsFiles, make_tls
from app.services.http import RetryPolicy
from app.services.microsoft import MicrosoftClients
from app.services.microsoft.skus import SkuCatalogue


class FakeClock:
    """Time that moves only when something sleeps (or a test moves it)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def catalogue() -> SkuCatalogue:
    return SkuCatalogue.load()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def scenario(catalogue: SkuCatalogue) -> Scenario:
    return generate(12, seed=42, catalogue=catalogue)


@pytest.fixture
def sandbox(scenario: Scenario, clock: FakeClock) -> MicrosoftSandbox:
    # The sandbox's token clock is the tests' clock: tokens expire when the test says so.
    return MicrosoftSandbox(scenario, now=clock.now)


@pytest.fixture
def server(sandbox: MicrosoftSandbox, tls: TlsFiles) -> Iterator[SandboxServer]:
    with SandboxServer(sandbox, tls=tls) as running:
        yield running


@pytest.fixture
def clients(sandbox: MicrosoftSandbox, server: SandboxServer, clock: FakeClock) -> Iterator[MicrosoftClients]:
    with MicrosoftClients.create(sandbox.settings(server), sleep=clock.sleep, now=clock.now, monotonic=clock.now,
                                 rng=random.Random(1), retry=RetryPolicy(max_attempts=4)) as made:
        yield made


def first_consented(scenario: Scenario, min_users: int = 0):  # type: ignore[no-untyped-def]
    return next(t for t in scenario.tenants.values() if t.consent and len(t.users) >= min_users)


@pytest.fixture
def http(server: SandboxServer) -> Iterator[requests.Session]:
    """Plain HTTPS to the sandbox, trusting its CA only."""
    with requests.Session() as session:
        session.verify = server.tls.ca  # type: ignore[union-attr]
        session.trust_env = False  # REQUESTS_CA_BUNDLE must not override the test CA (APIS.md §F)
        yield session


def bearer(http: requests.Session, server: SandboxServer, tenant: str, client_id: str, secret: str) -> dict[str, str]:
    """An Authorization header with a Graph token for ``tenant``, asked as a plain form post."""
    response = http.post(f"{server.url}/{tenant}/oauth2/v2.0/token", data={
        "client_id": client_id, "client_secret": secret, "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/.default"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
