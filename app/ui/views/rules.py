"""The Mapping rules view: rules that map a license across every linked company at once (docs/rules.md).

The rules listed, a form to add one, and "Preview" then "Apply": the preview
lists every row the rules map (with the agreement each company's rule
chose) and those they cannot, with why; "Apply" saves exactly the rows
previewed. Every read and write runs off the UI thread (the preview reads
the PSA's agreements).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.billing.types import Cycle, QuantityBasis, Term
from app.models.records import MappingRuleRecord
from app.services.customers.rules import RuleApplied, RuleOptions, RulePreview, RuleRow, describe_rule
from app.services.team.roles import Ability
from app.ui.views.row_model import PROBLEM, Column, RowTableModel
from app.ui.views.tables import ReloadingView, StatusLine, current_user, searchable, selected_rows, table_view
from app.ui.widgets.plain import PlainLabel

ANY = ""
PREVIEW_COLUMNS: tuple[Column[RuleRow], ...] = (
    Column("Company", lambda r: r.company),
    Column("Tenant", lambda r: r.tenant),
    Column("License", lambda r: r.license),
    Column("Result", lambda r: "Maps" if r.mapped else "Cannot map"),
    Column("Agreement, or why not", lambda r: (r.agreement.name or r.agreement.id) if r.agreement and r.mapped
           else r.reason),
)


def preview_table(parent: QWidget) -> tuple[RowTableModel[RuleRow], QTableView]:
    """The rows a preview maps and those it cannot (tinted), as the rules view and the bulk mapping show them."""
    model: RowTableModel[RuleRow] = RowTableModel(
        PREVIEW_COLUMNS, key=lambda r: (r.company_id, r.target.key), background=lambda r: None if r.mapped
        else PROBLEM)
    view, _ = table_view(model, parent)
    view.setObjectName("rulePreview")
    return model, view


def preview_sentence(preview: RulePreview) -> str:
    mapped, not_mapped = len(preview.mapped), len(preview.not_mapped)
    if not preview.rows:
        return "The rules map nothing: no unmapped license of a linked company matches them."
    text = f"{mapped} license(s) to map"
    if not_mapped:
        text += f"; {not_mapped} cannot be mapped and stay \"Missing billing profile\""
    return text + ("." if not mapped else ". Apply saves exactly these.")


def applied_sentence(applied: RuleApplied, by: str = "by rule") -> str:
    text = f"{len(applied.written)} license(s) mapped {by}; the next sync bills them."
    if applied.skipped:
        text += f" {len(applied.skipped)} were mapped by someone meanwhile and keep their mapping."
    return text


class RulesView(ReloadingView):
    """The mapping rules, a form to add one, and the preview of applying them. Shown again, it loads again:
    a billing profile made meanwhile is offered, and the license chosen in the form stays."""

    def __init__(self, context: Any, tasks: Any, parent: QWidget | None = None, *, sync: Any = None) -> None:
        super().__init__(parent)
        self.context = context
        self.tasks = tasks
        self.service = context.rules
        self.preview: RulePreview | None = None
        self.options = RuleOptions()
        layout = QVBoxLayout(self)
        self.message = StatusLine()
        layout.addWidget(self.message)
        self.model: RowTableModel[MappingRuleRecord] = RowTableModel((
            Column("Id", lambda r: str(r.id), sort=lambda r: r.id, numeric=True),
            Column("Rule", lambda r: describe_rule(r, self._sku_name(r.sku_id))),
            Column("Options", _options_text),
        ), key=lambda r: r.id)
        self.table, _ = table_view(self.model, self, multi=True)
        self.table.setObjectName("rules")
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.remove_button = QPushButton("Remove rule")
        self.preview_button = QPushButton("Preview")
        self.preview_button.setToolTip("What the rules would map in every linked company, and what they cannot")
        self.apply_button = QPushButton("Apply")
        self.apply_button.setEnabled(False)
        for button in (self.remove_button, self.preview_button, self.apply_button):
            buttons.addWidget(button)
        buttons.insertStretch(1, 1)
        layout.addLayout(buttons)
        layout.addWidget(self._build_form())
        self.preview_model, self.preview_view = preview_table(self)
        layout.addWidget(self.preview_view, 1)
        self.remove_button.clicked.connect(self.remove_selected)
        self.preview_button.clicked.connect(self.run_preview)
        self.apply_button.clicked.connect(self.apply)
        self.refusal = context.role().refusal(Ability.MAP)  # the database refuses these to a role that may not map
        for button in (self.add_button, self.remove_button, self.apply_button):
            button.setToolTip(self.refusal or button.toolTip())
        self.add_button.setEnabled(not self.refusal)
        self.remove_button.setEnabled(not self.refusal)
        if sync is not None:
            sync.finished.connect(self.refresh_when_seen)
        self.refresh()

    def _build_form(self) -> QGroupBox:
        box = QGroupBox("Add a rule")
        form = QFormLayout(box)
        self.sku = searchable(QComboBox())
        self.sku.setObjectName("ruleLicense")
        self.sku.setMinimumContentsLength(30)
        self.term = QComboBox()
        for label, value in (("Any term", ANY), ("Monthly term (P1M)", Term.MONTH.value),
                             ("Annual term (P1Y)", Term.YEAR.value), ("Three years (P3Y)", Term.THREE_YEARS.value)):
            self.term.addItem(label, value)
        self.cycle = QComboBox()
        for label, value in (("Any billing cycle", ANY), ("Billed monthly", Cycle.MONTHLY.value),
                             ("Billed annually", Cycle.ANNUAL.value)):
            self.cycle.addItem(label, value)
        terms = QHBoxLayout()
        terms.addWidget(self.term)
        terms.addWidget(self.cycle)
        self.profile = QComboBox()
        self.profile.setObjectName("ruleProfile")
        self.agreement_type = QComboBox()
        self.agreement_type.setObjectName("ruleAgreementType")
        self.agreement_type.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.agreement_name = QLineEdit()
        self.agreement_name.setPlaceholderText("or a name pattern, e.g. *Managed 365* (instead of a type)")
        where = QHBoxLayout()
        where.addWidget(self.agreement_type)
        where.addWidget(self.agreement_name, 1)
        self.minimum = QSpinBox()
        self.minimum.setRange(0, 100000)
        self.included = QSpinBox()
        self.included.setRange(0, 100000)
        self.unassigned = QCheckBox("Bill unassigned seats")
        options = QHBoxLayout()
        options.addWidget(PlainLabel("Minimum"))
        options.addWidget(self.minimum)
        options.addWidget(PlainLabel("Included"))
        options.addWidget(self.included)
        options.addWidget(self.unassigned)
        options.addStretch(1)
        self.add_button = QPushButton("Add rule")
        options.addWidget(self.add_button)
        form.addRow("License", self.sku)
        form.addRow("Only", terms)
        form.addRow("Billing profile", self.profile)
        form.addRow("Agreement", where)
        form.addRow("Options", options)
        self.add_button.clicked.connect(self.add)
        return box

    # -- loading --------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.tasks.run(lambda: (self.service.rules(), self.service.options()), self._loaded,
                       lambda e: self.message.show_error(e, "Reading the mapping rules"),
                       owner=self, latest="rules", label="load mapping rules")

    def _loaded(self, result: tuple[list[MappingRuleRecord], RuleOptions]) -> None:
        rules, self.options = result
        self.model.set_rows(rules)
        self.table.resizeColumnsToContents()
        chosen = self.sku.currentData() if self.sku.currentIndex() >= 0 else None
        _fill(self.sku, self.options.licenses)
        self.sku.setCurrentIndex(self.sku.findData(chosen) if chosen is not None else -1)
        _fill(self.profile, [(p.id, p.name) for p in self.options.profiles])
        _fill(self.agreement_type, [(ANY, "The one agreement the profile allows"),
                                    *((t, f"Type: {t}") for t in self.options.agreement_types)])

    def _sku_name(self, sku_id: str) -> str:
        return next((name for sku, name in self.options.licenses if sku == sku_id.lower()), "")

    # -- commands ---------------------------------------------------------------------------------

    def rule_from_form(self) -> MappingRuleRecord | None:
        index = self.sku.currentIndex()
        sku_id = self.sku.itemData(index) if index >= 0 else None
        if sku_id is None or self.sku.currentText() != self.sku.itemText(index):
            self.message.show_message("Choose the license the rule maps from the list.", "error")
            return None
        profile = next((p for p in self.options.profiles if p.id == self.profile.currentData()), None)
        if profile is None:
            self.message.show_message("Choose the billing profile (create one under Billing profiles).", "error")
            return None
        term, cycle = self.term.currentData(), self.cycle.currentData()
        pattern = self.agreement_name.text().strip()
        return MappingRuleRecord(
            sku_id=sku_id, profile=profile, term=Term(term) if term else None, cycle=Cycle(cycle) if cycle else None,
            agreement_type="" if pattern else self.agreement_type.currentData() or "", agreement_name=pattern,
            basis=QuantityBasis.PURCHASED if self.unassigned.isChecked() else QuantityBasis.ASSIGNED,
            included_quantity=self.included.value(), minimum_quantity=self.minimum.value())

    def add(self) -> None:
        rule = self.rule_from_form()
        if rule is None:
            return
        actor = current_user()
        self.add_button.setEnabled(False)
        self.tasks.run(lambda: self.service.add(rule, actor=actor), self._added, self._add_failed, owner=self,
                       label="add mapping rule")

    def _added(self, rule: MappingRuleRecord) -> None:
        self.add_button.setEnabled(True)
        self.message.show_message(f"Rule added: {describe_rule(rule, self._sku_name(rule.sku_id))}. "
                                  "Preview shows what it maps.", "ok")
        self._forget_preview()
        self.refresh()

    def _add_failed(self, error: BaseException) -> None:
        self.add_button.setEnabled(True)
        self.message.show_error(error, "Adding the rule")

    def remove_selected(self) -> None:
        rules = selected_rows(self.table)
        if not rules:
            self.message.show_message("Select the rule(s) to remove.", "error")
            return
        actor = current_user()

        def work() -> int:
            return sum(self.service.remove(rule.id, actor=actor) for rule in rules)

        self.tasks.run(work, self._removed, lambda e: self.message.show_error(e, "Removing the rule"), owner=self,
                       label="remove mapping rule")

    def _removed(self, count: int) -> None:
        self.message.show_message(f"{count} rule(s) removed; the mappings they made stay.", "ok")
        self._forget_preview()
        self.refresh()

    def run_preview(self) -> None:
        self.preview_button.setEnabled(False)
        self.apply_button.setEnabled(False)
        self.message.show_message("Reading the PSA's agreements of every linked company…")
        self.tasks.run(self.service.preview, self._previewed, self._preview_failed, owner=self, latest="preview",
                       label="preview mapping rules")

    def _previewed(self, preview: RulePreview) -> None:
        self.preview_button.setEnabled(True)
        self.preview = preview
        self.preview_model.set_rows(preview.rows)
        self.preview_view.resizeColumnsToContents()
        self.apply_button.setEnabled(bool(preview.mapped) and not self.refusal)
        self.message.show_message(preview_sentence(preview), "ok" if preview.mapped else "info")

    def _preview_failed(self, error: BaseException) -> None:
        self.preview_button.setEnabled(True)
        self.message.show_error(error, "Previewing the rules")

    def apply(self) -> None:
        preview = self.preview
        if preview is None or not preview.mapped:
            return
        actor = current_user()
        self.apply_button.setEnabled(False)
        self.tasks.run(lambda: self.service.apply(preview, actor=actor), self._applied,
                       lambda e: self.message.show_error(e, "Applying the rules"), owner=self,
                       label="apply mapping rules")

    def _applied(self, applied: RuleApplied) -> None:
        self.message.show_message(applied_sentence(applied), "ok")
        self._forget_preview()

    def _forget_preview(self) -> None:
        self.preview = None
        self.apply_button.setEnabled(False)


def _fill(combo: QComboBox, items: Any) -> None:
    current = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    for value, label in items:
        combo.addItem(label, value)
    combo.setCurrentIndex(max(combo.findData(current), 0) if current is not None else 0)
    combo.blockSignals(False)


def _options_text(rule: MappingRuleRecord) -> str:
    parts = []
    if rule.basis is QuantityBasis.PURCHASED:
        parts.append("bills unassigned seats")
    if rule.included_quantity:
        parts.append(f"{rule.included_quantity} included")
    if rule.minimum_quantity:
        parts.append(f"minimum {rule.minimum_quantity}")
    return ", ".join(parts) or "—"
