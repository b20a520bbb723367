"""The operation journal: every PSA write happens exactly once.

The sync engine calls ``begin`` before an API call and ``mark_done`` or
``mark_failed`` after. Keys are deterministic (the plan's operation keys),
so ``begin`` on a key already journaled returns that entry:

- done: the write happened; skip it;
- held: it waits for a person (or was rejected); do not apply it;
- pending or failed: this is a new attempt (``attempts`` goes up). A pending
  entry with ``attempts`` > 1 was interrupted (crash, lost response): read
  the PSA before writing again.

Held operations (approval policy, change caps) are journal entries in state
``held`` with a HeldOperation row; approving one makes it pending again.
Never put a secret in an operation or an error text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from peewee import JOIN

from app.billing.types import Operation
from app.models.codec import operation_to_json
from app.models.fields import dump_json
from app.models.records import HeldRecord, HeldStatus, JournalConflict, JournalRecord, JournalState, RecordNotFound
from app.models.repositories._base import Repository
from app.models.sync import HeldOperation, JournalEntry

_MAX_ERROR = 2000


def _record(row: JournalEntry) -> JournalRecord:
    return JournalRecord(
        op_key=row.op_key,
        state=JournalState(row.state),
        operation_json=row.operation,
        tenant_id=row.tenant_id,
        psa_record_id=row.psa_record_id,
        attempts=row.attempts,
        error=row.error,
        sync_run_id=row.sync_run_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _held(row: HeldOperation, entry: JournalEntry) -> HeldRecord:
    return HeldRecord(
        entry=_record(entry),
        status=HeldStatus(row.status),
        reason=row.reason,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        created_at=row.created_at,
    )


def _as_json(op_json: str | Mapping[str, Any]) -> str:
    if isinstance(op_json, str):
        try:
            json.loads(op_json)
        except json.JSONDecodeError as error:
            raise ValueError(f"the operation is not JSON: {error}") from None
        return op_json
    return dump_json(dict(op_json), "operation")


class Journal(Repository):
    def begin(
        self, op_key: str, op_json: str | Mapping[str, Any], *, tenant_id: str = "", sync_run_id: int | None = None
    ) -> JournalRecord:
        """Journal an attempt at ``op_key`` (idempotent on the key; see the module docstring)."""
        if not op_key:
            raise ValueError("an operation needs its key")
        text = _as_json(op_json)
        now = self._now()
        with self.atomic():
            JournalEntry.insert(
                op_key=op_key,
                state=JournalState.PENDING.value,
                operation=text,
                tenant_id=tenant_id,
                attempts=0,
                sync_run=sync_run_id,
                created_at=now,
                updated_at=now,
            ).on_conflict_ignore().execute()
            row = self._row(op_key)
            if row.state in (JournalState.PENDING, JournalState.FAILED):
                row.state = JournalState.PENDING.value
                row.attempts += 1
                row.sync_run = sync_run_id if sync_run_id is not None else row.sync_run_id
                row.updated_at = now
                row.save()
        return _record(row)

    def begin_operation(self, op: Operation, *, sync_run_id: int | None = None) -> JournalRecord:
        return self.begin(op.key, operation_to_json(op), tenant_id=op.row.tenant_id, sync_run_id=sync_run_id)

    def mark_done(self, op_key: str, psa_record_id: str = "") -> JournalRecord:
        return self._finish(op_key, JournalState.DONE, psa_record_id=str(psa_record_id), error="")

    def mark_failed(self, op_key: str, error: str) -> JournalRecord:
        return self._finish(op_key, JournalState.FAILED, error=error[:_MAX_ERROR])

    def get(self, op_key: str) -> JournalRecord | None:
        row = JournalEntry.get_or_none(JournalEntry.op_key == op_key)
        return None if row is None else _record(row)

    def pending(self, tenant_id: str | None = None) -> list[JournalRecord]:
        """Entries begun and not concluded (interrupted attempts, approved holds), oldest first."""
        return self.in_state(JournalState.PENDING, tenant_id=tenant_id)

    def in_state(self, state: JournalState, *, tenant_id: str | None = None) -> list[JournalRecord]:
        query = JournalEntry.select().where(JournalEntry.state == JournalState(state).value)
        if tenant_id is not None:
            query = query.where(JournalEntry.tenant_id == tenant_id)
        return [_record(row) for row in query.order_by(JournalEntry.created_at, JournalEntry.id)]

    # --- held operations ------------------------------------------------------

    def hold(
        self,
        op_key: str,
        op_json: str | Mapping[str, Any],
        *,
        reason: str,
        tenant_id: str = "",
        sync_run_id: int | None = None,
    ) -> HeldRecord:
        """Keep the operation for a person to approve. Idempotent: a key already held,
        approved or rejected keeps its decision; a done one cannot be held."""
        text = _as_json(op_json)
        now = self._now()
        with self.atomic():
            JournalEntry.insert(
                op_key=op_key,
                state=JournalState.HELD.value,
                operation=text,
                tenant_id=tenant_id,
                attempts=0,
                sync_run=sync_run_id,
                created_at=now,
                updated_at=now,
            ).on_conflict_ignore().execute()
            entry = self._row(op_key)
            held = HeldOperation.get_or_none(HeldOperation.entry == entry)
            if held is None:
                if entry.state != JournalState.HELD:
                    if entry.state == JournalState.DONE:
                        raise JournalConflict(f"(operation {op_key} is already done; it cannot be held)")
                    entry.state = JournalState.HELD.value
                    entry.updated_at = now
                    entry.save()
                held = HeldOperation.create(entry=entry, status=HeldStatus.HELD.value, reason=reason, created_at=now)
        return _held(held, entry)

    def hold_operation(self, op: Operation, *, reason: str, sync_run_id: int | None = None) -> HeldRecord:
        return self.hold(
            op.key, operation_to_json(op), reason=reason, tenant_id=op.row.tenant_id, sync_run_id=sync_run_id
        )

    def approve(self, op_key: str, *, by: str) -> HeldRecord:
        """Approve a held operation: it becomes pending and the next apply writes it."""
        return self._decide(op_key, HeldStatus.APPROVED, by, JournalState.PENDING)

    def reject(self, op_key: str, *, by: str) -> HeldRecord:
        """Reject a held operation: it stays held, and planning the same key again does not revive it."""
        return self._decide(op_key, HeldStatus.REJECTED, by, JournalState.HELD)

    def held(self, status: HeldStatus | None = HeldStatus.HELD) -> list[HeldRecord]:
        """Held operations (all of them when ``status`` is None), oldest first."""
        query = (
            HeldOperation.select(HeldOperation, JournalEntry)
            .join(JournalEntry, JOIN.INNER)
            .order_by(HeldOperation.created_at, HeldOperation.id)
        )
        if status is not None:
            query = query.where(HeldOperation.status == HeldStatus(status).value)
        return [_held(row, row.entry) for row in query]

    # --- internals ------------------------------------------------------------

    def _decide(self, op_key: str, status: HeldStatus, by: str, state: JournalState) -> HeldRecord:
        if not by.strip():
            raise ValueError("say who decides (approve/reject need 'by')")
        with self.atomic():
            entry = self._row(op_key)
            held = HeldOperation.get_or_none(HeldOperation.entry == entry)
            if held is None or held.status != HeldStatus.HELD:
                current = "not held" if held is None else held.status
                raise JournalConflict(f"(operation {op_key} is {current}; only a held operation can be decided)")
            now = self._now()
            held.status, held.decided_by, held.decided_at = status.value, by.strip(), now
            held.save()
            entry.state, entry.updated_at = state.value, now
            entry.save()
        return _held(held, entry)

    def _finish(self, op_key: str, state: JournalState, **values: str) -> JournalRecord:
        with self.atomic():
            row = self._row(op_key)
            if row.state != JournalState.PENDING:
                raise JournalConflict(f"(operation {op_key} is {row.state}; begin it before marking it {state})")
            row.state = state.value
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = self._now()
            row.save()
        return _record(row)

    @staticmethod
    def _row(op_key: str) -> JournalEntry:
        row = JournalEntry.get_or_none(JournalEntry.op_key == op_key)
        if row is None:
            raise RecordNotFound(f"(journal entry {op_key})")
        return row
