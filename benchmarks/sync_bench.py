"""How fast seatsync syncs many tenants against sandboxes that answer slowly.

    python benchmarks/sync_bench.py --tenants 1000 --latency 0.1 --psa connectwise
    python benchmarks/sync_bench.py --tenants 1000 --database postgresql   # a team's database

Starts the Microsoft sandbox and a PSA sandbox on loopback over TLS
(``SandboxWorld``), gives every tenant ten licenses mapped to ten PSA
products and an agreement of its own, injects ``--latency`` seconds into
every request, and times three syncs through ``SyncService`` on a pinned
mid-period day (``--today``): the first (every line created, with a prorate
line for the rest of the period where the agreement prorates), one with no
change in Microsoft (nothing may be written) and one after 5 % of tenants
changed seats and users. The same three syncs then run on
``--baseline-tenants`` tenants with one worker: the sequential baseline.
``--database postgresql`` runs them on a throw-away PostgreSQL server made
from this machine's binaries (tests/postgres.py), a database of its own per
run.

Seatsync and the sandboxes share this process in those runs. Then
(``--own-process``) seatsync syncs a world of its own as a user would,
``python main.py sync --yes`` in a child process, a first sync and one with
no change, for its own peak memory and wall time. Last, a naive sequential
runbook (benchmarks/naive_runbook.py) reads ``--naive-tenants`` tenants after
seatsync's first sync: its time against seatsync's with nothing to change.
What each figure means: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_measure import (  # noqa: E402
    BENCH_DAY,
    ChildPeak,
    Phase,
    api_bounds,
    http_apis,
    memory_probe,
)
from benchmarks.bench_report import report  # noqa: E402
from benchmarks.naive_runbook import RunbookConfig, TenantConfig  # noqa: E402
from benchmarks.naive_runbook import run as run_runbook  # noqa: E402

PSAS = ("connectwise", "autotask", "halopsa")
#: Ten Microsoft part numbers every benchmark tenant holds, and the PSA product that bills each
#: (identifier, description, price, cost). The world's catalog already has the first four.
PRODUCTS = {
    "SPB": ("M365-BP", "Microsoft 365 Business Premium", "22.00", "18.70"),
    "O365_BUSINESS_PREMIUM": ("M365-BS", "Microsoft 365 Business Standard", "12.50", "10.63"),
    "SPE_E3": ("M365-E3", "Microsoft 365 E3", "36.00", "30.60"),
    "EXCHANGESTANDARD": ("EXO-P1", "Exchange Online (Plan 1)", "4.00", "3.40"),
    "O365_BUSINESS_ESSENTIALS": ("M365-BB", "Microsoft 365 Business Basic", "6.00", "5.10"),
    "ENTERPRISEPACK": ("O365-E3", "Office 365 E3", "23.00", "19.55"),
    "MCOEV": ("TEAMS-PHONE", "Teams Phone Standard", "10.00", "8.50"),
    "POWER_BI_PRO": ("PBI-PRO", "Power BI Pro", "14.00", "11.90"),
    "AAD_PREMIUM": ("ENTRA-P1", "Microsoft Entra ID P1", "6.00", "5.10"),
    "VISIOCLIENT": ("VISIO-P2", "Visio Plan 2", "15.00", "12.75"),
}
CHURN_SHARE = 0.05
PHASES = ("first", "no change", "5 % churn")
#: The syncs seatsync runs in a process of its own, and the tenants of the small world whose peak memory
#: stands for what a sync needs whatever its size (the goal's scale: benchmarks/README.md): enough to keep
#: every worker of a run busy, or half the run's tenants when it is smaller.
OWN_PHASES = ("first", "no change")
REFERENCE_TENANTS = 100
#: The headless sync's last line: "N tenant(s): W write(s), H held for approval, F failed".
SUMMARY = re.compile(r"(\d+) tenant\(s\): (\d+) write\(s\), (\d+) held for approval, (\d+) failed")
KEYRING_BACKEND = "benchmarks.bench_keyring.PlaintextFileKeyring"
AUTOTASK_HOURLY_LIMIT = 10_000
UNLIMITED = 10**9


# -- the world ------------------------------------------------------------------------


def start_world(directory: Path, *, psa: str, tenants: int, seed: int, today: date = BENCH_DAY):
    """The sandboxes on ``today``, seeded so that every tenant holds the ten parts and bills to a PSA customer
    with an agreement. Returns (world, {tenant id: the PSA company seeded for it})."""
    from app.sandbox.world import AGREEMENT_START, SandboxWorld
    from app.sandbox.world_psas import CATALOG

    world = SandboxWorld.start(directory, tenants=tenants, seed=seed, psa=psa, today=lambda: today)
    side = world.psa_side
    have = {identifier for identifier, *_ in CATALOG}
    for identifier, description, price, cost in PRODUCTS.values():
        if identifier not in have:
            side.add_product(identifier, description=description, price=price, cost=cost)
    rng = random.Random(seed)
    scenario = world.scenario
    own: dict[str, str] = {}
    for tenant in list(scenario.tenants.values()):
        held = {s.part_number for s in tenant.subscriptions if s.status == "active"}
        for part in PRODUCTS:
            if part not in held:
                seats = rng.randint(1, 5)
                scenario.add_sku(tenant.id, part, seats, assigned=min(seats, len(tenant.users)))
        if world.intended.get(tenant.id) not in world.agreements:
            # The world leaves some tenants without an active PSA company (onboarding's hard
            # cases); here every tenant bills, so each of those gets a customer of its own.
            company = side.add_company(tenant.name, domains=list(tenant.domains) or [tenant.default_domain])
            side.add_agreement(company, start=AGREEMENT_START)
            own[tenant.id] = company
    if psa == "autotask":
        # Autotask's 10,000 requests an hour would make the client pace itself from 5,000 and
        # the sandbox slow down: lifted here so the run measures seatsync, and the requests per
        # hour it would use of the real budget are reported instead (autotask_figures).
        world.psa.budget.limit = UNLIMITED
    return world, own


def configure(world, context, own: dict[str, str]) -> tuple[int, int]:
    """The world's configuration, then every tenant linked to a company with an agreement and its
    ten parts mapped; ``own``: tenant id -> the PSA customer seeded for it. Returns (connection id, mappings)."""
    from app.billing.types import Mapping
    from app.services.customers.bulk_add import Choice

    connection_id = world.configure(context, share=1.0)
    # Every line is written: a first sync of a big tenant would otherwise wait for a person
    # (lines of more than 50 seats are held by default), and so would its changes.
    context.settings.set_max_seats_change_per_line(None)
    company_of = {tenant_id: context.uow.companies.by_psa_id(connection_id, psa_id).id
                  for tenant_id, psa_id in own.items()}
    bulk = context.customers
    pending, _ = bulk.pending()
    bulk.add([Choice(customer=c, company_ids=(company_of[c.tenant_id],)) for c in pending if c.tenant_id in company_of])
    for tenant_id, company_id in company_of.items():
        for link in context.uow.tenants.links_of_tenant(tenant_id):
            if not context.uow.catalog.agreements(connection_id, link.company_psa_id):
                # Linked to the inactive record a person confirmed: bill to its active twin instead.
                context.uow.tenants.unlink(tenant_id, link.company_id)
                context.uow.tenants.link(tenant_id, company_id)
    profiles = {p.product.identifier: p for p in context.uow.profiles.all(connection_id)}
    for tenant in context.uow.tenants.all():
        agreements = [a for link in context.uow.tenants.links_of_tenant(tenant.tenant_id)
                      for a in context.uow.catalog.agreements(connection_id, link.company_psa_id)]
        if not agreements:
            continue
        mapped = {m.sku_id for m in context.uow.mappings.for_tenant(tenant.tenant_id)}
        for part, (identifier, *_) in PRODUCTS.items():
            sku_id = world.scenario.sku_id(part)
            if sku_id not in mapped:
                context.uow.mappings.save(Mapping(tenant_id=tenant.tenant_id, sku_id=sku_id,
                                              profile=profiles[identifier], agreement_id=agreements[0].id))
    return connection_id, len(context.uow.mappings.all())


def churn(world, share: float, rng: random.Random) -> int:
    """Change ``share`` of the tenants as a month does: a user leaves, two join on a licence
    bought for them, and a spare seat of another licence is released. Returns how many changed."""
    scenario = world.scenario
    ids = sorted(t.id for t in scenario.tenants.values() if t.consent)  # a change seatsync can see
    chosen = rng.sample(ids, max(1, round(len(ids) * share)))
    parts = sorted(PRODUCTS)
    for tenant_id in chosen:
        grow, shrink = rng.sample(parts, 2)
        tenant = scenario.tenant(tenant_id)
        if len(tenant.users) > 1:
            scenario.remove_users(tenant_id, 1)
        scenario.add_seats(tenant_id, grow, 2)
        scenario.add_users(tenant_id, 2, sku=grow)
        sku_id = scenario.sku_id(shrink)
        units = tenant.units(sku_id)
        if units["enabled"] + units["warning"] > tenant.holders(sku_id):
            with contextlib.suppress(KeyError, ValueError):  # no monthly seat to release on this one
                scenario.add_seats(tenant_id, shrink, -1)
    return len(chosen)


# -- one run: a world, three syncs ----------------------------------------------------


@dataclass
class Run:
    label: str
    psa: str
    tenants: int
    workers: int
    concurrency: str
    latency: float
    today: str = BENCH_DAY.isoformat()
    mappings: int = 0
    churned: int = 0
    phases: list[Phase] = field(default_factory=list)
    autotask: dict[str, object] = field(default_factory=dict)
    #: The naive runbook's figures when it ran in this run's world, after its "no change" sync.
    naive: dict[str, Any] = field(default_factory=dict)

    def phase(self, name: str) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "phases": [p.as_dict() for p in self.phases]}


def run(label: str, *, psa: str, tenants: int, latency: float, workers: int | None, sequential: bool, seed: int,
        directory: Path, trace: bool, today: date = BENCH_DAY, phases: tuple[str, ...] = PHASES,
        setup_workers: int | None = None, naive: int = 0) -> Run:
    """Time ``phases`` of ``PHASES`` in a world of ``tenants`` (``workers``: None, the sync service's own
    choice). Without "first", a first sync runs untimed (``setup_workers`` workers, no latency) before them;
    ``naive`` > 0 runs the naive runbook on that many tenants right after "no change"."""
    from app.bootstrap import open_context
    from app.services.secrets import MemoryKeyring, SecretStore

    result = Run(label=label, psa=psa, tenants=tenants, workers=1 if sequential else (workers or 0),
                 concurrency="1 per API" if sequential else "each client's own cap", latency=latency,
                 today=today.isoformat())
    world, own = start_world(directory, psa=psa, tenants=tenants, seed=seed, today=today)
    context = None
    try:
        context = open_context(directory / "data", secrets=SecretStore(MemoryKeyring()), ca_file=world.tls.ca)
        connection_id, result.mappings = configure(world, context, own)
        apis = http_apis(context, connection_id)
        servers = {"microsoft": world.microsoft_server, psa: world.psa_server}
        adapter = context.psas.psa(connection_id)
        if hasattr(adapter, "today"):  # the PSA adapter's day is the benchmark's too
            adapter.today = lambda: today
        if "first" not in phases:  # the lines a first sync writes, untimed
            setup = context.sync_service(workers=setup_workers, today=lambda: today)
            summary = setup.sync(actor="benchmark", trigger="benchmark")
            print(f"{label}, first sync (setup): {len(summary.results):,} tenants", file=sys.stderr, flush=True)
        for server in servers.values():
            server.chaos.latency = latency
        service = context.sync_service(workers=1 if sequential else workers, today=lambda: today)
        result.workers = workers_of(service, connection_id)
        rng = random.Random(seed + 1)
        for name in phases:
            if name == "5 % churn":
                result.churned = churn(world, CHURN_SHARE, rng)
            for server in servers.values():
                server.reset_counts()
            for api in apis.values():
                api.http.counts.clear()
                api.in_flight.reset()
            with memory_probe(trace) as memory:
                started = time.perf_counter()
                summary = service.sync(actor="benchmark", trigger="benchmark")
                wall = time.perf_counter() - started
            requests = {f"{server_name} {method} {route}": n for server_name, server in servers.items()
                        for (method, route), n in sorted(server.requests.items())}
            # One worker sends one request at a time: every API's concurrency is 1.
            bounds = api_bounds(apis, latency, cap=1 if sequential else None)
            print(f"{label}, {name}: {len(summary.results):,} tenants in {wall:,.1f} s", file=sys.stderr, flush=True)
            result.phases.append(Phase(
                name=name, wall=wall, tenants=len(summary.results), failed=len(summary.failed),
                errors=sorted({r.error[:240] for r in summary.failed})[:3],
                operations_applied=summary.writes, held=summary.held, requests=requests,
                psa_write_requests=world.writes(),
                api_requests={k: b.requests for k, b in bounds.items()},
                api_caps={k: b.cap for k, b in bounds.items()},
                api_peak_in_flight={k: b.peak_in_flight for k, b in bounds.items()},
                lower_bound=sum(b.seconds for b in bounds.values()),
                # A worker syncs one tenant at a time, and a tenant takes at least one round trip (its reads
                # are in flight together): no run beats it. (Not all requests / workers: a worker sends
                # a tenant's independent requests side by side.)
                worker_bound=len(summary.results) * latency / result.workers,
                client_requests=sum(b.requests for b in bounds.values()), **memory.figures()))
            if name == "no change" and naive > 0:
                result.naive = naive_runbook(world, context, naive, today)
                print(f"{label}, naive runbook: {result.naive['tenants']:,} tenants in {result.naive['wall']:,.1f} s",
                      file=sys.stderr, flush=True)
        if psa == "autotask":
            result.autotask = autotask_figures(world, result)
    finally:
        if context is not None:
            context.close()
        world.stop()
    return result


def workers_of(service, connection_id: int) -> int:
    """The tenants ``service`` syncs at once on the connection."""
    if hasattr(service, "workers_for"):  # the pool sized from the PSA's cap unless given
        return service.workers_for(connection_id)
    return service.workers


# -- the naive runbook ------------------------------------------------------------------


def runbook_config(world, context, count: int, today: date) -> RunbookConfig:
    """What a runbook is configured with for the first ``count`` tenants (by id) seatsync maps: the partner's
    app, the PSA's credentials, and per tenant its agreement and the PSA product of each mapped SKU."""
    microsoft = world.microsoft.settings(world.microsoft_server)
    values, secrets = world.psa_side.settings()
    mapped: dict[str, tuple[str, dict[str, str]]] = {}
    for mapping in context.uow.mappings.all():
        _, products = mapped.setdefault(mapping.tenant_id, (mapping.agreement_id, {}))
        products[mapping.sku_id] = mapping.profile.product.id
    tenants = [TenantConfig(tenant_id=tenant_id, agreement_id=agreement_id, products=products)
               for tenant_id, (agreement_id, products) in sorted(mapped.items())][:count]
    return RunbookConfig(authority=f"https://{microsoft.authority_host}", client_id=microsoft.client_id,
                         client_secret=microsoft.client_secret, graph_url=microsoft.graph_url, psa=world.psa_kind,
                         psa_settings=values, psa_secrets=secrets, tenants=tenants, ca_file=world.tls.ca,
                         today=today.isoformat())


