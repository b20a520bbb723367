"""Starting the window: the application, logging, the single instance, the scheduler, the tray.

``run_window`` is what ``python main.py`` runs. It sets up logging to a
rotating file in the data directory and routes Qt's messages and uncaught
errors there; hands over to a seatsync already running for this user; opens
the data (a clear message and a non-zero exit when the database is from a
newer seatsync or no keyring is available); then builds the ``Shell`` —
window, tray and scheduler wired together — and runs until Quit.
"""

from __future__ import annotations

import importlib
import logging
import logging.handlers
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QToolBar

from app import paths
from app.cli import EXIT_DATABASE_TOO_NEW, EXIT_ERROR, EXIT_OK
from app.errors import SeatsyncError
from app.models import DatabaseTooNew
from app.services.psa.factory import KINDS
from app.services.redaction import RedactSecrets
from app.services.secrets import NoKeyringBackend
from app.services.sync.scheduler import ALL, ScheduleSettings
from app.services.team.roles import Ability
from app.ui.errors import ExceptHook, fatal_message, route_qt_messages
from app.ui.formatting import moment
from app.ui.live import follow_team
from app.ui.main_window import MainWindow, sync_summary_text
from app.ui.notifications import NoticesButton, NotificationCenter, attention_text, needing_attention
from app.ui.single_instance import SingleInstance, hand_over, server_name
from app.ui.sync_gateway import RunSync, SyncGateway
from app.ui.tasks import Tasks
from app.ui.tray import Tray, TrayState, TrayStatus
from app.ui.views.sync_result import SyncReportButton, run_sentence
from app.ui.widgets.icons import app_icon

if TYPE_CHECKING:
    from app.services.container import Services
    from app.services.sync.service import RunSummary

log = logging.getLogger(__name__)

LOG_FILE = "seatsync.log"
class PrivateLogFile(logging.handlers.RotatingFileHandler):
    """A rotating log that only its user can read: each file, the rolled-over ones too, is 0600 on POSIX."""

    def _open(self):
        paths.private_file(self.baseFilename)
        return super()._open()


