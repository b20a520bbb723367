"""The sync benchmark's plain-text tables, and the memory goal's scale (shared with bench_table.py)."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from typing import Any

PSA_NAMES = {"connectwise": "ConnectWise PSA", "autotask": "Datto Autotask PSA", "halopsa": "HaloPSA"}
#: The goal for seatsync's own memory: a sync of 5,000 tenants peaks at 300 MB (decimal) resident, in MiB.
RSS_GOAL_MIB = 300e6 / 2**20
RSS_GOAL_TENANTS = 5000


def rss_scaled_goal(tenants: int, reference_mib: float, reference_tenants: int) -> float:
    """The memory goal at ``tenants``: what a sync of the reference world peaks at (``reference_mib`` at
    ``reference_tenants``: the interpreter, the code, the database, the clients), plus the share of the rest
    of the goal that ``tenants`` take of 5,000."""
    share = (tenants - reference_tenants) / (RSS_GOAL_TENANTS - reference_tenants)
    return reference_mib + (RSS_GOAL_MIB - reference_mib) * share


def rss_extrapolated(peak_mib: float, tenants: int, reference_mib: float, reference_tenants: int) -> float | None:
    """``peak_mib`` at ``tenants`` extrapolated to 5,000 tenants along the line from the reference world's peak."""
    if tenants <= reference_tenants:
        return None
    per_tenant = (peak_mib - reference_mib) / (tenants - reference_tenants)
    return reference_mib + per_tenant * (RSS_GOAL_TENANTS - reference_tenants)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str = "") -> str:
    """Columns padded to their widest cell; the first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=False))).rstrip()

    out = [title] if title else []
    out += [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells[1:]]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def summary(run: Any) -> str:
    p = run.phases
    rows = [
        ("tenants synced", *(x.tenants for x in p)),
        ("  of which failed", *(x.failed for x in p)),
        ("wall time (s)", *(x.wall for x in p)),
        ("wall time per tenant (ms)", *(x.ms_per_tenant for x in p)),
        ("requests, Microsoft", *(x.requests_of("microsoft") for x in p)),
        ("requests, PSA", *(x.psa_requests for x in p)),
        ("PSA operations applied", *(x.operations_applied for x in p)),
        ("PSA write requests", *(x.psa_write_requests for x in p)),
        ("operations held for approval", *(x.held for x in p)),
        ("lower bound, sum over APIs (s)", *(x.lower_bound for x in p)),
        ("wall / lower bound", *(_ratio(x.ratio) for x in p)),
        ("worker bound (s)", *(x.worker_bound for x in p)),
        ("wall / worker bound", *(_ratio(x.wall / x.worker_bound if x.worker_bound else None) for x in p)),
        ("peak RSS during the sync (MiB)", *(x.rss_peak_mib for x in p)),
        ("peak RSS since start, ru_maxrss (MiB)", *(x.maxrss_mib for x in p)),
        ("tracemalloc peak (MiB)", *(("off" if x.traced_peak_mib is None else x.traced_peak_mib) for x in p)),
    ]
    title = (f"{run.label}: {run.tenants:,} tenants, {run.workers} worker(s), {run.concurrency}, "
             f"{run.latency * 1000:g} ms per request; {run.mappings:,} mapped licenses; "
             f"churn changed {run.churned:,} tenants")
    return table(["figure", *(x.name for x in p)], rows, title=title)


def requests_table(run: Any) -> str:
    keys = sorted({k for x in run.phases for k in x.requests})
    rows = []
    for key in keys:
        server, method, route = key.split(" ", 2)
        route = route.removeprefix(f"{method} ")  # some sandboxes name a route with its method
        rows.append((f"{server} {method} {route}", *(x.requests.get(key, 0) for x in run.phases)))
    rows.append(("total (sandboxes)", *(x.server_requests for x in run.phases)))
    rows.append(("total (clients, cross-check)", *(x.client_requests for x in run.phases)))
    return table(["requests by endpoint and method", *(x.name for x in run.phases)], rows,
                 title=f"{run.label}: requests the sandboxes answered")


def bounds_table(run: Any) -> str:
    keys = sorted({k for x in run.phases for k in x.api_requests})
    rows = []
    for key in keys:
        cap = next(x.api_caps[key] for x in run.phases if key in x.api_caps)
        peaks = [x.api_peak_in_flight.get(key) for x in run.phases]
        peak = None if None in peaks else max(peaks)
        rows.append((key, cap, peak, *(
            f"{x.api_requests.get(key, 0):,} -> {x.api_requests.get(key, 0) * run.latency / cap:,.1f} s"
            for x in run.phases)))
    return table(["API", "cap", "peak in flight", *(f"{x.name}: requests -> bound" for x in run.phases)], rows,
                 title=f"{run.label}: lower bound per API = requests x {run.latency * 1000:g} ms / cap")


def speedup_table(parallel: Any, sequential: Any) -> str:
    rows = []
    for par, seq in zip(parallel.phases, sequential.phases, strict=False):
        rows.append((par.name, seq.ms_per_tenant, par.ms_per_tenant,
                     _ratio(seq.ms_per_tenant / par.ms_per_tenant if par.ms_per_tenant else None)))
    return table(["sync", f"sequential ms/tenant ({sequential.tenants:,})",
                  f"parallel ms/tenant ({parallel.tenants:,})", "speed-up"], rows,
                 title="speed-up per tenant, parallel vs sequential")


def autotask_table(run: Any) -> str:
    figures = run.autotask
    limit = figures["hourly_limit"]
    rows = [(f"requests per hour ({name})", rate, f"{rate / limit:.0%} of {limit:,}")
            for name, rate in figures["requests_per_hour"].items()]
    rows += [(f"hours of budget ({p.name}: {p.psa_requests:,} requests)", round(p.psa_requests / limit, 2), "")
             for p in run.phases]
    rows += [(f"peak in flight: {endpoint}", peak, "ok (<= 3)" if peak <= 3 else "OVER THE LIMIT")
             for endpoint, peak in figures["peak_in_flight"].items()]
    rows.append(("requests refused by the thread limit", figures["refused_by_thread_limit"], ""))
    return table(["Autotask limits", "value", "note"], rows, title=f"{run.label}: Autotask's limits")


def own_process_table(own: Any) -> str:
    """Seatsync alone in a child process (``python main.py sync --yes``), and the reference world's."""
    p, ref = own.phases, {x.name: x for x in own.reference}

    def per_tenant_kib(x: Any) -> float | None:
        base = ref.get(x.name)
        if x.rss_peak_mib is None or base is None or base.rss_peak_mib is None or own.tenants <= own.reference_tenants:
            return None
        return 1024 * (x.rss_peak_mib - base.rss_peak_mib) / (own.tenants - own.reference_tenants)

    def extrapolated(x: Any) -> float | None:
        base = ref.get(x.name)
        if x.rss_peak_mib is None or base is None or base.rss_peak_mib is None:
            return None
        return rss_extrapolated(x.rss_peak_mib, own.tenants, base.rss_peak_mib, own.reference_tenants)

    rows = [
        ("tenants synced", *(x.tenants for x in p)),
        ("  of which failed", *(x.failed for x in p)),
        ("PSA operations applied", *(x.written for x in p)),
        ("operations held for approval", *(x.held for x in p)),
        ("wall time, spawn to exit (s)", *(x.wall for x in p)),
        ("wall time per tenant (ms)", *(x.ms_per_tenant for x in p)),
        ("requests, Microsoft", *(x.requests_of("microsoft") for x in p)),
        ("requests, PSA", *(x.psa_requests for x in p)),
        ("PSA write requests", *(x.psa_write_requests for x in p)),
        ("peak RSS, seatsync alone (MiB)", *(x.rss_peak_mib for x in p)),
        (f"peak RSS at {own.reference_tenants} tenants (MiB)",
         *((ref[x.name].rss_peak_mib if x.name in ref else None) for x in p)),
        ("  above it, per tenant (KiB)", *(per_tenant_kib(x) for x in p)),
        (f"  extrapolated to {RSS_GOAL_TENANTS:,} tenants (MiB)", *(extrapolated(x) for x in p)),
        ("exit code", *(x.exit_code for x in p)),
    ]
    title = (f"{own.label}: seatsync alone, `python main.py sync --yes` in a child process, {own.tenants:,} "
             f"tenants, {own.workers} workers, {own.latency * 1000:g} ms per request; on {own.today}, the "
             "machine's day (the sync command takes no day)")
    out = table(["figure", *(x.name for x in p)], rows, title=title)
    errors = [f"  - {x.name}: {x.error}" for x in [*own.reference, *p] if x.error]
    return out + ("\n" + "\n".join(errors) if errors else "")


