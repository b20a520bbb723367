"""A ConnectWise sandbox over TLS per test, and the real client and adapter pointed at it."""

from __future__ import annotations

from datetime import date

import pytest

from app.sandbox.connectwise import ConnectWiseSandbox
from app.sandbox.server import SandboxServer, TlsFiles, make_tls
from app.services.http import RetryPolicy
from app.services.psa.connectwise import ConnectWiseClient, ConnectWiseCredentials, ConnectWisePsa

TODAY = date(2025, 3, 10)


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("connectwise-tls"))


@pytest.fixture
def sandbox() -> ConnectWiseSandbox:
    return ConnectWiseSandbox(today=lambda: TODAY)


@pytest.fixture
def server(sandbox: ConnectWiseSandbox, tls: TlsFiles):
    with SandboxServer(sandbox, tls=tls) as running:
        yield running


def credentials_for(server: SandboxServer, **changes: str) -> ConnectWiseCredentials:
    values = {"site": server.url, "company_id": "seatsync", "public_key": "sandbox-public",
              "private_key": "sandbox-private", "client_id": "seatsync-tests"} | changes
    return ConnectWiseCredentials(**values)


@pytest.fixture
def make_client(server: SandboxServer, tls: TlsFiles):
    made: list[ConnectWiseClient] = []

    def make(page_size: int = 1000, **changes: str) -> ConnectWiseClient:
        client = ConnectWiseClient(credentials_for(server, **changes), verify=tls.ca, page_size=page_size,
                                   sleep=lambda seconds: None, retry=RetryPolicy(max_attempts=3))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client) -> ConnectWiseClient:
    return make_client()


@pytest.fixture
def psa(client: ConnectWiseClient) -> ConnectWisePsa:
    return ConnectWisePsa(client)
