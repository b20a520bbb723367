"""The PSA connection and Microsoft partner connection dialogs (Settings).

Each field of a PSA kind (app.services.psa.factory.KINDS) becomes a row of
the form; secret fields are ``SecretField``s, which show that a secret is
set and never what it is: replacing one is an explicit "Replace…". "Test and
save" tests the typed values on a worker and stores them only when the PSA
or Microsoft accepts them; a refusal is shown in the dialog, with the typed
values kept.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.models.records import MicrosoftConnectionRecord, PsaConnectionRecord
from app.services.connections.admin import (
    PARTNER_KIND_LABELS,
    MicrosoftDraft,
    MicrosoftSummary,
    PsaConnectionSummary,
    PsaDraft,
)
from app.services.container import Services
from app.services.psa.factory import PsaKind
from app.ui.tasks import Tasks
from app.ui.views.tables import StatusLine
from app.ui.widgets.plain import PlainLabel


class SecretField(QWidget):
    """A secret's field: "set — Replace…" when one is stored, an empty password box otherwise."""

    def __init__(self, is_set: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.status = PlainLabel("set (stored in the keyring)")
        self.replace_button = QPushButton("Replace…")
        self.edit = QLineEdit()
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.keep_button = QPushButton("Keep current")
        for button in (self.replace_button, self.keep_button):
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.status.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        for widget in (self.status, self.replace_button, self.edit, self.keep_button):
            layout.addWidget(widget)
        self.replace_button.clicked.connect(self.start_replacing)
        self.keep_button.clicked.connect(self.keep)
        self.set_stored(is_set)

    def set_stored(self, is_set: bool) -> None:
        self.is_set = is_set
        self.edit.clear()
        self.status.setVisible(is_set)
        self.replace_button.setVisible(is_set)
        self.edit.setVisible(not is_set)
        self.keep_button.setVisible(False)
        self.edit.setPlaceholderText("" if is_set else "not set")

    def start_replacing(self) -> None:
        self.status.setVisible(False)
        self.replace_button.setVisible(False)
        self.edit.setVisible(True)
        self.edit.setPlaceholderText("the new value")
        self.keep_button.setVisible(True)
        self.edit.setFocus()

    def keep(self) -> None:
        self.set_stored(self.is_set)

    def value(self) -> str:
        """The new secret typed, or "" to keep what is stored."""
        return self.edit.text() if self.edit.isVisible() or not self.is_set else ""


def _buttons(dialog: QDialog, test_label: str) -> tuple[QPushButton, QPushButton, QPushButton, QHBoxLayout]:
    row = QHBoxLayout()
    test = QPushButton(test_label)
    save = QPushButton("Test and save")
    save.setDefault(True)
    cancel = QPushButton("Cancel")
    cancel.clicked.connect(dialog.reject)
    row.addWidget(test)
    row.addStretch(1)
    row.addWidget(save)
    row.addWidget(cancel)
    return test, save, cancel, row


class PsaConnectionDialog(QDialog):
    def __init__(self, context: Services, tasks: Tasks, summary: PsaConnectionSummary | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.service = context.admin
        self.summary = summary
        self.saved: PsaConnectionRecord | None = None
        self.setWindowTitle("Edit PSA connection" if summary else "Add PSA connection")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        top = QFormLayout()
        self.kind = QComboBox()
        self.name = QLineEdit(summary.record.name if summary else "")
        self.name.setPlaceholderText("e.g. the PSA's company name")
        top.addRow("PSA", self.kind)
        top.addRow("Name", self.name)
        layout.addLayout(top)
        self.stack = QStackedWidget()
        self.fields: dict[str, dict[str, QLineEdit | SecretField]] = {}
        self.kinds: list[PsaKind] = self.service.kinds()
        for spec in self.kinds:
            self.kind.addItem(spec.label, spec.kind)
            self.stack.addWidget(self._form(spec))
        layout.addWidget(self.stack)
        self.message = StatusLine()
        layout.addWidget(self.message)
        self.test_button, self.save_button, self.cancel_button, row = _buttons(self, "Test connection")
        layout.addLayout(row)
        self.kind.currentIndexChanged.connect(self.stack.setCurrentIndex)
        if summary is not None:
            self.kind.setCurrentIndex(max(self.kind.findData(summary.record.kind), 0))
            self.kind.setEnabled(False)
        self.test_button.clicked.connect(lambda: self._run(save=False))
        self.save_button.clicked.connect(lambda: self._run(save=True))

    @classmethod
    def ask(cls, parent: QWidget | None, context: Services, tasks: Tasks,
            summary: PsaConnectionSummary | None = None) -> PsaConnectionRecord | None:
        dialog = cls(context, tasks, summary, parent)
        return dialog.saved if dialog.exec() == QDialog.DialogCode.Accepted else None

    def _form(self, spec: PsaKind) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        widgets: dict[str, QLineEdit | SecretField] = {}
        editing = self.summary if self.summary and self.summary.record.kind == spec.kind else None
        for f in spec.fields:
            label = f.label + ("" if f.required else " (optional)")
            if f.secret:
                widget: QLineEdit | SecretField = SecretField(bool(editing and editing.secrets_set.get(f.name)))
            else:
                widget = QLineEdit(str(editing.record.settings.get(f.name, "")) if editing else "")
                widget.setPlaceholderText(f.hint)
            widget.setObjectName(f"{spec.kind}.{f.name}")
            widget.setToolTip(f.hint)
            widgets[f.name] = widget
            form.addRow(label, widget)
        self.fields[spec.kind] = widgets
        return page

    def field(self, name: str) -> QLineEdit | SecretField:
        return self.fields[self.kind.currentData()][name]

    def draft(self) -> PsaDraft:
        kind = self.kind.currentData()
        widgets = self.fields[kind]
        return PsaDraft(
            kind=kind, name=self.name.text(),
            settings={n: w.text() for n, w in widgets.items() if isinstance(w, QLineEdit)},
            secrets={n: w.value() for n, w in widgets.items() if isinstance(w, SecretField) and w.value()},
            connection_id=self.summary.record.id if self.summary else None)

    def _run(self, *, save: bool) -> None:
        draft = self.draft()
        self._busy(True)
        self.message.show_message("Testing the connection…")
        if save:
            self.tasks.run(lambda: self.service.test_and_save_psa(draft), self._saved, self._failed,
                           owner=self, label="test and save PSA connection")
        else:
            self.tasks.run(lambda: self.service.test_psa(draft), self._tested, self._failed,
                           owner=self, label="test PSA connection")

    def _busy(self, busy: bool) -> None:
        for button in (self.test_button, self.save_button):
            button.setEnabled(not busy)

    def _tested(self, _: Any) -> None:
        self._busy(False)
        self.message.show_message("The PSA accepted the connection. Nothing is saved until you click "
                                  "\"Test and save\".", "ok")

    def _saved(self, record: PsaConnectionRecord) -> None:
        self._busy(False)
        self.saved = record
        for widget in self.fields[self.kind.currentData()].values():
            if isinstance(widget, SecretField):
                widget.set_stored(widget.is_set or bool(widget.value()))
        self.message.show_message("Saved.", "ok")
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._busy(False)
        self.message.show_error(error, "The connection test")
        self.adjustSize()


class MicrosoftDialog(QDialog):
    def __init__(self, context: Services, tasks: Tasks, summary: MicrosoftSummary | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.service = context.admin
        self.summary = summary
        self.saved: MicrosoftConnectionRecord | None = None
        self.result_text = ""
        record = summary.record if summary else None
        defaults = MicrosoftDraft(client_id="", partner_tenant_id="")
        self.setWindowTitle("Microsoft partner connection")
        self.setMinimumWidth(620)
        layout = QVBoxLayout(self)
        intro = PlainLabel("A partner account's app registration in Microsoft Entra ID, with access to its customer "
                           "tenants and to its Partner Center. Add one connection per partner account (each CSP "
                           "tenant: a direct-bill account, an indirect reseller's account).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.name = QLineEdit(record.name if record else "")
        self.name.setObjectName("microsoft.name")
        self.name.setPlaceholderText(f"{defaults.name} (the Companies list filters by it)")
        self.kind = QComboBox()
        self.kind.setObjectName("microsoft.kind")
        for kind, label in PARTNER_KIND_LABELS.items():
            self.kind.addItem(label, kind)
        self.kind.setCurrentIndex(max(0, self.kind.findData(record.kind if record else defaults.kind)))
        form.addRow("Name", self.name)
        form.addRow("Partner account", self.kind)
        self.client_id = QLineEdit(record.client_id if record else "")
        self.client_id.setPlaceholderText("Application (client) ID")
        self.partner_tenant_id = QLineEdit(record.partner_tenant_id if record else "")
        self.partner_tenant_id.setPlaceholderText("the partner's own tenant ID")
        self.secret = SecretField(bool(summary and summary.secret_set))
        self.secret.setObjectName("microsoft.client_secret")
        form.addRow("Client ID", self.client_id)
        form.addRow("Client secret", self.secret)
        form.addRow("Partner tenant ID", self.partner_tenant_id)
        layout.addLayout(form)
        self.advanced = QGroupBox("Advanced: endpoints")
        self.advanced.setCheckable(True)
        self.advanced.setChecked(False)
        advanced = QFormLayout(self.advanced)
        self.authority_url = QLineEdit(record.authority_url if record else defaults.authority_url)
        self.graph_url = QLineEdit(record.graph_url if record else defaults.graph_url)
        self.partner_center_url = QLineEdit(record.partner_center_url if record else defaults.partner_center_url)
        advanced.addRow("Authority", self.authority_url)
        advanced.addRow("Graph", self.graph_url)
        advanced.addRow("Partner Center", self.partner_center_url)
        self.advanced.toggled.connect(self._show_advanced)
        self._show_advanced(False)
        layout.addWidget(self.advanced)
        self.message = StatusLine()
        layout.addWidget(self.message)
        self.test_button, self.save_button, self.cancel_button, row = _buttons(self, "Test connection")
        layout.addLayout(row)
        self.test_button.clicked.connect(lambda: self._run(save=False))
        self.save_button.clicked.connect(lambda: self._run(save=True))

    @classmethod
    def ask(cls, parent: QWidget | None, context: Services, tasks: Tasks,
            summary: MicrosoftSummary | None = None) -> MicrosoftConnectionRecord | None:
        dialog = cls(context, tasks, summary, parent)
        return dialog.saved if dialog.exec() == QDialog.DialogCode.Accepted else None

    def _show_advanced(self, shown: bool) -> None:
        form = self.advanced.layout()
        assert isinstance(form, QFormLayout)
        for edit in (self.authority_url, self.graph_url, self.partner_center_url):
            form.setRowVisible(edit, shown)
        self.adjustSize()

    def draft(self) -> MicrosoftDraft:
        return MicrosoftDraft(
            name=self.name.text(), kind=self.kind.currentData(),
            client_id=self.client_id.text(), partner_tenant_id=self.partner_tenant_id.text(),
            client_secret=self.secret.value(), authority_url=self.authority_url.text(),
            graph_url=self.graph_url.text(), partner_center_url=self.partner_center_url.text(),
            connection_id=self.summary.record.id if self.summary else 0)

    def _run(self, *, save: bool) -> None:
        draft = self.draft()
        self.test_button.setEnabled(False)
        self.save_button.setEnabled(False)
        self.message.show_message("Asking Microsoft…")
        if save:
            self.tasks.run(lambda: self.service.test_and_save_microsoft(draft), self._saved, self._failed,
                           owner=self, label="test and save Microsoft connection")
        else:
            self.tasks.run(lambda: self.service.test_microsoft(draft), self._tested, self._failed,
                           owner=self, label="test Microsoft connection")

    def _done(self) -> None:
        self.test_button.setEnabled(True)
        self.save_button.setEnabled(True)

    def _tested(self, result: Any) -> None:
        self._done()
        self.result_text = result.text
        self.message.show_message(result.text, "info" if result.problems else "ok")
        self.adjustSize()

    def _saved(self, outcome: Any) -> None:
        self._done()
        self.saved, result = outcome
        self.secret.set_stored(True)
        self.result_text = result.text
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._done()
        self.message.show_error(error, "The connection test")
        self.adjustSize()
