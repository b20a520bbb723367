"""The operation journal (writes attempted on a PSA) and held operations (waiting for a person).

The journal makes every PSA write happen exactly once. The sync engine
calls ``begin`` before an API call and ``conclude`` after:

- pending → done (the PSA confirmed it), failed (the PSA refused it: nothing
  was written) or unknown (the call failed in a way that may have applied
  it: a lost response, a timeout after sending);
- pending or unknown → done or not_applied, when the next sync settles the
  entry by reading the PSA; nothing is ever re-sent blindly.

Keys are deterministic (the plan's operation keys): ``begin`` on a done key
changes nothing and returns the done entry; on any other key it starts a
new attempt with the operation planned now.

Held operations are not journal entries: they are kept apart, keyed by the
same operation keys, with their own status. A person approves or rejects
one; an approved key lets the re-planned operation with that key through;
once it is written it is applied, and a held or approved one the plan no
longer contains is superseded. Never put a secret in an operation or an
error text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from peewee import fn

from app.billing.operations import Operation, OpKind
from app.billing.types import RowKey
from app.errors import SeatsyncError
from app.models.codec import operation_from_json, operation_to_json
from app.models.records import HeldRecord, HeldStatus, JournalConflict, JournalRecord, JournalState, RecordNotFound
from app.models.repositories import summaries
from app.models.repositories._base import Repository, in_chunks, raw_rows
from app.models.sync import HeldEntry, JournalEntry

_MAX_ERROR = 2000

#: Which state a journal entry may move to from which (see the module docstring).
_MOVES = {
    JournalState.PENDING: {JournalState.DONE, JournalState.FAILED, JournalState.UNKNOWN, JournalState.NOT_APPLIED},
    JournalState.UNKNOWN: {JournalState.DONE, JournalState.NOT_APPLIED},
}
#: The kinds of operation that set the quantity of a main line.
_WRITES_QUANTITY = (OpKind.CREATE_LINE.value, OpKind.SET_QUANTITY.value)


def _record(row: JournalEntry) -> JournalRecord:
    return JournalRecord(
        op_key=row.op_key,
        state=JournalState(row.state),
        operation_json=row.operation,
        tenant_id=row.tenant_id,
        kind=row.kind,
        agreement_id=row.agreement_id,
        marker=row.marker,
        quantity=row.quantity,
        psa_record_id=row.psa_record_id,
        attempts=row.attempts,
        error=row.error,
        sync_run_id=row.sync_run_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


#: A decision may change until the operation is written or replaced.
_DECIDABLE = (HeldStatus.HELD.value, HeldStatus.APPROVED.value, HeldStatus.REJECTED.value)


def _decider(by: str) -> str:
    if not by.strip():
        raise ValueError("say who decides (approve/reject need 'by')")
    return by.strip()


def _undecidable(op_key: str, status: str | None) -> SeatsyncError | None:
    """Why the held operation ``op_key`` in ``status`` (None: not held) cannot be decided; None when it can."""
    if status is None:
        return RecordNotFound(f"(held operation {op_key})")
    if status not in _DECIDABLE:
        return JournalConflict(f"(operation {op_key} is {status}; it can no longer be decided)")
    return None


def _held(row: HeldEntry) -> HeldRecord:
    return HeldRecord(
        op_key=row.op_key,
        status=HeldStatus(row.status),
        operation_json=row.operation,
        adjusted_json=row.adjusted,
        tenant_id=row.tenant_id,
        reason=row.reason,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class Journal(Repository):
    """Writes attempted on a PSA, one entry per operation key."""

    def begin(self, op: Operation, *, tenant_id: str | None = None, sync_run_id: int | None = None) -> JournalRecord:
        """Journal an attempt at ``op`` before its PSA call.

        Returns the entry: pending (go ahead), or done when this key was
        already written (then nothing changed: skip it).
        """
        if not op.key:
            raise ValueError("an operation needs its key")
        now = self._now()
        values = {
            "state": JournalState.PENDING.value,
            "operation": operation_to_json(op),
            "tenant_id": op.row.tenant_id if tenant_id is None else tenant_id,
            "kind": op.kind.value,
            "agreement_id": op.agreement_id,
            "marker": op.marker,
            "quantity": op.quantity,
            "psa_record_id": "",
            "error": "",
            "updated_at": now,
        }
        attempt = {**values, "attempts": JournalEntry.attempts + 1}
        if sync_run_id is not None:
            attempt["sync_run"] = sync_run_id
        with self.atomic():
            JournalEntry.insert(
                op_key=op.key, attempts=0, sync_run=sync_run_id, created_at=now, **values
            ).on_conflict_ignore().execute()
            # One statement, so concurrent attempts at one key are all counted.
            JournalEntry.update(**attempt).where(
                (JournalEntry.op_key == op.key) & (JournalEntry.state != JournalState.DONE.value)
            ).execute()
            row = self._row(op.key)
        return _record(row)

    def conclude(
        self, op_key: str, state: JournalState, *, psa_record_id: str = "", error: str = ""
    ) -> JournalRecord:
        """Record how an attempt ended, or how reading the PSA settled it.

        ``psa_record_id`` (when given) is the line the PSA wrote; ``error``
        replaces the entry's error text. A move the journal does not allow
        (e.g. from done) is a JournalConflict.
        """
        state = JournalState(state)
        with self.atomic():
            row = self._row(op_key)
            current = JournalState(row.state)
            if state not in _MOVES.get(current, set()):
                raise JournalConflict(f"(operation {op_key} is {current.value}; it cannot become {state.value})")
            row.state = state.value
            row.psa_record_id = str(psa_record_id) or row.psa_record_id
            row.error = error[:_MAX_ERROR]
            row.updated_at = self._now()
            row.save()
            if state is JournalState.DONE and row.kind in _WRITES_QUANTITY:
                summaries.written(row.tenant_id)  # what a row counting users bills a month
        return _record(row)

    def mark_done(self, op_key: str, psa_record_id: str = "") -> JournalRecord:
        return self.conclude(op_key, JournalState.DONE, psa_record_id=psa_record_id)

    def mark_failed(self, op_key: str, error: str) -> JournalRecord:
        return self.conclude(op_key, JournalState.FAILED, error=error)

    def get(self, op_key: str) -> JournalRecord | None:
        row = JournalEntry.get_or_none(JournalEntry.op_key == op_key)
        return None if row is None else _record(row)

    def entries(self, tenant_id: str | None = None) -> list[JournalRecord]:
        """Every entry (of ``tenant_id`` when given), oldest first."""
        query = JournalEntry.select()
        if tenant_id is not None:
            query = query.where(JournalEntry.tenant_id == tenant_id)
        return [_record(row) for row in query.order_by(JournalEntry.created_at, JournalEntry.id)]

    def in_state(self, *states: JournalState, tenant_id: str | None = None) -> list[JournalRecord]:
        """Entries in any of ``states``, oldest first."""
        query = JournalEntry.select().where(JournalEntry.state.in_([JournalState(s).value for s in states]))
        if tenant_id is not None:
            query = query.where(JournalEntry.tenant_id == tenant_id)
        return [_record(row) for row in query.order_by(JournalEntry.created_at, JournalEntry.id)]

    def unsettled(self, tenant_id: str | None = None) -> list[JournalRecord]:
        """Entries pending or unknown: the PSA must be read before anything is retried."""
        return self.in_state(JournalState.PENDING, JournalState.UNKNOWN, tenant_id=tenant_id)

    def done(self, tenant_id: str) -> list[JournalRecord]:
        """The tenant's done entries, in the order they were concluded."""
        query = JournalEntry.select().where(
            (JournalEntry.tenant_id == tenant_id) & (JournalEntry.state == JournalState.DONE.value))
        return [_record(row) for row in query.order_by(JournalEntry.updated_at, JournalEntry.id)]

    def written_and_unsettled(self, tenant_id: str) -> tuple[list[tuple[Operation, str]], list[Operation]]:
        """The tenant's done operations with the PSA record each wrote, in the order they were concluded, and
        its unsettled ones, oldest first (``done`` and ``unsettled``): what a sync reads of every tenant, in one
        query whose rows are read as the driver gives them."""
        states = [JournalState.DONE.value, JournalState.PENDING.value, JournalState.UNKNOWN.value]
        query = (JournalEntry.select(JournalEntry.state, JournalEntry.operation, JournalEntry.psa_record_id,
                                     JournalEntry.created_at, JournalEntry.id)
                 .where((JournalEntry.tenant_id == tenant_id) & JournalEntry.state.in_(states))
                 .order_by(JournalEntry.updated_at, JournalEntry.id))
        done: list[tuple[Operation, str]] = []
        unsettled: list[tuple[Any, ...]] = []  # (created_at, id, operation)
        for state, operation, record_id, created_at, row_id in raw_rows(query):
            if state == JournalState.DONE.value:
                done.append((operation_from_json(operation), record_id))
            else:
                unsettled.append((JournalEntry.created_at.python_value(created_at), row_id, operation))
        return done, [operation_from_json(operation) for *_, operation in sorted(unsettled)]

    def last_written(self, tenant_id: str) -> dict[str, int]:
        """The quantity seatsync last wrote to each main line of the tenant, by line marker
        (from done create/set-quantity entries; the latest one wins)."""
        return self.last_written_by_tenant(tenant_id).get(tenant_id, {})

    def last_written_by_tenant(self, tenant_id: str | None = None) -> dict[str, dict[str, int]]:
        """``last_written`` of every tenant (or of ``tenant_id``) in one query: tenant -> marker -> quantity."""
        condition = (JournalEntry.state == JournalState.DONE.value) & JournalEntry.kind.in_(_WRITES_QUANTITY)
        if tenant_id is not None:
            condition &= JournalEntry.tenant_id == tenant_id
        query = (JournalEntry.select(JournalEntry.tenant_id, JournalEntry.marker, JournalEntry.quantity)
                 .where(condition).order_by(JournalEntry.updated_at, JournalEntry.id).tuples())
        found: dict[str, dict[str, int]] = {}
        for tenant, marker, quantity in query:
            found.setdefault(tenant, {})[marker] = quantity
        return found

    def written_rows(self, tenant_id: str) -> dict[str, RowKey]:
        """The row each main line seatsync created for the tenant was written for, by line marker."""
        query = (
            JournalEntry.select(JournalEntry.operation)
            .where(
                (JournalEntry.tenant_id == tenant_id)
                & (JournalEntry.state == JournalState.DONE.value)
                & (JournalEntry.kind == OpKind.CREATE_LINE.value)
            )
        )
        return {op.marker: op.row for op in (operation_from_json(row.operation) for row in query)}

    def known_agreements(self, tenant_id: str) -> set[str]:
        """Agreements seatsync has written to for this tenant."""
        query = (
            JournalEntry.select(fn.DISTINCT(JournalEntry.agreement_id))
            .where((JournalEntry.tenant_id == tenant_id) & (JournalEntry.state == JournalState.DONE.value))
            .tuples()
        )
        return {agreement for (agreement,) in query}

    @staticmethod
    def _row(op_key: str) -> JournalEntry:
        row = JournalEntry.get_or_none(JournalEntry.op_key == op_key)
        if row is None:
            raise RecordNotFound(f"(journal entry {op_key})")
        return row


