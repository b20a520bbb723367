"""The system switches between light and dark while the window is open: every colour follows, none stays stale.

Each test builds the real window over a seeded database, shows the views with
coloured elements, switches the application palette to a dark one and back,
and checks the colours actually used afterwards: style sheets, item models'
colour roles, glyph pixmaps, and pixels of grabbed widgets.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from app.services.customers.company_rows import MISSING_PROFILE, LicenseRow
from app.ui.dialogs.mapping import MappingDialog
from app.ui.views.companies_model import HELD, RESULT
from app.ui.views.license_model import MAPPING
from app.ui.views.row_model import WARNING, row_tint
from app.ui.widgets.icons import glyph_color
from app.ui.widgets.tones import muted, palette_watch, tint, tone
from tests.ui.conftest import applied_summary
from tests.ui.screens import dark_palette
from tests.ui.seed import SPB
from tests.ui.test_companies import painted

WINDOW = QPalette.ColorRole.Window
#: Set to a directory to keep the grabs (light, dark, light again) and look at them.
GRABS = os.environ.get("SEATSYNC_PALETTE_GRABS", "")


@pytest.fixture
def palettes(qapp):
    """(light, dark); the light one is put back after the test."""
    light = QPalette(qapp.palette())
    yield light, dark_palette()
    qapp.setPalette(light)
    QApplication.processEvents()


def switch(qtbot, window: QWidget, pal: QPalette) -> QPalette:
    """Make ``pal`` the application's palette, as the system does; wait until the window has it and what
    follows the palette has followed."""
    with qtbot.waitSignal(palette_watch().changed, timeout=3000):
        QApplication.setPalette(pal)
    qtbot.waitUntil(lambda: window.palette().color(WINDOW) == pal.color(WINDOW), timeout=3000)
    return QApplication.palette()


def has_colour(image: QImage, colour: QColor) -> bool:
    """Whether some pixel of ``image`` is exactly ``colour`` (a byte search: a grab has ~10⁵ pixels)."""
    data = bytes(image.convertToFormat(QImage.Format.Format_RGB32).constBits())
    pattern = bytes((colour.blue(), colour.green(), colour.red(), 0xFF))
    at = data.find(pattern)
    while at != -1 and at % 4:
        at = data.find(pattern, at + 1)
    return at != -1


def ink(icon: QIcon) -> set[str]:
    """The colours of a glyph's opaque pixels (antialiased edges left out)."""
    image = icon.pixmap(32).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    return {image.pixelColor(x, y).name() for x in range(image.width()) for y in range(image.height())
            if image.pixelColor(x, y).alpha() == 255}


def save(widget: QWidget, name: str, phase: str) -> None:
    if GRABS:
        Path(GRABS).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(GRABS) / f"{name}-{phase}.png"))


def colour_changes(model) -> list[list[int]]:
    """Record the roles of each dataChanged the model emits."""
    seen: list[list[int]] = []
    model.dataChanged.connect(lambda first, last, roles=(): seen.append([int(r) for r in roles]))
    return seen


@pytest.fixture
def company_page(qtbot, contoso, make_shell, fake_sync):
    """The window on Contoso Dental's page after a sync, a license selected (its chart drawn), a message shown."""
    fake_sync.summary = applied_summary(contoso.tenant, "Contoso Dental", contoso.m365.id, contoso.bp.product.id)
    shell = make_shell()
    window = shell.window
    window.resize(1180, 760)
    window.show()
    qtbot.waitExposed(window)
    companies = window.view("companies")
    qtbot.waitUntil(lambda: companies.model.rowCount() == 1, timeout=15000)
    with qtbot.waitSignal(companies.company.loaded, timeout=15000):
        companies.open_company(contoso.company.id)
    page = companies.company
    with qtbot.waitSignal(shell.sync.finished, timeout=15000):
        qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.result.isVisibleTo(page), timeout=15000)
    qtbot.waitUntil(lambda: companies.model.row_at(0).last_sync.status == "ok", timeout=15000)
    qtbot.waitUntil(lambda: bool(page.sync_status.text()), timeout=15000)  # the page read again after the sync
    assert page.select(lambda row: isinstance(row, LicenseRow) and row.license.sku_id == SPB)
    qtbot.waitUntil(lambda: len(page.chart.points) == 5, timeout=15000)
    page.messages.show_message("Could not reach the PSA for Contoso Dental: check the connection in Settings.",
                               kind="warning")
    return window, companies, page


def missing_profile_index(page) -> QModelIndex:
    model = page.model
    return next(model.index(n, MAPPING) for n in range(model.rowCount())
                if model.index(n, MAPPING).data() == MISSING_PROFILE)


