"""The Sync now benchmark still runs and prints every figure (a tiny world, 10 ms a request); it asserts no
speed."""

from __future__ import annotations

import json

from benchmarks.sync_now_bench import main

MEASURES = [
    "Sync now, one company, first sync", "Sync now, one company, no change", "Sync now, one company, one seat changed",
    "main.py sync --company ID --yes, whole process, first sync",
    "main.py sync --company ID --yes, whole process, no change",
]
FIGURES = (
    *MEASURES, "runs (s):", "median wall:", "requests:", "by route:", "POST entra:token", "GET graph:subscribedSkus",
    "Entra ID", "Graph", "Partner Center", "ConnectWise PSA", "PSA writes:", "dependency chain:", "wall / chain:",
    "start-up, main.py --help", "UI probe (a world of 2 tenants", "longest UI-thread block", "synced on 2026-03-17",
    "the machine's day", "measure", "goal", "median", "chain",
)


def test_the_sync_now_benchmark_prints_every_figure_and_writes_json(tmp_path, capsys):
    out_file = tmp_path / "sync-now.json"

    assert main(["--repeat", "1", "--users", "20", "--latency", "0.01", "--ui-probe-tenants", "2",
                 "--json", str(out_file)]) == 0

    printed = capsys.readouterr().out
    missing = [figure for figure in FIGURES if figure not in printed]
    assert not missing, f"the report lost: {missing}"
    assert "failed:" not in printed, printed  # every run synced its company, the headless ones too
    figures = json.loads(out_file.read_text(encoding="utf-8"))
    assert set(figures) == {"latency", "measures", "startup", "ui_probe"} and figures["latency"] == 0.01
    assert [m["name"] for m in figures["measures"]] == MEASURES
    assert [m["goal"] for m in figures["measures"]] == ["<= 1 s"] * 3 + ["<= 1.5 s"] * 2
    for measure in figures["measures"]:
        assert set(measure) == {"name", "goal", "wall", "requests", "chain"}
        assert measure["wall"] > 0 and measure["requests"] > 0 and measure["chain"] > 0
    first, unchanged, changed, cli_first, cli_unchanged = figures["measures"]
    # A first sync writes, then reads back: its chain is longer than one with nothing to write.
    assert first["chain"] > changed["chain"] > unchanged["chain"]
    assert first["requests"] > changed["requests"] > unchanged["requests"]
    assert cli_first["chain"] > cli_unchanged["chain"]
    assert figures["startup"] > 0
    assert figures["ui_probe"]["tenants"] == 2 and figures["ui_probe"]["longest_block_ms"] > 0
