"""Notifications in the window: computed after each sync and at start, shown once in the tray, counted in the
toolbar and the tray's state, and sent as the digest (webhook) after the scheduled sync."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QApplication

from app.billing.types import BillingProfile, Exclusion, License, Mapping, TenantInventory
from app.sandbox.server import SandboxServer
from app.services.notify.notices import Notice, NoticeKind
from app.services.psa.fake import FakePsa
from app.services.settings import NotificationSettings, WebhookKind
from app.services.sync.scheduler import ScheduleSettings
from app.ui.app import build_shell
from app.ui.notifications import Gathered, NoticesButton, NotificationCenter
from app.ui.tray import TrayState
from tests.test_notify import Hooks
from tests.ui.admin_support import connect_microsoft, context, ms_scenario, ms_server, tls  # noqa: F401
from tests.ui.seed import EXCHANGE, FLOW_FREE, SPB, TODAY, lic

NEW_EXCHANGE = ("Contoso Dental: new license Exchange Online (Plan 1) has no billing profile",
                "4 of 4 seats assigned; map it or exclude it.")


@dataclass
class Microsoft:
    """What the tenant holds in Microsoft now; the sync's read stores it as the real read does."""

    licenses: list[License] = field(default_factory=lambda: [lic(SPB, "Microsoft 365 Business Premium", 10, 10)])


@pytest.fixture
def billed(context, seed):  # noqa: F811 - admin_support's context (the sandboxes' CA)
    """Contoso Dental on the in-memory PSA, Business Premium mapped: nothing needs attention yet."""
    psa = FakePsa()
    company_psa = psa.add_company("Contoso Dental")
    agreement = psa.add_agreement(company_psa, name="Contoso - Managed 365", type_name="Microsoft 365")
    psa.add_product("M365-BP", description="Microsoft 365 Business Premium", price=Decimal("22.00"))
    connection = seed.connection_id
    [company] = context.uow.companies.replace(connection, psa.list_companies())
    context.uow.catalog.replace_agreements(connection, psa.list_agreements())
    context.uow.catalog.replace_products(connection, psa.list_products())
    [product] = context.uow.catalog.products(connection)
    profile = context.uow.profiles.save(connection, BillingProfile(id="", name="M365 BP - Monthly", product=product))
    tenant = seed.tenant(company, "Contoso Dental")
    microsoft = Microsoft()
    seed.snapshot(tenant, microsoft.licenses)
    context.uow.mappings.save(Mapping(tenant_id=tenant, sku_id=SPB, profile=profile, agreement_id=agreement))
    context.psas.psa = lambda connection_id: psa  # the in-memory PSA stands in for the real one
    return SimpleNamespace(tenant=tenant, microsoft=microsoft)


@pytest.fixture
def shell(qtbot, context, billed, ui_settings):  # noqa: F811
    """The window (shown: the sync's own summary goes to the toolbar, not the tray) syncing for real."""

    def fetch(tenant_id: str, with_users: bool) -> TenantInventory:
        read = TenantInventory(tenant_id=tenant_id, name="Contoso Dental", fetched_at=context.now(),
                               licenses=tuple(billed.microsoft.licenses))
        context.uow.inventory.save(read)
        return read

    def run(target: str, **kw):
        service = context.sync_service(today=lambda: TODAY, fetch_inventory=fetch)
        return service.sync(None if target == "*" else int(target), **kw)

    made = build_shell(context, settings=ui_settings, run_sync=run, tray=True,
                       schedule=ScheduleSettings(enabled=False))
    qtbot.addWidget(made.window)
    made.sync.start()
    made.window.show()
    made.messages = []
    made.tray.message_shown.connect(lambda title, text: made.messages.append((title, text)))
    yield made
    made.window.quitting = True
    made.window.close()
    made.shutdown()


def gathered(qtbot, shell, act) -> Gathered:
    """Do ``act`` and wait until the notices it leads to were computed and applied."""
    with qtbot.waitSignal(shell.notifications.gathered, timeout=15000) as blocker:
        act()
    return blocker.args[0]


def sync(qtbot, shell) -> Gathered:
    return gathered(qtbot, shell, shell.window.sync_action.trigger)


def button(shell) -> NoticesButton:
    found = shell.window.findChild(NoticesButton, "notices")
    assert found is not None
    return found


def test_a_sync_that_finds_an_unmapped_license_asks_the_tray_to_say_so_once(qtbot, shell, billed):
    first = gathered(qtbot, shell, shell.notifications.refresh)  # as at start
    assert first.notices == () and shell.messages == []
    assert button(shell).text() == "No notices"

    billed.microsoft.licenses.append(lic(EXCHANGE, "Exchange Online (Plan 1)", 4, 4))
    result = sync(qtbot, shell)
    assert [n.kind for n in result.notices] == [NoticeKind.UNMAPPED_LICENSE]
    assert shell.messages == [NEW_EXCHANGE]
    qtbot.waitUntil(lambda: button(shell).text() == "1 needs attention", timeout=15000)  # the companies read again
    assert shell.tray.state is TrayState.ATTENTION
    assert shell.tray.icon.toolTip() == "seatsync: 1 company needs your attention"

    sync(qtbot, shell)  # the same situation: not said again
    assert shell.messages == [NEW_EXCHANGE]
    menu = button(shell).menu()
    menu.popup(button(shell).mapToGlobal(button(shell).rect().bottomLeft()))  # as a click opens it
    qtbot.waitUntil(menu.isVisible)
    shell.window.grab().save("/tmp/notices-toolbar.png")
    menu.grab().save("/tmp/notices-menu.png")
    menu.hide()
    companies, entry = [action for action in menu.actions() if not action.isSeparator()]
    assert companies.text() == "1 company needs your attention"
    assert entry.text() == "Licenses without a billing profile (new SKUs too) (1)"
    assert entry.toolTip() == "Contoso Dental: Exchange Online (Plan 1) has no billing profile"  # not new now
    shell.window.show_view("settings")
    entry.trigger()
    assert shell.window.current_key() == "companies"  # where a license is mapped


