"""Fixtures for the Autotask client, adapter and sandbox tests.

The sandbox serves TLS with a throw-away CA (one code path from the tests
to production: certificates always verified). Clocks and sleeps are fakes:
no test waits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import pytest

from app.sandbox.autotask import (
    PRORATION_UDF,
    AutotaskSandbox,
    SandboxAccount,
    add_company,
    lookup_url,
    seed_account,
    serve,
)
from app.sandbox.server import Response, SandboxServer, TlsFiles, make_tls
from app.services.psa.autotask import AutotaskClient, AutotaskCredentials, AutotaskPsa, RequestBudget

TODAY = date(2025, 3, 5)


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class World:
    """A seeded sandbox on loopback and what a test needs to reach it."""

    app: AutotaskSandbox
    server: SandboxServer
    account: SandboxAccount
    tls: TlsFiles
    ids: dict[str, int] = field(default_factory=dict)

    def credentials(self, **changes: str) -> AutotaskCredentials:
        values = {"username": self.account.username, "secret": self.account.secret,
                  "integration_code": self.account.integration_code, "lookup_url": lookup_url(self.server)}
        values.update(changes)
        return AutotaskCredentials(**values)

    def client(self, clock: FakeClock | None = None, **kwargs: object) -> AutotaskClient:
        clock = clock or FakeClock()
        kwargs.setdefault("budget", RequestBudget(clock=clock))
        return AutotaskClient(self.credentials(), verify=self.tls.ca, sleep=clock.sleep, clock=clock,
                              **kwargs)  # type: ignore[arg-type]


@contextmanager
def answering(world: World, method: str, path: str, response: Response) -> Iterator[None]:
    """The sandbox answers requests matching ``method`` and ``path`` (a regex) with ``response``
    (an answer it would never give itself), without checking the credentials."""
    resolve = world.app.resolve

    def resolved(m: str, p: str):  # type: ignore[no-untyped-def]
        found = resolve(m, p)
        if found is not None and m.upper() == method and re.search(path, p):
            return found[0], lambda request: response, found[2]
        return found

    world.app.resolve = resolved  # type: ignore[method-assign]
    try:
        yield
    finally:
        del world.app.resolve


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("autotask-tls"))


def seed_world(app: AutotaskSandbox) -> dict[str, int]:
    store = app.store
    store.add_billing_code("Microsoft 365 prorations")
    company = add_company(app, "Contoso Ltd", domains=("contoso.com", "contoso.co.uk"))
    other = add_company(app, "Fabrikam Inc", domains=("fabrikam.com",))
    flat_company = add_company(app, "Northwind Traders", domains=("northwind.example",), disable_proration=True)
    start, end = date(2024, 1, 1), date(2027, 12, 31)
    return {
        "company": company, "other": other, "flat_company": flat_company,
        "prorating": store.add_contract(company, "Microsoft 365", start=start, end=end),
        "flat": store.add_contract(company, "Microsoft 365 (no proration)", start=start, end=end,
                                   udfs={PRORATION_UDF: "Yes"}),
        "inactive": store.add_contract(company, "Old agreement", start=date(2023, 1, 1), end=end,
                                       status="Inactive"),
        "fabrikam": store.add_contract(other, "Fabrikam managed services", start=start, end=end),
        "northwind": store.add_contract(flat_company, "Northwind 365", start=date(2024, 1, 15), end=end),
        "quarterly": store.add_contract(other, "Quarterly backup", start=start, end=end, period="Quarterly"),
        "hours": store.add_contract(other, "Block hours", start=start, end=end, contract_type="Block Hours"),
        "product": store.add_service("Microsoft 365 Business Premium", "22.00", cost="18.00",
                                     description="Microsoft 365 Business Premium"),
        "product_other": store.add_service("Microsoft 365 E3", "36.00", cost="30.00", description="Microsoft 365 E3"),
        "inactive_product": store.add_service("Office 365 E1 (retired)", "8.00", active=False),
    }


@pytest.fixture
def world(tls: TlsFiles) -> Iterator[World]:
    app = AutotaskSandbox()
    account = seed_account(app)
    ids = seed_world(app)
    server = serve(app, tls=tls)
    try:
        yield World(app, server, account, tls, ids)
    finally:
        server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(world: World, clock: FakeClock) -> Iterator[AutotaskClient]:
    with world.client(clock) as c:
        yield c


@pytest.fixture
def psa(client: AutotaskClient) -> AutotaskPsa:
    return AutotaskPsa(client, today=lambda: TODAY)
