"""Fixtures and helpers of the admin views' tests (Settings, profiles, exclusions, approvals, history, reports).

Import the fixtures into a test module (``from tests.ui.admin_support import *``):
a fresh context per test on the ``data_dir``, a ``Tasks`` whose workers are
waited for before the database closes, and a ConnectWise sandbox over TLS.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from app.bootstrap import open_context
from app.sandbox.connectwise import ConnectWiseSandbox
from app.sandbox.server import SandboxServer, TlsFiles, make_tls
from app.services.container import Services
from app.ui.tasks import Tasks

CW_TODAY = date(2026, 3, 10)
CW_COMPANIES = (("Contoso Ltd", ("contoso.com",)), ("Fabrikam Inc", ("fabrikam.com",)),
                ("Northwind Traders", ("northwind.example",)))


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("admin-ui-tls"))


@pytest.fixture
def context(data_dir, tls: TlsFiles) -> Iterator[Services]:
    ctx = open_context(data_dir, ca_file=tls.ca)
    yield ctx
    ctx.close()


@pytest.fixture
def tasks(qtbot, context: Services) -> Iterator[Tasks]:  # the context closes after the workers
    made = Tasks()
    yield made
    made.wait_idle()
    qtbot.wait(1)  # deliver the last callbacks while the widgets still exist


@pytest.fixture
def cw_sandbox() -> ConnectWiseSandbox:
    sandbox = ConnectWiseSandbox(today=lambda: CW_TODAY)
    sandbox.scenario(CW_COMPANIES)
    return sandbox


@pytest.fixture
def cw_server(cw_sandbox: ConnectWiseSandbox, tls: TlsFiles) -> Iterator[SandboxServer]:
    with SandboxServer(cw_sandbox, tls=tls) as running:
        yield running


def cw_settings(server: SandboxServer, **changes: str) -> dict[str, str]:
    return {"site": server.url, "company_id": "seatsync", "public_key": "sandbox-public",
            "client_id": "seatsync-tests", "domains_field": ""} | changes


@pytest.fixture
def ms_scenario():
    from app.sandbox.microsoft import generate

    return generate(10, seed=11)


@pytest.fixture
def ms_server(ms_scenario, tls: TlsFiles) -> Iterator[SandboxServer]:
    from app.sandbox.microsoft import MicrosoftSandbox

    with SandboxServer(MicrosoftSandbox(ms_scenario), tls=tls) as running:
        yield running


def connect_microsoft(context: Services, scenario, server: SandboxServer, *, secret: str | None = None):
    """Store the Microsoft partner connection pointing at the sandbox (as Settings would)."""
    from app.services.connections.admin import MicrosoftDraft

    return context.admin.save_microsoft(MicrosoftDraft(
        client_id=scenario.client_id, partner_tenant_id=scenario.partner_tenant_id,
        client_secret=secret or scenario.client_secret, authority_url=server.url, graph_url=server.url,
        partner_center_url=server.url))


# -- a billing world: the ConnectWise sandbox, a saved connection, tenants, snapshots, profiles, mappings ------

SPB = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"  # Microsoft 365 Business Premium
STANDARD = "f245ecc8-75af-4f8e-b61f-27d8114de5f3"  # Microsoft 365 Business Standard
EXCHANGE = "4b9405b0-7788-4568-add1-99614e613b69"  # Exchange Online (Plan 1)
FLOW_FREE = "f30db892-07e9-47e9-837c-80727f46fd3d"  # Microsoft Power Automate Free
CONTOSO_TENANT = "11111111-1111-4111-8111-111111111111"
FABRIKAM_TENANT = "22222222-2222-4222-8222-222222222222"


class World:
    """What ``seed_world`` made: ids to assert on."""

    def __init__(self, **values) -> None:  # type: ignore[no-untyped-def]
        self.__dict__.update(values)


def seed_world(context: Services, sandbox: ConnectWiseSandbox, server: SandboxServer) -> World:
    from datetime import UTC, datetime
    from decimal import Decimal

    from app.billing.markers import main_marker
    from app.billing.operations import Operation, OpKind
    from app.billing.types import BillingProfile, License, Mapping, PriceKind, PricePolicy, RowKey, TenantInventory
    from app.models.records import ConsentStatus, TenantRecord
    from app.services.connections.admin import PsaDraft

    admin = context.admin
    connection = admin.save_psa(PsaDraft(kind="connectwise", name="Main", settings=cw_settings(server),
                                         secrets={"private_key": "sandbox-private"}))
    admin.refresh_catalog(connection.id)
    contoso_id = str(sandbox_company(sandbox, "Contoso Ltd"))
    fabrikam_id = str(sandbox_company(sandbox, "Fabrikam Inc"))
    contoso = context.uow.companies.by_psa_id(connection.id, contoso_id)
    fabrikam = context.uow.companies.by_psa_id(connection.id, fabrikam_id)
    agreement_of = {a.company_id: a.id for a in context.uow.catalog.agreements(connection.id)}
    products = {p.identifier: p for p in context.uow.catalog.products(connection.id)}
    for tenant_id, name, company in ((CONTOSO_TENANT, "Contoso", contoso), (FABRIKAM_TENANT, "Fabrikam", fabrikam)):
        context.uow.tenants.add(TenantRecord(tenant_id=tenant_id, name=name, default_domain=f"{name.lower()}.com",
                                         consent_status=ConsentStatus.GRANTED))
        context.uow.tenants.link(tenant_id, company.id)
    read_at = datetime(2026, 3, 9, 5, 0, tzinfo=UTC)
    context.uow.inventory.save(TenantInventory(tenant_id=CONTOSO_TENANT, name="Contoso", fetched_at=read_at, licenses=(
        License(sku_id=SPB, part_number="SPB", name="Microsoft 365 Business Premium", enabled=10, consumed=8),
        License(sku_id=EXCHANGE, part_number="EXCHANGESTANDARD", name="Exchange Online (Plan 1)", enabled=5,
                consumed=5),
        License(sku_id=FLOW_FREE, part_number="FLOW_FREE", name="Power Automate Free", enabled=10000, consumed=3))))
    inventory = context.uow.inventory
    inventory.save(TenantInventory(tenant_id=FABRIKAM_TENANT, name="Fabrikam", fetched_at=read_at, licenses=(
        License(sku_id=STANDARD, part_number="O365_BUSINESS_PREMIUM", name="Microsoft 365 Business Standard",
                enabled=20, consumed=20),)))
    premium = context.uow.profiles.save(connection.id, BillingProfile(id="", name="Business Premium",
                                                                  product=products["M365-BP"]))
    exchange = context.uow.profiles.save(connection.id, BillingProfile(
        id="", name="Exchange +10%", product=products["EXO-P1"],
        price=PricePolicy(kind=PriceKind.PERCENT, percent=Decimal("10"))))
    standard = context.uow.profiles.save(connection.id, BillingProfile(id="", name="Business Standard",
                                                                   product=products["M365-BS"]))
    rows = {}
    for tenant_id, sku, profile, company_psa in ((CONTOSO_TENANT, SPB, premium, contoso_id),
                                                 (CONTOSO_TENANT, EXCHANGE, exchange, contoso_id),
                                                 (FABRIKAM_TENANT, STANDARD, standard, fabrikam_id)):
        mapping = context.uow.mappings.save(Mapping(tenant_id=tenant_id, sku_id=sku, profile=profile,
                                                agreement_id=agreement_of[company_psa]))
        rows[(tenant_id, sku)] = mapping
    # seatsync's lines: what the journal says it wrote, and what the PSA holds.
    written = {(CONTOSO_TENANT, SPB): 6, (CONTOSO_TENANT, EXCHANGE): 5, (FABRIKAM_TENANT, STANDARD): 20}
    in_psa = {(CONTOSO_TENANT, SPB): 6, (CONTOSO_TENANT, EXCHANGE): 5, (FABRIKAM_TENANT, STANDARD): 18}
    lines = {}
    for key, mapping in rows.items():
        marker = main_marker(mapping.row)
        product_id = int(mapping.profile.product.id)
        line_id = sandbox.add_addition(int(mapping.agreement_id), product_id, in_psa[key], serial_number=marker,
                                       unit_price=mapping.profile.price.unit_price(mapping.profile.product.price))
        lines[key] = line_id
        op = Operation(key=f"op-{marker}", kind=OpKind.CREATE_LINE, row=mapping.row, agreement_id=mapping.agreement_id,
                       product_id=mapping.profile.product.id, marker=marker, effective=date(2026, 3, 1),
                       quantity=written[key])
        context.uow.journal.begin(op)
        context.uow.journal.mark_done(op.key, str(line_id))
    contoso_agreement = int(agreement_of[contoso_id])
    duplicate = sandbox.add_addition(contoso_agreement, int(products["M365-BP"].id), 3, serial_number="CC-4471")
    stale_row = RowKey(tenant_id=CONTOSO_TENANT, sku_id="0c266dff-15dd-4b49-8397-2bb16070ed52")
    stale = sandbox.add_addition(contoso_agreement, int(products["M365-E3"].id), 2,
                                 serial_number=main_marker(stale_row))
    return World(connection=connection, contoso=contoso, fabrikam=fabrikam, products=products, rows=rows,
                 lines=lines, duplicate=duplicate, stale=stale, agreement_of=agreement_of,
                 contoso_agreement=str(contoso_agreement))


def sandbox_company(sandbox: ConnectWiseSandbox, name: str) -> int:
    return min(cid for cid, record in sandbox.companies.items() if record["name"] == name)


def closed(dialog) -> bool:  # type: ignore[no-untyped-def]
    """The dialog is closed (views delete theirs once finished)."""
    import shiboken6

    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def widget_texts() -> list[str]:
    """Every text a person could see or copy from any widget alive, item models included (list models too)."""
    from PySide6.QtCore import QAbstractListModel, Qt
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QApplication,
        QComboBox,
        QLabel,
        QLineEdit,
        QPlainTextEdit,
        QTextEdit,
    )

    texts = []
    for widget in QApplication.allWidgets():
        texts += [widget.windowTitle(), widget.toolTip(), widget.statusTip(), widget.whatsThis()]
        if isinstance(widget, (QLineEdit, QLabel, QAbstractButton)):
            texts.append(widget.text())
        if isinstance(widget, QLineEdit):
            texts.append(widget.placeholderText())
        if isinstance(widget, (QPlainTextEdit, QTextEdit)):
            texts.append(widget.toPlainText())
        if isinstance(widget, QComboBox):
            texts += [widget.itemText(i) for i in range(widget.count())]
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount()
            for row in range(model.rowCount()):
                for column in range(columns):
                    index = model.index(row, column)
                    texts += [str(index.data(role)) for role in (Qt.ItemDataRole.DisplayRole,
                                                                 Qt.ItemDataRole.ToolTipRole)]
    return texts
