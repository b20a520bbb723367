"""Help > About seatsync, and the data folder in Settings: plain, selectable text; folders open in the system's
file manager, and a folder the system cannot open says so."""

from __future__ import annotations

import platform
import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QGuiApplication

from app import __version__
from app.ui.dialogs import about
from app.ui.dialogs.about import AboutDialog, about_info

ROOT = Path(__file__).resolve().parents[2]


class Opened(list):
    """What the window asked the system to open (nothing is really opened); ``ok``: what the system answers."""

    ok = True

    def __call__(self, url: QUrl) -> bool:
        self.append(url)
        return self.ok


@pytest.fixture
def opened(monkeypatch) -> Opened:
    system = Opened()
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(system))
    return system


def about_dialog(qtbot, window) -> AboutDialog:
    window.about_action.trigger()
    dialog = window.about_dialog
    assert isinstance(dialog, AboutDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    return dialog


def test_the_licence_shown_is_pyprojects():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    licence = project["license"]
    assert (licence["text"] if isinstance(licence, dict) else licence) == about.LICENSE
    assert about_info(Path("/data")).license == about.LICENSE


def test_about_says_version_licence_docs_data_folder_qt_and_python_as_selectable_text(qtbot, context,
                                                                                     make_shell):
    window = make_shell().window
    window.show()
    dialog = about_dialog(qtbot, window)
    values = {label: shown.text() for label, shown in dialog.values.items()}
    assert values == {"Version": __version__, "Licence": about.LICENSE, "Documentation": str(ROOT / "docs"),
                      "Data folder": str(context.data_dir), "Qt": values["Qt"],
                      "Python": f"{platform.python_version()} ({platform.python_implementation()})"}
    assert values["Qt"].startswith(qVersion())
    for shown in dialog.values.values():
        assert shown.textFormat() == Qt.TextFormat.PlainText
        assert shown.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
        assert shown.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByKeyboard
    assert dialog.windowTitle() == "About seatsync"
    assert window.about_action in window.help_menu.actions()

    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith(f"seatsync {__version__}\n")
    assert f"Data folder: {context.data_dir}" in copied and f"Licence: {about.LICENSE}" in copied
    dialog.reject()
    qtbot.waitUntil(lambda: window.about_dialog is None, timeout=3000)


def test_about_opens_the_docs_and_the_data_folder_and_says_when_it_cannot(qtbot, context, make_shell, opened):
    window = make_shell().window
    window.show()
    dialog = about_dialog(qtbot, window)
    qtbot.mouseClick(dialog.docs_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.folder_button, Qt.MouseButton.LeftButton)
    assert opened == [QUrl.fromLocalFile(str(ROOT / "docs")), QUrl.fromLocalFile(str(context.data_dir))]
    assert not dialog.note.isVisible()
    opened.ok = False
    qtbot.mouseClick(dialog.folder_button, Qt.MouseButton.LeftButton)
    assert dialog.note.isVisible()
    assert dialog.note.text() == (f"The system could not open {context.data_dir}: copy it from above and open it "
                                  "yourself.")
    dialog.reject()


def test_a_project_address_is_the_documentation_link(monkeypatch, tmp_path):
    class Meta:
        def get(self, key, default=None):
            return {"License": "Apache-2.0"}.get(key, default)

        def get_all(self, key):
            return ["Source, https://example.org/seatsync.git", "Documentation, https://example.org/seatsync/docs"] \
                if key == "Project-URL" else None

    monkeypatch.setattr(about.importlib.metadata, "metadata", lambda name: Meta())
    info = about_info(tmp_path, docs_dir=tmp_path / "no docs")
    docs = "https://example.org/seatsync/docs"
    assert (info.docs, info.docs_url) == (docs, QUrl(docs))


def test_without_docs_or_an_address_the_button_is_off(monkeypatch, tmp_path, qtbot):
    def missing(name):
        raise about.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(about.importlib.metadata, "metadata", missing)
    info = about_info(tmp_path, docs_dir=tmp_path / "no docs")
    assert info.license == about.LICENSE and info.docs_url is None
    dialog = AboutDialog(info)
    qtbot.addWidget(dialog)
    assert not dialog.docs_button.isEnabled()
    assert dialog.values["Documentation"].text() == "README.md and the docs folder of the seatsync source"


def test_settings_shows_the_data_folder_read_only_and_opens_it(qtbot, context, make_shell, opened):
    window = make_shell().window
    window.show()
    settings = window.navigate("settings")
    field = settings.data_dir
    assert field.text() == str(context.data_dir) and field.isReadOnly() and field.isVisible()
    field.selectAll()
    assert field.selectedText() == str(context.data_dir)  # selectable, to copy
    qtbot.mouseClick(settings.open_data_button, Qt.MouseButton.LeftButton)
    assert opened == [QUrl.fromLocalFile(str(context.data_dir))]
    assert not settings.message.isVisible()
    opened.ok = False
    qtbot.mouseClick(settings.open_data_button, Qt.MouseButton.LeftButton)
    assert settings.message.isVisible() and settings.message.level == "error"
    assert settings.message.text().startswith(f"The system could not open {context.data_dir}")
