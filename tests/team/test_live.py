"""Live updates on a team database: another desktop's change reaches this one within a second, on its UI
thread; the runner's health shows in the status bar."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtWidgets import QLabel, QMainWindow

from app.bootstrap import open_context
from app.models import session
from app.models.records import RunStatus
from app.models.repositories.runners import RunnerRecord
from app.services.team.health import runner_line
from app.services.team.live import EVERYTHING, ChangeListener
from app.ui.live import LiveUpdates, follow_team
from app.ui.tasks import Tasks

pytestmark = pytest.mark.postgresql

NOW = datetime(2026, 3, 17, 9, 0, tzinfo=UTC)


@pytest.fixture
def database_engine() -> str:
    return "postgresql"


@pytest.fixture
def team(data_dir, database_target):
    context = open_context(data_dir)
    yield context
    context.close()


@pytest.fixture
def follow(qtbot, team):
    """A window following the team database through ``follow_team``, listening already; what it refreshed."""
    made = []

    def start(*, busy: bool = False) -> tuple[QMainWindow, LiveUpdates, list[float]]:
        window = QMainWindow()
        qtbot.addWidget(window)  # closed by pytest-qt before this fixture ends: the tasks and listener outlive it
        tasks = Tasks()
        refreshed: list[float] = []
        live = follow_team(window, team, tasks, busy=lambda: busy, refresh=lambda: refreshed.append(time.monotonic()))
        assert live is not None and live.listener is not None
        qtbot.waitUntil(live.listener.listening.is_set, timeout=5000)
        made.append((window, live, tasks, live.listener))  # held: pytest-qt keeps the window weakly
        return window, live, refreshed

    yield start
    for _, _, tasks, listener in made:
        listener.stop()
        tasks.wait_idle()


def other_desktop(url: str, statement: str, server) -> None:
    """A change committed by another desktop: a connection of its own, as another process's would be."""
    server.sql(statement, url.rsplit("/", 1)[1])


class Batches:
    def __init__(self) -> None:
        self.got: list[tuple[float, frozenset[str]]] = []
        self.arrived = threading.Event()

    def __call__(self, tables: frozenset[str]) -> None:
        self.got.append((time.monotonic(), tables))
        self.arrived.set()


def test_a_change_committed_elsewhere_arrives_within_a_second_once_per_table(team, database_target,
                                                                             postgres_server):
    batches = Batches()
    listener = ChangeListener(session.current().connect, batches).start()
    try:
        assert listener.listening.wait(5)
        committed = time.monotonic()
        other_desktop(database_target, "INSERT INTO setting (key, value, updated_at) VALUES "
                                       "('sync.enabled', 'false', now()), ('sync.time', '\"02:00\"', now())",
                      postgres_server)
        assert batches.arrived.wait(5)
        (at, tables), = batches.got
        print(f"live update: seen {1000 * (at - committed):.0f} ms after the commit")
        assert tables == {"setting"}  # two rows, one statement: one notice
        assert at - committed < 1.0
    finally:
        listener.stop()


def test_a_rolled_back_change_announces_nothing(team, database_target, postgres_server):
    batches = Batches()
    listener = ChangeListener(session.current().connect, batches).start()
    try:
        assert listener.listening.wait(5)
        conn = postgres_server.connect(database_target.rsplit("/", 1)[1])
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO setting (key, value, updated_at) VALUES ('sync.enabled', 'false', now())")
        conn.rollback()
        conn.close()
        assert not batches.arrived.wait(1.0)
    finally:
        listener.stop()


def test_a_lost_connection_is_made_again_and_then_everything_is_read_again(team, database_target, postgres_server):
    batches = Batches()
    listener = ChangeListener(session.current().connect, batches, retry_seconds=0.1).start()
    try:
        assert listener.listening.wait(5)
        postgres_server.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE query = 'LISTEN seatsync'")
        assert batches.arrived.wait(10)
        assert batches.got[0][1] == EVERYTHING
    finally:
        listener.stop()


