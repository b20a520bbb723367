"""A small sandbox world per test: one tenant, one PSA (each of the three), a clock the test moves.

The tenant's licenses are reset to what the test says (``Tenant.seats``);
everything else is the real thing: the Microsoft sandbox and the PSA
sandbox over TLS, seatsync's database, its real clients, the sync service.
What the PSA holds is read from the sandbox's own records
(``SandboxWorld.psa_side.holdings``), never only through the adapter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from app.billing.operations import FindingKind
from app.billing.types import BillingProfile, Exclusion, Mapping
from app.bootstrap import open_context
from app.models import session
from app.models.session import RUN_LOCK
from app.sandbox.microsoft.model import SandboxPartner, SandboxTenant
from app.sandbox.server import SandboxServer, TlsFiles, make_tls
from app.sandbox.world import AGREEMENT_START, SandboxWorld
from app.sandbox.world_psas import PSA_KINDS, Holding
from app.services.container import Services
from app.services.http import HttpApi
from app.services.secrets import MemoryKeyring, SecretStore
from app.services.sync.db_store import DbSyncStore
from app.services.sync.service import RunSummary, SyncService
from app.services.sync.store import JournalState

#: The world's first day: a sync on the first of a month writes main lines only.
START = date(2026, 1, 1)
#: The day of the changes: 16 → 31 January is 16 of 31 days.
MID = date(2026, 1, 16)
PERIOD_END = date(2026, 1, 31)
NEXT = date(2026, 2, 1)
#: The source tree: ``main.py`` runs from here.
ROOT = Path(__file__).resolve().parents[2]
SPB, EXO, E3 = "SPB", "EXCHANGESTANDARD", "SPE_E3"
PRODUCT = {SPB: "M365-BP", EXO: "EXO-P1", E3: "M365-E3"}


class Clock:
    """The day seatsync, the sandboxes and the Microsoft scenario all see."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


def http_apis(obj: object, depth: int = 3) -> list[HttpApi]:
    """The HttpApi sessions inside a PSA adapter (its client's), whatever the vendor."""
    if isinstance(obj, HttpApi):
        return [obj]
    if depth == 0 or not hasattr(obj, "__dict__") or not type(obj).__module__.startswith("app."):
        return []
    found: list[HttpApi] = []
    for value in vars(obj).values():
        found += [api for api in http_apis(value, depth - 1) if api not in found]
    return found


