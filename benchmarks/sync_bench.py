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
changed seats and users. The same
three syncs then run on ``--baseline-tenants`` tenants with one worker and
one request in flight per API: the sequential baseline. ``--database
postgresql`` runs them on a throw-away PostgreSQL server made from this
machine's binaries (tests/postgres.py), a database of its own per run. What
each figure means: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_measure import (  # noqa: E402
    BENCH_DAY,
    Phase,
    api_bounds,
    http_apis,
    memory_probe,
)
from benchmarks.bench_report import report  # noqa: E402

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
    bulk.add([Choice(customer=c, company_ids=(company_of[c.tenant_id],))
              for c in bulk.pending() if c.tenant_id in company_of])
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


def run(label: str, *, psa: str, tenants: int, latency: float, workers: int, sequential: bool, seed: int,
        directory: Path, trace: bool, today: date = BENCH_DAY) -> Run:
    from app.bootstrap import open_context
    from app.services.secrets import MemoryKeyring, SecretStore

    result = Run(label=label, psa=psa, tenants=tenants, workers=1 if sequential else workers,
                 concurrency="1 per API" if sequential else "each client's own cap", latency=latency,
                 today=today.isoformat())
    world, own = start_world(directory, psa=psa, tenants=tenants, seed=seed, today=today)
    context = None
    try:
        context = open_context(directory / "data", secrets=SecretStore(MemoryKeyring()), ca_file=world.tls.ca)
        connection_id, result.mappings = configure(world, context, own)
        apis = http_apis(context, connection_id)
        servers = {"microsoft": world.microsoft_server, psa: world.psa_server}
        for server in servers.values():
            server.chaos.latency = latency
        adapter = context.psas.psa(connection_id)
        if hasattr(adapter, "today"):  # the PSA adapter's day is the benchmark's too
            adapter.today = lambda: today
        service = context.sync_service(workers=result.workers, today=lambda: today)
        rng = random.Random(seed + 1)
        for name in ("first", "no change", "5 % churn"):
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
                worker_bound=sum(b.requests for b in bounds.values()) * latency / result.workers,
                client_requests=sum(b.requests for b in bounds.values()), **memory.figures()))
        if psa == "autotask":
            result.autotask = autotask_figures(world, result)
    finally:
        if context is not None:
            context.close()
        world.stop()
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
                        help="tenants synced at once (default: SyncService's own default)")
    parser.add_argument("--baseline-tenants", type=int, default=50,
                        help="tenants of the sequential baseline (default 50; 0 skips it)")
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
    """``open_context`` opens ``url`` (a team database) for the block; None: the data folder's SQLite file."""
    from app.services.team.location import ENVIRONMENT

    if url is None:
        yield
        return
    os.environ[ENVIRONMENT] = url
    try:
        yield
    finally:
        del os.environ[ENVIRONMENT]


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    from app.services.sync.service import SyncService

    workers = args.workers or inspect.signature(SyncService).parameters["workers"].default
    runs = []
    with tempfile.TemporaryDirectory(prefix="seatsync-bench-") as tmp, database(args.database) as new_database:
        on = "" if args.database == "sqlite" else f" on {args.database}"
        with team_database(new_database()):
            runs.append(run(f"parallel{on}", psa=args.psa, tenants=args.tenants, latency=args.latency,
                            workers=workers, sequential=False, seed=args.seed, directory=Path(tmp) / "parallel",
                            trace=args.tracemalloc, today=args.today))
        if args.baseline_tenants > 0:
            with team_database(new_database()):
                runs.append(run(f"sequential{on}", psa=args.psa, tenants=args.baseline_tenants,
                                latency=args.latency, workers=1, sequential=True, seed=args.seed,
                                directory=Path(tmp) / "sequential", trace=args.tracemalloc, today=args.today))
    print(report(runs))
    if args.json:
        figures = [{**asdict(r), "phases": [p.as_dict() for p in r.phases]} for r in runs]
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
