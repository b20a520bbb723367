"""A small chart of one license's seats over time (purchased and assigned), painted with QPainter.

The points come from the stored inventory snapshots (one per read). The
purchased line is drawn as steps (seats change at a read), assigned the
same; the gap between them is the unassigned seats.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.models.records import SeatPoint
from app.ui.formatting import MONTHS
from app.ui.widgets.tones import muted, tone


class SeatsChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: tuple[SeatPoint, ...] = ()
        self.title = ""
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(420, 160)

    def set_points(self, points: Sequence[SeatPoint], title: str = "") -> None:
        self.points = tuple(points)
        self.title = title
        self.update()

    def clear(self, title: str = "") -> None:
        self.set_points((), title)

    def paintEvent(self, event) -> None:  # Qt's signature
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        metrics = QFontMetrics(self.font())
        line = metrics.height()
        painter.setPen(text)
        painter.drawText(QRectF(8, 4, self.width() - 16, line), Qt.AlignmentFlag.AlignLeft,
                         self.title or "Seats over time")
        if len(self.points) < 1:
            painter.setPen(muted(pal))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                             "Select a license to see its seats over time" if not self.title
                             else "No reads stored yet")
            return
        top = max(max(p.purchased, p.assigned) for p in self.points)
        top = max(top, 1)
        label_width = metrics.horizontalAdvance(str(top)) + 12
        plot = QRectF(label_width, line + 14, self.width() - label_width - 12, self.height() - 2 * line - 26)
        if plot.width() < 10 or plot.height() < 10:
            return
        grid = QPen(muted(pal), 1, Qt.PenStyle.DotLine)
        for fraction, value in ((0.0, top), (0.5, top // 2), (1.0, 0)):
            level = plot.top() + plot.height() * fraction
            painter.setPen(grid)
            painter.drawLine(QPointF(plot.left(), level), QPointF(plot.right(), level))
            painter.setPen(text)
            painter.drawText(QRectF(0, level - line / 2, label_width - 6, line),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(value))
        first, last = self.points[0].fetched_at, self.points[-1].fetched_at
        span = max((last - first).total_seconds(), 1.0)

        def x(point: SeatPoint) -> float:
            if len(self.points) == 1:
                return plot.center().x()
            return plot.left() + plot.width() * (point.fetched_at - first).total_seconds() / span

        def y(value: int) -> float:
            return plot.bottom() - plot.height() * value / top

        for name, value_of in (("purchased", lambda p: p.purchased), ("assigned", lambda p: p.assigned)):
            path = QPainterPath()
            for n, point in enumerate(self.points):
                if n == 0:
                    path.moveTo(x(point), y(value_of(point)))
                else:
                    path.lineTo(x(point), path.currentPosition().y())
                    path.lineTo(x(point), y(value_of(point)))
            if len(self.points) > 1:
                path.lineTo(plot.right(), path.currentPosition().y())
            painter.setPen(QPen(tone(name, pal), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
        painter.setPen(text)
        bottom = QRectF(plot.left(), plot.bottom() + 4, plot.width(), line)
        painter.drawText(bottom, Qt.AlignmentFlag.AlignLeft, f"{first.day} {MONTHS[first.month - 1]}")
        if len(self.points) > 1:
            painter.drawText(bottom, Qt.AlignmentFlag.AlignRight, f"{last.day} {MONTHS[last.month - 1]}")
        latest = self.points[-1]
        legend = [("purchased", f"Purchased {latest.purchased}"), ("assigned", f"Assigned {latest.assigned}")]
        lx = self.width() - 12.0
        for name, label in reversed(legend):
            width = metrics.horizontalAdvance(label)
            lx -= width
            painter.setPen(text)
            painter.drawText(QRectF(lx, 4, width, line), Qt.AlignmentFlag.AlignLeft, label)
            lx -= 16
            painter.fillRect(QRectF(lx, 4 + line / 2 - 2, 12, 4), QColor(tone(name, pal)))
            lx -= 14
