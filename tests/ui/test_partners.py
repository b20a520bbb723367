"""Several Microsoft partner connections, in the window.

The world's tenant belongs to the home partner. Another partner account (an
indirect reseller's) has a customer with a PSA company. In Settings the
person adds its connection beside the first ("Add…", a name, the account's
kind, its app); the list shows both. "Add companies…" lists the new
partner's customer, naming its partner connection; once added, the
Companies list offers a partner filter, and choosing a partner shows only
its companies; a company's page names its partner connection. Its
connection can no longer be removed: its tenant is billed through it. In
the Microsoft access view, a tenant is moved to the other partner
connection and checked through its app at once.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.ui.dialogs.onboarding import COL_PARTNER
from app.ui.tasks import Tasks
from app.ui.views.access import COL_CONSENT, AccessView
from app.ui.views.access import COL_PARTNER as ACCESS_PARTNER
from app.ui.views.companies_model import NAME
from tests.e2e.conftest import OTHER, other_partner
from tests.e2e.test_partners import second_partner
from tests.ui.admin_support import closed
from tests.ui.test_settings import type_into


@pytest.mark.parametrize("tenant", ["connectwise"], indirect=True)
def test_a_second_partner_connection_is_added_and_the_companies_list_filters_by_partner(qtbot, tenant_shell,
                                                                                        tenant, monkeypatch):
    window = tenant_shell.window
    other, theirs, _ = other_partner(tenant)
    server = tenant.world.microsoft_server

    window.show_view("settings")
    settings = window.view("settings")
    page = settings.connections
    qtbot.waitUntil(lambda: page.microsoft_model.rowCount() == 1, timeout=10000)
    qtbot.mouseClick(page.microsoft_button, Qt.MouseButton.LeftButton)
    dialog = settings.dialog
    type_into(qtbot, dialog.name, OTHER)
    dialog.kind.setCurrentIndex(dialog.kind.findText("Indirect reseller"))
    type_into(qtbot, dialog.client_id, other.client_id)
    type_into(qtbot, dialog.partner_tenant_id, other.tenant_id)
    type_into(qtbot, dialog.secret, other.client_secret)
    dialog.advanced.setChecked(True)
    for edit in (dialog.authority_url, dialog.graph_url, dialog.partner_center_url):
        type_into(qtbot, edit, server.url)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=15000)
    qtbot.waitUntil(lambda: page.microsoft_model.rowCount() == 2, timeout=10000)
    assert f"Saved '{OTHER}'. Connected: Partner Center lists 1 customer(s)" in settings.message.text()
    listed = [[page.microsoft_model.index(row, col).data() for col in (0, 1, 4, 5)] for row in range(2)]
    assert listed[1] == [OTHER, "Indirect reseller", "set", "0"] and listed[0][1:] == ["Direct-bill CSP", "set", "1"]

    window.show_view("companies")
    companies = window.view("companies")
    qtbot.waitUntil(lambda: companies.model.rowCount() == 1, timeout=10000)
    assert companies.partner_filter.isHidden()  # one partner's tenants so far: nothing to choose
    qtbot.mouseClick(companies.add_button, Qt.MouseButton.LeftButton)
    adding = companies.adding
    qtbot.waitUntil(lambda: adding.model.rowCount() == 1, timeout=15000)
    assert adding.model.index(0, COL_PARTNER).data() == OTHER
    assert adding.table.isColumnHidden(COL_PARTNER)  # one partner's customers listed: the column says nothing
    assert adding.add_button.text() == "Add 1 company"
    qtbot.mouseClick(adding.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: companies.model.rowCount() == 2, timeout=15000)

    assert companies.partner_filter.isVisible()
    choices = [companies.partner_filter.itemText(i) for i in range(companies.partner_filter.count())]
    home = tenant.context.uow.microsoft_connections.all()[0].name
    assert choices == ["All partner connections", *sorted([f"Partner: {home}", f"Partner: {OTHER}"])]
    companies.partner_filter.setCurrentIndex(companies.partner_filter.findData(OTHER))
    assert companies.model.rowCount() == 1
    shown = companies.model.index(0, NAME).data()
    assert shown == theirs.name and companies.count_label.text() == "1 of 2 companies"
    companies.partner_filter.setCurrentIndex(0)
    assert companies.model.rowCount() == 2
    theirs_id = next(r.id for r in companies.model.rows() if r.name == theirs.name)
    with qtbot.waitSignal(companies.company.loaded, timeout=10000):
        companies.open_company(theirs_id)
    assert f"(partner connection {OTHER})" in companies.company.subtitle.text()  # its page says which partner

    window.show_view("settings")  # back in Settings: it shows the tenant now billed through it, which stays
    qtbot.waitUntil(lambda: page.microsoft_model.index(1, 5).data() == "1", timeout=10000)
    monkeypatch.setattr("app.ui.views.settings.confirm", lambda *_: True)
    page.microsoft_table.selectRow(1)
    qtbot.mouseClick(page.microsoft_remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: settings.message.level == "error", timeout=10000)
    assert "is how seatsync reads 1 customer tenant(s)" in settings.message.text()
    assert page.microsoft_model.rowCount() == 2


@pytest.mark.parametrize("tenant", ["connectwise"], indirect=True)
def test_a_tenant_is_moved_to_another_partner_connection_from_the_access_view(qtbot, tenant, monkeypatch):
    second_partner(tenant)
    name = tenant.context.uow.tenants.get(tenant.tenant_id).name
    home = tenant.context.uow.microsoft_connections.all()[0].name
    tasks = Tasks()
    view = AccessView(tenant.context, tasks)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=10000)
    assert view.move_button.isVisibleTo(view) and not view.table.isColumnHidden(ACCESS_PARTNER)
    assert [a.text() for a in view.move_menu.actions()] == sorted([home, OTHER], key=str.casefold)
    row = next(r for r in range(2) if view.proxy.index(r, 0).data() == name)
    move_to_other = next(a for a in view.move_menu.actions() if a.text() == OTHER)

    move_to_other.trigger()  # nothing selected: nothing moved
    assert "Select the tenants to move" in view.message.text()
    asked: list[str] = []
    monkeypatch.setattr("app.ui.views.access.confirm", lambda _parent, _title, text: asked.append(text) or True)
    view.table.selectRow(row)
    move_to_other.trigger()
    qtbot.waitUntil(lambda: "from now on" in view.message.text(), timeout=15000)
    assert len(asked) == 1 and asked[0].startswith(f"Read 1 tenant(s) through partner connection '{OTHER}' from now")
    assert f"Without consent: {name}." in view.message.text() and view.message.level == "error"
    qtbot.waitUntil(lambda: view.proxy.index(row, ACCESS_PARTNER).data() == OTHER, timeout=10000)
    assert view.proxy.index(row, COL_CONSENT).data() == "Consent missing" and view.move_button.isEnabled()
    assert f"Without consent: {name}." in view.message.text()  # the table loaded again keeps what the move said
    tasks.wait_idle()
