"""Whether the window fits a screen: every view visited with realistic data, measured as it goes.

    QT_QPA_PLATFORM=offscreen:configfile=SCREEN.json python -m tests.ui.fit_check OUT_DIR

prints what it measured as JSON and saves a screenshot of each view in
OUT_DIR. The screen (its size, and QT_SCALE_FACTOR) is fixed when the
process starts, so tests/ui/test_fit.py runs it in a subprocess per screen;
``visit`` is also what the in-process tests call.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
from PySide6.QtCore import QPoint, QRect, QSettings, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QToolBar, QWidget

from app.bootstrap import open_context
from app.models.records import ConsentStatus, TenantRecord
from app.services.secrets import MemoryKeyring
from app.services.sync.scheduler import ScheduleSettings
from tests.ui.seed import CUSTOMERS, Seed, realistic_world

#: A message as long as the ones that once made the window grow (a failure that explains itself at length).
LONG_MESSAGE = ("Could not read the catalog of 'ConnectWise (main office)': the PSA did not answer in time, or "
                "answered with a server error (read timed out after 30 s). The PSA did not answer; try again in a "
                "minute, and check the PSA's status page if it keeps failing. ") * 3
SECOND_TENANT = "8f2c1d5e-0000-4000-8000-00000000ffff"


def world(context) -> dict:
    """The realistic world, with Contoso Dental billing a second tenant with a long name (its page once needed
    1,604 px)."""
    made = realistic_world(Seed(context))
    context.uow.tenants.add(TenantRecord(tenant_id=SECOND_TENANT, name="Contoso Dental Laboratories and Imaging "
                                     "Services (North East) Limited", default_domain="contosodentallabs.example",
                                     consent_status=ConsentStatus.GRANTED))
    context.uow.tenants.link(SECOND_TENANT, made["company"].id, None)
    return made


def _size(size: QSize) -> list[int]:
    return [size.width(), size.height()]


def _rect(rect: QRect) -> list[int]:
    return [rect.x(), rect.y(), rect.width(), rect.height()]


def layout_of(window) -> dict:
    """Where the window's fixed parts are, and where the current view's content starts."""
    page = window.pages[window.current_key()]
    view = window.current_view()
    toolbar = window.findChild(QToolBar, "mainToolbar")
    return {"nav": _rect(QRect(window.nav.mapTo(window, QPoint(0, 0)), window.nav.size())),
            "toolbar": _rect(QRect(toolbar.mapTo(window, QPoint(0, 0)), toolbar.size())),
            "page": _rect(QRect(page.mapTo(window, QPoint(0, 0)), page.size())),
            "margins": list(view.layout().getContentsMargins()) if view.layout() is not None else None}


def show_message(view: QWidget) -> bool:
    """Show a long message in ``view``'s message bar, if it has one."""
    bar = getattr(view, "messages", None) or getattr(view, "message", None)
    if bar is None or not hasattr(bar, "show_message"):
        return False
    try:
        bar.show_message(LONG_MESSAGE, kind="error")
    except TypeError:
        bar.show_message(LONG_MESSAGE, "error")
    return True


def save_reachable(window, page: QWidget, wait: Callable[[Callable[[], bool]], None], shot: Path | None = None) -> dict:
    """Bring ``page`` (a Settings tab) up, scroll its Save button into view: is it inside the page's viewport
    and inside the window?"""
    settings = window.navigate("settings")
    settings.tabs.setCurrentWidget(page)
    scroll = settings.tabs.scroll_of(page)
    button = page.save_button
    wait(lambda: button.isVisible())
    scroll.ensureWidgetVisible(button)
    wait(lambda: scroll.shows(button))
    inside = QRect(button.mapTo(window, QPoint(0, 0)), button.size())
    if shot is not None:
        window.grab().save(str(shot))
    return {"shown": scroll.shows(button), "in_window": window.rect().contains(inside),
            "scrolled": scroll.verticalScrollBar().value()}


def visit(window, company_id: int, wait: Callable[[Callable[[], bool]], None], out: Path | None = None) -> dict:
    """Show every view (and a company's page), each with a long message; measure the window at each step."""
    from app.ui.main_window import KEY_ROLE

    keys = [window.nav.item(n).data(KEY_ROLE) for n in range(window.nav.count())]
    steps: dict[str, dict] = {}

    def measure(name: str) -> None:
        for _ in range(3):  # and what those events posted (a scroll area shows or hides its bars on a later turn)
            QApplication.processEvents()
        page = window.pages[window.current_key()]
        steps[name] = {"minimum": _size(window.minimumSizeHint()), "layout": layout_of(window),
                       "scrolls": page.verticalScrollBar().isVisible() or page.horizontalScrollBar().isVisible()}
        if out is not None:
            window.grab().save(str(out / f"{name}.png"))

    for key in keys:
        window.navigate(key)
        measure(key)
    companies = window.view("companies")
    wait(lambda: companies.model.rowCount() == len(CUSTOMERS))
    companies.open_company(company_id)
    wait(lambda: companies.company.detail is not None)
    measure("company")
    for key in keys:
        window.navigate(key)
        show_message(window.current_view())
        measure(f"{key}+message")
    window.navigate("companies")
    companies.open_company(company_id)
    wait(lambda: companies.company.detail is not None)
    show_message(companies.company)
    measure("company+message")
    settings = window.view("settings")
    saves = {name: save_reachable(window, page, wait, out / f"settings-{name}.png" if out is not None else None)
             for name, page in (("sync", settings.sync_page), ("notifications", settings.notifications_page))}
    window.navigate("companies")
    return {"steps": steps, "save": saves, "shows_list": companies.stack.currentIndex() == 0}


def main(argv: list[str]) -> int:
    from app.ui.app import build_shell
    from tests.ui.screens import wait_for

    out = Path(argv[0]) if argv else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    keyring.set_keyring(MemoryKeyring())
    QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        context = open_context(Path(tmp) / "data")
        try:
            made = world(context)
            settings = QSettings(str(Path(tmp) / "window.ini"), QSettings.Format.IniFormat)
            shell = build_shell(context, settings=settings, run_sync=lambda *a, **k: None, tray=True,
                                schedule=ScheduleSettings(enabled=False))
            window = shell.window
            try:
                opened = {"size": _size(window.size()), "minimum": _size(window.minimumSizeHint())}
                window.show()
                wait_for(window.isVisible)
                screen = QGuiApplication.primaryScreen()
                info = {"screen": _rect(screen.availableGeometry()), "ratio": window.devicePixelRatioF(),
                        "opened": {**opened, "frame": _rect(window.frameGeometry())},
                        **visit(window, made["company"].id, wait_for, out)}
            finally:
                window.quitting = True
                window.close()
                shell.shutdown()
        finally:
            context.close()
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
