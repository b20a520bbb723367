"""How long "Sync now" takes for one company, in the window and as a headless command, and how long the
window's UI thread is ever blocked during a sync.

    python benchmarks/sync_now_bench.py                      # 100 ms a request, 5 runs of each
    python benchmarks/sync_now_bench.py --latency 0.05 --repeat 9 --json sync-now.json

Starts the Microsoft sandbox and a PSA sandbox on loopback over TLS
(``SandboxWorld``), where each company's tenant holds ten paid licenses,
all mapped, and ``--users`` users (300), with ``--latency`` seconds on every
request, on the pinned mid-period day (``--today``). Then, each ``--repeat``
times (every run printed, and the median):

- "Sync now" for one company, first sync / no change / one seat changed:
  what the window's toolbar runs for the selected company (the scheduler's
  pool, the window's job, ``SyncService.sync``), without the window;
- ``python main.py sync --company ID --yes`` as a process of its own, from
  spawn to exit (first sync, no change), and the start-up of
  ``main.py --help`` for reference;

each with its requests per API and its dependency chain: the fewest round
trips that must follow each other, times the latency. Last, the UI probe
(benchmarks/ui_probe.py) in a process of its own: the window syncing
``--ui-probe-tenants`` tenants, and the longest block of its UI thread.
What each figure means: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_measure import BENCH_DAY  # noqa: E402
from benchmarks.bench_report import PSA_NAMES, table  # noqa: E402
from benchmarks.sync_bench import PRODUCTS, PSAS, UNLIMITED, configure  # noqa: E402

SYNC_NOW_GOAL = "<= 1 s"
CLI_GOAL = "<= 1.5 s"
SYNC_NOW = "Sync now, one company"
CLI = "main.py sync --company ID --yes, whole process"
#: Per license: the share of the tenant's users it is assigned to, and the seats bought beyond them.
LICENSES = {
    "SPB": (0.60, 5),
    "O365_BUSINESS_PREMIUM": (0.20, 2),
    "SPE_E3": (0.15, 0),
    "EXCHANGESTANDARD": (0.05, 1),
    "O365_BUSINESS_ESSENTIALS": (0.10, 3),
    "ENTERPRISEPACK": (0.05, 0),
    "MCOEV": (0.15, 2),
    "POWER_BI_PRO": (0.12, 1),
    "AAD_PREMIUM": (0.30, 0),
    "VISIOCLIENT": (0.03, 1),
}
assert set(LICENSES) == set(PRODUCTS)  # every license mapped, each to its own product
#: The license whose seat "one seat changed" adds, and how long before the day every license was bought.
CHANGED = "SPB"
BOUGHT_DAYS_BEFORE = 200
#: Requests of the Microsoft sandbox by the API they belong to (its route names' prefixes).
MICROSOFT_APIS = {"entra:": "Entra ID", "graph:": "Graph", "pc:": "Partner Center"}
#: Round trips that must precede a token: Entra's discovery document (msal reads it once per authority).
DISCOVERY = "entra:openid-configuration"
TOKEN = "entra:token"
#: Each PSA's requests that must precede its reads, one after another (ConnectWise: the site's codebase;
#: HaloPSA: where to sign in, then the token; Autotask: the zone of the API user).
PSA_SIGN_IN = ("/login/companyinfo/{company}", "GET AuthInfo", "token", "zoneInformation")
#: A PSA's route names are not one per read (Autotask's "{entity}/query" serves every entity), so its reads
#: count as one round trip, plus each next page of a query (Autotask's), which follows the page before.
PSA_NEXT_PAGE = "/next"
#: The child's keyring: the secrets this process stored, in a file only its owner reads (bench_keyring.py).
KEYRING_BACKEND = "benchmarks.bench_keyring.PlaintextFileKeyring"


# -- the world ------------------------------------------------------------------------


class Day:
    """The sandboxes' day, which the benchmark moves for the headless command (it syncs on the machine's)."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


