"""Qt's part of ``self-check``: the platform plugin loads and a widget lays out."""

from __future__ import annotations

import os


def qt_works() -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import __version__ as pyside_version
    from PySide6.QtWidgets import QApplication, QLabel

    QApplication.instance() or QApplication([])
    label = QLabel("seatsync")
    label.adjustSize()
    return f"PySide6 {pyside_version} on the {QApplication.platformName()} platform"
