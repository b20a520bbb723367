"""Tasks: callbacks on the UI thread; dropped for a deleted owner, or for a job a newer one with its ``latest`` key
superseded. Each job's function waits for the test to open its gate, so the test decides the finishing order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from app.ui import tasks as app_tasks
from app.ui.tasks import Tasks


class Gate:
    """A job's function: returns ``value`` (or raises ``error``) once the test opens it."""

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error = value, error
        self.opened = threading.Event()
        self.thread: int | None = None

    def __call__(self) -> Any:
        self.thread = threading.get_ident()
        if not self.opened.wait(5):
            raise TimeoutError("the test never opened this gate")
        if self.error is not None:
            raise self.error
        return self.value


class Calls:
    """Records each callback: ("ok", result) or ("failed", message), with the thread it ran on."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []
        self.threads: set[int] = set()

    def ok(self, result: Any) -> None:
        self.threads.add(threading.get_ident())
        self.seen.append(("ok", result))

    def failed(self, error: BaseException) -> None:
        self.threads.add(threading.get_ident())
        self.seen.append(("failed", str(error)))


@pytest.fixture
def unhandled() -> list[BaseException]:
    return []


@pytest.fixture
def tasks(qtbot, unhandled: list[BaseException]) -> Iterator[Tasks]:
    made = Tasks(max_threads=8, on_unhandled=unhandled.append)
    yield made
    made.wait_idle()
    QApplication.processEvents()


def finish(qtbot, tasks: Tasks, gate: Gate) -> None:
    """Let one job return and wait until Tasks has handled its answer (delivered or dropped)."""
    running = tasks.running
    gate.opened.set()
    qtbot.waitUntil(lambda: tasks.running == running - 1)


def test_a_job_without_owner_or_latest_calls_back_on_the_ui_thread(qtbot, tasks, unhandled):
    calls, busy = Calls(), []
    tasks.busy_changed.connect(busy.append)
    works, fails, unwatched = Gate("rows"), Gate(error=ValueError("no database")), Gate(error=KeyError("x"))
    assert tasks.run(works, calls.ok, calls.failed, label="works") != tasks.run(fails, calls.ok, calls.failed)
    tasks.run(unwatched, label="unwatched")
    assert tasks.running == 3 and busy == [1, 2, 3]

    for gate in (works, fails, unwatched):
        finish(qtbot, tasks, gate)

    assert calls.seen == [("ok", "rows"), ("failed", "no database")]
    assert calls.threads == {threading.get_ident()} and works.thread != threading.get_ident()
    assert [str(error) for error in unhandled] == ["'x'"]
    assert busy == [1, 2, 3, 2, 1, 0]


def test_a_deleted_owner_gets_no_callback(qtbot, tasks, unhandled):
    owner, kept = QWidget(), QObject()
    calls = Calls()
    works, fails, unwatched = Gate("rows"), Gate(error=ValueError("offline")), Gate(error=ValueError("lost"))
    tasks.run(works, calls.ok, calls.failed, owner=owner)
    tasks.run(fails, calls.ok, calls.failed, owner=owner)
    tasks.run(unwatched, owner=owner)
    alive = Gate("still here")
    tasks.run(alive, calls.ok, calls.failed, owner=kept)
    with qtbot.waitSignal(owner.destroyed):
        owner.deleteLater()

    for gate in (works, fails, unwatched, alive):
        finish(qtbot, tasks, gate)

    assert calls.seen == [("ok", "still here")]
    assert unhandled == []


@pytest.mark.parametrize(("older_fails", "newer_fails"), [(False, False), (True, False), (False, True), (True, True)])
def test_of_two_jobs_with_one_latest_key_only_the_newer_delivers(qtbot, tasks, unhandled, older_fails, newer_fails):
    older = Gate(error=ValueError("old failure")) if older_fails else Gate("old rows")
    newer = Gate(error=ValueError("new failure")) if newer_fails else Gate("new rows")
    owner, calls = QWidget(), Calls()
    tasks.run(older, calls.ok, calls.failed, owner=owner, latest="rows")
    tasks.run(newer, calls.ok, calls.failed, owner=owner, latest="rows")

    finish(qtbot, tasks, newer)
    finish(qtbot, tasks, older)  # the older answer arrives last

    expected = ("failed", "new failure") if newer_fails else ("ok", "new rows")
    assert calls.seen == [expected] and unhandled == []

    again = Gate("rows again")  # the key delivers again for the next job
    tasks.run(again, calls.ok, calls.failed, owner=owner, latest="rows")
    finish(qtbot, tasks, again)
    assert calls.seen == [expected, ("ok", "rows again")]


def test_an_older_job_finishing_first_is_dropped_too(qtbot, tasks):
    owner, calls = QWidget(), Calls()
    older, newer = Gate("old rows"), Gate("new rows")
    tasks.run(older, calls.ok, calls.failed, owner=owner, latest="rows")
    tasks.run(newer, calls.ok, calls.failed, owner=owner, latest="rows")

    finish(qtbot, tasks, older)
    assert calls.seen == []
    finish(qtbot, tasks, newer)
    assert calls.seen == [("ok", "new rows")]


def test_different_keys_or_owners_do_not_interfere(qtbot, tasks):
    first, second, calls = QWidget(), QWidget(), Calls()
    jobs = [
        (Gate("first rows"), first, "rows"),
        (Gate("first skus"), first, "skus"),
        (Gate("second rows"), second, "rows"),
        (Gate("ownerless rows"), None, "rows"),
        (Gate("unkeyed"), first, None),
    ]
    for gate, owner, key in jobs:
        tasks.run(gate, calls.ok, calls.failed, owner=owner, latest=key)

    for gate, _, _ in reversed(jobs):
        finish(qtbot, tasks, gate)

    assert calls.seen == [("ok", gate.value) for gate, _, _ in reversed(jobs)]


def test_a_job_still_running_when_its_tasks_is_deleted_ends_quietly(qtbot):
    """Closing the window deletes its Tasks, whose pool waits for the jobs still running: one that finishes then
    has no one to tell, and says nothing (not an error in Qt's event loop)."""
    gone = Tasks()
    gate, calls = Gate(value=1), Calls()
    gone.run(gate, calls.ok)
    qtbot.waitUntil(lambda: gate.thread is not None)
    threading.Timer(0.2, gate.opened.set).start()
    shiboken6.delete(gone)  # returns once the job has finished
    QApplication.processEvents()
    assert calls.seen == []


class Painted(QWidget):
    """Counts its paints."""

    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def paintEvent(self, event: Any) -> None:
        self.paints += 1


def test_a_job_waiting_for_quiet_starts_once_the_others_delivered_and_their_repaint_was_done(qtbot, tasks):
    widget = Painted()
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    first, second = Gate("first"), Gate("second")
    quiet = Gate("quiet")
    quiet.opened.set()
    paints_when_quiet_started: list[int] = []
    calls = Calls()

    def loaded(result: Any) -> None:  # what a view does with its rows: asks for a repaint
        calls.ok(result)
        widget.update()

    tasks.run(first, loaded)
    tasks.when_quiet(lambda: paints_when_quiet_started.append(widget.paints) or quiet(), calls.ok)
    tasks.run(second, loaded)
    finish(qtbot, tasks, first)
    QTest.qWait(50)
    assert quiet.thread is None  # the second job still runs: the quiet one waits
    painted = widget.paints
    second.opened.set()
    qtbot.waitUntil(lambda: calls.seen[-1:] == [("ok", "quiet")], timeout=3000)
    assert calls.seen == [("ok", "first"), ("ok", "second"), ("ok", "quiet")]
    assert paints_when_quiet_started[0] > painted  # the second delivery's repaint came first


def test_a_job_waiting_for_quiet_starts_at_once_when_nothing_runs(qtbot, tasks):
    calls = Calls()
    tasks.when_quiet(lambda: "notices", calls.ok)
    qtbot.waitUntil(lambda: calls.seen == [("ok", "notices")], timeout=3000)


def test_jobs_that_keep_running_hold_a_job_waiting_for_quiet_back_only_so_long(qtbot, tasks, monkeypatch):
    monkeypatch.setattr(app_tasks, "QUIET_WAIT_MS", 100)
    busy, calls = Gate(), Calls()
    tasks.run(busy)
    tasks.when_quiet(lambda: "notices", calls.ok)
    qtbot.waitUntil(lambda: calls.seen == [("ok", "notices")], timeout=3000)
    assert tasks.running == 1  # the busy job still runs
    finish(qtbot, tasks, busy)


def test_a_closed_tasks_starts_nothing_and_drops_a_job_waiting_for_quiet(qtbot, tasks, monkeypatch):
    monkeypatch.setattr(app_tasks, "QUIET_WAIT_MS", 50)
    running, calls = Gate("running"), Calls()
    tasks.run(running, calls.ok)
    tasks.when_quiet(lambda: "notices", calls.ok)
    threading.Timer(0.1, running.opened.set).start()
    assert tasks.close()  # waits for the running job
    assert tasks.run(lambda: "late", calls.ok) == 0
    tasks.when_quiet(lambda: "late", calls.ok)
    QTest.qWait(200)  # past the quiet job's deadline
    assert calls.seen == [("ok", "running")] and tasks.running == 0