def shape(scenario: Any, tenant_id: str, users: int, day: date) -> None:
    """Make a tenant hold exactly ``users`` users and the ten licenses of ``LICENSES``, bought long before
    ``day`` on monthly terms, and nothing else (no free license either)."""
    with scenario.lock:
        tenant = scenario.tenant(tenant_id)
        tenant.subscriptions = []
        tenant.users = tenant.users[:users]
        for user in tenant.users:
            user.sku_ids = []
        tenant.consent = True
    if len(tenant.users) < users:
        scenario.add_users(tenant_id, users - len(tenant.users))
    for part, (share, spare) in LICENSES.items():
        assigned = max(1, round(users * share))
        scenario.add_sku(tenant_id, part, assigned + spare, assigned=assigned,
                         bought=day - timedelta(days=BOUGHT_DAYS_BEFORE))
    scenario.renew_gdap(tenant_id, days=3650)  # access outlives the day the headless command syncs on


def start_world(directory: Path, *, psa: str, companies: int, users: int, seed: int, day: Day):
    """The sandboxes on ``day``, with ``companies`` companies (and a few more) whose tenants are shaped
    (``shape``) and bill to a PSA customer with an agreement. Returns (world, {tenant id: the PSA company
    seeded for it})."""
    from app.sandbox.world import AGREEMENT_START, SandboxWorld
    from app.sandbox.world_psas import CATALOG

    world = SandboxWorld.start(directory, tenants=companies + 2, seed=seed, psa=psa, today=day)
    side = world.psa_side
    have = {identifier for identifier, *_ in CATALOG}
    for identifier, description, price, cost in PRODUCTS.values():
        if identifier not in have:
            side.add_product(identifier, description=description, price=price, cost=cost)
    own: dict[str, str] = {}
    for tenant in list(world.scenario.tenants.values()):
        shape(world.scenario, tenant.id, users, day())
        if world.intended.get(tenant.id) not in world.agreements:
            company = side.add_company(tenant.name, domains=list(tenant.domains) or [tenant.default_domain])
            side.add_agreement(company, start=AGREEMENT_START)
            own[tenant.id] = company
    if psa == "autotask":  # as sync_bench: the run measures seatsync, not the sandbox's hourly budget
        autotask: Any = world.psa
        autotask.budget.limit = UNLIMITED
    return world, own


def single_companies(context: Any) -> list[int]:
    """Companies billing exactly one tenant that no other company bills, by id."""
    links = context.uow.tenants.all_links()
    tenants_of: dict[int, set[str]] = {}
    companies_of: Counter[str] = Counter()
    for link in links:
        tenants_of.setdefault(link.company_id, set()).add(link.tenant_id)
        companies_of[link.tenant_id] += 1
    return sorted(c for c, tenants in tenants_of.items()
                  if len(tenants) == 1 and companies_of[next(iter(tenants))] == 1)


# -- what was requested -----------------------------------------------------------------


class RequestLog:
    """Every request the sandboxes answer, in order: (when it arrived, server, method, route)."""

    def __init__(self, servers: dict[str, Any]) -> None:
        self.entries: list[tuple[float, str, str, str]] = []
        self._servers = servers
        for name, server in servers.items():
            server.requests = _Logged(name, self.entries, server.requests)

    def clear(self) -> None:
        for server in self._servers.values():
            server.reset_counts()
        self.entries.clear()

    def taken(self) -> list[tuple[float, str, str, str]]:
        entries = sorted(self.entries)
        self.entries.clear()
        return entries


class _Logged(Counter):
    """The sandbox's request counter, also logging each request as it is counted (under the server's lock)."""

    def __init__(self, server: str, entries: list[tuple[float, str, str, str]], counts: Counter) -> None:
        super().__init__(counts)
        self.server = server
        self.entries = entries

    def __setitem__(self, key: Any, value: int) -> None:
        if value > self.get(key, 0):
            method, route = key
            self.entries.append((time.perf_counter(), self.server, method, route))
        super().__setitem__(key, value)


def api_of(server: str, route: str, psa_name: str) -> str:
    if server != "microsoft":
        return psa_name
    return next((api for prefix, api in MICROSOFT_APIS.items() if route.startswith(prefix)), "Microsoft")


@dataclass(frozen=True)
class Chain:
    """The round trips a sync needs one after another, counted from what it requested (README)."""

    microsoft: int  # discovery, token, the longest paged read
    psa: int  # sign-in, the reads before the first write and their next pages
    writes: int  # the operations of the row with most written (each waits for the one before)
    read_back: int  # one read of the lines after any write

    @property
    def stages(self) -> int:
        return max(self.microsoft, self.psa) + self.writes + self.read_back

    def words(self) -> str:
        return (f"{self.stages} round trip{'' if self.stages == 1 else 's'}: max(Microsoft {self.microsoft}, "
                f"PSA {self.psa}) + writes {self.writes} + read-back {self.read_back}")


