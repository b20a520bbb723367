"""A save refused because someone saved first, as a person meets it: the editor says who, in plain
words, and shows what they saved; History lists configuration changes beside PSA writes."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import time as clock_time
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from app.billing.types import Exclusion, Mapping, PriceKind, PricePolicy, RowKey
from app.models.repositories import Exclusions, Mappings, Profiles
from app.services.customers.company_rows import LicenseRow
from app.services.preferences import PreferencesChange
from app.ui.dialogs.mapping import MappingDialog
from app.ui.views.companies import CompaniesView
from app.ui.views.exclusions import ExclusionsView
from app.ui.views.history import HistoryView
from app.ui.views.profiles import ProfilesView
from app.ui.views.settings import SettingsView
from tests.ui.conftest import context, contoso, seed, tasks  # noqa: F401  (the fixtures, on both engines)
from tests.ui.seed import EXCHANGE, SPB


def show(qtbot, widget):
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    widget.show()
    return widget


@pytest.fixture
def page(qtbot, tasks, contoso):  # noqa: F811
    """Contoso Dental's page, Business Premium mapped (by carol, version 1) and selected."""
    contoso.service.save_mapping(Mapping(tenant_id=contoso.tenant, sku_id=SPB, profile=contoso.bp,
                                         agreement_id=contoso.m365.id, minimum_quantity=2),
                                 company_id=contoso.company.id, actor="carol")
    view = show(qtbot, CompaniesView(None, tasks, service=contoso.service))
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=5000)
    with qtbot.waitSignal(view.company.loaded, timeout=5000):
        view.open_company(contoso.company.id)
    view.company.select(lambda row: isinstance(row, LicenseRow) and row.license.sku_id == SPB)
    return view.company


def drive_dialogs(qtbot, open_it, *drivers) -> None:
    """Call ``open_it``; work each modal mapping dialog that opens in turn with the next driver."""
    state: dict = {"seen": [], "left": list(drivers)}
    deadline = time.monotonic() + 20

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, MappingDialog) and dialog.isVisible() and dialog not in state["seen"]:
            state["seen"].append(dialog)
            try:
                state["left"].pop(0)(dialog)
            except BaseException as error:  # noqa: BLE001 - re-raised below, after the loop ends
                state["error"] = error
                dialog.reject()
        if state["left"] and "error" not in state and time.monotonic() < deadline:
            QTimer.singleShot(20, poll)
        else:
            state["done"] = True

    QTimer.singleShot(0, poll)
    open_it()
    qtbot.waitUntil(lambda: "done" in state, timeout=25000)
    if "error" in state:
        raise state["error"]
    assert not state["left"], "a mapping dialog did not open"


def test_the_mapping_dialog_names_who_saved_first_and_shows_their_mapping(qtbot, page, contoso):  # noqa: F811
    row = RowKey(tenant_id=contoso.tenant, sku_id=SPB)
    seen: dict = {}

    def mine(dialog: MappingDialog) -> None:
        assert not dialog.notice.isVisible() and dialog.minimum.value() == 2
        dialog.minimum.setValue(7)  # bob's edit
        stored, version = Mappings().versioned(row)  # meanwhile alice, at another desktop, saves hers
        Mappings().save(replace(stored, minimum_quantity=3, included_quantity=1), expected_version=version,
                        actor="alice")
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)

    def theirs(dialog: MappingDialog) -> None:
        seen.update(notice=dialog.notice.text(), visible=dialog.notice.isVisible(),
                    minimum=dialog.minimum.value(), included=dialog.included.value())
        dialog.reject()

    drive_dialogs(qtbot, lambda: qtbot.mouseClick(page.map_button, Qt.MouseButton.LeftButton), mine, theirs)
    assert seen["visible"]
    assert seen["notice"].startswith("Mapping for Contoso Dental / Microsoft 365 Business Premium was changed by "
                                     "alice at ")
    assert seen["notice"].endswith("after you opened it; your change was not saved. The dialog shows theirs now.")
    assert (seen["minimum"], seen["included"]) == (3, 1)  # alice's values, not bob's 7
    stored = Mappings().get(row)
    assert (stored.minimum_quantity, stored.included_quantity) == (3, 1)


