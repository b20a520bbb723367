"""Preview, then Apply these, on each PSA's sandbox: exactly the previewed operations are written.

The tenant (Business Premium 10 seats and Exchange 4, mapped, never synced)
is previewed on 16 January; "Apply these" writes exactly the keys the
preview listed, read back from the journal's audit. When the tenant changes
between the preview and the click, nothing is written for it, the dialog
says so and previews again; applying that preview writes it.
"""

from __future__ import annotations

from datetime import time

import pytest
from PySide6.QtCore import Qt

from app.services.sync.scheduler import ALL, ScheduleSettings
from app.ui.app import service_sync
from app.ui.dialogs.preview import PreviewDialog
from app.ui.sync_gateway import SyncGateway
from app.ui.tasks import Tasks
from tests.e2e.conftest import SPB


@pytest.fixture
def dialog(qtbot, tenant):
    gateway = SyncGateway(service_sync(tenant.context, today=tenant.clock),
                          schedule=ScheduleSettings(enabled=False, daily_at=time(6, 0)))
    gateway.start()
    tasks = Tasks()
    service = tenant.service()
    made = PreviewDialog(tenant.context, tasks, gateway, ALL, lambda: service.plan())
    qtbot.addWidget(made)
    yield made
    tasks.wait_idle()
    gateway.shutdown(wait=True)


def previewed_keys(dialog: PreviewDialog) -> set[str]:
    return {dialog.model.row(i).key for i in range(dialog.model.rowCount()) if not dialog.model.row(i).held}


def test_apply_these_writes_exactly_the_previewed_operations(qtbot, tenant, dialog):
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=15000)
    keys = previewed_keys(dialog)
    kinds = sorted(dialog.model.row(i).op.kind.value for i in range(dialog.model.rowCount()))
    assert kinds == ["add_prorate", "add_prorate", "create_line", "create_line"]
    assert "4 change(s) to apply" in dialog.message.text()
    assert tenant.writes() == 0  # a preview writes nothing
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.text().startswith("Applied"), timeout=20000)
    assert dialog.message.text() == "Applied: 4 change(s) written."
    assert set(tenant.audited_keys()) == keys


def test_a_tenant_changed_since_the_preview_gets_nothing_written_and_is_previewed_again(qtbot, tenant, dialog):
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled(), timeout=15000)
    first = previewed_keys(dialog)
    tenant.seats(SPB, 12)  # two more seats in Microsoft after the preview
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "changed since the preview" in dialog.message.text(), timeout=20000)
    assert tenant.writes() == 0 and tenant.audited_keys() == []
    qtbot.waitUntil(lambda: dialog.apply_button.isEnabled() and previewed_keys(dialog) != first, timeout=20000)
    again = previewed_keys(dialog)
    assert any(dialog.model.row(i).op.quantity == 12 for i in range(dialog.model.rowCount()))
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.text().startswith("Applied"), timeout=20000)
    assert set(tenant.audited_keys()) == again
