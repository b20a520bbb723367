"""The Companies view: every PSA company with tenants, what needs attention, and each company's page.

The list (search from the toolbar, filters here) and a company's page share
this view: double-click (or Enter) opens a company; "Companies" (the page's
back button, or the window's navigation) goes back to the list.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.services.customers.companies import CompanyRow, CompanyService
from app.services.team.roles import Ability, Role
from app.ui.errors import explain
from app.ui.sync_gateway import SyncGateway, target_of
from app.ui.views.companies_model import (
    LAST_SYNC,
    NAME,
    PSA,
    ROW_ROLE,
    CompanyTableModel,
    Filter,
    why,
)
from app.ui.views.company import CompanyView
from app.ui.views.sync_result import DetailsDialog
from app.ui.widgets.badge import BadgeDelegate
from app.ui.widgets.message_bar import MessageBar
from app.ui.widgets.plain import PlainLabel
from app.ui.widgets.tones import text_tone

FILTERS = ((Filter.ALL, "All"), (Filter.ATTENTION, "Needs attention"), (Filter.UNMAPPED, "Unmapped"),
           (Filter.FAILED, "Failed"))


if TYPE_CHECKING:
    from app.services.sync.service import RunSummary


class CompaniesView(QWidget):
    attention_changed = Signal(int)
    sync_requested = Signal(int)
    loaded = Signal()

    def __init__(self, context: Any, tasks: Any, parent: QWidget | None = None, *,
                 service: CompanyService | None = None, sync: SyncGateway | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.context = context
        self.adding: QWidget | None = None  # the add-companies dialog while it is open
        self.service = service or context.companies
        self.loading = False
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self._build_list())
        self.company = CompanyView(context, tasks, self, service=self.service)
        self.company.back_requested.connect(self.show_list)
        self.company.sync_requested.connect(self.sync_requested)
        self.sync = sync
        if sync is not None:
            self.sync_requested.connect(lambda company_id: sync.sync_now(target_of(company_id)))
            sync.started.connect(self.on_sync_started)
            sync.progressed.connect(self.on_sync_progress)
            sync.finished.connect(self.on_sync_finished)
        self.company.changed.connect(self.refresh_list)
        if (company_layout := self.company.layout()) is not None:
            company_layout.setContentsMargins(0, 0, 0, 0)  # the view's own margins frame both pages
        self.stack.addWidget(self.company)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)
        self.refresh_list()

    def _build_list(self) -> QWidget:
        page = QWidget(self)
        self.filter_group = QButtonGroup(self)
        self.filter_buttons: dict[Filter, QToolButton] = {}
        bar = QHBoxLayout()
        for which, label in FILTERS:
            button = QToolButton(page)
            button.setText(label)
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setChecked(which is Filter.ALL)
            button.clicked.connect(lambda _=False, w=which: self.set_filter(w))
            self.filter_group.addButton(button)
            self.filter_buttons[which] = button
            bar.addWidget(button)
        self.partner_filter = QComboBox(page)
        self.partner_filter.setObjectName("partner-filter")
        self.partner_filter.setToolTip("Only the companies whose tenants are read through this Microsoft partner "
                                       "connection")
        self.partner_filter.addItem("All partner connections", "")
        self.partner_filter.currentIndexChanged.connect(self._partner_chosen)
        self.partner_filter.hide()  # one partner connection: nothing to choose
        bar.addWidget(self.partner_filter)
        self.why_button = QToolButton(page)
        self.why_button.setObjectName("why-failed")
        self.why_button.setText("Why did it fail?")
        self.why_button.setToolTip("Why the selected company's last sync failed, in words and as Microsoft or "
                                   "the PSA said it")
        self.why_button.clicked.connect(self.show_why)
        bar.addStretch(1)
        bar.addWidget(self.why_button)
        self.add_button = QToolButton(page)
        self.add_button.setObjectName("add-companies")
        self.add_button.setText("Add companies…")
        self.add_button.setToolTip("Add Partner Center customers, matched to your PSA's companies")
        self.add_button.clicked.connect(self.add_companies)
        bar.addWidget(self.add_button)
        self.bulk_button = QToolButton(page)
        self.bulk_button.setObjectName("bulk-map")
        self.bulk_button.setText("Map in bulk…")
        self.bulk_button.setToolTip("Map one license of the selected companies through a billing profile")
        self.bulk_button.clicked.connect(self.bulk_map)
        bar.addWidget(self.bulk_button)
        # The database refuses these to a role that may not (the owner's, without the window's services).
        role = self.context.role() if self.context is not None else Role.OWNER
        for button, ability in ((self.add_button, Ability.MANAGE_TENANTS), (self.bulk_button, Ability.MAP)):
            button.setEnabled(role.may(ability))
            button.setToolTip(role.refusal(ability) or button.toolTip())
        self.count_label = PlainLabel(parent=page)
        text_tone(self.count_label)
        bar.addWidget(self.count_label)
        self.messages = MessageBar(page)
        self.model = CompanyTableModel(self)
        self.table = QTableView(page)
        self.table.setObjectName("companies")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(NAME, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)  # bulk mapping
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        header.setResizeContentsPrecision(100)  # size columns from the first rows, not all 5,000
        self.table.setItemDelegateForColumn(NAME, BadgeDelegate(self.table))
        self.table.doubleClicked.connect(self._open_index)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_why())
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.table, lambda: self._open_index(self.table.currentIndex()),
                  context=Qt.ShortcutContext.WidgetShortcut)
        self.empty = PlainLabel("Loading companies…", page)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        text_tone(self.empty)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.messages)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty, 1)
        self.table.hide()
        return page

    # -- the window's hooks ----------------------------------------------------------------------

    def refresh(self) -> None:
        self.refresh_list()
        if self.stack.currentWidget() is self.company:
            self.company.refresh()

    def show_home(self) -> None:
        """The window's navigation chose Companies: the list, whichever company was open."""
        if self.stack.currentWidget() is self.company:
            self.show_list()

    def set_search(self, text: str) -> None:
        """The toolbar's search finds companies: typing while a company is open goes back to the list."""
        if text and self.stack.currentWidget() is self.company:
            self.show_list()
        self.model.set_search(text)
        self._update_count()

    def sync_target(self) -> int | None:
        if self.stack.currentWidget() is self.company:
            return self.company.company_id
        row = self.selected_row()
        return row.id if row else None

    def on_sync_started(self, target: str) -> None:
        self.company.on_sync_started(target)

    def on_sync_progress(self, target: str, text: str) -> None:
        self.company.on_sync_progress(target, text)

    def on_sync_finished(self, target: str, summary: RunSummary | None, error: BaseException | None) -> None:
        if summary is not None:
            self.service.remember(summary, datetime.now(UTC))
        self.company.on_sync_finished(target, summary, error)
        self.refresh_list()

    # -- the list --------------------------------------------------------------------------------

    def add_companies(self) -> None:
        """Bulk add from Partner Center (DESIGN §1.4), then show the companies added."""
        from app.ui.dialogs.onboarding import AddCompaniesDialog

        self.adding = AddCompaniesDialog(self.context, self.tasks, self)
        self.adding.accepted.connect(self.refresh_list)
        self.adding.open()  # window-modal, without blocking the event loop

    def bulk_map(self) -> QWidget:
        """Map one license of the selected companies (all shown, when none is selected) through a profile."""
        from app.ui.views.bulk_map import BulkMapDialog

        selection = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        indexes = selection or [self.model.index(r, NAME) for r in range(self.model.rowCount())]
        dialog = BulkMapDialog(self.context, self.tasks, [i.data(ROW_ROLE).id for i in indexes], self)
        dialog.finished.connect(lambda _: self.refresh_list())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def refresh_list(self) -> None:
        self.loading = True
        self.tasks.run(self.service.company_rows, self._loaded, self._load_failed, label="list companies")

    def _loaded(self, rows: list[CompanyRow]) -> None:
        self.loading = False
        selected = self.selected_row()
        first = not self.model.loaded
        self.model.set_rows(rows)
        self.table.setColumnHidden(PSA, len({r.connection_id for r in rows}) < 2)  # one PSA: the column says nothing
        if first and rows:
            self.table.resizeColumnsToContents()  # once: later loads keep the widths the user chose
            # A list never synced shows "—" there: leave room for the date a sync writes.
            room = self.table.fontMetrics().horizontalAdvance("28 Sep 2026 23:59") + 16
            self.table.setColumnWidth(LAST_SYNC, max(self.table.columnWidth(LAST_SYNC), room))
        if selected is not None and getattr(self.selected_row(), "id", None) != selected.id:
            self.select_company(selected.id)  # the list was laid out again: select the company it had
        has_rows = bool(rows)
        self.table.setVisible(has_rows)
        self.empty.setVisible(not has_rows)
        self.empty.setText("No companies yet. Connect your PSA and Microsoft in Settings, then add customers: "
                           "each company with a tenant shows here.")
        counts = {Filter.ATTENTION: sum(1 for r in rows if r.attention), Filter.UNMAPPED:
                  sum(1 for r in rows if r.unmapped), Filter.FAILED: sum(1 for r in rows if r.failed)}
        for which, label in FILTERS:
            self.filter_buttons[which].setText(f"{label} ({counts[which]})" if which in counts else label)
        self._offer_partners(sorted({p for r in rows for p in r.partners}, key=str.casefold))
        self._update_count()
        self._update_why()
        self.attention_changed.emit(counts[Filter.ATTENTION])  # companies, as the tray and notices count them
        self.loaded.emit()

    def _update_why(self) -> None:
        row = self.selected_row()
        self.why_button.setEnabled(row is not None and row.last_sync.status in ("failed", "partial"))

    def show_why(self) -> DetailsDialog | None:
        """Why the selected company's last sync failed, in words and as Microsoft or the PSA said it."""
        row = self.selected_row()
        if row is None or row.last_sync.status not in ("failed", "partial"):
            return None
        dialog = DetailsDialog("seatsync: why the sync failed", *why(row), parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _load_failed(self, error: BaseException) -> None:
        self.loading = False
        self.messages.show_message(explain(error, doing="Could not list the companies"), action="Retry",
                                   on_action=self.refresh_list)
        self.empty.setText("The companies could not be listed.")

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), self.model.loaded
        noun = "company" if total == 1 else "companies"
        self.count_label.setText(f"{total:,} {noun}" if shown == total else f"{shown:,} of {total:,} {noun}")

    def _offer_partners(self, names: list[str]) -> None:
        """The partner filter's choices: every partner connection the companies' tenants are read through,
        shown when there are two or more (the one chosen stays chosen while it is there)."""
        chosen = self.partner_filter.currentData() or ""
        if [self.partner_filter.itemData(i) for i in range(1, self.partner_filter.count())] != names:
            with QSignalBlocker(self.partner_filter):
                while self.partner_filter.count() > 1:
                    self.partner_filter.removeItem(1)
                for name in names:
                    self.partner_filter.addItem(f"Partner: {name}", name)
                self.partner_filter.setCurrentIndex(max(0, self.partner_filter.findData(chosen)))
        self.partner_filter.setVisible(len(names) > 1)
        self.set_partner(self.partner_filter.currentData() if len(names) > 1 else "")

    def _partner_chosen(self, _index: int) -> None:
        self.set_partner(self.partner_filter.currentData())

    def set_partner(self, name: str) -> None:
        """Only the companies with a tenant read through the partner connection ``name`` ("": all)."""
        self.model.set_partner(name or "")
        self._update_count()

    def set_filter(self, which: Filter) -> None:
        self.filter_buttons[which].setChecked(True)
        self.model.set_filter(which)
        self._update_count()

    def show_unmapped(self) -> None:
        """The list of companies with a license that has no billing profile yet (the set-up guide's "Map
        licenses")."""
        self.show_home()
        self.set_filter(Filter.UNMAPPED)

    def selected_row(self) -> CompanyRow | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return rows[0].data(ROW_ROLE) if rows else None

    def select_company(self, company_id: int) -> bool:
        position = self.model.position_of(company_id)
        if position is None:
            return False
        index = self.model.index(position, NAME)
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index)
        return True

    # -- pages -----------------------------------------------------------------------------------

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_company(index.data(ROW_ROLE).id)

    def open_company(self, company_id: int) -> None:
        self.stack.setCurrentWidget(self.company)
        self.company.load(company_id)

    def show_list(self) -> None:
        self.stack.setCurrentIndex(0)
        if self.company.company_id is not None:
            self.select_company(self.company.company_id)
        self.table.setFocus()
