"""Every benchmark at one size, summed up in one table: measure | goal | measured | bound | ratio.

    python benchmarks/bench_table.py                  # what `make bench` runs
    python benchmarks/bench_table.py --sync-tenants 1000 --out bench-results
    python benchmarks/bench_table.py --only sync,storage

Runs the planner benchmark (plan_bench.py), the sync benchmark
(sync_bench.py: in one process with the sandboxes, seatsync alone in a
process of its own, and the naive runbook), the database over a year
(storage_bench.py), the Companies list (companies_bench.py) and "Sync now"
(sync_now_bench.py), each in a process of its own so that none's memory or
CPU counts in another's, and prints one table. A benchmark that fails is a
row saying so. Their full reports and figures are kept in ``--out`` (a
temporary folder when not given). What each measure, goal and bound is:
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_report import (  # noqa: E402
    PSA_NAMES,
    RSS_GOAL_MIB,
    RSS_GOAL_TENANTS,
    rss_extrapolated,
    rss_scaled_goal,
    table,
)

#: The planner's goal: 2 s of CPU for 10,000 tenants × 20 licenses, as the engine calls it (scaled to other sizes).
PLAN_GOAL_SECONDS = 2.0
PLAN_GOAL_ROWS = 10_000 * 20
#: Seatsync with nothing to change against the naive runbook on the same tenants.
NAIVE_GOAL = 5.0
COMPANIES_GOAL_MS = 200
UI_BLOCK_GOAL_MS = 50
#: A sync with nothing to write: at most this many times its strict lower bound (the busiest API at its cap).
NO_CHANGE_GOAL = 1.5
#: Per PSA: the routes (as its sandbox names them) of the catalog a run reads once, and of one agreement's lines.
READS = {
    "connectwise": ({"GET /finance/agreements", "GET /procurement/catalog"},
                    "GET /finance/agreements/{parentId}/additions"),
    "halopsa": ({"GET GET ClientContract", "GET GET Item"}, "GET GET RecurringInvoice"),
}
HEADERS = ("measure", "goal", "measured", "bound", "ratio")
#: The benchmarks, in the order they run (``--only`` and ``--skip`` name them).
PARTS = ("plan", "sync", "storage", "companies", "sync-now")
Row = tuple[str, ...]


def _ratio(measured: float, bound: float | None) -> str:
    return f"{measured / bound:.2f}x" if bound else "n/a"


def plan_rows(figures: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
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


def _where(run: dict[str, Any]) -> str:
    return (f"{run['tenants']:,} tenants, {PSA_NAMES.get(run['psa'], run['psa'])}, "
            f"{run['latency'] * 1000:g} ms/request")


def sync_rows(figures: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    run, sequential = figures.get("parallel"), figures.get("sequential")
    if run is not None:
        latency = run["latency"]
        for phase in run["phases"]:
            bound = strict_bound(phase, latency)
            goal = f"<= {NO_CHANGE_GOAL:g}x bound" if phase["name"] == "no change" else "n/a"
            rows.append((f"sync wall, {phase['name']} ({_where(run)})", goal,
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
                         "n/a" if phase["rss_peak_mib"] is None else f"{phase['rss_peak_mib']:,.0f} MiB", "n/a",
                         "n/a"))
        if sequential is not None:
            for par, seq in zip(run["phases"], sequential["phases"], strict=False):
                rows.append((f"speed-up per tenant vs sequential ({sequential['tenants']:,}), {par['name']}", "n/a",
                             _ratio(seq["ms_per_tenant"], par["ms_per_tenant"]), "n/a", "n/a"))
    if figures.get("own_process") is not None:
        rows += own_process_rows(figures["own_process"])
    if figures.get("naive") is not None:
        rows += naive_rows(figures["naive"])
    return rows


def own_process_rows(own: dict[str, Any]) -> list[Row]:
    """Seatsync alone (``python main.py sync --yes``): its peak RSS against the goal scaled to its tenants."""
    rows: list[Row] = []
    reference = {p["name"]: p for p in own["reference"]}
    tenants, small = own["tenants"], own["reference_tenants"]
    goal = f"<= {RSS_GOAL_MIB:,.0f} MiB (300 MB) at {RSS_GOAL_TENANTS:,} tenants"
    for phase in own["phases"]:
        what = f"peak RSS, {phase['name']} (seatsync alone, own process) ({tenants:,} tenants)"
        peak, base = phase["rss_peak_mib"], (reference.get(phase["name"]) or {}).get("rss_peak_mib")
        if phase["error"] or peak is None:
            rows.append((what, goal, f"not measured: {phase['error'] or 'no /proc here'}", "n/a", "n/a"))
            continue
        if base is None:
            rows.append((what, goal, f"{peak:,.0f} MiB", "n/a (no reference run)", "n/a"))
            continue
        bound = rss_scaled_goal(tenants, base, small)
        extrapolated = rss_extrapolated(peak, tenants, base, small)
        measured = f"{peak:,.0f} MiB"
        if extrapolated is not None:
            measured += f" (extrapolated to {RSS_GOAL_TENANTS:,}: {extrapolated:,.0f} MiB)"
        rows.append((what, goal, measured, f"{bound:,.0f} MiB (the goal scaled to {tenants:,} tenants)",
                     _ratio(peak, bound)))
    for phase in own["phases"]:
        if not phase["error"]:
            rows.append((f"sync wall, {phase['name']} (seatsync alone, own process, {_where(own)})", "n/a",
                         f"{phase['wall']:,.1f} s = {phase['ms_per_tenant']:,.0f} ms/tenant, spawn to exit",
                         "n/a", "n/a"))
    return rows


def naive_rows(naive: dict[str, Any]) -> list[Row]:
    """The naive runbook's no-change time, and how many times faster seatsync is on the same sandboxes."""
    runbook = naive["runbook"]
    rows: list[Row] = [(
        f"naive runbook, no change ({runbook['tenants']:,} tenants, one after another)", "n/a",
        f"{runbook['wall']:,.1f} s = {runbook['ms_per_tenant']:,.0f} ms/tenant, {runbook['total_requests']:,} "
        f"requests, {runbook['writes']:,} writes", "n/a", "n/a")]
    round_trip_ms = 1000 * naive.get("latency", 0)
    for seatsync in naive["seatsync"]:
        faster = "n/a" if seatsync["ratio"] is None else f"{seatsync['ratio']:.2f}x faster"
        goal, bound = f">= {NAIVE_GOAL:g}x faster", f"{runbook['ms_per_tenant']:,.0f} ms/tenant (naive runbook)"
        if seatsync["workers"] == 1:
            # One tenant at a time, each waits at least one round trip: the goal is the parallel run's.
            goal = "n/a (one tenant at a time)"
            if round_trip_ms:
                bound += (f"; one round trip a tenant: {round_trip_ms:,.0f} ms/tenant, at most "
                          f"{runbook['ms_per_tenant'] / round_trip_ms:.2f}x faster")
        rows.append((f"no change vs naive runbook: seatsync, {seatsync['label']}, {seatsync['workers']} worker(s) "
                     f"({seatsync['tenants']:,} tenants)", goal, f"{seatsync['ms_per_tenant']:,.0f} ms/tenant",
                     bound, faster))
    return rows


