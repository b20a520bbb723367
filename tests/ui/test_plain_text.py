"""Names from outside are text, never HTML: a seed whose every external name is markup, shown in every view.

Company, agreement and product names come from the PSA (a billing profile is named after a product's
description), tenant, user and license names from Microsoft. Each is planted as
``<b>Bold</b><img src="file:///etc/hostname" width=20000 height=20000><a href="https://evil.example">x</a>``;
every label, message box, tooltip and tray message that shows one must show the markup literally, stay a
sane size, and never have Qt load a resource for it.
"""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QAbstractItemView, QApplication, QComboBox, QLabel, QMessageBox, QSystemTrayIcon, QWidget

from app.billing.ignored import IgnoredAccount
from app.billing.markers import main_marker
from app.billing.operations import Operation, OpKind
from app.billing.types import Exclusion, Mapping, RowKey, User
from app.models.repositories import Approvals
from app.services.customers.companies import CompanyService
from app.services.notify.notices import Notice, NoticeKind
from app.ui.dialogs.links import LinksDialog
from app.ui.dialogs.mapping import MappingDialog
from app.ui.notifications import Gathered, NoticesButton, NotificationCenter
from app.ui.tray import Tray
from app.ui.views.approvals import ApprovalsView
from app.ui.views.companies import CompaniesView
from app.ui.views.exclusions import ExclusionsView
from app.ui.views.history import HistoryView
from app.ui.views.profiles import ProfilesView
from app.ui.views.reports import ReportsView
from app.ui.widgets.plain import ElidedLabel, clip, confirm, might_be_rich, tip
from tests.ui.seed import EXCHANGE, READ_AT, SPB, TODAY, lic, sub

MARKUP = ('<b>Bold</b><img src="file:///etc/hostname" width=20000 height=20000>'
          '<a href="https://evil.example">x</a>')
COMPANY, TENANT, AGREEMENT = f"{MARKUP} company", f"{MARKUP} tenant", f"{MARKUP} agreement"
PROFILE, PRODUCT, LICENSE = f"{MARKUP} profile", f"{MARKUP} product", f"{MARKUP} license"
USER = f"{MARKUP} user"
#: A rendered size no honest name reaches; the image asks for 20000.
BOUND = 2000


class Probe(QTextDocument):
    """A document that records every resource it is asked for instead of loading it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def loadResource(self, kind, url):
        self.asked.append(url.toString())
        return None


def rendered(text: str, rich: bool) -> str:
    """What a person reads: the text itself, or what Qt's HTML rendering of it shows (and no resource asked)."""
    if not rich:
        return text
    doc = Probe()
    doc.setHtml(text)
    doc.setTextWidth(400)
    doc.size()  # lays it out: images are asked for here
    assert doc.asked == [], f"a resource was asked for while rendering {text!r}"
    return doc.toPlainText()


def label_is_rich(label: QLabel) -> bool:
    fmt = label.textFormat()
    return fmt == Qt.TextFormat.RichText or (fmt == Qt.TextFormat.AutoText and might_be_rich(label.text()))


class Seen:
    """Every place an outside name showed up, checked as it is found."""

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.tips: list[str] = []
        self.boxes: list[str] = []
        #: Item views' and combo boxes' texts: Qt paints those plain (no delegate here paints HTML).
        self.items: list[str] = []

    def sweep(self) -> None:
        for widget in QApplication.allWidgets():
            if not shiboken6.isValid(widget):
                continue
            if isinstance(widget, QLabel) and "evil.example" in widget.text():
                shown = rendered(widget.text(), label_is_rich(widget))
                assert "<img" in shown, f"{type(widget).__name__} renders the markup: {widget.text()!r}"
                assert widget.sizeHint().width() < BOUND, widget.text()
                self.labels.append(widget.text())
            if "evil.example" in html.unescape(widget.toolTip()):
                self._tip(widget.toolTip())
            if isinstance(widget, QAbstractItemView) and widget.model() is not None:
                self._items(widget)
            if isinstance(widget, QComboBox):
                self.items += [t for t in map(widget.itemText, range(widget.count())) if "evil.example" in t]

    def _items(self, view: QAbstractItemView) -> None:
        model = view.model()

        def walk(parent) -> None:
            try:
                columns = model.columnCount(parent)
            except TypeError:  # a list model's columnCount is private
                columns = 1
            for row in range(model.rowCount(parent)):
                for column in range(columns):
                    index = model.index(row, column, parent)
                    text = index.data(Qt.ItemDataRole.DisplayRole)
                    if isinstance(text, str) and "evil.example" in text:
                        self.items.append(text)
                    value = index.data(Qt.ItemDataRole.ToolTipRole)
                    if isinstance(value, str) and "evil.example" in html.unescape(value):
                        self._tip(value)
                child = model.index(row, 0, parent)
                if columns > 1 and model.rowCount(child):
                    walk(child)

        from PySide6.QtCore import QModelIndex

        walk(QModelIndex())

    def _tip(self, text: str) -> None:
        shown = rendered(text, might_be_rich(text))
        assert "<img" in shown, f"a tooltip renders the markup: {text!r}"
        self.tips.append(shown)

    def saw(self, name: str) -> bool:
        return any(name in text for text in self.labels + self.tips + self.boxes + self.items)


