"""Ignored accounts in the Exclusions view's Accounts tab, over the ConnectWise sandbox world of 16 January.

A person asks who a pattern matches (the tenant's users are read), keeps it,
and the next sync bills the seats less the ones the MSP's own account holds;
a pattern that would name every account is refused before anything is kept.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.ui.tasks import Tasks
from app.ui.views.exclusions import ExclusionsView
from app.ui.views.reports import COL_ASSIGNED, COL_IGNORED, COL_SHOULD, ReportsView
from tests.e2e.conftest import SPB


@pytest.fixture
def view(qtbot, tenant):
    tasks = Tasks()
    made = ExclusionsView(tenant.context, tasks)
    qtbot.addWidget(made)
    made.resize(1200, 640)
    made.show()
    made.tabs.setCurrentWidget(made.ignored)
    yield made
    tasks.wait_idle()
    QApplication.processEvents()


@pytest.mark.parametrize("tenant", ["connectwise"], indirect=True)
def test_accounts_are_ignored_from_the_accounts_tab_and_their_seats_not_billed(qtbot, tenant, view):
    scenario, sku = tenant.scenario, tenant.scenario.sku_id(SPB)
    sandbox = scenario.tenant(tenant.tenant_id)
    with scenario.lock:
        admin = next(u for u in sandbox.users if u.sku_ids == [sku])
        admin.upn = "msp-admin@" + admin.upn.rpartition("@")[2]
    panel = view.ignored
    qtbot.waitUntil(lambda: panel.scope.count() == 2, timeout=15000)  # every tenant, and the one tenant

    qtbot.keyClicks(panel.pattern, "*@*")
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "every account" in view.message.text(), timeout=15000)
    assert tenant.context.uow.ignored_accounts.all() == []

    panel.pattern.clear()
    qtbot.keyClicks(panel.pattern, "MSP-ADMIN@*")
    qtbot.mouseClick(panel.who_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.matches.count() == 1, timeout=15000)
    assert panel.matches.item(0).text().endswith(f"— {admin.upn} — Microsoft 365 Business Premium")
    assert "matches 1 account(s) in 1 tenant(s)" in view.message.text()
    view.grab().save("/tmp/ignored-accounts.png")

    panel.scope.setCurrentIndex(panel.scope.findData(tenant.tenant_id))
    qtbot.keyClicks(panel.reason, "our admin")
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=15000)
    assert "are ignored" in view.message.text() and panel.pattern.text() == ""
    (kept,) = tenant.context.uow.ignored_accounts.all()
    assert (kept.pattern, kept.tenant_id, kept.reason) == ("msp-admin@*", tenant.tenant_id, "our admin")

    summary = tenant.sync()
    assert not summary.failed and tenant.main(SPB).quantity == 9  # 10 assigned, 1 the MSP's own
    report = ReportsView(tenant.context, view.tasks)
    qtbot.addWidget(report)
    qtbot.waitUntil(lambda: report.rows.rowCount() > 0, timeout=10000)
    position = next(n for n, r in enumerate(report.rows.rows()) if r.sku_id == tenant.scenario.sku_id(SPB))
    cells = [report.rows.index(position, column).data() for column in (COL_ASSIGNED, COL_IGNORED, COL_SHOULD)]
    assert cells == ["10", "1", "9"]  # the report explains the seat not billed

    panel.table.selectRow(0)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0, timeout=15000)
    assert tenant.context.uow.ignored_accounts.all() == []