def test_the_companies_list_and_a_companys_page_follow_the_palette(qtbot, palettes, company_page):
    window, companies, page = company_page
    list_changes, license_changes = colour_changes(companies.model), colour_changes(page.model)
    save(window, "company", "light")
    for phase, wanted in (("dark", palettes[1]), ("light-again", palettes[0])):
        pal = switch(qtbot, window, wanted)
        save(window, "company", phase)
        save(companies.stack.widget(0), "companies", phase)
        other = palettes[0] if phase == "dark" else palettes[1]

        # Style sheets built from the palette: the list's count, the message bar, the sync's result.
        assert companies.count_label.styleSheet() == f"color: {muted(pal).name()}"
        assert companies.empty.styleSheet() == f"color: {muted(pal).name()}"
        assert tint("warning", pal).name() in page.messages.styleSheet()
        assert tone("warning", pal).name() in page.messages.styleSheet()
        assert tint("ok", pal).name() in page.result.styleSheet()
        assert tint("ok", other).name() not in page.result.styleSheet()
        bar = page.messages.grab().toImage()
        assert bar.pixelColor(6, bar.height() // 2) == tint("warning", pal)
        panel = page.result.grab().toImage()
        assert panel.pixelColor(4, panel.height() // 2) == tint("ok", pal)

        # Item models: the colour roles answer from the new palette, and the views were told.
        row = companies.model.index(0, RESULT)
        assert row.data(Qt.ItemDataRole.ForegroundRole) == tone("ok", pal)
        assert painted(companies.model, 0, RESULT, Qt.ItemDataRole.ForegroundRole) == tone("ok", pal)  # not kept
        assert companies.model.index(0, HELD).data(Qt.ItemDataRole.ForegroundRole) == muted(pal)
        assert missing_profile_index(page).data(Qt.ItemDataRole.ForegroundRole) == tone("error", pal)
        assert any(Qt.ItemDataRole.ForegroundRole in roles for roles in list_changes)
        assert any(Qt.ItemDataRole.ForegroundRole in roles for roles in license_changes)
        list_changes.clear()
        license_changes.clear()

        # Glyphs (the toolbar's, the page's buttons) are drawn in the palette's button text.
        text = pal.color(QPalette.ColorRole.ButtonText).name()
        assert ink(window.sync_action.icon()) == {text}
        assert ink(page.back.icon()) == {text}
        assert ink(page.map_button.icon()) == {text}
        disabled = page.merge_button.icon().pixmap(32, QIcon.Mode.Disabled).toImage()
        assert has_colour(disabled, glyph_color(QIcon.Mode.Disabled, pal))

        # What is painted from the palette: the chart's lines, the navigation's badge.
        chart = page.chart.grab().toImage()
        assert has_colour(chart, tone("purchased", pal)) and has_colour(chart, tone("assigned", pal))
        assert not has_colour(chart, tone("purchased", other))
        nav = window.nav.grab().toImage()
        assert window.badge("companies") > 0
        assert has_colour(nav, tone("badge", pal)) and not has_colour(nav, tone("badge", other))
        # A style sheet, even without a colour, fixes a widget's palette: the navigation's is applied again.
        assert nav.pixelColor(nav.width() // 2, nav.height() - 20) == pal.color(QPalette.ColorRole.Base)


def test_table_rows_message_lines_and_form_errors_follow_the_palette(qtbot, palettes, contoso, make_shell):
    window = make_shell().window
    window.resize(1180, 760)
    window.show()
    qtbot.waitExposed(window)
    window.show_view("reports")
    reports = window.current_view()
    qtbot.waitUntil(lambda: reports.rows.rowCount() > 0, timeout=15000)
    unmapped = next(n for n, row in enumerate(reports.rows.rows()) if not row.mapped)
    reports.message.show_message("Exported the reconciliation to contoso.csv", "ok")
    profiles = window.view("profiles")
    profiles.editor.error.setText("A fixed price needs an amount, e.g. 22.00")
    changes = colour_changes(reports.rows)
    save(reports, "reports", "light")
    for phase, wanted in (("dark", palettes[1]), ("light-again", palettes[0])):
        pal = switch(qtbot, window, wanted)
        save(reports, "reports", phase)
        background = reports.rows.index(unmapped, 0).data(Qt.ItemDataRole.BackgroundRole)
        assert background.color() == row_tint(WARNING)
        assert row_tint(WARNING) == tint("warning", pal, 0.2, QPalette.ColorRole.Base)
        assert any(Qt.ItemDataRole.BackgroundRole in roles for roles in changes)
        changes.clear()
        assert tint("ok", pal).name() in reports.message.styleSheet()
        assert tone("ok", pal).name() in reports.message.styleSheet()
        line = reports.message.grab().toImage()
        assert line.pixelColor(3, line.height() // 2) == tint("ok", pal)
        assert profiles.editor.error.styleSheet() == f"color: {tone('error', pal).name()}"


def test_the_mapping_dialog_follows_the_palette_while_open(qtbot, palettes, contoso, make_shell):
    window = make_shell().window
    window.show()
    companies = window.view("companies")
    qtbot.waitUntil(lambda: companies.model.rowCount() == 1, timeout=15000)
    with qtbot.waitSignal(companies.company.loaded, timeout=15000):
        companies.open_company(contoso.company.id)
    page = companies.company
    assert page.select(lambda row: isinstance(row, LicenseRow) and row.license.sku_id == SPB)
    row = page.selected_row()
    dialog = MappingDialog(window, page.service.mapping_inputs(row.target, row.mapping))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    panel = dialog.findChild(QWidget, "previewPanel")
    save(dialog, "mapping", "light")
    for phase, wanted in (("dark", palettes[1]), ("light-again", palettes[0])):
        pal = switch(qtbot, dialog, wanted)
        save(dialog, "mapping", phase)
        assert tint("info", pal).name() in panel.styleSheet()
        assert panel.grab().toImage().pixelColor(3, panel.height() // 2) == tint("info", pal)
        assert dialog.problem.styleSheet() == f"color: {tone('error', pal).name()}"
        assert f"color:{muted(pal).name()}" in dialog.preview_label.text()  # "Choose a billing profile…"


def test_a_companys_subtitle_follows_the_palette(qtbot, palettes, company_page):
    window, _, page = company_page
    pal = switch(qtbot, window, palettes[1])
    assert page.subtitle.styleSheet() == f"color: {muted(pal).name()}"
