"""The window's shell: views, memory, shortcuts, the tray, Sync now, one instance per user, errors, start-up."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtNetwork import QLocalSocket
from PySide6.QtWidgets import QApplication, QLabel

from app.models import DatabaseTooNew
from app.services.secrets import NoKeyringBackend
from app.ui import app as app_module
from app.ui.app import RedactSecrets, run_window
from app.ui.errors import ExceptHook, ExceptionDialog, explain, route_qt_messages
from app.ui.single_instance import InstanceMessage, SingleInstance, hand_over, server_name
from app.ui.views import lazy
from tests.ui.conftest import applied_summary

ROOT = Path(__file__).resolve().parents[2]


def simple_views():
    return [("companies", "Companies", lazy("app.ui.views.companies", "CompaniesView")),
            ("other", "Other", lambda context, tasks, parent, sync: QLabel("another view", parent)),
            ("missing", "Missing", lazy("app.ui.views.no_such_view", "NoSuchView"))]


def shown(qtbot, shell):
    """Show the window and wait until it is the active one (shortcuts go to the active window)."""
    shell.window.show()
    qtbot.waitExposed(shell.window)
    shell.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is shell.window, timeout=3000)
    return shell.window


# -- the window ------------------------------------------------------------------------------


def test_the_window_lists_the_views_it_can_build_and_opens_on_companies(qtbot, make_shell):
    window = make_shell(views=simple_views()).window
    assert [window.nav.item(n).text() for n in range(window.nav.count())] == ["Companies", "Other"]
    assert window.current_key() == "companies" and window.windowTitle() == "seatsync"
    assert window.findChild(QLabel, "noTrayNote").text().startswith("No system tray here: the daily sync runs only")


def test_the_window_remembers_its_geometry_splitter_and_last_view(qtbot, make_shell, ui_settings):
    window = shown(qtbot, make_shell(views=simple_views()))
    window.resize(780, 520)  # above the toolbar's minimum width, within the 800×600 offscreen screen
    assert (window.width(), window.height()) == (780, 520)
    window.splitter.setSizes([220, 556])  # the splitter's whole width: kept as given
    window.show_view("other")
    window.close()
    assert ui_settings.value("window/view") == "other"
    again = shown(qtbot, make_shell(views=simple_views()))
    assert (again.width(), again.height()) == (780, 520)
    assert again.current_key() == "other" and again.splitter.sizes() == [220, 556]


def test_a_window_remembered_off_every_screen_comes_back_onto_one(qtbot, make_shell, ui_settings):
    window = make_shell(views=simple_views()).window
    window.setGeometry(20000, 15000, 5000, 4000)
    ui_settings.setValue("window/geometry", window.saveGeometry())
    window.close()
    again = make_shell(views=simple_views()).window
    screen = QGuiApplication.primaryScreen().availableGeometry()
    assert screen.contains(again.frameGeometry().topLeft())
    assert again.width() <= screen.width() and again.height() <= screen.height()


def test_keyboard_shortcuts(qtbot, make_shell, fake_sync):
    shell = make_shell(views=simple_views())
    window = shown(qtbot, shell)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_key() == "other"
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.current_key() == "companies"
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search.hasFocus()
    view = window.view("companies")
    with qtbot.waitSignal(view.loaded, timeout=15000):
        qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(shell.sync.finished, timeout=15000):
        qtbot.keyClick(window, Qt.Key.Key_F5)
    assert fake_sync.calls[0][0] == "*" and fake_sync.calls[0][2] == "manual"


def test_a_broken_view_is_shown_as_a_message_not_a_crash(qtbot, make_shell):
    def broken(context, tasks, parent, sync):
        raise RuntimeError("no such table")

    window = make_shell(views=[*simple_views()[:1], ("broken", "Broken", broken)]).window
    window.show_view("broken")
    assert "could not be opened" in window.current_view().text()


# -- sync, and the tray --------------------------------------------------------------------------


def test_the_tray_menus_sync_now_emits_and_the_window_shows_the_result(qtbot, contoso, make_shell, fake_sync):
    fake_sync.summary = applied_summary(contoso.tenant, "Contoso Dental", contoso.m365.id, contoso.bp.product.id)
    shell = make_shell(tray=True)
    shell.tray.menu.aboutToShow.emit()
    actions = shell.tray.actions()
    assert list(actions) == ["Open seatsync", "Sync now", "Pause sync", "Quit seatsync"]
    with qtbot.waitSignal(shell.tray.sync_requested), qtbot.waitSignal(shell.sync.finished, timeout=15000):
        actions["Sync now"].trigger()
    assert shell.window.status.text() == "Synced 1 tenant(s): 1 change(s) written"
    assert fake_sync.calls == [("*", f"sync (manual: {shell.sync._user})", "manual")]
    view = shell.window.view("companies")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1 and view.model.row_at(0).last_sync.status == "ok",
                    timeout=15000)


def test_the_tray_menu_follows_the_state_and_pauses_the_schedule(qtbot, make_shell, fake_sync):
    import threading

    fake_sync.gate = threading.Event()
    shell = make_shell(tray=True)
    shell.sync.apply(app_module.ScheduleSettings(enabled=True))
    assert shell.sync.next_run() is not None
    with qtbot.waitSignal(shell.sync.started, timeout=15000):
        shell.sync.sync_now("*")
    assert shell.tray.state.value == "syncing"
    shell.tray.menu.aboutToShow.emit()
    assert not shell.tray.actions()["Syncing…"].isEnabled()
    assert shell.window.busy.isVisibleTo(shell.window) and not shell.window.sync_action.isEnabled()
    with qtbot.waitSignal(shell.sync.finished, timeout=15000):
        fake_sync.gate.set()
    shell.tray.menu.aboutToShow.emit()
    with qtbot.waitSignal(shell.tray.pause_requested) as paused:
        shell.tray.actions()["Pause sync"].trigger()
    assert paused.args == [True] and shell.sync.paused and shell.sync.next_run() is None
    assert shell.window.status.text() == "Daily sync paused"
    shell.tray.menu.aboutToShow.emit()
    assert shell.tray.actions()["Pause sync"].isChecked()
    shell.tray.actions()["Pause sync"].trigger()
    assert not shell.sync.paused and shell.sync.next_run() is not None
    assert shell.window.status.text().startswith("Next sync ")


def test_progress_is_polled_on_the_ui_thread_while_a_sync_runs(qtbot, contoso, make_shell, fake_sync):
    import threading

    fake_sync.summary = applied_summary(contoso.tenant, "Contoso Dental", contoso.m365.id, contoso.bp.product.id)
    fake_sync.gate = threading.Event()
    shell = make_shell()
    with qtbot.waitSignal(shell.sync.progressed, timeout=15000) as blocker:
        shell.sync.sync_now(str(contoso.company.id))
    assert blocker.args == [str(contoso.company.id), "1 tenant done · Contoso Dental"]
    assert shell.window.status.text() == "Syncing… 1 tenant done · Contoso Dental"
    with qtbot.waitSignal(shell.sync.finished, timeout=15000):
        fake_sync.gate.set()
    assert not shell.sync.busy and not shell.window.busy.isVisibleTo(shell.window)


def test_a_sync_that_fails_says_why(qtbot, make_shell, fake_sync):
    from app.services.psa.port import PsaAuthError

    fake_sync.error = PsaAuthError("(ConnectWise 'Main' answered 401)")
    shell = make_shell()
    with qtbot.waitSignal(shell.sync.finished, timeout=15000):
        shell.sync.sync_now("*")
    assert shell.window.status.text() == ("Sync failed: The PSA did not accept the credentials: (ConnectWise 'Main' "
                                          "answered 401). Check the PSA credentials in Settings.")


def test_a_sync_now_while_a_team_mate_syncs_says_whose_sync_it_joined_and_is_no_failure(qtbot, make_shell,
                                                                                          fake_sync):
    from app.services.team.syncer import SyncRunningElsewhere

    fake_sync.error = SyncRunningElsewhere("the scheduled sync by run-scheduler on srv-1 is running")
    shell = make_shell(tray=True)
    messages = []
    shell.tray.show_message = lambda title, text: messages.append(text)
    with qtbot.waitSignal(shell.sync.finished, timeout=15000):
        shell.sync.sync_now("*")
    said = shell.window.status.text()
    assert said.startswith("This sync was not started: another seatsync is syncing the team's database now: "
                           "the scheduled sync by run-scheduler on srv-1 is running. Its result shows here when it "
                           "finishes")
    assert "failed" not in said.lower()
    assert messages == [said]


def test_closing_keeps_the_app_in_the_tray_and_says_so_once(qtbot, make_shell, ui_settings):
    shell = make_shell(tray=True, views=simple_views())
    window = shown(qtbot, shell)
    with qtbot.waitSignal(window.closed_to_tray):
        window.close()
    assert not window.isVisible() and ui_settings.value("tray/told", type=bool)
    shell.tray.open_requested.emit()
    assert window.isVisible()
    with qtbot.assertNotEmitted(window.closed_to_tray):
        window.close()
    assert not window.isVisible()


def test_without_a_tray_closing_the_window_closes_it(qtbot, make_shell):
    window = shown(qtbot, make_shell(tray=False, views=simple_views()))
    with qtbot.assertNotEmitted(window.closed_to_tray):
        window.close()
    assert not window.isVisible()


# -- one instance per user ---------------------------------------------------------------------------


def test_a_second_instance_raises_the_first(qtbot, make_shell, tmp_path):
    shell = make_shell(tray=True, views=simple_views())
    first = SingleInstance(server_name(tmp_path, "alice"))
    assert first.listen()
    first.message_received.connect(lambda message: shell.window.bring_to_front())
    try:
        assert not shell.window.isVisible()
        with qtbot.waitSignal(first.message_received, timeout=15000) as blocker:
            assert hand_over(first.name, ["--from-test"])
        assert blocker.args == [InstanceMessage(action="raise", args=("--from-test",))]
        assert shell.window.isVisible()
    finally:
        first.close()
    assert not hand_over(first.name)  # nobody listens any more


def test_a_second_start_in_another_process_hands_over_and_exits(qtbot, data_dir):
    first = SingleInstance(server_name(data_dir))
    assert first.listen()
    env = {**os.environ, "SEATSYNC_DATA_DIR": str(data_dir), "QT_QPA_PLATFORM": "offscreen"}
    code = "import sys; from app.ui.app import run_window; sys.exit(run_window(['seatsync', '--again']))"
    try:
        with qtbot.waitSignal(first.message_received, timeout=20000) as blocker:
            process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env)
        assert process.wait(timeout=30) == 0
        assert blocker.args == [InstanceMessage(action="raise", args=("--again",))]
    finally:
        first.close()
    assert "asked it to show its window" in (data_dir / "logs" / "seatsync.log").read_text()


@pytest.mark.parametrize(("payload", "why"), [
    (b"not json\n", "not JSON"),
    (json.dumps({"v": 99, "action": "raise"}).encode() + b"\n", "protocol version 99"),
    (json.dumps({"v": 1, "args": []}).encode() + b"\n", "needs an action"),
])
def test_an_unreadable_message_is_logged_and_ignored(qtbot, tmp_path, caplog, payload, why):
    first = SingleInstance(server_name(tmp_path, "bob"))
    assert first.listen()
    try:
        with qtbot.assertNotEmitted(first.message_received, wait=200):
            client = QLocalSocket()
            client.connectToServer(first.name)
            assert client.waitForConnected(2000)
            client.write(payload)
            client.waitForBytesWritten(2000)
            qtbot.waitUntil(lambda: why in caplog.text, timeout=3000)
            client.abort()
    finally:
        first.close()


def test_a_client_that_never_finishes_is_dropped(qtbot, tmp_path, caplog):
    first = SingleInstance(server_name(tmp_path, "carol"), timeout_ms=100)
    assert first.listen()
    try:
        client = QLocalSocket()
        client.connectToServer(first.name)
        assert client.waitForConnected(2000)
        client.write(b'{"v": 1, "action": "rai')
        client.waitForBytesWritten(2000)
        qtbot.waitUntil(lambda: "did not finish its message" in caplog.text, timeout=3000)
        client.abort()
    finally:
        first.close()


def test_a_name_left_by_a_crashed_instance_is_taken_over(qtbot, tmp_path):
    name = server_name(tmp_path, "dave")
    from PySide6.QtNetwork import QLocalServer

    probe = QLocalServer()
    probe.listen(name)
    path = probe.fullServerName()
    probe.close()
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)  # a socket file nobody answers on, as a crash leaves it
    stale.close()
    try:
        assert not hand_over(name)
        first = SingleInstance(name)
        assert first.listen()
        with qtbot.waitSignal(first.message_received, timeout=15000):
            assert hand_over(name)
        first.close()
    finally:
        if os.path.exists(path):
            os.unlink(path)


# -- errors, logging, start-up ---------------------------------------------------------------------------


def test_the_excepthook_logs_and_shows_a_report_to_copy(qtbot, caplog):
    hook = ExceptHook().install()
    try:
        try:
            1 / 0  # noqa: B018 - raises, for the hook to report
        except ZeroDivisionError as error:
            hook(type(error), error, error.__traceback__)
    finally:
        hook.uninstall()
    assert "unexpected error" in caplog.text
    dialog = hook.dialog
    qtbot.addWidget(dialog)
    assert isinstance(dialog, ExceptionDialog) and dialog.isVisible()
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    report = QGuiApplication.clipboard().text()
    assert "ZeroDivisionError: division by zero" in report and report.startswith("seatsync ")


def test_qt_messages_go_to_the_log(caplog):
    from PySide6.QtCore import qWarning

    restore = route_qt_messages()
    try:
        with caplog.at_level(logging.WARNING, logger="qt"):
            qWarning("a message from Qt")
    finally:
        restore()
    assert any(r.name == "qt" and "a message from Qt" in r.getMessage() for r in caplog.records)


def test_expected_errors_read_as_sentences_with_what_to_do():
    from app.services.psa.port import PsaUnavailable

    assert explain(PsaUnavailable("(timed out)"), doing="Could not sync Contoso") == (
        "Could not sync Contoso: The PSA did not answer in time, or answered with a server error: (timed out). "
        "The PSA did not answer; try again in a minute.")
    assert explain(KeyError("x")).startswith("An unexpected error occurred (KeyError")


def test_an_error_carries_its_own_advice_and_a_subclass_inherits_it():
    from app.errors import ConfigurationError, SeatsyncError
    from app.services.psa.port import PsaAuthError, PsaError

    class StoredTokenRejected(PsaAuthError):
        """The PSA refused the stored token."""

    assert explain(StoredTokenRejected()) == (
        "The PSA refused the stored token. Check the PSA credentials in Settings.")
    assert explain(ConfigurationError("(no PSA)")).endswith("Open Settings to finish setting seatsync up.")
    assert explain(PsaError("(odd)")) == str(PsaError("(odd)"))  # no advice of its own: the message alone
    assert SeatsyncError.advice == ""


def test_secrets_are_masked_in_the_log_file():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "login with password=%s token: abc123", ("hunter2",),
                               None)
    RedactSecrets().filter(record)
    assert record.getMessage() == "login with password=••• token: •••"


@pytest.mark.parametrize(("error", "says", "code"), [
    (DatabaseTooNew("(schema version 9)"), "Install the latest seatsync", 3),
    (NoKeyringBackend("Install a Secret Service provider such as GNOME Keyring"), "GNOME Keyring", 1),
])
def test_start_up_stops_with_a_clear_message_when_the_data_cannot_be_used(monkeypatch, data_dir, error, says,
                                                                          code):
    """The exit codes are the README's: 3 for a database from a newer seatsync, 1 for a failure it explains."""
    shown_messages = []

    def refuse():
        raise error

    monkeypatch.setattr(app_module, "fatal_message", lambda title, text: shown_messages.append((title, text)))
    assert run_window(["seatsync"], open_services=refuse) == code
    [(title, text)] = shown_messages
    assert says in text