def storage_rows(figures: dict[str, Any]) -> list[Row]:
    last = figures["checkpoints"][-1]
    where = f"after {last['day']} days ({figures['tenants']:,} tenants, {figures['churn']:.0%} churn a day)"
    per_tenant = 1024 * last["size_mib"] / figures["tenants"] if figures["tenants"] else 0
    rows: list[Row] = [(f"database size {where}", "n/a", f"{last['size_mib']:,.1f} MiB = {per_tenant:,.0f} "
                        f"KiB/tenant ({figures['changes']:,} seat changes)", "n/a", "n/a")]
    for name, count in last["rows"].items():
        if name == "schema_version":
            continue
        bound = last["bounds"].get(name)
        rows.append((f"rows, {name} {where}", "= bound" if bound is not None else "n/a", f"{count:,}",
                     "n/a" if bound is None else f"{bound:,} (growing with change, not time)",
                     _ratio(count, bound)))
    return rows


def companies_rows(figures: dict[str, Any]) -> list[Row]:
    times = figures.get("times_ms") or []
    rows: list[Row] = [(f"companies list, {figures['companies']:,} companies (CompanyService.company_rows)",
                        f"<= {COMPANIES_GOAL_MS} ms", f"{figures['median_ms']:,.0f} ms (median of {len(times)}; "
                        f"{figures['queries']:,} queries)", "n/a", "n/a")]
    report = figures.get("report")
    if report:
        rows += [(f"reconciliation report, {figures['companies']:,} companies (ReportService.reconcile, a worker)",
                  "n/a", f"{report['read_ms']:,.0f} ms ({report['rows']:,} license rows; {report['queries']:,} "
                  "queries)", "n/a", "n/a"),
                 ("Reports view showing it: longest UI-thread block", f"<= {UI_BLOCK_GOAL_MS} ms",
                  f"{report['view_block_ms']:,.0f} ms (shown in {report['view_ms']:,.0f} ms)", "n/a", "n/a")]
        actions = report.get("actions_ms")
        if actions:
            slowest = max(actions, key=lambda name: actions[name]["block_ms"])
            rows.append((f"Reports view, sorting and searching its {report['rows']:,} rows: longest UI-thread block",
                         f"<= {UI_BLOCK_GOAL_MS} ms", f"{actions[slowest]['block_ms']:,.0f} ms ({slowest}; shown in "
                         f"{actions[slowest]['done_ms']:,.0f} ms)", "n/a", "n/a"))
    return rows


