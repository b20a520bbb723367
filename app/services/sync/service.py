"""Sync (or plan) one company or all of them: what the window, the tray, the
scheduler and the headless commands all call.

Each PSA connection gets its own engine; a tenant is synced by the engine
of every connection its mappings bill to (usually one), with only that
connection's mappings. Every run is recorded with its counts.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from app.billing.types import TenantInventory
from app.errors import ConfigurationError
from app.models.database import DatabaseFailed, database_errors
from app.models.records import RunStatus
from app.services.sync.db_store import DbSyncStore
from app.services.sync.engine import InventoryFetcher, Status, SyncEngine, TenantResult, run_many
from app.services.sync.store import AuditRecord, TenantSetup

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from app.bootstrap import Context


@dataclass(frozen=True)
class RunSummary:
    results: tuple[TenantResult, ...]
    dry_run: bool = False
    run_id: int | None = None

    @property
    def writes(self) -> int:
        return sum(r.writes for r in self.results)

    @property
    def failed(self) -> tuple[TenantResult, ...]:
        return tuple(r for r in self.results if r.status is Status.FAILED)

    @property
    def held(self) -> int:
        return sum(len(r.held) for r in self.results)

    @property
    def planned(self) -> int:
        return sum(len(r.plan.operations) for r in self.results if r.plan)

    @property
    def findings(self) -> int:
        return sum(len(r.findings) for r in self.results)


class _ConnectionStore:
    """A store that shows a tenant's mappings billed through one PSA connection only,
    and audits each write as one to that connection."""

    def __init__(self, store: DbSyncStore, profile_ids: set[str], connection_id: int) -> None:
        self._store = store
        self._profiles = profile_ids
        self._connection_id = connection_id

    def setup(self, tenant_id: str) -> TenantSetup:
        setup = self._store.setup(tenant_id)
        return replace(setup, mappings=tuple(m for m in setup.mappings if m.profile.id in self._profiles))

    def audit(self, record: AuditRecord) -> None:
        # Two PSAs may number their agreements alike: the audit names the company of this connection's one.
        self._store.audit_write(record, self._connection_id)

    def __getattr__(self, name: str):  # everything else: the store itself
        return getattr(self._store, name)


class SyncService:
    def __init__(self, context: Context, *, workers: int = 8, today: Callable[[], date] = date.today,
                 fetch_inventory: InventoryFetcher | None = None) -> None:
        self.context = context
        self.workers = workers
        self.today = today
        self._fetch = fetch_inventory

    def targets(self, company_id: int | None = None) -> dict[int, list[str]]:
        """PSA connection id -> the tenants to sync through it, for one company or all."""
        ctx = self.context
        links = ctx.tenants.links_of_company(company_id) if company_id is not None else ctx.tenants.all_links()
        connection_of = {c.id: c.connection_id for c in ctx.companies.all()}
        targets: dict[int, list[str]] = defaultdict(list)
        for link in links:
            connection_id = connection_of[link.company_id]
            if link.tenant_id not in targets[connection_id]:
                targets[connection_id].append(link.tenant_id)
        return dict(targets)

    def _inventory_fetcher(self) -> InventoryFetcher:
        if self._fetch is not None:
            return self._fetch
        service = self.context.inventory_service()
        names = {t.tenant_id: t.name for t in self.context.tenants.all()}

        def fetch(tenant_id: str, with_users: bool) -> TenantInventory:
            return service.fetch(tenant_id, name=names.get(tenant_id, ""), with_users=with_users)

        return fetch

    def engine(self, connection_id: int, actor: str) -> SyncEngine:
        profiles = {p.id for p in self.context.profiles.all(connection_id)}
        store = _ConnectionStore(DbSyncStore(self.context.settings, now=self.context.now), profiles, connection_id)
        return SyncEngine(psa=self.context.psa(connection_id), fetch_inventory=self._inventory_fetcher(),
                          store=store, actor=actor, today=self.today, now=self.context.now)

    def run(self, company_id: int | None = None, *, dry_run: bool = False, actor: str = "seatsync",
            trigger: str = "manual", progress: Callable[[TenantResult], None] | None = None) -> RunSummary:
        if not self.context.psa_connections.all():
            raise ConfigurationError("no PSA connection to plan against; add one in Settings (or try "
                                     "`python main.py plan --example`)")
        targets = self.targets(company_id)
        run = None if dry_run else self.context.runs.start(
            trigger=trigger, scope="all" if company_id is None else f"company:{company_id}")
        results: list[TenantResult] = []
        try:
            for connection_id, tenant_ids in targets.items():
                results += run_many(self.engine(connection_id, actor), tenant_ids, workers=self.workers,
                                    dry_run=dry_run, progress=progress)
        except BaseException as error:
            if run is not None:
                self.context.runs.finish(run.id, status=RunStatus.FAILED, error=str(error))
            raise
        summary = RunSummary(results=tuple(results), dry_run=dry_run, run_id=run.id if run else None)
        if run is not None:
            try:
                with database_errors():
                    self._finish(run.id, summary)
            except DatabaseFailed:  # the summary still reaches the person; the run's record stays open
                log.warning("the run's record could not be written", exc_info=True)
        return summary

    def _finish(self, run_id: int, summary: RunSummary) -> None:
        results, failed = summary.results, summary.failed
        status = (RunStatus.SUCCEEDED if not failed
                  else RunStatus.FAILED if len(failed) == len(results) else RunStatus.PARTIAL)
        self.context.runs.finish(
            run_id, status=status, error="; ".join(f"{r.name or r.tenant_id}: {r.error}" for r in failed),
            operations_planned=summary.planned, operations_applied=summary.writes,
            operations_failed=sum(len(r.failed) for r in results), operations_held=summary.held,
            findings=summary.findings, tenants_synced=len(results) - len(failed), tenants_failed=len(failed))

    def sync(self, company_id: int | None = None, **kw) -> RunSummary:
        return self.run(company_id, dry_run=False, **kw)

    def plan(self, company_id: int | None = None, **kw) -> RunSummary:
        return self.run(company_id, dry_run=True, **kw)