def naive_table(comparison: dict[str, Any]) -> str:
    """The naive runbook's no-change time against seatsync's."""
    runbook = comparison["runbook"]
    rows: list[tuple[Any, ...]] = [("naive runbook (one tenant after another)", runbook["tenants"], 1,
                                    runbook["wall"], runbook["total_requests"], runbook["ms_per_tenant"], "")]
    rows += [(f"seatsync: {s['label']}", s["tenants"], s["workers"], s["wall"], s["requests"], s["ms_per_tenant"],
              _ratio(s["ratio"])) for s in comparison["seatsync"]]
    latency = comparison["latency"] * 1000
    out = table(["no change", "tenants", "workers", "wall (s)", "requests", "ms/tenant", "naive / seatsync"], rows,
                title=f"naive runbook vs seatsync, nothing to change ({comparison['world']}, {latency:g} ms per "
                      "request)")
    requests = ", ".join(f"{what} {n:,}" for what, n in runbook["requests"].items())
    notes = [f"naive runbook's requests: {requests} (the sandboxes answered {runbook['server_requests']:,})",
             f"naive runbook: {runbook['failed']:,} tenants failed, {runbook['differences']:,} quantities differed, "
             f"{runbook['writes']:,} written ({runbook['psa_write_requests']:,} PSA write requests), "
             f"{runbook['not_written']:,} not written, {runbook['missing']:,} licenses without a line"]
    notes += [f"  - {error}" for error in runbook["errors"]]
    return out + "\n" + "\n".join(notes)


