"""A company's page: the license table, quick mapping, the mapping dialog, exclude, split and merge,
Sync now with what changed in the PSA, and the time to open a big company."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt

from app.billing.types import BillingProfile, Mapping
from app.services.customers.companies import CompanyService
from app.services.customers.company_rows import MISSING_PROFILE, LicenseRow, SubscriptionRow
from app.services.psa.fake import FakePsa
from app.ui.dialogs.mapping import MappingDialog
from app.ui.formatting import money
from app.ui.views.companies import CompaniesView
from app.ui.views.license_model import (
    ASSIGNED,
    LICENSE,
    MAPPING,
    PURCHASED,
    ROW_ROLE,
    TERM,
    UNASSIGNED,
    LicenseTreeModel,
)
from app.ui.views.quick_map import QuickMapEditor
from app.ui.widgets.badge import BADGE_ROLE
from tests.ui.seed import EXCHANGE, FLOW_FREE, READ_AT, SPB, TODAY, Seed, lic, sub, users


@pytest.fixture
def page(qtbot, tasks, contoso):
    """The Companies view opened on Contoso Dental."""
    view = CompaniesView(None, tasks, service=contoso.service)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    with qtbot.waitSignal(view.company.loaded, timeout=15000):
        view.open_company(contoso.company.id)
    return view.company


def table(company) -> list[tuple[str, ...]]:
    proxy = company.proxy
    out = []
    for row in range(proxy.rowCount()):
        parent = proxy.index(row, 0)
        out.append(tuple(proxy.index(row, c).data() for c in (LICENSE, PURCHASED, ASSIGNED, UNASSIGNED, MAPPING)))
        out += [tuple("  " + (proxy.index(n, c, parent).data() or "") if c == LICENSE
                      else proxy.index(n, c, parent).data()
                      for c in (LICENSE, PURCHASED, ASSIGNED, UNASSIGNED, MAPPING))
                for n in range(proxy.rowCount(parent))]
    return out


def index_of(company, sku: str, column: int = LICENSE, subscription: str = ""):
    proxy = company.proxy
    for row in range(proxy.rowCount()):
        parent = proxy.index(row, 0)
        if parent.data(ROW_ROLE).license.sku_id != sku:
            continue
        if not subscription:
            return proxy.index(row, column)
        for n in range(proxy.rowCount(parent)):
            if proxy.index(n, 0, parent).data(ROW_ROLE).subscription.id == subscription:
                return proxy.index(n, column, parent)
    raise LookupError(sku)


def click(qtbot, company, index) -> None:
    company.tree.scrollTo(index)
    qtbot.mouseClick(company.tree.viewport(), Qt.MouseButton.LeftButton, pos=company.tree.visualRect(index).center())


def reloaded(qtbot, company, action) -> None:
    with qtbot.waitSignal(company.loaded, timeout=15000):
        action()


def test_the_license_model_passes_the_model_tester(qtmodeltester, contoso):
    model = LicenseTreeModel()
    model.set_detail(contoso.service.company(contoso.company.id))
    qtmodeltester.check(model)


def test_opening_a_company_shows_its_licenses_with_the_right_counts(page):
    assert table(page) == [
        ("Microsoft 365 Business Premium", "25", "23", "2", MISSING_PROFILE),
        ("  Annual", "20", "", "", ""),
        ("  Monthly", "5", "", "", ""),
        ("Exchange Online (Plan 1)", "4", "4", "0", MISSING_PROFILE),
        ("Microsoft Power Automate Free", "10000", "3", "9997", MISSING_PROFILE),
    ]
    assert page.title.text() == "Contoso Dental"
    assert "3 license(s) need a billing profile" in page.subtitle.text()
    annual = index_of(page, SPB, 0, "s-annual").data(ROW_ROLE)
    assert page.model.data(page.proxy.mapToSource(index_of(page, SPB, TERM, "s-annual"))) == \
        "Annual commitment · billed monthly"
    assert annual.subscription.renewal_date.isoformat() == "2027-04-01"


def test_selecting_a_license_charts_its_seats_over_time(qtbot, page):
    click(qtbot, page, index_of(page, SPB))
    qtbot.waitUntil(lambda: len(page.chart.points) == 5, timeout=15000)
    assert [p.assigned for p in page.chart.points] == [19, 20, 21, 22, 23]
    assert page.chart.title == "Microsoft 365 Business Premium: seats over time"


def test_the_quick_mapping_dropdown_saves_a_mapping_with_only_allowed_agreements(qtbot, page, contoso, context):
    cell = index_of(page, SPB, MAPPING)
    click(qtbot, page, cell)
    qtbot.mouseDClick(page.tree.viewport(), Qt.MouseButton.LeftButton, pos=page.tree.visualRect(cell).center())
    editor = page.tree.findChild(QuickMapEditor)
    assert editor is not None and editor.profile.count() == 3  # a prompt and the two profiles
    with qtbot.waitSignal(page.loaded, timeout=15000):
        qtbot.keyClicks(editor.profile, "M365")  # one allowed agreement: mapped at once
        assert editor.agreement_names() == ["Contoso - Managed 365"]
    assert index_of(page, SPB, MAPPING).data() == "M365 BP - Monthly · Contoso - Managed 365"
    saved = context.uow.mappings.for_tenant(contoso.tenant)
    assert [(m.sku_id, m.profile.id, m.agreement_id) for m in saved] == [(SPB, contoso.bp.id, contoso.m365.id)]

    cell = index_of(page, EXCHANGE, MAPPING)
    click(qtbot, page, cell)
    qtbot.mouseDClick(page.tree.viewport(), Qt.MouseButton.LeftButton, pos=page.tree.visualRect(cell).center())
    editor = page.tree.findChild(QuickMapEditor)
    qtbot.keyClicks(editor.profile, "Exchange")  # allowed on both agreements: the agreement list opens
    assert editor.agreement_names() == ["Contoso - Block hours", "Contoso - Managed 365"]
    editor.agreement.hidePopup()
    with qtbot.waitSignal(page.loaded, timeout=15000):
        qtbot.keyClicks(editor.agreement, "Contoso - M")
    assert index_of(page, EXCHANGE, MAPPING).data() == "Exchange P1 · Contoso - Managed 365"


def test_the_mapping_dialog_opens_from_the_row_and_its_mapping_is_saved(qtbot, page, contoso, monkeypatch):
    seen = {}

    def ask(parent, inputs, **_):  # role: the window's
        seen["inputs"] = inputs
        return Mapping(tenant_id=contoso.tenant, sku_id=EXCHANGE, profile=contoso.exo, agreement_id=contoso.m365.id,
                       minimum_quantity=5)

    monkeypatch.setattr(MappingDialog, "ask", staticmethod(ask))
    click(qtbot, page, index_of(page, EXCHANGE))
    with qtbot.waitSignal(page.loaded, timeout=15000):
        qtbot.mouseClick(page.map_button, Qt.MouseButton.LeftButton)
    inputs = seen["inputs"]
    assert (inputs.license.purchased, inputs.target.sku_id, inputs.existing) == (4, EXCHANGE, None)
    assert [a.name for a in inputs.choices.agreements_for(contoso.bp)] == ["Contoso - Managed 365"]
    assert index_of(page, EXCHANGE, MAPPING).data() == "Exchange P1 · Contoso - Managed 365"
    assert page.selected_row().mapping.minimum_quantity == 5


def test_exclude_removes_the_licenses_notification_badge(qtbot, page):
    assert index_of(page, FLOW_FREE).data(BADGE_ROLE) == 2  # no billing profile; 9,997 unassigned seats
    click(qtbot, page, index_of(page, FLOW_FREE))
    assert page.exclude_button.text() == "Exclude license"
    with qtbot.waitSignal(page.changed, timeout=15000), qtbot.waitSignal(page.loaded, timeout=15000):
        qtbot.mouseClick(page.exclude_button, Qt.MouseButton.LeftButton)
    assert index_of(page, FLOW_FREE).data(BADGE_ROLE) == 0
    assert index_of(page, FLOW_FREE, MAPPING).data() == "Excluded"
    assert page.exclude_button.text() == "Include again" and not page.map_button.isEnabled()
    reloaded(qtbot, page, lambda: qtbot.mouseClick(page.exclude_button, Qt.MouseButton.LeftButton))
    assert index_of(page, FLOW_FREE).data(BADGE_ROLE) == 2


def test_split_and_merge(qtbot, page, contoso):
    click(qtbot, page, index_of(page, SPB))
    assert not page.split_button.isEnabled()  # map it first
    reloaded(qtbot, page, lambda: page._quick_mapped(page.selected_row(), contoso.bp.id, contoso.m365.id))
    assert page.split_button.isEnabled() and not page.merge_button.isEnabled()
    reloaded(qtbot, page, lambda: qtbot.mouseClick(page.split_button, Qt.MouseButton.LeftButton))
    assert table(page)[:3] == [
        ("Microsoft 365 Business Premium", "25", "23", "2", "Split: 2 of 2 subscriptions mapped"),
        ("  Annual", "20", "20", "", "M365 BP - Monthly · Contoso - Managed 365"),
        ("  Monthly", "5", "3", "", "M365 BP - Monthly · Contoso - Managed 365"),
    ]
    # Each subscription now has its own mapping, changed in its own row.
    monthly = index_of(page, SPB, MAPPING, "s-monthly")
    assert page.proxy.flags(monthly) & Qt.ItemFlag.ItemIsEditable
    assert isinstance(monthly.data(ROW_ROLE), SubscriptionRow)
    click(qtbot, page, index_of(page, SPB))
    assert page.merge_button.isEnabled() and not page.split_button.isEnabled()
    reloaded(qtbot, page, lambda: qtbot.mouseClick(page.merge_button, Qt.MouseButton.LeftButton))
    assert table(page)[0][4] == "M365 BP - Monthly · Contoso - Managed 365"
    assert table(page)[1] == ("  Annual", "20", "", "", "")


@pytest.fixture
def psa_world(context, seed):
    """Contoso on the in-memory PSA, its catalog cached, Business Premium mapped: 23 seats to bill."""
    psa = FakePsa()
    company_psa = psa.add_company("Contoso Dental")
    agreement_psa = psa.add_agreement(company_psa, name="Contoso - Managed 365", type_name="Microsoft 365")
    product_psa = psa.add_product("M365-BP", description="Microsoft 365 Business Premium", price=Decimal("22.00"))
    connection = seed.connection_id
    [company] = context.uow.companies.replace(connection, psa.list_companies())
    context.uow.catalog.replace_agreements(connection, psa.list_agreements())
    context.uow.catalog.replace_products(connection, psa.list_products())
    [product] = context.uow.catalog.products(connection)
    profile = context.uow.profiles.save(connection, BillingProfile(id="", name="M365 BP - Monthly", product=product))
    tenant = seed.tenant(company, "Contoso Dental")
    seed.snapshot(tenant, [lic(SPB, "Microsoft 365 Business Premium", 25, 23)])
    context.uow.mappings.save(Mapping(tenant_id=tenant, sku_id=SPB, profile=profile, agreement_id=agreement_psa))
    context.psas.psa = lambda connection_id: psa  # the in-memory PSA stands in for the real one
    return psa, company, agreement_psa, product_psa


def test_sync_now_for_this_company_shows_progress_and_what_changed_in_the_psa(qtbot, context, psa_world, make_shell):
    psa, company, agreement_id, _ = psa_world
    gate = threading.Event()

    def run(target, **kw):
        gate.wait(10)
        service = context.sync_service(today=lambda: TODAY,
                              fetch_inventory=lambda tenant, with_users: context.uow.inventory.latest(tenant))
        return service.sync(None if target == "*" else int(target), **kw)

    shell = make_shell()
    shell.sync._run_sync = run
    shell.window.show()
    view = shell.window.view("companies")
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    with qtbot.waitSignal(view.company.loaded, timeout=15000):
        view.open_company(company.id)
    page = view.company
    with qtbot.waitSignal(shell.sync.started, timeout=15000):
        qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
    assert page.progress.isVisibleTo(page) and not page.sync_button.isEnabled()
    assert shell.window.status.text() == "Syncing…"
    gate.set()
    qtbot.waitUntil(lambda: page.result.isVisibleTo(page), timeout=10000)
    assert page.result.headline.text() == "Synced: 2 change(s) written in the PSA"
    assert page.result.body.text().splitlines() == [
        "Prorate line: +23 Microsoft 365 Business Premium, 16 Nov 2026 – 30 Nov 2026 = "
        f"{money(Decimal('253.00'), 'USD')}",
        "New line: 23 × Microsoft 365 Business Premium on Contoso - Managed 365, from 1 Dec 2026",
        "Unassigned seats (1): Paid for and unused: assign or remove them in Microsoft 365.",
        "  • Microsoft 365 Business Premium: 2 of 25 seats unassigned",
    ]
    assert not page.progress.isVisibleTo(page) and page.sync_button.isEnabled()
    assert sorted(line.quantity for line in psa.list_lines(agreement_id)) == [23, 23]
    assert shell.window.status.text() == "Synced 1 tenant(s): 2 change(s) written"
    qtbot.waitUntil(lambda: view.model.rowCount() == 1 and view.model.row_at(0).last_sync.status == "ok",
                    timeout=15000)


def test_a_company_with_50_licenses_and_500_users_opens_quickly(qtbot, tasks, context):
    seed = Seed(context)
    company = seed.company("Big Customer plc")
    tenant = seed.tenant(company, "Big Customer plc")
    skus = [f"00000000-0000-4000-8000-{n:012d}" for n in range(50)]
    licenses = [lic(sku, f"License {n:02d}", 20 + n, 10 + n, sub(f"{n}-a", sku, 10, annual=True),
                    sub(f"{n}-m", sku, 10 + n)) for n, sku in enumerate(skus)]
    for day in range(30):
        seed.snapshot(tenant, licenses, at=READ_AT - timedelta(days=30 - day))
    people = users("big.example", 500, skus[:10])
    service = CompanyService(context.uow, today=lambda: TODAY, read_users=lambda t: people)
    view = CompaniesView(None, tasks, service=service)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    started = time.perf_counter()
    with qtbot.waitSignal(view.company.loaded, timeout=10000):
        view.open_company(company.id)
    opened = time.perf_counter() - started
    view.company.select(lambda row: isinstance(row, LicenseRow) and row.license.sku_id == skus[0])
    started = time.perf_counter()
    inputs = service.mapping_inputs(view.company.selected_row().target)
    dialog = MappingDialog(view, inputs)
    qtbot.addWidget(dialog)
    dialog_time = time.perf_counter() - started
    print(f"\ncompany with 50 licenses, 500 users: opened in {opened * 1000:.0f} ms; "
          f"mapping dialog with its users in {dialog_time * 1000:.0f} ms")
    assert view.company.proxy.rowCount() == 50 and len(inputs.users) == 500
    assert opened < 10


def test_a_mapping_that_cannot_be_saved_keeps_the_edits_to_try_again(qtbot, page, contoso, monkeypatch):
    asked = []
    refused = Mapping(tenant_id=contoso.tenant, sku_id=SPB, profile=contoso.bp, agreement_id=contoso.block.id,
                      minimum_quantity=7)

    def ask(parent, inputs, **_):  # role: the window's
        asked.append(inputs.existing)
        return refused if len(asked) == 1 else None

    monkeypatch.setattr(MappingDialog, "ask", staticmethod(ask))
    click(qtbot, page, index_of(page, SPB))
    qtbot.mouseClick(page.map_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.messages.isVisible, timeout=15000)
    assert page.messages.text().startswith("Could not save the mapping for Contoso Dental: This mapping cannot be "
                                           "saved: (billing profile M365 BP - Monthly may be used on agreements of "
                                           "type Microsoft 365, not 'Block time')")
    qtbot.mouseClick(page.messages.action, Qt.MouseButton.LeftButton)
    assert asked == [None, refused]  # the dialog reopened with what was typed
