"""Screenshots of every view of the demo's world at 1366×768, for docs/screenshots/ and the README.

    python -m tests.ui.demo_screens [OUT_DIR] [--psa KIND]

starts the demo's sandboxes (``SandboxWorld.start(..., demo=True)``), runs the
demo's first sync, opens the window at 1366×728 (a 1366×768 laptop less its
taskbar) offscreen and saves one PNG per view, a company's page, the mapping
dialog, the set-up guide of an empty install, About and the Accounts tab of
Exclusions; prints what it saved as JSON. ``tests/ui/test_demo_screens.py`` runs it in a subprocess.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
from PySide6.QtCore import QEventLoop, QSettings
from PySide6.QtWidgets import QApplication, QWidget

from app.bootstrap import open_context
from app.services.customers.company_rows import LicenseRow
from app.services.secrets import MemoryKeyring, SecretStore
from app.services.sync.scheduler import ScheduleSettings
from tests.ui.screens import wait_for

SIZE = (1366, 728)


def settle(shell) -> None:
    """Let the views' background reads land (every task delivered), then paint."""
    wait_for(lambda: shell.tasks.running == 0)
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def save(shots: dict[str, dict], out: Path, name: str, widget: QWidget) -> None:
    pixmap = widget.grab()
    path = out / f"{name}.png"
    pixmap.save(str(path))
    shots[name] = {"path": str(path), "pixels": [pixmap.width(), pixmap.height()]}


def shell_over(context, settings_path: Path):
    from app.ui.app import build_shell

    shell = build_shell(context, settings=QSettings(str(settings_path), QSettings.Format.IniFormat), tray=False,
                        schedule=ScheduleSettings(enabled=False))
    shell.window.resize(*SIZE)
    shell.window.show()
    return shell


def close(shell) -> None:
    shell.window.quitting = True
    shell.window.close()
    shell.shutdown()


def capture_demo(directory: Path, out: Path, psa: str) -> dict[str, dict]:
    from app.sandbox.world import SandboxWorld
    from app.ui.dialogs.mapping import MappingDialog
    from app.ui.views import VIEWS

    shots: dict[str, dict] = {}
    with SandboxWorld.start(directory, tenants=25, psa=psa, demo=True) as world:
        context = open_context(directory / "data", secrets=SecretStore(MemoryKeyring()), ca_file=world.tls.ca)
        try:
            world.configure(context)
            context.sync.sync(actor="demo", trigger="demo")
            shell = shell_over(context, directory / "window.ini")
            window = shell.window
            try:
                companies = window.view("companies")
                wait_for(lambda: companies.model.rowCount() > 0)
                for key, _title, _factory in VIEWS:
                    window.show_view(key)
                    settle(shell)
                    save(shots, out, key, window)
                accounts(world, context, window, shell)
                save(shots, out, "ignored-accounts", window)
                window.show_view("companies")
                row = max(range(companies.model.rowCount()), key=lambda r: companies.model.row_at(r).licenses)
                company = companies.model.row_at(row).id
                companies.open_company(company)
                page = companies.company
                wait_for(lambda: page.model.rowCount() > 0 and page.title.text() != "Loading…")
                page.select(lambda r: isinstance(r, LicenseRow) and r.mapping is not None)
                settle(shell)
                save(shots, out, "company", window)
                selected = page.selected_row()
                dialog = MappingDialog(window, companies.service.mapping_inputs(selected.target, selected.mapping))
                dialog.update_preview()
                dialog.show()
                wait_for(dialog.isVisible)
                settle(shell)
                save(shots, out, "mapping-dialog", dialog)
                dialog.close()
                about = window.show_about()
                wait_for(about.isVisible)
                save(shots, out, "about", about)
                about.close()
            finally:
                close(shell)
        finally:
            context.close()
    return shots


def accounts(world, context, window, shell) -> None:
    """Exclusions' Accounts tab: a pattern kept for every tenant, and who another one matches in one tenant (whose
    first user the MSP made its admin account)."""
    from app.billing.ignored import IgnoredAccount

    context.ignored_accounts.ignore(IgnoredAccount(pattern="*-svc@*", reason="our backup service accounts"),
                                    actor="demo")
    tenant_id = context.uow.tenants.all()[0].tenant_id
    admin = world.scenario.tenant(tenant_id).users[0]
    with world.scenario.lock:
        admin.upn = "it.admin@" + admin.upn.rpartition("@")[2]
    window.show_view("exclusions")
    view = window.view("exclusions")
    view.tabs.setCurrentWidget(view.ignored)
    view.refresh()
    panel = view.ignored
    wait_for(lambda: panel.model.rowCount() == 1 and panel.scope.findData(tenant_id) >= 0)
    panel.scope.setCurrentIndex(panel.scope.findData(tenant_id))
    panel.pattern.setText("it.admin@*")
    panel.reason.setText("our admin account")
    panel.who()
    wait_for(lambda: panel.who_button.isEnabled())
    settle(shell)


def capture_first_run(directory: Path, out: Path) -> dict[str, dict]:
    shots: dict[str, dict] = {}
    context = open_context(directory / "empty")
    try:
        shell = shell_over(context, directory / "empty-window.ini")
        try:
            guide = shell.window.guide
            wait_for(lambda: guide.isVisible() and guide.guide is not None)
            settle(shell)
            save(shots, out, "first-run", shell.window)
        finally:
            close(shell)
    finally:
        context.close()
    return shots


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    psa = argv[argv.index("--psa") + 1] if "--psa" in argv else "connectwise"
    args = [a for a in args if a != psa]
    out = Path(args[0]) if args else Path("docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    keyring.set_keyring(MemoryKeyring())
    QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="seatsync-screens-") as tmp:
        shots = capture_demo(Path(tmp), out, psa)
        shots.update(capture_first_run(Path(tmp), out))
    print(json.dumps(shots))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
