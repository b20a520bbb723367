"""Settings > Team database: which database seatsync opens, testing a team's, moving this computer's data there.

The page says which database is open now and, once changed, which one
opens from the next start (a running seatsync keeps the database it
started with: every view, the scheduler and the sync hold it). The address
is a ``postgresql://`` URL without its password; the password has its own
masked field and goes to the keyring; a certificate authority file, when
the server's certificate is not from one the system trusts, is added to
the address as ``sslrootcert``.

Every connection is made on a worker (``Tasks.run``): testing, moving
(with its progress, reported by a signal from the worker) and switching.
Errors are shown as the plain sentences the services give.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import paths
from app.errors import SeatsyncError
from app.models.database import BadDatabaseAddress, connection_options
from app.services.container import Services
from app.services.team.location import (
    ENVIRONMENT,
    DatabaseLocation,
    locate,
    password,
    use_local,
    use_team,
    without_password,
)
from app.services.team.move import MoveProgress, MoveReport, TeamProbe, move_to_team, probe, with_certificate_authority
from app.ui.tasks import Tasks
from app.ui.views.tables import StatusLine
from app.ui.widgets.plain import PlainLabel, confirm

PLACEHOLDER = "postgresql://user@server.example.com:5432/seatsync"


class _Progress(QObject):
    """Carries a move's progress from its worker to the page (queued to the UI thread)."""

    step = Signal(str, int, int, str)  # table, rows copied, rows in all, stage


