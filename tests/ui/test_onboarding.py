"""Add companies in bulk from the Microsoft sandbox's Partner Center, auto-matched to PSA companies."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.sandbox.microsoft.companies import Case, companies_for
from app.services.microsoft.wire import Customer
from app.services.psa.port import PsaCompany
from app.ui.dialogs.onboarding import COL_MATCH, LINKED, PROPOSAL, UNMATCHED, AddCompaniesDialog
from app.ui.views.row_model import GOOD, PROBLEM, WARNING, row_tint
from tests.ui.admin_support import (  # noqa: F401
    closed,
    connect_microsoft,
    context,
    ms_scenario,
    ms_server,
    tasks,
    tls,
)


def seed_companies(context, scenario):  # noqa: F811 - admin_support's fixtures
    companies = companies_for(scenario.profiles())
    connection = context.uow.psa_connections.create(kind="connectwise", name="Main", settings={})
    context.uow.companies.replace(connection.id, companies.companies)
    return companies


def open_dialog(qtbot, context, tasks, **kwargs) -> AddCompaniesDialog:  # noqa: F811
    dialog = AddCompaniesDialog(context, tasks, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0 or dialog.message.level == "error", timeout=15000)
    return dialog


def test_matches_are_ticked_proposals_wait_for_a_choice_and_confirm_adds_in_bulk(qtbot, context, tasks,  # noqa: F811
                                                                                 ms_scenario, ms_server):  # noqa: F811
    connect_microsoft(context, ms_scenario, ms_server)
    companies = seed_companies(context, ms_scenario)
    dialog = open_dialog(qtbot, context, tasks)
    rows = {r.customer.tenant_id: r for r in dialog.model.rows()}
    assert len(rows) == 10
    for tenant_id, case in companies.cases.items():
        expected = {"link": LINKED, "proposal": PROPOSAL, "unmatched": UNMATCHED}[case.expected]
        assert rows[tenant_id].match == expected, (case, rows[tenant_id])
    ticked = {r.customer.tenant_id for r in dialog.model.checked_rows()}
    assert ticked == {t for t, r in rows.items() if r.match == LINKED}
    colours = {r.match: dialog.model.index(i, COL_MATCH).data(Qt.ItemDataRole.BackgroundRole).color()
               for i, r in enumerate(dialog.model.rows())}
    assert colours == {LINKED: row_tint(GOOD), PROPOSAL: row_tint(WARNING), UNMATCHED: row_tint(PROBLEM)}
    linked = len(ticked)
    assert dialog.add_button.text() == f"Add {linked} companies"

    # Settle the duplicate-name proposal with the company a person would choose.
    duplicate = next(t for t, c in companies.cases.items() if c is Case.DUPLICATE)
    intended = context.uow.companies.by_psa_id(context.uow.psa_connections.all()[0].id, companies.intended[duplicate])
    position = next(i for i in range(dialog.proxy.rowCount())
                    if dialog.proxy.index(i, 0).data(Qt.ItemDataRole.UserRole + 2).customer.tenant_id == duplicate)
    dialog.table.selectRow(position)
    assert dialog.company.isEnabled()
    index = dialog.company.findData(str(intended.id))
    assert "proposed" in dialog.company.itemText(index)
    dialog.company.setCurrentIndex(index)
    dialog.company.activated.emit(index)
    assert dialog.add_button.text() == f"Add {linked + 1} companies"
    dialog.grab().save("/tmp/onboarding.png")

    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10000)
    assert dialog.added == linked + 1
    added = {t.tenant_id for t in context.uow.tenants.all()}
    assert added == ticked | {duplicate}
    [link] = context.uow.tenants.links_of_tenant(duplicate)
    assert link.company_id == intended.id
    for tenant_id in ticked:
        expected_company = companies.intended[tenant_id]
        [link] = context.uow.tenants.links_of_tenant(tenant_id)
        assert link.company_psa_id == expected_company


def test_added_tenants_are_not_offered_again(qtbot, context, tasks):  # noqa: F811
    connection = context.uow.psa_connections.create(kind="connectwise", name="Main", settings={})
    context.uow.companies.replace(connection.id, [PsaCompany(id="1", name="Contoso", domains=("contoso.com",))])
    customers = [Customer(tenant_id="t-1", name="Contoso Ltd", default_domain="contoso.onmicrosoft.com",
                          domains=("contoso.com",)),
                 Customer(tenant_id="t-2", name="Unknown Org", default_domain="unknown.onmicrosoft.com")]
    dialog = open_dialog(qtbot, context, tasks, customers=lambda: customers)
    assert [r.match for r in dialog.model.rows()] == [LINKED, UNMATCHED]
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10000)
    again = open_dialog(qtbot, context, tasks, customers=lambda: customers)
    assert [r.customer.tenant_id for r in again.model.rows()] == ["t-2"]
    assert not again.add_button.isEnabled()


def test_without_psa_companies_the_dialog_says_what_to_do(qtbot, context, tasks):  # noqa: F811
    dialog = open_dialog(qtbot, context, tasks, customers=list)
    assert "connect the PSA in Settings" in dialog.message.text()


def test_the_rows_model_passes_the_model_tester(qtbot, qtmodeltester, context, tasks, ms_scenario, ms_server):  # noqa: F811
    connect_microsoft(context, ms_scenario, ms_server)
    seed_companies(context, ms_scenario)
    dialog = open_dialog(qtbot, context, tasks)
    qtmodeltester.check(dialog.model)