def naive_runbook(world, context, count: int, today: date) -> dict[str, Any]:
    """The naive runbook on ``count`` tenants of ``world``, at the latency its sandboxes have now."""
    servers = (world.microsoft_server, world.psa_server)
    for server in servers:
        server.reset_counts()
    result = run_runbook(runbook_config(world, context, count, today))
    return {**result.as_dict(), "server_requests": sum(sum(server.requests.values()) for server in servers),
            "psa_write_requests": world.writes()}


def naive_comparison(host: Run, parallel: Run | None, own: OwnRun | None) -> dict[str, Any]:
    """The runbook's no-change time per tenant against seatsync's with nothing to change: the sequential run
    on the same tenants, and the parallel run's (without one, the own-process run's)."""
    runbook = host.naive
    naive_ms = runbook["ms_per_tenant"]

    def against(label: str, tenants: int, workers: int, wall: float, requests: int, ms: float) -> dict[str, Any]:
        return {"label": label, "tenants": tenants, "workers": workers, "wall": wall, "requests": requests,
                "ms_per_tenant": ms, "ratio": naive_ms / ms if ms else None}

    seatsync = []
    unchanged = host.phase("no change")
    if unchanged is not None:
        seatsync.append(against(f"{host.label}, the same tenants", unchanged.tenants, host.workers,
                                unchanged.wall, unchanged.server_requests, unchanged.ms_per_tenant))
    unchanged = parallel.phase("no change") if parallel is not None else None
    child = own.phase("no change") if own is not None else None
    if parallel is not None and unchanged is not None:
        seatsync.append(against(parallel.label, unchanged.tenants, parallel.workers, unchanged.wall,
                                unchanged.server_requests, unchanged.ms_per_tenant))
    elif own is not None and child is not None and child.tenants:
        seatsync.append(against(f"{own.label}, spawn to exit", child.tenants, own.workers, child.wall,
                                sum(child.requests.values()), child.ms_per_tenant))
    return {"world": host.label, "latency": host.latency, "runbook": runbook, "seatsync": seatsync}


