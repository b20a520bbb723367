"""The sync gateway: the window's one way to the scheduler, and the signals every view subscribes to.

A view (or the toolbar, or the tray) asks ``sync_now(target)``; the
scheduler (``SyncScheduler``) runs the job on its pool with the run's
trigger; the job is the sync service's; the gateway turns the scheduler's
callbacks into Qt signals on the UI thread (queued connections) —
``started``, ``progressed``, ``finished`` with the typed ``RunSummary`` —
which the window, its views, the tray and the notices connect to
themselves. A target is ``ALL`` ("*") or a company's database id as text
(``target_of``), from the request to the job, which hands the sync service
the company id. Progress is polled from a UI-thread timer rather than
letting workers signal every step (no flicker, no flood). Workers never
touch a widget: they only update a small progress record under a lock.

"Pause sync" pauses the schedule only: "Sync now" still works while paused.
"Cancel" (``cancel``) sets the running syncs' cancel flags: each finishes
the companies it started and starts no other.
"""

from __future__ import annotations

import getpass
import inspect
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from app.models.records import RunTrigger
from app.services.sync.scheduler import ALL, ScheduleSettings, SyncScheduler

if TYPE_CHECKING:
    from app.services.sync.service import RunSummary

log = logging.getLogger(__name__)

#: run_sync(target, actor=..., trigger=..., progress=..., cancel=...) -> RunSummary; target is "*" or a
#: company id, cancel a threading.Event (passed when run_sync takes it: one that does not cannot be cancelled).
RunSync = Callable[..., Any]
POLL_MS = 250


@dataclass
class _Progress:
    done: int = 0
    last: str = ""


def target_of(company_id: int | None) -> str:
    """The target that syncs one company (its database id), or every company (None)."""
    return ALL if company_id is None else str(company_id)


class SyncGateway(QObject):
    started = Signal(str)  # target
    progressed = Signal(str, str)  # target, what is done so far
    finished = Signal(str, object, object)  # target, RunSummary (or None), the error (or None)
    busy_changed = Signal(bool)
    #: A request for a target that is already syncing (it is not queued twice).
    refused = Signal(str)
    #: "Cancel sync" was asked: the running syncs finish the companies they started.
    cancelling_changed = Signal(bool)

    _started_on_pool = Signal(str)
    _finished_on_pool = Signal(str, object, object)

    def __init__(self, run_sync: RunSync, *, schedule: ScheduleSettings,
                 last_run: Callable[[], datetime | None] = lambda: None,
                 now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
                 ready: Callable[[], bool] = lambda: True,
                 user: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._run_sync = run_sync
        self._user = user or getpass.getuser()
        self._schedule = schedule
        self._paused = False
        self._lock = threading.Lock()
        self._progress: dict[str, _Progress] = {}
        self._shown: dict[str, str] = {}
        self._cancels: dict[str, threading.Event] = {}
        self._previewed: dict[str, Mapping[str, frozenset[str]]] = {}
        self.running: set[str] = set()
        self.scheduler = SyncScheduler(self._job, settings=schedule, last_run=last_run,
                                       now=now, on_started=self._started_on_pool.emit,
                                       on_finished=self._finished_on_pool.emit, ready=ready)
        self._started_on_pool.connect(self._on_started, Qt.ConnectionType.QueuedConnection)
        self._finished_on_pool.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._report_progress)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        self._poll.stop()
        self.scheduler.shutdown(wait=wait)

    # -- commands (UI thread) ------------------------------------------------------------

    def sync_now(self, target: str = ALL) -> bool:
        """Queue a sync of ``target`` ("*" or a company id); False (and ``refused``) when it is already syncing."""
        queued = self.scheduler.sync_now(target)
        if not queued:
            self.refused.emit(target)
        return queued

    def apply_previewed(self, target: str, previewed: Mapping[str, frozenset[str]]) -> bool:
        """Queue a sync of ``target`` that writes exactly what a preview showed (``RunSummary.previewed()``):
        a tenant whose plan changed since gets nothing written. False (and ``refused``) when already syncing."""
        with self._lock:
            self._previewed[target] = previewed
        queued = self.sync_now(target)
        if not queued:
            with self._lock:
                self._previewed.pop(target, None)
        return queued

    def cancel(self) -> bool:
        """Ask every running sync to stop: the companies it started finish, no other starts. False when
        nothing is running."""
        with self._lock:
            flags = list(self._cancels.values())
        for flag in flags:
            flag.set()
        if flags:
            self.cancelling_changed.emit(True)
        return bool(flags)

    @property
    def cancelling(self) -> bool:
        with self._lock:
            return any(flag.is_set() for flag in self._cancels.values())

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        """Pause or resume the schedule (Sync now keeps working)."""
        self._paused = paused
        self.scheduler.apply(replace(self._schedule, enabled=self._schedule.enabled and not paused))

    def apply(self, schedule: ScheduleSettings) -> None:
        """New schedule settings (time, enabled) without a restart."""
        self._schedule = schedule
        self.set_paused(self._paused)

    def next_run(self) -> datetime | None:
        return self.scheduler.next_run()

    @property
    def busy(self) -> bool:
        return bool(self.running)

    # -- on a pool thread ------------------------------------------------------------------

    def _job(self, target: str, *, trigger: str) -> Any:
        """``trigger``: what started the run (``RunTrigger``), as the scheduler passes it."""
        with self._lock:
            record = self._progress[target] = _Progress()
            cancel = self._cancels[target] = threading.Event()
        actor = f"sync (manual: {self._user})" if trigger == RunTrigger.MANUAL else "sync (schedule)"

        def progress(result: Any = None, *_: Any) -> None:
            with self._lock:
                record.done += 1
                record.last = str(getattr(result, "name", "") or getattr(result, "tenant_id", "") or "")

        with self._lock:
            previewed = self._previewed.pop(target, None)
        extra: dict[str, Any] = {"cancel": cancel} if _takes(self._run_sync, "cancel") else {}
        if previewed is not None:
            extra["previewed"] = previewed  # a job that cannot apply a preview refuses it loudly
        return self._run_sync(target, actor=actor, trigger=trigger, progress=progress, **extra)

    # -- back on the UI thread -----------------------------------------------------------------

    @Slot(str)
    def _on_started(self, target: str) -> None:
        was_busy = self.busy
        self.running.add(target)
        self._poll.start()
        self.started.emit(target)
        if not was_busy:
            self.busy_changed.emit(True)

    @Slot(str, object, object)
    def _on_finished(self, target: str, summary: RunSummary | None, error: BaseException | None) -> None:
        self._report_progress()
        self.running.discard(target)
        with self._lock:
            self._progress.pop(target, None)
            self._cancels.pop(target, None)
        self._shown.pop(target, None)
        if not self.running:
            self._poll.stop()
        if error is not None:
            log.error("sync of %s failed", target, exc_info=error)
        self.finished.emit(target, summary, error)
        if not self.running:
            self.busy_changed.emit(False)

    def _report_progress(self) -> None:
        with self._lock:
            snapshot = {t: (p.done, p.last) for t, p in self._progress.items()}
        for target, (done, last) in snapshot.items():
            text = f"{done} tenant{'s' if done != 1 else ''} done" + (f" · {last}" if last else "") if done else ""
            if self._shown.get(target) != text:
                self._shown[target] = text
                self.progressed.emit(target, text)


def _takes(run_sync: RunSync, name: str) -> bool:
    try:
        parameters = inspect.signature(run_sync).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
