"""On each PSA's sandbox, in the window: a tenant without consent, granted from the Microsoft access view.

The tenant's admin removed seatsync's app, and a sync failed for it. The
view lists it as "Consent missing"; "Grant consent…" opens its
admin-consent link (here: handed to the test instead of a browser), the
Microsoft sandbox's consent page stands in for Microsoft's and is accepted,
and when the person comes back to the window the tenant is checked again by
itself and shows "Consented"; the next sync succeeds.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui.tasks import Tasks
from app.ui.views.access import COL_CONSENT, AccessView
from tests.e2e.test_access import accept_in_browser


def test_consent_is_granted_from_the_access_view_and_checked_again_on_return(qtbot, tenant):
    tenant.scenario.revoke_consent(tenant.tenant_id)
    assert tenant.sync().failed  # records "consent missing"
    opened: list[str] = []
    tasks = Tasks()
    view = AccessView(tenant.context, tasks, opener=lambda link: opened.append(link) or True)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10000)
    assert view.model.index(0, COL_CONSENT).data() == "Consent missing"
    assert "GroupMember.Read.All" in view.permissions.text()  # what is asked, and why

    view.table.selectRow(0)
    qtbot.mouseClick(view.grant_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(opened), timeout=10000)
    assert f"/{tenant.tenant_id}/adminconsent?" in opened[0] and view.awaiting == {tenant.tenant_id}
    accept_in_browser(tenant, opened[0])

    view.show()
    with qtbot.waitActive(view):  # the person is back in the window: it is active again
        view.activateWindow()
    qtbot.waitUntil(lambda: "Each one is consented" in view.message.text(), timeout=15000)
    qtbot.waitUntil(lambda: view.model.index(0, COL_CONSENT).data() == "Consented", timeout=10000)
    assert view.awaiting == set()
    assert not tenant.sync().failed
    tasks.wait_idle()
