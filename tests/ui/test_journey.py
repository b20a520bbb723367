"""The user's whole journey (DESIGN §1) in the window, against the Microsoft and ConnectWise sandboxes over TLS.

Connect the PSA (wrong keys first), create billing profiles, connect Microsoft,
add companies with auto-match, sync to read their licenses, map one license
with the quick-mapping dropdown and one with the mapping dialog, exclude one,
sync (the agreement gets its additions), add seats mid-month and sync (a
prorate addition, in History too), hold decreases, approve the held one and
sync it, read the unbilled seats in Reports, and Sync now from the tray menu.
Every step is clicked and typed; what is checked is what the ConnectWise
sandbox itself holds and what the widgets show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QToolBar

from app.billing.markers import main_marker
from app.billing.types import RowKey
from app.sandbox.connectwise import ConnectWiseSandbox
from app.sandbox.microsoft import MicrosoftSandbox, generate
from app.sandbox.microsoft.companies import companies_for
from app.sandbox.server import SandboxServer
from app.services.notify.notices import NoticeKind
from app.services.settings import ApprovalPolicy, Settings
from app.services.sync.scheduler import ScheduleSettings
from app.ui.app import build_shell, service_sync
from app.ui.dialogs.mapping import MappingDialog
from app.ui.dialogs.onboarding import AddCompaniesDialog
from app.ui.formatting import money
from app.ui.views.history import COL_ACTION, COL_AFTER, COL_AFTER_AMOUNT
from app.ui.views.license_model import MAPPING
from app.ui.views.quick_map import QuickMapEditor
from tests.ui.admin_support import closed, context, tls  # noqa: F401
from tests.ui.test_company import click, index_of
from tests.ui.test_mapping_dialog import choose, type_number
from tests.ui.test_settings import fill_connectwise, fill_microsoft, open_add_dialog, type_into

MARCH_1, MARCH_16, MARCH_20 = date(2026, 3, 1), date(2026, 3, 16), date(2026, 3, 20)
TAILSPIN = "Tailspin Park Logistics Inc."  # seed 7: 13 users; Business Premium 12 of 12, Exchange 1 of 1
NORTHWIND = "Northwind Square Wealth B.V."  # Exchange Online 8 of 8, never mapped until the end


@dataclass
class Clock:
    day: date

    def today(self) -> date:
        return self.day


@pytest.fixture
def clock() -> Clock:
    return Clock(MARCH_1)


@pytest.fixture
def microsoft(clock, tls):  # noqa: F811
    scenario = generate(6, seed=7, today=clock.day)
    with SandboxServer(MicrosoftSandbox(scenario), tls=tls) as server:
        yield scenario, server


@pytest.fixture
def connectwise(clock, tls, microsoft):  # noqa: F811
    """The PSA as the MSP keeps it: the tenants' companies (matching in every way companies_for makes),
    one monthly prorating agreement each, and the four Microsoft products."""
    scenario, _ = microsoft
    sandbox = ConnectWiseSandbox(today=clock.today)
    sandbox.scenario([])
    made = companies_for(scenario.profiles())
    agreement_of = {}
    for company in made.companies:
        domains = [d.split("//")[-1].strip("/").removeprefix("www.") for d in company.domains]
        cid = sandbox.add_company(company.name, domains=domains, status="Active" if company.active else "Inactive")
        if company.active:
            agreement_of[company.id] = sandbox.add_agreement(cid, start=date(2024, 1, 1))
    agreements = {t: agreement_of[c] for t, c in made.intended.items() if c in agreement_of}
    with SandboxServer(sandbox, tls=tls) as server:
        yield sandbox, server, agreements


@pytest.fixture
def shell(qtbot, context, clock, tmp_path):  # noqa: F811 - admin_support's context, over the sandboxes' TLS
    settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    made = build_shell(context, settings=settings, run_sync=service_sync(context, today=clock.today), tray=True,
                       schedule=ScheduleSettings(enabled=False))
    qtbot.addWidget(made.window)
    made.sync.start()
    made.window.resize(1280, 800)
    made.window.show()
    qtbot.waitExposed(made.window)
    yield made
    made.window.quitting = True
    made.window.close()
    made.shutdown()


# -- helpers --------------------------------------------------------------------------------------


def toolbar_click(qtbot, window, action) -> None:
    toolbar = window.findChild(QToolBar, "mainToolbar")
    qtbot.mouseClick(toolbar.widgetForAction(action), Qt.MouseButton.LeftButton)


def sync_now(qtbot, shell):
    """Click Sync now in the toolbar; the run's summary once it ended and the notices were computed again."""
    with qtbot.waitSignal(shell.sync.finished, timeout=60000) as finished, \
            qtbot.waitSignal(shell.notifications.gathered, timeout=60000):
        toolbar_click(qtbot, shell.window, shell.window.sync_action)
    target, summary, error = finished.args
    assert error is None, error
    return summary


