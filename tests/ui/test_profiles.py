"""The Billing profiles view: create with a percentage, bulk create, edit, delete, unsaved edits kept."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.billing.types import Agreement, BillingOption, BillingProfile, PriceKind, PricePolicy, Product
from app.services.customers.profiles import effective_price
from app.ui.formatting import money
from app.ui.views.profiles import COL_NAME, COL_POLICY, COL_UNIT_PRICE, ProfilesView
from app.ui.views.profiles_bulk import BulkProfilesDialog
from app.ui.views.tables import selected_rows
from tests.ui.admin_support import closed, context, tasks, tls  # noqa: F401

PRODUCTS = (Product(id="900", identifier="M365-BP", description="Microsoft 365 Business Premium",
                    price=Decimal("22.00")),
            Product(id="901", identifier="M365-BS", description="Microsoft 365 Business Standard",
                    price=Decimal("12.50")),
            Product(id="902", identifier="EXO-P1", description="Exchange Online (Plan 1)", price=Decimal("4.00")))


@pytest.fixture
def connection(context):  # noqa: F811 - admin_support's fixtures
    record = context.uow.psa_connections.create(kind="connectwise", name="Main", settings={})
    context.uow.catalog.replace_products(record.id, PRODUCTS)
    context.uow.catalog.replace_agreements(record.id, [
        Agreement(id="600", company_id="250", name="Microsoft 365", type_name="Managed Services",
                  start=date(2024, 1, 1)),
        Agreement(id="601", company_id="251", name="Licensing", type_name="Licensing", start=date(2024, 1, 1))])
    return record


def make_view(qtbot, context, tasks) -> ProfilesView:  # noqa: F811
    view = ProfilesView(context, tasks)
    qtbot.addWidget(view)
    view.resize(1200, 600)
    view.show()
    qtbot.waitUntil(lambda: view.editor.product.count() == len(PRODUCTS))
    return view


def usd(amount: str | Decimal) -> str:
    return money(Decimal(amount), "USD")


def test_a_percentage_profile_shows_its_effective_price_and_is_saved(qtbot, context, tasks, connection):  # noqa: F811
    view = make_view(qtbot, context, tasks)
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    editor = view.editor
    qtbot.keyClicks(editor.name, "M365 Business Premium - Annual/Monthly 2026")
    editor.product.setCurrentIndex(editor.product.findData("900"))
    assert editor.psa_price.text() == usd("22.00")
    editor.kind.setCurrentIndex(editor.kind.findData(PriceKind.PERCENT))
    qtbot.keyClicks(editor.percent, "10")
    assert editor.effective.text().startswith(f"{usd('24.20')} per seat")
    assert "PSA price + 10 %" in editor.effective.text()
    qtbot.keyClick(editor.percent, Qt.Key.Key_Backspace)
    qtbot.keyClick(editor.percent, Qt.Key.Key_Backspace)
    qtbot.keyClicks(editor.percent, "-12.5")
    expected = PricePolicy(kind=PriceKind.PERCENT, percent=Decimal("-12.5")).unit_price(Decimal("22.00"))
    assert editor.effective.text().startswith(usd(expected))  # 19.25, the core's own rounding
    editor.types.item(0).setCheckState(Qt.CheckState.Checked)  # "Licensing"
    view.grab().save("/tmp/profiles-edit.png")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    [saved] = context.uow.profiles.all()
    assert saved.name == "M365 Business Premium - Annual/Monthly 2026"
    assert saved.price == PricePolicy(kind=PriceKind.PERCENT, percent=Decimal("-12.5"))
    assert saved.allowed_agreement_types == frozenset({"Licensing"})
    assert view.model.index(0, COL_UNIT_PRICE).data() == usd("19.25")
    assert view.model.index(0, COL_POLICY).data() == "PSA price − 12.5 %"
    assert not editor.dirty


def test_a_bad_number_is_named_and_nothing_is_lost(qtbot, context, tasks, connection):  # noqa: F811
    view = make_view(qtbot, context, tasks)
    editor = view.editor
    qtbot.keyClicks(editor.name, "Fixed")
    editor.product.setCurrentIndex(0)
    editor.kind.setCurrentIndex(editor.kind.findData(PriceKind.FIXED))
    qtbot.keyClicks(editor.fixed, "twelve")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    assert "The fixed price must be a number such as 12.50, not “twelve”" in editor.error.text()
    assert editor.fixed.message.isVisible() and "“twelve”" in editor.fixed.message.text()
    assert editor.name.text() == "Fixed" and editor.fixed.text() == "twelve"
    assert context.uow.profiles.all() == []


def test_bulk_creation_makes_one_profile_per_ticked_product(qtbot, context, tasks, connection):  # noqa: F811
    context.profiles.save(connection.id, BillingProfile(id="", name="Existing", product=PRODUCTS[2]))
    view = make_view(qtbot, context, tasks)
    qtbot.mouseClick(view.bulk_button, Qt.MouseButton.LeftButton)
    dialog = view.bulk_dialog
    assert isinstance(dialog, BulkProfilesDialog)
    qtbot.mouseClick(dialog.all_button, Qt.MouseButton.LeftButton)
    assert sorted(r.product.id for r in dialog.model.checked_rows()) == ["900", "901"]
    dialog.kind.setCurrentIndex(dialog.kind.findData(PriceKind.FIXED))
    qtbot.keyClicks(dialog.fixed, "20")
    dialog.option.setCurrentIndex(dialog.option.findData(BillingOption.NO_CHARGE))
    dialog.grab().save("/tmp/profiles-bulk.png")
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=15000)
    qtbot.waitUntil(lambda: view.model.rowCount() == 3, timeout=15000)
    made = {p.name: p for p in context.uow.profiles.all()}
    assert set(made) == {"Existing", "Microsoft 365 Business Premium", "Microsoft 365 Business Standard"}
    assert made["Microsoft 365 Business Premium"].price == PricePolicy(kind=PriceKind.FIXED, fixed=Decimal("20"))
    assert made["Microsoft 365 Business Standard"].billing_option is BillingOption.NO_CHARGE
    assert "Created 2 billing profile(s)" in view.message.text()


def test_edit_keeps_unsaved_changes_and_delete_asks(qtbot, context, tasks, connection, monkeypatch):  # noqa: F811
    service = context.profiles
    service.bulk_create(connection.id, ["900", "901"])
    view = make_view(qtbot, context, tasks)
    qtbot.waitUntil(lambda: view.model.rowCount() == 2)
    view.table.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
    view.table.selectRow(0)
    assert view.editor.name.text() == "Microsoft 365 Business Premium"
    qtbot.keyClicks(view.editor.name, " 2026")
    view.table.selectRow(1)  # another profile while the form has changes
    assert view.editor.name.text() == "Microsoft 365 Business Premium 2026"
    assert "Save or discard" in view.message.text()
    assert [r.profile.name for r in selected_rows(view.table)] == ["Microsoft 365 Business Premium"]
    qtbot.mouseClick(view.editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(p.name.endswith("2026") for p in context.uow.profiles.all()), timeout=15000)
    qtbot.waitUntil(lambda: view.model.rowCount() == 2 and not view.editor.dirty)

    monkeypatch.setattr(QMessageBox, "exec", lambda self: QMessageBox.StandardButton.Yes)
    view.table.selectRow(1)
    doomed = view.editor.profile
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    assert doomed.name not in {p.name for p in context.uow.profiles.all()}


def test_shown_again_it_lists_a_profile_made_elsewhere_and_keeps_the_form_being_edited(qtbot, context, tasks,  # noqa: F811
                                                                                      connection):
    view = make_view(qtbot, context, tasks)
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(view.editor.name, "Half typed")
    view.hide()
    context.profiles.bulk_create(connection.id, ["902"])  # another view, or another desktop

    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    assert view.model.index(0, COL_NAME).data() == "Exchange Online (Plan 1)"
    assert view.editor.name.text() == "Half typed" and view.editor.dirty


def test_the_effective_price_is_the_cores(qtbot):
    policy = PricePolicy(kind=PriceKind.PERCENT, percent=Decimal("7.5"))
    assert effective_price(policy, Decimal("19.99")) == policy.unit_price(Decimal("19.99")) == Decimal("21.49")


def test_the_profiles_model_passes_the_model_tester(qtbot, qtmodeltester, context, tasks, connection):  # noqa: F811
    context.profiles.bulk_create(connection.id, ["900", "901", "902"],
                                        price=PricePolicy(kind=PriceKind.PERCENT, percent=Decimal("5")))
    view = make_view(qtbot, context, tasks)
    qtbot.waitUntil(lambda: view.model.rowCount() == 3)
    qtmodeltester.check(view.model)
    qtmodeltester.check(view.proxy)
    view.table.sortByColumn(COL_UNIT_PRICE, Qt.SortOrder.DescendingOrder)
    prices = [view.proxy.index(r, COL_UNIT_PRICE).data() for r in range(3)]
    assert prices == [usd("23.10"), usd("13.13"), usd("4.20")]
    view.table.selectRow(0)
    view.grab().save("/tmp/profiles.png")
