"""Processes: a sync killed mid-write, two syncs of one tenant at once, and the headless commands.

The subprocess tests (marked slow: each starts Python) run in the default suite all the same.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import pytest

from app.cli import main
from app.commands.common import use_context
from app.sandbox.world import DEMO_INDIRECT_CUSTOMERS
from tests.e2e.conftest import SPB, Tenant, close_tenant, killed_sessions_ended, later, make_tenant
from tests.e2e.test_faults import assert_converged, change

ROOT = Path(__file__).resolve().parents[2]
#: The sync's tenant lease (SyncEngine.lock_ttl_seconds): a killed process holds it until it runs out.
LEASE = 900

def spec(tenant: Tenant, **extra: object) -> str:
    world = tenant.world
    return json.dumps({
        "data_dir": str(tenant.context.data_dir), "ca": world.tls.ca, "today": tenant.clock().isoformat(),
        "microsoft_secret": world.microsoft.settings(world.microsoft_server).client_secret,
        "psa_secrets": world.psa_side.settings()[1], **extra})

def worker(tenant: Tenant, **extra: object) -> subprocess.Popen:
    path = tenant.context.data_dir.parent / f"worker-{uuid.uuid4().hex[:8]}.json"
    path.write_text(spec(tenant, **extra), encoding="utf-8")
    return subprocess.Popen([sys.executable, "-m", "tests.e2e.worker", str(path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err

@pytest.mark.slow
@pytest.mark.parametrize("op", ["create", "set_quantity", "cancel"])
def test_a_process_killed_between_the_psa_call_and_the_journal_converges_on_the_next_run(synced: Tenant, op):
    change(synced, op)
    kind = {"create": "create_line", "set_quantity": "set_quantity", "cancel": "cancel_line"}[op]
    code, out, err = finish(worker(synced, crash_after=kind))
    assert code == -9, (out, err)  # SIGKILL: no cleanup, no journal update, the lease left behind
    killed_sessions_ended()
    later(synced.context, LEASE + 1)
    result = synced.sync().results[0]
    assert result.status.value == "ok", result.error
    # The write the dead process made is found in the PSA and audited, never sent again.
    assert [o.kind.value for o in result.recovered] == [kind] and result.applied == []
    assert_converged(synced, op)

@pytest.mark.slow
def test_two_processes_on_one_tenant_apply_each_operation_once(synced: Tenant):
    synced.seats(SPB, 13)
    for server in (synced.world.psa_server, synced.world.microsoft_server):
        server.chaos.latency = 0.02  # long enough for the two runs to overlap
    before = synced.writes()
    runs = [worker(synced), worker(synced)]
    outcomes = [finish(process) for process in runs]
    for code, _out, err in outcomes:
        assert code == 0, err
    answers = [json.loads(out) for _, out, _ in outcomes]
    results = [r for answer in answers for r in answer["results"]]
    applied = [key for r in results for key in r["applied"]]
    # The tenant's lease lets one of them at a time; on a team database the run lock already does (the
    # other's run is coalesced into it and says so).
    coalesced = [answer["coalesced"] for answer in answers if "coalesced" in answer]
    assert all("another seatsync is syncing the team's database now" in said for said in coalesced)
    assert sorted(r["status"] for r in results) in (["busy", "ok"], ["ok", "ok"], ["ok"])
    assert len(results) + len(coalesced) == 2
    assert len(applied) == len(set(applied)) == 2  # the prorate line and the new quantity, once each
    assert synced.writes() - before == 2
    for server in (synced.world.psa_server, synced.world.microsoft_server):
        server.chaos.latency = 0.0
    assert_converged(synced, "set_quantity")

def test_plan_json_lists_exactly_what_sync_then_applies(tmp_path, tls, psa, capsys):
    tenant = make_tenant(tmp_path, tls, psa, today=date.today)  # the commands sync as of today
    use_context(tenant.context)
    try:
        for step in range(2):
            if step:
                tenant.seats(SPB, 13)
            assert main(["plan", "--json"]) == 0
            planned = json.loads(capsys.readouterr().out)
            assert main(["sync", "--yes", "--json"]) == 0
            synced = json.loads(capsys.readouterr().out)
            keys = [op["key"] for t in planned["tenants"] for op in t["operations"]]
            assert keys and keys == [op["key"] for t in synced["tenants"] for op in t["applied"]]
        assert main(["plan", "--json"]) == 0
        assert [op for t in json.loads(capsys.readouterr().out)["tenants"] for op in t["operations"]] == []
    finally:
        use_context(None)
        close_tenant(tenant)

@pytest.mark.slow
def test_the_demo_runs_headless_on_each_psa(psa, data_dir):
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "demo", "--once", "--tenants", "4", "--psa", psa],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    synced = 4 + DEMO_INDIRECT_CUSTOMERS  # the home partner's four and the indirect reseller's customers
    assert f"{synced} tenant(s):" in result.stdout and "What the PSA now holds" in result.stdout
    assert "unexpected error" not in result.stdout
