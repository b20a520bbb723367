"""Handing a folder or a web address to the system: its file manager, its browser."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices


def open_folder(path: Path | str) -> bool:
    """Open ``path`` in the system's file manager; False when the system could not."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


def open_url(url: QUrl) -> bool:
    """Open ``url`` (a web address or a local file) with the system's handler for it."""
    return QDesktopServices.openUrl(url)
