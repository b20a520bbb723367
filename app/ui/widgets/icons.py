"""Icons from resources/icons: the app and tray icons as drawn, toolbar glyphs in the palette's text colour.

Glyphs are drawn with ``currentColor``; it is replaced by the colour of the
palette in use each time the glyph is painted (an icon engine, not a
pixmap made once), so they read on a light and a dark window alike, and
follow the system when it switches between the two while the window is open.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from app.services.microsoft.skus import resources_dir
from app.ui.widgets.tones import palette

SIZES = (16, 20, 24, 32, 48, 64)


def icon_path(name: str) -> Path:
    return resources_dir() / "icons" / f"{name}.svg"


def app_icon(name: str = "app") -> QIcon:
    """A full-colour icon (the app, the tray states): drawn on its own background, it reads on any palette."""
    return QIcon(str(icon_path(name)))


def glyph(name: str, color: QColor | None = None) -> QIcon:
    """A monochrome glyph in ``color``; without one, in the palette's button text, whatever the palette is
    when the glyph is painted."""
    if color is not None:
        return _fixed_glyph(name, color.name())
    return QIcon(GlyphEngine(name))


def glyph_color(mode: QIcon.Mode, pal: QPalette | None = None) -> QColor:
    """The colour a palette-following glyph is drawn in, for the icon's ``mode``."""
    pal = pal or palette()
    if mode == QIcon.Mode.Disabled:
        return pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    if mode == QIcon.Mode.Selected:
        return pal.color(QPalette.ColorRole.HighlightedText)
    return pal.color(QPalette.ColorRole.ButtonText)


class GlyphEngine(QIconEngine):
    """Renders the glyph when asked, in the colour of the application's palette at that moment."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        # QIcon asks for device pixels (size × ratio) and sets the ratio on what it gets back.
        return _render(self.name, glyph_color(mode).name(), size.width(), size.height())

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        pixmap = self.pixmap(QSize(round(rect.width() * ratio), round(rect.height() * ratio)), mode, state)
        painter.drawPixmap(rect, pixmap)

    def clone(self) -> QIconEngine:
        return GlyphEngine(self.name)

    def key(self) -> str:
        return "seatsync-glyph"


@lru_cache(maxsize=256)
def _svg(name: str) -> str:
    return icon_path(name).read_text(encoding="utf-8")


@lru_cache(maxsize=256)
def _render(name: str, color: str, width: int, height: int) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(_svg(name).replace("currentColor", color).encode()))
    pixmap = QPixmap(max(width, 1), max(height, 1))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter, QRectF(0, 0, width, height))
    painter.end()
    return pixmap


@lru_cache(maxsize=64)
def _fixed_glyph(name: str, color: str) -> QIcon:
    icon = QIcon()
    for size in SIZES:
        for ratio in (1, 2):
            pixmap = QPixmap(_render(name, color, size * ratio, size * ratio))
            pixmap.setDevicePixelRatio(ratio)
            icon.addPixmap(pixmap)
    return icon
