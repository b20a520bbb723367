"""Colours that read well on the light and the dark palette alike.

Views never hard-code a colour: they ask for a tone, which is picked for the
palette in use (a darker red on a light window, a lighter one on a dark
window) so text keeps its contrast in both.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

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


def tint(name: str, pal: QPalette | None = None, strength: float = 0.16) -> QColor:
    """A background: the window colour with a little of the tone mixed in."""
    pal = pal or palette()
    return _blend(pal.color(QPalette.ColorRole.Window), tone(name, pal), strength)


def muted(pal: QPalette | None = None) -> QColor:
    """Secondary text: between the text and the window colour, still easy to read."""
    pal = pal or palette()
    text, window = pal.color(QPalette.ColorRole.WindowText), pal.color(QPalette.ColorRole.Window)
    return _blend(text, window, 0.45)


def _blend(a: QColor, b: QColor, amount: float) -> QColor:
    """``a`` moved ``amount`` of the way towards ``b``."""
    return QColor(*(round(x + (y - x) * amount) for x, y in ((a.red(), b.red()), (a.green(), b.green()),
                                                              (a.blue(), b.blue()))))
