"""A company's contact sync: which users become PSA contacts, a preview of every change, and enabling it
(docs/contacts.md).

Opened from the company view ("Contacts…"). "Preview" reads the company's
users and contacts on a worker and lists each change (person, change,
field, before, after) and what is left alone. "Enable" is offered only once
a preview with the options shown was seen: the sync then applies the
changes after billing the company. "Disable" stops it. The last result is
shown as the sync left it. Every name is plain text.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.repositories.contacts import ContactSyncRecord
from app.services.contacts.plan import Options
from app.services.contacts.service import ContactPreview, ContactSyncService
from app.ui.errors import explain
from app.ui.views.tables import current_user
from app.ui.widgets.message_bar import MessageBar
from app.ui.widgets.plain import PlainLabel, clip

COLUMNS = ("Person", "Change", "Field", "Before", "After")


class ContactsDialog(QDialog):
    previewed = Signal()
    saved = Signal()

    def __init__(self, service: ContactSyncService, tasks: Any, company_id: int, company_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.company_id = company_id
        self.settings: ContactSyncRecord | None = None
        self.preview: ContactPreview | None = None
        self._shown: Options | None = None  # the options of the preview shown
        self.setWindowTitle("Contacts")
        self.setMinimumSize(720, 480)
        self.messages = MessageBar(self)
        intro = PlainLabel(f"Keep {clip(company_name)}'s Microsoft 365 users as its PSA contacts: new users are "
                           "added, names, title and phones follow Microsoft 365 (a blank there never blanks the "
                           "PSA), and a disabled or deleted user's contact is made inactive, never deleted.", self)
        intro.setWordWrap(True)
        self.licensed_only = QCheckBox("Only users holding a license", self)
        self.exclude_shared = QCheckBox("Leave out shared, room and equipment mailbox accounts", self)
        self.domains = QLineEdit(self)
        self.domains.setPlaceholderText("every domain; or e.g. contoso.com, fabrikam.com")
        for box in (self.licensed_only, self.exclude_shared):
            box.toggled.connect(self._options_changed)
        self.domains.textChanged.connect(self._options_changed)
        form = QFormLayout()
        form.addRow("Users", self.licensed_only)
        form.addRow("", self.exclude_shared)
        form.addRow("Only the domains", self.domains)
        self.state = PlainLabel(parent=self)
        self.state.setWordWrap(True)
        self.last_result = PlainLabel(parent=self)
        self.last_result.setWordWrap(True)
        self.summary = PlainLabel(parent=self)
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.notes = PlainLabel(parent=self)
        self.notes.setWordWrap(True)

        self.preview_button = QPushButton("Preview", self)
        self.preview_button.setToolTip("Read the users and the contacts now and list every change, writing nothing")
        self.preview_button.clicked.connect(self.run_preview)
        self.enable_button = QPushButton("Enable", self)
        self.enable_button.setToolTip("Apply these changes at every sync of this company, after billing it")
        self.enable_button.clicked.connect(lambda: self.save(True))
        self.disable_button = QPushButton("Disable", self)
        self.disable_button.clicked.connect(lambda: self.save(False))
        buttons = QDialogButtonBox(self)
        for button in (self.preview_button, self.enable_button, self.disable_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.messages)
        layout.addLayout(form)
        layout.addWidget(self.state)
        layout.addWidget(self.last_result)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.notes)
        layout.addWidget(buttons)
        self._set_busy(True)
        self.tasks.run(lambda: self.service.settings(company_id), self._show_settings,
                       lambda error: self._failed(error, "Could not read the contact sync settings"), owner=self,
                       label="contact sync settings")

    @classmethod
    def open_for(cls, parent: QWidget, service: ContactSyncService, tasks: Any, company_id: int,
                 company_name: str) -> ContactsDialog:
        dialog = cls(service, tasks, company_id, company_name, parent)
        dialog.show()
        return dialog

    # -- the form ------------------------------------------------------------------------

    def options(self) -> Options:
        domains = tuple(d for d in self.domains.text().replace(";", ",").replace(" ", ",").split(",") if d.strip())
        return Options(licensed_only=self.licensed_only.isChecked(), exclude_shared=self.exclude_shared.isChecked(),
                       domains=domains)

    def _show_settings(self, settings: ContactSyncRecord) -> None:
        self.settings = settings
        for box, value in ((self.licensed_only, settings.licensed_only),
                           (self.exclude_shared, settings.exclude_shared)):
            box.blockSignals(True)
            box.setChecked(value)
            box.blockSignals(False)
        self.domains.blockSignals(True)
        self.domains.setText(", ".join(settings.domains))
        self.domains.blockSignals(False)
        self.state.setText("Contact sync is on: each sync of this company applies the changes after billing it."
                           if settings.enabled else "Contact sync is off. Preview the changes, then enable it.")
        when = settings.last_run_at.astimezone().strftime("%Y-%m-%d %H:%M") if settings.last_run_at else ""
        self.last_result.setText(f"Last contact sync ({when}): {settings.last_result}" if settings.last_result
                                 else "No contact sync yet.")
        self._set_busy(False)

    def _options_changed(self) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        settings = self.settings
        fresh = self.preview is not None and self._shown == self.options()
        self.enable_button.setEnabled(settings is not None and fresh)
        self.disable_button.setEnabled(settings is not None and settings.enabled)
        if settings is not None and settings.enabled and not fresh:
            self.enable_button.setToolTip("Preview the changes with these options to save them")
        else:
            self.enable_button.setToolTip("Apply these changes at every sync of this company, after billing it")

    def _set_busy(self, busy: bool) -> None:
        self.preview_button.setEnabled(not busy)
        if busy:
            self.enable_button.setEnabled(False)
            self.disable_button.setEnabled(False)
        else:
            self._update_buttons()

    # -- preview and save ----------------------------------------------------------------------

    def run_preview(self) -> None:
        options = self.options()
        self._set_busy(True)
        self.messages.show_message("Reading the users and the contacts…", kind="info")

        def shown(preview: ContactPreview) -> None:
            self.messages.hide()
            self._show_preview(preview, options)

        self.tasks.run(lambda: self.service.preview(self.company_id, options), shown,
                       lambda error: self._failed(error, "Could not preview the contact changes"), owner=self,
                       label="contact preview")

    def _show_preview(self, preview: ContactPreview, options: Options) -> None:
        self.preview, self._shown = preview, options
        rows = preview.rows()
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(clip(text, 120)))  # an item shows its text as it is
        changed = len(preview.ops)
        self.summary.setText(f"{preview.users} user(s) selected, {preview.contacts} contact(s) in the PSA: "
                             + (f"{changed} change(s)." if changed else "nothing to change."))
        self.notes.setText("\n".join(clip(note, 200) for note in preview.notes))
        self._set_busy(False)
        self.previewed.emit()

    def save(self, enabled: bool) -> None:
        options = self._shown if enabled and self._shown is not None else self.options()
        actor = current_user()
        self._set_busy(True)
        self.tasks.run(lambda: self.service.save_settings(self.company_id, enabled=enabled, options=options,
                                                          actor=actor),
                       lambda settings: self._saved(settings, enabled),
                       lambda error: self._failed(error, "Could not save the contact sync"), owner=self,
                       label="contact sync settings")

    def _saved(self, settings: ContactSyncRecord, enabled: bool) -> None:
        self._show_settings(settings)
        self.messages.show_message("Contact sync enabled: the next sync of this company applies it." if enabled
                                   else "Contact sync disabled.", kind="ok")
        self.saved.emit()

    def _failed(self, error: BaseException, doing: str) -> None:
        self.messages.show_message(explain(error, doing=doing))
        self._set_busy(False)
