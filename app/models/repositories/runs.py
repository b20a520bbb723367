"""Sync runs: when each sync started and ended, how it went, what it did.

The scheduler reads the last finished run at start to catch up a missed one.
"""

from __future__ import annotations

from datetime import datetime

from peewee import fn

from app.models.records import RecordNotFound, RunStatus, SyncRunRecord
from app.models.repositories._base import Repository
from app.models.sync import SyncRun

_COUNTS = (
    "operations_planned",
    "operations_applied",
    "operations_failed",
    "operations_held",
    "findings",
    "tenants_synced",
    "tenants_failed",
)


def _record(row: SyncRun) -> SyncRunRecord:
    return SyncRunRecord(
        id=row.id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=RunStatus(row.status),
        trigger=row.trigger,
        scope=row.scope,
        error=row.error,
        **{name: getattr(row, name) for name in _COUNTS},
    )


class SyncRuns(Repository):
    def start(self, *, trigger: str, scope: str = "", at: datetime | None = None) -> SyncRunRecord:
        row = SyncRun.create(started_at=at or self._now(), status=RunStatus.RUNNING.value, trigger=trigger, scope=scope)
        return _record(row)

    def finish(
        self, run_id: int, *, status: RunStatus, error: str = "", at: datetime | None = None, **counts: int
    ) -> SyncRunRecord:
        """Close the run with its outcome and counts (names as in SyncRunRecord)."""
        status = RunStatus(status)
        if status is RunStatus.RUNNING:
            raise ValueError("finish a run with its outcome, not 'running'")
        unknown = set(counts) - set(_COUNTS)
        if unknown:
            raise ValueError(f"unknown run counts: {', '.join(sorted(unknown))}")
        if any(value < 0 for value in counts.values()):
            raise ValueError("run counts cannot be negative")
        row = self._row(run_id)
        row.finished_at = at or self._now()
        row.status = status.value
        row.error = error
        for name, value in counts.items():
            setattr(row, name, value)
        row.save()
        return _record(row)

    def get(self, run_id: int) -> SyncRunRecord:
        return _record(self._row(run_id))

    def recent(self, limit: int = 50) -> list[SyncRunRecord]:
        """Newest first."""
        query = SyncRun.select().order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit)
        return [_record(row) for row in query]

    def last_finished(self, *, trigger: str | None = None) -> SyncRunRecord | None:
        query = SyncRun.select().where(SyncRun.finished_at.is_null(False))
        if trigger is not None:
            query = query.where(SyncRun.trigger == trigger)
        row = query.order_by(SyncRun.finished_at.desc(), SyncRun.id.desc()).first()
        return None if row is None else _record(row)

    def prune(self, before: datetime) -> int:
        """Delete runs finished before ``before``, keeping the last finished of each trigger (a missed
        scheduled run is told from it); return how many. Journal and audit entries keep their rows, without
        the run."""
        keep = [row.id for row in SyncRun.select(fn.MAX(SyncRun.id).alias("id")).where(
            SyncRun.finished_at.is_null(False)).group_by(SyncRun.trigger)]
        with self.atomic():
            query = SyncRun.delete().where(SyncRun.finished_at.is_null(False) & (SyncRun.finished_at < before))
            if keep:
                query = query.where(SyncRun.id.not_in(keep))
            return query.execute()

    @staticmethod
    def _row(run_id: int) -> SyncRun:
        row = SyncRun.get_or_none(SyncRun.id == run_id)
        if row is None:
            raise RecordNotFound(f"(sync run {run_id})")
        return row
