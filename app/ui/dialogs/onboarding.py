"""Add companies in bulk: Partner Center customers not yet added, matched to PSA companies for review.

Every customer not yet in seatsync is one row. Links the matcher is sure of
(one active company by domain or name) are ticked; proposals (ambiguous,
conflicting, inactive or merely similar) show their reason and wait until a
person picks one of the candidates (or any company); customers without a
candidate are marked. Nothing is linked silently: only ticked rows with a
company are added, all in one transaction, when the person confirms.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.container import Services
from app.services.customers.bulk_add import BulkProposal, Choice, CustomerSource
from app.services.microsoft.wire import Customer
from app.services.psa.port import PsaCompany
from app.ui.tasks import Tasks
from app.ui.views.row_model import GOOD, PROBLEM, WARNING, Column, RowTableModel
from app.ui.views.tables import StatusLine, searchable, selected_rows, table_view
from app.ui.widgets.plain import ElidedLabel, PlainLabel, clip

LINKED, PROPOSAL, UNMATCHED = "linked", "proposal", "unmatched"
MATCH_TEXT = {LINKED: "Matched", PROPOSAL: "Check", UNMATCHED: "No match"}


@dataclass(frozen=True, kw_only=True)
class OnboardRow:
    customer: Customer
    match: str  # LINKED | PROPOSAL | UNMATCHED
    candidates: tuple[PsaCompany, ...] = ()
    reason: str = ""
    company: PsaCompany | None = None  # the company it will bill to


COL_ADD, COL_TENANT, COL_DOMAINS, COL_MATCH, COL_COMPANY, COL_REASON, COL_PARTNER = range(7)
COLUMNS: tuple[Column[OnboardRow], ...] = (
    Column("Add", lambda r: ""),
    Column("Tenant", lambda r: r.customer.name),
    Column("Domains", lambda r: ", ".join(r.customer.all_domains)),
    Column("Match", lambda r: MATCH_TEXT[r.match], lambda r: (r.match != LINKED, r.match)),
    Column("PSA company", lambda r: r.company.name if r.company else
           ("choose: " + "; ".join(c.name for c in r.candidates) if r.candidates else "—")),
    Column("Why", lambda r: r.reason, tooltip=lambda r: r.reason),
    Column("Partner connection", lambda r: r.customer.partner),
)


def rows_of(proposal: BulkProposal) -> list[OnboardRow]:
    result = proposal.result
    rows = [OnboardRow(customer=link.customer, match=LINKED, company=link.company,
                       reason=f"same {link.basis}: {link.evidence}") for link in result.links]
    rows += [OnboardRow(customer=p.customer, match=PROPOSAL, candidates=p.candidates, reason=p.reason)
             for p in result.proposals]
    rows += [OnboardRow(customer=c, match=UNMATCHED, reason="no PSA company has its domain or name")
             for c in result.unmatched]
    return rows


def _background(row: OnboardRow) -> Any:
    if row.match == LINKED:
        return GOOD
    return WARNING if row.match == PROPOSAL else PROBLEM


class AddCompaniesDialog(QDialog):
    def __init__(self, context: Services, tasks: Tasks, parent: QWidget | None = None, *,
                 customers: CustomerSource | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.service = context.bulk_add(customers)
        self.companies: tuple[PsaCompany, ...] = ()
        self.added = 0
        self.setWindowTitle("Add companies from Partner Center")
        self.resize(1000, 600)
        layout = QVBoxLayout(self)
        self.summary = PlainLabel("Reading Partner Center customers…")
        layout.addWidget(self.summary)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter tenants, domains, companies…")
        layout.addWidget(self.search)
        self.model: RowTableModel[OnboardRow] = RowTableModel(
            COLUMNS, checkable=True, key=lambda r: r.customer.tenant_id, background=_background)
        self.table, self.proxy = table_view(self.model, self, multi=True)
        layout.addWidget(self.table, 1)
        pick = QHBoxLayout()
        self.pick_label = ElidedLabel("PSA company for the selected tenant:")
        self.company = searchable(QComboBox())
        self.company.setMinimumContentsLength(30)
        self.company.setEnabled(False)
        pick.addWidget(self.pick_label)
        pick.addWidget(self.company, 1)
        layout.addLayout(pick)
        self.message = StatusLine()
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add 0 companies")
        self.add_button.setDefault(True)
        self.add_button.setEnabled(False)
        self.cancel_button = QPushButton("Cancel")
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.company.activated.connect(self._company_chosen)
        self.model.dataChanged.connect(lambda *_: self._update_count())
        self.model.modelReset.connect(self._update_count)
        self.add_button.clicked.connect(self.confirm)
        self.cancel_button.clicked.connect(self.reject)
        tasks.run(self.service.propose, self._proposed, self._failed, owner=self, label="match customers")

    @classmethod
    def ask(cls, parent: QWidget | None, context: Services, tasks: Tasks, *,
            customers: CustomerSource | None = None) -> int | None:
        """Run the dialog; how many companies were added, or None when cancelled."""
        dialog = cls(context, tasks, parent, customers=customers)
        return dialog.added if dialog.exec() == QDialog.DialogCode.Accepted else None

    # -- loading -------------------------------------------------------------

    def _proposed(self, proposal: BulkProposal) -> None:
        self.companies = proposal.companies
        rows = rows_of(proposal)
        self.model.set_rows(rows, checked=[r.customer.tenant_id for r in rows if r.match == LINKED])
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(COL_DOMAINS, min(self.table.columnWidth(COL_DOMAINS), 260))
        self.table.setColumnHidden(COL_PARTNER, len({r.customer.partner for r in rows}) < 2)
        if proposal.unread:  # the other partners' customers are listed; these could not be read
            self.message.show_message("Not listed: " + "; ".join(map(str, proposal.unread)), "error")
        r = proposal.result
        if not rows:
            self.summary.setText("Every Partner Center customer is already added.")
        else:
            self.summary.setText(f"{len(rows)} customer(s) not yet added: {len(r.links)} matched, "
                                 f"{len(r.proposals)} to check, {len(r.unmatched)} without a match. "
                                 "Select a row to choose its PSA company.")

    def _failed(self, error: BaseException) -> None:
        self.summary.setText("Could not list the customers.")
        self.message.show_error(error, "Listing Partner Center customers")

    # -- choosing ------------------------------------------------------------

    def _selection_changed(self, *_: Any) -> None:
        rows = selected_rows(self.table)
        self.company.clear()
        self.company.setEnabled(len(rows) == 1)
        if len(rows) != 1:
            self.pick_label.setText("PSA company for the selected tenant:")
            return
        row = rows[0]
        self.pick_label.setText(f"PSA company for {clip(row.customer.name)}:")
        first = [c for c in row.candidates] + ([row.company] if row.company and row.company not in row.candidates
                                                 else [])
        for company in first:
            self.company.addItem(f"{company.name} — proposed" if company in row.candidates else company.name,
                                 company.id)
        if first:
            self.company.insertSeparator(self.company.count())
        for company in sorted(self.companies, key=lambda c: c.name.lower()):
            if company.active and company not in first:
                self.company.addItem(company.name, company.id)
        self.company.setCurrentIndex(self.company.findData(row.company.id) if row.company else -1)

    def _company_chosen(self, index: int) -> None:
        rows = selected_rows(self.table)
        company_id = self.company.itemData(index)
        company = next((c for c in self.companies if c.id == company_id), None)
        if len(rows) != 1 or company is None:
            return
        self.choose(rows[0], company)

    def choose(self, row: OnboardRow, company: PsaCompany) -> None:
        """Bill ``row``'s tenant to ``company`` and tick it."""
        chosen = replace(row, company=company)
        self.model.replace_row(chosen)
        self.model.set_checked(chosen, True)

    def _update_count(self) -> None:
        ready = self.ready()
        self.add_button.setText(f"Add {len(ready)} compan{'y' if len(ready) == 1 else 'ies'}")
        self.add_button.setEnabled(bool(ready))

    def ready(self) -> list[OnboardRow]:
        return [r for r in self.model.checked_rows() if r.company is not None]

    # -- saving ----------------------------------------------------------------

    def confirm(self) -> None:
        choices = [Choice(customer=r.customer, company_ids=(int(r.company.id),)) for r in self.ready()
                   if r.company is not None]
        waiting = [r.customer.name for r in self.model.checked_rows() if r.company is None]
        if waiting:
            self.message.show_message(f"Choose a PSA company for {', '.join(waiting)} first, or untick them.",
                                      "error")
            return
        self.add_button.setEnabled(False)
        self.message.show_message(f"Adding {len(choices)} companies…")
        self.tasks.run(lambda: self.service.add(choices), self._added, self._add_failed,
                       owner=self, label="add companies")

    def _added(self, count: int) -> None:
        self.added = count
        self.accept()

    def _add_failed(self, error: BaseException) -> None:
        self._update_count()
        self.message.show_error(error, "Adding the companies")