def chain_of(entries: list[tuple[float, str, str, str]], is_write: Callable[[str, str], bool],
             writes_per_row: Counter) -> Chain:
    microsoft = [(method, route) for _, server, method, route in entries if server == "microsoft"]
    psa = [(when, method, route) for when, server, method, route in entries if server != "microsoft"]
    routes = {route for _, route in microsoft}
    reads = Counter(route for _, route in microsoft if route not in (DISCOVERY, TOKEN))
    microsoft_stages = (DISCOVERY in routes) + (TOKEN in routes) + max(reads.values(), default=0)
    signed_in = {route for _, _, route in psa if route in PSA_SIGN_IN}
    first_write = min((when for when, method, route in psa if route not in PSA_SIGN_IN and is_write(method, route)),
                      default=float("inf"))
    psa_reads = [route for when, method, route in psa
                 if route not in PSA_SIGN_IN and not is_write(method, route) and when < first_write]
    next_pages = sum(route.endswith(PSA_NEXT_PAGE) for route in psa_reads)
    written = max(writes_per_row.values(), default=0)
    return Chain(microsoft=microsoft_stages, psa=len(signed_in) + (1 if psa_reads else 0) + next_pages,
                 writes=written, read_back=1 if written else 0)


def writes_per_row(context: Any, since: datetime) -> Counter:
    """PSA writes seatsync audited since ``since``, per row (tenant, agreement, product)."""
    return Counter((entry.tenant_id, entry.agreement_id, entry.product_id)
                   for entry in context.uow.audit.query(since=since))


# -- one measure ------------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    requests: dict[str, int]  # API -> requests
    routes: dict[str, int]  # "<METHOD> <route>" (the sandboxes' names) -> requests
    chain: Chain
    writes: int
    failed: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.requests.values())


@dataclass
class Measure:
    name: str
    goal: str
    runs: list[Run] = field(default_factory=list)
    note: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def requests(self) -> int:
        return statistics.median_low(r.total for r in self.runs)

    def chain_seconds(self, latency: float) -> float:
        return statistics.median_low(r.chain.stages for r in self.runs) * latency

    def typical(self) -> Run:
        """The run whose request count is the median's."""
        return next(r for r in self.runs if r.total == self.requests)