def additions(sandbox: ConnectWiseSandbox, agreement_id: int) -> list[tuple]:
    """What the PSA itself holds on the agreement: (product, quantity, unit price, start, end, serial)."""
    with sandbox.lock:
        rows = sorted(sandbox.additions_of(agreement_id).values(), key=lambda a: a["id"])
        return [(a["product"]["identifier"], int(a["quantity"]), a["unitPrice"], a["effectiveDate"][:10],
                 (a.get("cancelledDate") or "")[:10], a.get("serialNumber") or "") for a in rows]


def addition(sandbox: ConnectWiseSandbox, agreement_id: int, serial: str) -> tuple:
    """The agreement's addition with this serial number (seatsync's marker): rows are written side by side, so
    the order of their additions is not the plan's."""
    [found] = [a for a in additions(sandbox, agreement_id) if a[5] == serial]
    return found


def invoice_text(sandbox: ConnectWiseSandbox, agreement_id: int, serial: str) -> str:
    with sandbox.lock:
        return next(a["invoiceDescription"] for a in sandbox.additions_of(agreement_id).values()
                    if a.get("serialNumber") == serial)


def holders(scenario, tenant, part: str) -> list[str]:
    return sorted(u.upn for u in tenant.users if scenario.sku_id(part) in u.sku_ids)


def drive_modal(qtbot, open_it, drive, kind=MappingDialog) -> None:
    """Call ``open_it``, which opens a modal ``kind`` dialog (exec); work it with ``drive`` from inside its loop."""
    state: dict = {}
    deadline = time.monotonic() + 20

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, kind) and dialog.isVisible():
            try:
                drive(dialog)
            except BaseException as error:  # noqa: BLE001 - re-raised below, after the loop ends
                state["error"] = error
                dialog.reject()
            state["done"] = True
        elif time.monotonic() < deadline:
            QTimer.singleShot(20, poll)
        else:
            state["done"] = True

    QTimer.singleShot(0, poll)
    open_it()
    qtbot.waitUntil(lambda: "done" in state, timeout=25000)
    if "error" in state:
        raise state["error"]


def open_company(qtbot, window, tenant_name: str):
    """Open, from the list, the company the tenant bills to."""
    window.show_view("companies")
    view = window.view("companies")
    view.show_list()
    qtbot.waitUntil(lambda: any(tenant_name in r.tenant_names for r in view.model.rows()), timeout=10000)
    row = next(r for r in view.model.rows() if tenant_name in r.tenant_names)
    assert view.select_company(row.id)
    rect = view.table.visualRect(view.table.currentIndex())
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(view.company.loaded, timeout=10000):
        qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    return view.company


def quick_map(qtbot, page, sku: str, profile_text: str) -> None:
    cell = index_of(page, sku, MAPPING)
    click(qtbot, page, cell)
    qtbot.mouseDClick(page.tree.viewport(), Qt.MouseButton.LeftButton, pos=page.tree.visualRect(cell).center())
    editor = page.tree.findChild(QuickMapEditor)
    assert editor is not None
    with qtbot.waitSignal(page.loaded, timeout=10000):
        qtbot.keyClicks(editor.profile, profile_text)  # the company's one agreement: mapped at once


# -- the journey -------------------------------------------------------------------------------------


