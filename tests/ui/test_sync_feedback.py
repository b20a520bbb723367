"""What a sync does is visible, stoppable and honest in the window: why a company failed one click away, the
messages in words, Cancel, a PSA that is down said once, views read again after a sync, one attention count,
no catch-up sync on an empty installation, and a question before approving a large change."""

from __future__ import annotations

import re
import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.billing.markers import main_marker
from app.billing.operations import Finding, FindingKind, Operation, OpKind
from app.billing.types import Mapping, RowKey
from app.models.records import HeldStatus, RunStatus
from app.models.repositories import Approvals
from app.services.notify.notices import NoticeKind
from app.services.psa.port import PsaUnavailable
from app.services.sync.engine import CANCELLED, Status, TenantResult
from app.services.sync.scheduler import ALL, ScheduleSettings
from app.services.sync.service import RunSummary
from app.ui import app as app_module
from app.ui.app import build_shell
from app.ui.formatting import money
from app.ui.main_window import CANCELLING
from app.ui.notifications import NoticesButton
from app.ui.views.companies_model import Filter
from app.ui.views.sync_result import SyncReport, run_sentence
from tests.sync.psa_shop import REFUSALS, open_shop
from tests.ui.seed import EXCHANGE, SPB, Seed, realistic_world

CONSENT_WORDS = ("Microsoft sign-in refused: seatsync's app is not found in the customer's tenant (consent was "
                 "never granted, or was removed): have its admin grant consent (AADSTS700016)")
EXPIRED_WORDS = ("Microsoft sign-in refused: the Microsoft app's client secret has expired: create a new one in "
                 "Entra ID and enter it in Settings (AADSTS7000222)")
DOWN = "GET /procurement/products: no connection within 3.05 s"
AT = r"\d\d:\d\d"


def on_shop(shop, **service):
    """The window's sync, run by the sync service over the shop (it takes the cancel flag)."""

    def run(target: str, **kw):
        return shop.service(**service).sync(None if target == ALL else int(target), **kw)

    return run


@pytest.fixture
def hidden_shell(qtbot, make_shell):
    """The shell with its tray, the window closed to it; every tray message kept."""

    def make(run_sync):
        shell = make_shell(tray=True)
        shell.sync._run_sync = run_sync
        shell.messages = []
        shell.tray.message_shown.connect(lambda title, text: shell.messages.append((title, text)))
        return shell

    return make


def sync_from_the_tray(qtbot, shell) -> None:
    """Sync now from the tray menu, and wait until the notices it leads to were computed."""
    shell.tray.menu.aboutToShow.emit()
    with qtbot.waitSignal(shell.notifications.gathered, timeout=20000):
        shell.tray.actions()["Sync now"].trigger()


# -- 1. why a company failed, one click away ----------------------------------------------------------------