class Bench:
    """The world, seatsync's data over it, and the means to time one company's sync."""

    def __init__(self, directory: Path, *, psa: str, users: int, companies: int, latency: float, seed: int,
                 today: date) -> None:
        from app.bootstrap import open_context
        from app.services.secrets import MemoryKeyring, SecretStore

        self.directory = directory
        self.latency = latency
        self.today = today
        self.day = Day(today)
        self.psa_name = PSA_NAMES.get(psa, psa)
        self.keyring = MemoryKeyring()
        self.world, own = start_world(directory / "world", psa=psa, companies=companies, users=users, seed=seed,
                                      day=self.day)
        self.context: Any = None
        try:
            self.context = open_context(directory / "data", secrets=SecretStore(self.keyring),
                                        ca_file=self.world.tls.ca)
            self.connection_id, self.mappings = configure(self.world, self.context, own)
            adapter = self.context.psas.psa(self.connection_id)
            if hasattr(adapter, "today"):  # the PSA adapter's day is the benchmark's too
                adapter.today = lambda: today
            self.companies = single_companies(self.context)
            if len(self.companies) < companies:
                raise RuntimeError(f"the world has {len(self.companies)} companies of one tenant each, "
                                   f"not the {companies} the benchmark needs")
            self.servers = {"microsoft": self.world.microsoft_server, psa: self.world.psa_server}
            self.log = RequestLog(self.servers)
            for server in self.servers.values():
                server.chaos.latency = latency
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
        self.world.stop()

    def tenant_of(self, company_id: int) -> str:
        return self.context.uow.tenants.links_of_company(company_id)[0].tenant_id

    def change_one_seat(self, company_id: int) -> None:
        """One more seat of ``CHANGED`` bought and assigned to a user who had none."""
        tenant_id = self.tenant_of(company_id)
        self.world.scenario.add_seats(tenant_id, CHANGED, 1)
        self.world.scenario.assign(tenant_id, CHANGED, 1)

    def _run(self, timed: Callable[[], tuple[float, list[str], int | None]]) -> Run:
        self.log.clear()
        since = datetime.now(UTC)
        wall, failed, writes = timed()
        entries = self.log.taken()
        per_row = writes_per_row(self.context, since)
        requests: Counter[str] = Counter(api_of(server, route, self.psa_name) for _, server, _, route in entries)
        routes = Counter(f"{method} {route}" for _, _, method, route in entries)
        return Run(wall=wall, requests=dict(requests), routes=dict(sorted(routes.items())),
                   chain=chain_of(entries, self.world.psa_side.is_write, per_row),
                   writes=sum(per_row.values()) if writes is None else writes, failed=failed)

    # -- Sync now, as the toolbar runs it --------------------------------------------------

    @contextmanager
    def toolbar(self) -> Iterator[Callable[[int], Run]]:
        """The window's way to a sync, without the window: its job (app.ui.app.service_sync, as the sync gateway
        calls it) on the scheduler's pool; yields a function that syncs one company and times it."""
        from app.models.records import RunTrigger
        from app.services.sync.scheduler import ScheduleSettings, SyncScheduler
        from app.ui.app import service_sync

        run_sync = service_sync(self.context, today=lambda: self.today)
        user = getpass.getuser()
        done = threading.Event()
        outcome: list[Any] = []

        def job(target: str, *, trigger: str) -> Any:  # the sync gateway's job, progress recorded nowhere
            actor = f"sync (manual: {user})" if trigger == RunTrigger.MANUAL else "sync (schedule)"
            return run_sync(target, actor=actor, trigger=trigger, progress=lambda *_: None, cancel=threading.Event())

        def finished(target: str, summary: Any, error: BaseException | None) -> None:
            outcome[:] = [summary, error]
            done.set()

        scheduler = SyncScheduler(job, settings=ScheduleSettings(enabled=False), last_run=lambda: None,
                                  on_finished=finished)
        scheduler.start()

        def sync_now(company_id: int) -> Run:
            def timed() -> tuple[float, list[str], int | None]:
                done.clear()
                started = time.perf_counter()
                if not scheduler.sync_now(str(company_id)):
                    raise RuntimeError(f"company {company_id} is already syncing")
                if not done.wait(600):
                    raise TimeoutError("Sync now did not finish within 10 minutes")
                wall = time.perf_counter() - started
                summary, error = outcome
                if error is not None:
                    return wall, [f"{type(error).__name__}: {error}"], 0
                return wall, [f"{r.name or r.tenant_id}: {r.error}" for r in summary.failed], summary.writes

            return self._run(timed)

        try:
            yield sync_now
        finally:
            scheduler.shutdown(wait=True)

    # -- the headless command, in a process of its own -----------------------------------------

    def cli_environment(self) -> dict[str, str]:
        """The child's environment: this data folder, a keyring holding the secrets stored here, trust in the
        sandboxes' certificate authority, loopback never through a proxy, and Python's compiled bytecode kept
        (in this folder) as an installed seatsync has it, even where the environment says not to write it."""
        from app.paths import ENV_DATA_DIR
        from app.services.secrets import ENV_ALLOW_PLAINTEXT
        from app.services.team.location import ENVIRONMENT
        from benchmarks.bench_keyring import ENV_FILE, write

        secrets = self.directory / "keyring.json"
        write(secrets, dict(self.keyring.store))
        # this folder's database; bytecode written and read
        env = {key: value for key, value in os.environ.items() if key not in (ENVIRONMENT, "PYTHONDONTWRITEBYTECODE")}
        env["PYTHONPYCACHEPREFIX"] = str(self.directory / "pycache")
        env.update({ENV_DATA_DIR: str(self.directory / "data"), "PYTHON_KEYRING_BACKEND": KEYRING_BACKEND,
                    ENV_FILE: str(secrets), ENV_ALLOW_PLAINTEXT: "1", "REQUESTS_CA_BUNDLE": self.world.tls.ca,
                    "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
        return env

    def spawn(self, *args: str, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(ROOT / "main.py"), *args], env=env, cwd=ROOT, timeout=600,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True)
        return time.perf_counter() - started, done

    def cli_sync(self, company_id: int, env: dict[str, str]) -> Run:
        def timed() -> tuple[float, list[str], int | None]:
            wall, done = self.spawn("sync", "--company", str(company_id), "--yes", env=env)
            failed = [] if done.returncode == 0 else [
                f"exit code {done.returncode}: " + " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])]
            return wall, failed, None

        return self._run(timed)

    def move_to(self, day: date) -> None:
        """The sandboxes' day becomes ``day`` (subscriptions renew up to it)."""
        self.day.day = day
        self.world.scenario.set_date(day)


# -- the benchmark ----------------------------------------------------------------------


def sync_now_measures(bench: Bench, repeat: int, progress: Callable[[str], None]) -> list[Measure]:
    first = Measure(f"{SYNC_NOW}, first sync", SYNC_NOW_GOAL, note="each run a company never synced before")
    unchanged = Measure(f"{SYNC_NOW}, no change", SYNC_NOW_GOAL, note="the first run's company, again")
    changed = Measure(f"{SYNC_NOW}, one seat changed", SYNC_NOW_GOAL,
                      note=f"the same company, one more seat of {CHANGED} bought and assigned before each run")
    with bench.toolbar() as sync_now:
        for company in bench.companies[:repeat]:
            first.runs.append(sync_now(company))
            progress(f"{first.name}: {first.runs[-1].wall:.2f} s")
        company = bench.companies[0]
        for _ in range(repeat):
            unchanged.runs.append(sync_now(company))
            progress(f"{unchanged.name}: {unchanged.runs[-1].wall:.2f} s")
        for _ in range(repeat):
            bench.change_one_seat(company)
            changed.runs.append(sync_now(company))
            progress(f"{changed.name}: {changed.runs[-1].wall:.2f} s")
    return [first, unchanged, changed]


def cli_measures(bench: Bench, repeat: int, progress: Callable[[str], None]) -> tuple[list[Measure], list[float]]:
    env = bench.cli_environment()
    # Compiles what a sync imports, as installing seatsync does: a plan of a company the runs below never use.
    bench.spawn("plan", "--company", str(bench.companies[-1]), env=env)
    startup = []
    for _ in range(repeat):
        wall, done = bench.spawn("--help", env=env)
        if done.returncode != 0:
            raise RuntimeError(f"main.py --help failed: {done.stderr}")
        startup.append(wall)
    progress(f"main.py --help: {statistics.median(startup):.2f} s")
    day = date.today()
    note = f"on {day} (the machine's day: the sync command takes no --today; the sandboxes moved to it)"
    first = Measure(f"{CLI}, first sync", CLI_GOAL, note=f"each run a company never synced before, {note}")
    unchanged = Measure(f"{CLI}, no change", CLI_GOAL, note=f"the first run's company, again, {note}")
    bench.move_to(day)
    companies = bench.companies[repeat:2 * repeat]
    for company in companies:
        first.runs.append(bench.cli_sync(company, env))
        progress(f"{first.name}: {first.runs[-1].wall:.2f} s")
    for _ in range(repeat):
        unchanged.runs.append(bench.cli_sync(companies[0], env))
        progress(f"{unchanged.name}: {unchanged.runs[-1].wall:.2f} s")
    return [first, unchanged], startup


def ui_probe(tenants: int, latency: float, today: date, directory: Path) -> tuple[dict[str, Any] | None, str]:
    """benchmarks/ui_probe.py in a process of its own: (its figures, what it printed)."""
    out = directory / "ui_probe.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ui_probe.py"), "--tenants", str(tenants),
                           "--latency", str(latency), "--today", today.isoformat(), "--json", str(out)],
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, cwd=ROOT, timeout=1800,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if not out.exists():
        return None, f"the UI probe failed (exit code {done.returncode}):\n{done.stderr.strip()[-2000:]}"
    return json.loads(out.read_text(encoding="utf-8")), done.stdout.strip()


