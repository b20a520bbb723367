"""The mapping dialog: every option, typed into the real widgets, and its live preview."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from app.billing.markers import main_marker
from app.billing.types import Anchor, FilterField, Line, Mapping, QuantityBasis, UserFilter
from app.services.customers.company_rows import MappingChoices, MappingInputs, Target
from app.ui.dialogs.mapping import MappingDialog
from app.ui.formatting import money
from tests.ui.seed import EXCHANGE, SPB, TODAY, lic, users


@pytest.fixture
def inputs(contoso):
    """Business Premium: 16 purchased, 14 assigned, 14 users (4 of them in York); no line written yet."""
    people = users("contoso.example", 14, [SPB], offices=("Leeds", "Leeds", "York"))
    return MappingInputs(
        target=Target(company_id=contoso.company.id, tenant_id=contoso.tenant, sku_id=SPB),
        licenses=(lic(SPB, "Microsoft 365 Business Premium", 16, 14), lic(EXCHANGE, "Exchange Online (Plan 1)", 4, 4)),
        users=people, users_note="", lines=(),
        choices=MappingChoices(profiles=(contoso.bp, contoso.exo), agreements=(contoso.block, contoso.m365)),
        existing=None, today=TODAY)


@pytest.fixture
def dialog(qtbot, inputs):
    dialog = MappingDialog(None, inputs)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def choose(qtbot, combo, text: str) -> None:
    """Open the dropdown with a click, walk to the item starting with ``text`` with the arrow keys, press Enter."""
    qtbot.mouseClick(combo, Qt.MouseButton.LeftButton)
    view = combo.view()
    qtbot.waitUntil(view.isVisible, timeout=3000)
    row = next(n for n in range(combo.count()) if combo.itemText(n).startswith(text))
    steps = row - view.currentIndex().row()
    for _ in range(abs(steps)):
        qtbot.keyClick(view, Qt.Key.Key_Down if steps > 0 else Qt.Key.Key_Up)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=3000)
    assert combo.currentText().startswith(text), combo.currentText()


def type_number(qtbot, spin, value: int) -> None:
    spin.selectAll()
    qtbot.keyClicks(spin.lineEdit(), str(value))


def usd(amount: str) -> str:
    return html.escape(money(Decimal(amount), "USD"))


def agreements(dialog) -> list[str]:
    return [dialog.agreement.itemText(n) for n in range(dialog.agreement.count()) if dialog.agreement.itemData(n)]


def test_usernames_included_and_minimum_quantity_show_the_right_preview(qtbot, dialog):
    choose(qtbot, dialog.profile, "M365 BP")
    qtbot.mouseClick(dialog.usernames, Qt.MouseButton.LeftButton)
    type_number(qtbot, dialog.included, 2)
    with qtbot.waitSignal(dialog.preview_updated, timeout=3000) as blocker:
        type_number(qtbot, dialog.minimum, 10)
    preview = blocker.args[0]
    main = preview.lines[0]
    assert (main.kind, main.quantity, main.amount) == ("main", 12, Decimal("264.00"))
    assert main.text == "12 × 22.00 = 264.00 / month"
    assert main.description.splitlines()[:3] == ["Microsoft 365 Business Premium", "user000@contoso.example",
                                                 "user001@contoso.example"]
    prorate = preview.lines[1]
    assert (prorate.kind, prorate.amount) == ("prorate", Decimal("132.00"))  # 12 × 22.00 × 15/30 days
    shown = dialog.preview_label.text()
    assert f"12 × {usd('22.00')} = {usd('264.00')} a month" in shown  # money as money, in the user's locale
    assert "14 assigned; − 2 included; at least 10 → 12 seats" in shown
    assert "user000@contoso.example" in shown
    # The minimum wins when fewer seats are left to bill.
    with qtbot.waitSignal(dialog.preview_updated, timeout=3000) as blocker:
        type_number(qtbot, dialog.included, 9)
    assert blocker.args[0].lines[0].text == "10 × 22.00 = 220.00 / month"


def test_the_preview_waits_for_typing_to_pause(qtbot, dialog):
    choose(qtbot, dialog.profile, "M365 BP")
    dialog.update_preview()
    before = dialog.preview
    type_number(qtbot, dialog.included, 4)
    assert dialog.preview is before and dialog.timer.isActive()  # throttled, not recomputed per keystroke
    qtbot.waitSignal(dialog.preview_updated, timeout=3000).wait()
    assert dialog.preview.lines[0].quantity == 10


def test_only_agreements_whose_type_the_profile_allows_are_offered(qtbot, dialog, contoso):
    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Save).isEnabled()
    assert "choose a billing profile" in dialog.problem.text()
    choose(qtbot, dialog.profile, "M365 BP")
    assert agreements(dialog) == ["Contoso - Managed 365 (Microsoft 365)"]
    choose(qtbot, dialog.profile, "Exchange")
    assert agreements(dialog) == ["Contoso - Block hours (Block time)", "Contoso - Managed 365 (Microsoft 365)"]


def test_every_option_of_an_existing_mapping_is_shown_and_saved_back(qtbot, inputs, contoso):
    existing = Mapping(tenant_id=contoso.tenant, sku_id=SPB, profile=contoso.bp, agreement_id=contoso.m365.id,
                       user_filter=UserFilter(field=FilterField.OFFICE, value="York"), basis=QuantityBasis.ASSIGNED,
                       usernames_in_description=True, start_date_override=date(2026, 11, 1),
                       negative_proration=True, included_quantity=1, minimum_quantity=3,
                       description_override="M365 BP (York office)")
    dialog = MappingDialog(None, MappingInputs(**{**inputs.__dict__, "existing": existing}))
    qtbot.addWidget(dialog)
    assert (dialog.profile.currentText(), dialog.filter_value.text(), dialog.included.value(),
            dialog.minimum.value()) == ("M365 BP - Monthly", "York", 1, 3)
    assert dialog.usernames.isChecked() and dialog.negative.isChecked() and dialog.start.isChecked()
    assert dialog.mapping() == existing
    assert dialog.preview.basis == "4 users with office = York; − 1 included; at least 3 → 3 seats"


def test_bill_unassigned_seats_and_a_upn_domain_count(qtbot, dialog):
    choose(qtbot, dialog.profile, "M365 BP")
    qtbot.mouseClick(dialog.unassigned, Qt.MouseButton.LeftButton)
    dialog.update_preview()
    assert dialog.mapping().basis is QuantityBasis.PURCHASED
    assert dialog.preview.lines[0].text == "16 × 22.00 = 352.00 / month"
    choose(qtbot, dialog.count, "Licensed users with a UPN domain")
    dialog.update_preview()
    assert "enter the UPN domain" in dialog.problem.text() and dialog.mapping() is None
    qtbot.keyClicks(dialog.domain, "contoso.example")
    dialog.update_preview()
    mapping = dialog.mapping()
    assert (mapping.basis, mapping.basis_param) == (QuantityBasis.UPN_DOMAIN, "contoso.example")
    assert dialog.preview.lines[0].quantity == 14


def test_a_user_filter_needs_its_value(qtbot, dialog):
    choose(qtbot, dialog.profile, "M365 BP")
    choose(qtbot, dialog.filter_field, "Office")
    dialog.update_preview()
    assert "enter the office" in dialog.problem.text()
    qtbot.keyClicks(dialog.filter_value, "leeds")
    dialog.update_preview()
    assert dialog.mapping().user_filter == UserFilter(field=FilterField.OFFICE, value="leeds")
    assert dialog.preview.lines[0].quantity == 10  # the Leeds users only


def test_ask_returns_the_mapping_on_save_and_none_on_cancel(qtbot, inputs, contoso):
    def press(button: QDialogButtonBox.StandardButton, profile: str = "") -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, MappingDialog)
        if profile:
            choose(qtbot, dialog.profile, profile)
            dialog.update_preview()
        qtbot.mouseClick(dialog.buttons.button(button), Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, lambda: press(QDialogButtonBox.StandardButton.Save, "Exchange"))
    mapping = MappingDialog.ask(None, inputs)
    assert (mapping.profile.name, mapping.agreement_id, mapping.sku_id) == ("Exchange P1", contoso.block.id, SPB)
    QTimer.singleShot(0, lambda: press(QDialogButtonBox.StandardButton.Cancel))
    assert MappingDialog.ask(None, inputs) is None


def test_without_users_the_preview_says_so(qtbot, inputs):
    dialog = MappingDialog(None, MappingInputs(**{**inputs.__dict__, "users": None,
                                                  "users_note": "The tenant's users could not be read: no consent"}))
    qtbot.addWidget(dialog)
    choose(qtbot, dialog.profile, "M365 BP")
    qtbot.mouseClick(dialog.usernames, Qt.MouseButton.LeftButton)
    dialog.update_preview()
    assert dialog.preview.lines[0].quantity == 14
    assert "Usernames are added at each sync" in dialog.preview_label.text()
    assert "no consent" in dialog.preview_label.text()


def test_moving_a_row_to_an_agreement_on_another_calendar_previews_the_days_the_sync_bills(qtbot, inputs, contoso):
    """Exchange, billed on the calendar month on Block hours, is moved to Managed 365, which bills from the 10th
    of each month: the old line bills to the end of November, and the new agreement from 1 December."""
    existing = Mapping(tenant_id=contoso.tenant, sku_id=EXCHANGE, profile=contoso.exo,
                       agreement_id=contoso.block.id)
    line = Line(id="9001", agreement_id=contoso.block.id, product_id=contoso.exo.product.id, quantity=4,
                unit_price=Decimal("4.00"), start=date(2026, 1, 1), marker=main_marker(existing.row),
                last_written_quantity=4)
    tenth = replace(contoso.m365, anchor=Anchor.ANNIVERSARY, start=date(2025, 3, 10))
    dialog = MappingDialog(None, replace(
        inputs, target=replace(inputs.target, sku_id=EXCHANGE), existing=existing, lines=(line,),
        choices=MappingChoices(profiles=(contoso.bp, contoso.exo), agreements=(contoso.block, tenth)),
        agreements=(contoso.block, tenth)))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.preview.lines[0].dates == "unchanged"
    with qtbot.waitSignal(dialog.preview_updated, timeout=3000) as blocker:
        choose(qtbot, dialog.agreement, "Contoso - Managed 365")
    assert [(line.kind, line.dates) for line in blocker.args[0].lines] == [
        ("main", "from 10 Dec 2026"), ("cancel", "from 1 Dec 2026"), ("prorate", "1 Dec 2026 – 9 Dec 2026")]
    assert "1 Dec 2026 – 9 Dec 2026" in dialog.preview_label.text()


def test_a_start_date_typed_for_a_row_already_billed_says_it_changes_nothing(qtbot, inputs, contoso):
    existing = Mapping(tenant_id=contoso.tenant, sku_id=EXCHANGE, profile=contoso.exo, agreement_id=contoso.block.id)
    line = Line(id="9001", agreement_id=contoso.block.id, product_id=contoso.exo.product.id, quantity=4,
                unit_price=Decimal("4.00"), start=date(2026, 1, 1), marker=main_marker(existing.row),
                last_written_quantity=4, description=contoso.exo.product.description)
    dialog = MappingDialog(None, replace(inputs, target=replace(inputs.target, sku_id=EXCHANGE), existing=existing,
                                         lines=(line,)))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(dialog.preview_updated, timeout=3000):
        dialog.start_date.selectAll()
        qtbot.keyClicks(dialog.start_date, "10 Nov 2025")
    assert dialog.mapping().start_date_override == date(2025, 11, 10)
    assert not dialog.preview.changes
    assert ("This row is billed since 1 Jan 2026: a start date applies to a row&#x27;s first sync only, so "
            "10 Nov 2025 changes nothing.") in dialog.preview_label.text()
