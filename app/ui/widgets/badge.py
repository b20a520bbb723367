"""Count badges: a small rounded pill with a number, painted beside an item's text.

``BADGE_ROLE`` on an item gives the count (0 or None: no badge). The
delegate paints the item as usual, leaving room at the right for the pill.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.ui.widgets.tones import tone

BADGE_ROLE = Qt.ItemDataRole.UserRole + 20


def badge_text(count: int) -> str:
    return "99+" if count > 99 else str(count)


def badge_size(font: QFont, text: str) -> QSize:
    metrics = QFontMetrics(font)
    height = metrics.height() + 2
    return QSize(max(height, metrics.horizontalAdvance(text) + height // 2 + 4), height)


def paint_badge(painter: QPainter, rect: QRect, count: int, font: QFont, color: QColor | None = None) -> QRect:
    """Paint the count right-aligned and vertically centred in ``rect``; return the pill's rectangle."""
    text = badge_text(count)
    small = QFont(font)
    small.setBold(True)
    small.setPointSizeF(max(font.pointSizeF() * 0.85, 6.0))
    size = badge_size(small, text)
    pill = QRect(rect.right() - size.width() - 4, rect.center().y() - size.height() // 2 + 1, size.width(),
                 size.height())
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color or tone("badge"))
    radius = size.height() / 2
    painter.drawRoundedRect(QRectF(pill), radius, radius)
    painter.setPen(QColor("white"))
    painter.setFont(small)
    painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()
    return pill


class BadgeDelegate(QStyledItemDelegate):
    """Paints an item normally, with its BADGE_ROLE count as a pill at the right."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        count = index.data(BADGE_ROLE)
        if not count:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        room = badge_size(opt.font, badge_text(int(count))).width() + 8
        widget = opt.widget
        style = widget.style() if widget is not None else None
        text = opt.text
        opt.text = ""
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        text_rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget) if style else opt.rect
        # The same inner margin QCommonStyle leaves when it draws an item's text itself.
        margin = (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1) if style else 3
        text_rect.adjust(margin, 0, -room, 0)
        painter.save()
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = opt.palette.ColorRole.HighlightedText if selected else opt.palette.ColorRole.Text
        painter.setPen(opt.palette.color(role))
        painter.setFont(opt.font)
        elided = QFontMetrics(opt.font).elidedText(text, Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, elided)
        painter.restore()
        paint_badge(painter, opt.rect, int(count), opt.font, tone("badge", opt.palette))

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        count = index.data(BADGE_ROLE)
        if count:
            size.setWidth(size.width() + badge_size(option.font, badge_text(int(count))).width() + 8)
        return size
