"""The tenants a company bills, and for which of their users (DESIGN §1.4).

Opened from the company view ("Tenants…"). The table lists every link of
the company's tenants, to this company and to others, so a split is seen
whole: "Contoso: office Leeds → Contoso Dental, office York → Contoso Labs".
Below it, one form links a tenant to a company for all its users or those
whose office, department, city, state or UPN domain is a value; selecting a
row fills the form, so "Change filter" edits that link. Every change runs
on a worker through ``LinkService``; a refusal (a user who would bill twice,
a filter without a value) is shown in the dialog and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.billing.types import FilterField, UserFilter
from app.services.links import (
    FIELD_LABELS,
    CompanyLinks,
    LinkRow,
    LinkService,
    describe,
)
from app.ui.errors import explain
from app.ui.views.tables import (
    Column,
    RowTableModel,
    run_for,
    searchable,
    selected_rows,
    table_view,
)
from app.ui.widgets.message_bar import MessageBar
from app.ui.widgets.plain import PlainLabel, clip

COL_TENANT, COL_COMPANY, COL_USERS, COL_MAPPINGS = range(4)
COLUMNS: tuple[Column[LinkRow], ...] = (
    Column("Tenant", lambda r: r.tenant_name),
    Column("PSA company", lambda r: r.link.company_name),
    Column("Users billed", lambda r: r.users),
    Column("Mappings", lambda r: str(r.mappings), lambda r: r.mappings, numeric=True),
)
ALL_USERS = ""


class LinksDialog(QDialog):
    changed = Signal()  # a link changed: the company's license table is stale
    loaded = Signal()

    def __init__(self, service: LinkService, tasks: Any, company_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.company_id = company_id
        self.view: CompanyLinks | None = None
        self.setWindowTitle("Tenants billed to this company")
        self.resize(760, 460)
        self.intro = PlainLabel(parent=self)
        self.intro.setWordWrap(True)
        self.model: RowTableModel[LinkRow] = RowTableModel(
            COLUMNS, key=lambda r: (r.link.tenant_id, r.link.company_id, r.users))
        self.table, _ = table_view(self.model, self)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.messages = MessageBar(self)

        self.tenant = searchable(QComboBox(self))
        self.company = searchable(QComboBox(self))
        self.field = QComboBox(self)
        self.field.addItem("All users", ALL_USERS)
        for field, label in FIELD_LABELS.items():
            self.field.addItem(f"Users whose {label} is", field.value)
        self.field.currentIndexChanged.connect(self._field_changed)
        self.value = QLineEdit(self)
        self.value.setPlaceholderText("e.g. Leeds")
        users = QHBoxLayout()
        users.addWidget(self.field)
        users.addWidget(self.value, 1)
        form = QFormLayout()
        form.addRow("Tenant", self.tenant)
        form.addRow("Bills to", self.company)
        form.addRow("Users", users)

        self.add_button = QPushButton("Add link", self)
        self.add_button.setToolTip("Bill the tenant's chosen users to the chosen company")
        self.change_button = QPushButton("Change filter", self)
        self.change_button.setToolTip("Give the selected link the users chosen above; its mappings follow")
        self.unlink_button = QPushButton("Unlink", self)
        self.unlink_button.setToolTip("Stop billing the selected link's users to its company (its mappings are "
                                      "removed; their lines stop at the end of the period)")
        self.add_button.clicked.connect(self.add_link)
        self.change_button.clicked.connect(self.change_filter)
        self.unlink_button.clicked.connect(self.unlink)
        actions = QHBoxLayout()
        for button in (self.add_button, self.change_button, self.unlink_button):
            actions.addWidget(button)
        actions.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.messages)
        layout.addLayout(form)
        layout.addLayout(actions)
        layout.addWidget(close)
        self._field_changed()
        self._selected()
        self.load()

    @classmethod
    def open_for(cls, parent: QWidget | None, service: LinkService, tasks: Any, company_id: int) -> LinksDialog:
        """Show the dialog (not modal: the window stays usable) and return it."""
        dialog = cls(service, tasks, company_id, parent)
        dialog.show()
        return dialog

    # -- loading ---------------------------------------------------------------------------

    def load(self) -> None:
        run_for(self, self.tasks, lambda: self.service.links(self.company_id), self._show,
                lambda error: self.messages.show_message(explain(error, doing="Could not read the links"),
                                                         kind="error", action="Retry", on_action=self.load),
                label="company links")

    def _show(self, view: CompanyLinks) -> None:
        self.view = view
        self.intro.setText(f"The tenants {clip(view.company.name)} bills, and for which of their users. Companies "
                           "share a tenant either by license (no filter: each license bills to the company it is "
                           "mapped on) or by users (every link filters on one field), so no seat bills twice.")
        self.model.set_rows(view.rows)
        self.table.resizeColumnsToContents()
        _fill(self.tenant, [(t.name, t.tenant_id) for t in view.tenants], self.tenant.currentData())
        companies = [(f"{c.name} ({c.connection})" if len({x.connection for x in view.companies}) > 1 else c.name,
                      c.id) for c in view.companies]
        _fill(self.company, companies, self.company.currentData() or self.company_id)
        self._selected()
        self.loaded.emit()

    # -- the form --------------------------------------------------------------------------

    def user_filter(self) -> UserFilter | None:
        field = self.field.currentData()
        return UserFilter(field=FilterField(field), value=self.value.text()) if field else None

    def _field_changed(self) -> None:
        self.value.setEnabled(bool(self.field.currentData()))

    def selected(self) -> LinkRow | None:
        rows = selected_rows(self.table)
        return rows[0] if rows else None

    def _selected(self, *_: Any) -> None:
        row = self.selected()
        self.change_button.setEnabled(row is not None)
        self.unlink_button.setEnabled(row is not None)
        if row is None:
            return
        self.tenant.setCurrentIndex(self.tenant.findData(row.link.tenant_id))
        self.company.setCurrentIndex(self.company.findData(row.link.company_id))
        user_filter = row.link.user_filter
        self.field.setCurrentIndex(self.field.findData(user_filter.field.value if user_filter else ALL_USERS))
        self.value.setText(user_filter.value if user_filter else "")

    # -- commands --------------------------------------------------------------------------

    def _run(self, fn: Callable[[], Any], doing: str, done: str) -> None:
        def succeeded(_: Any) -> None:
            self.messages.show_message(done, kind="ok")
            self.changed.emit()
            self.load()

        self.messages.hide()
        run_for(self, self.tasks, fn, succeeded,
                lambda error: self.messages.show_message(explain(error, doing=doing), kind="error"), label=doing)

    def add_link(self) -> None:
        tenant, company, user_filter = self.tenant.currentData(), self.company.currentData(), self.user_filter()
        if tenant is None or company is None:
            self.messages.show_message("Choose a tenant and the company it bills to.", kind="error")
            return
        self._run(lambda: self.service.link(tenant, company, user_filter), "Could not add the link",
                  f"{self.tenant.currentText()} now bills {describe(user_filter)} to {self.company.currentText()}.")

    def change_filter(self) -> None:
        row, user_filter = self.selected(), self.user_filter()
        if row is None:
            return
        link = row.link
        self._run(lambda: self.service.link(link.tenant_id, link.company_id, user_filter, replacing=link),
                  "Could not change the filter",
                  f"{row.tenant_name} now bills {describe(user_filter)} to {link.company_name}; its mappings follow, "
                  "and the PSA lines change from the next period.")

    def unlink(self) -> None:
        row = self.selected()
        if row is None:
            return
        link = row.link
        self._run(lambda: self.service.unlink(link), "Could not unlink",
                  f"{row.tenant_name} no longer bills {row.users} to {link.company_name}.")


def _fill(combo: QComboBox, items: list[tuple[str, Any]], current: Any) -> None:
    combo.blockSignals(True)
    combo.clear()
    for text, data in items:
        combo.addItem(text, data)
    index = combo.findData(current)
    combo.setCurrentIndex(index if index >= 0 else 0)
    combo.blockSignals(False)