def test_a_failed_company_shows_its_error_findings_and_held_changes_one_click_away(qtbot, contoso, make_shell,
                                                                                    fake_sync):
    row = RowKey(tenant_id=contoso.tenant, sku_id=SPB)
    held = Operation(key="v1-held", kind=OpKind.SET_QUANTITY, row=row, agreement_id=contoso.m365.id,
                     product_id=contoso.bp.product.id, marker=main_marker(row), effective=date(2026, 12, 1),
                     quantity=17, before=21, unit_price=Decimal("22.00"), amount=Decimal("374.00"))
    refusal = str(REFUSALS["AADSTS700016"](contoso.tenant))
    fake_sync.summary = RunSummary(results=(TenantResult(
        tenant_id=contoso.tenant, name="Contoso Dental", company="Contoso Dental", status=Status.FAILED,
        error=refusal, held=[(held, "decreases wait for approval")],
        findings=[Finding(kind=FindingKind.UNMAPPED_LICENSE, tenant_id=contoso.tenant, sku_id=EXCHANGE,
                          message="Exchange Online (Plan 1) has no billing profile")]),))
    shell = make_shell()
    shell.window.show()
    view = shell.window.view("companies")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    with qtbot.waitSignal(view.company.loaded, timeout=15000):
        view.open_company(contoso.company.id)
    page = view.company
    with qtbot.waitSignal(shell.sync.finished, timeout=15000):
        qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
    panel = page.result
    qtbot.waitUntil(lambda: panel.isVisibleTo(page), timeout=15000)
    assert panel.headline.text() == "The sync failed for this company."
    assert f"Contoso Dental: {CONSENT_WORDS}" in panel.body.text().splitlines()
    assert panel.details_button.isVisibleTo(page) and not panel.details.isVisibleTo(page)

    qtbot.mouseClick(panel.details_button, Qt.MouseButton.LeftButton)  # one click
    assert panel.details.isVisibleTo(page)
    assert panel.details.isReadOnly()
    assert panel.details.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    assert panel.details.toPlainText().splitlines() == [
        "Contoso Dental",
        f"Tenant: Contoso Dental ({contoso.tenant})",
        f"What failed: {CONSENT_WORDS}",
        f"As Microsoft or the PSA said it: {refusal}",
        "",
        "Findings:",
        "  License without a billing profile (1): Its seats are not billed: map it on the company's page, or "
        "exclude it if it is not billed.",
        "    • Exchange Online (Plan 1) has no billing profile",
        "",
        "Waiting for approval:",
        "  • Microsoft 365 Business Premium: 21 → 17 seats on Contoso - Managed 365, from 1 Dec 2026 "
        "(decreases wait for approval)",
    ]
    qtbot.mouseClick(panel.details_button, Qt.MouseButton.LeftButton)
    assert not panel.details.isVisibleTo(page)


# -- 2. the messages, in words --------------------------------------------------------------------------------


def test_the_tray_names_what_failed_in_words_and_the_toolbar_opens_the_details(qtbot, context, hidden_shell):
    shop = open_shop(context, ["Adatum", "Contoso Dental", "Fabrikam", "Litware", "Northwind"])
    shop.refuse("Contoso Dental", "AADSTS700016")
    shop.refuse("Fabrikam", "AADSTS7000222")
    shell = hidden_shell(on_shop(shop))
    sync_from_the_tray(qtbot, shell)
    # Three notices, said once together: each failed company's, and Contoso Dental's lost access (Fabrikam's
    # refusal is the partner's own secret, which says nothing of its tenant). The run adds none: its failures
    # are its companies'.
    [(title, text)] = shell.messages
    assert title == "seatsync: 3 new notices"
    access, contoso, fabrikam = sorted(text.splitlines())
    assert access == "Contoso Dental: Microsoft access missing"
    assert re.fullmatch(f"Contoso Dental: the sync at {AT} failed", contoso), contoso
    assert re.fullmatch(f"Fabrikam: the sync at {AT} failed", fabrikam), fabrikam
    said = {n.title: n.message for n in shell.notifications.notices}
    assert (said[contoso], said[fabrikam]) == (CONSENT_WORDS, EXPIRED_WORDS)

    shell.tray.icon.messageClicked.emit()  # a click on the message opens the window
    assert shell.window.isVisible()
    report = shell.report_button
    assert report.isVisible() and report.text() == "2 failed: why?"
    qtbot.mouseClick(report, Qt.MouseButton.LeftButton)
    dialog = report.report
    assert isinstance(dialog, SyncReport) and dialog.isVisible()
    assert re.fullmatch(f"The sync at {AT} finished; 2 of 5 companies failed: Contoso Dental \\(.*\\), "
                        "Fabrikam \\(.*\\)\\.", dialog.headline.text()), dialog.headline.text()
    entries = [dialog.entries.item(n).text() for n in range(dialog.entries.count())]
    assert entries == [f"Contoso Dental: {CONSENT_WORDS}", f"Fabrikam: {EXPIRED_WORDS}"]
    dialog.entries.setCurrentRow(1)
    details = dialog.details.toPlainText()
    assert f"What failed: {EXPIRED_WORDS}" in details and "client secret keys for app 'c0ffee' are expired" in details
    dialog.close()


