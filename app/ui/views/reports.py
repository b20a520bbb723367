"""The Reports view: the reconciliation report (purchased vs assigned vs billed), per license, per company
and in total, the lines nothing maps to, and its export as CSV."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QPushButton, QTableView, QTabWidget, QVBoxLayout, QWidget

from app.services.container import Services
from app.services.review.reports import OrphanLine, Reconciliation, ReconRow, Totals, write_csv
from app.ui.formatting import money, money_or_dash, per_month
from app.ui.sync_gateway import SyncGateway
from app.ui.tasks import Tasks
from app.ui.views.row_model import PROBLEM, WARNING, Column, RowTableModel
from app.ui.views.tables import ReloadingView, StatusLine, table_view
from app.ui.widgets.plain import PlainLabel

T = TypeVar("T")


def _row_money(row: ReconRow, value: Decimal | None) -> str:
    return money_or_dash(value, row.currency if row.mapped else None)


def _count(name: str) -> Column[Any]:
    return Column(name.replace("_", " ").capitalize(), lambda r: str(getattr(r, name)), lambda r: getattr(r, name),
                  numeric=True)


def _total_count(name: str) -> Column[Totals]:
    return Column(name.capitalize(), lambda t: str(getattr(t, name)), lambda t: getattr(t, name), numeric=True)


COL_COMPANY, COL_TENANT, COL_LICENSE, COL_PURCHASED, COL_ASSIGNED, COL_IGNORED, COL_SHOULD, COL_BILLED, \
    COL_UNBILLED, COL_UNIT_PRICE, COL_LEAKAGE, COL_MARGIN, COL_STATUS = range(13)
ROW_COLUMNS: tuple[Column[ReconRow], ...] = (
    Column("Company", lambda r: r.company),
    Column("Tenant", lambda r: r.tenant),
    Column("License", lambda r: r.license),
    _count("purchased"), _count("assigned"),
    # The seats ignored accounts hold (docs/billing.md, "Ignored accounts"): blank when none, as most are.
    Column("Ignored", lambda r: str(r.ignored) if r.ignored else "", lambda r: r.ignored, numeric=True),
    Column("Should bill", lambda r: str(r.should_bill), lambda r: r.should_bill, numeric=True),
    _count("billed"), _count("unbilled"),
    Column("Unit price", lambda r: _row_money(r, r.unit_price), lambda r: r.unit_price, numeric=True),
    Column("Unbilled a month", lambda r: _row_money(r, r.leakage), lambda r: r.leakage, numeric=True),
    # Billed × (unit price − the product's cost in the PSA): "—" where no cost is kept.
    Column("Margin a month", lambda r: _row_money(r, r.margin), lambda r: r.margin, numeric=True),
    Column("Status", lambda r: r.status),
)
TOTAL_COLUMNS: tuple[Column[Totals], ...] = (
    Column("Company", lambda t: t.company),
    _total_count("purchased"), _total_count("assigned"), _total_count("billed"), _total_count("unbilled"),
    Column("Unbilled a month", lambda t: money(t.leakage, t.currency), lambda t: t.leakage, numeric=True),
    Column("Margin a month", lambda t: money(t.margin, t.currency), lambda t: t.margin, numeric=True),
)
ORPHAN_COLUMNS: tuple[Column[OrphanLine], ...] = (
    Column("Company", lambda o: o.company),
    Column("Agreement", lambda o: o.agreement),
    Column("Product", lambda o: o.product),
    Column("Seats", lambda o: str(o.quantity), lambda o: o.quantity, numeric=True),
    Column("PSA line", lambda o: o.line_id),
    Column("Why", lambda o: o.reason),
)


def _fill(table: QTableView, model: RowTableModel[T], rows: Sequence[T]) -> None:
    first = not model.loaded
    model.set_rows(rows)
    if first and rows:
        table.resizeColumnsToContents()  # once: later loads keep the widths a person chose


def _row_colour(row: ReconRow) -> Any:
    if not row.mapped:
        return WARNING
    return PROBLEM if row.unbilled else None


class ReportsView(ReloadingView):
    #: The report reads every tenant: it loads again after a change (a sync), not on every show.
    reload_on_show = False

    def __init__(self, context: Services, tasks: Tasks, parent: QWidget | None = None, *,
                 sync: SyncGateway | None = None) -> None:
        super().__init__(parent)
        if sync is not None:
            sync.finished.connect(self.refresh_when_seen)
        self.tasks = tasks
        self.service = context.reports
        self.report: Reconciliation | None = None
        self._behind: tuple[Reconciliation, int] | None = None  # a report, and its tab filled first (``_loaded``)
        self._behind_timer = QTimer(self)
        self._behind_timer.setSingleShot(True)
        self._behind_timer.setInterval(1)
        self._behind_timer.timeout.connect(self._fill_behind)
        layout = QVBoxLayout(self)
        self.message = StatusLine()
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
        self.tasks.run(lambda: self.service.reconcile(read_psa=read_psa), self._loaded, self._failed,
                       owner=self, latest="report", label="reconciliation report")

    def _loaded(self, report: Reconciliation) -> None:
        self.report = report
        self.read_psa_button.setEnabled(True)
        self.export_button.setEnabled(True)
        front = self.tabs.currentIndex()
        self._fill_tabs(report, only=front)
        # The tabs behind it in an event of their own, so the window shows the one in front first (with 50,000
        # licenses, "By company" lists 5,000 companies). A 1 ms timer lets the window's paint in before it.
        self._behind = (report, front)
        self._behind_timer.start()
        total = report.total
        source = "the PSA, read just now" if report.billed_from == "psa" else "what seatsync last wrote"
        earned = (f"The billed seats earn {per_month(total.margin, total.currency)} over their cost in the PSA. "
                  if total.margin_known else "")
        self.totals.setText(
            f"All companies: {total.purchased} purchased, {total.assigned} assigned, {total.billed} billed; "
            f"{total.unbilled} seats unbilled, worth {per_month(total.leakage, total.currency)}. {earned}"
            f"Billed seats from {source}.")
        if report.billed_from == "psa":
            self.tabs.setTabText(2, f"PSA lines nothing maps to ({len(report.orphans)})")
            if report.problems:
                self.message.show_message("Read the PSA, but not everything: " + "; ".join(report.problems), "error")
            else:
                self.message.show_message(f"Read the PSA: {len(report.orphans)} line(s) nothing maps to.", "ok")
        else:
            self.tabs.setTabText(2, "PSA lines nothing maps to (read the PSA)")

    def _fill_behind(self) -> None:
        if self._behind is not None:
            (report, front), self._behind = self._behind, None
            self._fill_tabs(report, but=front)

    def _fill_tabs(self, report: Reconciliation, *, only: int | None = None, but: int | None = None) -> None:
        """Fill the tab ``only``, or every tab ``but`` one, from ``report`` while it is the report shown."""
        if self.report is not report:
            return  # another report came meanwhile
        fills: tuple[tuple[QTableView, RowTableModel[Any], Sequence[Any]], ...] = (
            (self.rows_table, self.rows, report.rows),
            (self.companies_table, self.companies, [*report.by_company, report.total]),
            (self.orphans_table, self.orphans, report.orphans))
        for tab, (table, model, rows) in enumerate(fills):
            if tab == only or (only is None and tab != but):
                _fill(table, model, rows)

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
        self.tasks.run(lambda: write_csv(report, path),
                       lambda written: self.message.show_message(
                           f"Exported {len(report.rows)} license(s) to {written}.", "ok"),
                       lambda e: self.message.show_error(e, "Exporting the report"), owner=self, label="export CSV")
