"""The benchmarks still run and still print every figure (tiny N, no latency); they assert no speed."""

from __future__ import annotations

import json
import random

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
OWN_FIGURES = (
    "seatsync alone, `python main.py sync --yes` in a child process", "wall time, spawn to exit (s)",
    "peak RSS, seatsync alone (MiB)", "peak RSS at 2 tenants (MiB)", "above it, per tenant (KiB)",
    "extrapolated to 5,000 tenants (MiB)", "exit code", "the machine's day (the sync command takes no day)",
)
NAIVE_FIGURES = (
    "naive runbook vs seatsync, nothing to change", "naive runbook (one tenant after another)",
    "seatsync: sequential, the same tenants", "seatsync: parallel", "naive / seatsync",
    "naive runbook's requests: GET cw additions ", "POST entra token 2",
    "0 quantities differed, 0 written",
)
PHASES = ["first", "no change", "5 % churn"]


def test_benchmark_prints_every_figure_and_writes_json(tmp_path, capsys):
    out_file = tmp_path / "bench.json"

    assert main(["--tenants", "4", "--latency", "0", "--baseline-tenants", "2", "--naive-tenants", "2",
                 "--tracemalloc", "--json", str(out_file)]) == 0

    printed = capsys.readouterr().out
    missing = [figure for figure in FIGURES + OWN_FIGURES + NAIVE_FIGURES if figure not in printed]
    assert not missing, f"the report lost: {missing}"
    figures = json.loads(out_file.read_text(encoding="utf-8"))
    parallel, sequential = figures["parallel"], figures["sequential"]
    assert (parallel["label"], parallel["tenants"], sequential["label"], sequential["tenants"],
            sequential["workers"]) == ("parallel", 4, "sequential", 2, 1)
    assert parallel["workers"] > 1 and figures["naive_world"] is None  # the runbook ran in the baseline's world
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


def test_seatsync_alone_in_its_own_process_syncs_as_a_user_would(tmp_path, capsys):
    """`python main.py sync --yes` in a child process: the same tenants synced and written as in-process, and its
    own peak memory, with the reference world's (half its tenants) beside it; the naive runbook in a world of
    its own."""
    out_file = tmp_path / "bench.json"

    assert main(["--tenants", "4", "--latency", "0", "--baseline-tenants", "0", "--naive-tenants", "3",
                 "--own-process", "only", "--json", str(out_file)]) == 0

    printed = capsys.readouterr().out
    missing = [figure for figure in OWN_FIGURES if figure not in printed]
    assert not missing, f"the report lost: {missing}"
    figures = json.loads(out_file.read_text(encoding="utf-8"))
    assert figures["parallel"] is None and figures["sequential"] is None
    own = figures["own_process"]
    assert (own["tenants"], own["reference_tenants"]) == (4, 2) and own["workers"] > 1
    for syncs, tenants in ((own["phases"], 4), (own["reference"], 2)):
        first, unchanged = syncs
        assert (first["name"], unchanged["name"]) == ("first", "no change")
        assert [(s["error"], s["exit_code"], s["tenants"], s["failed"]) for s in syncs] == [("", 1, tenants, 1)] * 2
        assert first["written"] > 0 and first["psa_write_requests"] >= first["written"]
        assert unchanged["written"] == 0 and unchanged["psa_write_requests"] == 0
        assert all(s["rss_peak_mib"] > 20 and s["wall"] > 0 and s["microsoft_requests"] > 0 for s in syncs)
    naive = figures["naive"]
    assert naive["world"] == "naive runbook's world" and figures["naive_world"]["phases"][0]["name"] == "no change"
    runbook = naive["runbook"]
    assert (runbook["tenants"], runbook["differences"], runbook["writes"], runbook["missing"]) == (3, 0, 0, 0)
    assert runbook["total_requests"] == runbook["server_requests"] > 0 and runbook["psa_write_requests"] == 0
    assert [s["tenants"] for s in naive["seatsync"]] == [3, 4]  # the same tenants; then the own-process sync's
    assert "own process, spawn to exit" in naive["seatsync"][1]["label"]
    assert all(s["ratio"] > 0 for s in naive["seatsync"])


