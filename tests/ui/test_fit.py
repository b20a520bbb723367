"""The window fits a 1366×768 laptop (at 100 % and 125 %) and larger screens, and keeps a stable layout.

Every view is visited with realistic data (tests/ui/fit_check.py): the
window's minimum size must fit, must not grow after Settings or a long
message has shown, the navigation, toolbar and page must not move from one
view to the next, and Settings' "Save settings" must be reachable. The
screen's own size and scale are fixed when a process starts: the 125 % case
(and the window's first size on a real 1366×768 screen) runs in a subprocess
with the offscreen platform's screen set to that size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication

from app.ui.main_window import DEFAULT_SIZE, FRAME_ALLOWANCE, KEY_ROLE, default_geometry
from tests.ui.fit_check import visit, world

ROOT = Path(__file__).resolve().parents[2]
#: The largest minimum size that fits: 1366×768 less a 40 px taskbar at 100 %; at 125 % the logical screen is
#: 1093×614, less a 30 px title bar.
AT_100 = QSize(1366, 728)
AT_125 = QSize(1093, 584)


def fits(size: list[int] | QSize, bound: QSize) -> bool:
    width, height = (size.width(), size.height()) if isinstance(size, QSize) else size
    return width <= bound.width() and height <= bound.height()


# -- the first size -------------------------------------------------------------------------------------


@pytest.mark.parametrize("area", [QRect(0, 0, 1366, 728), QRect(0, 0, 1093, 584), QRect(0, 0, 1600, 960),
                                  QRect(1920, 0, 2560, 1400)])
def test_the_first_size_fits_the_available_area_with_the_frame_and_is_never_larger(area):
    rect = default_geometry(area)
    framed = rect.adjusted(-FRAME_ALLOWANCE.width() // 2, -(FRAME_ALLOWANCE.height() - FRAME_ALLOWANCE.width() // 2),
                           FRAME_ALLOWANCE.width() // 2, FRAME_ALLOWANCE.width() // 2)
    assert area.contains(framed), (rect, area)
    assert rect.width() == min(DEFAULT_SIZE.width(), area.width() - FRAME_ALLOWANCE.width())
    assert rect.height() == min(DEFAULT_SIZE.height(), area.height() - FRAME_ALLOWANCE.height())


def test_the_window_opens_within_this_screen(qtbot, make_shell):
    window = make_shell().window
    area = QGuiApplication.primaryScreen().availableGeometry()
    assert window.width() <= area.width() - FRAME_ALLOWANCE.width()
    assert window.height() <= area.height() - FRAME_ALLOWANCE.height()
    window.show()
    qtbot.waitExposed(window)
    assert area.contains(window.frameGeometry())


# -- every view, with realistic data ---------------------------------------------------------------------


@pytest.mark.parametrize("screen", [QSize(1366, 768), QSize(1600, 1000)])
def test_every_view_fits_the_window_never_grows_and_nothing_moves(qtbot, context, make_shell, screen):
    made = world(context)
    window = make_shell().window  # no tray: the window's status bar is there too
    window.setGeometry(default_geometry(QRect(0, 0, screen.width(), screen.height() - 40)))  # a 40 px taskbar
    window.show()
    qtbot.waitExposed(window)
    size = window.size()
    info = visit(window, made["company"].id, lambda condition: qtbot.waitUntil(condition, timeout=10000))
    steps = info["steps"]
    assert len(steps) == 2 * len(window.pages) + 2  # each view, the company page, then each again with a message
    for name, step in steps.items():
        assert fits(step["minimum"], AT_125), (name, step["minimum"])  # and so AT_100
    first = steps["companies"]
    assert all(step["minimum"] == first["minimum"] for step in steps.values()), steps  # never grows
    for name, step in steps.items():  # navigation, toolbar, page and margins stay put
        assert step["layout"] == first["layout"], name
        assert not step["scrolls"], name  # there is room: tables shrink, no page scrolls
    assert first["layout"]["margins"] == [10, 8, 10, 10]
    assert window.size() == size
    for page, save in info["save"].items():
        assert save["shown"] and save["in_window"], (page, save)
    assert info["shows_list"]


def test_save_settings_is_reachable_on_a_short_window_and_saves(qtbot, seed, make_shell):
    window = make_shell().window
    window.resize(1093, 500)  # shorter than the settings forms: they scroll
    window.show()
    qtbot.waitExposed(window)
    settings = window.navigate("settings")
    qtbot.waitUntil(lambda: settings.loaded is not None, timeout=15000)
    settings.tabs.setCurrentWidget(settings.notifications_page)
    assert settings.tabs.currentWidget() is settings.notifications_page
    scroll = settings.tabs.scroll_of(settings.notifications_page)
    button = settings.notifications_page.save_button
    qtbot.waitUntil(button.isVisible, timeout=3000)
    assert scroll.verticalScrollBar().maximum() > 0 and not scroll.shows(button)
    scroll.ensureWidgetVisible(button)
    assert scroll.shows(button)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: settings.message.text() == "Settings saved.", timeout=15000)
    assert fits(window.minimumSizeHint(), AT_125)


def test_the_guide_fits_too(qtbot, make_shell):
    window = make_shell().window
    window.setGeometry(default_geometry(QRect(0, 0, 1093, 584)))
    window.show()
    qtbot.waitUntil(lambda: window.guide_box.isVisible() and window.guide.guide is not None, timeout=15000)
    for row in range(window.nav.count()):
        window.navigate(window.nav.item(row).data(KEY_ROLE))
    assert fits(window.minimumSizeHint(), AT_125), window.minimumSizeHint()
    assert window.guide.rows["preview"].button.isVisible()


# -- navigation ---------------------------------------------------------------------------------------------


def click_nav(qtbot, window, row: int) -> None:
    rect = window.nav.visualItemRect(window.nav.item(row))
    qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_companies_in_the_navigation_shows_the_list_not_the_last_company(qtbot, contoso, make_shell):
    window = make_shell().window
    window.show()
    qtbot.waitExposed(window)
    view = window.view("companies")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1 and not view.loading, timeout=15000)

    def open_company() -> None:
        view.open_company(contoso.company.id)
        qtbot.waitUntil(lambda: view.company.detail is not None, timeout=15000)
        assert view.stack.currentWidget() is view.company

    open_company()
    click_nav(qtbot, window, 0)  # Companies, while it is the view shown
    assert view.stack.currentIndex() == 0 and view.selected_row().id == contoso.company.id
    open_company()
    click_nav(qtbot, window, 2)  # History
    assert window.current_key() == "history"
    click_nav(qtbot, window, 0)
    assert window.current_key() == "companies" and view.stack.currentIndex() == 0
    open_company()
    qtbot.keyClick(window.nav, Qt.Key.Key_Down)  # the keyboard moves through the navigation too
    qtbot.keyClick(window.nav, Qt.Key.Key_Up)
    assert window.current_key() == "companies" and view.stack.currentIndex() == 0
    open_company()
    window.show_view("history")
    window.show_view("companies")  # a view opened from elsewhere (a notice) is shown as it was left
    assert view.stack.currentWidget() is view.company


# -- 125 % and a real 1366×768 screen, in a subprocess ---------------------------------------------------------


@pytest.mark.parametrize(("scale", "bound"), [("1.25", AT_125), ("1", AT_100)])
def test_on_a_1366_by_768_screen_the_window_opens_within_it_and_every_view_fits(tmp_path, scale, bound):
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": 1366, "height": 768,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}", "QT_SCALE_FACTOR": scale}
    out = tmp_path / "views"
    result = subprocess.run([sys.executable, "-m", "tests.ui.fit_check", str(out)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=110)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["ratio"] == pytest.approx(float(scale))
    x, y, width, height = info["screen"]
    assert (width, height) == (round(1366 / float(scale)), int(768 / float(scale)))
    fx, fy, fw, fh = info["opened"]["frame"]
    assert x <= fx and y <= fy and fx + fw <= x + width and fy + fh <= y + height, info["opened"]
    assert info["opened"]["size"][1] <= height - FRAME_ALLOWANCE.height()
    for name, step in info["steps"].items():
        assert fits(step["minimum"], bound), (name, step["minimum"])
        assert not step["scrolls"], name
    for page, save in info["save"].items():
        assert save["shown"] and save["in_window"], (page, save)
    assert (out / "settings+message.png").stat().st_size > 10_000
