"""After a global exclusion: the PSA lines seatsync still bills for that SKU, offered for cancelling."""

from __future__ import annotations

from datetime import date

from PySide6.QtWidgets import QDialog, QFormLayout, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from app.billing.proration import line_amount
from app.services.customers.exclusions import ActiveLine, CancelOutcome, ExclusionService
from app.ui.formatting import Refused, day, money
from app.ui.tasks import Tasks
from app.ui.views.row_model import Column, RowTableModel
from app.ui.views.tables import StatusLine, current_user, table_view
from app.ui.widgets.fields import DateField
from app.ui.widgets.plain import PlainLabel, clip

COL_PICK, COL_COMPANY, COL_AGREEMENT, COL_TENANT, COL_QUANTITY, COL_AMOUNT, COL_LINE = range(7)
COLUMNS: tuple[Column[ActiveLine], ...] = (
    Column("Cancel", lambda a: ""),
    Column("Company", lambda a: a.company_name),
    Column("Agreement", lambda a: a.agreement_name),
    Column("Tenant", lambda a: a.tenant_name),
    Column("Seats", lambda a: str(a.line.quantity), lambda a: a.line.quantity, numeric=True),
    Column("Per period", lambda a: money(line_amount(a.line.quantity, a.line.unit_price), None),
           lambda a: line_amount(a.line.quantity, a.line.unit_price), numeric=True),
    Column("PSA line", lambda a: a.line.id),
)


def first_of_next_month(today: date) -> date:
    return date(today.year + (today.month == 12), today.month % 12 + 1, 1)


class CancelLinesDialog(QDialog):
    def __init__(self, service: ExclusionService, tasks: Tasks, name: str, lines: list[ActiveLine], today: date,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.name = name
        self.outcome: CancelOutcome | None = None
        self.setWindowTitle("Cancel lines still billed")
        self.resize(780, 420)
        layout = QVBoxLayout(self)
        intro = PlainLabel(f"{clip(name)} is now excluded everywhere, but seatsync's lines for it are still active "
                           f"in the PSA ({len(lines)}). Tick the ones to cancel.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.model: RowTableModel[ActiveLine] = RowTableModel(
            COLUMNS, checkable=True, key=lambda a: (a.connection_id, a.agreement_id, a.line.id))
        self.table, _ = table_view(self.model, self, multi=True)
        self.model.set_rows(lines, checked=[self.model.key(a) for a in lines])
        self.table.resizeColumnsToContents()
        layout.addWidget(self.table, 1)
        form = QFormLayout()
        self.effective = DateField()
        self.effective.set_day(first_of_next_month(today))
        form.addRow("Stop billing from", self.effective.holder())
        layout.addLayout(form)
        self.message = StatusLine()
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        self.cancel_lines_button = QPushButton("Cancel ticked lines in the PSA")
        self.keep_button = QPushButton("Keep them")
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_lines_button)
        buttons.addWidget(self.keep_button)
        layout.addLayout(buttons)
        self.cancel_lines_button.clicked.connect(self.cancel_lines)
        self.keep_button.clicked.connect(self.reject)

    @classmethod
    def ask(cls, parent: QWidget | None, service: ExclusionService, tasks: Tasks, name: str,
            lines: list[ActiveLine], today: date) -> CancelOutcome | None:
        """Run the dialog; what was cancelled, or None when the lines are kept."""
        dialog = cls(service, tasks, name, lines, today, parent)
        return dialog.outcome if dialog.exec() == QDialog.DialogCode.Accepted else None

    def cancel_lines(self) -> None:
        lines = self.model.checked_rows()
        if not lines:
            self.message.show_message("Tick the lines to cancel, or keep them.", "error")
            return
        try:
            effective = self.effective.value()
        except Refused as refused:
            self.message.show_message(f"Nothing cancelled: {refused}", "error")
            return
        reason = f"global exclusion of {self.name}"
        self.cancel_lines_button.setEnabled(False)
        self.message.show_message(f"Cancelling {len(lines)} line(s) from {day(effective)}…")
        self.tasks.run(lambda: self.service.cancel_lines(lines, effective, actor=current_user(), reason=reason),
                       self._done, self._failed, owner=self, label="cancel lines")

    def _done(self, outcome: CancelOutcome) -> None:
        self.outcome = outcome
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.cancel_lines_button.setEnabled(True)
        self.message.show_error(error, "Cancelling the lines")
