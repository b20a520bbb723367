"""The table model every admin view shows its rows with: ``RowTableModel`` over row dataclasses, and its proxy.

``RowTableModel`` holds a list of frozen row values and a tuple of
``Column``s (each view names its column numbers as constants). It sorts and
searches its rows itself, in Python over each row's native values (numbers,
Decimals, dates: never their text) and a search text made once per load:
Qt's sorting proxy would call back into ``data`` twice per comparison (a
table of 60,000 rows held the window seven seconds for one click on a
header) and once per column and row per search. The view's proxy only
hands it the header's sort and the search box's text, so views keep
mapping indexes through it. ``ROW_ROLE`` answers the row itself. A model may
make its first column checkable (bulk choices); checks are kept by the
row's key, across sorts, searches and loads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QIdentityProxyModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPalette

from app.ui.widgets.plain import tip
from app.ui.widgets.tones import COLOUR_ROLES, follow_palette, palette, recolour, tint

T = TypeVar("T")
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
#: How long the first search of a large table reads its cells before letting the window's events in.
SLICE_SECONDS = 0.02
_CELLS_BETWEEN_CLOCKS = 256  # rows read between two looks at the clock
#: The roles ``RowTableModel`` answers. A view painting a cell also asks for its font, colours, icon and more,
#: which Qt answers itself: those calls return at once (a table of 25 rows shown asks about 2,000 a paint).
_ANSWERED = frozenset(int(role) for role in (
    Qt.ItemDataRole.DisplayRole, ROW_ROLE, Qt.ItemDataRole.TextAlignmentRole,
    Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.CheckStateRole, Qt.ItemDataRole.BackgroundRole))
Index = QModelIndex | QPersistentModelIndex

#: Row backgrounds, named by tone: ``row_tint`` mixes the tone into the palette in use when a row is painted.
WARNING = "warning"
PROBLEM = "error"
GOOD = "ok"


def row_tint(name: str) -> QColor:
    """A row's background for tone ``name``: the palette's base with a little of the tone, readable under text."""
    pal = palette()
    return QColor.fromRgba(_row_tint(name, pal.color(QPalette.ColorRole.Base).rgba(),
                                     pal.color(QPalette.ColorRole.Window).rgba()))


@lru_cache(maxsize=64)
def _row_tint(name: str, base: int, window: int) -> int:
    """``row_tint`` in a palette of these base and window colours (all a tint reads), mixed once: each cell
    painted asks for its row's background."""
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Base, QColor.fromRgba(base))
    pal.setColor(QPalette.ColorRole.Window, QColor.fromRgba(window))
    return tint(name, pal, strength=0.2, role=QPalette.ColorRole.Base).rgba()


@dataclass(frozen=True)
class Column(Generic[T]):
    title: str
    text: Callable[[T], str]
    sort: Callable[[T], Any] | None = None  # native value; the text when None
    numeric: bool = False  # right-aligned
    tooltip: Callable[[T], str] | None = None