class Approvals(Repository):
    """Operations held for a person, and their decisions."""

    def hold(self, op: Operation, *, reason: str, tenant_id: str | None = None) -> HeldRecord:
        """Keep ``op`` for a person to decide. A key already held, decided or applied keeps
        its record; a superseded one is held again with the operation planned now."""
        if not op.key:
            raise ValueError("an operation needs its key")
        now = self._now()
        values = {
            "tenant_id": op.row.tenant_id if tenant_id is None else tenant_id,
            "operation": operation_to_json(op),
            "reason": reason,
            "status": HeldStatus.HELD.value,
            "decided_by": "",
            "decided_at": None,
            "adjusted": None,
            "updated_at": now,
        }
        with self.atomic():
            HeldEntry.insert(op_key=op.key, created_at=now, **values).on_conflict_ignore().execute()
            HeldEntry.update(**values).where(
                (HeldEntry.op_key == op.key) & (HeldEntry.status == HeldStatus.SUPERSEDED.value)
            ).execute()
            row = HeldEntry.get(HeldEntry.op_key == op.key)
        return _held(row)

    def approve(self, op_key: str, *, by: str, adjusted: Operation | None = None) -> HeldRecord:
        """Approve: the next sync that plans this key applies it, or ``adjusted`` (the operation as approved,
        app/billing/adjust.py) in its place."""
        if adjusted is not None and adjusted.key != op_key:
            raise ValueError("an adjusted operation keeps the key of the one it adjusts")
        return self._decide(op_key, HeldStatus.APPROVED, by, adjusted=adjusted)

    def reject(self, op_key: str, *, by: str) -> HeldRecord:
        """Reject: planning the same key again does not revive it."""
        return self._decide(op_key, HeldStatus.REJECTED, by)

    def get(self, op_key: str) -> HeldRecord | None:
        row = HeldEntry.get_or_none(HeldEntry.op_key == op_key)
        return None if row is None else _held(row)

    def held(self, status: HeldStatus | None = HeldStatus.HELD, *, tenant_id: str | None = None) -> list[HeldRecord]:
        """Held operations in ``status`` (every status when None), oldest first."""
        query = HeldEntry.select()
        if status is not None:
            query = query.where(HeldEntry.status == HeldStatus(status).value)
        if tenant_id is not None:
            query = query.where(HeldEntry.tenant_id == tenant_id)
        return [_held(row) for row in query.order_by(HeldEntry.created_at, HeldEntry.id)]

    def count(self, status: HeldStatus = HeldStatus.HELD) -> int:
        """How many held operations are in ``status``, counted by the database."""
        return HeldEntry.select().where(HeldEntry.status == HeldStatus(status).value).count()

    def approved_keys(self, tenant_id: str) -> set[str]:
        return set(self.approved(tenant_id))

    def approved(self, tenant_id: str) -> dict[str, Operation | None]:
        """The tenant's approved operations by key: each as adjusted when it was, else None (as planned)."""
        query = HeldEntry.select(HeldEntry.op_key, HeldEntry.adjusted).where(
            (HeldEntry.tenant_id == tenant_id) & (HeldEntry.status == HeldStatus.APPROVED.value)
        )
        return {key: None if adjusted is None else operation_from_json(adjusted)
                for key, adjusted in raw_rows(query)}

    def after_run(self, tenant_id: str, *, applied: Iterable[str], planned: Iterable[str]) -> None:
        """After a sync of the tenant: held operations it wrote become applied; held or
        approved ones its plan no longer contains become superseded. Read in one query; written (in one
        transaction) only when one of them changes."""
        applied, planned = set(applied), set(planned)
        kept: dict[str, str] = dict(raw_rows(HeldEntry.select(HeldEntry.op_key, HeldEntry.status)
                                             .where(HeldEntry.tenant_id == tenant_id)))
        written = [key for key in applied if key in kept]
        waiting = (HeldStatus.HELD.value, HeldStatus.APPROVED.value)
        gone = [key for key, status in kept.items() if status in waiting and key not in planned and key not in applied]
        if not written and not gone:
            return
        now = self._now()
        with self.atomic():
            for keys in in_chunks(written):
                HeldEntry.update(status=HeldStatus.APPLIED.value, updated_at=now).where(
                    (HeldEntry.tenant_id == tenant_id) & HeldEntry.op_key.in_(keys)
                ).execute()
            for keys in in_chunks(gone):  # unless a person decided it since it was read
                HeldEntry.update(status=HeldStatus.SUPERSEDED.value, updated_at=now).where(
                    HeldEntry.op_key.in_(keys) & HeldEntry.status.in_(waiting)
                ).execute()

    def decide_many(self, op_keys: Iterable[str], *, approve: bool, by: str) -> dict[str, SeatsyncError]:
        """Approve (or reject) each of ``op_keys`` as planned, in one transaction and a few statements per 500
        keys; what could not be decided, by key (the others are)."""
        by = _decider(by)
        keys = list(dict.fromkeys(op_keys))
        status = HeldStatus.APPROVED if approve else HeldStatus.REJECTED
        with self.atomic():
            found: dict[str, str] = {}
            for chunk in in_chunks(keys):
                found.update(raw_rows(HeldEntry.select(HeldEntry.op_key, HeldEntry.status)
                                      .where(HeldEntry.op_key.in_(chunk))))
            refused = {key: why for key in keys if (why := _undecidable(key, found.get(key))) is not None}
            now: datetime = self._now()
            for chunk in in_chunks(key for key in found if key not in refused):
                HeldEntry.update(status=status.value, decided_by=by, decided_at=now, updated_at=now,
                                 adjusted=None).where(HeldEntry.op_key.in_(chunk)
                                                      & HeldEntry.status.in_(_DECIDABLE)).execute()
        return refused

    def _decide(self, op_key: str, status: HeldStatus, by: str, *, adjusted: Operation | None = None) -> HeldRecord:
        by = _decider(by)
        with self.atomic():
            row = HeldEntry.get_or_none(HeldEntry.op_key == op_key)
            refused = _undecidable(op_key, None if row is None else row.status)
            if refused is not None:
                raise refused
            assert row is not None
            now: datetime = self._now()
            row.status, row.decided_by, row.decided_at, row.updated_at = status.value, by, now, now
            row.adjusted = None if adjusted is None else operation_to_json(adjusted)
            row.save()
        return _held(row)
