"""The Companies view: the list, its search and filters, badges, opening a company, and 5,000 rows."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QModelRoleData, Qt
from PySide6.QtWidgets import QApplication

from app.billing.types import Mapping
from app.errors import SeatsyncError
from app.services.customers.company_rows import CompanyRow, LastSync, Monthly
from app.services.sync.engine import Status, TenantResult
from app.services.sync.service import RunSummary
from app.ui.views import companies_model
from app.ui.views.companies import CompaniesView
from app.ui.views.companies_model import (
    HEADERS,
    LAST_SYNC,
    NAME,
    PSA,
    RESULT,
    ROW_ROLE,
    SHOWN,
    UNMAPPED,
    CompanyTableModel,
    Filter,
)
from app.ui.widgets.badge import BADGE_ROLE
from tests.ui.seed import EXCHANGE, SPB, lic


def rows_shown(view) -> list[str]:
    return [view.model.index(n, NAME).data() for n in range(view.model.rowCount())]


def loaded(qtbot, view, count: int) -> None:
    qtbot.waitUntil(lambda: not view.loading and view.model.rowCount() == count, timeout=15000)


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
    model.set_filter(Filter.UNMAPPED)  # the tester checks every change it is told from now on
    model.set_search("customer 001")
    model.sort(RESULT, Qt.SortOrder.DescendingOrder)
    model.set_rows(synced(company_rows(40), datetime(2026, 11, 17, 5, tzinfo=UTC), lambda n: "failed"))
    model.set_filter(Filter.ALL)
    model.set_search("")
    assert model.rowCount() == 40


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
    qtbot.waitUntil(lambda: view.model.rowCount() == 3, timeout=3000)


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
        assert view.model.rowCount() == count, which
        assert view.filter_buttons[which].text().endswith(f"({count})")
    qtbot.mouseClick(view.filter_buttons[Filter.ALL], Qt.MouseButton.LeftButton)
    assert view.model.rowCount() == 40


def test_sorting_by_a_column_keeps_the_selection(qtbot, tasks):
    view = CompaniesView(None, tasks, service=StubService(company_rows(50)))
    qtbot.addWidget(view)
    loaded(qtbot, view, 50)
    view.select_company(7)
    view.table.sortByColumn(UNMAPPED, Qt.SortOrder.DescendingOrder)
    assert view.model.index(0, UNMAPPED).data() == "1"
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
    assert len(view.model.rows()) == 5000
    assert view.model.rowCount() == sum(1 for r in rows if "customer 04" in r.name.casefold() and r.unmapped)
    assert load + search + narrowed + sort < 5  # loose: the printed numbers are what matters


def synced(rows: list[CompanyRow], at: datetime, status=lambda n: "ok") -> list[CompanyRow]:
    """``rows`` after a sync at ``at``: each one's last sync changed, nothing else."""
    return [replace(r, last_sync=LastSync(at=at, status=status(n))) for n, r in enumerate(rows)]


class Told:
    """What a model told its views: every dataChanged (top row, bottom row, first column, last column) and
    the resets."""

    def __init__(self, model) -> None:
        self.changed: list[tuple[int, int, int, int]] = []
        self.resets = 0
        model.dataChanged.connect(lambda a, b, _roles=(): self.changed.append((a.row(), b.row(), a.column(),
                                                                              b.column())))
        model.modelReset.connect(self._reset)

    def _reset(self) -> None:
        self.resets += 1


def test_a_load_that_keeps_every_company_in_place_tells_only_the_columns_that_changed():
    model = CompanyTableModel()
    rows = company_rows(30)
    model.set_rows(rows)
    told = Told(model)
    model.set_rows(list(reversed(rows)))  # the same rows, in another order from the service
    assert told.changed == [] and told.resets == 0
    model.set_rows(synced(rows, datetime(2026, 11, 17, 5, tzinfo=UTC)))
    # Every last sync changed; the failed ones are OK now, so their badges and the Result column changed too.
    assert told.resets == 0
    assert told.changed == [(0, 29, NAME, NAME), (0, 29, LAST_SYNC, LAST_SYNC), (0, 29, RESULT, RESULT)]
    assert model.index(13, RESULT).data() == "OK"
    told.changed.clear()
    again = model.rows()
    again[4] = replace(again[4], unmapped=3)
    model.set_rows(again)
    assert told.changed == [(4, 4, NAME, NAME), (4, 4, UNMAPPED, UNMAPPED)]


def test_a_company_added_or_moved_by_the_sort_lays_the_list_out_again():
    model = CompanyTableModel()
    rows = company_rows(10)
    model.set_rows(rows)
    told = Told(model)
    model.set_rows([*rows, *company_rows(11)[10:]])
    model.set_rows([replace(r, name="Zebra Ltd") if r.id == 0 else r for r in model.rows()])
    assert [model.index(n, NAME).data() for n in (0, 10)] == ["Customer 0001 Ltd", "Zebra Ltd"]
    assert told.resets == 2 and told.changed == []


