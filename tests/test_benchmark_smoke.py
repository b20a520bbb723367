"""The benchmarks still run and still print every figure (tiny N, no latency); they assert no speed."""

from __future__ import annotations

import json

from benchmarks.sync_bench import main

FIGURES = (
    "tenants synced", "of which failed", "wall time (s)", "wall time per tenant (ms)", "requests, Microsoft",
    "requests, PSA", "PSA operations applied", "PSA write requests", "operations held for approval",
    "lower bound, sum over APIs (s)", "wall / lower bound", "worker bound (s)", "wall / worker bound",
    "peak RSS during the sync (MiB)", "peak RSS since start, ru_maxrss (MiB)", "tracemalloc peak (MiB)",
    "requests by endpoint and method", "microsoft GET graph:subscribedSkus", "microsoft POST entra:token",
    "lower bound per API", "peak in flight", "speed-up per tenant, parallel vs sequential",
    "synced on 2026-03-17",
)
PHASES = ["first", "no change", "5 % churn"]


def test_benchmark_prints_every_figure_and_writes_json(tmp_path, capsys):
    out_file = tmp_path / "bench.json"

    assert main(["--tenants", "4", "--latency", "0", "--baseline-tenants", "2", "--tracemalloc",
                 "--json", str(out_file)]) == 0

    printed = capsys.readouterr().out
    missing = [figure for figure in FIGURES if figure not in printed]
    assert not missing, f"the report lost: {missing}"
    runs = json.loads(out_file.read_text(encoding="utf-8"))
    assert [(r["label"], r["tenants"], r["workers"]) for r in runs] == [("parallel", 4, 8), ("sequential", 2, 1)]
    parallel = runs[0]
    assert [p["name"] for p in parallel["phases"]] == PHASES
    assert parallel["mappings"] == 4 * 10
    first, unchanged, churned = parallel["phases"]
    assert first["operations_applied"] > 0 and first["psa_write_requests"] >= first["operations_applied"]
    assert unchanged["operations_applied"] == 0 and unchanged["psa_write_requests"] == 0
    assert churned["operations_applied"] > 0
    assert first["traced_peak_mib"] > 0
    for phase in parallel["phases"]:
        assert sum(phase["requests"].values()) == phase["client_requests"] > 0
        assert phase["microsoft_requests"] + phase["psa_requests"] == phase["client_requests"]


PLAN_FIGURES = (
    "planner CPU (s)", "planner CPU per tenant (µs)", "naive diff CPU (s)", "planner / naive diff",
    "operations planned", "changes the naive diff sees", "peak RSS of this process", "planned on 17 Mar 2026",
)


def test_planner_benchmark_prints_every_figure_and_writes_json(tmp_path, capsys):
    from benchmarks.plan_bench import main as plan_main

    out_file = tmp_path / "plan.json"
    assert plan_main(["--tenants", "3", "--licenses", "4", "--json", str(out_file)]) == 0

    printed = capsys.readouterr().out
    missing = [figure for figure in PLAN_FIGURES if figure not in printed]
    assert not missing, f"the report lost: {missing}"
    figures = json.loads(out_file.read_text(encoding="utf-8"))
    assert figures["today"] == "2026-03-17" and not figures["all_agreements"]
    first, unchanged, churned = figures["measures"]
    assert [m["name"] for m in figures["measures"]] == PHASES
    assert all((m["tenants"], m["licenses"]) == (3, 4) for m in figures["measures"])
    assert first["operations"] > 0 and first["naive_changes"] == 3 * 4
    assert unchanged["operations"] == 0 and unchanged["naive_changes"] == 0
    assert churned["operations"] > 0
    for m in figures["measures"]:
        assert m["cpu"] > 0 and m["us_per_tenant"] > 0 and "ratio_to_naive" in m


def test_planner_benchmark_plans_the_same_given_every_agreement(tmp_path, capsys):
    from benchmarks.plan_bench import main as plan_main

    counts = []
    for extra in ([], ["--all-agreements"]):
        out_file = tmp_path / f"plan{len(extra)}.json"
        assert plan_main(["--tenants", "5", "--licenses", "3", "--json", str(out_file), *extra]) == 0
        counts.append([m["operations"] for m in json.loads(out_file.read_text(encoding="utf-8"))["measures"]])
    assert "every agreement of the PSA" in capsys.readouterr().out
    assert counts[0] == counts[1]


TABLE_MEASURES = (
    "measure", "goal", "measured", "bound", "ratio", "planner CPU, first (3 x 3)", "planner CPU, no change",
    "planner CPU, 5 % churn", "naive diff", "planner peak RSS", "sync wall, first (4 tenants, ConnectWise PSA",
    "sync wall, no change", "sync wall, 5 % churn", "strict lower bound", "PSA requests, no change",
    "catalog + 1 lines read per tenant", "PSA write requests, no change", "peak RSS, first",
    "speed-up per tenant vs sequential (2), first",
)


def test_the_one_table_of_make_bench_lists_every_measure(tmp_path, capsys):
    from benchmarks.bench_table import main as table_main

    assert table_main(["--plan-tenants", "3", "--licenses", "3", "--sync-tenants", "4", "--latency", "0",
                       "--baseline-tenants", "2", "--out", str(tmp_path)]) == 0

    printed = capsys.readouterr().out
    missing = [measure for measure in TABLE_MEASURES if measure not in printed]
    assert not missing, f"the table lost: {missing}"
    assert {p.name for p in tmp_path.iterdir()} == {"plan.json", "plan.txt", "sync.json", "sync.txt"}
    unchanged = next(line for line in printed.splitlines() if line.startswith("PSA requests, no change"))
    assert unchanged.split()[-1] == "1.00x"  # the catalog and one lines read per tenant, nothing more


def test_the_companies_benchmark_builds_a_real_database_and_reads_every_company(tmp_path, capsys):
    from benchmarks.companies_bench import main as companies

    assert companies(["--companies", "12", "--repeat", "2", "--keep", str(tmp_path / "db")]) == 0
    assert companies(["--companies", "12", "--repeat", "1", "--keep", str(tmp_path / "db")]) == 0  # kept, reused
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(" in ")[0] for line in printed] == ["built 12 companies"] + [
        "companies list: 12 companies read"] * 3


def test_the_storage_benchmark_prints_the_database_size_and_rows_at_each_checkpoint(capsys):
    from benchmarks.storage_bench import main as storage

    assert storage(["--tenants", "3", "--days", "31", "--churn", "0"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in printed[:3]] == ["day 1", "day 30", "day 31"]
    # Nothing changed after the first day: one snapshot per tenant, however many days were read.
    assert all("inventory_snapshot 3," in line and "sync_run" in line for line in printed[:3])
    assert printed[3].startswith("simulated 31 days")
