"""What the sync engine needs to remember, as a port, and an in-memory store.

The database implementation (app/services/sync/db_store.py) keeps the same
promises on SQLite or PostgreSQL; ``MemorySyncStore`` runs the engine's
tests and a headless dry run without a database.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from app.billing.foreign import ForeignDecision
from app.billing.operations import Operation, OpKind
from app.billing.types import Exclusion, Mapping, RowKey
from app.billing.written import Written
from app.models.records import HeldStatus, JournalState
from app.services import settings


@dataclass(frozen=True, kw_only=True)
class ApprovalRules:
    """The approval mode (the settings' policy: apply all, hold decreases, hold all) and the caps."""

    mode: settings.ApprovalPolicy = settings.ApprovalPolicy.APPLY_ALL
    #: Hold a change of more seats than this on one line (None: no cap).
    max_seats_per_line: int | None = None
    #: Hold operations beyond this many in one run of one tenant (None: no cap).
    max_operations_per_run: int | None = None
    #: Hold rows beyond those that change what the tenant's main lines bill a period by this amount in all,
    #: in one run (None: no cap).
    max_amount_per_run: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class TenantSetup:
    """Everything about one tenant the planner needs besides Microsoft and the PSA."""

    tenant_id: str
    name: str
    mappings: tuple[Mapping, ...]
    exclusions: tuple[Exclusion, ...]
    policy: ApprovalRules = ApprovalRules()
    company_name: str = ""


# One set of states for the journal and for held operations, whichever store keeps them.
HeldState = HeldStatus


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """One write to a PSA. Never holds a secret."""

    at: datetime
    actor: str
    tenant_id: str
    company: str
    agreement_id: str
    product_id: str
    operation: str
    before_quantity: int
    after_quantity: int
    before_amount: Decimal
    after_amount: Decimal
    reason: str
    psa_record_id: str
    op_key: str


@dataclass(frozen=True, kw_only=True)
class HeldChange:
    tenant_id: str
    operation: Operation
    reason: str
    state: HeldState = HeldState.HELD
    decided_by: str = ""
    #: Approved adjusted: the operation as approved (app/billing/adjust.py).
    adjusted: Operation | None = None


class SyncStore(Protocol):
    def setup(self, tenant_id: str) -> TenantSetup: ...

    def setups_of(self, tenant_ids: Sequence[str]) -> dict[str, TenantSetup]:
        """The setups of many tenants read at once (a tenant the store does not know is left out: ``setup``
        says why)."""

    def session(self) -> AbstractContextManager[object]:
        """What one tenant's sync, or a run's thread for all its tenants, holds for its whole length (the
        database's connection: opened once)."""

    def installation(self) -> str:
        """This installation's name in line markers ("" does not tell installations apart)."""

    def foreign_decisions(self) -> dict[str, ForeignDecision]:
        """What people decided about the lines other tools wrote on this PSA's agreements, by line id."""

    # the journal (DESIGN §3): one entry per operation key
    def journal_begin(self, tenant_id: str, op: Operation) -> bool:
        """Record ``op`` as pending; False when its key is already done."""

    def journal_set(self, key: str, state: JournalState, *, psa_id: str = "", error: str = "") -> None: ...

    def unsettled(self, tenant_id: str) -> list[Operation]:
        """Operations pending or unknown: the PSA must be read before anything is retried."""

    def written(self, tenant_id: str) -> list[Written]:
        """The tenant's done operations with the PSA line each wrote, in the order they were written."""

    def journal_of(self, tenant_id: str) -> tuple[list[Written], list[Operation]]:
        """``written`` and ``unsettled`` of the tenant, read together."""

    def last_written(self, tenant_id: str) -> dict[str, int]:
        """The quantity seatsync last wrote to each owned main line, by marker."""

    def written_rows(self, tenant_id: str) -> dict[str, RowKey]:
        """The row each main line seatsync created for this tenant was written for, by marker."""

    def known_agreements(self, tenant_id: str) -> set[str]:
        """Agreements seatsync has written to for this tenant (lines may remain there)."""

    def audit(self, record: AuditEntry) -> None: ...

    # approvals
    def hold(self, tenant_id: str, op: Operation, reason: str) -> None: ...

    def approved(self, tenant_id: str) -> dict[str, Operation | None]:
        """The tenant's approved operations by key: each as approved adjusted, or None (as planned)."""

    def held_done(self, tenant_id: str, applied: Iterable[str], current: Iterable[str]) -> None:
        """Mark approved operations applied, and held ones no longer planned superseded."""

    # one sync per tenant at a time, across processes
    def try_lock(self, tenant_id: str, owner: str, ttl_seconds: float) -> bool: ...

    def unlock(self, tenant_id: str, owner: str) -> None: ...


@dataclass
class _Entry:
    tenant_id: str
    op: Operation
    state: JournalState
    psa_id: str = ""
    error: str = ""
    done_at: int = 0


@dataclass
class MemorySyncStore:
    """A SyncStore in memory (thread-safe): tests and headless dry runs."""

    setups: dict[str, TenantSetup] = field(default_factory=dict)
    journal: dict[str, _Entry] = field(default_factory=dict)
    audits: list[AuditEntry] = field(default_factory=list)
    held: dict[str, HeldChange] = field(default_factory=dict)
    locks: dict[str, tuple[str, float]] = field(default_factory=dict)
    installation_id: str = ""
    decisions: dict[str, ForeignDecision] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._done = itertools.count(1)

    def setup(self, tenant_id: str) -> TenantSetup:
        return self.setups[tenant_id]

    def setups_of(self, tenant_ids: Sequence[str]) -> dict[str, TenantSetup]:
        return {t: self.setups[t] for t in tenant_ids if t in self.setups}

    def session(self) -> AbstractContextManager[object]:
        return nullcontext()

    def installation(self) -> str:
        return self.installation_id

    def foreign_decisions(self) -> dict[str, ForeignDecision]:
        return dict(self.decisions)

    def journal_begin(self, tenant_id: str, op: Operation) -> bool:
        with self._lock:
            entry = self.journal.get(op.key)
            if entry and entry.state is JournalState.DONE:
                return False
            self.journal[op.key] = _Entry(tenant_id, op, JournalState.PENDING)
            return True

    def journal_set(self, key: str, state: JournalState, *, psa_id: str = "", error: str = "") -> None:
        with self._lock:
            entry = self.journal[key]
            entry.state, entry.psa_id, entry.error = state, psa_id or entry.psa_id, error
            if state is JournalState.DONE:
                entry.done_at = next(self._done)

    def unsettled(self, tenant_id: str) -> list[Operation]:
        with self._lock:
            return [e.op for e in self.journal.values() if e.tenant_id == tenant_id
                    and e.state in (JournalState.PENDING, JournalState.UNKNOWN)]

    def written(self, tenant_id: str) -> list[Written]:
        with self._lock:
            done = [e for e in self.journal.values() if e.tenant_id == tenant_id and e.state is JournalState.DONE]
            return [Written(op=e.op, line_id=e.psa_id) for e in sorted(done, key=lambda e: e.done_at)]

    def journal_of(self, tenant_id: str) -> tuple[list[Written], list[Operation]]:
        with self._lock:
            return self.written(tenant_id), self.unsettled(tenant_id)

    def last_written(self, tenant_id: str) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = {}
            for e in self.journal.values():  # insertion order: later writes win
                if e.tenant_id == tenant_id and e.state is JournalState.DONE and e.op.kind.value in (
                        "create_line", "set_quantity"):
                    out[e.op.marker] = e.op.quantity
            return out

    def written_rows(self, tenant_id: str) -> dict[str, RowKey]:
        with self._lock:
            return {e.op.marker: e.op.row for e in self.journal.values() if e.tenant_id == tenant_id
                    and e.state is JournalState.DONE and e.op.kind is OpKind.CREATE_LINE}

    def known_agreements(self, tenant_id: str) -> set[str]:
        with self._lock:
            return {e.op.agreement_id for e in self.journal.values()
                    if e.tenant_id == tenant_id and e.state is JournalState.DONE}

    def audit(self, record: AuditEntry) -> None:
        with self._lock:
            self.audits.append(record)

    def hold(self, tenant_id: str, op: Operation, reason: str) -> None:
        with self._lock:
            current = self.held.get(op.key)
            if current is None or current.state is HeldState.SUPERSEDED:
                self.held[op.key] = HeldChange(tenant_id=tenant_id, operation=op, reason=reason)

    def decide(self, key: str, approve: bool, who: str, adjusted: Operation | None = None) -> None:
        with self._lock:
            state = HeldState.APPROVED if approve else HeldState.REJECTED
            self.held[key] = replace(self.held[key], state=state, decided_by=who, adjusted=adjusted)

    def approved(self, tenant_id: str) -> dict[str, Operation | None]:
        with self._lock:
            return {k: h.adjusted for k, h in self.held.items()
                    if h.tenant_id == tenant_id and h.state is HeldState.APPROVED}

    def held_done(self, tenant_id: str, applied: Iterable[str], current: Iterable[str]) -> None:
        applied, current = set(applied), set(current)
        with self._lock:
            for key, h in list(self.held.items()):
                if h.tenant_id != tenant_id:
                    continue
                if key in applied:
                    self.held[key] = replace(h, state=HeldState.APPLIED)
                elif key not in current and h.state in (HeldState.HELD, HeldState.APPROVED):
                    self.held[key] = replace(h, state=HeldState.SUPERSEDED)

    def try_lock(self, tenant_id: str, owner: str, ttl_seconds: float) -> bool:
        with self._lock:
            now = time.monotonic()
            holder = self.locks.get(tenant_id)
            if holder and holder[0] != owner and holder[1] > now:
                return False
            self.locks[tenant_id] = (owner, now + ttl_seconds)
            return True

    def unlock(self, tenant_id: str, owner: str) -> None:
        with self._lock:
            if self.locks.get(tenant_id, ("",))[0] == owner:
                del self.locks[tenant_id]


def utc_now() -> datetime:
    return datetime.now(UTC)
