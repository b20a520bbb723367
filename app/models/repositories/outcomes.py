"""How each tenant's latest finished run went: one row per tenant, replaced by the next run that syncs it.

The Companies list reads them all at once to tell, company by company, which
synced and which failed; the run record alone only says the run had failures.
A tenant a run did not sync (cancelled, the PSA down) keeps its previous
outcome: it is stored as not synced only when it has none yet.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.models.records import SyncOutcome, SyncOutcomeRecord
from app.models.repositories._base import Repository
from app.models.sync import TenantSyncOutcome

#: Rows per INSERT (SQLite's limit on bound values is far above this times the six columns).
_BATCH = 200
_COLUMNS = (TenantSyncOutcome.tenant_id, TenantSyncOutcome.status, TenantSyncOutcome.finished_at,
            TenantSyncOutcome.sync_run, TenantSyncOutcome.writes, TenantSyncOutcome.error)


def _record(row: tuple) -> SyncOutcomeRecord:
    tenant_id, status, finished_at, sync_run_id, writes, error = row
    return SyncOutcomeRecord(tenant_id=tenant_id, status=SyncOutcome(status), finished_at=finished_at,
                             sync_run_id=sync_run_id, writes=writes, error=error)


def _values(outcome: SyncOutcomeRecord) -> dict[str, object]:
    if outcome.writes < 0:
        raise ValueError("a tenant's writes cannot be negative")
    return {"tenant_id": outcome.tenant_id, "sync_run": outcome.sync_run_id, "finished_at": outcome.finished_at,
            "status": SyncOutcome(outcome.status).value, "writes": outcome.writes, "error": outcome.error}


class SyncOutcomes(Repository):
    def record(self, outcomes: Iterable[SyncOutcomeRecord]) -> None:
        """Store each tenant's outcome: ok and failed replace the tenant's previous one; not synced is stored
        only for a tenant that has none (one outcome per tenant; the last given wins)."""
        synced: dict[str, dict[str, object]] = {}
        not_synced: dict[str, dict[str, object]] = {}
        for outcome in outcomes:
            values = _values(outcome)
            (not_synced if values["status"] == SyncOutcome.NOT_SYNCED.value else synced)[outcome.tenant_id] = values
        replaced = list(synced.values())
        kept = [v for t, v in not_synced.items() if t not in synced]
        with self.atomic():
            for start in range(0, len(replaced), _BATCH):
                (TenantSyncOutcome.insert_many(replaced[start:start + _BATCH])
                 .on_conflict(conflict_target=[TenantSyncOutcome.tenant_id],
                              preserve=[TenantSyncOutcome.sync_run, TenantSyncOutcome.finished_at,
                                        TenantSyncOutcome.status, TenantSyncOutcome.writes, TenantSyncOutcome.error])
                 .execute())
            for start in range(0, len(kept), _BATCH):
                TenantSyncOutcome.insert_many(kept[start:start + _BATCH]).on_conflict_ignore().execute()

    def get(self, tenant_id: str) -> SyncOutcomeRecord | None:
        return self.latest([tenant_id]).get(tenant_id)

    def latest(self, tenant_ids: Iterable[str] | None = None) -> dict[str, SyncOutcomeRecord]:
        """Each tenant's outcome by tenant id (of ``tenant_ids`` only, when given), in one query."""
        query = TenantSyncOutcome.select(*_COLUMNS)
        if tenant_ids is not None:
            query = query.where(TenantSyncOutcome.tenant_id.in_(list(tenant_ids)))
        # peewee's stubs keep .tuples() typed as a query of models
        return {row[0]: _record(row) for row in query.tuples()}  # type: ignore[index, arg-type]
