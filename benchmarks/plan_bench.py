"""How much CPU the planner takes for many tenants, as the sync engine calls it.

    python benchmarks/plan_bench.py --tenants 10000 --licenses 20

Builds, in memory, ``--tenants`` tenants of ``--licenses`` licenses each,
every license mapped to its PSA product on an agreement of the tenant's
own, and plans them on a pinned mid-period day the way the engine does
(``engine.plan_tenant``: every agreement of the PSA known, each tenant
planned with its own): a first sync (every line created, with a prorate
line for the rest of the period), a sync with no change, and one after 5 %
of the tenants changed seats. In the same run, for each sync, a naive diff
of the same inputs (wanted against current quantities, one dict each) is
the bound. Prints the CPU (``time.process_time``) of each, per tenant, and
the ratio to the naive diff. What each figure means: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from app.billing.operations import Plan  # noqa: E402
from app.billing.plan import PlanOptions, plan  # noqa: E402
from app.billing.simulate import apply_plan  # noqa: E402
from app.billing.types import (  # noqa: E402
    Agreement,
    Anchor,
    BillingProfile,
    Cycle,
    Exclusion,
    License,
    Line,
    LineKind,
    Mapping,
    Product,
    TenantInventory,
)
from app.billing.written import Written, write_log  # noqa: E402
from app.services.sync.engine import plan_tenant  # noqa: E402
from benchmarks.bench_measure import BENCH_DAY  # noqa: E402
from benchmarks.bench_report import table  # noqa: E402

CHURN_SHARE = 0.05
INSTALLATION = "b3c4"
#: Licenses every tenant leaves unbilled (free ones), excluded everywhere, as a person would.
EXCLUDED_PARTS = 3


@dataclass
class Tenant:
    """What the engine holds for one tenant when it plans: its setup, its inventory and what it read."""

    inventory: TenantInventory
    mappings: tuple[Mapping, ...]
    lines: tuple[Line, ...] = ()
    generations: dict[str, int] | None = None
    journal: tuple[Written, ...] = ()  # the done writes, oldest first


@dataclass
class Measure:
    name: str
    tenants: int
    licenses: int
    cpu: float  # seconds of process CPU, the planner
    naive_cpu: float  # seconds of process CPU, the naive diff of the same inputs
    operations: int
    naive_changes: int

    @property
    def us_per_tenant(self) -> float:
        return 1e6 * self.cpu / self.tenants if self.tenants else 0.0

    @property
    def ratio(self) -> float | None:
        return self.cpu / self.naive_cpu if self.naive_cpu else None

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "us_per_tenant": self.us_per_tenant, "ratio_to_naive": self.ratio}


# -- the inputs ------------------------------------------------------------------------


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build(tenants: int, licenses: int, seed: int) -> tuple[list[Tenant], dict[str, Agreement], tuple[Exclusion, ...]]:
    """Tenants with ``licenses`` licenses each, all mapped; the PSA's agreements by id (one per tenant)."""
    rng = random.Random(seed)
    skus = [_guid(rng) for _ in range(licenses + EXCLUDED_PARTS)]
    billed, free = skus[:licenses], skus[licenses:]
    profiles = [BillingProfile(id=f"BP{i}", name=f"profile {i}",
                               product=Product(id=str(1000 + i), identifier=f"M365-{i}",
                                               description=f"Microsoft 365 product {i}",
                                               price=f"{rng.randint(4, 40)}.{rng.choice(('00', '50', '99'))}"))
                for i in range(licenses)]
    exclusions = tuple(Exclusion(sku_id=sku, reason="free") for sku in free)
    agreements: dict[str, Agreement] = {}
    out = []
    for n in range(tenants):
        tenant_id = _guid(rng)
        agreement_id = str(100_000 + n)
        shape = n % 10  # most agreements bill monthly on the calendar; some on anniversaries, some yearly
        agreements[agreement_id] = Agreement(
            id=agreement_id, company_id=str(50_000 + n), name="Managed services", type_name="Managed",
            cycle=Cycle.ANNUAL if shape == 9 else Cycle.MONTHLY,
            anchor=Anchor.ANNIVERSARY if shape >= 8 else Anchor.CALENDAR,
            start=date(2024, 1 + n % 12, 1 + n % 28), prorates=shape != 7)
        held = []
        for i, sku in enumerate(billed):
            assigned = rng.randint(1, 60)
            held.append(License(sku_id=sku, part_number=f"PART_{i}", name=f"License {i}",
                                enabled=assigned + rng.choice((0, 0, 0, 1, 2)), consumed=assigned))
        held += [License(sku_id=sku, part_number="FREE", name="Free license", enabled=10_000, consumed=3)
                 for sku in free]
        inventory = TenantInventory(tenant_id=tenant_id, name=f"Tenant {n}", licenses=tuple(held))
        mappings = tuple(Mapping(tenant_id=tenant_id, sku_id=sku, profile=profiles[i], agreement_id=agreement_id)
                         for i, sku in enumerate(billed))
        out.append(Tenant(inventory=inventory, mappings=mappings))
    return out, agreements, exclusions


