"""Money shown as money, one date format, inputs that take exactly what was typed, and no click that bills a
stranger: read from the real widgets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from app.billing.types import Cycle, FilterField, Line, Mapping, PriceKind, UserFilter
from app.services.customers.companies import CompanyService
from app.services.customers.company_rows import MappingChoices, MappingInputs, Target
from app.services.customers.exclusions import ActiveLine, CancelOutcome
from app.ui.dialogs.mapping import MappingDialog
from app.ui.formatting import day, moment, money, per_month
from app.ui.views.companies import CompaniesView
from app.ui.views.companies_model import MONTHLY as LIST_MONTHLY
from app.ui.views.exclusions_cancel import COL_AMOUNT, CancelLinesDialog
from app.ui.views.history import HistoryView
from app.ui.views.license_model import ENDS, LICENSE, MONTHLY, PURCHASED, RENEWS, TERM
from app.ui.views.profiles import ProfilesView
from app.ui.views.settings import SettingsView
from app.ui.views.settings_forms import SyncPage
from tests.ui.seed import EXCHANGE, SPB, TODAY, lic, sub, users
from tests.ui.test_company import index_of
from tests.ui.test_links import answer
from tests.ui.test_mapping_dialog import choose

US, GERMANY = QLocale("en_US"), QLocale("de_DE")
#: Egyptian Arabic's digits, group separator and decimal point.
ARABIC = str.maketrans("0123456789,.", "".join(chr(0x660 + d) for d in range(10)) + "\u066c\u066b")


# -- formatting -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "currency", "locale", "shown"), [
    ("1234567.89", "USD", US, "$1,234,567.89"),
    ("0.10", "USD", US, "$0.10"),
    ("-5.5", "USD", US, "-$5.50"),
    ("42885.00", "EUR", US, "EUR\u00a042,885.00"),  # not the locale's currency: its ISO code
    ("1234567.89", "EUR", GERMANY, "1.234.567,89\u00a0€"),
    ("0.125", "USD", US, "$0.125"),  # a unit price keeps every digit it has
    ("12345678901234567.01", "USD", US, "$12,345,678,901,234,567.01"),  # beyond a float's digits
    ("1000", "JPY", US, "JPY\u00a01,000"),  # no minor unit
    ("7.5", None, US, "7.50"),
    ("1234567.5", "INR", QLocale("en_IN"), "₹12,34,567.50"),  # grouped as the locale groups
    # The locale's own digits, beyond Qt's integers too.
    ("-12345678901234567.01", "EUR", QLocale("ar_EG"),
     "\u061c-\u200f" + "12,345,678,901,234,567.01".translate(ARABIC) + "\u00a0EUR"),
])
def test_money_keeps_every_digit_in_the_users_locale(amount, currency, locale, shown):
    assert money(Decimal(amount), currency, locale) == shown


def test_money_follows_the_default_locale_when_it_changes():
    before = QLocale()
    try:
        for locale, shown in ((GERMANY, "1.234,50\u00a0€"), (US, "EUR\u00a01,234.50"), (GERMANY, "1.234,50\u00a0€")):
            QLocale.setDefault(locale)
            assert money(Decimal("1234.5"), "EUR") == shown
    finally:
        QLocale.setDefault(before)


def test_money_refuses_a_float_and_days_have_one_format():
    with pytest.raises(TypeError):
        money(0.1, "USD")  # type: ignore[arg-type]
    assert per_month(Decimal("42885"), "USD", US) == "$42,885.00 a month"
    assert day(date(2026, 12, 1)) == "1 Dec 2026"
    stamp = datetime(2026, 12, 1, 14, 5, tzinfo=UTC)
    local = stamp.astimezone()
    assert moment(stamp) == f"{day(local.date())} {local:%H:%M}"


# -- what is billed -------------------------------------------------------------------------------------


@pytest.fixture
def billed(context, seed, contoso):
    """Contoso Dental: Business Premium mapped (23 assigned × 22.00); Exchange on an annual agreement (4 × 48.00
    a year); Power Automate Free unmapped."""
    annual = seed.agreement(contoso.company, "Contoso - Annual", cycle=Cycle.ANNUAL)
    exo_year = seed.profile("Exchange P1 yearly", identifier="EXO-Y", description="Exchange Online (Plan 1)",
                            price="48.00")
    context.uow.mappings.save(Mapping(tenant_id=contoso.tenant, sku_id=SPB, profile=contoso.bp,
                                  agreement_id=contoso.m365.id))
    context.uow.mappings.save(Mapping(tenant_id=contoso.tenant, sku_id=EXCHANGE, profile=exo_year,
                                  agreement_id=annual.id))
    return contoso


@pytest.fixture
def companies(qtbot, tasks, billed):
    view = CompaniesView(None, tasks, service=billed.service)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    return view


def test_each_license_and_the_company_show_what_they_bill_a_month(qtbot, companies, billed):
    locale = QLocale()
    list_cell = companies.model.index(0, LIST_MONTHLY)
    # 23 × 22.00 = 506.00, and 4 × 48.00 = 192.00 a year is 16.00 a month.
    assert list_cell.data() == money(Decimal("522.00"), "USD", locale)
    assert companies.model.headerData(LIST_MONTHLY, Qt.Orientation.Horizontal) == "Bills a month"
    with qtbot.waitSignal(companies.company.loaded, timeout=15000):
        companies.open_company(billed.company.id)
    page = companies.company
    assert index_of(page, SPB, MONTHLY).data() == money(Decimal("506.00"), "USD", locale)
    assert index_of(page, SPB, MONTHLY).data(Qt.ItemDataRole.ToolTipRole) == \
        f"23 × {money(Decimal('22.00'), 'USD', locale)} = {money(Decimal('506.00'), 'USD', locale)} a month"
    assert index_of(page, EXCHANGE, MONTHLY).data() == money(Decimal("16.00"), "USD", locale)
    assert "a year ÷ 12" in index_of(page, EXCHANGE, MONTHLY).data(Qt.ItemDataRole.ToolTipRole)
    assert index_of(page, "f30db892-07e9-47e9-837c-80727f46fd3d", MONTHLY).data() == "—"  # unmapped
    assert f"bills {money(Decimal('522.00'), 'USD', locale)} a month" in page.subtitle.text()
    # Dates read one way: the annual subscription's commitment ends 31 Mar 2027 and renews the day after.
    annual = index_of(page, SPB, ENDS, subscription="s-annual")
    assert (annual.data(), index_of(page, SPB, RENEWS, subscription="s-annual").data()) == \
        ("31 Mar 2027", "1 Apr 2027")


def test_a_filtered_row_without_users_says_why_it_has_no_amount(context, seed, billed):
    other = seed.company("Contoso Labs")
    m365 = seed.agreement(other, "Labs - Managed 365")
    seed.tenant(other, "Contoso Dental", tenant_id=billed.tenant,
                user_filter=UserFilter(field=FilterField.OFFICE, value="York"))
    context.uow.mappings.save(Mapping(tenant_id=billed.tenant, sku_id=SPB, profile=billed.bp, agreement_id=m365.id,
                                  user_filter=UserFilter(field=FilterField.OFFICE, value="York")))
    service = CompanyService(context.uow, today=lambda: TODAY)
    labs = next(r for r in service.company_rows() if r.name == "Contoso Labs")
    assert (labs.monthly, labs.unpriced) == ((), 1)  # snapshots keep no users, and no line was written yet
    [row] = [r for r in service.company(other.id).licenses if r.license.sku_id == SPB]
    assert (row.monthly, row.unpriced) == ((), 1)


def test_long_names_elide_and_numbers_and_dates_fit_their_header(qtbot, tasks, context, seed, billed):
    long_name = "Microsoft 365 Business Premium and Microsoft Defender for Business " * 3
    tenant = seed.tenant(billed.company, "Second tenant")
    seed.snapshot(tenant, [lic(EXCHANGE, long_name, 3, 3, sub("s-x", EXCHANGE, 3, annual=True))])
    view = CompaniesView(None, tasks, service=billed.service)
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    with qtbot.waitSignal(view.company.loaded, timeout=15000):
        view.open_company(billed.company.id)
    page = view.company
    tree, header = page.tree, page.tree.header()
    qtbot.waitUntil(lambda: header.sectionSize(LICENSE) > 0, timeout=3000)
    metrics = header.fontMetrics()
    for column in (PURCHASED, MONTHLY, TERM, ENDS, RENEWS):
        title = page.model.headerData(column, Qt.Orientation.Horizontal)
        assert header.sectionSize(column) >= metrics.horizontalAdvance(title), title
        for row in range(page.proxy.rowCount()):
            parent = page.proxy.index(row, 0)
            for index in [page.proxy.index(row, column)] + [page.proxy.index(n, column, parent)
                                                             for n in range(page.proxy.rowCount(parent))]:
                assert header.sectionSize(column) >= tree.fontMetrics().horizontalAdvance(index.data() or ""), \
                    (title, index.data())
    # The name column takes what is left, elides, and its tooltip holds the whole name as plain text.
    named = next(page.proxy.index(r, LICENSE) for r in range(page.proxy.rowCount())
                 if page.proxy.index(r, LICENSE).data() == long_name)
    assert header.sectionSize(LICENSE) < tree.fontMetrics().horizontalAdvance(long_name)
    assert named.data(Qt.ItemDataRole.ToolTipRole).startswith(long_name)
    assert tree.textElideMode() == Qt.TextElideMode.ElideRight


def test_five_long_tenant_names_keep_the_company_page_narrow(qtbot, tasks, context, seed, billed):
    for n in range(4):
        seed.tenant(billed.company, f"Tenant number {n} of a very long-named holding group with subsidiaries " * 3)
    view = CompaniesView(None, tasks, service=billed.service)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=15000)
    with qtbot.waitSignal(view.company.loaded, timeout=15000):
        view.open_company(billed.company.id)
    page = view.company
    assert len(page.detail.tenant_names) == 5
    assert "Tenant number 3" in page.subtitle.text()
    QApplication.processEvents()  # the layouts take the new text in
    assert page.minimumSizeHint().width() < 900
    assert view.minimumSizeHint().width() < 900


# -- no click bills a stranger ------------------------------------------------------------------------------


def test_adding_a_tenant_needs_a_choice_and_a_confirmation_naming_who_bills_it(qtbot, page_links, context, seed):
    dialog, adatum, contoso = page_links
    # Nothing chosen: the alphabetically first tenant (billed to another company) is not preselected.
    assert dialog.tenant.currentIndex() == -1 and dialog.tenant.currentText() == ""
    assert dialog.tenant.lineEdit().placeholderText() == "Choose a tenant…"
    assert not dialog.add_button.isEnabled()
    texts = [dialog.tenant.itemText(n) for n in range(dialog.tenant.count())]
    assert texts == ["Adatum Accounting — billed to Adatum Accounting", "Contoso Dental — billed here"]
    # Typing a name that is no tenant chooses none.
    qtbot.keyClicks(dialog.tenant.lineEdit(), "Nobody")
    assert not dialog.add_button.isEnabled()
    dialog.tenant.lineEdit().clear()

    dialog.tenant.setCurrentIndex(0)
    assert dialog.add_button.isEnabled() and dialog.company.currentText() == "Contoso Dental"
    asked: list[str] = []
    answer(QMessageBox.StandardButton.No, asked)
    qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert asked == ["Bill all users of Adatum Accounting to Contoso Dental?\n\nAdatum Accounting is already billed "
                     "to Adatum Accounting. Licenses mapped here will be billed to Contoso Dental."]
    assert [link.company_name for link in context.uow.tenants.links_of_tenant(adatum)] == ["Adatum Accounting"]

    answer(QMessageBox.StandardButton.Yes, asked)
    with qtbot.waitSignal(dialog.loaded, timeout=15000):
        qtbot.mouseClick(dialog.add_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 2
    assert sorted(link.company_name for link in context.uow.tenants.links_of_tenant(adatum)) == \
        ["Adatum Accounting", "Contoso Dental"]


@pytest.fixture
def page_links(qtbot, tasks, context, seed, contoso):
    """Contoso Dental's "Tenants…" dialog, with Adatum's tenant billed to Adatum Accounting."""
    adatum_company = seed.company("Adatum Accounting")
    adatum = seed.tenant(adatum_company, "Adatum Accounting")
    view = CompaniesView(None, tasks, service=contoso.service)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=15000)
    with qtbot.waitSignal(view.company.loaded, timeout=15000):
        view.open_company(contoso.company.id)
    dialog = view.company.open_links()
    qtbot.waitUntil(lambda: dialog.tenant.count() == 2, timeout=15000)
    yield dialog, adatum, contoso
    dialog.close()


# -- inputs take what was typed, or say why not -----------------------------------------------------------------


@pytest.fixture
def mapping_dialog(qtbot, contoso):
    inputs = MappingInputs(
        target=Target(company_id=contoso.company.id, tenant_id=contoso.tenant, sku_id=SPB),
        licenses=(lic(SPB, "Microsoft 365 Business Premium", 16, 14),), users=users("contoso.example", 14, [SPB]),
        users_note="", lines=(), choices=MappingChoices(profiles=(contoso.bp,), agreements=(contoso.m365,)),
        existing=None, today=TODAY)
    dialog = MappingDialog(None, inputs)
    qtbot.addWidget(dialog)
    dialog.show()
    choose(qtbot, dialog.profile, "M365 BP")
    return dialog


def retype(qtbot, field, text: str) -> None:
    field.selectAll()
    qtbot.keyClicks(field, text)


def save_button(dialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Save)


@pytest.mark.parametrize("typed", ["15 Nov 2026", "2026-11-15", "15 November 2026"])
def test_the_start_date_is_the_day_typed(qtbot, mapping_dialog, typed):
    dialog = mapping_dialog
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    retype(qtbot, dialog.start_date, typed)
    dialog.update_preview()
    assert save_button(dialog).isEnabled() and not dialog.start_date.message.isVisible()
    assert dialog.mapping().start_date_override == date(2026, 11, 15)


def test_a_day_that_is_not_one_is_refused_beside_the_field(qtbot, mapping_dialog):
    dialog = mapping_dialog
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    retype(qtbot, dialog.start_date, "31 Nov 2026")
    dialog.update_preview()
    assert dialog.start_date.message.isVisible()
    assert dialog.start_date.message.text() == "“31 Nov 2026” is not a day of the calendar."
    assert not save_button(dialog).isEnabled() and dialog.mapping() is None
    assert "31 Nov 2026" in dialog.problem.text()
    # Unticking "Start billing on" leaves the date unread: the mapping saves without it.
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    dialog.update_preview()
    assert save_button(dialog).isEnabled() and dialog.mapping().start_date_override is None
    assert not dialog.start_date.message.isVisible()


@pytest.mark.parametrize(("typed", "said"), [
    ("-5", "Included seats cannot be below 0: “-5” was typed."),
    ("99999999999", "Included seats cannot be above 100,000: “99999999999” was typed."),
    ("2.5", "Included seats must be a whole number from 0 to 100,000, not “2.5”."),
    ("", "Included seats is empty: type a whole number from 0 to 100,000."),
])
def test_a_seat_count_is_never_changed_silently(qtbot, mapping_dialog, typed, said):
    dialog = mapping_dialog
    retype(qtbot, dialog.included, typed) if typed else dialog.included.clear()
    dialog.update_preview()
    assert dialog.included.text() == typed  # what was typed stays, as typed
    assert dialog.included.message.isVisible() and dialog.included.message.text() == said
    assert not save_button(dialog).isEnabled() and dialog.mapping() is None
    retype(qtbot, dialog.included, "12")
    dialog.update_preview()
    assert save_button(dialog).isEnabled() and dialog.mapping().included_quantity == 12
    assert not dialog.included.message.isVisible()


def test_settings_caps_and_port_take_what_was_typed_or_refuse_to_save(qtbot, context, tasks):
    view = SettingsView(context, tasks)
    qtbot.addWidget(view)
    view.show()
    page, notes = view.sync_page, view.notifications_page
    qtbot.waitUntil(lambda: view.loaded is not None, timeout=15000)
    view.tabs.setCurrentWidget(page)
    retype(qtbot, page.max_seats, "-5")
    assert page.max_seats.message.isVisible()
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert view.message.level == "error"
    assert "The cap on seats changed on one line cannot be below 0: “-5” was typed." in view.message.text()
    assert context.settings.max_seats_change_per_line != -5 and page.max_seats.text() == "-5"
    retype(qtbot, page.max_seats, "99999999999")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert "cannot be above 1,000,000" in view.message.text()
    retype(qtbot, page.max_seats, "250")
    page.max_operations.clear()  # no cap
    view.tabs.setCurrentWidget(notes)
    notes.email.setChecked(True)
    qtbot.keyClicks(notes.smtp_host, "smtp.example.com")
    qtbot.keyClicks(notes.email_from, "seatsync@example.com")
    qtbot.keyClicks(notes.email_to, "billing@example.com")
    retype(qtbot, notes.smtp_port, "99999")
    assert notes.smtp_port.message.text() == "The SMTP port cannot be above 65,535: “99999” was typed."
    qtbot.mouseClick(notes.save_button, Qt.MouseButton.LeftButton)
    assert "The SMTP port cannot be above 65,535" in view.message.text()
    retype(qtbot, notes.smtp_port, "2525")
    qtbot.mouseClick(notes.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.message.level == "ok", timeout=15000)
    settings = context.settings
    assert (settings.max_seats_change_per_line, settings.max_operations_per_run) == (250, None)
    assert settings.notifications.smtp_port == 2525


def test_a_fixed_price_with_more_decimals_than_its_currency_is_refused_not_rounded(qtbot, context, tasks, seed):
    seed.profile("Existing", identifier="EXO-P1", description="Exchange Online (Plan 1)", price="4.00")
    view = ProfilesView(context, tasks)
    qtbot.addWidget(view)
    view.show()
    editor = view.editor
    qtbot.waitUntil(lambda: editor.product.count() == 1, timeout=15000)
    qtbot.mouseClick(view.new_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(editor.name, "Exchange fixed")
    editor.product.setCurrentIndex(0)
    editor.kind.setCurrentIndex(editor.kind.findData(PriceKind.FIXED))
    qtbot.keyClicks(editor.fixed, "4.555")
    assert "more decimals than USD has (2)" in editor.effective.text()
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    assert "Not saved: The fixed price has more decimals than USD has (2)" in editor.error.text()
    assert [p.name for p in context.uow.profiles.all()] == ["Existing"]
    retype(qtbot, editor.fixed, "-4")
    assert editor.fixed.message.text() == "The fixed price cannot be negative: “-4” was typed."
    retype(qtbot, editor.fixed, "1,234.50")
    assert editor.effective.text().startswith(f"{money(Decimal('1234.50'), 'USD')} per seat")
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(context.uow.profiles.all()) == 2, timeout=15000)
    saved = next(p for p in context.uow.profiles.all() if p.name == "Exchange fixed")
    assert saved.price.fixed == Decimal("1234.50")


def test_history_dates_are_typed_one_way_and_a_wrong_one_is_named(qtbot, context, tasks):
    view = HistoryView(context, tasks)
    qtbot.addWidget(view)
    view.show()
    today = context.now().date()
    assert not view.since.isEnabled()
    assert view.since.text() == day(today - timedelta(days=30)) and view.until.text() == day(today)
    view.use_since.setChecked(True)
    retype(qtbot, view.since, "2026-02-30")
    qtbot.keyClick(view.since, Qt.Key.Key_Return)
    assert view.since.message.isVisible()
    assert view.message.text() == "Not shown: “2026-02-30” is not a day of the calendar."
    retype(qtbot, view.since, "1 Feb 2026")
    qtbot.keyClick(view.since, Qt.Key.Key_Return)
    assert view.current_filter().since == date(2026, 2, 1) and not view.message.isVisible()


class RecordingCancels:
    """Stands in for the exclusion service: records the day lines are cancelled from."""

    def __init__(self) -> None:
        self.effective: list[date] = []

    def cancel_lines(self, lines, effective: date, *, actor: str, reason: str):
        self.effective.append(effective)
        return CancelOutcome(cancelled=tuple(lines), failed=())


def test_the_day_lines_stop_is_the_day_typed(qtbot, tasks):
    line = ActiveLine(connection_id=1, tenant_id="t", tenant_name="Contoso", sku_id=SPB, agreement_id="A1",
                      agreement_name="Managed 365", company_id="100", company_name="Contoso Dental",
                      line=Line(id="L1", agreement_id="A1", product_id="P1", quantity=6,
                                unit_price=Decimal("1234.50")))
    service = RecordingCancels()
    dialog = CancelLinesDialog(service, tasks, "Business Premium", [line], TODAY)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.effective.text() == "1 Dec 2026"  # the first of next month, written one way
    assert dialog.model.index(0, COL_AMOUNT).data() == money(Decimal("7407.00"), None)
    retype(qtbot, dialog.effective, "15 Nov 202")
    qtbot.mouseClick(dialog.cancel_lines_button, Qt.MouseButton.LeftButton)
    assert dialog.message.text().startswith("Nothing cancelled: “15 Nov 202” is not a date")
    assert dialog.effective.message.isVisible() and service.effective == []
    retype(qtbot, dialog.effective, "15 Nov 2026")
    with qtbot.waitSignal(dialog.accepted, timeout=15000):
        qtbot.mouseClick(dialog.cancel_lines_button, Qt.MouseButton.LeftButton)
    assert service.effective == [date(2026, 11, 15)]


def test_save_pressed_before_the_check_caught_up_keeps_the_dialog_open(qtbot, mapping_dialog):
    dialog = mapping_dialog
    dialog.update_preview()
    retype(qtbot, dialog.minimum, "-5")
    assert save_button(dialog).isEnabled()  # the throttled check has not run yet
    qtbot.mouseClick(save_button(dialog), Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.result() != dialog.DialogCode.Accepted
    assert not save_button(dialog).isEnabled() and "Minimum quantity cannot be below 0" in dialog.problem.text()


def sync_settings(qtbot, context, tasks) -> tuple[SettingsView, SyncPage]:
    """The Settings view, loaded, on its Sync page."""
    view = SettingsView(context, tasks)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.loaded is not None, timeout=15000)
    view.tabs.setCurrentWidget(view.sync_page)
    return view, view.sync_page


def test_the_history_kept_is_typed_in_days_and_refused_outside_a_month_to_ten_years(qtbot, context, tasks):
    view, page = sync_settings(qtbot, context, tasks)
    assert page.history_days.text() == "400"
    retype(qtbot, page.history_days, "7")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert "The days history is kept cannot be below 31: “7” was typed." in view.message.text()
    assert context.settings.history_days == 400
    retype(qtbot, page.history_days, "90")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.message.text() == "Settings saved.", timeout=15000)
    assert context.settings.history_days == 90


def test_the_minimum_margin_is_typed_as_a_whole_percentage(qtbot, context, tasks):
    view, page = sync_settings(qtbot, context, tasks)
    assert page.minimum_margin.text() == "0"
    retype(qtbot, page.minimum_margin, "12.5")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert view.message.text().endswith("The minimum margin must be a whole number from 0 to 99, not “12.5”.")
    assert context.settings.minimum_margin == 0
    retype(qtbot, page.minimum_margin, "15")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.message.text() == "Settings saved.", timeout=15000)
    assert context.settings.minimum_margin == 15


def test_the_cap_on_money_is_typed_as_an_amount_and_empty_is_no_cap(qtbot, context, tasks):
    view, page = sync_settings(qtbot, context, tasks)
    assert page.max_amount.text() == "" and page.max_amount.placeholderText() == "no cap"
    retype(qtbot, page.max_amount, "1,500.505")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert "The cap on money changed in one run" in view.message.text()
    assert context.settings.max_amount_per_run is None
    retype(qtbot, page.max_amount, "1,500.50")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.message.text() == "Settings saved.", timeout=15000)
    assert context.settings.max_amount_per_run == Decimal("1500.50")
    page.max_amount.selectAll()
    qtbot.keyClick(page.max_amount, Qt.Key.Key_Delete)  # emptied: no cap
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: context.settings.max_amount_per_run is None, timeout=15000)
