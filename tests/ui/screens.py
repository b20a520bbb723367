"""Screenshots of the Companies area with realistic data.

    python -m tests.ui.screens OUT_DIR [--dark]

writes companies.png, company.png and mapping-dialog.png of a seeded world
and prints what it measured as JSON (docs/screenshots/ holds the demo's
pictures instead: tests/ui/demo_screens.py). The tests
run it in a subprocess at 150 % (QT_SCALE_FACTOR) and in a dark palette.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
from PySide6.QtCore import QEventLoop, QSettings
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QToolBar

from app.bootstrap import open_context
from app.services.customers.company_rows import LicenseRow
from app.services.secrets import MemoryKeyring
from app.services.sync.scheduler import ScheduleSettings
from tests.ui.seed import CUSTOMERS, SPB, TODAY, Seed, realistic_world, users

SIZE = (1280, 780)


def dark_palette() -> QPalette:
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#202124", QPalette.ColorRole.WindowText: "#e8eaed",
        QPalette.ColorRole.Base: "#17181a", QPalette.ColorRole.AlternateBase: "#232427",
        QPalette.ColorRole.Text: "#e8eaed", QPalette.ColorRole.Button: "#2b2c2f",
        QPalette.ColorRole.ButtonText: "#e8eaed", QPalette.ColorRole.Highlight: "#3b6fb6",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#2b2c2f",
        QPalette.ColorRole.ToolTipText: "#e8eaed", QPalette.ColorRole.PlaceholderText: "#9aa0a6",
    }
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#80868b"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#80868b"))
    return palette


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Run the event loop until ``condition`` holds (the script's qtbot.waitUntil)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def capture(context, out: Path, settings_path: Path) -> dict:
    from app.ui.app import build_shell
    from app.ui.dialogs.mapping import MappingDialog

    out.mkdir(parents=True, exist_ok=True)
    world = realistic_world(Seed(context))
    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    shell = build_shell(context, settings=settings, run_sync=lambda *a, **k: None, tray=True,
                        schedule=ScheduleSettings(enabled=False))
    window = shell.window
    try:
        window.resize(*SIZE)
        window.show()
        view = window.view("companies")
        view.service.today = lambda: TODAY
        view.service.read_users = lambda tenant: users("contosodental.example", 23, [SPB])
        wait_for(lambda: view.model.rowCount() == len(CUSTOMERS))
        view.select_company(world["company"].id)
        shots = {"companies": window.grab()}
        view.open_company(world["company"].id)
        wait_for(lambda: view.company.model.rowCount() > 0 and view.company.title.text() != "Loading…")
        view.company.select(lambda row: isinstance(row, LicenseRow) and row.license.sku_id == SPB)
        wait_for(lambda: len(view.company.chart.points) > 1)
        shots["company"] = window.grab()
        row = view.company.selected_row()
        inputs = view.service.mapping_inputs(row.target, row.mapping)
        dialog = MappingDialog(window, inputs)
        dialog.usernames.setChecked(True)
        dialog.included.setValue(2)
        dialog.minimum.setValue(10)
        dialog.update_preview()
        dialog.show()
        wait_for(dialog.isVisible)
        shots["mapping-dialog"] = dialog.grab()
        info: dict = {"device_pixel_ratio": window.devicePixelRatioF()}
        for name, pixmap in shots.items():
            path = out / f"{name}.png"
            pixmap.save(str(path))
            info[name] = {"path": str(path), "pixels": [pixmap.width(), pixmap.height()],
                          "ratio": pixmap.devicePixelRatio()}
        toolbar = window.findChild(QToolBar, "mainToolbar")
        info["toolbar_fits"] = toolbar.sizeHint().width() <= window.width()
        info["window"] = [window.width(), window.height()]
        info["preview"] = dialog.preview.summary
        dialog.close()
        return info
    finally:
        window.quitting = True
        window.close()
        shell.shutdown()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("screens")
    keyring.set_keyring(MemoryKeyring())
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if "--dark" in argv:
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    with tempfile.TemporaryDirectory() as tmp:
        context = open_context(Path(tmp) / "data")
        try:
            info = capture(context, out, Path(tmp) / "window.ini")
        finally:
            context.close()
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
