"""The Migrate view on each PSA's sandbox: another tool's lines found, adopted and cancelled in bulk.

The tenant (Business Premium 10 seats and Exchange 4, mapped, never synced)
has a CloudConsole line of Business Premium and a Unite line of Exchange on
its agreement, added in the PSA's sandbox. The view finds each by its
reference, a person adopts one and cancels the other; the syncs after bill
each row once, which is read back from the sandbox.
"""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.billing.operations import FindingKind
from app.services.review.migration import MigrationService
from app.ui.tasks import Tasks
from app.ui.views.migration import COL_DECISION, MigrationView
from tests.e2e.conftest import EXO, NEXT, PERIOD_END, PRODUCT, SPB, START, findings


@pytest.fixture(autouse=True)
def on_the_worlds_day(tenant):
    """The view's service plans on the world's day, with the world's sync."""
    tenant.context.__dict__["migration"] = MigrationService(tenant.context.uow, psas=tenant.context.psas,
                                                            sync=tenant.service, today=tenant.clock)


def lines_of(tenant, part: str) -> list[tuple[str, int, date | None, date | None]]:
    return sorted((h.id, h.quantity, h.start, h.end) for h in tenant.world.psa_side.holdings(tenant.agreement)
                  if h.product == PRODUCT[part] and h.kind == "main")


def decide(qtbot, view: MigrationView, reference: str, button) -> None:
    """Find the lines of ``reference``, select them all, click ``button`` and confirm."""
    view.reference.setCurrentText(reference)
    qtbot.mouseClick(view.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1 and "Reading" not in view.message.text(), timeout=15000)
    view.select_all_button.click()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.confirmation is not None and view.confirmation.isVisible(), timeout=15000)
    view.confirmation.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: "line(s). The next sync writes it" in view.message.text(), timeout=15000)


def test_a_cloudconsole_line_adopted_and_a_unite_line_cancelled_leave_each_row_billed_once(qtbot, tenant):
    side = tenant.world.psa_side
    cloud = side.add_foreign_line(tenant.agreement, PRODUCT[SPB], 5, reference="Cloudconsole", start=START)
    unite = side.add_foreign_line(tenant.agreement, PRODUCT[EXO], 4, reference="Unite", start=START)
    held = tenant.sync()
    assert sorted(f.line_id for f in findings(held, FindingKind.FOREIGN_LINE)) == sorted([cloud, unite])

    tasks = Tasks()
    view = MigrationView(tenant.context, tasks)
    qtbot.addWidget(view)
    view.show()  # the PSA is read when the view is first shown
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=15000)
    assert "2 hold their rows until decided" in view.message.text()
    decide(qtbot, view, "cloudconsole", view.adopt_button)
    assert f"take over line {cloud}" in view.details.toPlainText()
    decide(qtbot, view, "Unite", view.cancel_button)
    assert "it bills until 31 Jan 2026" in view.details.toPlainText()
    assert view.model.index(0, COL_DECISION).data() == "Cancel: bills until 31 Jan 2026"

    for _ in range(2):  # the adoption, then the row's quantity from the line it took over
        summary = tenant.sync()
        assert not summary.failed and findings(summary, FindingKind.FOREIGN_LINE) == []
    assert lines_of(tenant, SPB) == [(cloud, 10, START, None)]  # billed once: by the adopted line
    exo = lines_of(tenant, EXO)
    assert [(start, end) for i, _, start, end in exo if i == unite] == [(START, PERIOD_END)]
    assert [(seats, start, end) for i, seats, start, end in exo if i != unite] == [(4, NEXT, None)]
    assert tenant.sync().writes == 0
    tasks.wait_idle()


def test_hidden_the_view_reads_nothing_from_the_psa_and_its_badge_counts_what_the_syncs_found(qtbot, tenant):
    side = tenant.world.psa_side
    side.add_foreign_line(tenant.agreement, PRODUCT[SPB], 5, reference="Cloudconsole", start=START)
    side.add_foreign_line(tenant.agreement, PRODUCT[EXO], 4, reference="Unite", start=START)
    tenant.sync()
    psa = tenant.world.psa_server
    psa.reset_counts()
    tasks = Tasks()
    view = MigrationView(tenant.context, tasks)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.attention_changed, timeout=15000) as badge:
        pass
    assert badge.args == [2]
    view.refresh_when_seen()  # what a sync's end does
    tasks.wait_idle()
    assert view.model.rowCount() == 0 and psa.request_count() == 0
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=15000)
    assert psa.request_count() > 0
    tasks.wait_idle()