def test_the_window_reads_again_when_another_desktop_changes_something(qtbot, follow, database_target,
                                                                       postgres_server):
    window, _, refreshed = follow()
    committed = time.monotonic()
    other_desktop(database_target, "INSERT INTO setting (key, value, updated_at) VALUES ('sync.enabled', 'false', "
                                   "now())", postgres_server)
    qtbot.waitUntil(lambda: bool(refreshed), timeout=3000)
    print(f"window refreshed {1000 * (refreshed[0] - committed):.0f} ms after another desktop's commit")
    assert refreshed[0] - committed < 1.0
    other_desktop(database_target, "INSERT INTO runner_status (name, host, pid, started_at, heartbeat_at, "
                                   "last_run_at, last_status, last_summary, next_run_at) VALUES ('srv-1:/srv', "
                                   "'srv-1', 42, now(), now(), now(), 'succeeded', '', now() + interval '1 day')",
                  postgres_server)
    runner = window.findChild(QLabel, "runnerHealth")
    qtbot.waitUntil(lambda: runner.text().startswith("runner on srv-1: last sync "), timeout=3000)
    assert ", OK; next " in runner.text()


def test_while_this_window_syncs_it_follows_its_own_sync_not_the_notices(qtbot, follow, database_target,
                                                                         postgres_server):
    _, live, refreshed = follow(busy=True)
    other_desktop(database_target, "INSERT INTO setting (key, value, updated_at) VALUES ('sync.enabled', 'false', "
                                   "now())", postgres_server)
    qtbot.waitUntil(lambda: live.last_batch > 0, timeout=3000)
    qtbot.wait(50)
    assert refreshed == []


def test_on_sqlite_nothing_listens(qtbot, data_dir):
    context = open_context(data_dir)
    try:
        window = QMainWindow()
        qtbot.addWidget(window)
        assert follow_team(window, context, Tasks(window), busy=lambda: False, refresh=lambda: None) is None
        assert window.findChild(QLabel, "runnerHealth") is None
    finally:
        context.close()


def _runner(**changes) -> RunnerRecord:
    values = dict(name="srv-1:/srv", host="srv-1", pid=42, started_at=NOW - timedelta(days=2),
                  heartbeat_at=NOW - timedelta(seconds=30), last_run_at=NOW.replace(hour=2),
                  last_status=RunStatus.SUCCEEDED.value, last_summary="", next_run_at=NOW + timedelta(hours=17))
    return RunnerRecord(**{**values, **changes})


def test_the_runner_line_says_how_the_last_run_went_and_when_a_runner_fell_silent():
    assert runner_line([], NOW) == ""
    line = runner_line([_runner()], NOW)
    assert line.startswith("runner on srv-1: last sync ") and ", OK; next " in line
    assert ", partly failed" in runner_line([_runner(last_status=RunStatus.PARTIAL.value)], NOW)
    assert "no sync yet" in runner_line([_runner(last_run_at=None)], NOW)
    silent = runner_line([_runner(heartbeat_at=NOW - timedelta(minutes=4))], NOW)
    assert "not heard from since" in silent and "is its service running?" in silent


def test_team_status_names_the_database_and_the_runner(data_dir, database_target, capsys):
    from app.cli import main

    assert main(["team", "status"]) == 0
    said = capsys.readouterr().out
    assert "database: team database t" in said and "on 127.0.0.1:" in said and "schema version " in said
    assert "runner: none has reported into this database" in said
    context = open_context(data_dir)
    try:
        with context.uow:
            context.uow.runners.beat("srv-1:/srv", host="srv-1", pid=7, started_at=context.now(), next_run_at=None)
    finally:
        context.close()
    assert main(["team", "status"]) == 0
    assert "runner on srv-1: no sync yet" in capsys.readouterr().out


def test_while_changes_keep_coming_the_window_reads_again_at_most_every_two_seconds(qtbot, follow, database_target,
                                                                                   postgres_server, monkeypatch):
    from app.ui import live as live_module

    monkeypatch.setattr(live_module, "REREAD_MS", 400)
    _, _, refreshed = follow()
    started = time.monotonic()
    for n in range(10):  # another desktop's sync: a commit every 100 ms for a second
        other_desktop(database_target, f"INSERT INTO setting (key, value, updated_at) VALUES ('probe.{n}', '1', "
                                       "now())", postgres_server)
        qtbot.wait(100)
    qtbot.wait(600)
    assert refreshed and refreshed[0] - started < 1.0  # the first at once
    assert 2 <= len(refreshed) <= 4, refreshed  # then at most one per pause, and the last change is read too
    gaps = [b - a for a, b in itertools.pairwise(refreshed)]
    assert all(gap >= 0.35 for gap in gaps), gaps
