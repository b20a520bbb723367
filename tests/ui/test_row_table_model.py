"""The shared table model: it keeps the boxes ticked on rows still there when its rows are set again, and sorts and
searches its rows itself, reading each row once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QTableView, QWidget

from app.ui.views import row_model
from app.ui.views.row_model import Column, RowTableModel
from app.ui.views.tables import selected_rows, table_view


def model() -> RowTableModel[str]:
    return RowTableModel((Column("Name", lambda s: s),), checkable=True, key=str.lower)


def ticked(m: RowTableModel[str]) -> list[str]:
    return [m.data(m.index(i, 0)) for i in range(m.rowCount())
            if m.data(m.index(i, 0), Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked]


def test_rows_set_again_keep_the_ticks_of_the_rows_still_there(qtbot):
    m = model()
    m.set_rows(["Alpha", "Beta", "Gamma"], checked=["alpha", "gamma", "delta"])  # delta is no row: not kept
    assert ticked(m) == ["Alpha", "Gamma"]
    m.set_rows(["Beta", "GAMMA", "Epsilon"])
    assert ticked(m) == ["GAMMA"] and m.checked_rows() == ["GAMMA"]
    m.set_rows(["Alpha", "Beta"])  # gamma left: its tick with it, and it does not come back with the row
    m.set_rows(["Alpha", "Gamma"])
    assert ticked(m) == [] and m.checked_rows() == []


def test_rows_set_with_no_ticks_have_none(qtbot):
    m = model()
    m.set_rows(["Alpha"], checked=["alpha"])
    m.set_rows(["Alpha", "Beta"], checked=[])
    assert ticked(m) == []


# -- sorting and searching: in the model, each row read once --------------------------------------------------------


@dataclass(frozen=True)
class Seat:
    name: str
    seats: int | None


class Counted:
    """A column function that counts its calls."""

    def __init__(self, read: Callable[[Seat], Any]) -> None:
        self.read, self.calls = read, 0

    def __call__(self, row: Seat) -> Any:
        self.calls += 1
        return self.read(row)


SEATS = [Seat("Contoso", 10), Seat("Fabrikam", 2), Seat("Northwind", None), Seat("Tailspin", 2), Seat("Adatum", 30)]


def seat_table(qtbot, rows=SEATS, *, show: bool = True) -> tuple[RowTableModel[Seat], QTableView, Counted, Counted]:
    seats = Counted(lambda r: r.seats)
    names = Counted(lambda r: r.name)
    m = RowTableModel((Column("Company", names), Column("Seats", lambda r: "" if r.seats is None else str(r.seats),
                                                         seats, numeric=True)), key=lambda r: r.name)
    view, _ = table_view(m)
    qtbot.addWidget(view)
    if show:
        view.show()
    m.set_rows(rows)
    return m, view, seats, names


def shown(view: QTableView) -> list[str]:
    """The names the view shows, in its order (read from the rows: no cell's text is made)."""
    proxy = view.model()
    return [proxy.sourceModel().row(proxy.mapToSource(proxy.index(n, 0)).row()).name
            for n in range(proxy.rowCount())]


def click_header(qtbot, view: QTableView, column: int) -> None:
    header = view.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(column) + 5, header.height() // 2))


def test_a_click_on_a_header_sorts_by_native_values_reading_each_row_once(qtbot):
    m, view, seats, _ = seat_table(qtbot)
    assert shown(view) == ["Contoso", "Fabrikam", "Northwind", "Tailspin", "Adatum"]  # as loaded
    click_header(qtbot, view, 1)
    # 2 before 10 (numbers, not their text), equal seats in the order loaded, no seats last
    assert shown(view) == ["Fabrikam", "Tailspin", "Contoso", "Adatum", "Northwind"]
    assert seats.calls == len(SEATS)  # a proxy's sort asks twice a comparison
    click_header(qtbot, view, 1)
    assert shown(view) == ["Northwind", "Adatum", "Contoso", "Fabrikam", "Tailspin"]
    m.set_rows([*SEATS, Seat("Woodgrove", 12)])  # loaded again: still sorted as the person chose
    assert shown(view) == ["Northwind", "Adatum", "Woodgrove", "Contoso", "Fabrikam", "Tailspin"]


def test_values_that_do_not_compare_sort_by_their_text(qtbot):
    m = RowTableModel((Column("Value", str, lambda r: r),))
    m.set_rows([3, "b", 1, None, "a"])
    m.sort(0)
    assert m.rows() == [3, "b", 1, None, "a"] and [m.row(n) for n in range(5)] == [1, 3, "a", "b", None]


def test_the_search_reads_each_cell_once_a_load_and_finds_text_within_one_cell(qtbot):
    m, view, _, names = seat_table(qtbot, show=False)  # nothing painted: the search alone reads the cells
    proxy = view.model()
    proxy.setFilterFixedString("TAIL")
    assert shown(view) == ["Tailspin"] and names.calls == len(SEATS)
    proxy.setFilterFixedString("o")
    assert shown(view) == ["Contoso", "Northwind"] and names.calls == len(SEATS)  # the same texts, kept
    proxy.setFilterFixedString("spin2")  # "Tailspin" then "2": two cells, no match
    assert shown(view) == []
    proxy.setFilterFixedString("")
    assert len(shown(view)) == len(SEATS)
    proxy.setFilterFixedString("wood")
    m.set_rows([*SEATS, Seat("Woodgrove", 12)])
    assert shown(view) == ["Woodgrove"] and names.calls == 2 * len(SEATS) + 1
    assert m.loaded == len(SEATS) + 1 == len(m.rows())  # every row loaded, shown or not


def test_the_selection_follows_its_row_through_a_sort_and_a_search(qtbot):
    m, view, _, _ = seat_table(qtbot)
    view.selectRow(1)  # Fabrikam
    click_header(qtbot, view, 1)
    assert selected_rows(view) == [Seat("Fabrikam", 2)] and view.currentIndex().row() == 0
    view.model().setFilterFixedString("a")  # Fabrikam still shown, elsewhere
    assert shown(view) == ["Fabrikam", "Tailspin", "Adatum"] and selected_rows(view) == [Seat("Fabrikam", 2)]
    view.model().setFilterFixedString("contoso")
    assert selected_rows(view) == []


def test_rows_hidden_by_the_search_are_kept_ticked_and_replaced(qtbot):
    m = RowTableModel((Column("Company", lambda r: r.name), Column("Seats", lambda r: str(r.seats))), checkable=True,
                      key=lambda r: r.name)
    m.set_rows(SEATS)
    m.set_search("contoso")
    m.set_checked(Seat("Adatum", 30), True)  # hidden
    m.replace_row(Seat("Fabrikam", 7))  # hidden
    assert [m.row(0)] == [Seat("Contoso", 10)] and m.rowCount() == 1
    assert m.checked_rows() == [Seat("Adatum", 30)]
    assert m.rows() == [Seat("Contoso", 10), Seat("Fabrikam", 7), *SEATS[2:]]
    m.set_search("7")  # the replaced row is searched as it is now
    assert [m.row(n) for n in range(m.rowCount())] == [Seat("Fabrikam", 7)]
    m.set_search("")
    assert ticked(m) == ["Adatum"]


def test_a_large_tables_first_search_reads_its_cells_between_the_windows_events(qtbot, monkeypatch):
    monkeypatch.setattr(row_model, "SLICE_SECONDS", 0.0)  # each slice as short as can be: 256 rows
    m = RowTableModel((Column("Company", lambda r: r.name),))
    m.set_rows([Seat(f"Company {n}", n) for n in range(1000)])
    m.set_search("company 99")
    assert m.searching and m.rowCount() == 1000  # not applied yet: the window's events come first
    m.set_search("company 999")  # typed on meanwhile: the latest text applies once the cells are read
    qtbot.waitUntil(lambda: not m.searching)
    assert [m.row(n).name for n in range(m.rowCount())] == ["Company 999"]

    m.set_search("")
    m.set_rows([Seat(f"Company {n}", n) for n in range(600)])
    m.set_search("company 5")
    assert m.searching
    m.sort(0, Qt.SortOrder.DescendingOrder)  # a sort meanwhile reads the rest at once
    assert not m.searching and m.rowCount() == 111 and m.row(0).name == "Company 599"
    m.set_search("")
    m.set_rows([Seat(f"Company {n}", n) for n in range(600)])
    m.set_search("company 4")
    assert m.searching
    m.set_rows([Seat("Company 4", 4)])  # loaded again meanwhile: small, searched at once
    assert not m.searching and m.rowCount() == 1
    qtbot.wait(20)  # what was left of the earlier reading lays nothing out
    assert [m.row(n).name for n in range(m.rowCount())] == ["Company 4"]
    m.set_rows([Seat(f"Company {n}", n) for n in range(500)])  # large: shown once its cells are read...
    assert m.searching and [m.row(n).name for n in range(m.rowCount())] == ["Company 4"]  # ...the last rows till then
    qtbot.waitUntil(lambda: not m.searching)
    assert m.rowCount() == 111 and m.row(0).name == "Company 499"  # 4, 40-49, 400-499; still sorted


def test_a_search_read_in_slices_ends_with_its_table(qtbot, monkeypatch):
    monkeypatch.setattr(row_model, "SLICE_SECONDS", 0.0)
    window = QWidget()
    m: RowTableModel[Seat] = RowTableModel((Column("Company", lambda r: r.name),))
    table_view(m, window)  # the window owns the model
    m.set_rows([Seat(f"Company {n}", n) for n in range(1000)])
    m.set_search("company 9")
    assert m.searching
    shiboken6.delete(window)  # closed meanwhile: what is left of the reading is never called
    qtbot.wait(30)