# -- seatsync in a process of its own ------------------------------------------------------


@dataclass
class ChildSync:
    """One ``python main.py sync --yes`` in a child process."""

    name: str
    wall: float  # from spawn to exit
    exit_code: int
    rss_peak_mib: float | None
    requests: dict[str, int]  # "<server> <METHOD> <route>" -> requests the sandbox answered
    psa_write_requests: int
    tenants: int | None = None
    written: int | None = None
    held: int | None = None
    failed: int | None = None
    error: str = ""

    def requests_of(self, server: str) -> int:
        return sum(n for key, n in self.requests.items() if key.split(" ", 1)[0] == server)

    @property
    def psa_requests(self) -> int:
        return sum(self.requests.values()) - self.requests_of("microsoft")

    @property
    def ms_per_tenant(self) -> float:
        return 1000 * self.wall / self.tenants if self.tenants else 0.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "microsoft_requests": self.requests_of("microsoft"),
                "psa_requests": self.psa_requests, "ms_per_tenant": self.ms_per_tenant}


@dataclass
class OwnRun:
    label: str
    psa: str
    tenants: int
    latency: float
    today: str  # the machine's day: the sync command takes no day
    workers: int
    reference_tenants: int = REFERENCE_TENANTS
    phases: list[ChildSync] = field(default_factory=list)
    reference: list[ChildSync] = field(default_factory=list)  # the same syncs of a world of reference_tenants

    def phase(self, name: str) -> ChildSync | None:
        return next((p for p in self.phases if p.name == name), None)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "phases": [p.as_dict() for p in self.phases],
                "reference": [p.as_dict() for p in self.reference]}