@dataclass
class Tenant:
    """One tenant of a world, on one PSA, with the helpers the tests share."""

    world: SandboxWorld
    context: Services
    connection: int
    clock: Clock
    tenant_id: str
    agreement: str
    profiles: dict[str, BillingProfile]
    sleeps: list[float] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.world.psa_kind

    @property
    def scenario(self):
        return self.world.scenario

    # -- time and Microsoft ----------------------------------------------------------------

    def move_to(self, day: date) -> None:
        self.clock.day = day
        self.scenario.set_date(day)

    def seats(self, part: str, assigned: int, purchased: int | None = None) -> None:
        """The tenant holds exactly ``purchased`` seats of ``part`` (default: as many as assigned)."""
        scenario, sku_id = self.scenario, self.scenario.sku_id(part)
        tenant = scenario.tenant(self.tenant_id)
        with scenario.lock:
            found = [s for s in tenant.subscriptions if s.sku_id == sku_id and s.status == "active"]
            subscription = found[0] if found else scenario.add_sku(self.tenant_id, part, 0)
            subscription.quantity = max(assigned, purchased or 0)  # Microsoft assigns only bought seats
            holders = tenant.holders(sku_id)
            if assigned > holders:
                free = sum(1 for u in tenant.users if sku_id not in u.sku_ids)
                if free < assigned - holders:
                    scenario.add_users(self.tenant_id, assigned - holders - free)
                scenario.assign(self.tenant_id, part, assigned - holders)
            elif assigned < holders:
                scenario.unassign(self.tenant_id, part, holders - assigned)
            subscription.quantity = assigned if purchased is None else purchased

    def drop_license(self, part: str) -> None:
        """The license is gone from the tenant: its subscription and every assignment."""
        sku_id = self.scenario.sku_id(part)
        tenant = self.scenario.tenant(self.tenant_id)
        with self.scenario.lock:
            tenant.subscriptions[:] = [s for s in tenant.subscriptions if s.sku_id != sku_id]
            for user in tenant.users:
                if sku_id in user.sku_ids:
                    user.sku_ids.remove(sku_id)

    # -- seatsync ---------------------------------------------------------------------------

    def map(self, part: str, **options: object) -> Mapping:
        return self.context.uow.mappings.save(Mapping(
            tenant_id=self.tenant_id, sku_id=self.scenario.sku_id(part), profile=self.profiles[PRODUCT[part]],
            agreement_id=options.pop("agreement_id", self.agreement), **options))  # type: ignore[arg-type]

    def exclude(self, part: str) -> None:
        self.context.uow.exclusions.add(Exclusion(sku_id=self.scenario.sku_id(part), tenant_id=self.tenant_id,
                                              reason="not billed"))

    def service(self) -> SyncService:
        return self.context.sync_service(today=self.clock, workers=1)

    def sync(self) -> RunSummary:
        return self.service().sync(actor="e2e")

    def plan(self) -> RunSummary:
        return self.service().plan()

    def psa(self):
        return self.context.psas.psa(self.connection)

    def apis(self) -> list[HttpApi]:
        return http_apis(self.psa())

    # -- what the PSA and the journal hold ------------------------------------------------------

    def holdings(self, part: str | None = None) -> list[Holding]:
        """The lines seatsync owns on the agreement (of ``part``'s product), as the PSA holds them."""
        return [h for h in self.world.psa_side.holdings(self.agreement) if h.marker.startswith("seatsync:")
                and (part is None or h.product == PRODUCT[part])]

    def main(self, part: str) -> Holding:
        """The one open main line of ``part``'s row."""
        found = [h for h in self.holdings(part) if h.kind == "main" and h.quantity and h.end is None]
        assert len(found) == 1, found
        return found[0]

    def dated(self, part: str) -> list[tuple[date | None, date | None, Decimal]]:
        return sorted((h.start, h.end, h.amount) for h in self.holdings(part) if h.kind == "dated")

    def writes(self) -> int:
        return self.world.writes()

    def journal(self) -> list[JournalState]:
        return [state for _, state in DbSyncStore().journal_states(self.tenant_id)]

    def audited_keys(self) -> list[str]:
        return [a.op_key for a in DbSyncStore().audits(self.tenant_id)]


