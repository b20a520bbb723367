"""The Billing profiles view: list, create, edit, delete, and create in bulk from PSA products.

The table shows each profile's PSA price and the price a seat bills at
(PricePolicy.unit_price of the billing core); the form beside it edits one
profile. Unsaved edits are never dropped: selecting another profile while
the form has changes keeps the form and says so.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSplitter, QVBoxLayout, QWidget

from app.billing.types import BillingProfile
from app.models.records import EditConflict
from app.services.container import Services
from app.services.customers.profiles import ConnectionCatalog, ProfileRow, option_text
from app.services.team.roles import Ability
from app.ui.formatting import money
from app.ui.sync_gateway import SyncGateway
from app.ui.tasks import Tasks
from app.ui.views.profile_editor import ProfileEditor, policy_label
from app.ui.views.profiles_bulk import BulkProfilesDialog
from app.ui.views.row_model import ROW_ROLE, Column, RowTableModel
from app.ui.views.tables import ReloadingView, StatusLine, current_user, selected_rows, table_view
from app.ui.widgets.plain import clip, confirm

COL_NAME, COL_PRODUCT, COL_PSA_PRICE, COL_POLICY, COL_UNIT_PRICE, COL_OPTION, COL_TYPES, COL_CONNECTION = range(8)
COLUMNS: tuple[Column[ProfileRow], ...] = (
    Column("Name", lambda r: r.profile.name),
    Column("PSA product", lambda r: r.profile.product.identifier or r.profile.product.description),
    Column("PSA price", lambda r: money(r.psa_price, r.currency), lambda r: r.psa_price, numeric=True),
    Column("Price policy", lambda r: policy_label(r.profile.price, r.currency)),
    Column("Bills at", lambda r: money(r.unit_price, r.currency), lambda r: r.unit_price, numeric=True),
    Column("Billing option", lambda r: option_text(r.profile.billing_option)),
    Column("Agreement types", lambda r: ", ".join(sorted(r.profile.allowed_agreement_types)) or "any"),
    Column("PSA connection", lambda r: r.connection_name),
)


class ProfilesView(ReloadingView):
    """The billing profiles and the editor of one. Shown again, it loads again (a form with edits is kept)."""

    def __init__(self, context: Services, tasks: Tasks, parent: QWidget | None = None, *,
                 sync: SyncGateway | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.tasks = tasks
        self.service = context.profiles
        self.catalogs: list[ConnectionCatalog] = []
        self.bulk_dialog: BulkProfilesDialog | None = None
        layout = QVBoxLayout(self)
        self.message = StatusLine()
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        self.new_button = QPushButton("New profile")
        self.bulk_button = QPushButton("Create from PSA products…")
        self.delete_button = QPushButton("Delete")
        for button in (self.new_button, self.bulk_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        layout.addLayout(buttons)
        splitter = QSplitter()
        self.model: RowTableModel[ProfileRow] = RowTableModel(COLUMNS, key=lambda r: r.profile.id)
        self.table, self.proxy = table_view(self.model, self)
        self.editor = ProfileEditor()
        splitter.addWidget(self.table)
        splitter.addWidget(self.editor)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([720, 480])
        layout.addWidget(splitter, 1)
        self.new_button.clicked.connect(self.new_profile)
        self.bulk_button.clicked.connect(self.open_bulk)
        self.delete_button.clicked.connect(self.delete_selected)
        self.editor.save_button.clicked.connect(self.save)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        refusal = context.role().refusal(Ability.MAP)  # the database refuses these to a role that may not map
        for button in (self.new_button, self.bulk_button, self.delete_button, self.editor.save_button):
            button.setEnabled(not refusal)
            button.setToolTip(refusal or button.toolTip())
        self.refresh()

    # -- loading --------------------------------------------------------------

    def refresh(self) -> None:
        self.tasks.run(lambda: (self.service.rows(), self.service.catalogs()), self._loaded,
                       lambda e: self.message.show_error(e, "Reading the billing profiles"),
                       owner=self, latest="rows", label="load profiles")

    def _loaded(self, result: tuple[list[ProfileRow], list[ConnectionCatalog]]) -> None:
        rows, self.catalogs = result
        current = self.editor.profile.id if self.editor.profile else None
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        self.editor.set_catalogs(self.catalogs)
        if not self.catalogs:
            self.message.show_message("Connect a PSA in Settings first: billing profiles link to its products.")
        if current and not self.editor.dirty:
            self._select(current)
            # A form with no edits follows the stored profile (another desktop may have saved it).
            row = next((r for r in rows if r.profile.id == current), None)
            if row is not None and row.version != self.editor.version:
                self.editor.show_profile(row.profile, row.connection_id, row.version)

    def set_search(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)

    # -- editing ----------------------------------------------------------------

    def _selection_changed(self, *_: Any) -> None:
        rows = selected_rows(self.table)
        if not rows:
            return
        row = rows[0]
        if self.editor.profile is not None and self.editor.profile.id == row.profile.id:
            return
        if self.editor.dirty:
            self.message.show_message("Save or discard the changes in the form before opening another profile.")
            self._select(self.editor.profile.id if self.editor.profile else None)  # the row being edited
            return
        self.editor.show_profile(row.profile, row.connection_id, row.version)

    def new_profile(self) -> None:
        if self.editor.dirty:
            self.message.show_message("Save or discard the changes in the form first.")
            return
        self.table.clearSelection()
        self.editor.show_profile(None, None)
        self.editor.name.setFocus()

    def save(self) -> None:
        try:
            connection_id, profile = self.editor.value()
        except ValueError as error:
            self.editor.error.setText(f"Not saved: {str(error).rstrip('.')}.")
            return
        self.editor.error.clear()
        version, actor = self.editor.version, current_user()

        def work() -> tuple[BillingProfile, int | None]:
            saved = self.service.save(connection_id, profile, expected_version=version, actor=actor)
            return self.service.saved(saved.id)

        self.tasks.run(work, self._saved, self._save_failed, owner=self, label="save profile")

    def _save_failed(self, error: BaseException) -> None:
        if not isinstance(error, EditConflict) or self.editor.profile is None:
            self.editor.error.setText(f"Not saved: {error}")
            return
        # Someone saved (or removed) it first: show theirs, and say so.
        message, connection_id = error.shown("The form"), self.editor.connection.currentData()

        def reloaded(saved: tuple[BillingProfile, int | None]) -> None:
            self.editor.show_profile(saved[0], connection_id, saved[1])
            self.editor.error.setText(message)
            self.refresh()

        def gone(_: BaseException) -> None:
            self.editor.show_profile(None, None)
            self.editor.error.setText(message)
            self.refresh()

        profile_id = self.editor.profile.id
        self.tasks.run(lambda: self.service.saved(profile_id), reloaded, gone, owner=self, label="reload profile")

    def _saved(self, saved: tuple[BillingProfile, int | None]) -> None:
        profile, version = saved
        self.editor.show_profile(profile, self.editor.connection.currentData(), version)
        self.message.show_message(f"Saved '{profile.name}'.", "ok")
        self.refresh()

    def _select(self, profile_id: str | None) -> None:
        """Select the profile's row (none for a new profile) without reopening it in the form."""
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        try:
            self.table.clearSelection()
            for position in range(self.proxy.rowCount()):
                if self.proxy.index(position, 0).data(ROW_ROLE).profile.id == profile_id:
                    self.table.selectRow(position)
                    break
        finally:
            selection.blockSignals(False)
        self.table.viewport().update()

    def delete_selected(self) -> None:
        rows = selected_rows(self.table)
        if not rows:
            self.message.show_message("Choose a profile to delete.")
            return
        profile, version, actor = rows[0].profile, rows[0].version, current_user()
        if not confirm(self, "Delete billing profile", f"Delete '{clip(profile.name)}'?"):
            return
        self.tasks.run(lambda: self.service.delete(profile.id, expected_version=version, actor=actor),
                       lambda _: self._deleted(profile.name),
                       lambda e: self.message.show_error(e, f"Deleting '{profile.name}'"),
                       owner=self, label="delete profile")

    def _deleted(self, name: str) -> None:
        if self.editor.profile is not None and self.editor.profile.name == name:
            self.editor.show_profile(None, None)
        self.message.show_message(f"Deleted '{name}'.", "ok")
        self.refresh()

    # -- bulk ------------------------------------------------------------------

    def open_bulk(self) -> None:
        if not self.catalogs:
            self.message.show_message("Connect a PSA in Settings first: its products are read from there.")
            return
        dialog = BulkProfilesDialog(self.service, self.tasks, self.catalogs, self)
        dialog.accepted.connect(self._bulk_done)
        dialog.finished.connect(dialog.deleteLater)
        self.bulk_dialog = dialog
        dialog.open()

    def _bulk_done(self) -> None:
        dialog = self.bulk_dialog
        assert dialog is not None
        self.message.show_message(f"Created {len(dialog.created)} billing profile(s).", "ok")
        self.refresh()
