"""The Settings view: connections (PSA accounts and Microsoft partner accounts), sync and approvals,
notifications.

Connections are added and edited in their dialogs (app/ui/dialogs/connection.py),
which test before they save. After a PSA connection is saved its catalog
is read into the cache on a worker. The other settings are edited on two
pages and saved together (app/services/preferences.py). Each page scrolls
when the window is shorter than it, so "Save settings" is always within
reach. Below the pages: the data folder, to copy or open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.models.records import EditConflict
from app.services.connections.admin import CatalogSummary, MicrosoftSummary, PsaConnectionSummary
from app.services.container import Services
from app.services.preferences import PreferencesState
from app.services.psa.factory import KINDS
from app.services.sync.scheduler import ScheduleSettings
from app.services.team.roles import Ability
from app.ui.dialogs.connection import MicrosoftDialog, PsaConnectionDialog
from app.ui.sync_gateway import SyncGateway
from app.ui.tasks import Tasks
from app.ui.views.row_model import Column, RowTableModel
from app.ui.views.settings_forms import NotificationsPage, SyncPage
from app.ui.views.tables import ReloadingView, StatusLine, current_user, selected_rows, table_view
from app.ui.views.team_settings import TeamDatabasePage
from app.ui.widgets.desktop import open_folder
from app.ui.widgets.plain import PlainLabel, clip, confirm
from app.ui.widgets.scroll import PageTabs

COL_NAME, COL_KIND, COL_ADDRESS, COL_SECRETS, COL_COMPANIES, COL_AGREEMENTS, COL_TYPES, COL_PRODUCTS = range(8)


def _address(s: PsaConnectionSummary) -> str:
    """The connection's address: the first of its kind's address settings that is set (``PsaKind.address``)."""
    spec = KINDS.get(s.record.kind)
    return spec.address_of(s.record.settings) if spec else ""


def _secrets(s: PsaConnectionSummary) -> str:
    if not s.secrets_set:
        return ""
    return "set" if all(s.secrets_set.values()) else "missing: " + ", ".join(k for k, v in s.secrets_set.items()
                                                                          if not v)


MICROSOFT_COLUMNS: tuple[Column[MicrosoftSummary], ...] = (
    Column("Name", lambda s: s.record.name),
    Column("Account", lambda s: s.kind_label),
    Column("Partner tenant", lambda s: s.record.partner_tenant_id),
    Column("Client ID", lambda s: s.record.client_id),
    Column("Client secret", lambda s: "set" if s.secret_set else "NOT SET: edit the connection and enter it"),
    Column("Tenants", lambda s: str(s.tenants), lambda s: s.tenants, numeric=True),
)

CONNECTION_COLUMNS: tuple[Column[PsaConnectionSummary], ...] = (
    Column("Name", lambda s: s.record.name),
    Column("PSA", lambda s: s.label),
    Column("Address", _address),
    Column("Secrets", _secrets),
    Column("Companies", lambda s: str(s.companies), lambda s: s.companies, numeric=True),
    Column("Agreements", lambda s: str(s.agreements), lambda s: s.agreements, numeric=True),
    Column("Agreement types", lambda s: str(s.agreement_types), lambda s: s.agreement_types, numeric=True),
    Column("Products", lambda s: str(s.products), lambda s: s.products, numeric=True),
)


class ConnectionsPage(QWidget):
    def __init__(self, view: SettingsView) -> None:
        super().__init__(view)
        self.view = view
        layout = QVBoxLayout(self)
        psa = QGroupBox("PSA connections")
        box = QVBoxLayout(psa)
        self.model: RowTableModel[PsaConnectionSummary] = RowTableModel(CONNECTION_COLUMNS, key=lambda s: s.record.id)
        self.table, self.proxy = table_view(self.model, self)
        box.addWidget(self.table)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.edit_button = QPushButton("Edit…")
        self.test_button = QPushButton("Test")
        self.refresh_button = QPushButton("Read catalog again")
        self.remove_button = QPushButton("Remove")
        for button in (self.add_button, self.edit_button, self.test_button, self.refresh_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        box.addLayout(buttons)
        layout.addWidget(psa, 1)
        ms = QGroupBox("Microsoft partner connections")
        ms_box = QVBoxLayout(ms)
        self.microsoft_label = PlainLabel("Not connected. Connect each partner account's app (a direct-bill CSP's or "
                                          "an indirect reseller's) to read its customers' licenses.")
        self.microsoft_label.setWordWrap(True)
        ms_box.addWidget(self.microsoft_label)
        self.microsoft_model: RowTableModel[MicrosoftSummary] = RowTableModel(MICROSOFT_COLUMNS,
                                                                              key=lambda s: s.record.id)
        self.microsoft_table, _ = table_view(self.microsoft_model, self)
        self.microsoft_table.setObjectName("microsoftConnections")
        ms_box.addWidget(self.microsoft_table)
        ms_buttons = QHBoxLayout()
        self.microsoft_button = QPushButton("Add…")
        self.microsoft_edit_button = QPushButton("Edit…")
        self.microsoft_test_button = QPushButton("Test")
        self.microsoft_remove_button = QPushButton("Remove")
        for button in (self.microsoft_button, self.microsoft_edit_button, self.microsoft_test_button):
            ms_buttons.addWidget(button)
        ms_buttons.addStretch(1)
        ms_buttons.addWidget(self.microsoft_remove_button)
        ms_box.addLayout(ms_buttons)
        layout.addWidget(ms, 1)
        self.add_button.clicked.connect(lambda: view.edit_psa(None))
        self.edit_button.clicked.connect(lambda: view.edit_psa(self.selected()))
        self.table.doubleClicked.connect(lambda _: view.edit_psa(self.selected()))
        self.test_button.clicked.connect(lambda: view.test_psa(self.selected()))
        self.refresh_button.clicked.connect(lambda: view.refresh_catalog(self.selected()))
        self.remove_button.clicked.connect(lambda: view.remove_psa(self.selected()))
        self.microsoft_button.clicked.connect(lambda: view.edit_microsoft(None))
        self.microsoft_edit_button.clicked.connect(lambda: view.edit_microsoft(self.selected_microsoft()))
        self.microsoft_table.doubleClicked.connect(lambda _: view.edit_microsoft(self.selected_microsoft()))
        self.microsoft_test_button.clicked.connect(lambda: view.test_microsoft(self.selected_microsoft()))
        self.microsoft_remove_button.clicked.connect(lambda: view.remove_microsoft(self.selected_microsoft()))

    def selected(self) -> PsaConnectionSummary | None:
        rows = selected_rows(self.table)
        if not rows and self.model.rowCount() == 1:
            return self.model.row(0)
        return rows[0] if rows else None

    def selected_microsoft(self) -> MicrosoftSummary | None:
        rows = selected_rows(self.microsoft_table)
        if not rows and self.microsoft_model.rowCount() == 1:
            return self.microsoft_model.row(0)
        return rows[0] if rows else None

    def show_microsoft(self, summaries: list[MicrosoftSummary]) -> None:
        self.microsoft_model.set_rows(summaries)
        self.microsoft_table.resizeColumnsToContents()
        self.microsoft_table.setVisible(bool(summaries))
        self.microsoft_label.setVisible(not summaries)
        for button in (self.microsoft_edit_button, self.microsoft_test_button, self.microsoft_remove_button):
            button.setVisible(bool(summaries))


class SettingsView(ReloadingView):
    def __init__(self, context: Services, tasks: Tasks, parent: QWidget | None = None, *,
                 sync: SyncGateway | None = None) -> None:
        super().__init__(parent)
        self.sync = sync
        self.context = context
        self.tasks = tasks
        self.admin = context.admin
        self.preferences = context.preferences
        self.dialog: PsaConnectionDialog | MicrosoftDialog | None = None
        self.loaded: PreferencesState | None = None
        layout = QVBoxLayout(self)
        self.message = StatusLine()
        layout.addWidget(self.message)
        self.tabs = PageTabs()
        self.connections = ConnectionsPage(self)
        self.sync_page = SyncPage(self)
        self.notifications_page = NotificationsPage(self)
        self.tabs.add_page(self.connections, "Connections")
        self.tabs.add_page(self.sync_page, "Sync and approvals")
        self.tabs.add_page(self.notifications_page, "Notifications")
        self.team_page = TeamDatabasePage(context, tasks, self)
        self.tabs.add_page(self.team_page, "Team database")
        layout.addWidget(self.tabs, 1)
        data = QHBoxLayout()
        data.addWidget(PlainLabel("Data folder"))
        self.data_dir = QLineEdit(str(context.data_dir))
        self.data_dir.setObjectName("dataFolder")
        self.data_dir.setReadOnly(True)
        self.data_dir.setToolTip("Where seatsync keeps its database, logs and window state (private to you)")
        self.data_dir.setCursorPosition(0)
        self.open_data_button = QPushButton("Open folder")
        self.open_data_button.clicked.connect(self.open_data_dir)
        data.addWidget(self.data_dir, 1)
        data.addWidget(self.open_data_button)
        layout.addLayout(data)
        self._offer_what_the_role_may()
        self.refresh()

    def _offer_what_the_role_may(self) -> None:
        """Disable, saying which role they need, the actions the database refuses to the connected user."""
        role, page = self.context.role(), self.connections
        for ability, buttons in (
                (Ability.MANAGE_CONNECTIONS, (page.add_button, page.edit_button, page.remove_button,
                                              page.microsoft_button, page.microsoft_edit_button,
                                              page.microsoft_remove_button)),
                (Ability.SYNC, (page.refresh_button,)),  # the PSA's catalogue, as a sync reads it
                (Ability.EDIT_SETTINGS, (self.sync_page.save_button, self.notifications_page.save_button))):
            for button in buttons:
                button.setEnabled(role.may(ability))
                button.setToolTip(role.refusal(ability) or button.toolTip())

    # -- loading ------------------------------------------------------------------

    def refresh(self) -> None:
        self.tasks.run(lambda: (self.admin.psa_connections(), self.admin.microsoft_connections()), self._loaded,
                       lambda e: self.message.show_error(e, "Reading the connections"),
                       owner=self, latest="connections", label="load connections")
        if not self.preferences_edited():
            self.tasks.run(self.preferences.load, self._preferences_loaded,
                           lambda e: self.message.show_error(e, "Reading the settings"),
                           owner=self, latest="preferences", label="load settings")

    def preferences_edited(self) -> bool:
        """Whether the two forms hold changes not saved yet (a reload must not drop them)."""
        if self.loaded is None:
            return False
        try:
            change = self.sync_page.change(self.notifications_page)
        except ValueError:
            return True
        return change.preferences != self.loaded.preferences or change.smtp_password is not None \
            or change.webhook_url is not None

    def _loaded(self, result: tuple[list[PsaConnectionSummary], list[MicrosoftSummary]]) -> None:
        connections, microsoft = result
        self.connections.model.set_rows(connections)
        self.connections.table.resizeColumnsToContents()
        self.connections.show_microsoft(microsoft)

    def _preferences_loaded(self, state: PreferencesState) -> None:
        self.sync_page.load(state)
        self.notifications_page.load(state)
        self.loaded = state

    # -- PSA connections ------------------------------------------------------------

    def edit_psa(self, summary: PsaConnectionSummary | None) -> None:
        if not self.context.role().may_manage_connections:  # a double-click on the list
            self.message.show_message(self.context.role().refusal(Ability.MANAGE_CONNECTIONS))
            return
        dialog = PsaConnectionDialog(self.context, self.tasks, summary, self)
        dialog.accepted.connect(self._psa_saved)
        self._open(dialog)

    def _open(self, dialog: PsaConnectionDialog | MicrosoftDialog) -> None:
        self.dialog = dialog
        dialog.finished.connect(lambda _: setattr(self, "dialog", None))
        dialog.finished.connect(dialog.deleteLater)  # nothing typed (a secret) outlives the dialog
        dialog.open()

    def _psa_saved(self) -> None:
        dialog = self.sender()
        assert isinstance(dialog, PsaConnectionDialog)
        if dialog.saved is None:
            return
        self.message.show_message(f"Saved '{dialog.saved.name}'. Reading its companies, agreements and "
                                  "products…")
        self.refresh()
        self.refresh_catalog_of(dialog.saved.id)

    def refresh_catalog(self, summary: PsaConnectionSummary | None) -> None:
        if summary is None:
            self.message.show_message("Choose a PSA connection first.")
            return
        self.message.show_message(f"Reading the catalog of '{summary.record.name}'…")
        self.refresh_catalog_of(summary.record.id)

    def refresh_catalog_of(self, connection_id: int) -> None:
        self.tasks.run(lambda: self.admin.refresh_catalog(connection_id), self._catalog_read,
                       lambda e: self._catalog_failed(e), owner=self, label="read PSA catalog")

    def _catalog_read(self, summary: CatalogSummary) -> None:
        self.message.show_message(summary.text, "ok")
        self.refresh()

    def _catalog_failed(self, error: BaseException) -> None:
        self.message.show_error(error, "Reading the PSA's catalog")
        self.refresh()

    def test_psa(self, summary: PsaConnectionSummary | None) -> None:
        if summary is None:
            self.message.show_message("Choose a PSA connection first.")
            return
        record = summary.record
        self.message.show_message(f"Testing '{record.name}'…")
        test = lambda: self.context.psas.psa(record.id).test_connection()  # noqa: E731
        self.tasks.run(test, lambda _: self.message.show_message(f"'{record.name}' works.", "ok"),
                       lambda e: self.message.show_error(e, f"The test of '{record.name}'"),
                       owner=self, label="test PSA")

    def remove_psa(self, summary: PsaConnectionSummary | None) -> None:
        if summary is None:
            return
        self._remove("Remove the PSA connection", "its cached catalog and its keys", summary.record.name,
                     lambda: self.admin.delete_psa(summary.record.id))

    def _remove(self, title: str, with_it: str, name: str, delete: Callable[[], None]) -> None:
        """Remove a connection (``delete``, on a worker) once the person confirms, and say so."""
        if not confirm(self, title, f"Remove '{clip(name)}' with {with_it}?"):
            return

        def removed(_: object) -> None:
            self.message.show_message(f"Removed '{name}'.", "ok")
            self.refresh()

        self.tasks.run(delete, removed, lambda e: self.message.show_error(e, f"Removing '{name}'"), owner=self,
                       label="remove connection")

    # -- Microsoft ------------------------------------------------------------------

    def edit_microsoft(self, summary: MicrosoftSummary | None = None) -> None:
        """Add a partner connection (None), or edit one."""
        if not self.context.role().may_manage_connections:  # a double-click on the list
            self.message.show_message(self.context.role().refusal(Ability.MANAGE_CONNECTIONS))
            return
        dialog = MicrosoftDialog(self.context, self.tasks, summary, self)
        dialog.accepted.connect(self._microsoft_saved)
        self._open(dialog)

    def _microsoft_saved(self) -> None:
        dialog = self.sender()
        assert isinstance(dialog, MicrosoftDialog)
        name = dialog.saved.name if dialog.saved is not None else "the Microsoft partner connection"
        self.message.show_message(f"Saved '{name}'. {dialog.result_text}", "ok")
        self.refresh()

    def test_microsoft(self, summary: MicrosoftSummary | None) -> None:
        if summary is None:
            self.message.show_message("Choose a Microsoft partner connection first.")
            return
        record = summary.record
        self.message.show_message(f"Asking Microsoft about '{record.name}'…")
        self.tasks.run(lambda: self.admin.test_saved_microsoft(record.id),
                       lambda r: self.message.show_message(r.text, "info" if r.problems else "ok"),
                       lambda e: self.message.show_error(e, f"The test of '{record.name}'"),
                       owner=self, label="test Microsoft")

    def remove_microsoft(self, summary: MicrosoftSummary | None) -> None:
        if summary is None:
            self.message.show_message("Choose a Microsoft partner connection first.")
            return
        self._remove("Remove the partner connection", "its client secret", summary.record.name,
                     lambda: self.admin.delete_microsoft(summary.record.id))

    # -- the other settings -------------------------------------------------------------

    def save_preferences(self) -> None:
        try:
            change = self.sync_page.change(self.notifications_page)
        except ValueError as error:
            self.message.show_message(f"The settings were not saved: {error}", "error")
            return
        # The versions the form was loaded at: a setting someone else saved since is refused, not overwritten.
        change = replace(change, versions=self.loaded.versions if self.loaded else None, actor=current_user())
        self.tasks.run(lambda: self.preferences.save(change), self._preferences_saved, self._preferences_failed,
                       owner=self, label="save settings")

    def _preferences_failed(self, error: BaseException) -> None:
        if not isinstance(error, EditConflict):
            self.message.show_error(error, "Saving the settings")
            return
        # Someone saved first: the forms show their settings now (what was typed here is replaced), and say so.
        self.message.show_message(error.shown("Settings"), "error")
        self.tasks.run(self.preferences.load, self._preferences_loaded,
                       lambda e: self.message.show_error(e, "Reading the settings"),
                       owner=self, latest="preferences", label="load settings")

    def _preferences_saved(self, state: PreferencesState) -> None:
        self._preferences_loaded(state)
        if self.sync is not None:  # the daily sync follows the new time at once, not at the next start
            saved = state.preferences
            self.sync.apply(ScheduleSettings(enabled=saved.sync_enabled, daily_at=saved.sync_time))
        self.message.show_message("Settings saved.", "ok")

    def open_data_dir(self) -> None:
        if not open_folder(self.context.data_dir):
            self.message.show_message(f"The system could not open {self.context.data_dir}: copy the path and open "
                                      "it in your file manager.", "error")

    def set_search(self, text: str) -> None:
        self.connections.proxy.setFilterFixedString(text)

    def closeEvent(self, event: Any) -> None:
        if self.dialog is not None:
            self.dialog.close()
        super().closeEvent(event)
