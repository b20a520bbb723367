"""The scheduler: daily runs, missed runs, Sync now and its coalescing."""

from __future__ import annotations

import threading
from datetime import datetime, time

import pytest

from app.models.records import RunTrigger
from app.services.sync.scheduler import ALL, ScheduleSettings, SyncScheduler


class Recorder:
    def __init__(self, block: threading.Event | None = None) -> None:
        self.runs: list[str] = []
        self.triggers: list[str] = []
        self.finished = threading.Event()
        self.started = threading.Event()
        self.block = block

    def run(self, target: str, *, trigger: str) -> str:
        self.started.set()
        if self.block:
            self.block.wait(10)
        self.runs.append(target)
        self.triggers.append(trigger)
        return f"synced {target}"

    def done(self, target, result, error) -> None:
        self.finished.set()


def make(rec: Recorder, now: datetime, last: datetime | None, at: time = time(6, 0)) -> SyncScheduler:
    return SyncScheduler(rec.run, settings=ScheduleSettings(daily_at=at), last_run=lambda: last, now=lambda: now,
                         on_finished=rec.done)


@pytest.mark.parametrize(("now", "last", "missed"), [
    (datetime(2026, 11, 25, 9, 0), datetime(2026, 11, 25, 6, 1), False),  # ran this morning
    (datetime(2026, 11, 25, 9, 0), datetime(2026, 11, 24, 6, 1), True),  # asleep at 06:00 today
    (datetime(2026, 11, 25, 5, 0), datetime(2026, 11, 24, 6, 1), False),  # today's run is still ahead
    (datetime(2026, 11, 25, 5, 0), datetime(2026, 11, 23, 6, 1), True),  # yesterday's was missed
    (datetime(2026, 11, 25, 5, 0), None, True),  # never ran
])
def test_a_missed_run_is_detected(now, last, missed):
    assert make(Recorder(), now, last).missed_run() is missed


def test_a_missed_run_runs_at_start_as_the_schedules():
    rec = Recorder()
    now = datetime(2026, 11, 25, 9, 0)
    scheduler = make(rec, now, datetime(2026, 11, 24, 6, 0))
    scheduler.start()
    try:
        assert rec.finished.wait(10)
        assert rec.runs == [ALL] and rec.triggers == [RunTrigger.SCHEDULE]
        assert scheduler.next_run() is not None and scheduler.next_run().hour == 6
    finally:
        scheduler.shutdown()


def test_sync_now_while_the_same_target_syncs_is_coalesced():
    gate = threading.Event()
    rec = Recorder(block=gate)
    scheduler = make(rec, datetime(2026, 11, 25, 9, 0), datetime(2026, 11, 25, 6, 0))
    scheduler.start()
    try:
        assert scheduler.sync_now("company-7") is True
        assert rec.started.wait(10)
        assert scheduler.sync_now("company-7") is False  # already running
        assert scheduler.is_running("company-7")
        gate.set()
        assert rec.finished.wait(10)
        assert rec.runs == ["company-7"] and rec.triggers == [RunTrigger.MANUAL]
    finally:
        scheduler.shutdown()


def test_pause_and_settings_change_without_restart():
    scheduler = make(Recorder(), datetime(2026, 11, 25, 9, 0), datetime(2026, 11, 25, 6, 0))
    scheduler.start()
    try:
        scheduler.pause()
        assert scheduler.paused
        scheduler.resume()
        scheduler.apply(ScheduleSettings(daily_at=time(22, 30)))
        assert (scheduler.next_run().hour, scheduler.next_run().minute) == (22, 30)
        scheduler.apply(ScheduleSettings(enabled=False))
        assert scheduler.next_run() is None
    finally:
        scheduler.shutdown()


@pytest.mark.parametrize("ready", [False, True])
def test_a_missed_run_runs_at_start_only_when_there_is_something_to_sync(ready):
    rec = Recorder()
    asked = threading.Event()

    def has_work() -> bool:
        asked.set()
        return ready

    scheduler = SyncScheduler(rec.run, settings=ScheduleSettings(), last_run=lambda: None,
                              now=lambda: datetime(2026, 11, 25, 9, 0), on_finished=rec.done, ready=has_work)
    scheduler.start()
    try:
        assert asked.wait(10)
        if ready:
            assert rec.finished.wait(10) and rec.runs == [ALL]
        else:
            scheduler.shutdown(wait=True)  # the catch-up job has ended
            assert rec.runs == [] and not rec.started.is_set()
    finally:
        scheduler.shutdown()


def test_sync_now_runs_on_an_empty_installation_too():
    """Only scheduled runs wait for something to sync: a person asking is told what is missing."""
    rec = Recorder()
    scheduler = SyncScheduler(rec.run, settings=ScheduleSettings(enabled=False), last_run=lambda: None,
                              on_finished=rec.done, ready=lambda: False)
    scheduler.start()
    try:
        assert scheduler.sync_now(ALL)
        assert rec.finished.wait(10) and rec.runs == [ALL]
    finally:
        scheduler.shutdown()