class RowTableModel(QAbstractTableModel, Generic[T]):
    """``rows()`` are every row loaded, in the order loaded; the model's own rows (what ``row``,
    ``replace_row`` and Qt's indexes count) are those the search lets through, in the order chosen."""

    def __init__(self, columns: Sequence[Column[T]], *, checkable: bool = False,
                 key: Callable[[T], Hashable] = id,
                 background: Callable[[T], str | QColor | None] | None = None, parent: Any = None) -> None:
        """``background`` gives a row's background: a tone name (WARNING, PROBLEM, GOOD), a colour or None."""
        super().__init__(parent)
        self.columns = tuple(columns)
        self.checkable = checkable
        self.key = key
        self.background = background
        self._loaded: list[T] = []
        self._rows: list[T] = []  # shown
        self._checked: set[Hashable] = set()
        self._sort: tuple[int, Qt.SortOrder] = (-1, Qt.SortOrder.AscendingOrder)  # -1: as loaded
        self._search = ""  # case-folded
        #: What the search looks in, per loaded row in order, made from the first search of a load on: the cells'
        #: texts, case-folded. A large table reads them in slices between events (``_read_cells``).
        self._haystacks: list[str] = []
        self._reading: list[T] | None = None  # the load whose cells are being read in slices
        # 1 ms, not 0: a zero timer's call would run again before the window's timers come due, and two slices
        # would hold it in a row. One timer: started again, it calls once, for the load being read then.
        self._next_slice = QTimer(self)
        self._next_slice.setSingleShot(True)
        self._next_slice.setInterval(1)
        self._next_slice.timeout.connect(self._read_on)
        if background is not None:
            follow_palette(self, lambda: recolour(self, COLOUR_ROLES), now=False)

    # -- contents -------------------------------------------------------------

    def set_rows(self, rows: Iterable[T], *, checked: Iterable[Hashable] | None = None) -> None:
        """Show ``rows``, sorted and searched as before. With a search typed, a load too large to search within
        one slice shows once its cells are read (``searching``); the rows shown before stay meanwhile, rather than
        an empty table."""
        self.beginResetModel()
        self._loaded = list(rows)
        self._haystacks, self._reading = [], None
        if self._search:
            self._reading = self._loaded
            self._read_cells(self._loaded, lay_out=False)
        if self._reading is None:
            self._rows = self._shown()
        wanted = set(checked) if checked is not None else self._checked
        # Only a checked row's key is looked for: a table of 50,000 rows and no box ticked needs no keys.
        self._checked = wanted & {self.key(r) for r in self._loaded} if wanted else set()
        self.endResetModel()

    def rows(self) -> list[T]:
        """Every row loaded, shown or not, in the order loaded."""
        return list(self._loaded)

    @property
    def loaded(self) -> int:
        """How many rows are loaded, shown or not (``rows()`` without the copy)."""
        return len(self._loaded)

    def row(self, position: int) -> T:
        return self._rows[position]

    def position_of(self, row: T) -> int | None:
        """Where the row of ``row``'s key is shown (None: the search hides it)."""
        key = self.key(row)
        return next((n for n, r in enumerate(self._rows) if self.key(r) == key), None)

    def checked_rows(self) -> list[T]:
        return [r for r in self._loaded if self.key(r) in self._checked]

    def set_checked(self, row: T, checked: bool) -> None:
        position = self.position_of(row)
        if position is not None:
            self.setData(self.index(position, 0), Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked,
                         Qt.ItemDataRole.CheckStateRole)
        elif checked:  # hidden by the search: nothing shown changes
            self._checked.add(self.key(row))
        else:
            self._checked.discard(self.key(row))

    def replace_row(self, row: T) -> None:
        """Put ``row`` in the place of the row of its key, shown or not."""
        key = self.key(row)
        at = next(n for n, r in enumerate(self._loaded) if self.key(r) == key)
        old, self._loaded[at] = self._loaded[at], row
        if at < len(self._haystacks):
            self._haystacks[at] = self._haystack(row)
        position = next((n for n, r in enumerate(self._rows) if r is old), None)
        if position is not None:
            self._rows[position] = row
            self.dataChanged.emit(self.index(position, 0), self.index(position, len(self.columns) - 1))

    # -- sorting and searching ------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Rows by ``column``'s native values (None last), rows of equal values in the order loaded;
        ``column`` -1: as loaded."""
        if (column, order) != self._sort:  # a view's sortByColumn asks twice
            self._sort = (column, order)
            self._lay_out()

    def set_search(self, text: str) -> None:
        """Only the rows one of whose cells shows ``text`` (any case). The first search of a large load reads
        the cells in slices between events and applies the latest text when they are read (``searching``)."""
        if text.casefold() == self._search:
            return
        self._search = text.casefold()
        if self._search and len(self._haystacks) < len(self._loaded):
            if self._reading is None:
                self._reading = self._loaded
                self._read_cells(self._loaded)
            return
        self._lay_out()

    @property
    def searching(self) -> bool:
        """Whether a search waits for the cells of the load to be read."""
        return self._reading is not None

    def _read_cells(self, load: list[T], first: bool = True, lay_out: bool = True) -> None:
        """Read the search's texts of ``load`` for ``SLICE_SECONDS``, then again after the events waiting. Read
        within the first slice (a small table), the search is done at once (and the rows laid out when
        ``lay_out``); else the rows are laid out in an event of their own."""
        deadline = time.perf_counter() + SLICE_SECONDS
        made = self._haystacks
        while len(made) < len(load):
            made.extend(map(self._haystack, load[len(made):len(made) + _CELLS_BETWEEN_CLOCKS]))
            if len(made) < len(load) and time.perf_counter() > deadline:
                self._next_slice.start()
                return
        if not first:
            self._next_slice.start()
        elif lay_out:
            self._searched()
        else:
            self._reading = None

    def _read_on(self) -> None:
        """The next slice of the load being read, or its rows laid out once read (nothing when loaded again
        without a search, or read to the end by a sort, meanwhile)."""
        load = self._reading
        if load is None:
            return
        if len(self._haystacks) < len(load):
            self._read_cells(load, first=False)
        else:
            self._searched()

    def _searched(self) -> None:
        self._reading = None
        self._lay_out()

    def _shown(self) -> list[T]:
        rows = self._loaded
        if self._search:
            if len(self._haystacks) < len(rows):  # sorted while read in slices: read the rest now
                self._haystacks.extend(map(self._haystack, rows[len(self._haystacks):]))
                self._reading = None
            needle = self._search
            rows = [r for r, haystack in zip(rows, self._haystacks, strict=True) if needle in haystack]
        column, order = self._sort
        if not 0 <= column < len(self.columns):
            return list(rows)
        values = list(map(self._sort_value(self.columns[column]), rows))
        present = [n for n, value in enumerate(values) if value is not None]
        absent = [n for n, value in enumerate(values) if value is None]  # after every value, as loaded
        descending = order == Qt.SortOrder.DescendingOrder
        try:
            present.sort(key=values.__getitem__, reverse=descending)
        except TypeError:  # values of kinds that do not compare: by their text
            present.sort(key=lambda n: str(values[n]), reverse=descending)
        return [rows[n] for n in (absent + present if descending else present + absent)]

    @staticmethod
    def _sort_value(column: Column[T]) -> Callable[[T], Any]:
        text = column.text
        return column.sort or (lambda row: text(row).casefold())

    def _haystack(self, row: T) -> str:
        return "\0".join([column.text(row) for column in self.columns]).casefold()  # no match across two cells

    def _lay_out(self) -> None:
        """Sort and search again; the views' persistent indexes (selection, current row) follow their rows,
        and are dropped for the ones no longer shown."""
        self.layoutAboutToBeChanged.emit()
        before = self._rows
        self._rows = self._shown()
        sources = self.persistentIndexList()
        if sources:
            after = {id(row): n for n, row in enumerate(self._rows)}
            moved = [after.get(id(before[i.row()])) for i in sources]
            self.changePersistentIndexList(sources, [QModelIndex() if n is None else self.index(n, i.column())
                                                     for i, n in zip(sources, moved, strict=True)])
        self.layoutChanged.emit()

    # -- Qt -------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.columns):
            return self.columns[section].title
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.checkable and index.column() == 0:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _ANSWERED:
            return None
        position = index.row()
        if not index.isValid() or not 0 <= position < len(self._rows):
            return None
        row, column = self._rows[position], self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip is not None:
            return tip(column.tooltip(row))
        if role == Qt.ItemDataRole.CheckStateRole and self.checkable and index.column() == 0:
            return Qt.CheckState.Checked if self.key(row) in self._checked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.BackgroundRole and self.background is not None:
            colour = self.background(row)
            if colour is None:
                return None
            return QBrush(row_tint(colour) if isinstance(colour, str) else colour)
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not (index.isValid() and self.checkable and index.column() == 0
                and role == Qt.ItemDataRole.CheckStateRole):
            return False
        key = self.key(self._rows[index.row()])
        state = value if isinstance(value, Qt.CheckState) else Qt.CheckState(value)
        if state == Qt.CheckState.Checked:
            self._checked.add(key)
        else:
            self._checked.discard(key)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True


class SortProxy(QIdentityProxyModel):
    """Between a view and its ``RowTableModel``: the header's sort and the search text go to the model, which
    sorts and searches itself; the proxy reorders and hides nothing (an identity proxy: a sorting proxy would
    rebuild its map of every row at each relayout: 3-5 ms of a sort's 25 at 50,000 rows)."""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._model().sort(column, order)

    def setFilterFixedString(self, pattern: str) -> None:
        """The search box's text: only rows a cell of which shows it (any case)."""
        self._model().set_search(pattern)

    def _model(self) -> RowTableModel[Any]:
        source = self.sourceModel()
        assert isinstance(source, RowTableModel)
        return source
