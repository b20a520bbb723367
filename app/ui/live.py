"""The window's side of a team database: other desktops' changes shown within a second, and the runner's health.

On a team's PostgreSQL database, ``LiveUpdates`` runs the listener of
app/services/team/live.py (on its own thread, never the UI's) and turns
each batch of changed tables into the ``changed`` signal, delivered on the
UI thread. The window then reads again what it shows: the current view,
the notices, and the status bar's line on the team's runner ("runner on
srv-1: last sync 02:00, OK"). The first change is shown at once; while
changes keep coming (another desktop's sync writes in many small
transactions) the window reads again at most every ``REREAD_MS``. While
this window's own sync runs, its views follow that sync instead.
On SQLite nothing here starts: one desktop owns the file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QMainWindow

from app.models import session
from app.services.team.health import runner_line
from app.services.team.live import ChangeListener
from app.ui.tasks import Tasks

#: The tables whose change the status bar's runner line follows.
RUNNER_TABLES = {"runner_status", "sync_run", "*"}
#: While changes keep coming, the window reads again at most this often (ms).
REREAD_MS = 2000


class LiveUpdates(QObject):
    #: A frozenset of the tables changed (``{"*"}``: anything may have changed), on the UI thread.
    changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.listener: ChangeListener | None = None
        #: When the last batch arrived (time.monotonic()): what the tests and the benchmark read.
        self.last_batch = 0.0

    def start(self) -> bool:
        """Listen, if the open database is a team's; False on SQLite."""
        team = session.current()
        if team is None:
            return False
        self.listener = ChangeListener(team.connect, self._arrived).start()
        return True

    def _arrived(self, tables: frozenset[str]) -> None:  # on the listener's thread
        self.last_batch = time.monotonic()
        self.changed.emit(tables)  # queued to the UI thread: this object lives there

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()
            self.listener = None


def follow_team(window: QMainWindow, context: Any, tasks: Tasks, *, busy: Callable[[], bool],
                refresh: Callable[[], None]) -> LiveUpdates | None:
    """Keep ``window`` up to date with the team database (None on SQLite): ``refresh`` reads again what it
    shows when another desktop or the runner changed something; the status bar names the runner's health."""
    live = LiveUpdates(window)
    if not live.start():
        live.deleteLater()
        return None
    runner = QLabel("", window)
    runner.setObjectName("runnerHealth")
    runner.setTextFormat(runner.textFormat().PlainText)
    window.statusBar().addPermanentWidget(runner)

    def read_runner() -> None:
        def read() -> str:
            with context.uow:
                return runner_line(context.uow.runners.all(), context.now())

        tasks.run(read, runner.setText, lambda error: runner.setText(""), owner=runner, latest="runner")

    pending: set[str] = set()
    pause = QTimer(window)
    pause.setSingleShot(True)
    pause.setInterval(REREAD_MS)

    def show(tables: frozenset[str] | set[str]) -> None:
        if tables & RUNNER_TABLES:
            read_runner()
        if not busy():
            refresh()
        pause.start()

    def changed(tables: frozenset[str]) -> None:
        if pause.isActive():
            pending.update(tables)
        else:
            show(tables)

    def paused() -> None:
        if pending:
            tables = set(pending)
            pending.clear()
            show(tables)

    pause.timeout.connect(paused)
    live.changed.connect(changed)
    read_runner()
    return live