def test_run_sentences_are_grammatical():
    at = datetime.now().astimezone().replace(hour=22, minute=3)
    ok = TenantResult(tenant_id="t1", company="Adatum", status=Status.OK)
    failed = TenantResult(tenant_id="t2", company="Contoso Dental", status=Status.FAILED,
                          error=str(REFUSALS["AADSTS700016"]("t2")))
    cancelled = TenantResult(tenant_id="t3", company="Fabrikam", status=Status.FAILED,
                             error="not synced: cancelled", not_synced=CANCELLED)
    assert run_sentence(RunSummary(results=(ok, failed), started_at=at)) == (
        f"The sync at 22:03 finished; 1 of 2 companies failed: Contoso Dental ({CONSENT_WORDS}).")
    assert run_sentence(RunSummary(results=(ok,), started_at=at)) == (
        "The sync at 22:03 finished: 1 company synced, 0 change(s) written.")
    assert run_sentence(RunSummary(results=(ok, cancelled), started_at=at, stops=((CANCELLED, (cancelled,)),))) == (
        "The sync at 22:03 was cancelled: 1 of 2 companies synced, 1 not synced.")
    assert run_sentence(RunSummary(results=(ok,), started_at=at, contacts=("Adatum: contacts: 2 created",))) == (
        "The sync at 22:03 finished: 1 company synced, 0 change(s) written. Adatum: contacts: 2 created.")


# -- 3. Cancel, and a PSA that is down ----------------------------------------------------------------------------


def test_cancel_lets_the_company_started_finish_and_starts_no_other(qtbot, context, hidden_shell):
    shop = open_shop(context, ["Adatum", "Contoso Dental", "Fabrikam", "Litware"])
    reading, gate = threading.Event(), threading.Event()

    def first_read_waits(tenant_id: str) -> None:
        if not reading.is_set():
            reading.set()
            gate.wait(10)

    shop.on_read = first_read_waits
    shell = hidden_shell(on_shop(shop, workers=1))
    shell.tray.menu.aboutToShow.emit()
    shell.tray.actions()["Sync now"].trigger()
    qtbot.waitUntil(reading.is_set, timeout=10000)
    qtbot.waitUntil(lambda: shell.sync.busy, timeout=10000)  # the UI hears of the start by a queued signal
    shell.tray.menu.aboutToShow.emit()
    assert shell.tray.actions()["Cancel sync"].isEnabled()
    shell.tray.actions()["Cancel sync"].trigger()
    assert shell.window.status.text() == CANCELLING and shell.sync.cancelling
    assert shell.tray.icon.toolTip() == "seatsync: cancelling…"
    shell.tray.menu.aboutToShow.emit()
    assert not shell.tray.actions()["Cancelling…"].isEnabled()
    with qtbot.waitSignal(shell.sync.finished, timeout=10000) as finished:
        gate.set()
    summary = finished.args[1]
    assert [(r.company, r.status, r.not_synced) for r in summary.results] == [
        ("Adatum", Status.OK, ""), *[(name, Status.FAILED, CANCELLED) for name in
                                     ("Contoso Dental", "Fabrikam", "Litware")]]
    assert summary.results[0].writes == 2 and shop.reads == [shop.tenants["Adatum"]]
    assert context.uow.runs.get(summary.run_id).status is RunStatus.CANCELLED
    assert shell.report_button.text() == "3 not synced: why?"
    assert shell.messages == []  # a person cancelled it: nothing to tell them in the tray


