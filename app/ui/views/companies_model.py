"""The list of companies as a table model that sorts, searches and filters itself.

Built for thousands of rows and for a view that repaints while syncs run:
- the model holds the service's row values and a lower-cased search text
  per company, computed once per load; sorting and filtering are Python
  over native values inside the model, never a call back into ``data`` per
  comparison or per row;
- the view reads the model itself, with no proxy between: a proxy asks
  each cell's roles one call at a time (and the row and column counts with
  each), where ``multiData`` answers a cell's roles in one call. A paint is
  then a few hundred calls into Python, not thousands, each of which waits
  for the interpreter while a sync's threads hold it;
- what a paint asks of a cell (its text, alignment, colour and badge) is
  worked out once per company and kept until the company's values or the
  palette change: a repaint (a scroll, a sync's end) formats no money and
  no moment again, and asks Python only to hand the values over;
- a load that keeps the companies shown in their places (a sync's end,
  when each row's last sync changes) tells the view which columns changed,
  one column at a time: the view repaints those columns, not the list.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
    QPersistentModelIndex,
    Qt,
)

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


#: The roles a view asks of every cell at each paint, in the order a cell's ``_painted`` values keep them.
PAINTED_ROLES = (int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.TextAlignmentRole),
                 int(Qt.ItemDataRole.ForegroundRole), int(BADGE_ROLE))
PAINTED = {role: n for n, role in enumerate(PAINTED_ROLES)}
#: Every role the model answers (for a role not here, a cell holds nothing).
ANSWERED = frozenset({*PAINTED, int(SORT_ROLE), int(ROW_ROLE), int(Qt.ItemDataRole.ToolTipRole)})

#: What each column shows of a row in any role (text, tooltip, colour, badge): where these are equal for two
#: versions of a row, the column's cell is the same.
SHOWN: tuple[Callable[[CompanyRow], object], ...] = (
    lambda r: (r.name, r.active, r.tenant_names, r.unmapped, r.held, r.failed, r.access, r.findings),  # NAME
    lambda r: r.psa,
    lambda r: r.tenant_names,
    lambda r: r.licenses,
    lambda r: (r.monthly, r.unpriced),
    lambda r: r.unmapped,
    lambda r: r.held,
    lambda r: (r.last_sync.at, r.last_sync.detail),
    lambda r: (r.last_sync.status, r.last_sync.detail),
)


class CompanyTableModel(QAbstractTableModel):
    """Every company, sorted; its rows are the companies the search and the filters let through."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._all: list[CompanyRow] = []  # sorted
        self._haystacks: dict[int, str] = {}  # by company id: what the search looks in, lower case
        self._rows: list[CompanyRow] = []  # shown
        self._sort = (NAME, Qt.SortOrder.AscendingOrder)
        self._text = ""
        self._filter = Filter.ALL
        self._partner = ""
        #: By ``id`` of a row in ``_all``: what each of its cells shows at a paint (see ``PAINTED``).
        self._painted: dict[int, tuple[tuple[Any, ...], ...]] = {}
        # The Result and muted counts' colours are the palette's: repaint them when it changes.
        follow_palette(self, self._recolour, now=False)

    def _recolour(self) -> None:
        self._painted.clear()
        recolour(self, [Qt.ItemDataRole.ForegroundRole])

    def set_rows(self, rows: list[CompanyRow]) -> None:
        """Show ``rows``. When the companies shown stay the same, in the same places, the views are told only
        the columns whose cells changed; otherwise the list is laid out again."""
        old, painted = self._rows, self._painted
        self._all = self._sorted(rows)
        self._haystacks = {r.id: " ".join((r.name, r.identifier, r.psa, *r.tenant_names)).casefold() for r in rows}
        self._painted = {}
        new = self._shown()
        if not old or [r.id for r in old] != [r.id for r in new]:
            self.beginResetModel()
            self._rows = new
            self.endResetModel()
            return
        self._rows = new
        changed = []
        for n, (before, after) in enumerate(zip(old, new, strict=True)):
            if before != after:
                changed.append(n)
            elif (cells := painted.get(id(before))) is not None:
                self._painted[id(after)] = cells  # an equal row shows the same cells
        if not changed:
            return
        first, last = changed[0], changed[-1]
        for column, shown in enumerate(SHOWN):
            if any(shown(old[n]) != shown(new[n]) for n in changed):
                # One column at a time: a view repaints a column's changed cells, but the whole of itself for a
                # block of several columns.
                self.dataChanged.emit(self.index(first, column), self.index(last, column))

    def rows(self) -> list[CompanyRow]:
        """Every company, shown or not."""
        return list(self._all)

    @property
    def loaded(self) -> int:
        """How many companies are loaded, shown or not (``rows()`` without the copy)."""
        return len(self._all)

    def row_at(self, position: int) -> CompanyRow:
        return self._rows[position]

    def position_of(self, company_id: int) -> int | None:
        """Where the company is shown (None: it is not)."""
        return next((n for n, row in enumerate(self._rows) if row.id == company_id), None)

    # -- search and filters ------------------------------------------------------------

    def set_search(self, text: str) -> None:
        """Only the companies whose name, identifier, PSA or tenant names contain ``text`` (any case)."""
        text = text.strip().casefold()
        if text != self._text:
            self._text = text
            self._lay_out()

    def set_filter(self, which: Filter | str) -> None:
        which = Filter(which)
        if which != self._filter:
            self._filter = which
            self._lay_out()

    def set_partner(self, name: str) -> None:
        """Only the companies with a tenant read through this Microsoft partner connection ("": every one)."""
        if name != self._partner:
            self._partner = name
            self._lay_out()

    def _shown(self) -> list[CompanyRow]:
        text, partner, which = self._text, self._partner, self._filter
        return [row for row in self._all
                if (not text or text in self._haystacks[row.id]) and (not partner or partner in row.partners)
                and (which is Filter.ALL or (which is Filter.ATTENTION and row.attention > 0)
                     or (which is Filter.UNMAPPED and row.unmapped > 0) or (which is Filter.FAILED and row.failed))]

    def _lay_out(self) -> None:
        """Sort and filter again; the views' persistent indexes (selection, current row) follow their
        companies, and are dropped for the ones no longer shown."""
        self.layoutAboutToBeChanged.emit()
        before = [row.id for row in self._rows]
        self._rows = self._shown()
        after = {row.id: n for n, row in enumerate(self._rows)}
        sources = self.persistentIndexList()
        moved = [after.get(before[i.row()]) for i in sources]
        self.changePersistentIndexList(sources, [QModelIndex() if n is None else self.index(n, i.column())
                                                 for i, n in zip(sources, moved, strict=True)])
        self.layoutChanged.emit()

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
        return _value(self._rows[index.row()], index.column(), role) if index.isValid() else None

    def multiData(self, index: Index, span: QModelRoleDataSpan | QModelRoleData) -> None:
        """Every role a delegate asks of a cell in one call (a view asks seven a cell each paint)."""
        if not index.isValid():
            return
        row, column = self._rows[index.row()], index.column()
        painted = self._painted.get(id(row))
        if painted is None:
            painted = self._painted[id(row)] = _painted(row)
        shown = painted[column]
        cells: Any = [span] if isinstance(span, QModelRoleData) else span  # the stubs know no len() of a span
        for n in range(len(cells)):
            cell = cells[n]
            role = cell.role()
            if role not in ANSWERED:
                continue
            at = PAINTED.get(role)
            value = _value(row, column, role) if at is None else shown[at]
            if value is not None:
                cell.setData(value)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        self._all = self._sorted(self._all)
        self._lay_out()

    def _sorted(self, rows: list[CompanyRow]) -> list[CompanyRow]:
        column, order = self._sort
        key = _sort_key(column)
        return sorted(rows, key=lambda r: (key(r), r.name.casefold(), r.id),
                      reverse=order == Qt.SortOrder.DescendingOrder)


def _painted(row: CompanyRow) -> tuple[tuple[Any, ...], ...]:
    """For each column of ``row``, what a paint asks of its cell, in the order of ``PAINTED_ROLES``."""
    return tuple(tuple(_value(row, column, role) for role in PAINTED_ROLES) for column in range(len(HEADERS)))


def _value(row: CompanyRow, column: int, role: int) -> Any:
    """What the cell of ``row`` in ``column`` holds in ``role`` (None: nothing)."""
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
