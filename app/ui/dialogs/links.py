"""The tenants a company bills, and for which of their users (DESIGN §1.4).

Opened from the company view ("Tenants…"). The table lists every link of
the company's tenants, to this company and to others, so a split is seen
whole: "Contoso: office Leeds → Contoso Dental, office York → Contoso Labs".
Below it, one form links a tenant to a company for all its users or those
whose office, department, city, state or UPN domain is a value; selecting a
row fills the form, so "Change filter" edits that link. No tenant is chosen
until the person chooses one (a tenant another company already bills says
so in the list), and "Add link" asks first, naming the tenant, the company
and any company the tenant already bills to. Every change runs on a worker
through ``LinkService``; a refusal (a user who would bill twice, a filter
without a value) is shown in the dialog and changes nothing.
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
from app.models.records import CompanyLink
from app.services.customers.companies import links_by_tenant
from app.services.customers.links import (
    FIELD_LABELS,
    CompanyLinks,
    LinkRow,
    LinkService,
    describe,
)
from app.ui.errors import explain
from app.ui.views.row_model import Column, RowTableModel
from app.ui.views.tables import current_user, searchable, selected_rows, table_view
from app.ui.widgets.message_bar import MessageBar
from app.ui.widgets.plain import PlainLabel, clip, confirm

COL_TENANT, COL_COMPANY, COL_USERS, COL_MAPPINGS = range(4)
COLUMNS: tuple[Column[LinkRow], ...] = (
    Column("Tenant", lambda r: r.tenant_name),
    Column("PSA company", lambda r: r.link.company_name),
    Column("Users billed", lambda r: r.users),
    Column("Mappings", lambda r: str(r.mappings), lambda r: r.mappings, numeric=True),
)
ALL_USERS = ""
CHOOSE_TENANT = "Choose a tenant…"


class LinksDialog(QDialog):
    changed = Signal()  # a link changed: the company's license table is stale
    loaded = Signal()

    def __init__(self, service: LinkService, tasks: Any, company_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.company_id = company_id
        self.view: CompanyLinks | None = None
        #: Every tenant's links, to this company and to others (tenant id -> links).
        self.billed: dict[str, tuple[CompanyLink, ...]] = {}
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
        if (tenant_edit := self.tenant.lineEdit()) is not None:  # a searchable combo is editable
            tenant_edit.setPlaceholderText(CHOOSE_TENANT)
        self.tenant.setToolTip("The tenant whose users this company bills; a tenant already billed elsewhere "
                               "says to which company")
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
        for signal in (self.tenant.currentIndexChanged, self.tenant.editTextChanged,
                       self.company.currentIndexChanged, self.company.editTextChanged):
            signal.connect(self._enable_add)
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
        self._enable_add()
        self.load()

    @classmethod
    def open_for(cls, parent: QWidget | None, service: LinkService, tasks: Any, company_id: int) -> LinksDialog:
        """Show the dialog (not modal: the window stays usable) and return it."""
        dialog = cls(service, tasks, company_id, parent)
        dialog.show()
        return dialog

    # -- loading ---------------------------------------------------------------------------

    def load(self) -> None:
        company_id, tenants = self.company_id, self.service.uow.tenants
        self.tasks.run(lambda: (self.service.links(company_id), links_by_tenant(tenants)), self._show,
                       lambda error: self.messages.show_message(explain(error, doing="Could not read the links"),
                                                                kind="error", action="Retry", on_action=self.load),
                       owner=self, label="company links")

    def _show(self, loaded: tuple[CompanyLinks, dict[str, tuple[CompanyLink, ...]]]) -> None:
        view, self.billed = loaded
        self.view = view
        self.intro.setText(f"The tenants {clip(view.company.name)} bills, and for which of their users. Companies "
                           "share a tenant either by license (no filter: each license bills to the company it is "
                           "mapped on) or by users (every link filters on one field), so no seat bills twice.")
        self.model.set_rows(view.rows)
        self.table.resizeColumnsToContents()
        tenants = sorted(view.tenants, key=lambda t: (t.name.casefold(), t.tenant_id))
        _fill(self.tenant, [(self._tenant_text(t.tenant_id, t.name), t.tenant_id) for t in tenants],
              self.chosen_tenant(), placeholder=True)
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

    def _tenant_text(self, tenant_id: str, name: str) -> str:
        """A tenant as the list offers it: with the companies it already bills to."""
        elsewhere = self.billed_elsewhere(tenant_id, self.company_id)
        here = any(link.company_id == self.company_id for link in self.billed.get(tenant_id, ()))
        if elsewhere:
            return f"{name} — billed to {', '.join(elsewhere)}"
        return f"{name} — billed here" if here else name

    def billed_elsewhere(self, tenant_id: str, company_id: int | None) -> list[str]:
        """The companies other than ``company_id`` the tenant bills to (with their users when filtered)."""
        return sorted({link.company_name if link.user_filter is None
                       else f"{link.company_name} ({describe(link.user_filter)})"
                       for link in self.billed.get(tenant_id, ()) if link.company_id != company_id}, key=str.lower)

    def chosen_tenant(self) -> str | None:
        """The tenant chosen in the list (None while the person has not chosen one, or typed something else)."""
        return _chosen(self.tenant)

    def _enable_add(self, *_: Any) -> None:
        self.add_button.setEnabled(self.chosen_tenant() is not None and _chosen(self.company) is not None)

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
        self.tasks.run(fn, succeeded,
                       lambda error: self.messages.show_message(explain(error, doing=doing), kind="error"),
                       owner=self, label=doing)

    def add_link(self) -> None:
        tenant, company, user_filter = self.chosen_tenant(), _chosen(self.company), self.user_filter()
        if tenant is None or company is None:
            self.messages.show_message("Choose a tenant and the company it bills to.", kind="error")
            return
        name = next((t.name for t in self.view.tenants if t.tenant_id == tenant), tenant) if self.view else tenant
        company_name = self.company.currentText()
        question = f"Bill {describe(user_filter)} of {clip(name)} to {clip(company_name)}?"
        elsewhere = self.billed_elsewhere(tenant, company)
        if elsewhere:
            question += (f"\n\n{clip(name)} is already billed to {clip(', '.join(elsewhere))}. Licenses "
                         f"mapped here will be billed to {clip(company_name)}.")
        if not confirm(self, "Add link", question):
            return
        actor = current_user()
        self._run(lambda: self.service.link(tenant, company, user_filter, actor=actor), "Could not add the link",
                  f"{name} now bills {describe(user_filter)} to {company_name}.")

    def change_filter(self) -> None:
        row, user_filter = self.selected(), self.user_filter()
        if row is None:
            return
        link = row.link
        actor = current_user()
        self._run(lambda: self.service.link(link.tenant_id, link.company_id, user_filter, replacing=link,
                                            actor=actor),
                  "Could not change the filter",
                  f"{row.tenant_name} now bills {describe(user_filter)} to {link.company_name}; its mappings follow, "
                  "and the PSA lines change from the next period.")

    def unlink(self) -> None:
        row = self.selected()
        if row is None:
            return
        link = row.link
        actor = current_user()
        self._run(lambda: self.service.unlink(link, actor=actor), "Could not unlink",
                  f"{row.tenant_name} no longer bills {row.users} to {link.company_name}.")


def _fill(combo: QComboBox, items: list[tuple[str, Any]], current: Any, *, placeholder: bool = False) -> None:
    """Fill the combo, keeping ``current``; else the first item, or none (its placeholder) with ``placeholder``."""
    combo.blockSignals(True)
    combo.clear()
    for text, data in items:
        combo.addItem(text, data)
    index = combo.findData(current) if current is not None else -1
    combo.setCurrentIndex(index if index >= 0 or placeholder else 0)
    if index < 0 and placeholder:
        combo.setEditText("")
    combo.blockSignals(False)
    combo.currentIndexChanged.emit(combo.currentIndex())


def _chosen(combo: QComboBox) -> Any:
    """The data of the item chosen in a searchable combo; None when none is, or the text typed names none."""
    index = combo.currentIndex()
    if index < 0 or combo.currentText() != combo.itemText(index):
        return None
    return combo.itemData(index)