def test_excluded_licenses_raise_nothing(qtbot, shell, billed, context):  # noqa: F811
    context.uow.exclusions.add(Exclusion(sku_id=FLOW_FREE, reason="free"))
    context.uow.exclusions.add(Exclusion(sku_id=EXCHANGE, tenant_id=billed.tenant, reason="sold elsewhere"))
    billed.microsoft.licenses += [lic(FLOW_FREE, "Microsoft Power Automate Free", 10000, 3),
                                  lic(EXCHANGE, "Exchange Online (Plan 1)", 4, 4)]
    result = sync(qtbot, shell)
    assert {(lic.sku_id, lic.assigned) for lic in context.uow.inventory.latest(billed.tenant).licenses} == {
        (SPB, 10), (FLOW_FREE, 3), (EXCHANGE, 4)}  # read, and excluded
    assert result.notices == () and shell.messages == []
    assert button(shell).text() == "No notices" and shell.tray.state is TrayState.IDLE


def test_a_kind_muted_in_settings_is_not_shown_in_the_tray_but_still_counted(qtbot, shell, billed, context):  # noqa: F811
    context.settings.set_notifications(NotificationSettings(tray_muted=(NoticeKind.UNMAPPED_LICENSE.value,)))
    billed.microsoft.licenses.append(lic(EXCHANGE, "Exchange Online (Plan 1)", 4, 4))
    result = sync(qtbot, shell)
    assert len(result.notices) == 1 and result.tray == ()
    assert shell.messages == []
    qtbot.waitUntil(lambda: button(shell).text() == "1 needs attention", timeout=15000)  # still counted
    assert shell.tray.state is TrayState.ATTENTION


def test_at_start_partner_center_customers_not_added_are_said_in_one_message(qtbot, context, ui_settings, tls,  # noqa: F811
                                                                             ms_scenario, ms_server):  # noqa: F811
    connect_microsoft(context, ms_scenario, ms_server)
    made = build_shell(context, settings=ui_settings, run_sync=lambda *a, **k: None, tray=True,
                       schedule=ScheduleSettings(enabled=False))
    qtbot.addWidget(made.window)
    messages = []
    made.tray.message_shown.connect(lambda title, text: messages.append((title, text)))
    try:
        result = gathered(qtbot, made, made.notifications.refresh)
        assert [n.kind for n in result.notices] == [NoticeKind.TENANT_NOT_ADDED] * 10
        [(title, text)] = messages
        assert title == "seatsync: 10 new notices"
        assert text.splitlines()[:3] == [n.title for n in result.notices[:3]] and text.endswith("and 7 more")
        assert result.notices[0].title.endswith("is in Partner Center but not in seatsync")
        gathered(qtbot, made, made.notifications.refresh)
        assert len(messages) == 1
        ms_scenario.secret_expired = True  # Partner Center can no longer be read: that is a notice too
        made.context.microsoft.forget()
        result = gathered(qtbot, made, made.notifications.refresh)
        assert [n.kind for n in result.notices] == [NoticeKind.ACCESS_FAILED]
        assert result.notices[0].message.startswith("Reading Partner Center's customers:")
    finally:
        made.window.quitting = True
        made.window.close()
        made.shutdown()


def test_the_digest_goes_to_the_webhook_after_the_scheduled_sync_only(qtbot, shell, billed, context, tls):  # noqa: F811
    hooks = Hooks()
    with SandboxServer(hooks, tls=tls) as server:
        context.settings.set_notifications(NotificationSettings(webhook_enabled=True,
                                                                webhook_kind=WebhookKind.GENERIC))
        context.settings.set_webhook_url(f"{server.url}/hooks/T01/tok-secret")
        billed.microsoft.licenses.append(lic(EXCHANGE, "Exchange Online (Plan 1)", 4, 4))
        manual = sync(qtbot, shell)
        assert manual.delivery is None and hooks.received == []
        scheduled = gathered(qtbot, shell, lambda: shell.sync.scheduler.sync_now("*", scheduled=True))
        assert scheduled.delivery is not None and scheduled.delivery.posted and not scheduled.delivery.errors
        [(token, payload)] = hooks.received
    assert token == "tok-secret"
    assert [(n["kind"], n["title"]) for n in payload["notices"]] == [
        ("unmapped_license", "Contoso Dental: Exchange Online (Plan 1) has no billing profile")]
    assert shell.messages == [NEW_EXCHANGE]  # the tray said it once, at the first sync


def test_only_the_newest_computation_is_applied(qtbot, tasks):
    gate = threading.Event()

    def notice(n: int) -> Notice:
        return Notice(kind=NoticeKind.SYNC_FAILED, title=f"run {n}", message="", sku_id=str(n))

    def gather_fn(context, *, digest, run_id):  # noqa: F811
        if run_id == 1:
            gate.wait(10)  # the older computation finishes last
        return Gathered(notices=(notice(run_id),), tray=(notice(run_id),))

    center = NotificationCenter(None, tasks, gather_fn=gather_fn)
    shown = []
    center.message.connect(lambda title, text: shown.append(title))
    center.refresh(run_id=1)
    with qtbot.waitSignal(center.gathered, timeout=15000):
        center.refresh(run_id=2)
    gate.set()
    tasks.wait_idle()
    QApplication.processEvents()
    assert center.notices == (notice(2),) and shown == ["run 2"]
