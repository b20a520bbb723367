"""The one place where worker threads meet Qt.

Widgets never call the network or the database on the UI thread: they hand
a plain function to ``Tasks.run``, which runs it on a worker thread and
delivers its result (or its exception) back on the UI thread through one
pre-wired signal. Worker code never touches a widget or an item model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

Success = Callable[[Any], None]
Failure = Callable[[BaseException], None]


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
        self.tasks._finished.emit(self.job_id, result, error)


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
        self._callbacks: dict[int, tuple[Success | None, Failure | None, str]] = {}
        self._next = 0
        self._lock = threading.Lock()
        self.on_unhandled = on_unhandled or (lambda error: log.error("background task failed", exc_info=error))
        self._finished.connect(self._deliver)

    @property
    def running(self) -> int:
        return len(self._callbacks)

    def run(self, fn: Callable[[], Any], on_success: Success | None = None, on_failure: Failure | None = None,
            *, label: str = "") -> int:
        """Run ``fn()`` on a worker; call ``on_success(result)`` or ``on_failure(error)`` on the UI thread."""
        with self._lock:
            self._next += 1
            job_id = self._next
        self._callbacks[job_id] = (on_success, on_failure, label)
        self.busy_changed.emit(self.running)
        self.pool.start(_Job(self, job_id, fn))
        return job_id

    @Slot(int, object, object)
    def _deliver(self, job_id: int, result: Any, error: BaseException | None) -> None:
        on_success, on_failure, label = self._callbacks.pop(job_id, (None, None, ""))
        self.busy_changed.emit(self.running)
        if error is not None:
            if on_failure is not None:
                on_failure(error)
            else:
                log.error("%s failed", label or "a background task", exc_info=error)
                self.on_unhandled(error)
        elif on_success is not None:
            on_success(result)

    def wait_idle(self, timeout_ms: int = 30000) -> bool:
        """Wait for every job's function to return (tests and quitting); callbacks still need the event loop."""
        return self.pool.waitForDone(timeout_ms)