def test_the_windows_cancel_button_asks_the_running_sync_to_stop(qtbot, context, make_shell):
    shop = open_shop(context, ["Adatum", "Contoso Dental", "Fabrikam"])
    reading, gate = threading.Event(), threading.Event()
    shop.on_read = lambda tenant_id: (reading.set(), gate.wait(10))
    shell = make_shell()
    shell.sync._run_sync = on_shop(shop, workers=1)
    shell.window.show()
    qtbot.waitExposed(shell.window)
    shell.window.sync_action.trigger()
    qtbot.waitUntil(reading.is_set, timeout=10000)
    qtbot.waitUntil(lambda: shell.window.syncing, timeout=10000)  # the UI hears of the start by a queued signal
    qtbot.mouseClick(shell.window.cancel_button, Qt.MouseButton.LeftButton)
    assert shell.sync.cancelling
    with qtbot.waitSignal(shell.sync.finished, timeout=10000) as finished:
        gate.set()
    assert [r.not_synced for r in finished.args[1].results] == ["", CANCELLED, CANCELLED]


def test_a_psa_that_is_down_is_said_once(qtbot, context, hidden_shell):
    shop = open_shop(context, ["Adatum", "Contoso Dental", "Fabrikam", "Litware", "Northwind", "Tailspin"])
    shop.psa.fail_next("list_products", PsaUnavailable(f"({DOWN})"), times=100)
    shell = hidden_shell(on_shop(shop))
    sync_from_the_tray(qtbot, shell)
    [(title, text)] = shell.messages
    assert re.fullmatch(f"The sync at {AT} failed for all 6 companies", title), title
    assert text == f"ConnectWise PSA is not answering ({DOWN}): 6 companies not synced"
    shell.window.bring_to_front()
    assert shell.report_button.text() == "6 not synced: why?"
    qtbot.mouseClick(shell.report_button, Qt.MouseButton.LeftButton)
    dialog = shell.report_button.report
    assert re.fullmatch(f"The sync at {AT} stopped: ConnectWise PSA is not answering \\({DOWN}\\), so 6 of 6 "
                        "companies were not synced\\.", dialog.headline.text()), dialog.headline.text()
    assert dialog.entries.count() == 1
    assert dialog.details.toPlainText().count("not answering") == 1
    dialog.close()


# -- 4. views read again after a sync ------------------------------------------------------------------------------


def test_approvals_drop_a_change_the_sync_wrote_without_refresh(qtbot, contoso, make_shell, fake_sync):
    row = RowKey(tenant_id=contoso.tenant, sku_id=SPB)
    Approvals().hold(Operation(key="v1-held", kind=OpKind.SET_QUANTITY, row=row, agreement_id=contoso.m365.id,
                               product_id=contoso.bp.product.id, marker=main_marker(row),
                               effective=date(2026, 12, 1), quantity=17, before=21), reason="decreases wait")
    shell = make_shell()
    shell.window.show()
    view = shell.window.show_view("approvals")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    Approvals().approve("v1-held", by="alice")

    def run(target, **kw):  # the sync writes the approved change
        Approvals().after_run(contoso.tenant, applied=["v1-held"], planned=["v1-held"])
        return RunSummary(results=())

    shell.sync._run_sync = run
    view.show_filter.setCurrentIndex(1)  # "Approved, not yet written"
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    with qtbot.waitSignal(shell.sync.finished, timeout=15000):
        shell.sync.sync_now(ALL)
    qtbot.waitUntil(lambda: view.model.rowCount() == 0, timeout=15000)