def approvals(tenant: Tenant, *args: str) -> str:
    """``python main.py approvals ARGS`` on the tenant's data, as a process: what it printed (it must succeed)."""
    env = {**os.environ, "SEATSYNC_DATA_DIR": str(tenant.context.data_dir)}
    done = subprocess.run([sys.executable, "main.py", "approvals", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def findings(summary: RunSummary, kind: FindingKind) -> list:
    return [f for r in summary.results for f in r.findings if f.kind is kind]


def make_tenant(directory: Path, tls: TlsFiles, psa: str, *, today: Callable[[], date] | None = None) -> Tenant:
    """A one-tenant world on ``psa``, onboarded, with SPB (10 seats) and Exchange (4) mapped, not yet synced."""
    clock = today if isinstance(today, Clock) else Clock(today() if today else START)
    world = SandboxWorld.start(directory, tenants=1, seed=11, today=clock, psa=psa, tls=tls)
    context = None
    try:
        context = open_context(directory / "data", secrets=SecretStore(MemoryKeyring()), ca_file=tls.ca)
        connection = world.connect(context)
        world.onboard(context, connection)
        (tenant_id,) = world.scenario.tenants
        agreement = world.agreement_of(tenant_id)
        assert context.uow.tenants.links_of_tenant(tenant_id), "onboarding linked the tenant"
        profiles = {p.identifier: context.uow.profiles.save(connection, BillingProfile(
            id="", name=p.description, product=p)) for p in context.uow.catalog.products(connection, active_only=True)}
        sleeps: list[float] = []
        tenant = Tenant(world=world, context=context, connection=connection, clock=clock, tenant_id=tenant_id,
                        agreement=agreement, profiles=profiles, sleeps=sleeps)
        psa_port = tenant.psa()
        if hasattr(psa_port, "today"):
            psa_port.today = clock  # the adapter's "today" is the world's
        for api in tenant.apis():
            api.sleep = sleeps.append  # retries never really wait
        client = getattr(psa_port, "client", None)
        if client is not None and hasattr(client, "sleep"):
            client.sleep = sleeps.append
        # A clean slate: no license but the ones each test gives the tenant.
        sandbox = world.scenario.tenant(tenant_id)
        with world.scenario.lock:
            sandbox.subscriptions.clear()
            for user in sandbox.users:
                user.sku_ids.clear()
        if len(sandbox.users) < 30:
            world.scenario.add_users(tenant_id, 30 - len(sandbox.users))
        tenant.seats(SPB, 10)
        tenant.seats(EXO, 4)
        tenant.map(SPB)
        tenant.map(EXO)
        return tenant
    except BaseException:
        if context is not None:
            context.close()
        world.stop()
        raise


#: The name seatsync's second partner connection is given (``other_partner``'s account).
OTHER = "Northwind indirect"


def other_partner(tenant: Tenant, customers: int = 1) -> tuple[SandboxPartner, SandboxTenant, str]:
    """Another partner account in the tenant's world (an indirect reseller's, not yet connected), with
    ``customers`` customers of its own, none licensed; the first has a PSA company with an agreement (its id is
    returned), and the PSA's catalog is read again."""
    world, scenario = tenant.world, tenant.scenario
    other = scenario.add_partner("Northwind Indirect CSP", customers=customers)
    theirs = scenario.customers_of(other.tenant_id)[0]
    with scenario.lock:
        for customer in scenario.customers_of(other.tenant_id):
            customer.subscriptions.clear()
            for user in customer.users:
                user.sku_ids.clear()
    company = world.psa_side.add_company(theirs.name, domains=[theirs.default_domain])
    agreement = world.psa_side.add_agreement(company, start=AGREEMENT_START)
    tenant.context.admin.refresh_catalog(tenant.connection)
    return other, theirs, agreement


def close_tenant(tenant: Tenant) -> None:
    tenant.context.close()
    tenant.world.stop()


def restart_psa_server(world: SandboxWorld) -> None:
    """Serve the PSA sandbox again on the port it had (after a test stopped it), counts kept."""
    old = world.psa_server
    server = SandboxServer(world.psa, tls=world.tls, port=old.port).start()
    server.requests.update(old.requests)
    world.psa_server = world.psa_side.server = server


def killed_sessions_ended(timeout: float = 5.0) -> None:
    """On a team database, wait for the server to end a killed process's session (a moment after the kill:
    until then its run lock is held, and a sync is coalesced into the dead one's); on SQLite, nothing."""
    team = session.current()
    if team is None:
        return
    deadline = time.monotonic() + timeout
    while not team.try_lock(RUN_LOCK):
        assert time.monotonic() < deadline, "the killed process's session outlived it"
        time.sleep(0.02)
    team.unlock(RUN_LOCK)


def later(context: Services, seconds: float) -> None:
    """seatsync's clock moves on (a dead process's tenant lease runs out)."""
    shifted = datetime.now(UTC) + timedelta(seconds=seconds)
    context.now = lambda: shifted


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("e2e-tls"))


@pytest.fixture(params=PSA_KINDS)
def psa(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def tenant(tmp_path: Path, tls: TlsFiles, psa: str, database_target: Path | str) -> Iterator[Tenant]:
    made = make_tenant(tmp_path, tls, psa)
    yield made
    close_tenant(made)


@pytest.fixture
def synced(tenant: Tenant) -> Tenant:
    """The tenant after its first sync on the 1st: one main line per license, nothing dated."""
    first = tenant.sync()
    assert not first.failed, [r.error for r in first.results]
    assert first.writes == 2
    assert (tenant.main(SPB).quantity, tenant.main(EXO).quantity) == (10, 4)
    assert tenant.dated(SPB) == []
    tenant.move_to(MID)
    return tenant