def start_logging(directory: Path) -> logging.Handler:
    """A rotating log file in ``directory`` (made private) on the root logger; returns the handler (to remove it)."""
    handler = PrivateLogFile(paths.private_dir(directory) / LOG_FILE, maxBytes=2_000_000, backupCount=5,
                             encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def service_sync(context: Services, *, today: Callable[[], date] = date.today) -> RunSync:
    """The scheduler's job: the sync service for one company ("<id>") or all ("*"); ``today``: the
    billing date (tests fix it)."""

    def run(target: str, *, actor: str, trigger: str, progress: Callable[..., None],
            cancel: threading.Event | None = None, previewed: Mapping[str, frozenset[str]] | None = None) -> Any:
        from app.services.uow import connected

        with connected():
            return context.sync_service(today=today).sync(None if target == ALL else int(target), actor=actor,
                                                          trigger=trigger, progress=progress, cancel=cancel,
                                                          previewed=previewed)

    return run


def ready_to_sync(context: Services) -> bool:
    """On a pool thread: whether a scheduled sync has anything to do (``SyncService.ready``)."""
    return context.sync.ready_to_sync()


def window_settings(data_dir: Path) -> QSettings:
    """UI state (geometry, splitter, last view) beside the data, never business settings; the file is 0600
    (QSettings keeps the mode of the file it rewrites)."""
    return QSettings(str(paths.private_file(Path(data_dir) / paths.WINDOW_SETTINGS_NAME)), QSettings.Format.IniFormat)


@dataclass
class Shell:
    """The window, the tray and the scheduler, wired together."""

    context: Services
    tasks: Tasks
    sync: SyncGateway
    window: MainWindow
    tray: Tray | None
    #: The companies needing attention: the one number the navigation, the notices and the tray show.
    attention: int = 0
    notifications: NotificationCenter | None = None
    notices: int = 0
    notices_button: NoticesButton | None = None
    report_button: SyncReportButton | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def quit(self) -> None:
        self.window.quitting = True
        self.window.close()
        QApplication.quit()

    def shutdown(self) -> None:
        """Stop the scheduler, let running tasks finish, close the data (idempotent)."""
        closers, self._closers = self._closers, []
        for close in closers:
            close()

    def start(self) -> None:
        """Start what runs while the window is open: the scheduler, the toolbar's word on the next sync, and the
        first computation of the notices."""
        self.sync.start()
        self.show_schedule()
        if self.notifications is not None:
            self.notifications.refresh()

    def show_schedule(self) -> None:
        """The toolbar's status while no sync runs: when the next one is."""
        if self.sync.busy:
            return
        upcoming = self.sync.next_run()
        text = ("Daily sync paused" if self.sync.paused else
                f"Next sync {moment(upcoming)}" if upcoming else "Daily sync off (Settings)")
        self.window.status.setText(text)

    def set_attention(self, count: int) -> None:
        """The companies needing attention: shown on the navigation, the notices button and the tray."""
        self.attention = count
        self.window.set_badge("companies", count)
        if self.notices_button is not None:
            self.notices_button.show_attention(count)
        self._update_tray()

    def companies_attention(self, _count: int) -> None:
        """The Companies view counted again: the companies needing attention, as the notices count them."""
        companies: Any = self.window.view("companies")
        self.set_attention(needing_attention(companies.model.rows()))

    def sync_all(self) -> None:
        """The tray's Sync now: every tenant, for a user who may sync."""
        role = self.context.role()
        if role.may_sync:
            self.sync.sync_now(ALL)
        elif self.tray is not None:
            self.tray.show_message("seatsync", role.refusal(Ability.SYNC))

    def _update_tray(self) -> None:
        if self.tray is None:
            return
        if self.sync.busy:
            self.tray.set_state(TrayState.SYNCING, "seatsync: cancelling…" if self.sync.cancelling
                                else "seatsync: syncing…")
        elif self.attention:
            self.tray.set_state(TrayState.ATTENTION, f"seatsync: {attention_text(self.attention)}")
        else:
            notices = f" ({self.notices} notice{'s' if self.notices != 1 else ''})" if self.notices else ""
            self.tray.set_state(TrayState.IDLE, f"seatsync: up to date{notices}")


#: What a sync imports: loaded with the window, not by the first sync's workers. An import compiles its
#: module when no bytecode is cached (a fresh install, PYTHONDONTWRITEBYTECODE), and compiling holds the
#: interpreter lock for its whole length: done by the workers of the first "Sync now", it stalls the window.
SYNC_MODULES = (
    "app.services.sync.service",
    "app.services.microsoft",
    *(spec.adapter for spec in KINDS.values()),
)


def build_shell(context: Services, *, settings: QSettings, run_sync: RunSync | None = None,
                tray: bool | None = None, schedule: ScheduleSettings | None = None,
                views: list | None = None) -> Shell:
    """Build the window, tray and scheduler over ``context`` (not shown, scheduler not started)."""
    for module in SYNC_MODULES:
        importlib.import_module(module)
    with_tray = Tray.available() if tray is None else tray
    tasks = Tasks()
    schedule = schedule or ScheduleSettings.of(context.settings)
    if not context.role().may_sync:  # a viewer's desktop schedules nothing: the database would refuse the run
        schedule = ScheduleSettings(enabled=False)
    sync = SyncGateway(run_sync or service_sync(context), schedule=schedule, last_run=context.sync.last_scheduled_run,
                       ready=lambda: ready_to_sync(context))
    window = MainWindow(context, tasks, settings, tray_available=with_tray, sync=sync, views=views)
    tasks.setParent(window)  # everything the shell made goes with its window
    sync.setParent(window)
    tray_icon = Tray(lambda: TrayStatus(syncing=sync.busy, paused=sync.paused, cancelling=sync.cancelling),
                     window) if with_tray else None
    notifications = NotificationCenter(context, tasks, window)
    toolbar = window.findChild(QToolBar, "mainToolbar")
    assert toolbar is not None  # MainWindow makes it
    report = SyncReportButton(window)
    report.toolbar_action = toolbar.addWidget(report)
    report.set_shown(False)
    notices = NoticesButton(notifications, window)
    toolbar.addWidget(notices)
    shell = Shell(context=context, tasks=tasks, sync=sync, window=window, tray=tray_icon,
                  notifications=notifications, notices_button=notices, report_button=report)

    def open_view(key: str) -> None:
        window.show_view(key)
        window.bring_to_front()

    def notices_changed(count: int) -> None:
        shell.notices = count
        shell._update_tray()

    notices.open_view.connect(open_view)
    notifications.changed.connect(notices_changed)

    sync.started.connect(lambda _target: report.set_shown(False))
    sync.finished.connect(lambda _target, summary, error: report.show_summary(summary if error is None else None))
    sync.finished.connect(lambda _target, summary, error: _tell_tray(shell, summary, error))
    sync.finished.connect(lambda _target, summary, error: notifications.after_sync(summary, error))
    sync.busy_changed.connect(lambda _: shell._update_tray())
    sync.cancelling_changed.connect(lambda _: shell._update_tray())
    companies: Any = window.view("companies")
    if companies is not None and hasattr(companies, "attention_changed"):
        # After the window's own handler (connected when the view was built): the count of companies.
        companies.attention_changed.connect(shell.companies_attention)
    if tray_icon is not None:
        tray_icon.open_requested.connect(window.bring_to_front)
        tray_icon.icon.messageClicked.connect(window.bring_to_front)
        tray_icon.sync_requested.connect(shell.sync_all)
        tray_icon.cancel_requested.connect(window.cancel_sync)  # the window says "Cancelling…", then asks

        def pause(paused: bool) -> None:
            sync.set_paused(paused)
            shell.show_schedule()

        tray_icon.pause_requested.connect(pause)
        tray_icon.quit_requested.connect(shell.quit)
        notifications.message.connect(tray_icon.show_message)
        window.closed_to_tray.connect(lambda: tray_icon.show_message(
            "seatsync keeps syncing", "seatsync is still running in the tray and syncs on schedule. "
                                      "Quit it from the tray menu."))

    def refresh_all() -> None:
        window.refresh()
        notifications.refresh()

    live = follow_team(window, context, tasks, busy=lambda: sync.busy, refresh=refresh_all)

    def close() -> None:
        if live is not None:
            live.stop()
        window.save_state()
        sync.shutdown(wait=True)
        tasks.close()
        QApplication.processEvents()  # deliver what the tasks finished with (starting nothing new)
        if tray_icon is not None:
            tray_icon.dispose()

    shell._closers.append(close)
    return shell


def _tell_tray(shell: Shell, summary: RunSummary | None, error: BaseException | None) -> None:
    """A run that wrote, said in the tray while the window is hidden; a failed run is told by its notice (once,
    with what failed)."""
    if shell.tray is not None and not shell.window.isVisible() and (
            error is not None or (summary is not None and summary.writes and not summary.failed)):
        shell.tray.show_message("seatsync", run_sentence(summary, error))


def run_window(argv: list[str] | None = None, *, context: Services | None = None,
               open_services: Callable[[], Services] | None = None, quit_after_sync: bool = False) -> int:
    """Open the window (or hand over to the one already open); the process's exit code.

    ``context``: the services to run on (the demo); else ``open_services()`` (the composition root,
    app.bootstrap.open_context) opens the user's data once logging runs and no other window has it.

    ``quit_after_sync``: once the window is up, sync every company as "Sync now"
    does and quit when it ends, with exit code 1 if it failed (the demo's check
    that the window works on this display).
    """
    argv = list(sys.argv if argv is None else argv)
    app = cast(QApplication, QApplication.instance()) or QApplication(argv)
    app.setApplicationName("seatsync")
    app.setOrganizationName("seatsync")
    app.setWindowIcon(app_icon())
    data_dir = context.data_dir if context is not None else paths.data_dir()
    handler = start_logging(paths.log_dir() if context is None else _log_dir(data_dir))
    restore_qt = route_qt_messages()
    hook = ExceptHook().install()
    instance = None
    owns_context = context is None
    try:
        name = server_name(data_dir)
        if hand_over(name, argv[1:]):
            log.info("seatsync is already running: asked it to show its window")
            return EXIT_OK
        instance = SingleInstance(name)
        instance.listen()
        if context is None:
            try:
                context = _open(open_services)
            except SeatsyncError as error:
                return _fatal(error)
        shell = build_shell(context, settings=window_settings(data_dir))
        hook.parent = lambda: shell.window
        instance.message_received.connect(lambda message: shell.window.bring_to_front())
        app.setQuitOnLastWindowClosed(shell.tray is None)
        app.aboutToQuit.connect(shell.shutdown)
        if shell.tray is not None:
            shell.tray.show()
        shell.window.show()
        shell.start()
        log.info("seatsync window open")
        if quit_after_sync:
            _quit_after_sync(shell, app)
        code = app.exec()
        shell.shutdown()
        app.aboutToQuit.disconnect(shell.shutdown)
        shell.window.quitting = True
        shell.window.close()
        shell.window.deleteLater()
        return code
    finally:
        if instance is not None:
            instance.close()
        if owns_context and context is not None:
            context.close()
        hook.uninstall()
        restore_qt()
        logging.getLogger().removeHandler(handler)
        handler.close()


def _quit_after_sync(shell: Shell, app: QApplication) -> None:
    def finished(_target: str, summary: Any, error: Any) -> None:
        # The window works when the sync ran: it raised nothing, nothing stopped the run, and some tenant
        # synced (a tenant of its own failing, such as one without consent, is the sync's news, not the window's).
        failed = (error is not None or summary is None or bool(summary.stops)
                  or len(summary.failed) == len(summary.results))
        print(f"seatsync window: {sync_summary_text(summary, error)}", flush=True)
        shell.window.quitting = True
        app.exit(EXIT_ERROR if failed else EXIT_OK)

    shell.sync.finished.connect(finished)
    QTimer.singleShot(0, lambda: shell.sync.sync_now(ALL))


def _log_dir(data_dir: Path) -> Path:
    return paths.private_dir(Path(data_dir) / paths.LOG_DIR_NAME)


def _open(open_services: Callable[[], Services] | None) -> Services:
    """The data, and proof the keyring is usable (before any window depends on it)."""
    if open_services is None:
        raise ValueError("run_window needs the services or a way to open them")
    context = open_services()
    try:
        context.secrets.backend()
    except BaseException:
        context.close()
        raise
    return context


def _fatal(error: SeatsyncError) -> int:
    if isinstance(error, DatabaseTooNew):
        title = "seatsync is older than its data"
        text = f"{error}\n\nInstall the latest seatsync, then start it again. Your data was not changed."
    elif isinstance(error, NoKeyringBackend):
        title = "seatsync needs a keyring"
        text = (f"{error}\n\nseatsync keeps every credential in your system's keyring and nowhere else, so it "
                "cannot start without one.")
    else:
        title, text = "seatsync cannot start", str(error)
    log.error("cannot start: %s", error)
    fatal_message(title, text)
    return EXIT_DATABASE_TOO_NEW if isinstance(error, DatabaseTooNew) else EXIT_ERROR