# -- the report -------------------------------------------------------------------------


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def describe(measure: Measure, latency: float) -> list[str]:
    run = measure.typical()
    apis = ", ".join(f"{api} {n}" for api, n in sorted(run.requests.items()))
    chain = measure.chain_seconds(latency)
    lines = [f"{measure.name} (goal {measure.goal})", f"  {measure.note}",
             f"  runs (s): {_seconds([r.wall for r in measure.runs])}",
             f"  median wall: {measure.wall:.2f} s",
             f"  requests: {run.total} ({apis})",
             "  by route: " + ", ".join(f"{route} {n}" for route, n in run.routes.items()),
             f"  PSA writes: {run.writes}",
             f"  dependency chain: {run.chain.words()} = {chain:.2f} s",
             f"  wall / chain: {measure.wall / chain:.1f}x" if chain else "  wall / chain: n/a (no latency)"]
    failed = sorted({why for r in measure.runs for why in r.failed})
    if failed:
        lines.append("  failed: " + "; ".join(failed[:3]))
    return lines


def report(measures: list[Measure], startup: list[float], probe: dict[str, Any] | None, probe_text: str, *,
           latency: float, users: int, psa_name: str, today: date, probe_tenants: int) -> str:
    parts = [f"Sync now, one company: 10 licenses, all mapped, {users} users; {psa_name}, "
             f"{latency * 1000:g} ms a request; synced on {today}"]
    for measure in measures:
        parts.append("\n".join(describe(measure, latency)))
    parts.append(f"start-up, main.py --help: runs (s): {_seconds(startup)}; median {statistics.median(startup):.2f} s")
    if probe_tenants:
        parts.append(f"UI probe (a world of {probe_tenants} tenants, one Sync now of every company in the window):\n"
                     + "\n".join(f"  {line}" for line in probe_text.splitlines()))
    rows: list[tuple[str, str, str, int | str, str]] = [
        (m.name, m.goal, f"{m.wall:.2f} s", m.requests, f"{m.chain_seconds(latency):.2f} s") for m in measures]
    rows.append(("start-up, main.py --help", "n/a", f"{statistics.median(startup):.2f} s", 0, "n/a"))
    if probe_tenants:
        block = "failed" if probe is None else f"{probe['longest_block_ms']:.0f} ms"
        synced = "" if probe is None else f", {probe['tenants']} synced"
        rows.append((f"longest UI-thread block, world of {probe_tenants}{synced}", "<= 50 ms", block, "n/a", "n/a"))
    parts.append(table(("measure", "goal", "median", "requests", "chain"), rows))
    return "\n\n".join(parts)


