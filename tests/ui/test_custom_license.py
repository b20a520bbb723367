"""On each PSA's sandbox, in the window: a custom license added from the company page, counted, shown with its
rule and count, then mapped and billed by the next sync.

The tenant (Business Premium 10 and Exchange 4, mapped, never synced) has a
"Sales" group of three users, one through a nested group. The person opens
the company, clicks "Custom license: Add…", chooses "Members of a group",
picks Sales from the tenant's groups (read from the Microsoft sandbox) and
adds it; the row shows "Custom · members of group Sales" and 3 seats. Then
"Change…" opens it as it is (its group chosen), and it is
changed to count the "Sales North" group under another name: the same row
shows the new name and count, and its mapping stays.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.billing.types import Mapping
from app.services.microsoft.permissions import COUNT_PERMISSIONS
from app.ui.dialogs.custom_license import CustomLicenseDialog
from app.ui.views.license_model import LICENSE, PURCHASED, TERM
from tests.ui.conftest import open_the_company


@pytest.fixture(autouse=True)
def counts_allowed(tenant) -> None:
    tenant.scenario.add_role(*COUNT_PERMISSIONS)
    tenant.context.microsoft.forget()


def test_a_group_members_row_is_added_from_the_company_page_and_billed_once_mapped(qtbot, tenant_shell, tenant):
    shell = tenant_shell
    scenario, tenant_id = tenant.scenario, tenant.tenant_id
    people = scenario.tenant(tenant_id).users
    north = scenario.add_group(tenant_id, "Sales North", members=[people[5]])
    scenario.add_group(tenant_id, "Sales", members=[people[3], people[4], north])
    page = open_the_company(qtbot, shell)
    assert page.custom_button.isEnabled()

    qtbot.mouseClick(page.custom_button, Qt.MouseButton.LeftButton)
    dialog = page.findChild(CustomLicenseDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.name.text() == "Shared mailboxes"  # the first rule's name, until the person types one
    dialog.name.clear()
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert "Name the custom license" in dialog.messages.label.text()  # nothing was read or kept

    with qtbot.waitSignal(dialog.groups_loaded, timeout=15000):
        dialog.rule.setCurrentIndex(dialog.rule.findText("Members of a group"))
    assert [dialog.group.itemText(n) for n in range(dialog.group.count())] == ["Sales", "Sales North"]
    dialog.group.setCurrentIndex(dialog.group.findText("Sales"))
    qtbot.keyClicks(dialog.name, "Sales seats")
    with qtbot.waitSignal(page.loaded, timeout=30000):
        qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert "Sales seats added: 3 seat(s) now" in page.messages.label.text()

    assert page.select(lambda row: getattr(row, "custom_rule", ""))
    index = page.selected_index()
    cells = {column: index.siblingAtColumn(column).data() for column in (LICENSE, PURCHASED, TERM)}
    assert cells == {LICENSE: "Sales seats", PURCHASED: "3", TERM: "Custom · members of group Sales"}
    assert page.map_button.isEnabled() and page.uncustom_button.isEnabled()

    row = page.selected_row()
    tenant.context.uow.mappings.save(Mapping(tenant_id=tenant_id, sku_id=row.license.sku_id,
                                             profile=tenant.profiles["M365-E3"], agreement_id=tenant.agreement))
    assert not tenant.sync().failed  # on 16 January: the rest of January prorated, 3 seats from February
    held = [h for h in tenant.world.psa_side.holdings(tenant.agreement) if h.product == "M365-E3"]
    assert sorted(h.kind for h in held) == ["dated", "main"] and [h.quantity for h in held if h.kind == "main"] == [3]

    # Changed: it counts the Sales North group under another name; its row and mapping stay.
    assert page.edit_custom_button.isEnabled()
    qtbot.mouseClick(page.edit_custom_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.custom_dialog is not None and page.custom_dialog.isVisible(), timeout=15000)
    editor = page.custom_dialog
    assert (editor.windowTitle(), editor.add_button.text(), editor.name.text()) == (
        "Change custom license", "Save", "Sales seats")
    qtbot.waitUntil(lambda: editor.group.currentText() == "Sales", timeout=15000)  # as it is: its group chosen
    assert not editor.tenant.isEnabled()
    editor.group.setCurrentIndex(editor.group.findText("Sales North"))
    editor.name.clear()
    qtbot.keyClicks(editor.name, "North seats")
    with qtbot.waitSignal(page.loaded, timeout=30000):
        qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    assert "North seats changed: 1 seat(s) now. Its mapping bills them from the next sync." in (
        page.messages.label.text())
    assert page.select(lambda row: getattr(row, "custom_rule", ""))
    index = page.selected_index()
    cells = {column: index.siblingAtColumn(column).data() for column in (LICENSE, PURCHASED, TERM)}
    assert cells == {LICENSE: "North seats", PURCHASED: "1", TERM: "Custom · members of group Sales North"}
    assert page.selected_row().license.sku_id == row.license.sku_id and page.selected_row().mapping is not None
