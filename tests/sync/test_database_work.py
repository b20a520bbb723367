"""seatsync's own database work in a sync with nothing to change: a handful of statements per tenant, no
transaction on a tenant's thread, no inventory rows written and no consent status written again.

Every statement is counted on every connection the sync opens (SQLite's trace callback), through the real
inventory service, whose Microsoft reads are answered with what each tenant held before.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest

from app.bootstrap import open_context
from app.models.database import db
from app.models.inventory import InventorySnapshot, SnapshotLicense, SnapshotSubscription
from app.services.providers import SnapshotStore
from app.services.sync.inventory import InventoryService
from app.services.sync.service import SyncService
from tests.sync.psa_shop import Shop, open_shop
from tests.ui.seed import READ_AT, TODAY

NAMES = ["Adatum", "Contoso Dental", "Fabrikam", "Litware", "Northwind", "Tailspin"]
#: Statements each further tenant adds to a sync with nothing to change: its lease taken and given up (2), its
#: journal (1), its approved and held changes (2), its latest snapshot read (1) and read again (1).
PER_TENANT = 7
#: What a run reads and writes once, whatever its number of tenants: the targets, the run's record, each
#: tenant's outcome in one statement, history pruning, the settings (the approval policy and overrides, three
#: caps, the minimum margin: one statement each), and the setups of a chunk of tenants.
PER_RUN = 47
#: Tables an inventory read writes rows of when it finds a change (none of them when it finds none).
INVENTORY = tuple(model._meta.table_name for model in (InventorySnapshot, SnapshotLicense, SnapshotSubscription))


@dataclass(frozen=True)
class Statement:
    thread: str
    sql: str


class Traced:
    """Every statement on every connection to the database opened from now on, and on this thread's."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        #: The name of the thread of each connection opened.
        self.connections: list[str] = []
        self.on = False
        self._lock = threading.Lock()

    def __call__(self, sql: str) -> None:
        if self.on:
            with self._lock:
                self.statements.append(Statement(threading.current_thread().name, sql))

    def of(self, *words: str) -> list[Statement]:
        """The statements that start with ``words`` (case-insensitive)."""
        start = re.compile(r"\s*" + r"\s+".join(words), re.IGNORECASE)
        return [s for s in self.statements if start.match(s.sql)]


@pytest.fixture
def traced(data_dir, monkeypatch) -> Iterator[tuple[object, Traced]]:
    context = open_context(data_dir)
    trace = Traced()
    opened = db.obj._connect

    def connect():
        connection = opened()
        connection.set_trace_callback(trace)
        if trace.on:
            trace.connections.append(threading.current_thread().name)
        return connection

    monkeypatch.setattr(db.obj, "_connect", connect)
    if not db.is_closed():
        db.connection().set_trace_callback(trace)
    try:
        yield context, trace
    finally:
        context.close()


def reading_again(shop: Shop, clock, **options) -> SyncService:
    """The sync service over the shop, its Microsoft reads through the inventory service (which keeps each read
    as a snapshot), answered with the licenses each tenant held when the shop opened."""
    uow = shop.context.uow
    held = {tenant_id: uow.inventory.latest(tenant_id) for tenant_id in shop.tenants.values()}

    class AsBefore(InventoryService):
        def _read(self, tenant_id, name, with_users, custom):
            return replace(held[tenant_id], fetched_at=self.now())

    inventory = AsBefore(graph=None, partner_center=None, catalogue=None, store=SnapshotStore(uow.inventory),
                         now=clock)
    return shop.context.sync_service(
        today=lambda: TODAY, fetch_inventory=lambda tenant_id, users: inventory.fetch(tenant_id, with_users=users),
        **options)


def counted(trace: Traced, sync) -> list[Statement]:
    trace.statements.clear()
    trace.connections.clear()
    trace.on = True
    try:
        summary = sync()
    finally:
        trace.on = False
    assert not summary.failed and summary.writes == 0
    return list(trace.statements)


def test_a_sync_with_nothing_to_change_does_a_handful_of_statements_per_tenant(traced):
    context, trace = traced
    shop = open_shop(context, NAMES)
    at = [READ_AT]

    def clock() -> datetime:
        at[0] += timedelta(minutes=1)
        return at[0]

    service = reading_again(shop, clock)
    assert service.sync(actor="test").writes == 2 * len(NAMES)  # the first sync: a main and a prorate line each
    snapshots = {model: model.select().count() for model in (InventorySnapshot, SnapshotLicense, SnapshotSubscription)}
    one = context.uow.companies.all()[0].id

    alone = counted(trace, lambda: service.sync(one, actor="test"))
    every = counted(trace, lambda: service.sync(actor="test"))

    per_tenant = (len(every) - len(alone)) / (len(NAMES) - 1)
    assert per_tenant <= PER_TENANT, f"{per_tenant:.1f} statements per tenant"
    assert len(every) <= PER_RUN + PER_TENANT * len(NAMES), f"{len(every)} statements"
    on_tenants = [s for s in every if s.thread.startswith("tenant")]
    assert not [s for s in on_tenants if re.match(r"\s*(BEGIN|SAVEPOINT)", s.sql, re.IGNORECASE)], \
        "a tenant with nothing to change writes in single statements, no transaction"
    # Nothing kept of the reads but when they were made: no inventory row added or removed (the run's pruning of
    # old history aside, which finds nothing to remove here), only read_at moved.
    assert not [s for s in trace.of("INSERT") + trace.of("DELETE") if s in on_tenants
                and any(t in s.sql for t in INVENTORY)]
    moved = [s for s in trace.of("UPDATE") if any(t in s.sql for t in INVENTORY)]
    read_again = re.compile(r'UPDATE "inventory_snapshot" SET "read_at" = \'[^\']*\' WHERE')
    assert len(moved) == len(NAMES) and all(read_again.match(s.sql) for s in moved)
    assert {model: model.select().count() for model in snapshots} == snapshots
    latest = context.uow.inventory.latest(shop.tenants["Adatum"])
    assert latest is not None and latest.fetched_at > READ_AT  # read again: its last read moved forward
    # Every tenant's consent is as the first sync stored it: not written again.
    assert not [s for s in every if re.match(r'UPDATE "tenant"', s.sql)]


def test_each_thread_of_a_run_opens_one_connection_for_all_its_tenants(traced):
    context, trace = traced
    shop = open_shop(context, NAMES)
    service = reading_again(shop, lambda: READ_AT + timedelta(days=1), workers=2)
    service.sync(actor="test")
    counted(trace, lambda: service.sync(actor="test"))
    on_tenants = [name for name in trace.connections if name.startswith("tenant")]
    assert len(on_tenants) == 2, f"{len(on_tenants)} connections for {len(NAMES)} tenants on two threads"


def test_a_consent_that_changed_is_written_and_only_that_one(traced):
    context, trace = traced
    shop = open_shop(context, NAMES[:3])
    service = shop.service()
    service.sync(actor="test")
    shop.refuse("Contoso Dental", "AADSTS700016")

    trace.statements.clear()
    trace.on = True
    summary = service.sync(actor="test")
    trace.on = False

    assert [r.company for r in summary.failed] == ["Contoso Dental"]
    [write] = [s for s in trace.statements if re.match(r'UPDATE "tenant"', s.sql)]
    assert "consent_status" in write.sql
    consent = {t.tenant_id: t.consent_status.value for t in context.uow.tenants.all()}
    assert consent[shop.tenants["Contoso Dental"]] == "missing"
    assert {consent[shop.tenants[n]] for n in ("Adatum", "Fabrikam")} == {"granted"}