def test_hidden_approvals_count_what_waits_after_a_sync_and_read_the_list_when_shown(qtbot, contoso, make_shell,
                                                                                    monkeypatch):
    shell = make_shell()
    shell.window.show()
    view = shell.window.view("approvals")
    read: list[object] = []
    held = view.service.held
    monkeypatch.setattr(view.service, "held", lambda status=HeldStatus.HELD: read.append(status) or held(status))
    shell.tasks.wait_idle()  # the first count: nothing waits
    row = RowKey(tenant_id=contoso.tenant, sku_id=SPB)

    def run(target, **kw):  # the sync holds a change
        Approvals().hold(Operation(key="v1-held", kind=OpKind.SET_QUANTITY, row=row, agreement_id=contoso.m365.id,
                                   product_id=contoso.bp.product.id, marker=main_marker(row),
                                   effective=date(2026, 12, 1), quantity=17, before=21), reason="decreases wait")
        return RunSummary(results=())

    shell.sync._run_sync = run
    with qtbot.waitSignal(shell.sync.finished, timeout=15000):
        shell.sync.sync_now(ALL)
    qtbot.waitUntil(lambda: shell.window.badge("approvals") == 1, timeout=15000)
    shell.tasks.wait_idle()
    assert read == [] and view.model.rowCount() == 0  # counted, not read
    shell.window.show_view("approvals")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    assert read == [HeldStatus.HELD]


@pytest.mark.parametrize("key", ["history", "reports", "exclusions", "rules", "access"])
def test_a_view_of_synced_data_reads_again_after_a_sync_once_it_is_seen(qtbot, contoso, make_shell, monkeypatch, key):
    """On screen, a view reads again when a sync ends; hidden, it reads nothing until it is shown, then once."""
    shell = make_shell()
    shell.window.show()
    qtbot.waitExposed(shell.window)
    view = shell.window.view(key)
    read = []
    monkeypatch.setattr(view, "refresh", lambda: read.append(key))
    shell.sync._run_sync = lambda target, **kw: RunSummary(results=())
    for _ in range(2):  # two background syncs while another view is shown
        with qtbot.waitSignal(shell.sync.finished, timeout=15000):
            shell.sync.sync_now(ALL)
    qtbot.wait(50)
    assert read == []
    shell.window.show_view(key)
    assert read == [key]
    with qtbot.waitSignal(shell.sync.finished, timeout=15000):
        shell.sync.sync_now(ALL)
    qtbot.waitUntil(lambda: read == [key, key], timeout=15000)


# -- 5. one attention count ---------------------------------------------------------------------------------------


def test_the_badge_the_notices_and_the_tray_show_one_number(qtbot, seed, make_shell):
    realistic_world(seed)
    shell = make_shell(tray=True)
    companies = shell.window.view("companies")
    qtbot.waitUntil(lambda: companies.model.rowCount() == 26, timeout=10000)
    with qtbot.waitSignal(shell.notifications.gathered, timeout=10000):
        shell.notifications.refresh()
    rows = companies.model.rows()
    count = sum(1 for r in rows if r.attention)
    assert count != sum(r.attention for r in rows) and count != len(shell.notifications.notices)  # three numbers
    qtbot.waitUntil(lambda: shell.window.badge("companies") == count, timeout=15000)
    assert companies.filter_buttons[Filter.ATTENTION].text() == f"Needs attention ({count})"
    assert shell.tray.icon.toolTip() == f"seatsync: {count} companies need your attention"
    button = shell.window.findChild(NoticesButton, "notices")
    assert button.text() == f"{count} need attention"
    button.rebuild_menu()
    assert button.menu().actions()[0].text() == f"{count} companies need your attention"


# -- 6. no catch-up sync on an empty installation ------------------------------------------------------------------


