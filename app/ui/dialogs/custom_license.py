"""Add a custom license to a tenant, or change one: a name and a count rule (docs/billing.md, "Custom licenses").

Opened from the company view ("Custom license: Add…", "Change…", which
opens with the row's name and rule). The rule's own fields
show for the rule chosen: a UPN domain, a group chosen by name from the
tenant's groups (read from Microsoft Graph on a worker when the rule is
chosen), a fixed number, or the rows a sum adds and subtracts. "Add" counts
the new row in a read of the tenant on a worker (``CustomLicenseService.add``);
a refusal is shown in the dialog, which keeps what was typed. Once added, the
row is in the license table with its count, and is mapped like any license.
"Save" counts a changed one the same way (``CustomLicenseService.change``):
it keeps its row and mapping, which bills the new count from the next sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.billing.custom import CountRule
from app.services.customers.custom import CustomAdded, CustomEdit, CustomLicenseService
from app.ui.errors import explain
from app.ui.views.tables import current_user
from app.ui.widgets.message_bar import MessageBar
from app.ui.widgets.plain import PlainLabel, clip

#: Each rule as the list offers it, and what it counts.
RULES: dict[CountRule, tuple[str, str]] = {
    CountRule.SHARED_MAILBOXES: ("Shared mailboxes", "The tenant's shared mailboxes, from Microsoft 365's mailbox "
                                 "usage report."),
    CountRule.USER_MAILBOXES: ("User mailboxes", "The tenant's user mailboxes, from Microsoft 365's mailbox usage "
                               "report."),
    CountRule.GROUP_MEMBERS: ("Members of a group", "The enabled users in a group, nested groups' users "
                              "included."),
    CountRule.ENABLED_MEMBERS: ("All enabled member users", "Every enabled account that is not a guest, "
                                "licensed or not."),
    CountRule.LICENSED_USERS: ("Licensed users", "Enabled users holding at least one Microsoft license."),
    CountRule.UPN_DOMAIN: ("Licensed users of a UPN domain", "Enabled, licensed users whose sign-in name ends "
                           "with the domain."),
    CountRule.SUM: ("Sum of other licenses", "The assigned seats of the licenses chosen to add, minus those chosen "
                    "to subtract (never below 0)."),
    CountRule.FIXED: ("A fixed number", "The same number of seats every period, until you change it."),
}
LOADING_GROUPS = "Reading the tenant's groups…"


class CustomLicenseDialog(QDialog):
    added = Signal(object)  # CustomAdded
    groups_loaded = Signal()

    def __init__(self, service: CustomLicenseService, tasks: Any, tenants: Sequence[tuple[str, str]],
                 licenses: dict[str, list[tuple[str, str]]], parent: QWidget | None = None, *,
                 editing: CustomEdit | None = None) -> None:
        """``tenants``: (id, name) of the company's tenants; ``licenses``: each tenant's rows, (SKU id, name),
        that a sum may count; ``editing``: the custom license to change (None: add one)."""
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.editing = editing
        self.licenses = licenses
        if editing is not None:  # a sum never counts itself
            own = editing.custom.sku_id
            self.licenses = {t: [row for row in rows if row[0] != own] for t, rows in licenses.items()}
        self._groups_of = ""  # the tenant whose groups the group list holds
        self.setWindowTitle("Add custom license" if editing is None else "Change custom license")
        self.setMinimumWidth(560)
        self.messages = MessageBar(self)
        self.tenant = QComboBox(self)
        for tenant_id, name in tenants:
            self.tenant.addItem(name, tenant_id)
        self.tenant.currentIndexChanged.connect(self._tenant_changed)
        self.name = QLineEdit(self)
        self.name.setPlaceholderText("e.g. Shared mailboxes")
        self.name.setMaxLength(200)
        self.rule = QComboBox(self)
        for rule, (label, _) in RULES.items():
            self.rule.addItem(label, rule.value)
        self.rule.currentIndexChanged.connect(self._rule_changed)
        self.explanation = PlainLabel(parent=self)
        self.explanation.setWordWrap(True)
        self.domain = QLineEdit(self)
        self.domain.setPlaceholderText("e.g. contoso.com")
        self.group = QComboBox(self)
        self.fixed = QSpinBox(self)
        self.fixed.setRange(0, 1_000_000)
        self.adding = _checklist(self)
        self.subtracting = _checklist(self)

        self.form = QFormLayout()
        self.form.addRow("Tenant", self.tenant)
        self.form.addRow("Name", self.name)
        self.form.addRow("Counts", self.rule)
        self.form.addRow("", self.explanation)
        self.form.addRow("UPN domain", self.domain)
        self.form.addRow("Group", self.group)
        self.form.addRow("Seats", self.fixed)
        self.form.addRow("Add", self.adding)
        self.form.addRow("Subtract", self.subtracting)
        self.form.setRowVisible(self.tenant, len(tenants) > 1)

        self.buttons = QDialogButtonBox(self)
        self.add_button = QPushButton("Add" if editing is None else "Save", self)
        self.add_button.setDefault(True)
        self.buttons.addButton(self.add_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.add_button.clicked.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        intro = PlainLabel("A row of its own in the license table, counted at every sync, mapped and billed like "
                           "any license. Microsoft's license rows keep their own mappings.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self.messages)
        layout.addLayout(self.form)
        layout.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.buttons)
        layout.addLayout(row)
        self._tenant_changed()
        if editing is not None:
            self._fill(editing)

    def _fill(self, editing: CustomEdit) -> None:
        """The form as the custom license is: its tenant (fixed), name, rule and the rule's fields."""
        custom = editing.custom
        self.tenant.setCurrentIndex(self.tenant.findData(custom.tenant_id))
        self.tenant.setEnabled(False)
        self.name.setText(custom.name)
        self.name.setModified(True)  # choosing another rule keeps the name
        self.rule.setCurrentIndex(self.rule.findData(custom.rule.value))
        if custom.rule is CountRule.UPN_DOMAIN:
            self.domain.setText(custom.param)
        elif custom.rule is CountRule.FIXED:
            self.fixed.setValue(int(custom.param))
        terms = dict((sku, sign) for sign, sku in custom.terms)
        for sign, listing in ((1, self.adding), (-1, self.subtracting)):
            for item in (listing.item(n) for n in range(listing.count())):
                if terms.get(str(item.data(Qt.ItemDataRole.UserRole))) == sign:
                    item.setCheckState(Qt.CheckState.Checked)

    # -- the form ------------------------------------------------------------------------

    def chosen_rule(self) -> CountRule:
        return CountRule(self.rule.currentData())

    def chosen_tenant(self) -> str:
        return str(self.tenant.currentData() or "")

    def _tenant_changed(self) -> None:
        rows = self.licenses.get(self.chosen_tenant(), [])
        for listing in (self.adding, self.subtracting):
            listing.clear()
            for sku_id, name in rows:
                item = QListWidgetItem(name, listing)
                item.setData(Qt.ItemDataRole.UserRole, sku_id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Unchecked)
        self._groups_of = ""
        self._rule_changed()

    def _rule_changed(self) -> None:
        rule = self.chosen_rule()
        self.explanation.setText(RULES[rule][1])
        self.form.setRowVisible(self.domain, rule is CountRule.UPN_DOMAIN)
        self.form.setRowVisible(self.group, rule is CountRule.GROUP_MEMBERS)
        self.form.setRowVisible(self.fixed, rule is CountRule.FIXED)
        self.form.setRowVisible(self.adding, rule is CountRule.SUM)
        self.form.setRowVisible(self.subtracting, rule is CountRule.SUM)
        if not self.name.isModified():
            self.name.setText(RULES[rule][0] if rule is not CountRule.GROUP_MEMBERS else "")
        if rule is CountRule.GROUP_MEMBERS and self._groups_of != self.chosen_tenant():
            self.load_groups()

    def load_groups(self) -> None:
        tenant = self._groups_of = self.chosen_tenant()
        self.group.clear()
        self.group.addItem(LOADING_GROUPS, "")
        self.group.setEnabled(False)

        def failed(error: BaseException) -> None:
            self._groups_of = ""
            self.group.clear()
            self.messages.show_message(explain(error, doing="Could not read the tenant's groups"),
                                       action="Retry", on_action=self.load_groups)

        self.tasks.run(lambda: self.service.groups(tenant), self._show_groups, failed, owner=self,
                       latest="groups", label="tenant groups")

    def _show_groups(self, groups: list[tuple[str, str]]) -> None:
        self.group.clear()
        names = [name for _, name in groups]
        for group_id, name in groups:
            # Two groups may share a name: the id tells them apart.
            self.group.addItem(name if names.count(name) == 1 else f"{name} ({group_id})", group_id)
        if not groups:
            self.group.addItem("The tenant has no groups", "")
        if self.editing is not None and self.editing.custom.rule is CountRule.GROUP_MEMBERS:
            counted, name = self.editing.custom.param, self.editing.group_name
            if self.group.findData(counted) < 0:  # gone from the tenant: shown, so the person sees it and chooses
                self.group.addItem(f"{name or counted} (no longer in the tenant)", counted)
            self.group.setCurrentIndex(self.group.findData(counted))
        self.group.setEnabled(bool(groups))
        self.groups_loaded.emit()

    def _terms(self) -> list[tuple[int, str]]:
        return [(sign, str(item.data(Qt.ItemDataRole.UserRole)))
                for sign, listing in ((1, self.adding), (-1, self.subtracting))
                for item in (listing.item(n) for n in range(listing.count()))
                if item.checkState() == Qt.CheckState.Checked]

    def problem(self) -> str:
        """What the form lacks before anything is read ("" when it can be added)."""
        rule = self.chosen_rule()
        if not self.name.text().strip():
            return "Name the custom license: the license table and the invoice line show it."
        if rule is CountRule.UPN_DOMAIN and not self.domain.text().strip().lstrip("@"):
            return "Type the UPN domain whose users it counts, e.g. contoso.com."
        if rule is CountRule.GROUP_MEMBERS and not self.group.currentData():
            return "Choose the group whose members it counts."
        if rule is CountRule.SUM:
            terms = self._terms()
            if not any(sign > 0 for sign, _ in terms):
                return "Choose at least one license to add."
            if len({sku for _, sku in terms}) < len(terms):
                return "A license is either added or subtracted, not both."
        return ""

    def submit(self) -> None:
        if problem := self.problem():
            self.messages.show_message(problem, kind="warning")
            return
        rule = self.chosen_rule()
        param = {CountRule.UPN_DOMAIN: self.domain.text(), CountRule.FIXED: str(self.fixed.value()),
                 CountRule.GROUP_MEMBERS: str(self.group.currentData() or "")}.get(rule, "")
        name, terms, actor = self.name.text(), self._terms(), current_user()
        group_name = self.group.currentText() if rule is CountRule.GROUP_MEMBERS else ""
        tenant = self.chosen_tenant()
        self.add_button.setEnabled(False)
        self.messages.show_message(f"Counting {clip(self.name.text().strip())}…", kind="info")

        editing = self.editing

        def failed(error: BaseException) -> None:
            self.add_button.setEnabled(True)
            self.messages.show_message(explain(error, doing="Could not add the custom license" if editing is None
                                               else "Could not change the custom license"))

        def save() -> CustomAdded:
            if editing is None:
                return self.service.add(tenant, name=name, rule=rule, param=param, terms=terms,
                                        group_name=group_name, actor=actor)
            return self.service.change(editing.custom.id, name=name, rule=rule, param=param, terms=terms,
                                       group_name=group_name, expected_version=editing.version, actor=actor)

        self.tasks.run(save, self._added, failed, owner=self, label="save custom license")

    def _added(self, added: CustomAdded) -> None:
        self.add_button.setEnabled(True)
        self.added.emit(added)
        self.accept()


def _checklist(parent: QWidget) -> QListWidget:
    listing = QListWidget(parent)
    listing.setMaximumHeight(110)
    return listing
