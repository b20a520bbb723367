"""Map one license of many companies at once, from the Companies list: pick the license and the billing profile
(and, when a company has several agreements, which type), preview, then map them all.

A person's bulk mapping through the mapping rules' service: a one-off rule that is not stored, whose mappings
are the person's (not marked "mapped by rule"). Rows already mapped are never touched.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.customers.rules import RuleApplied, RuleOptions, RulePreview
from app.ui.views.rules import ANY, applied_sentence, preview_sentence, preview_table
from app.ui.views.tables import StatusLine, current_user, searchable


class BulkMapDialog(QDialog):
    def __init__(self, context: Any, tasks: Any, company_ids: list[int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Map a license of {len(company_ids)} compan{'y' if len(company_ids) == 1 else 'ies'}")
        self.resize(820, 480)
        self.service = context.rules
        self.tasks = tasks
        self.company_ids = company_ids
        self.preview: RulePreview | None = None
        self.applied: RuleApplied | None = None
        self.options = RuleOptions()
        layout = QVBoxLayout(self)
        self.message = StatusLine()
        layout.addWidget(self.message)
        form = QFormLayout()
        self.sku = searchable(QComboBox())
        self.sku.setObjectName("bulkLicense")
        self.profile = QComboBox()
        self.profile.setObjectName("bulkProfile")
        self.agreement_type = QComboBox()
        self.agreement_type.setObjectName("bulkAgreementType")
        form.addRow("License", self.sku)
        form.addRow("Billing profile", self.profile)
        form.addRow("Agreement", self.agreement_type)
        layout.addLayout(form)
        self.preview_model, self.preview_view = preview_table(self)
        layout.addWidget(self.preview_view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.preview_button = QPushButton("Preview")
        self.map_button = QPushButton("Map them all")
        self.map_button.setEnabled(False)
        buttons.addButton(self.preview_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.map_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.preview_button.clicked.connect(self.run_preview)
        self.map_button.clicked.connect(self.map_all)
        for combo in (self.sku, self.profile, self.agreement_type):
            combo.currentIndexChanged.connect(self._forget_preview)
        self.message.show_message("Reading the selected companies' licenses…")
        tasks.run(lambda: self.service.options(company_ids), self._loaded,
                  lambda e: self.message.show_error(e, "Reading the licenses"), owner=self, label="bulk map options")

    def _loaded(self, options: RuleOptions) -> None:
        self.options = options
        for combo, items in ((self.sku, options.licenses), (self.profile, [(p.id, p.name) for p in options.profiles]),
                             (self.agreement_type, [(ANY, "The one agreement the profile allows"),
                                                    *((t, f"Type: {t}") for t in options.agreement_types)])):
            combo.blockSignals(True)
            combo.clear()
            for value, label in items:
                combo.addItem(label, value)
            combo.blockSignals(False)
        self.message.show_message("Pick the license and the billing profile, then Preview.")

    def run_preview(self) -> None:
        sku_id, profile_id = self.sku.currentData(), self.profile.currentData()
        if not sku_id or not profile_id:
            self.message.show_message("Pick the license and the billing profile first.", "error")
            return
        agreement_type = self.agreement_type.currentData() or ""
        self.preview_button.setEnabled(False)
        self.tasks.run(lambda: self.service.bulk_map(self.company_ids, sku_id, profile_id,
                                                     agreement_type=agreement_type),
                       self._previewed, self._failed, owner=self, latest="preview", label="bulk map preview")

    def _previewed(self, preview: RulePreview) -> None:
        self.preview_button.setEnabled(True)
        self.preview = preview
        self.preview_model.set_rows(preview.rows)
        self.preview_view.resizeColumnsToContents()
        self.map_button.setEnabled(bool(preview.mapped))
        self.message.show_message(preview_sentence(preview).replace("The rules map", "This maps"),
                                  "ok" if preview.mapped else "info")

    def map_all(self) -> None:
        preview = self.preview
        if preview is None or not preview.mapped:
            return
        actor = current_user()
        self.map_button.setEnabled(False)
        self.tasks.run(lambda: self.service.apply(preview, actor=actor, mark=False), self._mapped, self._failed,
                       owner=self, label="bulk map")

    def _mapped(self, applied: RuleApplied) -> None:
        self.applied = applied
        self.preview = None
        self.message.show_message(applied_sentence(applied, by="in bulk"), "ok")

    def _failed(self, error: BaseException) -> None:
        self.preview_button.setEnabled(True)
        self.message.show_error(error, "Mapping in bulk")

    def _forget_preview(self) -> None:
        self.preview = None
        self.map_button.setEnabled(False)