def report(runs: Sequence[Any], *, parallel: Any = None, sequential: Any = None, own: Any = None,
           naive: dict[str, Any] | None = None) -> str:
    first = runs[0] if runs else own
    head = (f"seatsync sync benchmark: {PSA_NAMES.get(first.psa, first.psa)}, synced on {first.today}, "
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs")
    setup = ["Every tenant: ten licenses mapped to ten PSA products on an agreement of its own. The per-line",
             "approval cap is lifted so every line is written. See benchmarks/README.md for each figure."]
    if first.psa == "autotask":
        setup.append("Autotask's hourly budget is lifted in the sandbox; its table shows what the run would use of it.")
    parts = ["\n".join([head, "=" * len(head), *setup])]
    for run in runs:
        parts += [summary(run), requests_table(run), bounds_table(run)]
        if run.autotask:
            parts.append(autotask_table(run))
        errors = sorted({e for x in run.phases for e in x.errors})
        if errors:
            parts.append(f"{run.label}: failures (first of each kind)\n" + "\n".join(f"  - {e}" for e in errors))
    if parallel is not None and sequential is not None:
        parts.append(speedup_table(parallel, sequential))
    if own is not None:
        parts.append(own_process_table(own))
    if naive is not None:
        parts.append(naive_table(naive))
    return "\n\n".join(parts)