def child_environment(data_dir: Path, keyring_file: Path, ca_file: str) -> dict[str, str]:
    """What the headless sync needs to find: the data folder, a keyring holding the secrets stored for the
    sandboxes (a plain-text file, named in PYTHON_KEYRING_BACKEND), and the sandboxes' certificate authority
    (requests honours REQUESTS_CA_BUNDLE where no authority of seatsync's own is given)."""
    from app.paths import ENV_DATA_DIR
    from benchmarks.bench_keyring import ENV_FILE

    loopback = "127.0.0.1,localhost"
    return {**os.environ, ENV_DATA_DIR: str(data_dir), "PYTHON_KEYRING_BACKEND": KEYRING_BACKEND,
            ENV_FILE: str(keyring_file), "REQUESTS_CA_BUNDLE": ca_file, "NO_PROXY": loopback, "no_proxy": loopback}


def child_syncs(directory: Path, *, psa: str, tenants: int, latency: float,
                seed: int) -> tuple[list[ChildSync], int]:
    """A world of ``tenants`` configured as ``run`` configures one, then ``OWN_PHASES`` each as
    ``python main.py sync --yes`` in a child process, on the machine's day (the sandboxes' day too).
    Returns the syncs and the tenants the command syncs at once."""
    from app.bootstrap import open_context
    from app.services.secrets import MemoryKeyring, SecretStore
    from benchmarks.bench_keyring import write

    today = date.today()
    world, own = start_world(directory, psa=psa, tenants=tenants, seed=seed, today=today)
    try:
        keyring = MemoryKeyring()
        context = open_context(directory / "data", secrets=SecretStore(keyring), ca_file=world.tls.ca)
        try:
            connection_id, _ = configure(world, context, own)
            workers = workers_of(context.sync, connection_id)
        finally:
            context.close()  # the child has the database to itself
        keyring_file = directory / "keyring.json"
        write(keyring_file, dict(keyring.store))
        env = child_environment(directory / "data", keyring_file, world.tls.ca)
        servers = {"microsoft": world.microsoft_server, psa: world.psa_server}
        for server in servers.values():
            server.chaos.latency = latency
        syncs = []
        for name in OWN_PHASES:
            for server in servers.values():
                server.reset_counts()
            syncs.append(child_sync(name, env, directory / f"{name.replace(' ', '-')}"))
            syncs[-1].requests = {f"{server_name} {method} {route}": n for server_name, server in servers.items()
                                  for (method, route), n in sorted(server.requests.items())}
            syncs[-1].psa_write_requests = world.writes()
        return syncs, workers
    finally:
        world.stop()