class TeamDatabasePage(QWidget):
    def __init__(self, context: Services, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.tasks = tasks
        self.busy = False
        layout = QVBoxLayout(self)
        self.message = StatusLine()
        layout.addWidget(self.message)
        now = QGroupBox("Database")
        now_box = QVBoxLayout(now)
        self.current = PlainLabel()
        self.current.setObjectName("teamCurrent")
        self.current.setWordWrap(True)
        self.next_start = PlainLabel()
        self.next_start.setWordWrap(True)
        self.next_start.hide()
        now_box.addWidget(self.current)
        now_box.addWidget(self.next_start)
        layout.addWidget(now)
        team = QGroupBox("Team database (PostgreSQL)")
        form = QFormLayout(team)
        self.address = QLineEdit()
        self.address.setObjectName("teamAddress")
        self.address.setPlaceholderText(PLACEHOLDER)
        self.password = QLineEdit()
        self.password.setObjectName("teamPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca_file = QLineEdit()
        self.ca_file.setObjectName("teamCaFile")
        self.ca_file.setPlaceholderText("optional: the certificate authority's file (PEM)")
        self.browse_button = QPushButton("Browse…")
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(self.browse_button)
        form.addRow("Address", self.address)
        form.addRow("Password", self.password)
        form.addRow("Certificate authority", ca_row)
        hint = PlainLabel("The address names the server, the database and the user, never the password. A server "
                          "that is not this computer is reached over TLS, its certificate checked against the "
                          "certificate authority given here, or else the ones this computer trusts.")
        hint.setWordWrap(True)
        form.addRow(hint)
        buttons = QHBoxLayout()
        self.test_button = QPushButton("Test connection")
        self.move_button = QPushButton("Move this computer's data to the team database…")
        self.use_team_button = QPushButton("Use this team database")
        self.use_team_button.setToolTip("Open a team database that already holds the team's data from the next "
                                        "start (nothing is copied)")
        for button in (self.test_button, self.move_button, self.use_team_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        form.addRow(buttons)
        self.progress = QProgressBar()
        self.progress.hide()
        form.addRow(self.progress)
        layout.addWidget(team)
        self.use_local_button = QPushButton("Use this computer's database")
        local_row = QHBoxLayout()
        local_row.addWidget(self.use_local_button)
        local_row.addStretch(1)
        layout.addLayout(local_row)
        layout.addStretch(1)
        self._progress = _Progress(self)
        self._progress.step.connect(self._stepped)
        self.test_button.clicked.connect(self.test_connection)
        self.move_button.clicked.connect(self.move_data)
        self.use_team_button.clicked.connect(self.use_team)
        self.use_local_button.clicked.connect(self.use_local)
        self.browse_button.clicked.connect(self.browse)
        self.opened = self.configured = self._locate()
        self.current.setText(f"Open now: {self.opened.describe()}.")
        if self.opened.is_team:
            self.address.setText(str(self.opened.target))
            self.password.setPlaceholderText("stored in the keyring (type to replace)")
        self._update()

    def _locate(self) -> DatabaseLocation:
        try:
            return locate(self.context.data_dir)
        except SeatsyncError as error:
            self.message.show_error(error, "Reading the team database setting")
            return DatabaseLocation(self.context.data_dir / paths.DATABASE_NAME)

    @property
    def local_file(self) -> Path:
        return self.context.data_dir / paths.DATABASE_NAME

    def _update(self) -> None:
        """Which buttons apply: a move only from this computer's database, and not twice; nothing while busy."""
        moved = self.configured.is_team or self.opened.is_team
        for button in (self.test_button, self.use_team_button):
            button.setEnabled(not self.busy)
        self.move_button.setEnabled(not self.busy and not moved)
        self.move_button.setToolTip("" if not moved else "seatsync already opens a team database")
        self.use_local_button.setVisible(moved)
        self.use_local_button.setEnabled(not self.busy and self.configured.is_team)
        if self.configured != self.opened:
            self.next_start.setText(f"From the next start: {self.configured.describe()}. Restart seatsync to open "
                                    "it.")
            self.next_start.show()
        else:
            self.next_start.hide()

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self._update()

    # -- the form -------------------------------------------------------------------------------------------------

    def url(self) -> str:
        """The address typed, with the certificate authority; raises ``BadDatabaseAddress`` when unusable."""
        address = self.address.text().strip()
        if not address:
            raise BadDatabaseAddress("(type the team database's address first)")
        url = with_certificate_authority(address, self.ca_file.text())
        connection_options(url)
        return url

    def _secret(self, url: str) -> Callable[[], str | None]:
        """What gives the password on the worker: the one typed; else, for the team database already set,
        the keyring's (a keyring may take a while to answer)."""
        typed, configured, secrets = self.password.text() or None, self.configured, self.context.secrets
        if typed is not None or not configured.is_team or without_password(url) != str(configured.target):
            return lambda: typed
        return lambda: password(secrets, configured)

    def browse(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "The certificate authority's file", "",
                                                "Certificates (*.pem *.crt *.cer);;All files (*)")
        if chosen:
            self.ca_file.setText(chosen)

    def _address_or_say(self) -> str | None:
        try:
            return self.url()
        except SeatsyncError as error:
            self.message.show_error(error, "Reading the address")
            return None

    # -- testing ---------------------------------------------------------------------------------------------------

    def test_connection(self) -> None:
        url = self._address_or_say()
        if url is None:
            return
        self.message.show_message(f"Connecting to {DatabaseLocation(url).describe()}…")
        secret = self._secret(url)
        self.tasks.run(lambda: probe(url, secret()), self._tested,
                       lambda e: self.message.show_error(e, "The connection test"),
                       owner=self, latest="probe", label="test the team database")

    def _tested(self, found: TeamProbe) -> None:
        self.message.show_message(f"OK. {found.text()}", "ok")

    # -- moving ----------------------------------------------------------------------------------------------------

    def move_data(self) -> None:
        url = self._address_or_say()
        if url is None or self.busy:
            return
        where = DatabaseLocation(url).describe()
        if not confirm(self, "Move to the team database",
                       f"Copy this computer's database ({self.local_file}) into {where} and open that from the next "
                       "start?\n\nThe team database must hold no seatsync data. Every table is copied, then "
                       "checked on both sides; if anything differs, nothing is kept there. This computer's "
                       "database is kept as it is, with a copy beside it.\n\nDo not sync until the move is done."):
            return
        signal = self._progress.step

        def report(step: MoveProgress) -> None:  # on the worker
            with suppress(RuntimeError):  # the page is gone: the move goes on without showing it
                signal.emit(step.table, step.copied, step.total, step.stage)

        context, local = self.context, self.local_file
        typed = self.password.text() or None
        self._set_busy(True)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.message.show_message(f"Moving this computer's data to {where}…")
        self.tasks.run(lambda: move_to_team(local, url, typed, context.secrets, context.data_dir, progress=report),
                       self._moved, self._move_failed, owner=self, label="move to the team database")

    @Slot(str, int, int, str)
    def _stepped(self, table: str, copied: int, total: int, stage: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(copied if total else 1)
        self.progress.setFormat(f"{stage} {table}: {copied} of {total} rows")

    def _moved(self, report: MoveReport) -> None:
        self.progress.hide()
        self.password.clear()
        self.configured = report.location
        self._set_busy(False)
        self.message.show_message(f"{report.text()} Restart seatsync to open the team database."
                                  + _environment_note(), "ok")

    def _move_failed(self, error: BaseException) -> None:
        self.progress.hide()
        self._set_busy(False)
        self.message.show_error(error, "The move")

    # -- switching --------------------------------------------------------------------------------------------------

    def use_team(self) -> None:
        url = self._address_or_say()
        if url is None or self.busy:
            return
        context, given = self.context, self._secret(url)

        def switch() -> tuple[TeamProbe, DatabaseLocation]:  # on the worker
            secret = given()
            found = probe(url, secret)  # a database that cannot be opened is never set
            return found, use_team(context.data_dir, url, context.secrets, secret)

        self._set_busy(True)
        self.message.show_message(f"Connecting to {DatabaseLocation(url).describe()}…")
        self.tasks.run(switch, self._team_used, self._switch_failed, owner=self, label="use the team database")

    def _team_used(self, result: tuple[TeamProbe, DatabaseLocation]) -> None:
        found, self.configured = result
        self.password.clear()
        self._set_busy(False)
        empty = (" It holds no seatsync data yet: to bring this computer's data there, use this computer's "
                 "database again and move it instead.") if found.empty else ""
        self.message.show_message(f"{found.text()} From the next start seatsync opens {self.configured.describe()}: "
                                  f"restart seatsync to open it.{empty}" + _environment_note(), "ok")

    def use_local(self) -> None:
        if self.busy or not confirm(self, "Use this computer's database",
                                    f"From the next start, open this computer's database ({self.local_file}) "
                                    "instead of the team database?\n\nThe team database is left as it is. This "
                                    "computer's database holds what it held before the move, not the team's "
                                    "changes since."):
            return
        context = self.context
        self._set_busy(True)
        self.tasks.run(lambda: use_local(context.data_dir, context.secrets), self._local_used, self._switch_failed,
                       owner=self, label="use this computer's database")

    def _local_used(self, location: DatabaseLocation) -> None:
        self.configured = location
        self._set_busy(False)
        self.message.show_message(f"From the next start seatsync opens {location.describe()}; the team database is "
                                  "untouched. Restart seatsync to switch." + _environment_note(), "ok")

    def _switch_failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.message.show_error(error, "Switching the database")


def _environment_note() -> str:
    if os.environ.get(ENVIRONMENT, "").strip():
        return f" Note: {ENVIRONMENT} is set for seatsync and wins over this setting until it is removed."
    return ""