def test_the_whole_journey_in_the_window(qtbot, context, clock, microsoft, connectwise, shell):  # noqa: F811
    scenario, ms_server = microsoft
    cw, cw_server, agreement_of = connectwise
    window = shell.window
    tenant = next(t for t in scenario.tenants.values() if t.name == TAILSPIN)
    agreement = agreement_of[tenant.id]
    spb, exo, flow = (scenario.sku_id(p) for p in ("SPB", "EXCHANGESTANDARD", "FLOW_FREE"))

    # 1. Connect the PSA in Settings: wrong keys are named, the right ones saved and the catalog read.
    window.show_view("settings")
    settings = window.view("settings")
    dialog = open_add_dialog(qtbot, settings)
    fill_connectwise(qtbot, dialog, cw_server.url, "not-the-private-key")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.message.level == "error", timeout=15000)
    assert "refused the API keys" in dialog.message.text() and "public and private keys" in dialog.message.text()
    assert context.uow.psa_connections.all() == []
    type_into(qtbot, dialog.field("private_key"), "sandbox-private")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=15000)
    companies_in_psa = len(cw.companies)
    qtbot.waitUntil(lambda: f"Read {companies_in_psa} companies" in settings.message.text(), timeout=15000)

    # 2. Billing profiles: one by hand at the PSA's price, the others in bulk.
    window.show_view("profiles")
    profiles = window.view("profiles")
    toolbar_click(qtbot, window, window.refresh_action)
    qtbot.waitUntil(lambda: profiles.editor.product.count() == 4, timeout=10000)
    qtbot.mouseClick(profiles.new_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(profiles.editor.name, "M365 BP - Monthly 2026")
    profiles.editor.product.setCurrentIndex(profiles.editor.product.findText("M365-BP", Qt.MatchFlag.MatchContains))
    assert profiles.editor.psa_price.text() == money(Decimal("22.00"), "USD")
    qtbot.mouseClick(profiles.editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: profiles.model.rowCount() == 1, timeout=10000)
    qtbot.mouseClick(profiles.bulk_button, Qt.MouseButton.LeftButton)
    bulk = profiles.bulk_dialog
    qtbot.mouseClick(bulk.all_button, Qt.MouseButton.LeftButton)
    assert len(bulk.model.checked_rows()) == 3
    qtbot.mouseClick(bulk.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: profiles.model.rowCount() == 4, timeout=10000)
    assert "Created 3 billing profile(s)" in profiles.message.text()

    # 3. Connect Microsoft.
    window.show_view("settings")
    qtbot.mouseClick(settings.connections.microsoft_button, Qt.MouseButton.LeftButton)
    ms_dialog = settings.dialog
    fill_microsoft(qtbot, ms_dialog, scenario, ms_server, scenario.client_secret)
    qtbot.mouseClick(ms_dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(ms_dialog), timeout=15000)
    qtbot.waitUntil(lambda: settings.connections.microsoft_model.rowCount() == 1, timeout=15000)
    assert settings.connections.microsoft_model.index(0, 4).data() == "set"

    # 4. Add companies (the Companies view's button): the sure matches come ticked; add them.
    window.show_view("companies")
    qtbot.mouseClick(window.view("companies").add_button, Qt.MouseButton.LeftButton)
    adding = window.view("companies").adding
    assert isinstance(adding, AddCompaniesDialog)
    qtbot.waitUntil(lambda: adding.model.rowCount() == 6, timeout=15000)
    assert "4 matched, 2 to check" in adding.summary.text()
    assert adding.add_button.text() == "Add 4 companies"
    qtbot.mouseClick(adding.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(adding), timeout=15000)
    assert len(context.uow.tenants.all()) == 4

    # 5. The first sync reads the tenants' licenses; nothing is mapped, so nothing is written.
    window.show_view("companies")
    companies = window.view("companies")
    companies.service.today = clock.today  # the mapping preview's date, as the sync's
    toolbar_click(qtbot, window, window.refresh_action)
    qtbot.waitUntil(lambda: companies.model.rowCount() == 4, timeout=10000)
    companies.table.clearSelection()
    summary = sync_now(qtbot, shell)
    assert (len(summary.results), summary.writes, len(summary.failed)) == (4, 0, 0)
    assert window.status.text() == "Synced 4 tenant(s): 0 change(s) written"
    assert all(not additions(cw, a) for a in set(agreement_of.values()))
    assert shell.notifications.count_by_kind()[NoticeKind.UNMAPPED_LICENSE] > 0

    # 6. Map Exchange with the quick-mapping dropdown; Business Premium in the dialog with every option.
    page = open_company(qtbot, window, TAILSPIN)
    quick_map(qtbot, page, exo, "Exchange")
    assert index_of(page, exo, MAPPING).data() == "Exchange Online (Plan 1) · Microsoft 365"

    def map_in_dialog(dialog: MappingDialog) -> None:
        choose(qtbot, dialog.profile, "M365 BP")
        qtbot.mouseClick(dialog.usernames, Qt.MouseButton.LeftButton)
        type_number(qtbot, dialog.included, 2)
        with qtbot.waitSignal(dialog.preview_updated, timeout=15000) as updated:
            type_number(qtbot, dialog.minimum, 5)
        main = updated.args[0].lines[0]
        assert (main.kind, main.quantity, main.amount, main.text) == ("main", 10, Decimal("220.00"),
                                                                      "10 × 22.00 = 220.00 / month")
        assert main.description.splitlines()[1:] == holders(scenario, tenant, "SPB")
        assert "12 assigned; − 2 included; at least 5 → 10 seats" in dialog.preview_label.text()
        assert len(updated.args[0].lines) == 1  # the 1st of the month: no prorate line
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)

    click(qtbot, page, index_of(page, spb))
    with qtbot.waitSignal(page.loaded, timeout=15000):
        drive_modal(qtbot, lambda: qtbot.mouseClick(page.map_button, Qt.MouseButton.LeftButton), map_in_dialog)
    assert index_of(page, spb, MAPPING).data() == "M365 BP - Monthly 2026 · Microsoft 365"
    mapping = next(m for m in context.uow.mappings.for_tenant(tenant.id) if m.sku_id == spb)
    assert (mapping.included_quantity, mapping.minimum_quantity, mapping.usernames_in_description) == (2, 5, True)

    # ... and exclude the free license.
    click(qtbot, page, index_of(page, flow))
    with qtbot.waitSignal(page.loaded, timeout=10000):
        qtbot.mouseClick(page.exclude_button, Qt.MouseButton.LeftButton)
    assert index_of(page, flow, MAPPING).data() == "Excluded"

    # 7. Sync now (this company): ConnectWise holds one addition per mapped license from the 1st.
    summary = sync_now(qtbot, shell)
    assert summary.writes == 2 and not summary.failed
    installation = Settings().installation_id  # this database's name in the markers it writes
    marker = main_marker(RowKey(tenant_id=tenant.id, sku_id=spb), installation)
    exo_marker = main_marker(RowKey(tenant_id=tenant.id, sku_id=exo), installation)
    assert sorted(additions(cw, agreement)) == [
        ("EXO-P1", 1, Decimal("4.00"), "2026-03-01", "", exo_marker),
        ("M365-BP", 10, Decimal("22.00"), "2026-03-01", "", marker)]
    assert invoice_text(cw, agreement, marker).splitlines() == ["Microsoft 365 Business Premium",
                                                                *holders(scenario, tenant, "SPB")]
    qtbot.waitUntil(lambda: page.result.isVisibleTo(page), timeout=10000)
    assert page.result.headline.text() == "Synced: 2 change(s) written in the PSA"
    assert not [n for n in shell.notifications.notices if n.tenant_id == tenant.id and n.sku_id == flow]

    # 8. Mid-month three seats are bought and assigned: the next sync prorates them.
    clock.day = MARCH_16
    scenario.set_date(MARCH_16)
    scenario.add_seats(tenant.id, "SPB", 3)
    scenario.add_users(tenant.id, 3, "SPB")
    summary = sync_now(qtbot, shell)
    assert not summary.failed
    held = additions(cw, agreement)
    assert addition(cw, agreement, marker)[:2] == ("M365-BP", 13) and addition(cw, agreement, exo_marker)[:2] == (
        "EXO-P1", 1)
    [prorate] = held[2:]  # written by this sync, after the first sync's two
    assert prorate[0] == "M365-BP" and prorate[3:5] == ("2026-03-16", "2026-03-31")
    assert prorate[1] * prorate[2] == Decimal("34.06")  # 3 × 22.00 × 16/31 days
    assert prorate[5] == f"{marker}:p20260316:10>13"
    window.show_view("history")
    history = window.view("history")
    toolbar_click(qtbot, window, window.refresh_action)
    qtbot.waitUntil(lambda: any(history.model.index(r, COL_ACTION).data() == "add prorate"
                                for r in range(history.model.rowCount())), timeout=10000)
    shown = [[history.model.index(r, c).data() for c in (COL_ACTION, COL_AFTER, COL_AFTER_AMOUNT)]
             for r in range(history.model.rowCount())]
    assert ["add prorate", "3", money(Decimal("34.06"), "USD")] in shown  # the three seats, for 16 of March's 31 days

    # 9. Hold decreases (Settings), then four seats are unassigned: the decrease waits for a person.
    window.show_view("settings")
    settings.tabs.setCurrentWidget(settings.sync_page)
    choose(qtbot, settings.sync_page.policy, "Apply increases, hold decreases")
    qtbot.mouseClick(settings.sync_page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: settings.message.text() == "Settings saved.", timeout=10000)
    assert context.settings.approval_policy() is ApprovalPolicy.HOLD_DECREASES
    clock.day = MARCH_20
    scenario.set_date(MARCH_20)
    scenario.unassign(tenant.id, "SPB", 4)
    window.show_view("companies")
    companies.show_list()
    companies.table.clearSelection()  # Sync now: every company
    summary = sync_now(qtbot, shell)
    # The row waits whole: its new seat count and its description (four names fewer) go together.
    assert summary.held == 2 and "2 waiting for approval" in window.status.text()
    assert addition(cw, agreement, marker)[:2] == ("M365-BP", 13)  # not written
    assert shell.notifications.count_by_kind()[NoticeKind.APPROVALS_WAITING] == 1

    window.show_view("approvals")
    approvals = window.view("approvals")
    toolbar_click(qtbot, window, window.refresh_action)
    qtbot.waitUntil(lambda: approvals.model.rowCount() == 2, timeout=10000)
    assert sorted((r.before, r.after, r.reason) for r in approvals.model.rows())[0] == (
        13, 9, "the approval policy holds decreases")
    assert window.badge("approvals") == 2
    qtbot.mouseClick(approvals.select_all_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(approvals.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Approved 2 change(s)" in approvals.message.text(), timeout=10000)
    qtbot.waitUntil(lambda: approvals.summary.text() == "Nothing waits for approval.", timeout=10000)
    summary = sync_now(qtbot, shell)  # approved: written by the next sync
    assert (summary.writes, summary.held) == (2, 0)
    assert addition(cw, agreement, marker)[:2] == ("M365-BP", 9)
    assert invoice_text(cw, agreement, marker).splitlines()[1:] == holders(scenario, tenant, "SPB")

    # 10. Reports: Northwind's Exchange, mapped but not yet synced, shows as unbilled seats.
    page = open_company(qtbot, window, NORTHWIND)
    quick_map(qtbot, page, exo, "Exchange")
    window.show_view("reports")
    reports = window.view("reports")
    toolbar_click(qtbot, window, window.refresh_action)
    northwind = next(t for t in scenario.tenants.values() if t.name == NORTHWIND)
    qtbot.waitUntil(lambda: any(r.tenant_id == northwind.id and r.sku_id == exo and r.mapped
                                for r in reports.rows.rows()), timeout=10000)
    row = next(r for r in reports.rows.rows() if r.tenant_id == northwind.id and r.sku_id == exo)
    assert (row.billed, row.unbilled, row.leakage, row.status) == (0, 8, Decimal("32.00"), "unbilled seats")
    total = reports.rows.rows()
    unbilled = sum(r.unbilled for r in total if not r.free)
    assert f"{unbilled} seats unbilled" in reports.totals.text()
    window.grab().save("/tmp/journey-reports.png")

    # 11. Sync now from the tray menu: Northwind's agreement gets its line.
    shell.tray.menu.aboutToShow.emit()
    with qtbot.waitSignal(shell.sync.finished, timeout=60000):
        shell.tray.actions()["Sync now"].trigger()
    prorate, main = additions(cw, agreement_of[northwind.id])
    assert main[:5] == ("EXO-P1", 8, Decimal("4.00"), "2026-04-01", "")  # a new line bills from next month...
    assert prorate[0] == "EXO-P1" and prorate[3:5] == ("2026-03-20", "2026-03-31")
    assert prorate[1] * prorate[2] == Decimal("12.39")  # ... and March's last 12 days: 8 × 4.00 × 12/31
    assert not shell.sync.busy and window.status.text() == "Synced 4 tenant(s): 2 change(s) written"