def child_sync(name: str, env: dict[str, str], output: Path) -> ChildSync:
    """``python main.py sync --yes``: wall time from spawn to exit, peak RSS, and its summary line."""
    command = [sys.executable, str(ROOT / "main.py"), "sync", "--yes"]
    with open(f"{output}.out", "w+", encoding="utf-8") as stdout, open(f"{output}.err", "w+", encoding="utf-8") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err)
        peak = ChildPeak(child.pid).start()
        try:
            code = child.wait(timeout=3600)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
        wall = time.perf_counter() - started
        rss = peak.stop()
        stdout.seek(0)
        err.seek(0)
        printed, said = stdout.read(), err.read()
    result = ChildSync(name=name, wall=wall, exit_code=code, rss_peak_mib=rss, requests={}, psa_write_requests=0)
    found = SUMMARY.search(printed)
    if found:
        result.tenants, result.written, result.held, result.failed = map(int, found.groups())
    if code not in (0, 1) or not found:  # 1: some tenant failed, which the summary says
        last = (said.strip().splitlines() or printed.strip().splitlines() or ["no output"])[-1]
        result.error = f"exit code {code}: {last[:240]}"
    print(f"own process, {name}: {result.tenants or 0:,} tenants in {wall:,.1f} s, peak RSS {rss} MiB"
          + (f" ({result.error})" if result.error else ""), file=sys.stderr, flush=True)
    return result


