"""Two PSA connections side by side in one window: ConnectWise beside Autotask, and beside HaloPSA.

Microsoft's sandbox serves four tenants; ConnectWise holds the companies of
two of them, the second PSA those of the other two (each company carries
its tenant's domain). Both connections are added in Settings by typing;
billing profiles are created in bulk from each connection's catalogue;
the tenants are linked with the Companies view's "Add companies" dialog
(auto-match by domain, as the journey does); a license of a company on each
PSA is mapped (ConnectWise: the quick-mapping dropdown; the second PSA: the
mapping dialog); "Sync now" writes one line in each PSA. What is checked is
what each sandbox itself holds (ConnectWise agreement additions, Autotask
contract services, Halo recurring-invoice lines), History, and that nothing
of one connection is offered for, or written to, the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialogButtonBox

from app.billing.markers import main_marker
from app.billing.types import RowKey
from app.sandbox.microsoft import MicrosoftSandbox, generate
from app.sandbox.server import SandboxServer
from app.sandbox.world_psas import Holding, PsaSide, write_requests
from app.services.customers.companies import CompanyService, MappingRefused
from app.services.customers.company_rows import Target
from app.services.settings import Settings
from app.services.sync.scheduler import ScheduleSettings
from app.ui.app import build_shell, service_sync
from app.ui.dialogs.mapping import MappingDialog
from app.ui.dialogs.onboarding import AddCompaniesDialog
from app.ui.views.companies_model import NAME, PSA
from app.ui.views.history import (
    COL_ACTION,
    COL_AFTER,
    COL_AGREEMENT,
    COL_COMPANY,
    COL_PRODUCT,
)
from app.ui.views.license_model import MAPPING
from app.ui.views.profiles import COL_CONNECTION
from app.ui.views.quick_map import QuickMapEditor
from tests.ui.admin_support import closed, connect_microsoft, context, tls, widget_texts  # noqa: F401
from tests.ui.test_company import click, index_of
from tests.ui.test_journey import drive_modal, open_company, sync_now, toolbar_click
from tests.ui.test_mapping_dialog import choose
from tests.ui.test_other_psas import add_connection, start_side
from tests.ui.test_settings import fill_connectwise, open_add_dialog, type_into

TODAY = date(2026, 3, 1)
TAILSPIN, IRONHARBOUR = "Tailspin Park Logistics Inc.", "Ironharbour Wealth Limited"  # ConnectWise's
NORTHWIND, EVERGREEN = "Northwind Square Wealth B.V.", "Evergreen Crest Legal Ltd"  # the second PSA's
ON_CONNECTWISE = (TAILSPIN, IRONHARBOUR)
LABEL = {"autotask": "Autotask", "halopsa": "HaloPSA"}
#: Halo numbers its records as ConnectWise's sandbox does (companies from 250, agreements from 600, products
#: from 899, one below ConnectWise's): Northwind's client and contract have the ids of Tailspin's company and
#: agreement, and each Halo item the id of another ConnectWise product. Two real PSAs number records alike.
SAME_IDS = {"halopsa": {"client": 250, "contract": 600, "item": 899}}


@dataclass
class Psas:
    cw: PsaSide
    other: PsaSide
    company_of: dict[str, str]  # tenant name -> its company's name in its PSA
    agreement_of: dict[str, str]  # tenant name -> its company's agreement (PSA id)


@pytest.fixture
def microsoft(tls):  # noqa: F811 - admin_support's session TLS
    scenario = generate(5, seed=7, today=TODAY)  # the fifth tenant's consent is missing: it is not added
    with SandboxServer(MicrosoftSandbox(scenario), tls=tls) as server:
        yield scenario, server


@pytest.fixture(params=["autotask", "halopsa"])
def psas(request, tls, microsoft) -> Iterator[Psas]:  # noqa: F811
    scenario, _ = microsoft
    profiles = {p.name: p for p in scenario.profiles()}
    company_of = {name: " ".join(name.split()[:2]) + " Group" for name in (*ON_CONNECTWISE, NORTHWIND, EVERGREEN)}
    cw, on_cw = start_side("connectwise", tls, [(company_of[n], profiles[n].domains[0]) for n in ON_CONNECTWISE])
    other, on_other = start_side(request.param, tls, [(company_of[n], profiles[n].domains[0])
                                                      for n in (NORTHWIND, EVERGREEN)],
                                 numbered_from=SAME_IDS.get(request.param))
    agreements = on_cw | on_other
    yield Psas(cw=cw, other=other, company_of=company_of,
               agreement_of={name: agreements[company] for name, company in company_of.items()})
    cw.server.stop()
    other.server.stop()


@pytest.fixture
def shell(qtbot, context, tmp_path):  # noqa: F811
    settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    made = build_shell(context, settings=settings, run_sync=service_sync(context, today=lambda: TODAY), tray=False,
                       schedule=ScheduleSettings(enabled=False))
    qtbot.addWidget(made.window)
    made.sync.start()
    made.window.resize(1280, 800)
    made.window.show()
    qtbot.waitExposed(made.window)
    yield made
    made.window.quitting = True
    made.window.close()
    made.shutdown()


def main_lines(side: PsaSide, agreement_id: str) -> list[tuple[str, int, Decimal, date | None, str]]:
    """The recurring lines the PSA itself holds on the agreement: (product, seats, unit price, start, marker)."""
    held: list[Holding] = side.holdings(agreement_id)
    return [(h.product, h.quantity, h.unit_price, h.start, h.marker) for h in held if h.kind == "main"]


def test_two_psa_connections_side_by_side_in_every_view(qtbot, context, microsoft, psas, shell):  # noqa: F811
    scenario, ms_server = microsoft
    window = shell.window
    tenant = {t.name: t for t in scenario.tenants.values() if t.name in psas.company_of}
    spb, exo = scenario.sku_id("SPB"), scenario.sku_id("EXCHANGESTANDARD")
    other_name = f"Second PSA ({LABEL[psas.other.kind]})"

    # Settings: ConnectWise, then the second PSA beside it, each typed and saved; both listed.
    window.show_view("settings")
    settings = window.view("settings")
    dialog = open_add_dialog(qtbot, settings)
    fill_connectwise(qtbot, dialog, psas.cw.server.url, "sandbox-private")
    type_into(qtbot, dialog.field("client_id"), "seatsync-demo")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10000)
    qtbot.waitUntil(lambda: settings.message.text().startswith("Read 2 companies"), timeout=10000)
    add_connection(qtbot, settings, psas.other, other_name)
    model = settings.connections.model
    qtbot.waitUntil(lambda: model.rowCount() == 2 and all(model.row(n).products == 4 for n in range(2)),
                    timeout=10000)
    listed = sorted((model.row(n).record.name, model.row(n).record.kind, model.row(n).companies) for n in range(2))
    assert listed == sorted([("Main PSA", "connectwise", 2), (other_name, psas.other.kind, 2)])
    connection = {r.kind: r for r in context.uow.psa_connections.all()}
    cw_id, other_id = connection["connectwise"].id, connection[psas.other.kind].id
    window.grab().save(f"/tmp/side-by-side-{psas.other.kind}-settings.png")
    connect_microsoft(context, scenario, ms_server)  # the Microsoft dialog itself: test_settings.py

    # Billing profiles: created in bulk from each connection's catalogue.
    window.show_view("profiles")
    profiles = window.view("profiles")
    toolbar_click(qtbot, window, window.refresh_action)
    qtbot.waitUntil(lambda: len(profiles.catalogs) == 2, timeout=10000)
    assert profiles.editor.connection.isVisibleTo(profiles.editor)  # two PSAs: the form asks which
    for name, expected in (("Main PSA", 4), (other_name, 8)):
        qtbot.mouseClick(profiles.bulk_button, Qt.MouseButton.LeftButton)
        bulk = profiles.bulk_dialog
        qtbot.waitExposed(bulk)
        assert bulk.connection.isVisibleTo(bulk)
        if bulk.connection.currentText() != name:
            choose(qtbot, bulk.connection, name)
        assert sorted(r.product.identifier for r in bulk.model.rows()) == ["EXO-P1", "M365-BP", "M365-BS", "M365-E3"]
        qtbot.mouseClick(bulk.all_button, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(bulk.create_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda n=expected: profiles.model.rowCount() == n, timeout=10000)
        qtbot.waitUntil(lambda b=bulk: closed(b), timeout=15000)
    by_connection = {name: sorted(profiles.model.index(n, 1).data() for n in range(8)
                                  if profiles.model.index(n, COL_CONNECTION).data() == name)
                     for name in ("Main PSA", other_name)}
    assert by_connection == {name: ["EXO-P1", "M365-BP", "M365-BS", "M365-E3"] for name in by_connection}
    cw_profiles = {p.id for p in context.uow.profiles.all(cw_id)}
    other_profiles = {p.id for p in context.uow.profiles.all(other_id)}
    assert len(cw_profiles) == len(other_profiles) == 4 and not cw_profiles & other_profiles
    window.grab().save(f"/tmp/side-by-side-{psas.other.kind}-profiles.png")

    # Add companies: each tenant matches its company by domain, whichever PSA holds it.
    window.show_view("companies")
    companies = window.view("companies")
    companies.service.today = lambda: TODAY
    qtbot.mouseClick(companies.add_button, Qt.MouseButton.LeftButton)
    adding = companies.adding
    assert isinstance(adding, AddCompaniesDialog)
    qtbot.waitUntil(lambda: adding.model.rowCount() == 5, timeout=10000)
    assert "4 matched" in adding.summary.text()
    assert {r.customer.name: r.company.name for r in adding.model.rows() if r.company} == psas.company_of
    qtbot.mouseClick(adding.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(adding), timeout=10000)
    linked = {t: context.uow.companies.get(link.company_id) for t in tenant
              for link in context.uow.tenants.links_of_tenant(tenant[t].id)}
    assert {t: (c.name, c.connection_id) for t, c in linked.items()} == {
        t: (psas.company_of[t], cw_id if t in ON_CONNECTWISE else other_id) for t in tenant}

    # The first sync reads the licenses of all four tenants through both connections; nothing is mapped yet.
    toolbar_click(qtbot, window, window.refresh_action)
    qtbot.waitUntil(lambda: companies.model.rowCount() == 4, timeout=10000)
    companies.table.clearSelection()
    summary = sync_now(qtbot, shell)
    assert (len(summary.results), summary.writes, len(summary.failed)) == (4, 0, 0), [
        (r.name, r.error) for r in summary.failed]
    qtbot.waitUntil(lambda: all(r.licenses for r in companies.model.rows()), timeout=10000)
    assert sorted((r.name, r.connection_id) for r in companies.model.rows()) == sorted(
        (psas.company_of[t], cw_id if t in ON_CONNECTWISE else other_id) for t in tenant)
    # Two PSAs: the list says which each company is in.
    assert not companies.table.isColumnHidden(PSA)
    shown = {companies.model.index(n, NAME).data(): companies.model.index(n, PSA).data()
             for n in range(companies.model.rowCount())}
    connections = context.uow.psa_connections
    names = {cw_id: connections.get(cw_id).name, other_id: connections.get(other_id).name}
    assert shown == {psas.company_of[t]: names[cw_id if t in ON_CONNECTWISE else other_id] for t in tenant}
    window.grab().save(f"/tmp/side-by-side-{psas.other.kind}-companies.png")

    # ConnectWise's company: the quick-mapping dropdown offers ConnectWise's profiles only.
    page = open_company(qtbot, window, TAILSPIN)
    cell = index_of(page, spb, MAPPING)
    click(qtbot, page, cell)
    qtbot.mouseDClick(page.tree.viewport(), Qt.MouseButton.LeftButton, pos=page.tree.visualRect(cell).center())
    editor = page.tree.findChild(QuickMapEditor)
    assert editor is not None
    offered = {editor.profile.itemData(n) for n in range(editor.profile.count()) if editor.profile.itemData(n)}
    assert offered == cw_profiles
    assert editor.agreement_names() == [] and len(editor.choices.agreements) == 1
    assert editor.choices.agreements[0].id == psas.agreement_of[TAILSPIN]
    with qtbot.waitSignal(page.loaded, timeout=10000):
        qtbot.keyClicks(editor.profile, "Microsoft 365 Business Premium")
    assert index_of(page, spb, MAPPING).data().startswith("Microsoft 365 Business Premium · ")

    # The second PSA's company: the mapping dialog offers its own profiles and agreement only.
    page = open_company(qtbot, window, NORTHWIND)

    def map_in_dialog(dialog: MappingDialog) -> None:
        offered = {dialog.profile.itemData(n) for n in range(dialog.profile.count()) if dialog.profile.itemData(n)}
        assert offered == other_profiles
        choose(qtbot, dialog.profile, "Exchange Online (Plan 1)")
        agreements = [dialog.agreement.itemData(n) for n in range(dialog.agreement.count())
                      if dialog.agreement.itemData(n)]
        assert agreements == [psas.agreement_of[NORTHWIND]]
        qtbot.waitUntil(lambda: dialog.preview is not None and bool(dialog.preview.lines), timeout=15000)
        main = dialog.preview.lines[0]
        assert (main.kind, main.quantity, main.amount) == ("main", 8, Decimal("32.00"))
        dialog.grab().save(f"/tmp/side-by-side-{psas.other.kind}-mapping.png")
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)

    click(qtbot, page, index_of(page, exo))
    with qtbot.waitSignal(page.loaded, timeout=15000):
        drive_modal(qtbot, lambda: qtbot.mouseClick(page.map_button, Qt.MouseButton.LeftButton), map_in_dialog)
    assert index_of(page, exo, MAPPING).data().startswith("Exchange Online (Plan 1) · ")

    # Nor can a profile of one connection be saved for the other's company, however it is asked.
    service = CompanyService(context.uow, today=lambda: TODAY)
    wrong = next(iter(cw_profiles))
    northwind_company = linked[NORTHWIND]
    with pytest.raises(MappingRefused, match="another PSA connection"):
        service.quick_map(Target(company_id=northwind_company.id, tenant_id=tenant[NORTHWIND].id, sku_id=spb),
                          wrong, psas.agreement_of[NORTHWIND])

    # Sync now (every company): each PSA holds its own company's line, and nothing of the other's.
    cw_writes, other_writes = write_requests(psas.cw), write_requests(psas.other)
    window.show_view("companies")
    companies.show_list()
    companies.table.clearSelection()
    summary = sync_now(qtbot, shell)
    assert not summary.failed and summary.writes >= 2
    tailspin, northwind = tenant[TAILSPIN].id, tenant[NORTHWIND].id
    installation = Settings().installation_id
    assert main_lines(psas.cw, psas.agreement_of[TAILSPIN]) == [
        ("M365-BP", 12, Decimal("22.00"), TODAY, main_marker(RowKey(tenant_id=tailspin, sku_id=spb), installation))]
    assert main_lines(psas.other, psas.agreement_of[NORTHWIND]) == [
        ("EXO-P1", 8, Decimal("4.00"), TODAY, main_marker(RowKey(tenant_id=northwind, sku_id=exo), installation))]
    for side, empty in ((psas.cw, IRONHARBOUR), (psas.other, EVERGREEN)):
        assert side.holdings(psas.agreement_of[empty]) == []
    assert write_requests(psas.cw) > cw_writes and write_requests(psas.other) > other_writes

    # History shows the writes of both, each with its own PSA's names.
    window.show_view("history")
    history = window.view("history")
    toolbar_click(qtbot, window, window.refresh_action)
    qtbot.waitUntil(lambda: history.model.rowCount() >= 2, timeout=10000)
    shown = {tuple(history.model.index(r, c).data() for c in (COL_COMPANY, COL_AGREEMENT, COL_PRODUCT, COL_ACTION,
                                                               COL_AFTER))
             for r in range(history.model.rowCount())}
    agreement_name = {a.id: a.name for c in (cw_id, other_id) for a in context.uow.catalog.agreements(c)}
    assert (psas.company_of[TAILSPIN], agreement_name[psas.agreement_of[TAILSPIN]], "M365-BP", "create line",
            "12") in shown
    assert (psas.company_of[NORTHWIND], agreement_name[psas.agreement_of[NORTHWIND]], "EXO-P1", "create line",
            "8") in shown
    assert {row[0] for row in shown} == {psas.company_of[TAILSPIN], psas.company_of[NORTHWIND]}
    window.grab().save(f"/tmp/side-by-side-{psas.other.kind}-history.png")

    # No view shows either PSA's secret.
    texts = "\n".join(widget_texts())
    assert psas.company_of[TAILSPIN] in texts
    for side in (psas.cw, psas.other):
        assert not [secret for secret in side.settings()[1].values() if secret in texts]