def test_run_window_opens_the_window_and_quits_cleanly(qtbot, context, monkeypatch):
    monkeypatch.setattr(app_module, "service_sync", lambda ctx: lambda target, **kw: None)
    # No daily sync, so no catch-up run at start: quitting at once would race APScheduler's dispatch of it.
    context.settings.set_sync_enabled(False)
    shells, seen = [], {}
    build = app_module.build_shell
    monkeypatch.setattr(app_module, "build_shell", lambda *a, **kw: shells.append(build(*a, **kw)) or shells[-1])

    def look_and_quit():
        window = shells[0].window
        seen.update(visible=window.isVisible(), title=window.windowTitle(), status=window.status.text())
        QApplication.quit()

    QTimer.singleShot(0, look_and_quit)
    assert run_window(["seatsync"], context=context) == 0
    assert seen["visible"] and seen["title"] == "seatsync"
    assert seen["status"] == "Daily sync off (Settings)"
    assert "seatsync window open" in (context.data_dir / "logs" / "seatsync.log").read_text()
    settings = QSettings(str(context.data_dir / "window.ini"), QSettings.Format.IniFormat)
    assert settings.value("window/view") == "companies"
    assert isinstance(settings.value("window/geometry"), QByteArray)


# -- how it looks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scale", "extra"), [("1.25", []), ("1.5", []), ("1", ["--dark"])])
def test_the_companies_area_renders_at_125_and_150_percent_and_in_a_dark_palette(tmp_path, scale, extra):
    """Renders the three screens in a fresh process (QT_SCALE_FACTOR applies at start); the PNGs are kept in
    tmp_path to look at. ``python -m tests.ui.screens docs/screenshots`` refreshes the docs' copies."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": scale}
    out = tmp_path / "screens"
    result = subprocess.run([sys.executable, "-m", "tests.ui.screens", str(out), *extra], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout.strip().splitlines()[-1])
    ratio = float(scale)
    assert info["device_pixel_ratio"] == pytest.approx(ratio)
    for name in ("companies", "company"):
        assert info[name]["pixels"] == [round(w * ratio) for w in info["window"]]
        assert (out / f"{name}.png").stat().st_size > 10_000
    assert info["toolbar_fits"]
    assert info["preview"].startswith("19 × 22.00 = 418.00 / month")


def test_a_daily_sync_time_saved_in_settings_schedules_the_next_run_at_once(qtbot, make_shell):
    """The gateway follows what Settings saved: no restart needed for the new time (or for turning it on)."""
    from datetime import time

    shell = make_shell()
    assert shell.sync.next_run() is None  # the schedule starts off
    settings = shell.window.navigate("settings")
    qtbot.waitUntil(lambda: settings.loaded is not None, timeout=15000)
    page = settings.sync_page
    settings.tabs.setCurrentWidget(page)
    page.sync_enabled.setChecked(True)
    page.sync_time.setTime(time(4, 30))
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: settings.message.text() == "Settings saved.", timeout=15000)
    upcoming = shell.sync.next_run()
    assert upcoming is not None and (upcoming.hour, upcoming.minute) == (4, 30)