def written(tenant: Tenant, result: Plan) -> Tenant:
    """The tenant as the next sync reads it once ``result`` was written: the PSA's lines, each with what the
    journal knows of it (``WriteLog.enrich``), and the writes per row."""
    lines = apply_plan(tenant.lines, result)
    by_marker = {line.marker: line.id for line in lines if line.owned and line.end is None}
    journal = (*tenant.journal, *(Written(op=op, line_id=op.line_id or by_marker.get(op.marker, ""))
                                  for op in result.operations))
    log = write_log(journal)
    plain = (replace(line, last_written_quantity=None, written_row=None, history=()) for line in lines)
    return replace(tenant, lines=tuple(log.enrich(line) for line in plain), generations=log.generations,
                   journal=journal)


def churn(tenants: list[Tenant], share: float, rng: random.Random) -> int:
    """Change ``share`` of the tenants: two more seats of one license, one fewer of another."""
    chosen = rng.sample(range(len(tenants)), max(1, round(len(tenants) * share)))
    for n in chosen:
        tenant = tenants[n]
        held = list(tenant.inventory.licenses)
        grow, shrink = rng.sample(range(len(tenant.mappings)), 2)
        held[grow] = replace(held[grow], enabled=held[grow].enabled + 2, consumed=held[grow].consumed + 2)
        if held[shrink].consumed > 1:
            held[shrink] = replace(held[shrink], consumed=held[shrink].consumed - 1)
        tenants[n] = replace(tenant, inventory=replace(tenant.inventory, licenses=tuple(held)))
    return len(chosen)


# -- the two ways of planning ------------------------------------------------------------


Planner = Callable[[Tenant], Plan]


def engine_planner(agreements: dict[str, Agreement], exclusions: tuple[Exclusion, ...], options: PlanOptions,
                   today: date, *, all_agreements: bool = False) -> Planner:
    """Each tenant planned as ``SyncEngine`` plans it; ``all_agreements``: given every agreement of the PSA."""
    if all_agreements:
        every = agreements.values()
        return lambda t: plan(t.inventory, t.mappings, exclusions, every, t.lines, today, options,
                              generations=t.generations)
    return lambda t: plan_tenant(t.inventory, t.mappings, exclusions, t.lines, agreements, today, options,
                                 generations=t.generations)


def naive_diff(tenant: Tenant) -> dict[str, tuple[int, int]]:
    """The bound: wanted against current quantities, one dict each; product id -> (current, wanted)."""
    assigned = {lic.sku_id: lic.assigned for lic in tenant.inventory.licenses}
    wanted = {m.profile.product.id: assigned.get(m.sku_id, 0) for m in tenant.mappings}
    current = {line.product_id: line.quantity for line in tenant.lines
               if line.kind is LineKind.MAIN and line.end is None}
    return {product: (current.get(product, 0), quantity) for product, quantity in wanted.items()
            if current.get(product, 0) != quantity}


