"""The Reports view: the reconciliation report (purchased vs assigned vs billed), per license, per company
and in total, the lines nothing maps to, and its export as CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QTabWidget, QVBoxLayout, QWidget

from app.bootstrap import Context
from app.services.reports import OrphanLine, Reconciliation, ReconRow, ReportService, Totals, write_csv
from app.ui.tasks import Tasks
from app.ui.views.tables import PROBLEM, WARNING, Column, Latest, MessageBar, RowTableModel, run_for, table_view
from app.ui.widgets.plain import PlainLabel


def _money(value: Any) -> str:
    return "" if value is None else format(value, "f")


def _count(name: str) -> Column[Any]:
    return Column(name.replace("_", " ").capitalize(), lambda r: str(getattr(r, name)), lambda r: getattr(r, name),
                  numeric=True)


COL_COMPANY, COL_TENANT, COL_LICENSE, COL_PURCHASED, COL_ASSIGNED, COL_SHOULD, COL_BILLED, COL_UNBILLED, \
    COL_UNIT_PRICE, COL_LEAKAGE, COL_STATUS = range(11)
ROW_COLUMNS: tuple[Column[ReconRow], ...] = (
    Column("Company", lambda r: r.company),
    Column("Tenant", lambda r: r.tenant),
    Column("License", lambda r: r.license),
    _count("purchased"), _count("assigned"),
    Column("Should bill", lambda r: str(r.should_bill), lambda r: r.should_bill, numeric=True),
    _count("billed"), _count("unbilled"),
    Column("Unit price", lambda r: _money(r.unit_price), lambda r: r.unit_price, numeric=True),
    Column("Unbilled a month", lambda r: _money(r.leakage), lambda r: r.leakage, numeric=True),
    Column("Status", lambda r: r.status),
)
TOTAL_COLUMNS: tuple[Column[Totals], ...] = (
    Column("Company", lambda t: t.company),
    _count("purchased"), _count("assigned"), _count("billed"), _count("unbilled"),
    Column("Unbilled a month", lambda t: _money(t.leakage), lambda t: t.leakage, numeric=True),
)
ORPHAN_COLUMNS: tuple[Column[OrphanLine], ...] = (
    Column("Company", lambda o: o.company),
    Column("Agreement", lambda o: o.agreement),
    Column("Product", lambda o: o.product),
    Column("Seats", lambda o: str(o.quantity), lambda o: o.quantity, numeric=True),
    Column("PSA line", lambda o: o.line_id),
    Column("Why", lambda o: o.reason),
)


def _row_colour(row: ReconRow) -> Any:
    if not row.mapped:
        return WARNING
    return PROBLEM if row.unbilled else None


class ReportsView(QWidget):
    def __init__(self, context: Context, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.service = ReportService(context)
        self.report: Reconciliation | None = None
        self.latest = Latest()
        layout = QVBoxLayout(self)
        self.message = MessageBar()
        layout.addWidget(self.message)
        top = QHBoxLayout()
        self.totals = PlainLabel("Reading…")
        self.totals.setWordWrap(True)
        self.read_psa_button = QPushButton("Read billed seats from the PSA")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        top.addWidget(self.totals, 1)
        top.addWidget(self.read_psa_button)
        top.addWidget(self.export_button)
        layout.addLayout(top)
        self.tabs = QTabWidget()
        self.rows: RowTableModel[ReconRow] = RowTableModel(
            ROW_COLUMNS, key=lambda r: (r.tenant_id, r.sku_id), background=_row_colour)
        self.rows_table, self.rows_proxy = table_view(self.rows, self, multi=True)
        self.companies: RowTableModel[Totals] = RowTableModel(TOTAL_COLUMNS, key=lambda t: t.company)
        self.companies_table, _ = table_view(self.companies, self)
        self.orphans: RowTableModel[OrphanLine] = RowTableModel(
            ORPHAN_COLUMNS, key=lambda o: (o.agreement_id, o.line_id))
        self.orphans_table, _ = table_view(self.orphans, self)
        self.tabs.addTab(self.rows_table, "Licenses")
        self.tabs.addTab(self.companies_table, "By company")
        self.tabs.addTab(self.orphans_table, "PSA lines nothing maps to")
        layout.addWidget(self.tabs, 1)
        self.read_psa_button.clicked.connect(lambda: self.load(read_psa=True))
        self.export_button.clicked.connect(self.export)
        self.refresh()

    def refresh(self) -> None:
        self.load(read_psa=False)

    def load(self, *, read_psa: bool) -> None:
        self.read_psa_button.setEnabled(False)
        if read_psa:
            self.message.show_message("Reading the billed seats from the PSA…")
        run_for(self, self.tasks, lambda: self.service.reconcile(read_psa=read_psa), self.latest.wrap(self._loaded),
                self._failed,
                label="reconciliation report")

    def _loaded(self, report: Reconciliation) -> None:
        self.report = report
        self.read_psa_button.setEnabled(True)
        self.export_button.setEnabled(True)
        self.rows.set_rows(report.rows)
        self.companies.set_rows([*report.by_company(), report.total()])
        self.orphans.set_rows(report.orphans)
        for table in (self.rows_table, self.companies_table, self.orphans_table):
            table.resizeColumnsToContents()
        total = report.total()
        source = "the PSA, read just now" if report.billed_from == "psa" else "what seatsync last wrote"
        self.totals.setText(
            f"All companies: {total.purchased} purchased, {total.assigned} assigned, {total.billed} billed; "
            f"{total.unbilled} seats unbilled, worth {_money(total.leakage)} a month. Billed seats from {source}.")
        if report.billed_from == "psa":
            self.tabs.setTabText(2, f"PSA lines nothing maps to ({len(report.orphans)})")
            if report.problems:
                self.message.show_message("Read the PSA, but not everything: " + "; ".join(report.problems), "error")
            else:
                self.message.show_message(f"Read the PSA: {len(report.orphans)} line(s) nothing maps to.", "ok")
        else:
            self.tabs.setTabText(2, "PSA lines nothing maps to (read the PSA)")

    def _failed(self, error: BaseException) -> None:
        self.read_psa_button.setEnabled(True)
        self.message.show_error(error, "The reconciliation report")

    def set_search(self, text: str) -> None:
        self.rows_proxy.setFilterFixedString(text)

    def export(self) -> None:
        if self.report is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the reconciliation report", "reconciliation.csv",
                                              "CSV files (*.csv)")
        if not path:
            return
        self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        report = self.report
        assert report is not None
        run_for(self, self.tasks, lambda: write_csv(report, path),
                lambda written: self.message.show_message(f"Exported {len(report.rows)} license(s) to {written}.",
                                                          "ok"),
                lambda e: self.message.show_error(e, "Exporting the report"), label="export CSV")
