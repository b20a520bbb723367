"""The Companies view: the list, its search and filters, badges, opening a company, and 5,000 rows."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.billing.types import Mapping
from app.errors import SeatsyncError
from app.services.customers.company_rows import CompanyRow, LastSync
from app.services.sync.engine import Status, TenantResult
from app.services.sync.service import RunSummary
from app.ui.views.companies import CompaniesView
from app.ui.views.companies_model import NAME, PSA, RESULT, UNMAPPED, CompanyFilterProxy, CompanyTableModel, Filter
from tests.ui.seed import EXCHANGE, SPB, lic


def rows_shown(view) -> list[str]:
    return [view.proxy.index(n, NAME).data() for n in range(view.proxy.rowCount())]


def loaded(qtbot, view, count: int) -> None:
    qtbot.waitUntil(lambda: not view.loading and view.model.rowCount() == count, timeout=5000)


def company_rows(count: int) -> list[CompanyRow]:
    return [CompanyRow(id=n, psa_id=str(n), connection_id=1, name=f"Customer {n:04d} Ltd", identifier=f"C{n:04d}",
                       tenant_names=(f"Customer {n:04d}",), licenses=4, unmapped=int(n % 7 == 0), held=int(n % 11 == 0),
                       last_sync=LastSync(at=datetime(2026, 11, 16, 5, tzinfo=UTC),
                                          status="failed" if n % 13 == 0 else "ok"))
            for n in range(count)]


class StubService:
    """Answers company_rows() with prepared rows, or an error."""

    def __init__(self, rows=(), error=None) -> None:
        self.rows, self.error, self.calls, self.outcomes = list(rows), error, 0, {}

    def company_rows(self):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.rows


def test_the_models_pass_the_model_tester(qtmodeltester):
    model = CompanyTableModel()
    model.set_rows(company_rows(30))
    qtmodeltester.check(model)
    proxy = CompanyFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter(Filter.UNMAPPED)
    qtmodeltester.check(proxy)


def test_the_list_shows_companies_with_tenants_and_searches_as_you_type(qtbot, seed, contoso, make_shell):
    for name in ("Northwind Traders", "Fabrikam Legal"):
        tenant = seed.tenant(seed.company(name), name)
        seed.snapshot(tenant, [lic(SPB, "Microsoft 365 Business Premium", 5, 5)])
    seed.company("Prospect without a tenant")
    shell = make_shell()
    view = shell.window.view("companies")
    loaded(qtbot, view, 3)
    assert rows_shown(view) == ["Contoso Dental", "Fabrikam Legal", "Northwind Traders"]
    qtbot.keyClicks(shell.window.search, "north")
    qtbot.waitUntil(lambda: rows_shown(view) == ["Northwind Traders"], timeout=3000)
    assert view.count_label.text() == "1 of 3 companies"
    shell.window.search.clear()
    qtbot.waitUntil(lambda: view.proxy.rowCount() == 3, timeout=3000)


def test_filters_show_what_needs_attention(qtbot, tasks):
    rows = company_rows(40)
    view = CompaniesView(None, tasks, service=StubService(rows))
    qtbot.addWidget(view)
    loaded(qtbot, view, 40)
    expected = {Filter.ATTENTION: sum(1 for r in rows if r.attention),
                Filter.UNMAPPED: sum(1 for r in rows if r.unmapped),
                Filter.FAILED: sum(1 for r in rows if r.failed)}
    for which, count in expected.items():
        qtbot.mouseClick(view.filter_buttons[which], Qt.MouseButton.LeftButton)
        assert view.proxy.rowCount() == count, which
        assert view.filter_buttons[which].text().endswith(f"({count})")
    qtbot.mouseClick(view.filter_buttons[Filter.ALL], Qt.MouseButton.LeftButton)
    assert view.proxy.rowCount() == 40


def test_sorting_by_a_column_keeps_the_selection(qtbot, tasks):
    view = CompaniesView(None, tasks, service=StubService(company_rows(50)))
    qtbot.addWidget(view)
    loaded(qtbot, view, 50)
    view.select_company(7)
    view.table.sortByColumn(UNMAPPED, Qt.SortOrder.DescendingOrder)
    assert view.proxy.index(0, UNMAPPED).data() == "1"
    assert view.selected_row().id == 7


def test_five_thousand_companies_load_and_filter_quickly(qtbot, tasks):
    rows = company_rows(5000)
    service = StubService(())
    view = CompaniesView(None, tasks, service=service)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    loaded(qtbot, view, 0)
    started = time.perf_counter()
    view._loaded(rows)  # what arrives from the worker
    load = time.perf_counter() - started
    started = time.perf_counter()
    view.set_search("customer 04")
    search = time.perf_counter() - started
    started = time.perf_counter()
    view.set_filter(Filter.UNMAPPED)
    narrowed = time.perf_counter() - started
    started = time.perf_counter()
    view.table.sortByColumn(RESULT, Qt.SortOrder.AscendingOrder)
    sort = time.perf_counter() - started
    print(f"\n5,000 companies: load {load * 1000:.0f} ms, search {search * 1000:.0f} ms, "
          f"filter {narrowed * 1000:.0f} ms, sort {sort * 1000:.0f} ms")
    assert view.model.rowCount() == 5000
    assert view.proxy.rowCount() == sum(1 for r in rows if "customer 04" in r.name.casefold() and r.unmapped)
    assert load + search + narrowed + sort < 5  # loose: the printed numbers are what matters


def test_double_click_opens_the_company_and_back_returns(qtbot, contoso, make_shell):
    shell = make_shell()
    shell.window.show()
    view = shell.window.view("companies")
    loaded(qtbot, view, 1)
    index = view.proxy.index(0, NAME)
    rect = view.table.visualRect(index)
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: view.company.title.text() == "Contoso Dental", timeout=5000)
    assert view.stack.currentWidget() is view.company and view.sync_target() == contoso.company.id
    qtbot.mouseClick(view.company.back, Qt.MouseButton.LeftButton)
    assert view.stack.currentIndex() == 0 and view.selected_row().id == contoso.company.id


def test_the_companies_entry_has_a_badge_of_what_needs_attention(qtbot, context, contoso, make_shell):
    shell = make_shell()
    shell.window.show()
    qtbot.waitExposed(shell.window)
    shell.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is shell.window, timeout=3000)
    view = shell.window.view("companies")
    loaded(qtbot, view, 1)
    # One number everywhere: the companies needing attention (Contoso: three licenses without a billing profile).
    assert shell.window.badge("companies") == 1
    assert view.filter_buttons[Filter.ATTENTION].text() == "Needs attention (1)"
    context.uow.mappings.save(Mapping(tenant_id=contoso.tenant, sku_id=EXCHANGE, profile=contoso.exo,
                                  agreement_id=contoso.m365.id))
    with qtbot.waitSignal(view.attention_changed, timeout=5000) as blocker:
        qtbot.keyClick(shell.window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args == [1] and shell.window.badge("companies") == 1  # still two licenses unmapped


def test_a_failed_sync_shows_on_the_company(qtbot, contoso, make_shell):
    shell = make_shell()
    view = shell.window.view("companies")
    loaded(qtbot, view, 1)
    summary = RunSummary(results=(TenantResult(tenant_id=contoso.tenant, status=Status.FAILED,
                                               error="Microsoft consent expired"),))
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.on_sync_finished("*", summary, None)
    row = view.model.row_at(0)
    assert row.failed and row.last_sync.detail == "Microsoft consent expired"
    assert view.proxy.index(0, RESULT).data() == "Failed"
    assert view.table.isColumnHidden(PSA)  # one PSA connection: no PSA column
    assert view.filter_buttons[Filter.FAILED].text() == "Failed (1)"


def test_a_listing_failure_says_what_failed_and_offers_retry(qtbot, tasks):
    service = StubService(error=SeatsyncError("the database is locked"))
    view = CompaniesView(None, tasks, service=service)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(view.messages.isVisible, timeout=5000)
    assert view.messages.text().startswith("Could not list the companies: Something went wrong in seatsync")
    service.error = None
    service.rows = company_rows(2)
    qtbot.mouseClick(view.messages.action, Qt.MouseButton.LeftButton)
    loaded(qtbot, view, 2)
    assert service.calls == 2 and not view.messages.isVisible()