def own_process(label: str, *, psa: str, tenants: int, latency: float, seed: int, directory: Path,
                new_database: Callable[[], str | None]) -> OwnRun:
    """Seatsync alone in its own process: a world of ``tenants``, and the reference world (``REFERENCE_TENANTS``,
    or half of ``tenants`` when fewer), each on a database of its own (``new_database``: ``database()``'s)."""
    result = OwnRun(label=label, psa=psa, tenants=tenants, latency=latency, today=date.today().isoformat(),
                    workers=0, reference_tenants=min(REFERENCE_TENANTS, max(1, tenants // 2)))
    with team_database(new_database()):
        result.reference, _ = child_syncs(directory / "reference", psa=psa, tenants=result.reference_tenants,
                                          latency=latency, seed=seed)
    with team_database(new_database()):
        result.phases, result.workers = child_syncs(directory / "world", psa=psa, tenants=tenants,
                                                    latency=latency, seed=seed)
    return result


def autotask_figures(world, result: Run) -> dict[str, object]:
    """Requests per hour each sync would use of Autotask's budget, and the peak in flight per endpoint."""
    gate = world.psa.gate
    endpoints = sorted({endpoint for _, endpoint in gate.peak})
    return {
        "hourly_limit": AUTOTASK_HOURLY_LIMIT,
        "requests_per_hour": {p.name: round(p.psa_requests / p.wall * 3600) if p.wall else 0 for p in result.phases},
        "peak_in_flight": {e: gate.peak_for(e) for e in endpoints},
        "refused_by_thread_limit": sum(gate.refused.values()),
    }


# -- command line ----------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000, help="tenants of the parallel run (default 1000)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every request (default 0.1)")
    parser.add_argument("--psa", choices=PSAS, default="connectwise", help="the PSA sandbox (default connectwise)")
    parser.add_argument("--workers", type=int, default=None,
                        help="tenants synced at once (default: the sync service's own choice)")
    parser.add_argument("--baseline-tenants", type=int, default=50,
                        help="tenants of the sequential baseline (default 50; 0 skips it)")
    parser.add_argument("--own-process", choices=("after", "only", "off"), default="after",
                        help="seatsync alone in a process of its own (python main.py sync --yes, first sync and no "
                             "change, on the machine's day): after the in-process runs (default), only it (no "
                             "parallel run in this process), or off")
    parser.add_argument("--naive-tenants", type=int, default=50,
                        help="tenants of the naive runbook (default 50; 0 skips it): in the sequential baseline's "
                             "world when it has as many tenants, else in a world of its own")
    parser.add_argument("--seed", type=int, default=7, help="scenario seed (default 7)")
    parser.add_argument("--today", type=date.fromisoformat, default=BENCH_DAY, metavar="YYYY-MM-DD",
                        help=f"the day every sync runs on (default {BENCH_DAY}: mid-period, so the first sync "
                             "also writes prorate lines)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also trace Python allocations (peak); slows the run down")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE as JSON")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="seatsync's database: the local SQLite file (default) or a team's PostgreSQL")
    return parser.parse_args(argv)


@contextlib.contextmanager
def database(kind: str):
    """Yields a function giving each run its database: None (SQLite in its data folder) or a PostgreSQL URL."""
    if kind == "sqlite":
        yield lambda: None
        return
    from tests.postgres import PostgresServer

    server = PostgresServer().start()
    try:
        yield server.new_database
    finally:
        server.stop()


@contextlib.contextmanager
def team_database(url: str | None):
    """``open_context`` opens ``url`` (a team database) for the block, and so do the processes started in it;
    None: the data folder's SQLite file, whatever team database this process's environment names."""
    from app.services.team.location import ENVIRONMENT

    before = os.environ.pop(ENVIRONMENT, None)
    if url is not None:
        os.environ[ENVIRONMENT] = url
    try:
        yield
    finally:
        os.environ.pop(ENVIRONMENT, None)
        if before is not None:
            os.environ[ENVIRONMENT] = before


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    workers = args.workers  # None: the sync service's own choice
    parallel = sequential = naive_world = own = None
    with tempfile.TemporaryDirectory(prefix="seatsync-bench-") as tmp, database(args.database) as new_database:
        on = "" if args.database == "sqlite" else f" on {args.database}"
        common = {"psa": args.psa, "latency": args.latency, "seed": args.seed, "trace": args.tracemalloc,
                  "today": args.today}
        if args.own_process != "only":
            with team_database(new_database()):
                parallel = run(f"parallel{on}", tenants=args.tenants, workers=workers, sequential=False,
                               directory=Path(tmp) / "parallel", **common)
        if args.own_process != "off":
            own = own_process(f"own process{on}", psa=args.psa, tenants=args.tenants, latency=args.latency,
                              seed=args.seed, directory=Path(tmp) / "own", new_database=new_database)
        shared = args.naive_tenants if args.naive_tenants == args.baseline_tenants else 0
        if args.baseline_tenants > 0:
            with team_database(new_database()):
                sequential = run(f"sequential{on}", tenants=args.baseline_tenants, workers=1, sequential=True,
                                 directory=Path(tmp) / "sequential", naive=shared, **common)
        if args.naive_tenants > 0 and not shared:
            with team_database(new_database()):
                naive_world = run(f"naive runbook's world{on}", tenants=args.naive_tenants, workers=1,
                                  sequential=True, directory=Path(tmp) / "naive", phases=("no change",),
                                  setup_workers=workers, naive=args.naive_tenants, **common)
    host = sequential if shared else naive_world
    comparison = naive_comparison(host, parallel, own) if host is not None and host.naive else None
    print(report([r for r in (parallel, sequential, naive_world) if r is not None], parallel=parallel,
                 sequential=sequential, own=own, naive=comparison))
    if args.json:
        figures = {"parallel": parallel and parallel.as_dict(), "sequential": sequential and sequential.as_dict(),
                   "naive_world": naive_world and naive_world.as_dict(), "own_process": own and own.as_dict(),
                   "naive": comparison}
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
