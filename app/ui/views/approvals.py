"""The Approvals view: changes held by the approval policy or a cap, approved or rejected one or in bulk.

Each change shows what it does, its amount, why it waits and its basis
(the counts, dates and formula behind it). An approved change is written
by the next sync; a rejected one never is. Approving a change that adds
more seats to a line than the policy's cap per line (10 when no cap is
set) first asks, stating what will be billed: company, product, seats and
amount per billing period; Cancel decides nothing. "Approve adjusted…"
approves one change with fewer seats than planned or from a later day
(app/billing/adjust.py): the rest is planned again by the next sync. The
list is read again after every sync while it is on screen (a change written
or superseded leaves it), and on every show; hidden, a sync's end only
counts the changes waiting, for the navigation's badge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.billing.operations import OpKind
from app.billing.types import Cycle
from app.models.records import HeldStatus
from app.services.container import Services
from app.services.review.approvals import Decisions, HeldRow
from app.services.team.roles import Ability
from app.ui.formatting import day, moment, money
from app.ui.sync_gateway import SyncGateway
from app.ui.tasks import Tasks
from app.ui.views.row_model import WARNING, Column, RowTableModel
from app.ui.views.tables import ReloadingView, StatusLine, current_user, selected_rows, table_view, with_details
from app.ui.widgets.plain import PlainLabel, clip, message_box

COL_COMPANY, COL_TENANT, COL_LICENSE, COL_ACTION, COL_CHANGE, COL_AMOUNT, COL_EFFECTIVE, COL_REASON, COL_HELD, \
    COL_STATUS = range(10)
COLUMNS: tuple[Column[HeldRow], ...] = (
    Column("Company", lambda r: r.company),
    Column("Tenant", lambda r: r.tenant),
    Column("License", lambda r: r.license),
    Column("Change", lambda r: r.action),
    Column("Seats", lambda r: f"{r.before} → {r.after}", lambda r: r.after - r.before, numeric=True),
    Column("Amount", lambda r: money(r.amount, r.currency or None), lambda r: r.amount, numeric=True),
    Column("From", lambda r: day(r.effective), lambda r: r.effective),
    Column("Why it waits", lambda r: r.reason, tooltip=lambda r: r.reason),
    Column("Held since", lambda r: moment(r.held_at) if r.held_at else "",
           lambda r: r.held_at.timestamp() if r.held_at else None),
    Column("Status", lambda r: r.status.value),
)
SHOW = (("Waiting", HeldStatus.HELD), ("Approved, not yet written", HeldStatus.APPROVED),
        ("Rejected", HeldStatus.REJECTED), ("Every decision", None))
#: Approving a change that adds more seats than this to a line asks first, when the policy sets no cap.
LARGE_CHANGE_SEATS = 10


def seats_added(row: HeldRow) -> int:
    """The seats a change adds to a line (0 for anything but a new line or a raised quantity)."""
    op = row.operation
    if op is None or op.kind not in (OpKind.CREATE_LINE, OpKind.SET_QUANTITY):
        return 0
    return max(op.quantity - op.before, 0)


@dataclass(frozen=True, kw_only=True)
class Billed:
    """What an approved change bills, as the confirmation states it."""

    company: str
    product: str
    before: int
    after: int
    amount: Decimal
    currency: str
    period: str  # "month" or "year"
    effective: str

    def sentence(self) -> str:
        return (f"{clip(self.company or 'a company', 80)}: {clip(self.product, 80)}, {self.before} → {self.after} "
                f"seats (+{self.after - self.before}), {money(self.amount, self.currency)} a {self.period} from "
                f"{self.effective}")


def billed(context: Any, rows: list[HeldRow]) -> list[Billed]:
    """On a worker: what each change bills, with the PSA's names for its product and agreement."""
    from app.services.uow import connected

    uow = context.uow
    with connected():
        connection_of = {c.id: c.connection_id for c in uow.companies.all()}
        out = []
        for row in rows:
            op = row.operation
            if op is None:  # never a large change: seats_added is 0
                continue
            connections = {connection_of[link.company_id] for link in uow.tenants.links_of_tenant(row.tenant_id)}
            products = {p.id: p for c in connections for p in uow.catalog.products(c)}
            agreements = {a.id: a for c in connections for a in uow.catalog.agreements(c)}
            product, agreement = products.get(op.product_id), agreements.get(op.agreement_id)
            out.append(Billed(
                company=row.company or row.tenant, before=op.before, after=op.quantity, amount=op.amount,
                product=(product.description or product.identifier) if product else (row.license or op.product_id),
                currency=agreement.currency if agreement else "USD",
                period="year" if agreement is not None and agreement.cycle is Cycle.ANNUAL else "month",
                effective=day(op.effective)))
        return out


