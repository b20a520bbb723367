"""A message bar above a view: what failed (or what to know), and what to do about it.

Expected failures show here, in the window, instead of a modal box: the
message names what failed, for which company, and what to do; an optional
action button ("Retry", "Open Settings") and a close button.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QToolButton, QWidget

from app.ui.widgets.plain import PlainLabel
from app.ui.widgets.tones import follow_palette, tint, tone


class MessageBar(QFrame):
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self.label = PlainLabel(parent=self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action = QPushButton(self)
        self.action.hide()
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action)
        layout.addWidget(close)
        self._callback: Callable[[], None] | None = None
        self.action.clicked.connect(self._act)
        self.kind = "info"
        follow_palette(self, self._restyle, now=False)
        self.hide()

    def show_message(self, text: str, *, kind: str = "error", action: str = "",
                     on_action: Callable[[], None] | None = None) -> None:
        """Show ``text``; ``kind`` is error, warning, info or ok."""
        self.kind = kind
        self.label.setText(text)
        self._restyle()
        self._callback = on_action
        self.action.setText(action)
        self.action.setVisible(bool(action and on_action))
        self.show()

    def _restyle(self) -> None:
        self.setStyleSheet(f"#messageBar {{ background: {tint(self.kind).name()}; border: 1px solid "
                           f"{tone(self.kind).name()}; border-radius: 4px; }}")

    def text(self) -> str:
        return self.label.text()

    def dismiss(self) -> None:
        self.hide()
        self.closed.emit()

    def _act(self) -> None:
        callback = self._callback
        self.hide()
        if callback is not None:
            callback()
