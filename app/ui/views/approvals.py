"""The Approvals view: changes held by the approval policy or a cap, approved or rejected one or in bulk.

Each change shows what it does, its amount, why it waits and its basis
(the counts, dates and formula behind it). An approved change is written
by the next sync; a rejected one never is.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from PySide6.QtCore import Qt

from app.bootstrap import Context
from app.models.records import HeldStatus
from app.services.review import Decisions, HeldRow, ReviewService
from app.ui.tasks import Tasks
from app.ui.views.tables import (
    WARNING,
    Column,
    Latest,
    MessageBar,
    RowTableModel,
    current_user,
    run_for,
    selected_rows,
    table_view,
)
from app.ui.widgets.plain import PlainLabel

COL_COMPANY, COL_TENANT, COL_LICENSE, COL_ACTION, COL_CHANGE, COL_AMOUNT, COL_EFFECTIVE, COL_REASON, COL_HELD, \
    COL_STATUS = range(10)
COLUMNS: tuple[Column[HeldRow], ...] = (
    Column("Company", lambda r: r.company),
    Column("Tenant", lambda r: r.tenant),
    Column("License", lambda r: r.license),
    Column("Change", lambda r: r.action),
    Column("Seats", lambda r: f"{r.before} → {r.after}", lambda r: r.after - r.before, numeric=True),
    Column("Amount", lambda r: format(r.amount, "f"), lambda r: r.amount, numeric=True),
    Column("From", lambda r: r.effective.isoformat(), lambda r: r.effective),
    Column("Why it waits", lambda r: r.reason, tooltip=lambda r: r.reason),
    Column("Held since", lambda r: f"{r.held_at:%Y-%m-%d %H:%M}" if r.held_at else "",
           lambda r: r.held_at.timestamp() if r.held_at else None),
    Column("Status", lambda r: r.status.value),
)
SHOW = (("Waiting", HeldStatus.HELD), ("Approved, not yet written", HeldStatus.APPROVED),
        ("Rejected", HeldStatus.REJECTED), ("Every decision", None))


class ApprovalsView(QWidget):
    #: How many changes wait for a person (the navigation's badge).
    attention_changed = Signal(int)

    def __init__(self, context: Context, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.service = ReviewService(context)
        self.latest = Latest()
        layout = QVBoxLayout(self)
        self.message = MessageBar()
        layout.addWidget(self.message)
        top = QHBoxLayout()
        self.summary = PlainLabel("Reading…")
        self.show_filter = QComboBox()
        for label, status in SHOW:
            self.show_filter.addItem(label, status)
        top.addWidget(self.summary, 1)
        top.addWidget(PlainLabel("Show"))
        top.addWidget(self.show_filter)
        layout.addLayout(top)
        splitter = QSplitter(Qt.Orientation.Vertical)
        self.model: RowTableModel[HeldRow] = RowTableModel(
            COLUMNS, key=lambda r: r.op_key, background=lambda r: WARNING if r.decrease else None)
        self.table, self.proxy = table_view(self.model, self, multi=True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select a change to see its basis: the counts, dates and formula.")
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        buttons = QHBoxLayout()
        self.select_all_button = QPushButton("Select all")
        self.approve_button = QPushButton("Approve selected")
        self.reject_button = QPushButton("Reject selected")
        buttons.addWidget(self.select_all_button)
        buttons.addStretch(1)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.approve_button)
        layout.addLayout(buttons)
        self.show_filter.currentIndexChanged.connect(self.refresh)
        self.table.selectionModel().selectionChanged.connect(self._show_details)
        self.select_all_button.clicked.connect(self.table.selectAll)
        self.approve_button.clicked.connect(lambda: self.decide(approve=True))
        self.reject_button.clicked.connect(lambda: self.decide(approve=False))
        self.refresh()

    def refresh(self, *_: Any) -> None:
        status = self.show_filter.currentData()
        run_for(self, self.tasks, lambda: (self.service.held(status), self.service.count_waiting()),
                self.latest.wrap(self._loaded),
                lambda e: self.message.show_error(e, "Reading the changes waiting for approval"),
                label="load approvals")

    def _loaded(self, result: tuple[list[HeldRow], int]) -> None:
        rows, waiting = result
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        self.summary.setText(f"{waiting} change(s) wait for approval." if waiting else "Nothing waits for approval.")
        deciding = self.show_filter.currentData() in (HeldStatus.HELD, HeldStatus.APPROVED, HeldStatus.REJECTED)
        self.approve_button.setEnabled(deciding)
        self.reject_button.setEnabled(deciding)
        self._show_details()
        self.attention_changed.emit(waiting)

    def _show_details(self, *_: Any) -> None:
        rows = selected_rows(self.table)
        if len(rows) != 1:
            self.details.setPlainText(f"{len(rows)} changes selected." if rows else "")
            return
        r = rows[0]
        self.details.setPlainText(
            f"{r.action} for {r.license} in {r.tenant} ({r.company}): {r.before} → {r.after} seats, "
            f"amount {r.amount}, from {r.effective.isoformat()}.\nWhy it waits: {r.reason}\n{r.basis}\n"
            f"Operation key: {r.op_key}")

    def set_search(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)

    def decide(self, *, approve: bool) -> None:
        rows = selected_rows(self.table)
        if not rows:
            self.message.show_message("Select the changes to decide (Select all for every one shown).")
            return
        keys = [r.op_key for r in rows]
        who = current_user()
        work = (lambda: self.service.approve(keys, by=who)) if approve else (lambda: self.service.reject(keys,
                                                                                                       by=who))
        run_for(self, self.tasks, work, lambda d: self._decided(d, approve),
                lambda e: self.message.show_error(e, "Deciding"), label="decide approvals")

    def _decided(self, decisions: Decisions, approve: bool) -> None:
        verb = "Approved" if approve else "Rejected"
        text = f"{verb} {len(decisions.decided)} change(s)."
        if approve and decisions.decided:
            text += " The next sync writes them (or use Sync now)."
        if decisions.failed:
            text += " Not decided: " + "; ".join(why for _, why in decisions.failed)
        self.message.show_message(text, "error" if decisions.failed else "ok")
        self.refresh()
