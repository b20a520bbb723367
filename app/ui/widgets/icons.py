"""Icons from resources/icons: the app and tray icons as drawn, toolbar glyphs in the palette's text colour.

Glyphs are drawn with ``currentColor``; it is replaced by the colour of the
palette in use when loaded, so they read on a light and a dark window alike.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app.services.catalogue import resources_dir
from app.ui.widgets.tones import palette

SIZES = (16, 20, 24, 32, 48, 64)


def icon_path(name: str) -> Path:
    return resources_dir() / "icons" / f"{name}.svg"


def app_icon(name: str = "app") -> QIcon:
    """A full-colour icon (the app, the tray states)."""
    return QIcon(str(icon_path(name)))


def glyph(name: str, color: QColor | None = None) -> QIcon:
    """A monochrome glyph in ``color`` (default: the palette's button text)."""
    color = color or palette().color(QPalette.ColorRole.ButtonText)
    return _glyph(name, color.name())


@lru_cache(maxsize=64)
def _glyph(name: str, color: str) -> QIcon:
    svg = icon_path(name).read_text(encoding="utf-8").replace("currentColor", color)
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    icon = QIcon()
    for size in SIZES:
        for ratio in (1, 2):
            pixmap = QPixmap(size * ratio, size * ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            renderer.render(painter, QRectF(0, 0, size * ratio, size * ratio))
            painter.end()
            pixmap.setDevicePixelRatio(ratio)
            icon.addPixmap(pixmap)
    return icon