@pytest.mark.parametrize("something_to_sync", [False, True])
def test_the_missed_daily_sync_runs_at_start_only_with_something_to_sync(qtbot, context, ui_settings, fake_sync,
                                                                        monkeypatch, something_to_sync):
    if something_to_sync:
        seed = Seed(context)
        company = seed.company("Contoso Dental")
        tenant = seed.tenant(company, "Contoso Dental")
        agreement = seed.agreement(company, "Contoso - Managed 365")
        profile = seed.profile("M365 BP", identifier="M365-BP", description="Business Premium", price="22.00")
        context.uow.mappings.save(Mapping(tenant_id=tenant, sku_id=SPB, profile=profile, agreement_id=agreement.id))
    asked = threading.Event()
    ready = app_module.ready_to_sync

    def spied(ctx):
        answer = ready(ctx)
        asked.set()
        return answer

    monkeypatch.setattr(app_module, "ready_to_sync", spied)
    shell = build_shell(context, settings=ui_settings, run_sync=fake_sync, tray=False,
                        schedule=ScheduleSettings(enabled=True))
    qtbot.addWidget(shell.window)
    try:
        if something_to_sync:
            with qtbot.waitSignal(shell.sync.finished, timeout=10000):
                shell.sync.start()
            assert fake_sync.calls == [(ALL, "sync (schedule)", "schedule")]
        else:
            shell.sync.start()
            qtbot.waitUntil(asked.is_set, timeout=10000)
            shell.sync.scheduler.shutdown(wait=True)  # the catch-up job has ended
            assert fake_sync.calls == [] and not shell.sync.busy
            with qtbot.waitSignal(shell.notifications.gathered, timeout=10000) as gathered:
                shell.notifications.refresh()
            assert not [n for n in gathered.args[0].notices if n.kind is NoticeKind.SYNC_FAILED]
            assert "python main.py" not in shell.window.status.text()
    finally:
        shell.window.quitting = True
        shell.window.close()
        shell.shutdown()


# -- 7. approving a large change asks first ------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["Cancel", "Approve"])
def test_approving_a_large_change_states_what_it_bills_first(qtbot, context, contoso, make_shell, answer):
    context.settings.set_max_seats_change_per_line(None)  # no cap: more than 10 seats is large
    row = RowKey(tenant_id=contoso.tenant, sku_id=SPB)
    Approvals().hold(Operation(key="v1-big", kind=OpKind.SET_QUANTITY, row=row, agreement_id=contoso.m365.id,
                               product_id=contoso.bp.product.id, marker=main_marker(row),
                               effective=date(2026, 12, 1), quantity=30, before=10, unit_price=Decimal("22.00"),
                               amount=Decimal("660.00")), reason="more seats than the cap per line")
    shell = make_shell()
    shell.window.show()
    view = shell.window.show_view("approvals")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    qtbot.mouseClick(view.select_all_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.confirmation is not None and view.confirmation.isVisible(), timeout=15000)
    box = view.confirmation
    assert box.textFormat() == Qt.TextFormat.PlainText
    assert ("• Contoso Dental: Microsoft 365 Business Premium, 10 → 30 seats (+20), "
            f"{money(Decimal('660.00'), 'USD')} a month from 1 Dec 2026") in box.text().splitlines()
    assert Approvals().get("v1-big").status is HeldStatus.HELD  # nothing written while it asks
    button = box.button(QMessageBox.StandardButton.Yes if answer == "Approve" else QMessageBox.StandardButton.Cancel)
    assert button.text() == answer
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    if answer == "Approve":
        qtbot.waitUntil(lambda: Approvals().get("v1-big").status is HeldStatus.APPROVED, timeout=15000)
        qtbot.waitUntil(lambda: view.message.text().startswith("Approved 1 change(s)."), timeout=15000)
    else:
        assert view.message.text() == "Nothing was approved."
        assert Approvals().get("v1-big").status is HeldStatus.HELD


def test_a_change_within_the_cap_is_approved_without_asking(qtbot, context, contoso, make_shell):
    context.settings.set_max_seats_change_per_line(50)
    row = RowKey(tenant_id=contoso.tenant, sku_id=SPB)
    Approvals().hold(Operation(key="v1-mid", kind=OpKind.SET_QUANTITY, row=row, agreement_id=contoso.m365.id,
                               product_id=contoso.bp.product.id, marker=main_marker(row),
                               effective=date(2026, 12, 1), quantity=30, before=10), reason="hold all")
    shell = make_shell()
    shell.window.show()
    view = shell.window.show_view("approvals")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    qtbot.mouseClick(view.select_all_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: Approvals().get("v1-mid").status is HeldStatus.APPROVED, timeout=15000)
    assert view.confirmation is None