def figures(measures: list[Measure], startup: list[float], probe: dict[str, Any] | None, latency: float,
            probe_tenants: int) -> dict[str, Any]:
    return {
        "latency": latency,
        "measures": [{"name": m.name, "goal": m.goal, "wall": round(m.wall, 4), "requests": m.requests,
                      "chain": round(m.chain_seconds(latency), 4)} for m in measures],
        "startup": round(statistics.median(startup), 4),
        "ui_probe": None if not probe_tenants or probe is None else {
            "longest_block_ms": probe["longest_block_ms"], "tenants": probe["tenants"]},
    }


# -- command line ----------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every request (default 0.1)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each measure (default 5)")
    parser.add_argument("--users", type=int, default=300, help="users of each company's tenant (default 300)")
    parser.add_argument("--psa", choices=PSAS, default="connectwise", help="the PSA sandbox (default connectwise)")
    parser.add_argument("--seed", type=int, default=7, help="scenario seed (default 7)")
    parser.add_argument("--today", type=date.fromisoformat, default=BENCH_DAY, metavar="YYYY-MM-DD",
                        help=f"the day Sync now runs on (default {BENCH_DAY}: mid-period, so a first sync also "
                             "writes prorate lines)")
    parser.add_argument("--ui-probe-tenants", type=int, default=200,
                        help="tenants of the UI probe's world (default 200, of which onboarding adds 160; "
                             "0 skips the probe)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures to FILE as JSON")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.users < 10:
        parser.error("--repeat must be at least 1, and --users at least 10")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="seatsync-sync-now-") as tmp:
        bench = Bench(Path(tmp), psa=args.psa, users=args.users, companies=2 * args.repeat + 1, latency=args.latency,
                      seed=args.seed, today=args.today)
        try:
            measures = sync_now_measures(bench, args.repeat, progress)
            cli, startup = cli_measures(bench, args.repeat, progress)
            measures += cli
        finally:
            bench.close()
        probe, probe_text = None, ""
        if args.ui_probe_tenants > 0:
            probe, probe_text = ui_probe(args.ui_probe_tenants, args.latency, args.today, Path(tmp))
    print(report(measures, startup, probe, probe_text, latency=args.latency, users=args.users,
                 psa_name=bench.psa_name, today=args.today, probe_tenants=args.ui_probe_tenants))
    if args.json:
        data = figures(measures, startup, probe, args.latency, args.ui_probe_tenants)
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
