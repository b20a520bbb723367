"""A team on one PostgreSQL database: two desktops and a runner, each a process of its own, on one tenant.

Each PSA change is applied exactly once however the three overlap; a
killed runner's tenant lease and run lock are free at once (its database
session ended), also when it ran on another computer; a desktop's sync
while the runner syncs is coalesced into the runner's and says so.
"""

from __future__ import annotations

import json
import time
from datetime import date

import pytest

from app.services.team.syncer import RUN_ROW, SyncRunningElsewhere
from app.services.uow import connected
from tests.e2e.conftest import SPB, Tenant, killed_sessions_ended
from tests.e2e.test_faults import assert_converged, change
from tests.e2e.test_processes import finish, worker

pytestmark = pytest.mark.slow


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_engine(request) -> str:
    return request.param


def test_two_desktops_and_a_runner_apply_each_change_exactly_once_over_many_runs(synced: Tenant):
    for server in (synced.world.psa_server, synced.world.microsoft_server):
        server.chaos.latency = 0.01  # long enough for the three to overlap
    applied: list[str] = []
    coalesced = 0
    for day, seats in ((16, 13), (20, 16), (25, 20)):
        synced.move_to(date(2026, 1, day))
        synced.seats(SPB, seats)
        before = synced.writes()
        runs = [worker(synced, hostname="desk-1"), worker(synced, hostname="desk-2"),
                worker(synced, hostname="runner", trigger="schedule")]
        answers = []
        for code, out, err in (finish(process) for process in runs):
            assert code == 0, err
            answers.append(json.loads(out))
        keys = [key for answer in answers for r in answer["results"] for key in r["applied"]]
        coalesced += sum("coalesced" in answer for answer in answers)
        assert len(keys) == len(set(keys)) == 2, answers  # the prorate line and the new quantity, once each
        assert synced.writes() - before == 2
        applied += keys
    assert len(applied) == len(set(applied)) == 6
    assert coalesced > 0, "the desktops' syncs never met the runner's: the test proved nothing"
    assert synced.main(SPB).quantity == 20
    markers = [h.marker for h in synced.holdings()]
    assert len(markers) == len(set(markers)), synced.holdings()
    audited = synced.audited_keys()
    assert len(audited) == len(set(audited))
    for server in (synced.world.psa_server, synced.world.microsoft_server):
        server.chaos.latency = 0.0
    quiet = synced.sync()
    assert (quiet.writes, quiet.planned) == (0, 0)


def test_a_killed_runner_on_another_computer_frees_its_lease_and_the_run_at_once(synced: Tenant):
    change(synced, "set_quantity")
    code, out, err = finish(worker(synced, crash_after="set_quantity", hostname="runner", trigger="schedule"))
    assert code == -9, (out, err)  # SIGKILL between the PSA's answer and the journal: its lease left behind
    # No waiting for the lease's 15 minutes: the server ends the killed process's session as soon as it sees
    # its connection closed (a moment), and with it the run lock and the lease.
    killed_sessions_ended()
    result = synced.sync().results[0]
    assert result.status.value == "ok", result.error
    assert [o.kind.value for o in result.recovered] == ["set_quantity"] and result.applied == []
    assert_converged(synced, "set_quantity")


def test_sync_now_while_the_runner_syncs_is_coalesced_and_says_who_syncs(synced: Tenant):
    synced.seats(SPB, 13)
    synced.move_to(date(2026, 1, 16))
    for server in (synced.world.psa_server, synced.world.microsoft_server):
        server.chaos.latency = 0.5  # the runner's sync takes a few seconds
    runner = worker(synced, hostname="srv-1", trigger="schedule")
    deadline = time.monotonic() + 30
    holder = None
    while holder is None and time.monotonic() < deadline and runner.poll() is None:
        with connected():
            holder = synced.context.uow.locks.holder(RUN_ROW)
        time.sleep(0.05)
    assert holder == "the scheduled sync by worker on srv-1", holder
    with pytest.raises(SyncRunningElsewhere) as refused:
        synced.sync()
    assert "the scheduled sync by worker on srv-1 is running" in refused.value.message
    for server in (synced.world.psa_server, synced.world.microsoft_server):
        server.chaos.latency = 0.0
    code, out, err = finish(runner)
    assert code == 0, err
    (result,) = json.loads(out)["results"]
    assert result["status"] == "ok" and len(result["applied"]) == 2
    assert synced.sync().writes == 0  # the runner's run did it all
