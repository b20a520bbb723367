"""About seatsync: its version and licence, where its documentation and its data are, and the Qt and Python
it runs on. Every line is plain text a person can select and copy (a support request starts here)."""

from __future__ import annotations

import importlib.metadata
import platform
from dataclasses import dataclass
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app import __version__
from app.ui.widgets.desktop import open_folder, open_url
from app.ui.widgets.icons import app_icon
from app.ui.widgets.plain import PlainLabel

#: pyproject.toml's license (a test keeps the two equal): a bundle carries no package metadata to read it from.
LICENSE = "Apache-2.0"
DESCRIPTION = "Keeps MSP customers' PSA agreements in step with their Microsoft 365 licenses."
#: The documentation beside the code in a source checkout (README.md's folder).
SOURCE_DOCS = Path(__file__).resolve().parents[3] / "docs"
SELECTABLE = Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard


@dataclass(frozen=True, kw_only=True)
class AboutInfo:
    version: str
    license: str
    docs: str  # a web address, a folder, or where to find them
    docs_url: QUrl | None  # what "Open documentation" opens (None: nothing to open)
    data_dir: Path
    qt: str
    python: str

    def lines(self) -> list[tuple[str, str]]:
        return [("Version", self.version), ("Licence", self.license), ("Documentation", self.docs),
                ("Data folder", str(self.data_dir)), ("Qt", self.qt), ("Python", self.python)]

    def text(self) -> str:
        return "\n".join([f"seatsync {self.version}", *(f"{label}: {value}" for label, value in self.lines())])


def _package() -> tuple[str, str]:
    """The installed package's licence and documentation address ("" when it states none)."""
    try:
        meta = importlib.metadata.metadata("seatsync")
    except importlib.metadata.PackageNotFoundError:
        return LICENSE, ""
    # typeshed gives PackageMetadata a get() from Python 3.12 on; the email message it is has one on 3.11 too.
    licence = meta.get("License-Expression") or meta.get("License") or LICENSE  # type: ignore[attr-defined]
    urls = {}
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        urls[label.strip().lower()] = url.strip()
    url = next((urls[k] for k in ("documentation", "docs", "homepage", "home", "source") if urls.get(k)),
               next(iter(urls.values()), "") or meta.get("Home-page") or "")  # type: ignore[attr-defined]
    return licence, url


def about_info(data_dir: Path, *, docs_dir: Path = SOURCE_DOCS) -> AboutInfo:
    licence, url = _package()
    if url:
        docs, docs_url = url, QUrl(url)
    elif docs_dir.is_dir():
        docs, docs_url = str(docs_dir), QUrl.fromLocalFile(str(docs_dir))
    else:
        docs, docs_url = "README.md and the docs folder of the seatsync source", None
    return AboutInfo(version=__version__, license=licence, docs=docs, docs_url=docs_url, data_dir=Path(data_dir),
                     qt=f"{qVersion()} (PySide6 {PySide6.__version__})",
                     python=f"{platform.python_version()} ({platform.python_implementation()})")


class AboutDialog(QDialog):
    def __init__(self, info: AboutInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = info
        self.setWindowTitle("About seatsync")
        self.setWindowIcon(app_icon())
        layout = QVBoxLayout(self)
        heading = PlainLabel(f"seatsync {info.version}", self)
        font = heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        heading.setFont(font)
        heading.setTextInteractionFlags(SELECTABLE)
        layout.addWidget(heading)
        description = PlainLabel(DESCRIPTION, self)
        description.setWordWrap(True)
        layout.addWidget(description)
        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        for label, value in info.lines():
            shown = PlainLabel(value, self)
            shown.setObjectName(f"about.{label.lower().replace(' ', '_')}")
            shown.setTextInteractionFlags(SELECTABLE)
            shown.setWordWrap(True)
            form.addRow(PlainLabel(label, self), shown)
            self.values[label] = shown
        layout.addLayout(form)
        self.note = PlainLabel(parent=self)
        self.note.setObjectName("about.note")
        self.note.setWordWrap(True)
        self.note.hide()
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.docs_button = QPushButton("Open documentation", self)
        self.docs_button.setEnabled(info.docs_url is not None)
        self.folder_button = QPushButton("Open data folder", self)
        self.copy_button = QPushButton("Copy details", self)
        self.copy_button.setToolTip("Copy these lines, to paste them into a support request")
        for button in (self.docs_button, self.folder_button, self.copy_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        layout.addWidget(buttons)
        buttons.rejected.connect(self.reject)
        self.docs_button.clicked.connect(self.open_docs)
        self.folder_button.clicked.connect(self.open_data_dir)
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(info.text()))
        self.setMinimumWidth(520)

    def open_docs(self) -> None:
        if self.info.docs_url is not None and not open_url(self.info.docs_url):
            self._could_not_open(self.info.docs)

    def open_data_dir(self) -> None:
        if not open_folder(self.info.data_dir):
            self._could_not_open(str(self.info.data_dir))

    def _could_not_open(self, where: str) -> None:
        self.note.setText(f"The system could not open {where}: copy it from above and open it yourself.")
        self.note.show()
