"""The list of companies as a table model, and the proxy that searches and filters it.

Built for thousands of rows: the model holds the service's row values and a
lower-cased search text per row, computed once per load; sorting is a
Python sort on native keys inside the model (the proxy hands ``sort`` to
it), so neither sorting nor filtering calls back into ``data`` per
comparison.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from app.services.customers.company_rows import CompanyRow, Monthly
from app.services.microsoft.signin_codes import in_words
from app.ui.formatting import NO_AMOUNT, moment, money
from app.ui.widgets.badge import BADGE_ROLE
from app.ui.widgets.plain import tip
from app.ui.widgets.tones import follow_palette, muted, recolour, tone

NAME, PSA, TENANTS, LICENSES, MONTHLY, UNMAPPED, HELD, LAST_SYNC, RESULT = range(9)
HEADERS = ("Company", "PSA", "Tenants", "Licenses", "Bills a month", "Unmapped", "Held", "Last sync", "Result")
NUMERIC = (TENANTS, LICENSES, MONTHLY, UNMAPPED, HELD)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
Index = QModelIndex | QPersistentModelIndex

_NOTHING = Decimal(-1)
RESULT_TEXT = {"never": "Never synced", "ok": "OK", "failed": "Failed", "partial": "Partly failed"}
RESULT_TONE = {"ok": "ok", "failed": "error", "partial": "warning"}


class Filter(StrEnum):
    ALL = "all"
    ATTENTION = "attention"
    UNMAPPED = "unmapped"
    FAILED = "failed"


def _sort_key(column: int):
    return {
        NAME: lambda r: r.name.casefold(),
        PSA: lambda r: r.psa.casefold(),
        TENANTS: lambda r: r.tenants,
        LICENSES: lambda r: r.licenses,
        MONTHLY: lambda r: r.monthly[0].amount if r.monthly else _NOTHING,  # nothing mapped: below every amount
        UNMAPPED: lambda r: r.unmapped,
        HELD: lambda r: r.held,
        LAST_SYNC: lambda r: r.last_sync.at.timestamp() if r.last_sync.at else 0.0,
        RESULT: lambda r: r.last_sync.status,
    }[column]


class CompanyTableModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[CompanyRow] = []
        self._search: list[str] = []
        self._sort = (NAME, Qt.SortOrder.AscendingOrder)
        # The Result and muted counts' colours are the palette's: repaint them when it changes.
        follow_palette(self, lambda: recolour(self, [Qt.ItemDataRole.ForegroundRole]), now=False)

    def set_rows(self, rows: list[CompanyRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._sort_rows()
        self.endResetModel()

    def rows(self) -> list[CompanyRow]:
        return list(self._rows)

    def row_at(self, position: int) -> CompanyRow:
        return self._rows[position]

    def haystack(self, position: int) -> str:
        return self._search[position]

    def position_of(self, company_id: int) -> int | None:
        return next((n for n, row in enumerate(self._rows) if row.id == company_id), None)

    # -- Qt ------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return _align(section)
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole and section == MONTHLY:
            return "What the company's mapped licenses bill a month, as the next sync would bill them"
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _text(row, column)
        if role == SORT_ROLE:
            return _sort_key(column)(row)
        if role == ROW_ROLE:
            return row
        if role == BADGE_ROLE and column == NAME:
            return row.attention
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _align(column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == RESULT and row.last_sync.status in RESULT_TONE:
                return tone(RESULT_TONE[row.last_sync.status])
            if column in (UNMAPPED, HELD) and not _count(row, column):
                return muted()
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == NAME:
                return tip("\n".join([row.name, *row.tenant_names]) + _attention_tip(row))
            if column in (LAST_SYNC, RESULT):
                return tip(row.last_sync.detail) or None
            if column == MONTHLY:
                return tip(_monthly_tip(row)) or None
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        before = [row.id for row in self._rows]
        self._sort = (column, order)
        self._sort_rows()
        after = {row.id: n for n, row in enumerate(self._rows)}
        sources = self.persistentIndexList()
        self.changePersistentIndexList(sources, [self.index(after[before[i.row()]], i.column()) for i in sources])
        self.layoutChanged.emit()

    def _sort_rows(self) -> None:
        column, order = self._sort
        key = _sort_key(column)
        self._rows.sort(key=lambda r: (key(r), r.name.casefold(), r.id),
                        reverse=order == Qt.SortOrder.DescendingOrder)
        self._search = [" ".join((r.name, r.identifier, r.psa, *r.tenant_names)).casefold() for r in self._rows]


def _count(row: CompanyRow, column: int) -> int:
    return row.unmapped if column == UNMAPPED else row.held


def _attention_tip(row: CompanyRow) -> str:
    parts = []
    if row.unmapped:
        parts.append(f"{row.unmapped} license(s) without a billing profile")
    if row.held:
        parts.append(f"{row.held} change(s) waiting for approval")
    if row.failed:
        parts.append("the last sync failed (Why? says what failed)")
    if row.access:
        parts.append(f"no Microsoft access to {row.access} tenant(s)")
    if row.findings:
        parts.append(f"{row.findings} kind(s) of finding of the last sync (the company's page shows them)")
    return ("\n\nNeeds attention: " + "; ".join(parts)) if parts else ""


def why(row: CompanyRow) -> tuple[str, str]:
    """Why the company's last sync failed (or partly): a headline and the details, in words and as Microsoft or
    the PSA said it."""
    last = row.last_sync
    when = f" on {moment(last.at)}" if last.at else ""
    headline = f"{row.name}: the last sync{when} {RESULT_TEXT.get(last.status, last.status).lower()}."
    said = last.detail or "seatsync kept no reason."
    worded = "; ".join(in_words(part) for part in said.split("; "))
    details = f"What failed: {worded}"
    if worded != said:
        details += f"\n\nAs Microsoft or the PSA said it: {said}"
    if row.tenant_names:
        details += "\n\nTenants: " + ", ".join(row.tenant_names)
    return headline, details


def monthly_text(amounts: tuple[Monthly, ...]) -> str:
    """Amounts a month, one per currency ("—": nothing billed)."""
    return " + ".join(money(m.amount, m.currency) for m in amounts) or NO_AMOUNT


def _monthly_tip(row: CompanyRow) -> str:
    if not row.monthly and not row.unpriced:
        return "No license of this company is mapped: it bills nothing yet."
    text = f"{monthly_text(row.monthly)} a month, as the next sync would bill the mapped licenses"
    if row.unpriced:
        text += (f"\nNot counted: {row.unpriced} line(s) whose seats are users (a user filter or UPN domain) "
                 "that seatsync has not billed yet")
    return text


def _align(column: int) -> Qt.AlignmentFlag:
    if column in NUMERIC:
        return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    return Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


def _text(row: CompanyRow, column: int) -> str:
    if column == NAME:
        return row.name if row.active else f"{row.name} (inactive in the PSA)"
    if column == PSA:
        return row.psa
    if column == TENANTS:
        return str(row.tenants)
    if column == LICENSES:
        return str(row.licenses)
    if column == UNMAPPED:
        return str(row.unmapped)
    if column == HELD:
        return str(row.held)
    if column == MONTHLY:
        return monthly_text(row.monthly)
    if column == LAST_SYNC:
        at = row.last_sync.at
        return moment(at) if at else "—"
    return RESULT_TEXT.get(row.last_sync.status, row.last_sync.status)


class CompanyFilterProxy(QSortFilterProxyModel):
    """Search (name, identifier, tenant names), the attention filters and the partner connection; sorting is the
    model's."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._filter = Filter.ALL
        self._partner = ""

    def set_search(self, text: str) -> None:
        text = text.strip().casefold()
        if text != self._text:
            self.beginFilterChange()
            self._text = text
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_filter(self, which: Filter | str) -> None:
        which = Filter(which)
        if which != self._filter:
            self.beginFilterChange()
            self._filter = which
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_partner(self, name: str) -> None:
        """Only the companies with a tenant read through this Microsoft partner connection ("": every one)."""
        if name != self._partner:
            self.beginFilterChange()
            self._partner = name
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    @property
    def current_filter(self) -> Filter:
        return self._filter

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model: CompanyTableModel = self.sourceModel()  # type: ignore[assignment]
        if self._text and self._text not in model.haystack(source_row):
            return False
        row = model.row_at(source_row)
        if self._partner and self._partner not in row.partners:
            return False
        if self._filter is Filter.ALL:
            return True
        if self._filter is Filter.ATTENTION:
            return row.attention > 0
        if self._filter is Filter.UNMAPPED:
            return row.unmapped > 0
        return row.failed

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)