class ApprovalsView(ReloadingView):
    """Reads the list when shown, and after a sync while shown; hidden, it only counts what waits."""

    #: How many changes wait for a person (the navigation's badge).
    attention_changed = Signal(int)

    def __init__(self, context: Services, tasks: Tasks, parent: QWidget | None = None, *,
                 sync: SyncGateway | None = None) -> None:
        super().__init__(parent)
        if sync is not None:
            sync.finished.connect(self.refresh_when_seen)
        self.context = context
        self.tasks = tasks
        self.service = context.review
        #: Approving a change adding more seats than this to a line asks first (the policy's cap per line).
        self.large_change = LARGE_CHANGE_SEATS
        self.confirmation: QMessageBox | None = None
        self._confirming: list[HeldRow] = []  # the changes the confirmation asks about
        layout = QVBoxLayout(self)
        self.message = StatusLine()
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
        self.model: RowTableModel[HeldRow] = RowTableModel(
            COLUMNS, key=lambda r: r.op_key, background=lambda r: WARNING if r.decrease else None)
        self.table, self.proxy = table_view(self.model, self, multi=True)
        splitter, self.details = with_details(
            self.table, "Select a change to see its basis: the counts, dates and formula.")
        layout.addWidget(splitter, 1)
        buttons = QHBoxLayout()
        self.select_all_button = QPushButton("Select all")
        self.approve_button = QPushButton("Approve selected")
        self.adjust_button = QPushButton("Approve adjusted…")
        self.adjust_button.setToolTip("Approve part of the selected change, or from a later day; the rest waits "
                                      "for the next sync's decision")
        self.reject_button = QPushButton("Reject selected")
        buttons.addWidget(self.select_all_button)
        buttons.addStretch(1)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.adjust_button)
        buttons.addWidget(self.approve_button)
        layout.addLayout(buttons)
        #: Whether the connected database user may decide (the database refuses it otherwise): the tooltip says why not.
        self.may_decide = context.role().may_approve
        for button in (self.approve_button, self.reject_button, self.adjust_button):
            button.setEnabled(self.may_decide)
            button.setToolTip(context.role().refusal(Ability.APPROVE))
        self.show_filter.currentIndexChanged.connect(self.refresh)
        self.table.selectionModel().selectionChanged.connect(self._show_details)
        self.select_all_button.clicked.connect(self.table.selectAll)
        self.approve_button.clicked.connect(lambda: self.decide(approve=True))
        self.reject_button.clicked.connect(lambda: self.decide(approve=False))
        self.adjust_button.clicked.connect(self.adjust)
        self.adjusting: AdjustDialog | None = None
        self._stale = True  # read the list when first shown
        self.count_badge()

    def count_badge(self) -> None:
        """The badge alone, counted by the database; dropped once the view read its list."""
        self.tasks.run(self.service.count_waiting, lambda n: self.attention_changed.emit(n) if self._stale else None,
                       lambda e: self.message.show_error(e, "Counting the changes waiting for approval"),
                       owner=self, latest="count", label="count approvals")

    def refresh(self, *_: Any) -> None:
        status = self.show_filter.currentData()
        settings = self.context.settings
        self.tasks.run(lambda: (self.service.held(status), self.service.count_waiting(),
                                settings.max_seats_change_per_line),
                       self._loaded,
                       lambda e: self.message.show_error(e, "Reading the changes waiting for approval"),
                       owner=self, latest="rows", label="load approvals")

    def _loaded(self, result: tuple[list[HeldRow], int, int | None]) -> None:
        rows, waiting, cap = result
        self.large_change = LARGE_CHANGE_SEATS if cap is None else cap
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        self.summary.setText(f"{waiting} change(s) wait for approval." if waiting else "Nothing waits for approval.")
        deciding = self.show_filter.currentData() in (HeldStatus.HELD, HeldStatus.APPROVED, HeldStatus.REJECTED)
        for button in (self.approve_button, self.reject_button, self.adjust_button):
            button.setEnabled(deciding and self.may_decide)
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
            f"amount {money(r.amount, r.currency or None)}, from {day(r.effective)}.\n"
            f"Why it waits: {r.reason}\n{r.basis}\n"
            f"Operation key: {r.op_key}")

    def set_search(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)

    def decide(self, *, approve: bool) -> None:
        rows = selected_rows(self.table)
        if not rows:
            self.message.show_message("Select the changes to decide (Select all for every one shown).")
            return
        large = [r for r in rows if seats_added(r) > self.large_change] if approve else []
        if large:
            context = self.context
            self.tasks.run(lambda: billed(context, large), lambda lines: self._confirm(rows, lines),
                           lambda e: self.message.show_error(e, "Reading what the changes bill"),
                           owner=self, label="what is billed")
            return
        self._write(rows, approve=approve)

    def adjust(self) -> None:
        """Approve the one selected change with another quantity or a later day."""
        rows = selected_rows(self.table)
        if len(rows) != 1 or rows[0].operation is None:
            self.message.show_message("Select one change to approve adjusted.")
            return
        dialog = AdjustDialog(rows[0], self)
        dialog.accepted.connect(self._adjust)
        self.adjusting = dialog
        dialog.open()

    def _adjust(self) -> None:
        dialog = self.adjusting
        assert dialog is not None
        row, quantity, effective = dialog.row, dialog.quantity(), dialog.effective()
        service, who = self.service, current_user()
        self.tasks.run(lambda: service.approve_adjusted(row.op_key, quantity=quantity, effective=effective, by=who),
                       lambda done: self._decided_adjusted(done),
                       lambda e: self.message.show_error(e, "Approving adjusted"), owner=self, label="adjust approval")

    def _decided_adjusted(self, row: HeldRow) -> None:
        self.message.show_message(f"Approved adjusted: {row.before} → {row.after} from {day(row.effective)}, "
                                  f"{money(row.amount, row.currency or None)}. The next sync writes it and plans the "
                                  "rest of the change again.", "ok")
        self.refresh()

    def _confirm(self, rows: list[HeldRow], lines: list[Billed]) -> None:
        """Ask before approving large changes, stating what they bill; only Approve decides anything."""
        text = (f"{'This change adds' if len(lines) == 1 else 'These changes add'} more than {self.large_change} "
                "seats to a line. Once approved, the next sync bills:\n\n"
                + "\n".join(f"• {line.sentence()}" for line in lines)
                + f"\n\nApprove {'it' if len(rows) == 1 else f'the {len(rows)} selected changes'}?")
        box = message_box(self, "Approve a large change", text, icon=QMessageBox.Icon.Question,
                          buttons=QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          default=QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText("Approve")
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.finished.connect(self._answered)
        self.confirmation, self._confirming = box, rows
        box.open()

    def _answered(self, _answer: int) -> None:
        box, rows = self.confirmation, self._confirming
        self.confirmation, self._confirming = None, []
        assert box is not None
        box.deleteLater()
        if box.clickedButton() is box.button(QMessageBox.StandardButton.Yes):
            self._write(rows, approve=True)
        else:
            self.message.show_message("Nothing was approved.")

    def _write(self, rows: list[HeldRow], *, approve: bool) -> None:
        keys = [r.op_key for r in rows]
        who = current_user()
        work = (lambda: self.service.approve(keys, by=who)) if approve else (lambda: self.service.reject(keys,
                                                                                                       by=who))
        self.tasks.run(work, lambda d: self._decided(d, approve), lambda e: self.message.show_error(e, "Deciding"),
                       owner=self, label="decide approvals")

    def _decided(self, decisions: Decisions, approve: bool) -> None:
        verb = "Approved" if approve else "Rejected"
        text = f"{verb} {len(decisions.decided)} change(s)."
        if approve and decisions.decided:
            text += " The next sync writes them (or use Sync now)."
        if decisions.failed:
            text += " Not decided: " + "; ".join(why for _, why in decisions.failed)
        self.message.show_message(text, "error" if decisions.failed else "ok")
        self.refresh()


class AdjustDialog(QDialog):
    """A quantity within the planned change and a day not before it: what the held change is approved with."""

    def __init__(self, row: HeldRow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        op = row.operation
        assert op is not None
        self.setWindowTitle("Approve adjusted")
        self.row = row
        self.planned = op
        self.seats = QSpinBox()
        dated = op.kind in (OpKind.ADD_PRORATE, OpKind.ADD_CREDIT)
        low, high = sorted((1 if op.quantity > 0 else -1, op.quantity) if dated else (op.before, op.quantity))
        self.seats.setRange(low, high)
        self.seats.setValue(op.quantity)
        self.seats.setEnabled(op.kind is not OpKind.CANCEL_LINE)
        self.day = QDateEdit(QDate(op.effective.year, op.effective.month, op.effective.day))
        self.day.setCalendarPopup(True)
        self.day.setMinimumDate(self.day.date())
        form = QFormLayout(self)
        form.addRow(PlainLabel(f"{row.action} for {clip(row.license, 60)} in {clip(row.tenant, 60)}: planned "
                               f"{op.before} → {op.quantity} from {day(op.effective)}. Approve part of it, or from "
                               "a later day (a line's quantity changes on the first day of a billing period); the "
                               "rest is planned again by the next sync and waits for its own decision."))
        form.addRow("Seats", self.seats)
        form.addRow("From", self.day)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Approve")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def quantity(self) -> int | None:
        return None if self.seats.value() == self.planned.quantity else self.seats.value()

    def effective(self) -> date | None:
        chosen: date = self.day.date().toPython()  # type: ignore[assignment]
        return None if chosen == self.planned.effective else chosen