def test_the_naive_runbook_writes_each_quantity_that_differs_and_then_none(tmp_path):
    """After seats changed in Microsoft, the runbook writes each changed line once; its next run finds nothing."""
    from app.bootstrap import open_context
    from app.services.secrets import MemoryKeyring, SecretStore
    from benchmarks.bench_measure import BENCH_DAY
    from benchmarks.naive_runbook import run
    from benchmarks.sync_bench import churn, configure, runbook_config, start_world

    for psa in ("connectwise", "halopsa", "autotask"):
        world, own = start_world(tmp_path / psa, psa=psa, tenants=5, seed=7)
        context = open_context(tmp_path / psa / "data", secrets=SecretStore(MemoryKeyring()), ca_file=world.tls.ca)
        try:
            connection_id, _ = configure(world, context, own)
            adapter = context.psas.psa(connection_id)
            if hasattr(adapter, "today"):
                adapter.today = lambda: BENCH_DAY
            context.sync_service(today=lambda: BENCH_DAY).sync(actor="test", trigger="benchmark")
            config = runbook_config(world, context, 5, BENCH_DAY)
            assert run(config).differences == 0  # as seatsync wrote it
            churn(world, 0.5, random.Random(1))
            changed, again = run(config), run(config)
        finally:
            context.close()
            world.stop()
        assert changed.differences > 0 and changed.failed == 1  # the tenant that never consented
        if psa == "autotask":  # a dated adjustment, which the runbook does not compute
            assert (changed.writes, changed.not_written, again.differences) == (0, changed.differences,
                                                                                changed.differences)
        else:
            assert changed.writes == changed.differences and again.differences == again.writes == 0


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
    "sync wall, no change", "<= 1.5x bound", "sync wall, 5 % churn", "strict lower bound", "PSA requests, no change",
    "catalog + 1 lines read per tenant", "PSA write requests, no change", "peak RSS, first",
    "speed-up per tenant vs sequential (2), first",
    "peak RSS, first (seatsync alone, own process) (4 tenants)",
    "peak RSS, no change (seatsync alone, own process) (4 tenants)", "<= 286 MiB (300 MB) at 5,000 tenants",
    "(the goal scaled to 4 tenants)", "extrapolated to 5,000",
    "sync wall, first (seatsync alone, own process, 4 tenants",
    "spawn to exit", "naive runbook, no change (2 tenants, one after another)",
    "no change vs naive runbook: seatsync, sequential, the same tenants, 1 worker(s) (2 tenants)",
    "n/a (one tenant at a time)", "no change vs naive runbook: seatsync, parallel", ">= 5x faster",
    "ms/tenant (naive runbook)",
    "database size after 31 days (3 tenants, 5% churn a day)", "rows, inventory_snapshot after 31 days",
    "rows, snapshot_license after 31 days", "growing with change, not time",
    "companies list, 12 companies (CompanyService.company_rows)", "<= 200 ms",
    "reconciliation report, 12 companies (ReportService.reconcile, a worker)", "(120 license rows;",
    "Reports view, sorting and searching its 120 rows: longest UI-thread block",
    "Reports view showing it: longest UI-thread block", "ran: plan ",
)


def test_the_one_table_of_make_bench_lists_every_measure(tmp_path, capsys):
    from benchmarks.bench_table import main as table_main

    assert table_main(["--plan-tenants", "3", "--licenses", "3", "--sync-tenants", "4", "--latency", "0",
                       "--baseline-tenants", "2", "--naive-tenants", "2", "--storage-tenants", "3",
                       "--storage-days", "31", "--companies", "12", "--skip", "sync-now",
                       "--out", str(tmp_path)]) == 0

    printed = capsys.readouterr().out
    missing = [measure for measure in TABLE_MEASURES if measure not in printed]
    assert not missing, f"the table lost: {missing}"
    assert {p.name for p in tmp_path.iterdir()} == {f"{name}.{ext}" for name in ("plan", "sync", "storage", "companies")
                                                   for ext in ("json", "txt")}
    lines = printed.splitlines()
    for table_name in ("inventory_snapshot", "snapshot_license", "sync_run", "tenant_sync_outcome"):
        row = next(line for line in lines if line.startswith(f"rows, {table_name} after"))
        assert row.split()[-1] == "1.00x"  # storage grows with change, not with time


def test_the_naive_comparison_sets_its_goal_on_the_parallel_run_and_bounds_one_worker_by_a_round_trip():
    from benchmarks.bench_table import naive_rows

    runbook = {"tenants": 50, "wall": 15.2, "ms_per_tenant": 304.0, "total_requests": 148, "writes": 0}
    seatsync = [{"label": "sequential", "tenants": 50, "workers": 1, "ms_per_tenant": 118.0, "ratio": 304 / 118},
                {"label": "parallel", "tenants": 1000, "workers": 16, "ms_per_tenant": 16.0, "ratio": 19.0}]
    _, one, many = naive_rows({"latency": 0.1, "runbook": runbook, "seatsync": seatsync})
    assert one[1] == "n/a (one tenant at a time)"
    assert one[3] == "304 ms/tenant (naive runbook); one round trip a tenant: 100 ms/tenant, at most 3.04x faster"
    assert one[4] == "2.58x faster"
    assert many[1:] == (">= 5x faster", "16 ms/tenant", "304 ms/tenant (naive runbook)", "19.00x faster")


