"""The History view: every change written to a PSA (the audit log), filtered by company, agreement,
product and date range, newest first; or every configuration change (mappings, billing profiles,
exclusions, settings, tenants moved: who, as technician and database user, when, what, before → after), by
kind and date."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from app.services.container import Services
from app.services.review.approvals import HistoryChoices, HistoryFilter, HistoryRow
from app.services.review.config_history import ConfigRow
from app.ui.formatting import Refused, moment, money
from app.ui.sync_gateway import SyncGateway
from app.ui.tasks import Tasks
from app.ui.views.row_model import Column, RowTableModel
from app.ui.views.tables import ReloadingView, StatusLine, searchable, table_view
from app.ui.widgets.fields import DateField
from app.ui.widgets.plain import PlainLabel


def _quantity(value: int | None) -> str:
    return "" if value is None else str(value)


def _money(value: Decimal | None, currency: str) -> str:
    return "" if value is None else money(value, currency or None)


COL_AT, COL_ACTOR, COL_COMPANY, COL_AGREEMENT, COL_PRODUCT, COL_ACTION, COL_BEFORE, COL_AFTER, COL_BEFORE_AMOUNT, \
    COL_AFTER_AMOUNT, COL_REASON, COL_RECORD = range(12)
COLUMNS: tuple[Column[HistoryRow], ...] = (
    Column("When", lambda r: moment(r.entry.at), lambda r: r.entry.at.timestamp()),
    Column("Who", lambda r: r.entry.actor),
    Column("Company", lambda r: r.entry.company_name or r.entry.company_id),
    Column("Agreement", lambda r: r.agreement),
    Column("Product", lambda r: r.product),
    Column("Change", lambda r: r.entry.action.replace("_", " ")),
    Column("Seats before", lambda r: _quantity(r.entry.before_quantity), lambda r: r.entry.before_quantity,
           numeric=True),
    Column("Seats after", lambda r: _quantity(r.entry.after_quantity), lambda r: r.entry.after_quantity,
           numeric=True),
    Column("Amount before", lambda r: _money(r.entry.before_amount, r.currency), lambda r: r.entry.before_amount,
           numeric=True),
    Column("Amount after", lambda r: _money(r.entry.after_amount, r.currency), lambda r: r.entry.after_amount,
           numeric=True),
    Column("Why", lambda r: r.entry.reason, tooltip=lambda r: r.entry.reason),
    Column("PSA record", lambda r: r.entry.psa_record_id),
)


#: What History shows: (label, None for PSA writes, else the configuration kind; "*" every kind).
SHOWN = (("Changes written to the PSA", None), ("Configuration changes", "*"), ("Mappings changed", "mapping"),
         ("Billing profiles changed", "profile"), ("Exclusions changed", "exclusion"), ("Settings changed", "setting"),
         ("Tenants moved", "tenant"))
CONFIG_COLUMNS: tuple[Column[ConfigRow], ...] = (
    Column("When", lambda r: moment(r.change.at), lambda r: r.change.at.timestamp()),
    Column("Who", lambda r: r.change.actor),
    Column("Database user", lambda r: r.change.db_user),
    Column("Kind", lambda r: r.kind),
    Column("What", lambda r: r.what, tooltip=lambda r: r.what),
    Column("Change", lambda r: r.action),
    Column("Before", lambda r: r.before, tooltip=lambda r: r.before),
    Column("After", lambda r: r.after, tooltip=lambda r: r.after),
)


class HistoryView(ReloadingView):
    def __init__(self, context: Services, tasks: Tasks, parent: QWidget | None = None, *,
                 sync: SyncGateway | None = None) -> None:
        super().__init__(parent)
        if sync is not None:
            sync.finished.connect(self.refresh_when_seen)
        self.tasks = tasks
        self.service = context.review
        today = context.now().date()
        layout = QVBoxLayout(self)
        self.message = StatusLine()
        layout.addWidget(self.message)
        filters = QGridLayout()
        self.shown = QComboBox()
        for label, kind in SHOWN:
            self.shown.addItem(label, kind)
        self.company = QComboBox()
        self.agreement = QComboBox()
        self.product = QComboBox()
        for combo in (self.company, self.agreement, self.product):
            searchable(combo).setMinimumContentsLength(18)
        self.use_since = QCheckBox("From")
        self.since = DateField()
        self.since.set_day(today - timedelta(days=30))
        self.use_until = QCheckBox("To")
        self.until = DateField()
        self.until.set_day(today)
        for box, edit in ((self.use_since, self.since), (self.use_until, self.until)):
            edit.setEnabled(False)
            box.toggled.connect(edit.setEnabled)
            edit.returnPressed.connect(self.show_entries)
        self.show_button = QPushButton("Show")
        filters.addWidget(self.shown, 2, 0, 1, 2)
        filters.addWidget(PlainLabel("Company"), 0, 0)
        filters.addWidget(self.company, 0, 1)
        filters.addWidget(PlainLabel("Agreement"), 0, 2)
        filters.addWidget(self.agreement, 0, 3)
        filters.addWidget(PlainLabel("Product"), 0, 4)
        filters.addWidget(self.product, 0, 5)
        filters.addWidget(self.use_since, 1, 0)
        filters.addWidget(self.since.holder(), 1, 1)
        filters.addWidget(self.use_until, 1, 2)
        filters.addWidget(self.until.holder(), 1, 3)
        filters.addWidget(self.show_button, 1, 5)
        layout.addLayout(filters)
        self.count = PlainLabel()
        layout.addWidget(self.count)
        self.model: RowTableModel[HistoryRow] = RowTableModel(COLUMNS, key=lambda r: r.entry.id)
        self.table, self.proxy = table_view(self.model, self, multi=True)
        self.config_model: RowTableModel[ConfigRow] = RowTableModel(CONFIG_COLUMNS, key=lambda r: r.change.id)
        self.config_table, self.config_proxy = table_view(self.config_model, self, multi=True)
        self.tables = QStackedWidget()
        self.tables.addWidget(self.table)
        self.tables.addWidget(self.config_table)
        layout.addWidget(self.tables, 1)
        self.show_button.clicked.connect(self.show_entries)
        self.shown.activated.connect(self.show_entries)
        for combo in (self.company, self.agreement, self.product):
            combo.activated.connect(self.show_entries)
        for box in (self.use_since, self.use_until):
            box.toggled.connect(self.show_entries)
        self.refresh()

    def refresh(self) -> None:
        self.tasks.run(self.service.history_choices, self._choices,
                       lambda e: self.message.show_error(e, "Reading the companies, agreements and products"),
                       owner=self, label="load history filters")
        self.show_entries()

    def _choices(self, choices: HistoryChoices) -> None:
        for combo, values, everything in ((self.company, choices.companies, "All companies"),
                                          (self.agreement, choices.agreements, "All agreements"),
                                          (self.product, choices.products, "All products")):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(everything, None)
            for psa_id, name in values:
                combo.addItem(name, psa_id)
            combo.setCurrentIndex(max(combo.findData(current), 0) if current else 0)
            combo.blockSignals(False)

    def current_filter(self) -> HistoryFilter:
        """The filters chosen; ``Refused`` says which date is not one."""
        return HistoryFilter(company=self.company.currentData(), agreement=self.agreement.currentData(),
                             product=self.product.currentData(),
                             since=self.since.value() if self.use_since.isChecked() else None,
                             until=self.until.value() if self.use_until.isChecked() else None)

    def show_entries(self, *_: Any) -> None:
        try:
            where = self.current_filter()
        except Refused as refused:
            self.message.show_message(f"Not shown: {refused}", "error")
            return
        self.message.clear_message()
        kind = self.shown.currentData()
        for combo in (self.company, self.agreement, self.product):  # PSA records: not what configuration names
            combo.setEnabled(kind is None)
        self.tables.setCurrentWidget(self.table if kind is None else self.config_table)
        if kind is not None:
            self.tasks.run(lambda: self.service.config_history(where, None if kind == "*" else kind),
                           self._config_entries, lambda e: self.message.show_error(e, "Reading the history"),
                           owner=self, latest="entries", label="load configuration history")
            return
        self.tasks.run(lambda: self.service.history(where), self._entries,
                       lambda e: self.message.show_error(e, "Reading the history"),
                       owner=self, latest="entries", label="load history")

    def _config_entries(self, rows: list[ConfigRow]) -> None:
        self.config_model.set_rows(rows)
        self.config_table.resizeColumnsToContents()
        self.count.setText(f"{len(rows)} configuration change(s) match.")

    def _entries(self, entries: list[HistoryRow]) -> None:
        self.model.set_rows(entries)
        self.table.resizeColumnsToContents()
        self.count.setText(f"{len(entries)} change(s) written to the PSA match.")

    def set_search(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        self.config_proxy.setFilterFixedString(text)
