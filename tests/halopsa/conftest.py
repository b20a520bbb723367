"""Fixtures: a HaloPSA sandbox over TLS on loopback, and clients for it.

Time never passes by itself: the sandbox and the client share a ``Clock``
that tests move forward; retries record their waits instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest

from app.sandbox.halopsa import HaloSandbox
from app.sandbox.server import SandboxServer, TlsFiles, make_tls
from app.services.http import HttpApi, RetryPolicy
from app.services.psa.halopsa import HaloClient, HaloConfig, HaloPsaAdapter

CLIENT_ID = "seatsync-app"
SECRET = "s3cr3t-Value-never-logged"
TENANT = "contoso-msp"


class Clock:
    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("halo-tls"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def halo(clock: Clock) -> HaloSandbox:
    sandbox = HaloSandbox(tenant=TENANT, now=clock)
    sandbox.add_app(CLIENT_ID, SECRET)
    sandbox.record = True
    return sandbox


@pytest.fixture
def server(halo: HaloSandbox, tls: TlsFiles) -> Iterator[SandboxServer]:
    with SandboxServer(halo, tls=tls) as running:
        yield running


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def make_client(server: SandboxServer, clock: Clock, tls: TlsFiles,
                waits: list[float]) -> Iterator[Callable[..., HaloClient]]:
    made: list[HaloClient] = []

    def make(*, client_id: str = CLIENT_ID, secret: str = SECRET, tenant: str | None = TENANT,
             scope: str = "all", page_size: int = 100, api_url: str | None = None,
             auth_url: str | None = None) -> HaloClient:
        config = HaloConfig(api_url=api_url or server.url, auth_url=auth_url if auth_url is not None else
                            f"{server.url}/auth", tenant=tenant, client_id=client_id, client_secret=secret,
                            scope=scope)
        http = HttpApi(name="HaloPSA", base_url=config.api_base, verify=tls.ca, sleep=waits.append, now=clock,
                       retry=RetryPolicy(max_attempts=3))
        client = HaloClient(config, http=http, now=clock, page_size=page_size)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., HaloClient]) -> HaloClient:
    return make_client()


@pytest.fixture
def adapter(client: HaloClient) -> HaloPsaAdapter:
    return HaloPsaAdapter(client, today=lambda: date(2025, 3, 10))