def test_a_filtered_list_shows_the_companies_a_load_lets_through():
    model = CompanyTableModel()
    rows = company_rows(40)
    model.set_rows(rows)
    model.set_filter(Filter.FAILED)
    assert model.rowCount() == 4  # 0, 13, 26, 39
    told = Told(model)
    model.set_rows(synced(rows, datetime(2026, 11, 17, 5, tzinfo=UTC), lambda n: "failed" if n in (0, 13, 26, 39)
                          else "partial"))
    assert told.resets == 0 and told.changed == [(0, 3, LAST_SYNC, LAST_SYNC)]  # the same four failed again
    model.set_rows(synced(rows, datetime(2026, 11, 18, 5, tzinfo=UTC), lambda n: "failed" if n in (1, 39) else "ok"))
    assert told.resets == 1
    assert [model.index(n, NAME).data(ROW_ROLE).id for n in range(model.rowCount())] == [1, 39]
    assert len(model.rows()) == 40


ROLES = (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole,
         Qt.ItemDataRole.TextAlignmentRole, BADGE_ROLE)
AT = st.sampled_from([None, datetime(2026, 11, 16, 5, tzinfo=UTC), datetime(2026, 11, 17, 5, tzinfo=UTC)])
FIELDS = {
    "name": st.sampled_from(["Contoso", "Fabrikam"]), "active": st.booleans(), "psa": st.sampled_from(["", "CW"]),
    "tenant_names": st.sampled_from([(), ("Contoso",), ("Contoso", "Contoso EU")]),
    "licenses": st.integers(0, 2), "unmapped": st.integers(0, 2), "held": st.integers(0, 2),
    "last_sync": st.builds(LastSync, at=AT, status=st.sampled_from(["never", "ok", "failed", "partial"]),
                           detail=st.sampled_from(["", "PSA said no"]), writes=st.sampled_from([None, 0, 3])),
    "monthly": st.sampled_from([(), (Monthly(amount=Decimal("12.50"), currency="USD"),)]),
    "unpriced": st.integers(0, 1), "access": st.integers(0, 1), "findings": st.integers(0, 1),
    "identifier": st.sampled_from(["", "C1"]), "partners": st.sampled_from([(), ("A",)]),
}


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional=FIELDS), st.fixed_dictionaries({}, optional=FIELDS))
def test_a_column_whose_shown_values_are_equal_shows_the_same_cell(first, second):
    """SHOWN names everything a column shows: a column it calls unchanged paints the same in every role."""
    before = CompanyRow(id=1, psa_id="1", connection_id=1, name="Contoso", **{k: v for k, v in first.items()
                                                                              if k != "name"})
    after = replace(before, **second)
    model = CompanyTableModel()
    for column in range(len(HEADERS)):
        cells = []
        for row in (before, after):
            model.set_rows([])
            model.set_rows([row])
            cells.append([model.index(0, column).data(role) for role in ROLES])
        if SHOWN[column](before) == SHOWN[column](after):
            assert cells[0] == cells[1], HEADERS[column]


def painted(model: CompanyTableModel, row: int, column: int, role) -> object:
    """What a view painting the cell is handed for ``role`` (through ``multiData``, as a delegate asks)."""
    cell = QModelRoleData(role)
    model.multiData(model.index(row, column), cell)
    return cell.data()


CHANGES = st.lists(st.one_of(
    st.tuples(st.just("load"), st.lists(st.tuples(st.integers(0, 5), st.fixed_dictionaries({}, optional=FIELDS)),
                                        max_size=4)),
    st.tuples(st.just("sort"), st.sampled_from(range(len(HEADERS))), st.sampled_from(list(Qt.SortOrder))),
    st.tuples(st.just("filter"), st.sampled_from(list(Filter))),
    st.tuples(st.just("palette"))), max_size=8)


@settings(max_examples=200, deadline=None)
@given(CHANGES)
def test_a_paint_is_handed_each_cells_values_as_they_are_now(changes):
    """What a paint is handed is kept between paints: after any loads, sorts, filters and palette changes it
    is what the company's values give now, in every role."""
    rows = [CompanyRow(id=n, psa_id=str(n), connection_id=1, name=f"Company {n}", unmapped=n % 2) for n in range(6)]
    model = CompanyTableModel()
    model.set_rows(rows)

    def check() -> None:
        for n in range(model.rowCount()):
            row = model.row_at(n)
            for column in range(len(HEADERS)):
                for role in ROLES:
                    assert painted(model, n, column, role) == companies_model._value(row, column, role), \
                        (row, HEADERS[column], role)

    check()  # the first paint keeps what it was handed
    for change in changes:
        if change[0] == "load":
            for position, values in change[1]:
                rows[position] = replace(rows[position], **{k: v for k, v in values.items() if k != "name"})
            model.set_rows(list(rows))
        elif change[0] == "sort":
            model.sort(change[1], change[2])
        elif change[0] == "filter":
            model.set_filter(change[1])
        else:
            model._recolour()  # what an application palette change runs
        check()


