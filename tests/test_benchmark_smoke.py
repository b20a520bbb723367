"""The sync benchmark still runs and still prints every figure (tiny N, no latency)."""

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
