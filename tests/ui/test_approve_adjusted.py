"""Approve adjusted in the Approvals view: part of a held decrease, chosen in the dialog, then written."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from app.services.settings import ApprovalPolicy
from app.ui.tasks import Tasks
from app.ui.views.approvals import ApprovalsView
from tests.e2e.conftest import MID, SPB, close_tenant, make_tenant


@pytest.fixture
def tenant(tmp_path, sandbox_tls):
    made = make_tenant(tmp_path, sandbox_tls, "connectwise")
    assert made.sync().writes == 2  # Business Premium 10 and Exchange 4 from 1 January
    made.context.settings.set_approval_policy(ApprovalPolicy.HOLD_DECREASES)
    made.move_to(MID)
    made.seats(SPB, 4)
    assert made.sync().held  # 10 → 4 waits
    yield made
    close_tenant(made)


def test_a_held_decrease_approved_in_part_from_the_dialog_is_what_the_next_sync_writes(qtbot, tenant):
    tasks = Tasks()
    view = ApprovalsView(tenant.context, tasks)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10000)
    view.table.selectRow(0)
    qtbot.mouseClick(view.adjust_button, Qt.MouseButton.LeftButton)
    dialog = view.adjusting
    assert dialog is not None and (dialog.seats.minimum(), dialog.seats.maximum()) == (4, 10)
    dialog.seats.setValue(6)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: view.message.text().startswith("Approved adjusted"), timeout=10000)
    assert "10 → 6" in view.message.text()
    qtbot.waitUntil(lambda: view.model.rowCount() == 0, timeout=10000)  # approved: no longer waiting
    applied = tenant.sync()
    assert [(op.before, op.quantity) for r in applied.results for op in r.applied] == [(10, 6)]
    assert tenant.main(SPB).quantity == 6
    tasks.wait_idle()
