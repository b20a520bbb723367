"""Settings > Team database: which database is open, testing a team's, moving there, switching back."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.bootstrap import open_context
from app.services.secrets import SecretStore
from app.services.team import move
from app.services.team.location import ENVIRONMENT, locate
from app.services.team.move import move_to_team
from app.ui.tasks import Tasks
from app.ui.views.settings import SettingsView
from app.ui.views.team_settings import TeamDatabasePage
from tests.postgres import free_port
from tests.team.test_move import backups, build_local_database, local_counts, place, team_counts

pytestmark = pytest.mark.postgresql


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    return build_local_database(tmp_path_factory.mktemp("local"))


@pytest.fixture
def local(golden, data_dir, monkeypatch):
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    return place(golden, data_dir)


@pytest.fixture
def context(local, data_dir):
    ctx = open_context(data_dir)
    yield ctx
    ctx.close()


@pytest.fixture
def tasks(qtbot, context):
    tasks = Tasks()
    yield tasks
    tasks.wait_idle()
    QApplication.processEvents()


@pytest.fixture
def page(qtbot, context, tasks) -> TeamDatabasePage:
    widget = TeamDatabasePage(context, tasks)
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def agreeing(monkeypatch):
    """Every confirmation is answered Yes; the questions asked are kept."""
    asked: list[str] = []
    monkeypatch.setattr("app.ui.views.team_settings.confirm", lambda _parent, title, text: asked.append(text) or True)
    return asked


def type_address(qtbot, page: TeamDatabasePage, url: str) -> None:
    page.address.clear()
    qtbot.keyClicks(page.address, url)


def said(qtbot, page: TeamDatabasePage, level: str, text: str) -> str:
    qtbot.waitUntil(lambda: page.message.level == level and text in page.message.text(), timeout=30000)
    return page.message.text()


def test_the_settings_view_has_the_team_page_saying_which_database_is_open(qtbot, context, tasks, data_dir):
    view = SettingsView(context, tasks)
    qtbot.addWidget(view)
    titles = [view.tabs.tabText(i) for i in range(view.tabs.count())]
    assert "Team database" in titles
    view.tabs.setCurrentWidget(view.team_page)
    assert view.tabs.currentWidget() is view.team_page
    assert view.team_page.current.text() == f"Open now: this computer's database ({data_dir / 'seatsync.db'})."
    assert view.team_page.move_button.isEnabled() and not view.team_page.use_local_button.isVisibleTo(view)


def test_test_connection_says_ok_with_the_server_version_or_the_plain_error(qtbot, page, postgres_server):
    type_address(qtbot, page, postgres_server.new_database(migrated=False))
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    text = said(qtbot, page, "ok", "OK. Connected to PostgreSQL ")
    assert "holds no seatsync data yet" in text

    type_address(qtbot, page, f"postgresql://postgres@127.0.0.1:{free_port()}/seatsync")
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    text = said(qtbot, page, "error", "not answering")
    assert text.startswith("The connection test failed: ") and "Traceback" not in text

    type_address(qtbot, page, "postgresql://me@db.example.com")
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    assert page.message.level == "error" and "names no database" in page.message.text()  # said at once


def test_moving_runs_on_a_worker_with_progress_reports_and_switches_back_on_request(
        qtbot, page, postgres_server, local, data_dir, agreeing, monkeypatch):
    url = postgres_server.new_database(migrated=False)
    counts = local_counts(local)
    gate = threading.Event()
    real = move_to_team

    def held_back(*args, **kwargs):  # the worker waits until the test has looked at the page
        assert gate.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr("app.ui.views.team_settings.move_to_team", held_back)
    steps: list[tuple[str, int, int, str]] = []
    page._progress.step.connect(lambda *step: steps.append(step))
    type_address(qtbot, page, url)
    qtbot.keyClicks(page.ca_file, "/etc/ssl/team-ca.pem")
    page.ca_file.clear()  # a certificate authority is optional (this server is on this machine)

    qtbot.mouseClick(page.move_button, Qt.MouseButton.LeftButton)

    assert "must hold no seatsync data" in agreeing[0]
    assert page.busy and not page.move_button.isEnabled() and page.progress.isVisibleTo(page)  # the UI goes on
    assert page.message.text().startswith("Moving this computer's data to team database")
    gate.set()
    text = said(qtbot, page, "ok", "Restart seatsync to open the team database.")
    assert f"Moved {sum(counts.values())} row(s)" in text and str(backups(data_dir)[0]) in text
    assert steps and steps[-1][1] == steps[-1][2] == sum(counts.values())
    assert not page.progress.isVisibleTo(page) and not page.move_button.isEnabled()
    assert page.next_start.text().startswith("From the next start: team database")
    assert page.current.text().startswith("Open now: this computer's database")
    assert team_counts(postgres_server, url) == counts and str(locate(data_dir).target) == url

    assert page.use_local_button.isVisibleTo(page) and page.use_local_button.isEnabled()
    qtbot.mouseClick(page.use_local_button, Qt.MouseButton.LeftButton)
    said(qtbot, page, "ok", "the team database is untouched")
    assert not locate(data_dir).is_team and team_counts(postgres_server, url) == counts
    assert page.move_button.isEnabled() and page.next_start.isHidden()


def test_a_refused_move_is_said_plainly_and_nothing_switches(qtbot, page, postgres_server, local, data_dir,
                                                             agreeing, tmp_path):
    url = postgres_server.new_database(migrated=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    move_to_team(place(local, elsewhere), url, None, SecretStore(), elsewhere)
    type_address(qtbot, page, url)

    qtbot.mouseClick(page.move_button, Qt.MouseButton.LeftButton)

    text = said(qtbot, page, "error", "already holds seatsync data")
    assert text.startswith("The move failed: ") and not locate(data_dir).is_team and not backups(data_dir)
    assert page.move_button.isEnabled() and not page.progress.isVisibleTo(page)


def test_a_failed_check_leaves_the_team_database_empty(qtbot, page, postgres_server, local, data_dir, agreeing,
                                                       monkeypatch):
    url = postgres_server.new_database(migrated=False)
    real = move.figures
    monkeypatch.setattr(move, "figures", lambda database, model: {**real(database, model), "rows": id(database)})
    type_address(qtbot, page, url)
    qtbot.mouseClick(page.move_button, Qt.MouseButton.LeftButton)
    said(qtbot, page, "error", "differs from this computer's database, so it was undone")
    assert set(team_counts(postgres_server, url).values()) == {0} and not locate(data_dir).is_team


def test_use_this_team_database_switches_a_second_desktop_without_copying(qtbot, page, postgres_server, local,
                                                                          data_dir, tmp_path):
    url = postgres_server.new_database(migrated=False)
    elsewhere = tmp_path / "first desktop"
    elsewhere.mkdir()
    move_to_team(place(local, elsewhere), url, None, SecretStore(), elsewhere)
    held = team_counts(postgres_server, url)
    type_address(qtbot, page, url)

    qtbot.mouseClick(page.use_team_button, Qt.MouseButton.LeftButton)

    text = said(qtbot, page, "ok", "restart seatsync to open it")
    assert "holds seatsync data" in text and str(locate(data_dir).target) == url
    assert team_counts(postgres_server, url) == held and not backups(data_dir)
    assert page.use_local_button.isVisibleTo(page) and not page.move_button.isEnabled()


def test_on_a_team_database_the_page_shows_it_and_offers_the_local_one(qtbot, postgres_server, local, data_dir,
                                                                       monkeypatch):
    url = postgres_server.new_database(migrated=False)
    move_to_team(local, url, None, SecretStore(), data_dir)
    context = open_context(data_dir)
    tasks = Tasks()
    try:
        page = TeamDatabasePage(context, tasks)
        qtbot.addWidget(page)
        name = url.rsplit("/", 1)[1]
        assert page.current.text() == f"Open now: team database {name} on 127.0.0.1:{postgres_server.port}."
        assert page.address.text() == url and not page.move_button.isEnabled()
        assert page.use_local_button.isVisibleTo(page)
        qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
        said(qtbot, page, "ok", "holds seatsync data")
    finally:
        tasks.wait_idle()
        QApplication.processEvents()
        context.close()
