"""Pages that scroll instead of growing the window.

A page taller or wider than the room the window gives it (Settings' forms on
a 1366×768 laptop, a view with a long message) scrolls inside a
``ScrollPage``: the window's minimum size stays that of the window's own
parts, whatever page is shown or was shown before, and every button stays
reachable. ``PageTabs`` is a tab widget whose pages each scroll, while the
tab bar stays in place; a page is still addressed by itself
(``setCurrentWidget(page)``), not by its scroll area.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QVBoxLayout, QWidget

#: The smallest a scrolling page asks to be: room for a few lines and its scroll bars.
PAGE_MINIMUM = QSize(160, 120)


class _Sheet(QVBoxLayout):
    """Holds the page at the viewport's size. It says it has no height-for-width, so the scroll area scrolls only
    when the viewport is smaller than the page's minimum size, not whenever it is shorter than the height the
    page's wrapped text would like (a table shrinks first, and no page scrolls inside another)."""

    def hasHeightForWidth(self) -> bool:
        return False


class ScrollPage(QScrollArea):
    """``page`` at the viewport's size, or at its own minimum size with scroll bars when the viewport is smaller."""

    def __init__(self, page: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("scrollPage")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        sheet = QWidget(self)
        layout = _Sheet(sheet)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(page)
        self._page = page
        self.setWidget(sheet)
        self.viewport().setAutoFillBackground(False)
        sheet.setAutoFillBackground(False)

    def page(self) -> QWidget:
        return self._page

    def minimumSizeHint(self) -> QSize:
        return PAGE_MINIMUM

    def shows(self, widget: QWidget) -> bool:
        """Whether ``widget`` is wholly inside the visible part of the page (scrolled into view)."""
        viewport = self.viewport()
        top_left = widget.mapTo(viewport, widget.rect().topLeft())
        bottom_right = widget.mapTo(viewport, widget.rect().bottomRight())
        return widget.isVisibleTo(self) and viewport.rect().contains(top_left) \
            and viewport.rect().contains(bottom_right)


class PageTabs(QTabWidget):
    """Tabs whose pages scroll when the window is smaller than them."""

    def add_page(self, page: QWidget, title: str) -> int:
        return self.addTab(ScrollPage(page, self), title)

    def scroll_of(self, page: QWidget) -> ScrollPage | None:
        for index in range(self.count()):
            scroll = super().widget(index)
            if isinstance(scroll, ScrollPage) and scroll.page() is page:
                return scroll
        return None

    def setCurrentWidget(self, page: QWidget) -> None:
        super().setCurrentWidget(self.scroll_of(page) or page)

    def currentWidget(self) -> QWidget:
        current = super().currentWidget()
        return current.page() if isinstance(current, ScrollPage) else current

    def indexOf(self, page: QWidget) -> int:
        return super().indexOf(self.scroll_of(page) or page)
