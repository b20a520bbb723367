"""The one place where worker threads meet Qt.

Widgets never call the network or the database on the UI thread: they hand
a plain function to ``Tasks.run``, which runs it on a worker thread and
delivers its result (or its exception) back on the UI thread through one
pre-wired signal. Worker code never touches a widget or an item model.

Work nobody is looking at yet (the notices after a sync) runs ``when_quiet``:
once no other job runs and the window has shown what the last one delivered.
Started beside the loads a sync's end sets off, it would compete with their
repaint for the interpreter, and a repaint calls into Python for every cell.

A job may name an ``owner`` (its callbacks are dropped when the owner was
deleted meanwhile: a view closed while its worker ran) and a ``latest`` key
(only the newest job with that key and owner delivers: workers may finish out
of order, and an older answer arriving last must not overwrite a newer one).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot

log = logging.getLogger(__name__)

Success = Callable[[Any], None]
Failure = Callable[[BaseException], None]
#: The longest a job run ``when_quiet`` waits (ms): jobs that keep coming do not hold it back for ever.
QUIET_WAIT_MS = 2000
#: How soon after a delivery a job waiting for quiet may start (ms), the delivery's repaint done.
SETTLE_MS = 10
#: Where a ``latest`` key applies: (the owner's id, or 0 without one; the key).
Scope = tuple[int, Hashable]


@dataclass(frozen=True)
class _Pending:
    on_success: Success | None = None
    on_failure: Failure | None = None
    label: str = ""
    owner: QObject | None = None  # held until delivery, so its id stays its own
    scope: Scope | None = None


class _Job(QRunnable):
    def __init__(self, tasks: Tasks, job_id: int, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.tasks = tasks
        self.job_id = job_id
        self.fn = fn

    def run(self) -> None:  # on a pool thread
        try:
            result, error = self.fn(), None
        except BaseException as exc:  # noqa: BLE001 - handed to the UI thread, never lost
            result, error = None, exc
        try:
            self.tasks._finished.emit(self.job_id, result, error)
        except RuntimeError:  # the Tasks went first (the window closing waits for its pool): no one to tell
            log.info("background job %s finished after its window was gone", self.job_id, exc_info=error)


class Tasks(QObject):
    """Runs functions off the UI thread and calls back on it."""

    _finished = Signal(int, object, object)
    #: Emitted on the UI thread when the number of running jobs changes.
    busy_changed = Signal(int)

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 4,
                 on_unhandled: Failure | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._pending: dict[int, _Pending] = {}
        self._newest: dict[Scope, int] = {}  # scope -> the newest job started in it, while that job runs
        self._next = 0
        self._lock = threading.Lock()
        self.on_unhandled = on_unhandled or (lambda error: log.error("background task failed", exc_info=error))
        self._closed = False
        self._quiet: list[Callable[[], int]] = []  # jobs waiting for quiet, each ready to start
        self._quiet_deadline = QTimer(self)
        self._quiet_deadline.setSingleShot(True)
        self._quiet_deadline.timeout.connect(self._start_quiet)
        self._finished.connect(self._deliver)

    @property
    def running(self) -> int:
        return len(self._pending)

    def run(self, fn: Callable[[], Any], on_success: Success | None = None, on_failure: Failure | None = None,
            *, owner: QObject | None = None, latest: Hashable | None = None, label: str = "") -> int:
        """Run ``fn()`` on a worker; call ``on_success(result)`` or ``on_failure(error)`` on the UI thread.

        Neither is called when ``owner`` was deleted by then, nor when a newer job with the same
        ``latest`` key (and owner) was started since. Once ``close``d, nothing is started (0 is returned)."""
        if self._closed:
            log.info("%s not started: the window is closing", label or "a background task")
            return 0
        with self._lock:
            self._next += 1
            job_id = self._next
        scope = None if latest is None else (0 if owner is None else id(owner), latest)
        if scope is not None:
            self._newest[scope] = job_id
        self._pending[job_id] = _Pending(on_success, on_failure, label, owner, scope)
        self.busy_changed.emit(self.running)
        self.pool.start(_Job(self, job_id, fn))
        return job_id

    def when_quiet(self, fn: Callable[[], Any], on_success: Success | None = None,
                   on_failure: Failure | None = None, **options: Any) -> None:
        """``run`` the job once no other job runs and the UI thread has handled what the last one delivered
        (the repaint it asked for included), or after ``QUIET_WAIT_MS`` at the latest."""
        if self._closed:
            return
        self._quiet.append(partial(self.run, fn, on_success, on_failure, **options))
        if not self._quiet_deadline.isActive():
            self._quiet_deadline.start(QUIET_WAIT_MS)
        self._settle_soon()

    def _settle_soon(self) -> None:
        # A timer, not a queued call (Qt makes a zero timer one): it fires only once the events posted before
        # it, the delivered results' repaint among them, were handled.
        QTimer.singleShot(SETTLE_MS, self, self._settle)

    def _settle(self) -> None:
        if self._quiet and not self._pending:
            self._start_quiet()

    def _start_quiet(self) -> None:
        self._quiet_deadline.stop()
        waiting, self._quiet = self._quiet, []
        for start in waiting:
            start()

    @Slot(int, object, object)
    def _deliver(self, job_id: int, result: Any, error: BaseException | None) -> None:
        job = self._pending.pop(job_id, _Pending())
        self.busy_changed.emit(self.running)
        if self._quiet and not self._pending:
            self._settle_soon()
        label = job.label or "a background task"
        if not self._wanted(job_id, job):
            if error is not None:
                log.info("%s failed after its answer was no longer wanted", label, exc_info=error)
            return
        if error is not None:
            if job.on_failure is not None:
                job.on_failure(error)
            else:
                log.error("%s failed", label, exc_info=error)
                self.on_unhandled(error)
        elif job.on_success is not None:
            job.on_success(result)

    def _wanted(self, job_id: int, job: _Pending) -> bool:
        """Whether the job is still the newest of its scope and its owner still exists."""
        if job.scope is not None:
            if self._newest.get(job.scope) != job_id:
                return False
            del self._newest[job.scope]
        return job.owner is None or shiboken6.isValid(job.owner)

    def close(self, timeout_ms: int = 30000) -> bool:
        """The window is closing: start no job from now on (one waiting for quiet is dropped), and wait for the
        running ones' functions to return; their results are still delivered by the event loop."""
        self._closed = True
        self._quiet_deadline.stop()
        self._quiet.clear()
        return self.wait_idle(timeout_ms)

    def wait_idle(self, timeout_ms: int = 30000) -> bool:
        """Wait for every job's function to return (tests and quitting); callbacks still need the event loop."""
        return self.pool.waitForDone(timeout_ms)