def test_a_repaint_formats_nothing_again(qtbot, tasks, monkeypatch):
    view = CompaniesView(None, tasks, service=StubService(company_rows(300)))  # columns fit the first 100 rows
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    loaded(qtbot, view, 300)
    qtbot.waitExposed(view)
    formatted: list[datetime] = []
    moment = companies_model.moment
    monkeypatch.setattr(companies_model, "moment", lambda at: formatted.append(at) or moment(at))
    view.table.viewport().repaint()
    assert formatted == []  # the shown rows' moments were formatted at their first paint
    view.table.verticalScrollBar().setValue(view.table.verticalScrollBar().maximum())
    view.table.viewport().repaint()
    seen = len(formatted)
    assert seen > 0  # rows never painted before are formatted once
    view.table.viewport().repaint()
    assert len(formatted) == seen


def test_after_a_sync_the_list_repaints_only_the_cells_that_changed(qtbot, tasks):
    rows = company_rows(60)
    service = StubService(rows)
    view = CompaniesView(None, tasks, service=service)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    loaded(qtbot, view, 60)
    qtbot.waitExposed(view)
    view.table.selectionModel().select(view.model.index(5, NAME), view.table.selectionModel().SelectionFlag.Select
                                       | view.table.selectionModel().SelectionFlag.Rows)
    view.table.verticalScrollBar().setValue(3)
    QApplication.processEvents()  # painted as it is now
    asked: set[int] = set()  # the columns of the cells painted (a delegate asks a cell's roles at once)
    cell = view.model.multiData
    view.model.multiData = lambda index, span: asked.add(index.column()) or cell(index, span)
    service.rows = synced(rows, datetime(2026, 11, 17, 5, tzinfo=UTC), lambda n: "failed" if n % 13 == 0 else "ok")
    view.refresh_list()
    loaded(qtbot, view, 60)
    QApplication.processEvents()  # the repaint the load asked for
    # The same companies failed: only the dates changed. Qt paints the grid line at a column's right edge
    # with the cell beyond it, so the Result cells are asked too; the other seven columns are not painted.
    assert asked == {LAST_SYNC, RESULT}
    assert view.selected_row().last_sync.at == datetime(2026, 11, 17, 5, tzinfo=UTC)
    assert view.table.verticalScrollBar().value() == 3


def test_double_click_opens_the_company_and_back_returns(qtbot, contoso, make_shell):
    shell = make_shell()
    shell.window.show()
    view = shell.window.view("companies")
    loaded(qtbot, view, 1)
    index = view.model.index(0, NAME)
    rect = view.table.visualRect(index)
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: view.company.title.text() == "Contoso Dental", timeout=15000)
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
    with qtbot.waitSignal(view.attention_changed, timeout=15000) as blocker:
        qtbot.keyClick(shell.window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args == [1] and shell.window.badge("companies") == 1  # still two licenses unmapped


def test_a_failed_sync_shows_on_the_company(qtbot, contoso, make_shell):
    shell = make_shell()
    view = shell.window.view("companies")
    loaded(qtbot, view, 1)
    summary = RunSummary(results=(TenantResult(tenant_id=contoso.tenant, status=Status.FAILED,
                                               error="Microsoft consent expired"),))
    with qtbot.waitSignal(view.loaded, timeout=15000):
        view.on_sync_finished("*", summary, None)
    row = view.model.row_at(0)
    assert row.failed and row.last_sync.detail == "Microsoft consent expired"
    assert view.model.index(0, RESULT).data() == "Failed"
    assert view.table.isColumnHidden(PSA)  # one PSA connection: no PSA column
    assert view.filter_buttons[Filter.FAILED].text() == "Failed (1)"


def test_a_listing_failure_says_what_failed_and_offers_retry(qtbot, tasks):
    service = StubService(error=SeatsyncError("the database is locked"))
    view = CompaniesView(None, tasks, service=service)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(view.messages.isVisible, timeout=15000)
    assert view.messages.text().startswith("Could not list the companies: Something went wrong in seatsync")
    service.error = None
    service.rows = company_rows(2)
    qtbot.mouseClick(view.messages.action, Qt.MouseButton.LeftButton)
    loaded(qtbot, view, 2)
    assert service.calls == 2 and not view.messages.isVisible()
