"""Text from outside shown as text, never as HTML.

Company, agreement, product and profile names come from the PSA; tenant,
user and license names from Microsoft. Qt renders a string as rich text
whenever ``Qt.mightBeRichText`` guesses so (a label, a message box or a
tooltip in its default ``AutoText`` mode): a name such as
``<img src="file://…" width=20000>`` would load a local file, paint a huge
image or turn a button's text into a link. Everything the UI shows goes
through this module instead:

- ``plain(label)`` / ``PlainLabel``: a label that shows its text literally;
  ``ElidedLabel`` also keeps to one line and elides what does not fit, so a
  huge name cannot blow up the layout (``text()`` stays the whole text).
- ``tip(text)``: a tooltip (widget or item model's ``ToolTipRole``) that Qt
  shows literally, whatever the text holds.
- ``message_box`` / ``confirm``: message boxes built with ``Qt.PlainText``
  (the static ``QMessageBox.question``/``warning``/… use AutoText: never use
  them).
- ``tray_text``: a tray message's text, escaped where the system renders it
  as markup (freedesktop notifications on Linux).
- ``escape``: every outside value inside deliberate rich text (bold,
  links) goes through it.
- ``clip``: a name shortened to a sane length inside a sentence, a window
  title or a message.
"""

from __future__ import annotations

import html
import sys

from PySide6 import QtGui
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

#: How many characters of one outside value a sentence, title or message shows.
NAME_LIMIT = 200
#: An elided label never asks for more width than this (it shows the rest elided).
ELIDED_WIDTH = 640
#: ... and can shrink to this.
ELIDED_MINIMUM = 40


def might_be_rich(text: str) -> bool:
    """Qt's own guess (``Qt.mightBeRichText``): whether an AutoText widget would render ``text`` as HTML."""
    return bool(QtGui.Qt.mightBeRichText(text))


def escape(text: object) -> str:
    """An outside value ready to sit inside rich text built on purpose."""
    return html.escape(str(text), quote=True)


def clip(text: object, limit: int = NAME_LIMIT) -> str:
    """``text`` (one outside value) shortened to ``limit`` characters with an ellipsis."""
    text = str(text)
    return text if len(text) <= limit else text[:max(limit - 1, 0)] + "…"


def plain(label: QLabel, text: str | None = None) -> QLabel:
    """Make ``label`` show its text literally (never as HTML); set ``text`` if given."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setOpenExternalLinks(False)
    if text is not None:
        label.setText(text)
    return label


class PlainLabel(QLabel):
    """A QLabel that shows its text literally."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        plain(self, text)


class ElidedLabel(PlainLabel):
    """One line of plain text, elided at the right when it does not fit; ``text()`` is the whole text.

    Its size hint is bounded (``ELIDED_WIDTH``), so however long the name, the layout stays put.
    """

    def sizeHint(self) -> QSize:
        size = super().sizeHint()
        return QSize(min(size.width(), ELIDED_WIDTH), size.height())

    def minimumSizeHint(self) -> QSize:
        size = super().minimumSizeHint()
        return QSize(min(size.width(), ELIDED_MINIMUM), size.height())

    def shown_text(self) -> str:
        """What is painted: the text, elided to the label's width."""
        rect = self.contentsRect().adjusted(self.margin(), 0, -self.margin(), 0)
        first = self.text().split("\n", 1)[0]
        return self.fontMetrics().elidedText(first, Qt.TextElideMode.ElideRight, max(rect.width(), 0))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        self.drawFrame(painter)
        rect = self.contentsRect().adjusted(self.margin(), self.margin(), -self.margin(), -self.margin())
        self.style().drawItemText(painter, rect, int(self.alignment().value), self.palette(), self.isEnabled(),
                                  self.shown_text(), self.foregroundRole())
        painter.end()


def tip(text: str | None) -> str:
    """A tooltip Qt shows literally: ``text`` itself when Qt would show it as plain text, else escaped
    inside a paragraph that keeps its line breaks."""
    if not text:
        return ""
    if not might_be_rich(text):
        return text
    return f"<p style='white-space:pre-wrap'>{escape(text)}</p>"


def message_box(parent: QWidget | None, title: str, text: str, *,
                icon: QMessageBox.Icon = QMessageBox.Icon.Information,
                buttons: QMessageBox.StandardButton = QMessageBox.StandardButton.Ok,
                default: QMessageBox.StandardButton = QMessageBox.StandardButton.NoButton) -> QMessageBox:
    """A message box whose title and text show literally (``Qt.PlainText``); the caller shows it."""
    box = QMessageBox(icon, clip(title), text, buttons, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    if default != QMessageBox.StandardButton.NoButton:
        box.setDefaultButton(default)
    return box


def action_text(text: str) -> str:
    """A menu item's or button's text shown as given: Qt reads a single ``&`` as the mark of a shortcut key."""
    return text.replace("&", "&&")


def confirm(parent: QWidget | None, title: str, text: str) -> bool:
    """Ask a yes/no question in a plain-text box: True when the answer is Yes."""
    box = message_box(parent, title, text, icon=QMessageBox.Icon.Question,
                      buttons=QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                      default=QMessageBox.StandardButton.No)
    try:
        answer = box.exec()
    finally:
        box.deleteLater()
    yes = QMessageBox.StandardButton.Yes
    return answer == yes or answer == yes.value


def tray_text(text: str) -> str:
    """A tray message's text: escaped where the notification server reads markup (freedesktop's body
    markup on Linux), as is elsewhere (Windows and macOS show it plain)."""
    return html.escape(text, quote=False) if sys.platform.startswith("linux") else text


def tray_title(title: str) -> str:
    """A tray message's title: shown as is, except that a title Qt would read as HTML (its own balloon
    renders the title in AutoText) gets its ``<`` replaced by a look-alike that is not markup."""
    return title.replace("<", "\u2039") if might_be_rich(title) else title
