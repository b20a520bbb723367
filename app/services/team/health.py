"""The headless runner's health, reported into the team database for every desktop to show.

``run-scheduler`` reports when it starts, every minute while it runs
(its heartbeat) and after every run (when, how it went, the next run). A
desktop reads the reports and says, e.g., "runner on srv-1: last sync
02:00, OK; next 02:00" — or that a runner has not been heard from for
longer than three heartbeats, which is what a stopped service looks like.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from app.errors import SeatsyncError
from app.models.records import RunStatus
from app.models.repositories.runners import RunnerRecord
from app.services.uow import UnitOfWork

HEARTBEAT = timedelta(minutes=1)
SILENT_AFTER = 3 * HEARTBEAT


class RunnerHealth:
    def __init__(self, uow: UnitOfWork, *, data_dir: Path, now: Callable[[], datetime],
                 next_run: Callable[[], datetime | None]) -> None:
        self.uow = uow
        self.host = socket.gethostname()
        self.name = f"{self.host}:{data_dir}"[:200]
        self.now = now
        self.next_run = next_run
        self.started_at = now()

    def beat(self) -> None:
        with self.uow:
            self.uow.runners.beat(self.name, host=self.host, pid=os.getpid(), started_at=self.started_at,
                                  next_run_at=self.next_run())

    def ran(self, status: str, summary: str) -> None:
        with self.uow:
            self.uow.runners.ran(self.name, at=self.now(), status=status, summary=summary,
                                 next_run_at=self.next_run())

    def keep_beating(self, stop: threading.Event, every: timedelta = HEARTBEAT) -> threading.Thread:
        """Beat every ``every`` on a thread of its own until ``stop`` is set (a failed beat is tried again)."""
        def loop() -> None:
            while not stop.wait(every.total_seconds()):
                try:
                    self.beat()
                except SeatsyncError:  # the database is away for a moment: the next beat says we live
                    continue

        thread = threading.Thread(target=loop, name="seatsync-heartbeat", daemon=True)
        thread.start()
        return thread


def _clock(at: datetime) -> str:
    return at.astimezone().strftime("%H:%M") if at.date() == datetime.now().date() else \
        at.astimezone().strftime("%d %b %H:%M")


_OUTCOME = {RunStatus.SUCCEEDED.value: "OK", RunStatus.PARTIAL.value: "partly failed",
            RunStatus.FAILED.value: "FAILED", RunStatus.CANCELLED.value: "cancelled"}


def runner_line(runners: list[RunnerRecord], now: datetime) -> str:
    """One line on the team's runner(s) for a desktop's status bar ('' when no runner ever reported)."""
    if not runners:
        return ""
    parts = []
    for runner in runners:
        head = f"runner on {runner.host}"
        if now - runner.heartbeat_at > SILENT_AFTER:
            parts.append(f"{head}: not heard from since {_clock(runner.heartbeat_at)} (is its service running?)")
            continue
        last = (f"last sync {_clock(runner.last_run_at)}, {_OUTCOME.get(runner.last_status, runner.last_status)}"
                if runner.last_run_at else "no sync yet")
        upcoming = f"; next {_clock(runner.next_run_at)}" if runner.next_run_at else ""
        parts.append(f"{head}: {last}{upcoming}")
    return " · ".join(parts)