@pytest.fixture
def hostile(context, seed):
    """One company, tenant, agreement, profile (named after its product's description), license and user,
    every name markup; a mapping, a held change, a PSA write in the audit and an exclusion."""
    company = seed.company(COMPANY)
    tenant = seed.tenant(company, TENANT)
    agreement = seed.agreement(company, AGREEMENT)
    profile = seed.profile(PROFILE, identifier="EVIL-1", description=PRODUCT, price="9.00", types=["Microsoft 365"])
    user = User(id="u1", upn=f"{MARKUP}@evil.example", display_name=USER, office="Leeds", sku_ids=frozenset({SPB}))
    licenses = (lic(SPB, LICENSE, 10, 8, sub("s-evil", SPB, 10, offer=f"{MARKUP} offer")),
                lic(EXCHANGE, f"{MARKUP} exchange", 3, 3))
    from app.billing.types import TenantInventory

    inventory = context.uow.inventory
    for day in range(3):
        inventory.save(TenantInventory(tenant_id=tenant, name=TENANT, fetched_at=READ_AT - timedelta(days=day),
                                       licenses=licenses, users=(user,)))
    mapping = context.uow.mappings.save(Mapping(tenant_id=tenant, sku_id=SPB, profile=profile,
                                            agreement_id=agreement.id, usernames_in_description=True))
    row = RowKey(tenant_id=tenant, sku_id=SPB)
    Approvals().hold(Operation(key="v1-evil", kind=OpKind.SET_QUANTITY, row=row, agreement_id=agreement.id,
                               product_id=profile.product.id, marker=main_marker(row), effective=TODAY, quantity=5,
                               before=8), reason=f"{MARKUP} reason")
    context.uow.audit.record(actor="seatsync", tenant_id=tenant, company_id=company.psa_id, company_name=COMPANY,
                         agreement_id=agreement.id, product_id=profile.product.id, action="create_line",
                         after_quantity=8, reason="test", connection_id=seed.connection_id)
    context.uow.exclusions.add(Exclusion(sku_id=EXCHANGE, tenant_id=tenant, reason=f"{MARKUP} exclusion"))
    context.uow.ignored_accounts.add(IgnoredAccount(pattern="admin@evil.example", tenant_id=tenant,
                                                    reason=f"{MARKUP} ignored"))
    return type("Hostile", (), {"company": company, "tenant": tenant, "agreement": agreement, "profile": profile,
                                "mapping": mapping})


@pytest.fixture
def boxes(monkeypatch):
    """Every message box shown: its format and text; answered No (static helpers included: a timer closes
    any modal box the patch could not catch)."""
    shown: list[tuple[Qt.TextFormat, str]] = []

    def record(box: QMessageBox) -> None:
        shown.append((box.textFormat(), box.text()))

    def exec_(self):
        record(self)
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "exec", exec_)

    def close_modal() -> None:
        modal = QApplication.activeModalWidget()
        if isinstance(modal, QMessageBox):
            record(modal)
            modal.done(QMessageBox.StandardButton.No.value)

    timer = QTimer()
    timer.timeout.connect(close_modal)
    timer.start(50)
    yield shown
    timer.stop()


def show(qtbot, widget: QWidget) -> QWidget:
    qtbot.addWidget(widget)
    widget.resize(1100, 640)
    widget.show()
    return widget


@pytest.fixture
def page(qtbot, context, tasks, hostile):
    """The companies list, then the hostile company's page with its license selected."""
    service = CompanyService(context.uow, today=lambda: TODAY)
    companies = show(qtbot, CompaniesView(None, tasks, service=service))
    qtbot.waitUntil(lambda: companies.model.rowCount() == 1, timeout=15000)
    companies.seen = Seen()
    with qtbot.waitSignal(companies.company.loaded, timeout=15000):
        companies.open_company(hostile.company.id)
    assert companies.company.select(lambda row: getattr(row, "name", "") == LICENSE)
    qtbot.waitUntil(lambda: "evil.example" in companies.company.chart.title, timeout=15000)
    companies.service = service
    return companies


def test_the_companies_list_and_the_company_page(qtbot, page):
    company = page.company
    assert company.title.text() == COMPANY
    assert "<img" in rendered(company.title.text(), label_is_rich(company.title)), "the title renders the markup"
    assert company.title.sizeHint().width() < BOUND
    company.messages.show_message(f"Could not open the company {COMPANY}", kind="error")
    page.seen.sweep()
    assert isinstance(company.title, ElidedLabel) and company.title.minimumSizeHint().width() < BOUND
    for name in (COMPANY, TENANT, AGREEMENT, PROFILE, LICENSE):
        assert page.seen.saw(name), name
    assert any("<img" in t for t in page.seen.tips)