def test_the_profile_form_names_who_saved_first_and_shows_their_profile(qtbot, context, tasks, contoso):  # noqa: F811
    view = show(qtbot, ProfilesView(context, tasks))
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=5000)
    position = next(n for n in range(view.proxy.rowCount()) if view.proxy.index(n, 0).data() == "Exchange P1")
    view.table.selectRow(position)
    editor = view.editor
    assert editor.profile is not None and editor.profile.name == "Exchange P1" and editor.version == 1
    qtbot.keyClicks(editor.name, " (bob)")
    exo = Profiles().get(editor.profile.id)
    Profiles().save(connection_id=contoso.company.connection_id, expected_version=1, actor="alice",
                    profile=replace(exo, price=PricePolicy(kind=PriceKind.FIXED, fixed=Decimal("5.00"))))
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "alice" in editor.error.text(), timeout=5000)
    assert editor.error.text().startswith("Billing profile 'Exchange P1' was changed by alice at ")
    assert editor.error.text().endswith("your change was not saved. The form shows theirs now.")
    assert editor.name.text() == "Exchange P1" and editor.version == 2 and not editor.dirty
    said = editor.error.text()
    view.refresh()  # the list read again (after every save, or another desktop's change) leaves it said
    tasks.wait_idle()
    QApplication.processEvents()
    assert editor.error.text() == said
    assert PriceKind(editor.kind.currentData()) is PriceKind.FIXED and editor.fixed.value() == Decimal("5.00")
    qtbot.keyClicks(editor.name, " (bob)")  # from alice's version, bob's change is saved
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: Profiles().get(exo.id).name == "Exchange P1 (bob)", timeout=5000)
    assert Profiles().get(exo.id).price.fixed == Decimal("5.00")


def test_removing_an_exclusion_changed_since_names_who_and_shows_it(qtbot, context, tasks, contoso):  # noqa: F811
    Exclusions().add(Exclusion(sku_id=EXCHANGE, tenant_id=contoso.tenant, reason="ours"), actor="carol")
    view = show(qtbot, ExclusionsView(context, tasks))
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=5000)
    Exclusions().add(Exclusion(sku_id=EXCHANGE, tenant_id=contoso.tenant, reason="trial until May"),
                     expected_version=1, actor="alice")
    view.table.selectRow(0)
    qtbot.mouseClick(view.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "alice" in view.message.text(), timeout=5000)
    assert view.message.text().startswith("Exclusion of ")
    assert "in Contoso Dental was changed by alice at " in view.message.text()
    assert view.message.text().endswith("The list shows theirs now.")
    qtbot.waitUntil(lambda: view.model.rows()[0].exclusion.reason == "trial until May", timeout=5000)
    assert [e.reason for e in Exclusions().all()] == ["trial until May"]


def test_settings_name_who_saved_first_and_show_their_settings(qtbot, context, tasks):  # noqa: F811
    view = show(qtbot, SettingsView(context, tasks))
    qtbot.waitUntil(lambda: view.loaded is not None, timeout=5000)
    view.sync_page.max_seats.setValue(7)  # bob's edit
    state = context.preferences.load()  # alice, at another desktop, moves the daily sync
    context.preferences.save(PreferencesChange(preferences=replace(state.preferences, sync_time=clock_time(5, 30)),
                                               versions=state.versions, actor="alice"))
    qtbot.mouseClick(view.sync_page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.message.level == "error", timeout=5000)
    assert view.message.text().startswith("The daily sync time was created by alice at ")
    assert view.message.text().endswith("your change was not saved. Settings shows theirs now.")
    qtbot.waitUntil(lambda: view.sync_page.sync_time.time().toString("HH:mm") == "05:30", timeout=5000)
    assert context.settings.max_seats_change_per_line == 50  # bob's 7 was not saved


def test_history_lists_configuration_changes_with_who_when_what_before_and_after(
        qtbot, context, tasks, contoso, database_engine):  # noqa: F811
    contoso.service.save_mapping(Mapping(tenant_id=contoso.tenant, sku_id=SPB, profile=contoso.bp,
                                         agreement_id=contoso.m365.id, minimum_quantity=2),
                                 company_id=contoso.company.id, actor="carol")
    stored, version = Mappings().versioned(RowKey(tenant_id=contoso.tenant, sku_id=SPB))
    Mappings().save(replace(stored, minimum_quantity=5), expected_version=version, actor="alice")
    view = show(qtbot, HistoryView(context, tasks))
    qtbot.waitUntil(lambda: view.count.text().startswith("0 change(s) written to the PSA"), timeout=5000)
    view.shown.setCurrentIndex(view.shown.findText("Mappings changed"))
    view.shown.activated.emit(view.shown.currentIndex())
    qtbot.waitUntil(lambda: view.config_model.rowCount() == 2, timeout=5000)
    assert view.tables.currentWidget() is view.config_table and not view.company.isEnabled()
    assert view.count.text() == "2 configuration change(s) match."
    cells = [[view.config_model.index(r, c).data() for c in range(1, 8)] for r in range(2)]
    user = "" if database_engine == "sqlite" else "postgres"
    assert cells[0] == ["alice", user, "Mapping", "Contoso Dental / Microsoft 365 Business Premium", "Changed",
                        "minimum quantity: 2", "minimum quantity: 5"]
    assert cells[1][:5] == ["carol", user, "Mapping", "Contoso Dental / Microsoft 365 Business Premium", "Created"]
    assert view.config_model.index(0, 0).data()  # when
