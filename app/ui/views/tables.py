"""What the admin views share beside their table model (row_model.py): the table view over it, a message bar,
and small helpers.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QWidget,
)

from app.errors import SeatsyncError
from app.models.records import EditConflict
from app.ui.views.row_model import ROW_ROLE, RowTableModel, SortProxy
from app.ui.widgets.plain import plain
from app.ui.widgets.tones import follow_palette, tint, tone

log = logging.getLogger(__name__)


class ReloadingView(QWidget):
    """A view that loads again (``refresh``, from the database on a worker) each time it is shown again: the
    person comes back to it from another view, or opens the window from the tray. What was changed elsewhere
    meanwhile shows without Refresh. Its first show is its own first load's.

    After a sync (``refresh_when_seen``) it loads again at once only when it is on screen; hidden, it loads
    when it is next shown. A sync ends with one load for what the person sees, not one per view: the tray's
    background syncs read nothing for a window nobody looks at, and a window's views do not all load at once
    when a sync ends (they would contend for the interpreter with the list the person is using)."""

    #: Load again on every show; False: only when something changed while the view was hidden.
    reload_on_show = True
    _shown_before = False
    _stale = False

    def refresh(self) -> None:
        raise NotImplementedError

    def count_badge(self) -> None:
        """Hidden after a sync: what the view's badge counts, where that is cheaper than its load (nothing by
        default)."""

    def refresh_when_seen(self, *_: object) -> None:
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True
            self.count_badge()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not event.spontaneous() and (self._stale or (self._shown_before and self.reload_on_show)):
            self._stale = False
            self.refresh()
        self._shown_before = True


def table_view(model: RowTableModel[Any], parent: QWidget | None = None, *,
               multi: bool = False) -> tuple[QTableView, SortProxy]:
    if model.parent() is None and parent is not None:
        # Qt owns the model beside its proxy and view: a Python-owned model outliving a
        # deleted dialog's proxy crashes PySide when the dialog is deleted.
        model.setParent(parent)
    proxy = SortProxy(parent)
    proxy.setSourceModel(model)
    view = QTableView(parent)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection if multi
                          else QAbstractItemView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(24)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    # Columns fit the rows shown and the next 20, not all of them: a table may list 50,000 (Reports).
    view.horizontalHeader().setResizeContentsPrecision(20)
    view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
    return view, proxy


def with_details(table: QTableView, placeholder: str = "") -> tuple[QSplitter, QPlainTextEdit]:
    """``table`` above a read-only text (what the selection means, said in full), the table three times as
    tall: the splitter to lay out, and the text."""
    splitter = QSplitter(Qt.Orientation.Vertical)
    details = QPlainTextEdit()
    details.setReadOnly(True)
    details.setPlaceholderText(placeholder)
    splitter.addWidget(table)
    splitter.addWidget(details)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, 1)
    return splitter, details


def searchable(combo: QComboBox) -> QComboBox:
    """An editable combo whose typing filters its items by any part of their text (thousands of companies)."""
    combo.setEditable(True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    completer = combo.completer()
    if completer is not None:  # an editable combo has one
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    return combo


def selected_rows(view: QTableView) -> list[Any]:
    """The row values of the selected rows, in view order."""
    rows = view.selectionModel().selectedRows() if view.selectionModel() else []
    return [index.data(ROW_ROLE) for index in sorted(rows, key=lambda i: i.row())]


def set_scopes(combo: QComboBox, tenants: Iterable[tuple[str, str]], everywhere: str = "All tenants") -> None:
    """Fill a scope chooser: every tenant (data ""), then each (tenant id, name); the choice is kept."""
    current = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    combo.addItem(everywhere, "")
    for tenant_id, name in tenants:
        combo.addItem(name, tenant_id)
    combo.setCurrentIndex(max(combo.findData(current), 0))
    combo.blockSignals(False)


def current_user() -> str:
    """Who approves, rejects or cancels: the signed-in user, as the audit names them."""
    try:
        return getpass.getuser() or "seatsync user"
    except (KeyError, OSError):
        return "seatsync user"


def error_text(error: BaseException) -> str:
    """What a person reads about a failure: an expected one's own message; else a short report."""
    if isinstance(error, SeatsyncError):
        return str(error)
    log.error("unexpected failure", exc_info=error)
    return f"Unexpected error ({type(error).__name__}): {error}. Details are in the log."


class StatusLine(QLabel):
    """One line at the top of a view: what just happened, or what failed and what to do."""

    #: The levels with a colour (the tone of each); another level shows plain.
    LEVELS = ("info", "ok", "error")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        plain(self)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.level = ""
        follow_palette(self, self._restyle, now=False)
        self.hide()

    def show_message(self, text: str, level: str = "info") -> None:
        self.level = level
        self.setText(text)
        self._restyle()
        self.show()

    def _restyle(self) -> None:
        colours = (f"background:{tint(self.level).name()};border:1px solid {tone(self.level).name()};"
                   if self.level in self.LEVELS else "")
        self.setStyleSheet(f"QLabel{{{colours}padding:6px;border-radius:3px;}}")

    def show_error(self, error: BaseException, doing: str = "") -> None:
        prefix = f"{doing} failed: " if doing else ""
        self.show_message(prefix + error_text(error), "error")

    def show_edit_error(self, error: BaseException, doing: str, what: str = "The list") -> None:
        """A refused edit of a list: whose change came first (``EditConflict``), or what went wrong."""
        if isinstance(error, EditConflict):
            self.show_message(error.shown(what), "error")
        else:
            self.show_error(error, doing)

    def clear_message(self) -> None:
        self.level = ""
        self.setText("")
        self.hide()