def test_the_table_reads_sync_now_figures_and_says_when_a_benchmark_failed(tmp_path):
    from benchmarks.bench_table import Failed, bench, sync_now_rows

    rows = sync_now_rows({"latency": 0.1, "measures": [
        {"name": "Sync now, one company, no change", "goal": "<= 1 s", "wall": 0.5, "requests": 5, "chain": 0.1}],
        "ui_probe": {"longest_block_ms": 21.4, "tenants": 200}})
    assert rows == [("Sync now, one company, no change (100 ms/request)", "<= 1 s", "0.50 s (5 requests)",
                     "0.10 s (dependency chain)", "5.00x"),
                    ("longest UI-thread block during a sync (200 tenants)", "<= 50 ms", "21 ms", "n/a", "n/a")]
    assert sync_now_rows({"latency": 0.1, "measures": [], "ui_probe": None})[-1][2] == "not run"
    failures = []
    for script, args in (("no_such_bench.py", []), ("plan_bench.py", ["--tenants", "many"])):
        try:
            bench(script, args, tmp_path, "failing")
        except Failed as failure:
            failures.append(str(failure))
    assert failures[0] == "not run: benchmarks/no_such_bench.py is not there"
    assert failures[1].startswith("failed (exit code 2): ") and "invalid int value: 'many'" in failures[1]


def test_the_companies_benchmark_builds_a_real_database_and_reads_every_company(tmp_path, capsys):
    from benchmarks.companies_bench import main as companies

    assert companies(["--companies", "12", "--repeat", "2", "--keep", str(tmp_path / "db")]) == 0
    figures = tmp_path / "companies.json"
    assert companies(["--companies", "12", "--repeat", "1", "--keep", str(tmp_path / "db"),  # kept, reused
                      "--json", str(figures)]) == 0
    printed = capsys.readouterr().out.splitlines()
    report = ["reconciliation report: 120 license rows read", "Reports view's table", "Reports view: shown"]
    assert [line.split(" in ")[0].split(", ")[0] for line in printed] == ["built 12 companies", *[
        "companies list: 12 companies read"] * 2, *report, "companies list: 12 companies read", *report]
    shown = json.loads(figures.read_text(encoding="utf-8"))["report"]
    assert shown["rows"] == 120 and shown["queries"] > 0 and shown["view_ms"] >= shown["view_block_ms"] > 0
    assert list(shown["actions_ms"]) == ["sort by a column", "sort by another", "first search", "next keystroke",
                                         "loaded again, searched", "search cleared", "loaded again, sorted"]
    assert all(step["done_ms"] > 0 and step["block_ms"] >= 0 for step in shown["actions_ms"].values())


def test_the_storage_benchmark_prints_the_database_size_and_rows_at_each_checkpoint(capsys):
    from benchmarks.storage_bench import main as storage

    assert storage(["--tenants", "3", "--days", "31", "--churn", "0"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(" (")[0] for line in printed[:3]] == ["day 1", "day 30", "day 31"]
    # Nothing changed after the first day: one snapshot per tenant, however many days were read.
    assert all("inventory_snapshot 3," in line and "sync_run" in line for line in printed[:3])
    assert printed[3].startswith("simulated 31 days")


def test_the_storage_benchmark_writes_its_figures_and_the_rows_growing_with_change_would_hold(tmp_path):
    from benchmarks.storage_bench import main as storage

    out_file = tmp_path / "storage.json"
    assert storage(["--tenants", "4", "--days", "35", "--churn", "0.2", "--json", str(out_file)]) == 0
    figures = json.loads(out_file.read_text(encoding="utf-8"))
    assert (figures["tenants"], figures["days"], figures["changes"]) == (4, 35, figures["checkpoints"][-1]["changes"])
    assert [c["day"] for c in figures["checkpoints"]] == [1, 30, 35] and figures["changes"] > 0
    for checkpoint in figures["checkpoints"]:
        assert checkpoint["size_mib"] > 0
        assert {t: checkpoint["rows"][t] for t in checkpoint["bounds"]} == checkpoint["bounds"]


def test_the_migration_benchmark_prints_every_step(capsys):
    from benchmarks import migrate_bench

    assert migrate_bench.main(["--lines", "4", "--tenants", "12", "--latency", "0"]) == 0
    printed = capsys.readouterr().out
    steps = ("find the Cloudconsole lines", "find the Unite lines", "preview adopting the Cloudconsole lines",
             "preview cancelling the Unite lines", "decide both", "first sync", "second sync", "third sync")
    assert [step for step in steps if step not in printed] == []
    assert "2 lines" in printed and "adopt_line" in printed and "cancel_line" in printed


def test_the_custom_counts_benchmark_prints_the_requests_of_each_rule(capsys):
    from benchmarks import custom_counts_bench

    assert custom_counts_bench.main(["--users", "20", "--groups", "3", "--shared", "2"]) == 0
    printed = capsys.readouterr().out
    rules = ("enabled member users", "licensed users", "users of a UPN domain", "members of a group", "user mailboxes",
             "shared mailboxes", "sum of two licenses", "a fixed number", "every rule at once")
    assert [rule for rule in rules if rule not in printed] == []
    assert "graph:transitiveMembers 1" in printed and "graph:userPurpose 22" in printed  # 20 people + 2 shared
