"""The Exclusions view: licenses never billed, globally by SKU or in one tenant; and, on its second tab,
the accounts whose licenses are never billed (app/ui/views/ignored.py).

Free and trial SKUs are offered first. Adding a global exclusion reads the
PSA for lines seatsync still bills for that SKU and offers to cancel them
(app/ui/views/exclusions_cancel.py).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.billing.types import Exclusion
from app.services.container import Services
from app.services.customers.exclusions import ActiveLine, ExclusionRow, SkuChoice
from app.services.team.roles import Ability
from app.ui.sync_gateway import SyncGateway
from app.ui.tasks import Tasks
from app.ui.views.exclusions_cancel import CancelLinesDialog
from app.ui.views.ignored import IgnoredAccountsPanel
from app.ui.views.row_model import Column, RowTableModel
from app.ui.views.tables import (
    ReloadingView,
    StatusLine,
    current_user,
    searchable,
    selected_rows,
    set_scopes,
    table_view,
)

COL_SCOPE, COL_LICENSE, COL_PART, COL_SKU, COL_REASON = range(5)
COLUMNS: tuple[Column[ExclusionRow], ...] = (
    Column("Applies to", lambda r: r.tenant_name or "All tenants",
           lambda r: (r.exclusion.tenant_id is not None, r.tenant_name.lower())),
    Column("License", lambda r: r.sku_name),
    Column("Part number", lambda r: r.part_number),
    Column("SKU ID", lambda r: r.exclusion.sku_id),
    Column("Reason", lambda r: r.exclusion.reason),
)


class ExclusionsView(ReloadingView):
    def __init__(self, context: Services, tasks: Tasks, parent: QWidget | None = None, *,
                 sync: SyncGateway | None = None) -> None:
        super().__init__(parent)
        if sync is not None:
            sync.finished.connect(self.refresh_when_seen)
        self.context = context
        self.tasks = tasks
        self.service = context.exclusions
        self.cancel_dialog: CancelLinesDialog | None = None
        outer = QVBoxLayout(self)
        self.message = StatusLine()
        outer.addWidget(self.message)
        self.tabs = QTabWidget()
        outer.addWidget(self.tabs, 1)
        licenses = QWidget()
        layout = QVBoxLayout(licenses)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tabs.addTab(licenses, "Licenses")
        self.ignored = IgnoredAccountsPanel(context, tasks, self.message)
        self.tabs.addTab(self.ignored, "Accounts")
        self.model: RowTableModel[ExclusionRow] = RowTableModel(
            COLUMNS, key=lambda r: (r.exclusion.tenant_id, r.exclusion.sku_id.lower()))
        self.table, self.proxy = table_view(self.model, self, multi=True)
        layout.addWidget(self.table, 1)
        remove_row = QHBoxLayout()
        self.remove_button = QPushButton("Remove exclusion")
        remove_row.addStretch(1)
        remove_row.addWidget(self.remove_button)
        layout.addLayout(remove_row)
        add = QGroupBox("Exclude a license")
        box = QHBoxLayout(add)
        self.scope = QComboBox()
        set_scopes(self.scope, ())
        self.sku = searchable(QComboBox())
        self.sku.setMinimumContentsLength(40)
        if (sku_edit := self.sku.lineEdit()) is not None:  # a searchable combo is editable
            sku_edit.setPlaceholderText("the license (free and trial SKUs first; type to search)")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why (e.g. free, trial, our own tenant)")
        self.add_button = QPushButton("Add exclusion")
        box.addWidget(self.scope)
        box.addWidget(self.sku, 2)
        box.addWidget(self.reason, 1)
        box.addWidget(self.add_button)
        layout.addWidget(add)
        self.scope.currentIndexChanged.connect(self._load_skus)
        self.add_button.clicked.connect(self.add)
        self.remove_button.clicked.connect(self.remove_selected)
        refusal = context.role().refusal(Ability.MAP)  # the database refuses these to a role that may not map
        for button in (self.add_button, self.remove_button):
            button.setEnabled(not refusal)
            button.setToolTip(refusal or button.toolTip())
        self.refresh()

    # -- loading ------------------------------------------------------------------

    def refresh(self) -> None:
        self.ignored.refresh()
        self.tasks.run(lambda: (self.service.rows(), self.service.tenants()), self._loaded,
                       lambda e: self.message.show_error(e, "Reading the exclusions"),
                       owner=self, latest="rows", label="load exclusions")

    def _loaded(self, result: tuple[list[ExclusionRow], list[tuple[str, str]]]) -> None:
        rows, tenants = result
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        set_scopes(self.scope, tenants)
        set_scopes(self.ignored.scope, tenants)  # the Accounts tab's, from the same read
        self._load_skus()

    def _load_skus(self) -> None:
        tenant_id = self.scope.currentData() or None
        self.tasks.run(lambda: self.service.sku_choices(tenant_id), self._skus_loaded,
                       lambda e: self.message.show_error(e, "Reading the licenses"),
                       owner=self, latest="skus", label="load SKUs")

    def _skus_loaded(self, choices: list[SkuChoice]) -> None:
        chosen = self.sku.currentData() if self.sku.currentIndex() >= 0 else None  # kept when the list loads again
        self.sku.clear()
        for choice in choices:
            self.sku.addItem(choice.label, choice.sku_id)
        self.sku.setCurrentIndex(self.sku.findData(chosen) if chosen is not None else -1)

    def set_search(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        self.ignored.proxy.setFilterFixedString(text)

    # -- commands -------------------------------------------------------------------

    def add(self) -> None:
        index = self.sku.currentIndex()
        sku_id = self.sku.itemData(index) if index >= 0 else None
        if sku_id is None or self.sku.currentText() != self.sku.itemText(index):
            self.message.show_message("Choose the license to exclude from the list.", "error")
            return
        tenant_id = self.scope.currentData() or None
        exclusion = Exclusion(sku_id=sku_id, tenant_id=tenant_id, reason=self.reason.text().strip())
        name = self.sku.itemText(index).split(" (")[0]
        # The version of the exclusion the list shows (0: none): one someone saved meanwhile is not overwritten.
        shown = next((r for r in self.model.rows() if r.exclusion.tenant_id == tenant_id
                      and r.exclusion.sku_id.lower() == sku_id.lower()), None)
        version, actor = (shown.version if shown else 0), current_user()

        def work() -> tuple[Exclusion, list[ActiveLine]]:
            saved = self.service.add(exclusion, expected_version=version, actor=actor)
            return saved, self.service.active_lines(sku_id, tenant_id) if tenant_id is None else []

        self.add_button.setEnabled(False)
        self.message.show_message(f"Excluding {name}…")
        self.tasks.run(work, lambda result: self._added(name, *result), self._add_failed,
                       owner=self, label="add exclusion")

    def _added(self, name: str, exclusion: Exclusion, lines: list[ActiveLine]) -> None:
        self.add_button.setEnabled(True)
        self.reason.clear()
        scope = "every tenant" if exclusion.tenant_id is None else self.scope.currentText()
        self.message.show_message(f"{name} is excluded in {scope}: it is no longer billed or reported.", "ok")
        self.refresh()
        if lines:
            self.offer_cancel(name, lines)

    def _add_failed(self, error: BaseException) -> None:
        self.add_button.setEnabled(True)
        self._failed(error, "Adding the exclusion")

    def _failed(self, error: BaseException, doing: str) -> None:
        """Say what went wrong, and read the list again (after a refused edit: with the other person's change)."""
        self.message.show_edit_error(error, doing)
        self.refresh()

    def offer_cancel(self, name: str, lines: list[ActiveLine]) -> None:
        dialog = CancelLinesDialog(self.service, self.tasks, name, lines, self.context.now().date(), self)
        self.cancel_dialog = dialog
        dialog.finished.connect(self._cancel_done)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _cancel_done(self, _result: int) -> None:
        outcome = self.cancel_dialog.outcome if self.cancel_dialog is not None else None
        if outcome is None:
            return
        text = f"Cancelled {len(outcome.cancelled)} line(s) in the PSA."
        if outcome.failed:
            text += " Not cancelled: " + "; ".join(f"{item.company_name} {item.agreement_name}: {why}"
                                                   for item, why in outcome.failed)
        self.message.show_message(text, "error" if outcome.failed else "ok")

    def remove_selected(self) -> None:
        rows = selected_rows(self.table)
        if not rows:
            self.message.show_message("Choose the exclusions to remove.")
            return

        actor = current_user()

        def work() -> int:
            return sum(self.service.remove(r.exclusion.sku_id, r.exclusion.tenant_id, expected_version=r.version,
                                           actor=actor) for r in rows)

        self.tasks.run(work, self._removed, lambda e: self._failed(e, "Removing the exclusion"),
                       owner=self, label="remove exclusions")

    def _removed(self, count: Any) -> None:
        self.message.show_message(f"Removed {count} exclusion(s): those licenses are billed and reported again.",
                                  "ok")
        self.refresh()
