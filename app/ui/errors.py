"""Failures as a person reads them.

- Expected failures (``SeatsyncError`` and its subclasses) become a short
  text naming what failed and what to do (``explain``); views show it in
  their message bar, never as a traceback. A Microsoft sign-in refusal
  (an AADSTS code) is put in words, the code kept for support
  (``in_words``, also for a failure known only as text).
- Unexpected ones reach the excepthook, which logs them and shows a report
  the user can copy (``ExceptionDialog``).
- Qt's own messages (warnings about widgets, fonts, platform plugins) are
  routed into logging, so they land in the log file with everything else.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QMessageLogContext, Qt, QtMsgType, qInstallMessageHandler, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.errors import SeatsyncError
from app.services.microsoft.signin_codes import in_words
from app.ui.widgets.plain import PlainLabel, message_box

log = logging.getLogger(__name__)
qt_log = logging.getLogger("qt")


def explain(error: BaseException, *, doing: str = "") -> str:
    """A sentence or two for the window: what failed (while ``doing``), and what to do."""
    if isinstance(error, SeatsyncError):
        text = in_words(str(error))  # a Microsoft sign-in refusal says what to do itself
        if text == str(error) and error.advice and error.advice not in text:
            text = f"{text.rstrip('.')}. {error.advice}"
    else:
        text = f"An unexpected error occurred ({type(error).__name__}: {error}). It was written to the log file."
    return f"{doing}: {text}" if doing else text


def report_text(exc_type: type[BaseException], error: BaseException, tb: TracebackType | None) -> str:
    """The report a user can copy into a bug: versions, then the traceback (never a secret: no locals)."""
    versions = (f"seatsync {__version__} · Python {platform.python_version()} · Qt {qVersion()} · "
                f"PySide6 {pyside_version} · {platform.platform()}")
    trace = "".join(traceback.format_exception(exc_type, error, tb))
    return f"{versions}\n\n{trace}"


class ExceptionDialog(QDialog):
    """Shows an unexpected error's report, read-only, with a button to copy it."""

    def __init__(self, report: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("seatsync: unexpected error")
        self.resize(640, 420)
        layout = QVBoxLayout(self)
        intro = PlainLabel("Something went wrong that seatsync did not expect. Your data is safe: nothing is "
                           "written to a PSA half-way. Copy the report below into a bug report.", self)
        intro.setWordWrap(True)
        self.text = QPlainTextEdit(report, self)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = buttons.addButton("Copy report", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        layout.addWidget(intro)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())


class ExceptHook:
    """``sys.excepthook``: log the error, then show its report (only on the UI thread, once at a time)."""

    def __init__(self, parent: Callable[[], QWidget | None] = lambda: None) -> None:
        self.parent = parent
        self.dialog: ExceptionDialog | None = None
        self.previous: Callable[..., object] | None = None

    def __call__(self, exc_type: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        log.critical("unexpected error", exc_info=(exc_type, error, tb))
        if QApplication.instance() is None or threading.current_thread() is not threading.main_thread():
            return
        if self.dialog is not None and self.dialog.isVisible():
            return  # one report at a time: the first error is the one that matters
        self.dialog = ExceptionDialog(report_text(exc_type, error, tb), self.parent())
        self.dialog.show()

    def install(self) -> ExceptHook:
        self.previous, sys.excepthook = sys.excepthook, self
        return self

    def uninstall(self) -> None:
        if sys.excepthook is self and self.previous is not None:
            sys.excepthook = self.previous


_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def qt_message_handler(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    where = f" ({context.file}:{context.line})" if context.file else ""
    qt_log.log(_QT_LEVELS.get(mode, logging.WARNING), "%s%s", message, where)


def route_qt_messages() -> Callable[[], None]:
    """Send Qt's messages to logging; returns a function that restores the previous handler."""
    previous = qInstallMessageHandler(qt_message_handler)

    def restore() -> None:
        qInstallMessageHandler(previous)

    return restore


def fatal_message(title: str, text: str) -> None:
    """A blocking message before the window exists (the database or the keyring cannot be used)."""
    box = message_box(None, title, text, icon=QMessageBox.Icon.Critical)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.exec()
