"""The Migrate view: the lines other tools wrote, found in bulk and adopted, cancelled or ignored.

A row whose agreement holds a line seatsync does not own for the same product
is held by every sync until the line is decided (app/billing/foreign.py). Here
a person finds such lines by the text in seatsync's marker field (blank,
"Cloudconsole", "Unite", any text), product and agreement type, on mapped
agreements or on every linked company's, selects some or all, and sees what
adopting, cancelling (after a chosen day, or the day before seatsync's line
starts) or ignoring them writes at the next sync before deciding. Every PSA
read runs off the UI thread; nothing is decided unless every chosen line can be.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.billing.foreign import ForeignAction
from app.services.container import Services
from app.services.review.migration import Effect, ForeignFilter, ForeignLine, Scope
from app.services.team.roles import Ability
from app.ui.formatting import day
from app.ui.sync_gateway import SyncGateway
from app.ui.tasks import Tasks
from app.ui.views.row_model import Column, RowTableModel
from app.ui.views.tables import ReloadingView, StatusLine, current_user, selected_rows, table_view, with_details
from app.ui.widgets.plain import PlainLabel, clip, message_box

ANY, BLANK = "Any", "Blank"
#: What other tools commonly leave in the field seatsync keeps its markers in (any other text may be typed).
REFERENCES = (ANY, BLANK, "Cloudconsole", "Unite")
COL_COMPANY, COL_AGREEMENT, COL_TYPE, COL_PRODUCT, COL_SEATS, COL_REFERENCE, COL_DECISION = range(7)


def decision_text(f: ForeignLine) -> str:
    if f.decision is None:
        return "Undecided: its row is held" if f.billed_for else "Undecided"
    if f.decision.action is ForeignAction.CANCEL and f.decision.last_day is not None:
        return f"Cancel: bills until {day(f.decision.last_day)}"
    return f.decision.action.value.capitalize()


COLUMNS: tuple[Column[ForeignLine], ...] = (
    Column("Company", lambda f: f.company),
    Column("Agreement", lambda f: f.agreement.name or f.agreement.id),
    Column("Type", lambda f: f.agreement.type_name),
    Column("Product", lambda f: f.product),
    Column("Seats", lambda f: str(f.line.quantity), lambda f: f.line.quantity, numeric=True),
    Column("Reference", lambda f: f.reference or "(blank)"),
    Column("Decision", decision_text),
)


class MigrationView(ReloadingView):
    """Finding reads the PSA (the lines of every agreement in scope): on Find, when the view is first shown, and
    after a sync while it is on screen or when it is next shown. Hidden, it reads nothing from the PSA: its
    badge counts the lines the latest syncs found holding a row (``MigrationService.holding``)."""

    #: Lines whose rows are held until someone decides (the navigation's badge).
    attention_changed = Signal(int)
    reload_on_show = False

    def __init__(self, context: Services, tasks: Tasks, parent: QWidget | None = None, *,
                 sync: SyncGateway | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.tasks = tasks
        self.service = context.migration
        self.confirmation: QMessageBox | None = None
        #: What the confirmation asks about: the lines, what to do with them and their last day billed.
        self._deciding: tuple[list[ForeignLine], ForeignAction, date | None] = ([], ForeignAction.ADOPT, None)
        #: What was just decided, said with the list read after it.
        self.note = ""
        layout = QVBoxLayout(self)
        self.message = StatusLine()
        layout.addWidget(self.message)
        intro = PlainLabel(
            "Lines seatsync does not own that bill a mapped license's product hold its row until you decide: "
            "adopt (seatsync takes the line over), cancel (it stops after a day you pick) or ignore (seatsync "
            "bills beside it).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        filters, where = QHBoxLayout(), QHBoxLayout()
        self.reference = QComboBox()
        self.reference.setEditable(True)
        self.reference.addItems(REFERENCES)
        self.reference.setToolTip("The text in the line's reference field (any case); type any other text")
        self.product = QLineEdit()
        self.product.setPlaceholderText("any product")
        self.agreement_type = QLineEdit()
        self.agreement_type.setPlaceholderText("any type")
        self.scope = QComboBox()
        self.scope.addItem("Mapped agreements", Scope.MAPPED)
        self.scope.addItem("Every linked company", Scope.ALL)
        self.undecided = QCheckBox("Undecided only")
        self.find_button = QPushButton("Find")
        for row, label, widget in ((filters, "Reference", self.reference), (filters, "Product", self.product),
                                   (filters, "Agreement type", self.agreement_type), (where, "On", self.scope)):
            row.addWidget(PlainLabel(label))
            row.addWidget(widget, 1 if row is filters else 0)
        where.addWidget(self.undecided)
        where.addStretch(1)
        where.addWidget(self.find_button)
        layout.addLayout(filters)
        layout.addLayout(where)
        self.model: RowTableModel[ForeignLine] = RowTableModel(COLUMNS, key=lambda f: f.key)
        self.table, self.proxy = table_view(self.model, self, multi=True)
        splitter, self.details = with_details(
            self.table, "Choose lines and an action: what it writes at the next sync shows here.")
        layout.addWidget(splitter, 1)
        buttons = QHBoxLayout()
        self.select_all_button = QPushButton("Select all")
        self.default_day = QCheckBox("Cancel after the default day")
        self.default_day.setToolTip("A cancelled line bills until the day before seatsync's line starts; untick to "
                                    "pick its last day")
        self.default_day.setChecked(True)
        self.last_day = QDateEdit(QDate.currentDate())
        self.last_day.setCalendarPopup(True)
        self.last_day.setEnabled(False)
        self.adopt_button = QPushButton("Adopt…")
        self.cancel_button = QPushButton("Cancel…")
        self.ignore_button = QPushButton("Ignore…")
        self.forget_button = QPushButton("Undo decision")
        buttons.addWidget(self.select_all_button)
        buttons.addWidget(self.default_day)
        buttons.addWidget(self.last_day)
        buttons.addStretch(1)
        for button in (self.forget_button, self.ignore_button, self.cancel_button, self.adopt_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.may_decide = context.role().may_map
        for button in (self.adopt_button, self.cancel_button, self.ignore_button, self.forget_button):
            button.setEnabled(self.may_decide)
            button.setToolTip(context.role().refusal(Ability.MAP))
        self.find_button.clicked.connect(self.refresh)
        typed = self.reference.lineEdit()
        if typed is not None:
            typed.returnPressed.connect(self.refresh)
        self.select_all_button.clicked.connect(self.table.selectAll)
        self.default_day.toggled.connect(lambda on: self.last_day.setEnabled(not on))
        self.adopt_button.clicked.connect(lambda: self.choose(ForeignAction.ADOPT))
        self.cancel_button.clicked.connect(lambda: self.choose(ForeignAction.CANCEL))
        self.ignore_button.clicked.connect(lambda: self.choose(ForeignAction.IGNORE))
        self.forget_button.clicked.connect(self.forget)
        if sync is not None:
            sync.finished.connect(self.refresh_when_seen)
        self._stale = True  # read from the PSA when first shown
        self.count_badge()

    # -- finding -------------------------------------------------------------------

    def count_badge(self) -> None:
        """The badge, from what the latest syncs found (no PSA read); dropped once the view read the PSA."""
        self.tasks.run(self.service.holding, lambda n: self.attention_changed.emit(n) if self._stale else None,
                       lambda e: self.message.show_error(e, "Counting other tools' lines"),
                       owner=self, latest="count", label="count foreign lines")

    def wanted(self) -> ForeignFilter:
        text = self.reference.currentText().strip()
        return ForeignFilter(reference=None if text in ("", ANY) else "" if text == BLANK else text,
                             product=self.product.text().strip(), agreement_type=self.agreement_type.text().strip(),
                             scope=self.scope.currentData(), undecided_only=self.undecided.isChecked())

    def refresh(self, *_: Any) -> None:
        wanted, service = self.wanted(), self.service
        self.message.show_message("Reading the PSA's lines…")
        self.tasks.run(lambda: service.find(wanted), self._found,
                       lambda e: self.message.show_error(e, "Finding other tools' lines"),
                       owner=self, latest="rows", label="find foreign lines")

    def _found(self, lines: list[ForeignLine]) -> None:
        self.model.set_rows(lines)
        self.table.resizeColumnsToContents()
        holding = sum(1 for f in lines if f.decision is None and f.billed_for)
        note, self.note = self.note, ""
        self.message.show_message(f"{note}{' ' if note else ''}{len(lines)} line(s) seatsync does not own"
                                  + (f"; {holding} hold their rows until decided." if holding else "."),
                                  "ok" if note else "warning" if holding else "info")
        self.attention_changed.emit(holding)

    def set_search(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)

    # -- deciding ------------------------------------------------------------------

    def _chosen(self) -> list[ForeignLine]:
        lines = selected_rows(self.table)
        if not lines:
            self.message.show_message("Select the lines to decide about (Select all for every one shown).")
        return lines

    def choose(self, action: ForeignAction) -> None:
        """Preview what ``action`` writes for the selected lines, then ask."""
        lines = self._chosen()
        if not lines:
            return
        last_day: date | None = None
        if action is ForeignAction.CANCEL and not self.default_day.isChecked():
            last_day = self.last_day.date().toPython()  # type: ignore[assignment]
        service = self.service
        self.message.show_message("Working out what it writes…")
        self.tasks.run(lambda: service.preview(lines, action, last_day),
                       lambda effects: self._confirm(lines, action, last_day, effects),
                       lambda e: self.message.show_error(e, "Previewing"), owner=self, label="preview migration")

    def _confirm(self, lines: list[ForeignLine], action: ForeignAction, last_day: date | None,
                 effects: list[Effect]) -> None:
        said = [f"• line {e.line.line.id} ({clip(e.line.company, 60)}, {clip(e.line.product, 40)}, "
                f"{e.line.line.quantity} seats, {clip(e.line.reference, 40) or 'no reference'}): "
                + (f"cannot: {e.problem}" if e.problem else "; ".join(e.writes)) for e in effects]
        self.details.setPlainText("\n".join(said))
        self.message.show_message(f"{len(lines)} line(s) chosen: what deciding writes is below.")
        refused = [e for e in effects if e.problem]
        verb = action.value
        if refused:
            self.message.show_message(f"{len(refused)} of the {len(lines)} line(s) cannot be {verb}ed (see below): "
                                      "nothing was decided.", "error")
            return
        text = (f"{verb.capitalize()} {len(lines)} line(s)? The next sync of their companies writes:\n\n"
                + "\n".join(said[:20]) + (f"\n… and {len(said) - 20} more" if len(said) > 20 else ""))
        box = message_box(self, f"{verb.capitalize()} other tools' lines", text, icon=QMessageBox.Icon.Question,
                          buttons=QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          default=QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText(verb.capitalize())
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.finished.connect(self._answered)
        self.confirmation, self._deciding = box, (lines, action, last_day)
        box.open()

    def _answered(self, _answer: int) -> None:
        box, (lines, action, last_day) = self.confirmation, self._deciding
        self.confirmation = None
        assert box is not None
        box.deleteLater()
        if box.clickedButton() is not box.button(QMessageBox.StandardButton.Yes):
            self.message.show_message("Nothing was decided.")
            return
        service, who = self.service, current_user()
        self.tasks.run(lambda: service.decide(lines, action, last_day, actor=who),
                       lambda _changed: self._decided(f"{action.value.capitalize()}: {len(lines)} line(s). The next "
                                                      "sync writes it (or use Sync now)."),
                       lambda e: self.message.show_error(e, "Deciding"), owner=self, label="decide migration")

    def forget(self) -> None:
        lines = self._chosen()
        if not lines:
            return
        service, who = self.service, current_user()
        self.tasks.run(lambda: service.forget(lines, actor=who),
                       lambda n: self._decided(f"{n} decision(s) undone: their rows are held until decided again."),
                       lambda e: self.message.show_error(e, "Undoing"), owner=self, label="forget migration")

    def _decided(self, text: str) -> None:
        self.note = text
        self.refresh()
