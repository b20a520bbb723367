"""One tenant billed to two companies by office, done in the window (DESIGN §1.4).

Contoso Dental bills its whole tenant; its Leeds office moves to Contoso
Dental and its York office to Contoso Labs: the link is narrowed, a second
link added, the mapping follows the filter, an overlapping link is refused
with the reason, and Contoso Labs' page shows the tenant's licenses.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.billing.types import FilterField, Mapping, UserFilter
from app.ui.dialogs.links import COL_USERS, LinksDialog
from app.ui.views.companies import CompaniesView
from tests.ui.seed import SPB


@pytest.fixture
def page(qtbot, tasks, contoso, context, seed):
    """Contoso Dental's page, with Business Premium mapped; Contoso Labs exists with an agreement."""
    labs = seed.company("Contoso Labs")
    seed.agreement(labs, "Labs - Managed 365")
    context.uow.mappings.save(Mapping(tenant_id=contoso.tenant, sku_id=SPB, profile=contoso.bp,
                                  agreement_id=contoso.m365.id))
    view = CompaniesView(None, tasks, service=contoso.service)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() >= 1, timeout=15000)
    with qtbot.waitSignal(view.company.loaded, timeout=15000):
        view.open_company(contoso.company.id)
    view.labs = labs
    return view


def users_column(dialog) -> list[tuple[str, str]]:
    model = dialog.model
    return sorted((model.row(n).link.company_name, model.index(n, COL_USERS).data()) for n in range(model.rowCount()))


def pick(qtbot, combo, text: str) -> None:
    index = combo.findText(text)
    assert index >= 0, (text, [combo.itemText(n) for n in range(combo.count())])
    combo.setCurrentIndex(index)


def set_users(qtbot, dialog, field_text: str, value: str) -> None:
    pick(qtbot, dialog.field, field_text)
    dialog.value.clear()
    qtbot.keyClicks(dialog.value, value)


def answer(button: QMessageBox.StandardButton, asked: list[str] | None = None) -> None:
    """Answer the confirmation the next click opens by clicking ``button`` in it (its text goes to ``asked``)."""
    def click() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox), box
        if asked is not None:
            asked.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, click)


def pick_tenant(dialog, name: str) -> None:
    """Choose the tenant in the list (its item may say where it is billed already)."""
    combo = dialog.tenant
    index = next(n for n in range(combo.count()) if combo.itemText(n).startswith(name))
    combo.setCurrentIndex(index)


def press(qtbot, dialog, button) -> None:
    if button is dialog.add_button:
        answer(QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(dialog.loaded, timeout=15000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_a_tenant_split_between_two_companies_by_office(qtbot, page, contoso, context):
    company = page.company
    qtbot.mouseClick(company.tenants_button, Qt.MouseButton.LeftButton)
    [dialog] = company.findChildren(LinksDialog)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=15000)
    assert users_column(dialog) == [("Contoso Dental", "all users")]
    assert not dialog.change_button.isEnabled()

    # A second company beside a link for all users would bill York twice: refused, nothing changes.
    pick_tenant(dialog, "Contoso Dental")
    pick(qtbot, dialog.company, "Contoso Labs")
    set_users(qtbot, dialog, "Users whose office is", "York")
    answer(QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.messages.isVisible() and "bills all its users to Contoso Dental"
                    in dialog.messages.label.text(), timeout=15000)
    assert dialog.model.rowCount() == 1

    # Narrow Contoso Dental's link to Leeds (its mapping follows), then link York to Contoso Labs.
    dialog.table.selectRow(0)
    assert dialog.change_button.isEnabled() and dialog.company.currentText() == "Contoso Dental"
    set_users(qtbot, dialog, "Users whose office is", "Leeds")
    with qtbot.waitSignal(company.loaded, timeout=15000):
        press(qtbot, dialog, dialog.change_button)
    assert "Contoso Dental (users whose office is Leeds)" in company.subtitle.text()
    pick(qtbot, dialog.company, "Contoso Labs")
    set_users(qtbot, dialog, "Users whose office is", "York")
    press(qtbot, dialog, dialog.add_button)
    assert users_column(dialog) == [("Contoso Dental", "users whose office is Leeds"),
                                    ("Contoso Labs", "users whose office is York")]
    assert dialog.messages.kind == "ok"
    [mapping] = context.uow.mappings.for_tenant(contoso.tenant)
    assert mapping.user_filter == UserFilter(field=FilterField.OFFICE, value="Leeds")

    # A department filter beside office ones could match one user twice: refused with the reason.
    set_users(qtbot, dialog, "Users whose department is", "Sales")
    answer(QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "filter on department and office" in dialog.messages.label.text(), timeout=15000)
    assert dialog.model.rowCount() == 2

    # Contoso Labs' page shows the tenant's licenses, billed for York's users.
    dialog.close()
    with qtbot.waitSignal(company.loaded, timeout=15000):
        page.open_company(page.labs.id)
    assert "Contoso Dental (users whose office is York)" in company.subtitle.text()
    assert "the mapping dialog counts the filtered users" in company.subtitle.text()
    assert company.model.rowCount() >= 1
    assert all(row.target.user_filter == UserFilter(field=FilterField.OFFICE, value="York")
               for row in company.detail.licenses)
