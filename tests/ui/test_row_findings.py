"""Every finding in front of the person: a real sync on the in-memory PSA finds an inactive agreement and a
profile not allowed on the agreement's type; the sync result, the company page (beside the row, with its
action), the notices and the companies list's "Needs attention" all say so, until the cause is fixed and that
tenant syncs. A failed tenant's notice stays until that tenant syncs, whatever other tenants' syncs do."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.billing.operations import FindingKind
from app.billing.types import AgreementStatus, BillingProfile, Mapping
from app.services.customers.company_rows import FindingAction
from app.services.notify.notices import NoticeKind
from app.services.psa.fake import FakePsa
from app.services.sync.findings import TEXTS
from app.ui.views.companies_model import Filter
from app.ui.views.sync_result import DetailsDialog
from tests.sync.psa_shop import Shop
from tests.ui.seed import SPB, Seed, lic
from tests.ui.test_sync_feedback import CONSENT_WORDS, on_shop

INACTIVE = TEXTS[FindingKind.INACTIVE_AGREEMENT]
NOT_ALLOWED = TEXTS[FindingKind.AGREEMENT_TYPE_NOT_ALLOWED]


@pytest.fixture
def shop(context):
    """Contoso Dental billed on an agreement set inactive in the PSA (an active one beside it), and Fabrikam on
    an agreement of a type its billing profile does not allow; Adatum billed right."""
    seed = Seed(context)
    psa = FakePsa()
    contoso, fabrikam, adatum = (psa.add_company(name) for name in ("Contoso Dental", "Fabrikam", "Adatum"))
    agreements = {
        "Contoso Dental": psa.add_agreement(contoso, name="Contoso - Old 365", type_name="Microsoft 365",
                                            status=AgreementStatus.INACTIVE),
        "Fabrikam": psa.add_agreement(fabrikam, name="Fabrikam - Block Hours", type_name="Block Hours"),
        "Adatum": psa.add_agreement(adatum, name="Adatum - Managed 365", type_name="Microsoft 365"),
    }
    active = psa.add_agreement(contoso, name="Contoso - Managed 365", type_name="Microsoft 365")
    psa.add_product("M365-BP", description="Microsoft 365 Business Premium", price=Decimal("22.00"))
    connection = seed.connection_id
    companies = {c.name: c for c in context.uow.companies.replace(connection, psa.list_companies())}
    context.uow.catalog.replace_agreements(connection, psa.list_agreements())
    context.uow.catalog.replace_products(connection, psa.list_products())
    [product] = context.uow.catalog.products(connection)
    profile = context.uow.profiles.save(connection, BillingProfile(
        id="", name="M365 BP - Monthly", product=product, allowed_agreement_types=frozenset({"Microsoft 365"})))
    tenants = {}
    for name, agreement in agreements.items():
        tenant = tenants[name] = seed.tenant(companies[name], name)
        seed.snapshot(tenant, [lic(SPB, "Microsoft 365 Business Premium", 10, 10)])
        context.uow.mappings.save(Mapping(tenant_id=tenant, sku_id=SPB, profile=profile, agreement_id=agreement))
    context.psas.psa = lambda connection_id: psa
    made = Shop(context=context, psa=psa, tenants=tenants)
    made.companies = companies
    made.profile = profile
    made.active = active
    return made


@pytest.fixture
def shell(qtbot, make_shell, shop):
    made = make_shell(tray=True)
    made.sync._run_sync = on_shop(shop)
    made.messages = []
    made.tray.message_shown.connect(lambda title, text: made.messages.append((title, text)))
    made.window.show()
    return made


def sync(qtbot, shell, target: str = "*") -> None:
    """Sync ``target`` and wait until the notices computed after it ended are shown. Only those: on a team
    database another change (the test's own edit of a mapping) may have notices computed meanwhile, from what
    was stored before the sync."""
    listening, shown = [], []

    def computed(_result) -> None:
        shown.append(True)

    def ended(*_) -> None:  # after the center asked for its computation: any older one is dropped, not shown
        shell.notifications.gathered.connect(computed)
        listening.append(True)

    shell.sync.finished.connect(ended)
    try:
        shell.sync.sync_now(target)
        qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    finally:
        shell.sync.finished.disconnect(ended)
        if listening:
            shell.notifications.gathered.disconnect(computed)


def finding_notices(shell) -> dict[str, str]:
    """The notices of findings: title -> message."""
    return {n.title: n.message for n in shell.notifications.notices if n.kind is NoticeKind.FINDING}


def attention(companies) -> set[str]:
    return {r.name for r in companies.model.rows() if r.attention}


def noticed(shell, shop) -> set[str]:
    """The companies the notices needing attention name (through their tenants): "Needs attention" lists them."""
    tenants = {n.tenant_id for n in shell.notifications.notices if n.attention}
    return {name for name, tenant in shop.tenants.items() if tenant in tenants}


def test_an_inactive_agreement_and_a_profile_not_allowed_are_in_front_of_the_person_until_fixed(
        qtbot, shell, shop, context):
    companies = shell.window.view("companies")
    qtbot.waitUntil(lambda: companies.model.rowCount() == 3, timeout=15000)
    assert attention(companies) == set()
    contoso = shop.companies["Contoso Dental"]
    with qtbot.waitSignal(companies.company.loaded, timeout=15000):
        companies.open_company(contoso.id)
    page = companies.company
    with qtbot.waitSignal(page.loaded, timeout=20000):  # the page reads again after the sync
        sync(qtbot, shell)

    # The sync result of the company's page.
    assert page.result.kind == "warning"
    assert INACTIVE.title in page.result.text() and INACTIVE.advice in page.result.text()
    assert "agreement Contoso - Old 365 is inactive" in page.result.text()

    # Beside the row: its badge, its tooltip, and under the table what to do with the button that does it.
    page.select(lambda row: getattr(row, "license", None) is not None)
    row = page.selected_license()
    assert [(f.title, f.message, f.action) for f in row.findings] == [
        (INACTIVE.title, "agreement Contoso - Old 365 is inactive", FindingAction.MAP)]
    index = page.proxy.index(0, 0)
    assert index.data(Qt.ItemDataRole.ToolTipRole).count(INACTIVE.advice) == 1
    assert page.findings.isVisibleTo(page)
    assert INACTIVE.advice in page.findings.text() and "agreement Contoso - Old 365 is inactive" in page.findings.text()
    mapping_button = page.findings.buttons[FindingAction.MAP]
    assert mapping_button.text() == "Map…" and mapping_button.isEnabled()
    asked = []
    page._ask_mapping = asked.append  # the dialog is the mapping dialog's own test's
    qtbot.mouseClick(mapping_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(asked), timeout=15000)
    assert asked[0].target.tenant_id == shop.tenants["Contoso Dental"]

    # The notices: one per tenant and kind, in the tray once.
    assert finding_notices(shell) == {
        f"Contoso Dental: {INACTIVE.title}": f"agreement Contoso - Old 365 is inactive; {INACTIVE.advice}",
        f"Fabrikam: {NOT_ALLOWED.title}": ("billing profile M365 BP - Monthly may not be used on agreements of "
                                          f"type 'Block Hours'; {NOT_ALLOWED.advice}")}
    assert any(f"Contoso Dental: {INACTIVE.title}" in text or title == f"Contoso Dental: {INACTIVE.title}"
               for title, text in shell.messages)

    # "Needs attention" counts those companies, as the badge and the tray do.
    qtbot.waitUntil(lambda: attention(companies) == {"Contoso Dental", "Fabrikam"}, timeout=15000)
    assert noticed(shell, shop) == {"Contoso Dental", "Fabrikam"}
    assert companies.filter_buttons[Filter.ATTENTION].text() == "Needs attention (2)"
    qtbot.waitUntil(lambda: shell.window.badge("companies") == 2, timeout=15000)
    assert shell.tray.icon.toolTip() == "seatsync: 2 companies need your attention"
    tips = {r.name: companies.model.index(n, 0).data(Qt.ItemDataRole.ToolTipRole)
            for n, r in enumerate(companies.model.rows())}
    assert "1 kind(s) of finding of the last sync" in tips["Fabrikam"]

    # Fixed as the finding says (mapped to the active agreement), and only that company synced.
    [mapping] = context.uow.mappings.for_tenant(shop.tenants["Contoso Dental"])
    context.uow.mappings.save(replace(mapping, agreement_id=shop.active))
    with qtbot.waitSignal(page.loaded, timeout=20000):
        sync(qtbot, shell, str(contoso.id))
    assert list(finding_notices(shell)) == [f"Fabrikam: {NOT_ALLOWED.title}"]  # not cleared by another's sync
    page.select(lambda row: getattr(row, "license", None) is not None)
    assert page.selected_license().findings == () and not page.findings.isVisibleTo(page)
    qtbot.waitUntil(lambda: attention(companies) == {"Fabrikam"}, timeout=15000)
    assert noticed(shell, shop) == {"Fabrikam"}
    assert shop.psa.lines() and {line.agreement_id for line in shop.psa.lines()} >= {shop.active}


def test_a_failed_tenants_notice_stays_through_another_tenants_sync_and_goes_when_it_syncs(qtbot, shell, shop):
    companies = shell.window.view("companies")
    qtbot.waitUntil(lambda: companies.model.rowCount() == 3, timeout=15000)
    shop.refuse("Adatum", "AADSTS700016")
    sync(qtbot, shell)
    adatum, fabrikam = shop.companies["Adatum"], shop.companies["Fabrikam"]

    def adatum_notices() -> set[NoticeKind]:
        return {n.kind for n in shell.notifications.notices if n.tenant_id == shop.tenants["Adatum"]}

    # Raised from the real sync's result: the failure, and the access it found missing.
    assert adatum_notices() == {NoticeKind.SYNC_FAILED, NoticeKind.ACCESS_FAILED}
    qtbot.waitUntil(lambda: "Adatum" in attention(companies), timeout=15000)
    assert attention(companies) == noticed(shell, shop) == {"Adatum", "Contoso Dental", "Fabrikam"}
    [row] = [r for r in companies.model.rows() if r.name == "Adatum"]
    assert row.failed and row.access == 1

    # The reason is one click from the list.
    assert companies.select_company(adatum.id)
    assert companies.why_button.isEnabled()
    qtbot.mouseClick(companies.why_button, Qt.MouseButton.LeftButton)
    dialog = companies.findChild(DetailsDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.headline.text().startswith("Adatum: the last sync on ") and "failed" in dialog.headline.text()
    assert dialog.details.toPlainText().startswith(f"What failed: {CONSENT_WORDS}")
    dialog.close()
    QApplication.processEvents()
    assert companies.select_company(fabrikam.id) and not companies.why_button.isEnabled()

    sync(qtbot, shell, str(fabrikam.id))  # another tenant's sync
    assert adatum_notices() == {NoticeKind.SYNC_FAILED, NoticeKind.ACCESS_FAILED}

    shop.refused.clear()
    sync(qtbot, shell, str(adatum.id))
    assert adatum_notices() == set()
    qtbot.waitUntil(lambda: "Adatum" not in attention(companies), timeout=15000)
    assert attention(companies) == noticed(shell, shop)