def test_the_links_dialog(qtbot, page):
    links = page.company.open_links()
    assert isinstance(links, LinksDialog)
    qtbot.waitUntil(lambda: links.model.rowCount() == 1, timeout=15000)
    seen = Seen()
    seen.sweep()
    assert seen.saw(COMPANY) and seen.saw(TENANT)
    links.close()


def test_the_mapping_dialog(qtbot, page, hostile):
    inputs = page.service.mapping_inputs(page.company.selected_row().target, hostile.mapping)
    dialog = show(qtbot, MappingDialog(None, inputs))
    dialog.update_preview()
    assert "evil.example" in dialog.windowTitle() and len(dialog.windowTitle()) < 400
    seen = Seen()
    seen.sweep()
    assert seen.saw(LICENSE) and seen.saw(PROFILE)
    dialog.close()


def test_profiles_and_the_delete_confirmation(qtbot, context, tasks, hostile, boxes):
    profiles = show(qtbot, ProfilesView(context, tasks))
    qtbot.waitUntil(lambda: profiles.model.rowCount() == 1, timeout=15000)
    profiles.table.selectRow(0)
    seen = Seen()
    seen.sweep()
    profiles.delete_selected()
    qtbot.waitUntil(lambda: len(boxes) == 1, timeout=15000)
    fmt, text = boxes[0]
    assert "<img" in text and fmt == Qt.TextFormat.PlainText, boxes
    assert context.uow.profiles.all(), "the answer was No: nothing deleted"
    assert seen.saw(PROFILE) and seen.saw(PRODUCT)


@pytest.mark.parametrize(('view', 'ready'), [
    (ExclusionsView, lambda v: v.model.rowCount() >= 1 and v.ignored.model.rowCount() >= 1),
    (ApprovalsView, lambda v: v.model.rowCount() == 1),
    (HistoryView, lambda v: v.model.rowCount() == 1),
    (ReportsView, lambda v: v.totals.text() != "Reading…"),
], ids=["exclusions", "approvals", "history", "reports"])
def test_the_admin_views(qtbot, context, tasks, hostile, view, ready):
    made = show(qtbot, view(context, tasks))
    qtbot.waitUntil(lambda: ready(made), timeout=10000)
    tasks.wait_idle()
    qtbot.wait(20)
    seen = Seen()
    seen.sweep()
    assert seen.labels or seen.items or seen.tips, "no outside name shown: the test checked nothing"
    made.close()


def test_notices_and_the_tray(qtbot, context, tasks, hostile, monkeypatch):
    notice = Notice(kind=NoticeKind.UNMAPPED_LICENSE, title=f"{COMPANY}: {LICENSE} has no billing profile",
                    message=f"Map {LICENSE} of {TENANT}", tenant_id=hostile.tenant, sku_id=SPB)
    center = NotificationCenter(context, tasks, gather_fn=lambda *a, **k: Gathered(notices=(notice,),
                                                                                  tray=(notice,)))
    button = NoticesButton(center)
    qtbot.addWidget(button)
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda self, title, text, *a: shown.append((title, text)))
    tray = Tray()
    center.message.connect(tray.show_message)
    with qtbot.waitSignal(center.gathered, timeout=15000):
        center.refresh()
    button.rebuild_menu()
    seen = Seen()
    tips = [a.toolTip() for a in button.menu().actions() if "evil.example" in html.unescape(a.toolTip())]
    assert tips
    for text in tips:
        seen._tip(text)
    [(title, text)] = shown
    assert not might_be_rich(title), title
    assert "<img" not in text or not might_be_rich(text), text
    tray.set_state(tray.state, f"seatsync: {COMPANY}")
    seen._tip(tray.icon.toolTip())
    tray.dispose()


def test_the_helpers():
    assert tip("") == ""
    assert tip("Contoso Dental\nExchange") == "Contoso Dental\nExchange"  # plain already: left as is
    escaped = tip(MARKUP)
    assert "<img" not in escaped and rendered(escaped, might_be_rich(escaped)) == MARKUP
    assert clip("x" * 500).endswith("…") and len(clip("x" * 500)) == 200


def test_a_confirmation_is_plain_text(qtbot, boxes):
    assert confirm(None, "Delete billing profile", f"Delete '{PROFILE}'?") is False
    assert boxes == [(Qt.TextFormat.PlainText, f"Delete '{PROFILE}'?")]


def test_a_huge_name_does_not_widen_its_label(qtbot):
    label = ElidedLabel("W" * 20000)
    qtbot.addWidget(label)
    label.show()
    assert label.sizeHint().width() < BOUND and label.minimumSizeHint().width() < 100
    assert label.text() == "W" * 20000 and label.shown_text().endswith("…")
