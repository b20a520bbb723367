"""The sync bridge labels each run by what started it: the schedule passes its trigger through, so a daily run
that fires while a person's "Sync now" waits is recorded, digested and audited as the schedule's."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time

from app.services.sync.scheduler import ALL, DAILY_JOB, ScheduleSettings
from app.ui.sync_gateway import SyncGateway


def test_a_daily_run_firing_while_a_manual_sync_everything_waits_keeps_its_own_trigger(qtbot):
    gate = threading.Event()
    calls: list[tuple[str, str, str]] = []  # (target, trigger, actor), in the order the runs started

    def run_sync(target: str, *, actor: str, trigger: str, progress) -> None:
        calls.append((target, trigger, actor))
        gate.wait(10)

    bridge = SyncGateway(run_sync, schedule=ScheduleSettings(enabled=True, daily_at=time(6, 0)),
                        last_run=lambda: datetime.now().astimezone(), user="dana")
    bridge.start()
    try:
        # Both "Sync now" workers busy with a company each: "sync everything" waits in their queue.
        assert bridge.sync_now("1") and bridge.sync_now("2")
        qtbot.waitUntil(lambda: len(calls) == 2)
        assert bridge.sync_now(ALL)
        # The daily job fires now, on the scheduler's own thread.
        bridge.scheduler._scheduler.modify_job(DAILY_JOB, next_run_time=datetime.now(UTC))
        qtbot.waitUntil(lambda: len(calls) == 3)
        assert calls[2] == (ALL, "schedule", "sync (schedule)")
        gate.set()
        qtbot.waitUntil(lambda: not bridge.busy and len(calls) in (3, 4))
        # The person's request, when it was not coalesced into the running one, ran as theirs.
        assert all(call == (ALL, "manual", "sync (manual: dana)") for call in calls[3:])
        assert sorted(calls[:2]) == [("1", "manual", "sync (manual: dana)"), ("2", "manual", "sync (manual: dana)")]
    finally:
        gate.set()
        bridge.shutdown(wait=True)