def cpu(step: Callable[[Tenant], object], tenants: Sequence[Tenant]) -> tuple[float, list]:
    """Process CPU seconds of ``step`` over every tenant, and its results."""
    gc.collect()
    started = time.process_time()
    results = [step(t) for t in tenants]
    return time.process_time() - started, results


def measure(name: str, planner: Planner, tenants: list[Tenant], licenses: int) -> tuple[Measure, list[Plan]]:
    naive_cpu, diffs = cpu(naive_diff, tenants)
    planner_cpu, plans = cpu(planner, tenants)
    print(f"{name}: {len(tenants):,} tenants planned in {planner_cpu:,.2f} s of CPU", file=sys.stderr, flush=True)
    return Measure(name=name, tenants=len(tenants), licenses=licenses, cpu=planner_cpu, naive_cpu=naive_cpu,
                   operations=sum(len(p.operations) for p in plans),
                   naive_changes=sum(len(d) for d in diffs)), plans


def run(tenants: int, licenses: int, seed: int, today: date, *, all_agreements: bool) -> list[Measure]:
    population, agreements, exclusions = build(tenants, licenses, seed)
    planner = engine_planner(agreements, exclusions, PlanOptions(installation=INSTALLATION), today,
                             all_agreements=all_agreements)
    measures = []
    first, plans = measure("first", planner, population, licenses)
    measures.append(first)
    population = [written(t, p) for t, p in zip(population, plans, strict=True)]
    unchanged, plans = measure("no change", planner, population, licenses)
    measures.append(unchanged)
    churn(population, CHURN_SHARE, random.Random(seed + 1))
    measures.append(measure("5 % churn", planner, population, licenses)[0])
    return measures


def report(measures: list[Measure], *, today: date, all_agreements: bool, rss_mib: float) -> str:
    first = measures[0]
    how = ("plan() given every agreement of the PSA for every tenant" if all_agreements
           else "engine.plan_tenant: each tenant with its own agreements")
    head = (f"seatsync planner benchmark: {first.tenants:,} tenants x {first.licenses} licenses, "
            f"planned on {today:%d %b %Y}")
    rows = [
        ("planner CPU (s)", *(m.cpu for m in measures)),
        ("planner CPU per tenant (µs)", *(round(m.us_per_tenant, 1) for m in measures)),
        ("naive diff CPU (s)", *(m.naive_cpu for m in measures)),
        ("planner / naive diff", *(f"{m.ratio:.1f}x" if m.ratio else "n/a" for m in measures)),
        ("operations planned", *(m.operations for m in measures)),
        ("changes the naive diff sees", *(m.naive_changes for m in measures)),
    ]
    return "\n\n".join([
        "\n".join([head, "=" * len(head), f"How: {how}. CPU is time.process_time of this process.",
                   f"peak RSS of this process, ru_maxrss: {rss_mib:,.1f} MiB"]),
        table(["figure", *(m.name for m in measures)], rows),
    ])


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=10_000, help="tenants (default 10000)")
    parser.add_argument("--licenses", type=int, default=20, help="licenses per tenant, all mapped (default 20)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the inputs (default 7)")
    parser.add_argument("--today", type=date.fromisoformat, default=BENCH_DAY, metavar="YYYY-MM-DD",
                        help=f"the day every sync plans on (default {BENCH_DAY}: mid-period)")
    parser.add_argument("--all-agreements", action="store_true",
                        help="give plan() every agreement of the PSA for every tenant instead of the tenant's own")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE as JSON")
    args = parser.parse_args(argv)
    if args.tenants < 1 or args.licenses < 2:
        parser.error("at least 1 tenant and 2 licenses")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    measures = run(args.tenants, args.licenses, args.seed, args.today, all_agreements=args.all_agreements)
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024  # ru_maxrss: KiB on Linux, bytes on macOS
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    print(report(measures, today=args.today, all_agreements=args.all_agreements, rss_mib=rss))
    if args.json:
        figures = {"today": args.today.isoformat(), "all_agreements": args.all_agreements, "maxrss_mib": round(rss, 1),
                   "measures": [m.as_dict() for m in measures]}
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