def sync_now_rows(figures: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    latency = figures["latency"] * 1000
    for m in figures["measures"]:
        rows.append((f"{m['name']} ({latency:g} ms/request)", m["goal"],
                     f"{m['wall']:,.2f} s ({m['requests']:,} requests)", f"{m['chain']:,.2f} s (dependency chain)",
                     _ratio(m["wall"], m["chain"])))
    probe = figures.get("ui_probe")
    if probe:
        rows.append((f"longest UI-thread block during a sync ({probe['tenants']:,} tenants)",
                     f"<= {UI_BLOCK_GOAL_MS} ms", f"{probe['longest_block_ms']:,.0f} ms", "n/a", "n/a"))
    else:
        rows.append(("longest UI-thread block during a sync", f"<= {UI_BLOCK_GOAL_MS} ms", "not run", "n/a", "n/a"))
    return rows


class Failed(Exception):
    """A benchmark did not give its figures; the message says why, in a line."""


def bench(script: str, args: list[str], out: Path, name: str) -> Any:
    """Run one benchmark in a process of its own; its report goes to ``out/name.txt``, its progress to this
    process's standard error, its figures are returned. Failed when it fails or writes no figures."""
    path = ROOT / "benchmarks" / script
    if not path.exists():
        raise Failed(f"not run: benchmarks/{script} is not there")
    figures, report = out / f"{name}.json", out / f"{name}.txt"
    figures.unlink(missing_ok=True)
    command = [sys.executable, str(path), *args, "--json", str(figures)]
    print(f"running: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    said: deque[str] = deque(maxlen=5)
    with report.open("w", encoding="utf-8") as stdout, \
            subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=ROOT) as child:
        assert child.stderr is not None
        for line in child.stderr:  # shown as it comes, the last lines kept for a failure
            sys.stderr.write(line)
            sys.stderr.flush()
            if line.strip():
                said.append(line.strip())
        code = child.wait()
    if code != 0:
        last = said[-1] if said else "no message"
        raise Failed(f"failed (exit code {code}): {last[:200]}")
    try:
        return json.loads(figures.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise Failed(f"failed: its figures ({figures.name}) cannot be read: {type(error).__name__}") from None


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", type=_parts, default=PARTS, metavar="LIST",
                        help=f"run only these benchmarks, comma-separated: {','.join(PARTS)} (default: all)")
    parser.add_argument("--skip", type=_parts, default=(), metavar="LIST", help="run all but these")
    parser.add_argument("--plan-tenants", type=int, default=10_000, help="planner benchmark tenants (10000)")
    parser.add_argument("--licenses", type=int, default=20, help="planner benchmark licenses per tenant (20)")
    parser.add_argument("--sync-tenants", type=int, default=250,
                        help="sync benchmark tenants, in one process with the sandboxes and in its own (250)")
    parser.add_argument("--latency", type=float, default=0.1,
                        help="seconds per request of the sync and Sync now benchmarks (0.1)")
    parser.add_argument("--psa", default="connectwise", choices=sorted(PSA_NAMES),
                        help="the PSA of the sync and Sync now benchmarks")
    parser.add_argument("--baseline-tenants", type=int, default=20,
                        help="tenants of the sync benchmark's sequential baseline (20; 0 skips it)")
    parser.add_argument("--naive-tenants", type=int, default=50,
                        help="tenants of the naive runbook and seatsync's no-change sync beside it (50; 0 skips it)")
    parser.add_argument("--own-process", choices=("after", "only", "off"), default="after",
                        help="the sync benchmark's own-process run: after the in-process runs (default), only it, "
                             "or off")
    parser.add_argument("--storage-tenants", type=int, default=1000,
                        help="tenants of the database benchmark (1000)")
    parser.add_argument("--storage-days", type=int, default=365, help="days of daily syncs it stores (365)")
    parser.add_argument("--companies", type=int, default=5000, help="companies of the Companies list (5000)")
    parser.add_argument("--out", type=Path, help="keep each benchmark's report and figures in this folder")
    return parser.parse_args(argv)


def _parts(text: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    return parts


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    wanted = [p for p in PARTS if p in args.only and p not in args.skip]
    runs: dict[str, tuple[str, list[str], Callable[[Any], list[Row]], str]] = {
        "plan": ("plan_bench.py", ["--tenants", str(args.plan_tenants), "--licenses", str(args.licenses)],
                 plan_rows, "planner"),
        "sync": ("sync_bench.py", ["--tenants", str(args.sync_tenants), "--latency", str(args.latency),
                                   "--psa", args.psa, "--baseline-tenants", str(args.baseline_tenants),
                                   "--naive-tenants", str(args.naive_tenants), "--own-process", args.own_process],
                 sync_rows, "sync"),
        "storage": ("storage_bench.py", ["--tenants", str(args.storage_tenants), "--days", str(args.storage_days)],
                    storage_rows, "database over time"),
        "companies": ("companies_bench.py", ["--companies", str(args.companies)], companies_rows, "companies list"),
        "sync-now": ("sync_now_bench.py", ["--latency", str(args.latency), "--psa", args.psa], sync_now_rows,
                     "Sync now"),
    }
    rows: list[Row] = []
    took: list[str] = []
    day = None
    with tempfile.TemporaryDirectory(prefix="seatsync-bench-") as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for name in wanted:
            script, script_args, to_rows, label = runs[name]
            started = time.perf_counter()
            try:
                figures = bench(script, script_args, out, name)
                found = to_rows(figures)
            except Failed as failure:
                found = [(f"{label} benchmark ({script})", "n/a", str(failure), "n/a", "n/a")]
            except (KeyError, TypeError, ValueError) as error:  # figures of another shape than these rows read
                found = [(f"{label} benchmark ({script})", "n/a",
                          f"failed: its figures lack what the table reads ({type(error).__name__}: {error})",
                          "n/a", "n/a")]
            else:
                if name == "plan" or (name == "sync" and day is None and figures.get("parallel")):
                    day = figures["today"] if name == "plan" else figures["parallel"]["today"]
            rows += found
            took.append(f"{name} {time.perf_counter() - started:,.0f} s")
        title = "seatsync benchmarks" + (f": planned and synced on {day}" if day else "")
        if args.out:
            title += f"; full reports in {args.out}/<benchmark>.txt"
        print(table(HEADERS, rows, title=title))
        print(f"\nran: {', '.join(took)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
