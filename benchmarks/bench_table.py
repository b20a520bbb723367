"""Every benchmark at one size, summed up in one table: measure | goal | measured | bound | ratio.

    python benchmarks/bench_table.py                  # what `make bench` runs
    python benchmarks/bench_table.py --sync-tenants 1000 --out bench-results

Runs the planner benchmark (plan_bench.py) and the sync benchmark
(sync_bench.py), each in a process of its own so that neither's memory or
CPU counts in the other's, and prints one table. Their full reports and
figures are kept in ``--out`` (a temporary folder when not given). What
each measure, goal and bound is: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_report import PSA_NAMES, table  # noqa: E402

#: The planner's goal: 2 s of CPU for 10,000 tenants × 20 licenses, as the engine calls it (scaled to other sizes).
PLAN_GOAL_SECONDS = 2.0
PLAN_GOAL_ROWS = 10_000 * 20
#: Per PSA: the routes (as its sandbox names them) of the catalog a run reads once, and of one agreement's lines.
READS = {
    "connectwise": ({"GET /finance/agreements", "GET /procurement/catalog"},
                    "GET /finance/agreements/{parentId}/additions"),
    "halopsa": ({"GET GET ClientContract", "GET GET Item"}, "GET GET RecurringInvoice"),
}
HEADERS = ("measure", "goal", "measured", "bound", "ratio")


def _ratio(measured: float, bound: float | None) -> str:
    return f"{measured / bound:.2f}x" if bound else "n/a"


def plan_rows(figures: dict[str, Any]) -> list[tuple[str, ...]]:
    rows = []
    for m in figures["measures"]:
        size = m["tenants"] * m["licenses"]
        goal = PLAN_GOAL_SECONDS * size / PLAN_GOAL_ROWS
        how = " (every agreement given)" if figures["all_agreements"] else ""
        rows.append((f"planner CPU, {m['name']}{how} ({m['tenants']:,} x {m['licenses']})",
                     f"<= {goal:.3g} s", f"{m['cpu']:.3g} s = {m['us_per_tenant']:,.0f} us/tenant",
                     f"{m['naive_cpu']:.3g} s naive diff", _ratio(m["cpu"], m["naive_cpu"])))
    rows.append(("planner peak RSS (its own process)", "n/a", f"{figures['maxrss_mib']:,.0f} MiB", "n/a", "n/a"))
    return rows


def strict_bound(phase: dict[str, Any], latency: float) -> float:
    """No run can beat the worker bound, nor any single API's requests x latency / its cap."""
    terms = [n * latency / phase["api_caps"][api] for api, n in phase["api_requests"].items()]
    return max([phase["worker_bound"], *terms])


def psa_read_bound(run: dict[str, Any], phase: dict[str, Any]) -> int | None:
    """The fewest PSA requests a sync can send with nothing to write: the catalog the run reads, then each
    tenant's agreement's lines once (None where one lines read takes more than one request)."""
    if run["psa"] not in READS:
        return None
    catalog, _ = READS[run["psa"]]
    read = sum(n for key, n in phase["requests"].items() if key.split(" ", 1)[1] in catalog)
    return read + phase["tenants"] - phase["failed"]


def sync_rows(runs: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    run = runs[0]
    latency = run["latency"]
    where = (f"{run['tenants']:,} tenants, {PSA_NAMES.get(run['psa'], run['psa'])}, "
             f"{latency * 1000:g} ms/request")
    rows = []
    for phase in run["phases"]:
        bound = strict_bound(phase, latency)
        rows.append((f"sync wall, {phase['name']} ({where})", "n/a",
                     f"{phase['wall']:,.1f} s = {phase['ms_per_tenant']:,.0f} ms/tenant",
                     f"{bound:,.1f} s (strict lower bound)", _ratio(phase["wall"], bound)))
    unchanged = next((p for p in run["phases"] if p["name"] == "no change"), None)
    if unchanged is not None:
        reads = psa_read_bound(run, unchanged)
        rows.append(("PSA requests, no change", "= bound", f"{unchanged['psa_requests']:,}",
                     "n/a" if reads is None else f"{reads:,} (catalog + 1 lines read per tenant)",
                     _ratio(unchanged["psa_requests"], reads)))
        rows.append(("PSA write requests, no change", "0", f"{unchanged['psa_write_requests']:,}", "0", "n/a"))
    for phase in run["phases"]:
        rows.append((f"peak RSS, {phase['name']} (seatsync and sandboxes, one process)", "n/a",
                     "n/a" if phase["rss_peak_mib"] is None else f"{phase['rss_peak_mib']:,.0f} MiB", "n/a", "n/a"))
    if len(runs) > 1:
        sequential = runs[1]
        for par, seq in zip(run["phases"], sequential["phases"], strict=False):
            rows.append((f"speed-up per tenant vs sequential ({sequential['tenants']:,}), {par['name']}", "n/a",
                         _ratio(seq["ms_per_tenant"], par["ms_per_tenant"]), "n/a", "n/a"))
    return rows


def bench(script: str, args: list[str], out: Path, name: str) -> Any:
    """Run one benchmark in a process of its own; its report goes to ``out/name.txt``, its figures are returned."""
    figures, report = out / f"{name}.json", out / f"{name}.txt"
    command = [sys.executable, str(ROOT / "benchmarks" / script), *args, "--json", str(figures)]
    print(f"running: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    with report.open("w", encoding="utf-8") as stdout:
        subprocess.run(command, stdout=stdout, check=True, cwd=ROOT)
    return json.loads(figures.read_text(encoding="utf-8"))


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan-tenants", type=int, default=10_000, help="planner benchmark tenants (10000)")
    parser.add_argument("--licenses", type=int, default=20, help="planner benchmark licenses per tenant (20)")
    parser.add_argument("--sync-tenants", type=int, default=250, help="sync benchmark tenants (250)")
    parser.add_argument("--latency", type=float, default=0.1, help="sync benchmark seconds per request (0.1)")
    parser.add_argument("--psa", default="connectwise", choices=sorted(PSA_NAMES), help="sync benchmark PSA")
    parser.add_argument("--baseline-tenants", type=int, default=20,
                        help="tenants of the sync benchmark's sequential baseline (20; 0 skips it)")
    parser.add_argument("--out", type=Path, help="keep each benchmark's report and figures in this folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="seatsync-bench-") as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        plan = bench("plan_bench.py", ["--tenants", str(args.plan_tenants), "--licenses", str(args.licenses)],
                     out, "plan")
        sync = bench("sync_bench.py", ["--tenants", str(args.sync_tenants), "--latency", str(args.latency),
                                       "--psa", args.psa, "--baseline-tenants", str(args.baseline_tenants)],
                     out, "sync")
        title = f"seatsync benchmarks: planned and synced on {plan['today']}"
        if args.out:
            title += f"; full reports in {args.out}/plan.txt and {args.out}/sync.txt"
        print(table(HEADERS, plan_rows(plan) + sync_rows(sync), title=title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
