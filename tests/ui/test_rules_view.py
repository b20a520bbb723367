"""The Mapping rules view and the Companies list's bulk mapping, driven through their widgets (offscreen)."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QComboBox

from app.ui.views.bulk_map import BulkMapDialog
from app.ui.views.companies import CompaniesView
from app.ui.views.companies_model import NAME, ROW_ROLE
from app.ui.views.rules import RulesView
from tests.rules_world import E3, RulesWorld


def show(qtbot, view, size=(1200, 700)):
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    return view


def choose(combo: QComboBox, value: object) -> None:
    index = combo.findData(value)
    assert index >= 0, f"{value!r} is not offered"
    combo.setCurrentIndex(index)


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_add_a_rule_preview_and_apply_it_across_fifty_companies(qtbot, context, tasks):
    world = RulesWorld(context).setup()
    for n in range(50):
        world.company(f"Customer {n:02d}")
    world.company("Block time only", agreements=("Block time",))
    view = show(qtbot, RulesView(context, tasks))
    qtbot.waitUntil(lambda: view.sku.count() == 1 and view.profile.count() == 1, timeout=15000)

    choose(view.sku, E3)
    choose(view.profile, world.profile.id)
    choose(view.agreement_type, "Microsoft 365")
    view.minimum.setValue(2)
    click(qtbot, view.add_button)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    assert "Office 365 E3 → E3 retail on agreement type 'Microsoft 365'" in view.model.index(0, 1).data()

    click(qtbot, view.preview_button)
    qtbot.waitUntil(lambda: view.apply_button.isEnabled(), timeout=10000)
    assert view.preview_model.rowCount() == 51
    assert view.message.text().startswith("50 license(s) to map; 1 cannot be mapped")
    rows = view.preview_model.rows()
    assert [r.reason for r in rows if not r.mapped] == ["no active agreement of type 'Microsoft 365'"]
    assert context.uow.mappings.all() == []  # a preview saves nothing

    click(qtbot, view.apply_button)
    qtbot.waitUntil(lambda: "mapped by rule" in view.message.text(), timeout=10000)
    assert view.message.text() == "50 license(s) mapped by rule; the next sync bills them."
    mappings = context.uow.mappings.all()
    assert len(mappings) == 50 and {m.minimum_quantity for m in mappings} == {2}
    assert len(context.rules.mapped_by_rule()) == 50
    assert not view.apply_button.isEnabled()  # the preview was applied: a new one is needed


def test_shown_again_it_offers_a_profile_made_meanwhile_and_keeps_the_license_chosen(qtbot, context, tasks):
    world = RulesWorld(context).setup()
    world.company("Contoso")
    view = show(qtbot, RulesView(context, tasks))
    qtbot.waitUntil(lambda: view.sku.count() == 1 and view.profile.count() == 1, timeout=15000)
    choose(view.sku, E3)
    view.hide()
    made = context.profiles.bulk_create(world.connection_id, [world.product.id])  # in Billing profiles

    view.show()
    qtbot.waitUntil(lambda: view.profile.count() == 2, timeout=15000)
    assert view.profile.findData(made[0].id) >= 0
    assert view.sku.currentData() == E3


def test_bulk_map_the_selected_companies_from_the_companies_list(qtbot, context, tasks):
    world = RulesWorld(context).setup()
    tenants = {world.company(name): name for name in ("Adatum", "Contoso", "Fabrikam", "Litware", "Tailspin")}
    view = show(qtbot, CompaniesView(context, tasks))
    qtbot.waitUntil(lambda: not view.loading and view.model.rowCount() == 5, timeout=15000)
    chosen = {"Contoso", "Fabrikam", "Tailspin"}
    selection = view.table.selectionModel()
    for row in range(view.model.rowCount()):
        index = view.model.index(row, NAME)
        if index.data(ROW_ROLE).name in chosen:
            selection.select(index, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)

    click(qtbot, view.bulk_button)
    dialog = view.findChild(BulkMapDialog)
    assert isinstance(dialog, BulkMapDialog) and dialog.windowTitle() == "Map a license of 3 companies"
    qtbot.waitUntil(lambda: dialog.sku.count() == 1 and dialog.profile.count() == 1, timeout=15000)
    choose(dialog.sku, E3)
    choose(dialog.profile, world.profile.id)
    click(qtbot, dialog.preview_button)
    qtbot.waitUntil(lambda: dialog.map_button.isEnabled(), timeout=10000)
    assert sorted(r.company for r in dialog.preview_model.rows()) == sorted(chosen)

    click(qtbot, dialog.map_button)
    qtbot.waitUntil(lambda: dialog.applied is not None, timeout=10000)
    assert dialog.message.text() == "3 license(s) mapped in bulk; the next sync bills them."
    assert sorted(tenants[m.tenant_id] for m in context.uow.mappings.all()) == sorted(chosen)
    assert context.rules.mapped_by_rule() == {}  # a person's mapping, not a rule's
    dialog.reject()
    qtbot.waitUntil(lambda: sum(r.unmapped for r in view.model.rows()) == 2, timeout=15000)


def test_the_sync_result_names_the_licenses_mapped_by_rule(context):
    from app.services.customers.company_rows import Target
    from app.services.customers.rules import RuleRow
    from app.services.sync.engine import Status, TenantResult
    from app.services.sync.service import RunSummary
    from app.ui.views.sync_result import run_sentence

    rows = tuple(RuleRow(company_id=n, company=name, tenant=name, license="Office 365 E3", rule_id=1,
                         target=Target(company_id=n, tenant_id=f"t{n}", sku_id=E3))
                 for n, name in enumerate(("Contoso", "Fabrikam", "Litware", "Tailspin")))
    results = (TenantResult(tenant_id="t0", status=Status.OK),)
    assert run_sentence(RunSummary(results=results, mapped_by_rule=rows)).endswith(
        " 4 license(s) mapped by rule (Contoso: Office 365 E3, Fabrikam: Office 365 E3, Litware: Office 365 E3 "
        "and 1 more).")
    assert "mapped by rule" not in run_sentence(RunSummary(results=results))
