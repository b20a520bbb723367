"""Background sync on a schedule, and "Sync now", with APScheduler.

The schedule is rebuilt from settings at every start (APScheduler's memory
job store) and the time of the last completed scheduled run is kept in the
app's database: that is all a missed run needs. APScheduler 3 ships no job
store for peewee, and the jobs hold live objects (the engine, its
sessions) that a persistent job store would have to pickle. docs/architecture.md
says more.

- A daily job at the configured time; ``misfire_grace_time=None`` and
  ``coalesce=True``: a run missed while the computer slept runs once, late,
  when it wakes.
- A run missed while seatsync was not running at all runs at the next start.
- A scheduled run (daily or caught up) runs only when there is something
  to sync (``ready``: a PSA connection and a company with a mapping); on an
  empty installation it is skipped quietly, never reported as a failure.
- "Sync now" for one target (a company, or everything) while the same
  target is already syncing is coalesced into the running one. It runs on a
  small pool of our own rather than as a one-off APScheduler job, whose
  removal after running races the scheduler's shutdown (JobLookupError).
- Jobs run on pool threads and only call ``run_sync(target, trigger=...)``,
  the trigger saying what started the run (``RunTrigger``):
  a daily run that fires while a "Sync now" waits is still the schedule's.
  Whoever needs to know (the window, the tray) listens through
  ``on_started`` and ``on_finished``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor as Pool
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_PAUSED
from apscheduler.triggers.cron import CronTrigger

from app.models.records import RunTrigger
from app.services.settings import Settings

log = logging.getLogger(__name__)

ALL = "*"  # the target "every company"
DAILY_JOB = "daily-sync"


@dataclass(frozen=True)
class ScheduleSettings:
    enabled: bool = True
    daily_at: time = time(6, 0)

    @classmethod
    def of(cls, settings: Settings) -> ScheduleSettings:
        """The schedule the business settings ask for."""
        return cls(enabled=settings.sync_enabled, daily_at=settings.sync_time)


class SyncScheduler:
    def __init__(self, run_sync: Callable[..., Any], *, settings: ScheduleSettings,
                 last_run: Callable[[], datetime | None],
                 now: Callable[[], datetime] = datetime.now,
                 on_started: Callable[[str], None] | None = None,
                 on_finished: Callable[[str, Any, BaseException | None], None] | None = None,
                 ready: Callable[[], bool] = lambda: True) -> None:
        self._run_sync = run_sync
        self._ready = ready
        self.settings = settings
        self._last_run = last_run
        self._now = now
        self._on_started = on_started or (lambda target: None)
        self._on_finished = on_finished or (lambda target, result, error: None)
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._pool = Pool(max_workers=2, thread_name_prefix="sync-now")
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        self._scheduler.start()
        self.apply(self.settings)
        if self.settings.enabled:
            self._pool.submit(self._catch_up)  # reads the database: never on the caller's (UI) thread

    def _catch_up(self) -> None:
        try:
            missed = self.missed_run()
        except Exception:  # the daily run still comes
            log.exception("could not tell whether a scheduled sync was missed")
            return
        if missed:
            log.info("a scheduled sync was missed while seatsync was not running: running it now")
            self._job(ALL, True)

    def shutdown(self, wait: bool = False) -> None:
        if self._scheduler.running:
            self._scheduler.pause()  # no new daily run starts while the job store closes
            self._scheduler.shutdown(wait=wait)
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def apply(self, settings: ScheduleSettings) -> None:
        """Take new schedule settings (daily time, enabled) without a restart."""
        self.settings = settings
        if self._scheduler.get_job(DAILY_JOB):
            self._scheduler.remove_job(DAILY_JOB)
        if settings.enabled:
            trigger = CronTrigger(hour=settings.daily_at.hour, minute=settings.daily_at.minute)
            self._scheduler.add_job(self._job, trigger, args=(ALL, True), id=DAILY_JOB, name="daily sync")

    @property
    def paused(self) -> bool:
        return self._scheduler.state == STATE_PAUSED

    def pause(self) -> None:
        self._scheduler.pause()

    def resume(self) -> None:
        self._scheduler.resume()

    def next_run(self) -> datetime | None:
        job = self._scheduler.get_job(DAILY_JOB)
        return job.next_run_time if job else None

    # -- running -----------------------------------------------------------------

    def missed_run(self) -> bool:
        """Whether the most recent scheduled time passed without a completed run."""
        now = self._now()
        due = datetime.combine(now.date(), self.settings.daily_at, tzinfo=now.tzinfo)
        if due > now:
            due -= timedelta(days=1)
        last = self._last_run()
        return last is None or last < due

    def _has_work(self) -> bool:
        try:
            ready = self._ready()
        except Exception:  # let the run itself say what is wrong
            log.exception("could not tell whether there is anything to sync")
            return True
        if not ready:
            log.info("scheduled sync skipped: nothing to sync yet (no PSA connection, or no company with a "
                     "mapping)")
        return ready

    def is_running(self, target: str) -> bool:
        with self._lock:
            return target in self._running or ALL in self._running

    def sync_now(self, target: str = ALL, *, scheduled: bool = False) -> bool:
        """Queue a sync of ``target``; False when it is already syncing (coalesced)."""
        if self.is_running(target):
            return False
        # A second request queued before this one starts finds the target
        # running in _job and returns (coalesced there).
        self._pool.submit(self._job, target, scheduled)
        return True

    def _job(self, target: str, scheduled: bool) -> None:
        if scheduled and not self._has_work():
            return
        with self._lock:
            if target in self._running or ALL in self._running:
                return
            self._running.add(target)
        self._on_started(target)
        result: Any = None
        error: BaseException | None = None
        try:
            result = self._run_sync(target, trigger=RunTrigger.SCHEDULE if scheduled else RunTrigger.MANUAL)
        except Exception as exc:  # reported to the listener, never lost
            log.exception("sync of %s failed", target)
            error = exc
        finally:
            with self._lock:
                self._running.discard(target)
        self._on_finished(target, result, error)
