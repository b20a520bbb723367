"""The shared table model keeps the boxes ticked on rows that are still there when its rows are set again."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui.views.tables import Column, RowTableModel


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
