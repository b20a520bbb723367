"""The window's fixtures: a fresh database per test, seeded through the repositories; a
stand-in sync; the shell (window, scheduler, tray) built over them and torn down cleanly."""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtWidgets import QApplication

from app.billing.markers import main_marker
from app.billing.operations import Operation, OpKind
from app.billing.types import RowKey
from app.bootstrap import open_context
from app.sandbox.server import make_tls
from app.sandbox.world_psas import PSA_KINDS
from app.services.customers.companies import CompanyService
from app.services.sync.engine import Status, TenantResult
from app.services.sync.scheduler import ScheduleSettings
from app.services.sync.service import RunSummary
from app.ui.app import build_shell, service_sync
from app.ui.tasks import Tasks
from tests.e2e.conftest import MID, close_tenant, make_tenant
from tests.ui.seed import EXCHANGE, FLOW_FREE, SPB, TODAY, Seed, lic, sub


@pytest.fixture(autouse=True)
def widgets_freed_between_tests(qapp):
    """Every widget and task a test left behind is freed when it ends, not by a later collection in the middle
    of another test's event loop: pytest-qt's event processing never delivers deferred deletes."""
    yield
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture(scope="session")
def sandbox_tls(tmp_path_factory):
    """One certificate authority for every sandbox world of the window's tests."""
    return make_tls(tmp_path_factory.mktemp("sandbox-tls"))


@pytest.fixture(params=PSA_KINDS)
def tenant(request, tmp_path, sandbox_tls):
    """On each PSA's sandbox, the one-tenant world of the end-to-end tests (Business Premium 10 and Exchange 4,
    mapped, never synced) on 16 January."""
    made = make_tenant(tmp_path, sandbox_tls, request.param)
    made.move_to(MID)
    yield made
    close_tenant(made)


@pytest.fixture
def tenant_shell(qtbot, tmp_path, tenant):
    """The window over the ``tenant``'s world, syncing on the world's day; no tray, no schedule."""
    made = build_shell(tenant.context, settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
                       run_sync=service_sync(tenant.context, today=tenant.clock), tray=False,
                       schedule=ScheduleSettings(enabled=False))
    qtbot.addWidget(made.window)
    made.sync.start()
    made.window.show()
    yield made
    made.window.quitting = True
    made.window.close()
    made.shutdown()


def open_the_company(qtbot, shell):
    """The one company of a ``tenant_shell``'s window, opened from the Companies list; its page."""
    companies = shell.window.view("companies")
    qtbot.waitUntil(lambda: companies.model.rowCount() == 1, timeout=10000)
    with qtbot.waitSignal(companies.company.loaded, timeout=10000):
        companies.open_company(companies.model.rows()[0].id)
    return companies.company


@pytest.fixture
def context(data_dir, database_target):
    ctx = open_context(data_dir)
    yield ctx
    ctx.close()


@pytest.fixture
def seed(context) -> Seed:
    return Seed(context)


@pytest.fixture
def tasks(qtbot, context):
    tasks = Tasks()
    yield tasks
    tasks.wait_idle()
    QApplication.processEvents()


@pytest.fixture
def ui_settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def contoso(seed, context):
    """Contoso Dental: one tenant with four licenses (one split-able), two agreements, two profiles."""
    company = seed.company("Contoso Dental")
    tenant = seed.tenant(company, "Contoso Dental")
    seed.history(tenant, 5, lambda n: [
        lic(SPB, "Microsoft 365 Business Premium", 25, 19 + n, sub("s-annual", SPB, 20, annual=True),
            sub("s-monthly", SPB, 5)),
        lic(EXCHANGE, "Exchange Online (Plan 1)", 4, 4),
        lic(FLOW_FREE, "Microsoft Power Automate Free", 10000, 3),
    ])
    m365 = seed.agreement(company, "Contoso - Managed 365", type_name="Microsoft 365")
    block = seed.agreement(company, "Contoso - Block hours", type_name="Block time")
    bp = seed.profile("M365 BP - Monthly", identifier="M365-BP", description="Microsoft 365 Business Premium",
                      price="22.00", types=["Microsoft 365"])
    exo = seed.profile("Exchange P1", identifier="EXO-P1", description="Exchange Online (Plan 1)", price="4.00")
    service = CompanyService(context.uow, today=lambda: TODAY)
    return SimpleNamespace(company=company, tenant=tenant, m365=m365, block=block, bp=bp, exo=exo, service=service)


@dataclass
class FakeSync:
    """Stands in for the sync service: records each call, answers with a summary (or an error)."""

    summary: RunSummary | None = None
    error: BaseException | None = None
    gate: threading.Event | None = None
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def __call__(self, target: str, *, actor: str, trigger: str, progress) -> RunSummary:
        self.calls.append((target, actor, trigger))
        for result in (self.summary.results if self.summary else ()):
            progress(result)
        if self.gate is not None:
            self.gate.wait(10)
        if self.error is not None:
            raise self.error
        return self.summary or RunSummary(results=())


def applied_summary(tenant_id: str, name: str, agreement_id: str, product_id: str) -> RunSummary:
    """One tenant synced: Business Premium raised from 21 to 23 seats."""
    row = RowKey(tenant_id=tenant_id, sku_id=SPB)
    op = Operation(key="v1-test", kind=OpKind.SET_QUANTITY, row=row, agreement_id=agreement_id,
                   product_id=product_id, marker=main_marker(row), effective=date(2026, 12, 1), quantity=23,
                   before=21, unit_price=Decimal("22.00"), amount=Decimal("506.00"))
    return RunSummary(results=(TenantResult(tenant_id=tenant_id, name=name, status=Status.OK, applied=[op]),))


@pytest.fixture
def fake_sync() -> FakeSync:
    return FakeSync()


@pytest.fixture
def make_shell(qtbot, context, ui_settings, fake_sync):
    """Build the shell (window, sync gateway, optional tray) with the stand-in sync; everything torn down after."""
    shells = []

    def make(*, tray: bool = False, settings: QSettings | None = None, **kw):
        shell = build_shell(context, settings=settings or ui_settings, run_sync=fake_sync, tray=tray,
                            schedule=ScheduleSettings(enabled=False), **kw)
        qtbot.addWidget(shell.window)
        shell.sync.start()  # the schedule is off: only Sync now runs
        shells.append(shell)
        return shell

    yield make
    for shell in shells:
        shell.window.quitting = True
        shell.window.close()
        shell.shutdown()
