"""Colours that read well on the light and the dark palette alike, and that follow a palette change.

Views never hard-code a colour: they ask for a tone, which is picked for the
palette in use (a darker red on a light window, a lighter one on a dark
window) so text keeps its contrast in both.

The system can switch between light and dark while the window is open. Qt
repaints what it draws from the palette itself, but a colour computed once
(a style sheet built from a tone, an item model's colour roles) goes stale,
and so does the palette of any widget under a style sheet:
``follow_palette(owner, apply)`` runs ``apply`` again after each change of
the application's palette, for as long as ``owner`` lives; ``style`` and
``text_tone`` set style sheets that way, ``recolour`` repaints a model's
colour roles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import shiboken6
from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

#: (on a light palette, on a dark palette)
_TONES = {
    "error": ("#b3261e", "#ff8a80"),
    "warning": ("#8a5300", "#ffcc66"),
    "ok": ("#1e7b34", "#7ddc8f"),
    "info": ("#0b5cad", "#8ab4f8"),
    "badge": ("#c42b1c", "#e5534b"),
    "purchased": ("#0b5cad", "#8ab4f8"),
    "assigned": ("#1e7b34", "#7ddc8f"),
}


def palette() -> QPalette:
    app = QApplication.instance()
    return app.palette() if isinstance(app, QApplication) else QPalette()


def is_dark(pal: QPalette | None = None) -> bool:
    pal = pal or palette()
    return pal.color(QPalette.ColorRole.Window).lightness() < 128


def tone(name: str, pal: QPalette | None = None) -> QColor:
    light, dark = _TONES[name]
    return QColor(dark if is_dark(pal) else light)


def tint(name: str, pal: QPalette | None = None, strength: float = 0.16,
         role: QPalette.ColorRole = QPalette.ColorRole.Window) -> QColor:
    """A background: the window colour (or ``role``'s, e.g. Base under a table's rows) with a little of the
    tone mixed in."""
    pal = pal or palette()
    return _blend(pal.color(role), tone(name, pal), strength)


def muted(pal: QPalette | None = None) -> QColor:
    """Secondary text: between the text and the window colour, still easy to read."""
    pal = pal or palette()
    text, window = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
    return _blend(text, window, 0.45)


def _blend(a: QColor, b: QColor, amount: float) -> QColor:
    """``a`` moved ``amount`` of the way towards ``b``."""
    return QColor(*(round(x + (y - x) * amount) for x, y in ((a.red(), b.red()), (a.green(), b.green()),
                                                              (a.blue(), b.blue()))))


# -- following a palette change -------------------------------------------------------------------


class PaletteWatch(QWidget):
    """A window never shown, which says ``changed`` once the application's palette has changed.

    Qt 6 announces a new application palette (QApplication.setPalette, or the
    system switching between light and dark) with the ApplicationPaletteChange
    event, sent to the application and to every top-level widget;
    QGuiApplication.paletteChanged is deprecated since Qt 6.0. An event filter
    on the application would run Python for every event of every object: this
    window receives only its own few. ``changed`` comes on the next turn of the
    event loop, when every window has taken the new palette, once for a burst.
    """

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("paletteWatch")
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.setInterval(0)
        self._later.timeout.connect(self.changed)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ApplicationPaletteChange:
            self._later.start()
        return super().event(event)


_watch: PaletteWatch | None = None


def palette_watch() -> PaletteWatch:
    """The application's one PaletteWatch (made when first asked; a QApplication must exist)."""
    global _watch
    if _watch is None or not shiboken6.isValid(_watch):
        _watch = PaletteWatch()
    return _watch


class _Follower(QObject):
    """Runs ``apply`` on each palette change; a child of the owner, so the connection ends with it."""

    def __init__(self, owner: QObject, apply: Callable[[], None]) -> None:
        super().__init__(owner)
        self._apply = apply

    @Slot()
    def run(self) -> None:
        self._apply()


def follow_palette(owner: QObject, apply: Callable[[], None], *, now: bool = True) -> None:
    """Run ``apply`` (now, unless ``now`` is false) and again after each application palette change, for as
    long as ``owner`` lives. ``apply`` recomputes what was computed from the palette once: a style sheet
    (see ``style``), an item model's colour roles (see ``recolour``)."""
    if now:
        apply()
    if isinstance(QApplication.instance(), QApplication):  # no application (a model alone): nothing to repaint
        palette_watch().changed.connect(_Follower(owner, apply).run)


def style(widget: QWidget, sheet: str | Callable[[], str]) -> None:
    """Give ``widget`` a style sheet, and apply it again after each palette change.

    ``sheet`` is the sheet, or a function building it from the tones of the
    palette in use. Even a sheet without a colour needs this: Qt fixes the
    palette of a styled widget (and of its children) when the sheet is
    applied, so it would keep the old palette's colours."""
    follow_palette(widget, lambda: widget.setStyleSheet(sheet() if callable(sheet) else sheet))


def text_tone(widget: QWidget, name: str = "muted") -> None:
    """Colour ``widget``'s text with the tone ``name`` (``"muted"``: secondary text), following the palette."""
    style(widget, lambda: f"color: {(muted() if name == 'muted' else tone(name)).name()}")


COLOUR_ROLES = (Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.BackgroundRole)


def recolour(model: QAbstractItemModel, roles: Sequence[int] = COLOUR_ROLES,
             parent: QModelIndex | None = None) -> None:
    """Tell ``model``'s views that its colour roles changed (every row, and every child row of a tree), so
    they repaint with the colours of the new palette."""
    parent = QModelIndex() if parent is None else parent
    rows, columns = model.rowCount(parent), model.columnCount(parent)
    if not rows or not columns:
        return
    model.dataChanged.emit(model.index(0, 0, parent), model.index(rows - 1, columns - 1, parent), list(roles))
    if isinstance(model, QAbstractTableModel):
        return
    for row in range(rows):
        child = model.index(row, 0, parent)
        if model.hasChildren(child):
            recolour(model, roles, child)
