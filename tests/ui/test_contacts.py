"""On each PSA's sandbox, in the window: a company's contact sync previewed and enabled from its page.

The person opens the company, clicks "Contacts…", ticks "Only users holding
a license" and previews: the dialog lists a create for each licensed user,
with the name as plain text (one user's name holds markup). "Enable" is
offered only after that preview (and not once the options change until
they are previewed again); once enabled, the next sync creates the
contacts, and the dialog shows that result when opened again.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui.dialogs.contacts import ContactsDialog
from tests.ui.conftest import open_the_company


def test_contact_sync_is_previewed_then_enabled_from_the_company_page(qtbot, tenant_shell, tenant):
    shell = tenant_shell
    users = [u for u in tenant.scenario.tenant(tenant.tenant_id).users if u.enabled and u.sku_ids]
    with tenant.scenario.lock:
        users[0].display_name, users[0].given_name = "<b>Ann</b>", "<b>Ann</b>"
    page = open_the_company(qtbot, shell)
    assert page.contacts_button.isEnabled()

    qtbot.mouseClick(page.contacts_button, Qt.MouseButton.LeftButton)
    dialog = page.findChild(ContactsDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.preview_button.isEnabled(), timeout=10000)
    assert not dialog.enable_button.isEnabled() and "off" in dialog.state.text()
    dialog.licensed_only.setChecked(True)
    with qtbot.waitSignal(dialog.previewed, timeout=30000):
        qtbot.mouseClick(dialog.preview_button, Qt.MouseButton.LeftButton)
    people = {dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
    changes = {dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert people == {u.display_name for u in users} and changes == {"create"}
    assert "<b>Ann</b>" in people and dialog.summary.text().startswith(f"{len(users)} user(s) selected")
    assert dialog.summary.textFormat() == Qt.TextFormat.PlainText
    assert dialog.enable_button.isEnabled()

    dialog.exclude_shared.setChecked(True)  # other options than those previewed: preview again first
    assert not dialog.enable_button.isEnabled()
    dialog.exclude_shared.setChecked(False)
    with qtbot.waitSignal(dialog.saved, timeout=10000):
        qtbot.mouseClick(dialog.enable_button, Qt.MouseButton.LeftButton)
    assert "on" in dialog.state.text() and dialog.disable_button.isEnabled()
    dialog.close()

    summary = tenant.sync()
    assert summary.contacts and f"{len(users)} created" in summary.contacts[0], summary.contacts
    emails = {str(c["email"]).casefold() for c in tenant.world.psa_side.contacts(page.detail.company.psa_id)}
    assert {u.upn.casefold() for u in users} <= emails

    qtbot.mouseClick(page.contacts_button, Qt.MouseButton.LeftButton)
    again = [d for d in page.findChildren(ContactsDialog) if d.isVisible()][-1]
    qtbot.waitUntil(lambda: "Last contact sync" in again.last_result.text(), timeout=10000)
    assert f"contacts: {len(users)} created" in again.last_result.text() and again.licensed_only.isChecked()
