"""The sync engine's store on the database: the promises of ``SyncStore``, kept in SQLite.

Semantics are ``MemorySyncStore``'s (app/services/sync/store.py); this module
only translates to the repositories. It works on the database
``open_database`` bound. Thread-safe: peewee gives each thread its own
connection; a call made on a thread without one opens it and closes it
again at the end of the call, so worker threads leave nothing open; a
tenant's sync on SQLite holds one for its whole length (``session``).
Several processes may share one database file: writes are transactions
(SQLite WAL, BEGIN IMMEDIATE) and the tenant lock is a row with an expiry.

A tenant's setup is read from what the user configured: the tenant, its
mappings (with their billing profile and product), its exclusions and the
global ones, the approval policy of the PSA company (or companies) it bills
to, and the caps from the settings; a run reads its tenants' setups many
at a time (``setups_of``).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from peewee import SqliteDatabase

from app.billing.foreign import ForeignDecision
from app.billing.operations import Operation
from app.billing.types import Mapping, RowKey
from app.billing.written import Written
from app.errors import SeatsyncError
from app.models import records
from app.models.billing import PsaAgreement
from app.models.connections import Company
from app.models.database import db
from app.models.repositories import Approvals, AuditLog, Exclusions, ForeignDecisions, Journal, Locks, Mappings, Tenants
from app.models.repositories._base import utc_now
from app.services.settings import ApprovalPolicy as Mode
from app.services.settings import Settings
from app.services.sync.store import ApprovalRules, AuditEntry, HeldChange, HeldState, JournalState, TenantSetup
from app.services.uow import connected

#: Tenants whose setups one round of queries reads (each IN (...) list well under every database's limit).
_SETUPS_AT_ONCE = 500
#: From the most permissive approval mode to the strictest.
_STRICTNESS = (Mode.APPLY_ALL, Mode.HOLD_DECREASES, Mode.HOLD_ALL)


class UnknownTenant(SeatsyncError):
    """seatsync does not know this tenant: add it under Customers before syncing it."""


def lock_name(tenant_id: str) -> str:
    return f"tenant:{tenant_id}"


def strictest(modes: Iterable[Mode]) -> Mode:
    """The strictest of ``modes``: a tenant billed to several companies waits when any of them would."""
    return max(modes, key=_STRICTNESS.index, default=Mode.APPLY_ALL)


def _amount(value: Decimal | None) -> Decimal:
    return Decimal("0.00") if value is None else value


def _audit_record(row: records.AuditRecord) -> AuditEntry:
    return AuditEntry(
        at=row.at, actor=row.actor, tenant_id=row.tenant_id, company=row.company_name,
        agreement_id=row.agreement_id, product_id=row.product_id, operation=row.action,
        before_quantity=row.before_quantity or 0, after_quantity=row.after_quantity or 0,
        before_amount=_amount(row.before_amount), after_amount=_amount(row.after_amount), reason=row.reason,
        psa_record_id=row.psa_record_id, op_key=row.op_key)


def _held_operation(row: records.HeldRecord) -> HeldChange:
    return HeldChange(tenant_id=row.tenant_id, operation=row.operation(), reason=row.reason,
                         state=HeldState(row.status.value), decided_by=row.decided_by)


def _company_of(agreement_id: str, connection_id: int | None = None) -> tuple[str, str] | None:
    """The PSA company (id, name) of a cached agreement, if the catalog holds it.

    ``connection_id``: the PSA connection written to; two PSAs may number their agreements alike.
    """
    query = PsaAgreement.select().where(PsaAgreement.psa_id == agreement_id)
    if connection_id is not None:
        query = query.where(PsaAgreement.connection == connection_id)
    agreement = query.first()
    if agreement is None:
        return None
    company = Company.get_or_none(
        (Company.connection == agreement.connection_id) & (Company.psa_id == agreement.company_psa_id))
    return agreement.company_psa_id, company.name if company else ""


class DbSyncStore:
    """A SyncStore on the database the models are bound to.

    One serves one run: the approval settings are read once, by its first tenant, and hold for the run.
    """

    def __init__(self, settings: Settings | None = None, *, now: Callable[[], datetime] = utc_now,
                 connection_id: int | None = None) -> None:
        """``connection_id``: the PSA connection whose foreign-line decisions a sync reads (None: none)."""
        self.settings = settings or Settings()
        self._now = now
        self.connection_id = connection_id
        self.journal = Journal(now=now)
        self.approvals = Approvals(now=now)
        self.locks = Locks(now=now)
        self._rules: tuple[dict[str, Mode], ApprovalRules] | None = None
        self._settings_lock = threading.Lock()

    # -- what the user configured ----------------------------------------------

    def setup(self, tenant_id: str) -> TenantSetup:
        setup = self.setups_of([tenant_id]).get(tenant_id)
        if setup is None:
            raise UnknownTenant(f"(tenant {tenant_id})", tenant_id=tenant_id)
        return setup

    def setups_of(self, tenant_ids: Sequence[str]) -> dict[str, TenantSetup]:
        """The setups of many tenants in a few queries per 500 of them, whatever their number of mappings."""
        ids = list(dict.fromkeys(tenant_ids))
        setups: dict[str, TenantSetup] = {}
        with connected():
            exclusions = Exclusions().all()
            for start in range(0, len(ids), _SETUPS_AT_ONCE):
                tenants = Tenants().found(ids[start:start + _SETUPS_AT_ONCE])
                known = list(tenants)
                links: dict[str, list[tuple[int, str]]] = defaultdict(list)
                for link in Tenants().links_of_tenants(known):
                    links[link.tenant_id].append((link.company_id, link.company_name))
                mappings: dict[str, list[Mapping]] = defaultdict(list)
                for mapping in Mappings().for_tenants(known):
                    mappings[mapping.tenant_id].append(mapping)
                for tenant_id, tenant in tenants.items():
                    companies = list(dict.fromkeys(links[tenant_id]))
                    setups[tenant_id] = TenantSetup(
                        tenant_id=tenant_id, name=tenant.name, mappings=tuple(mappings[tenant_id]),
                        exclusions=tuple(e for e in exclusions if e.tenant_id in (None, tenant_id)),
                        policy=self._policy(companies), company_name=", ".join(name for _, name in companies))
        return setups

    def _policy(self, companies: list[tuple[int, str]]) -> ApprovalRules:
        """The strictest approval mode of the companies a tenant bills to, with the run's caps."""
        overrides, rules = self._run_rules()
        modes = [overrides.get(str(company_id), rules.mode) for company_id, _ in companies]
        return replace(rules, mode=strictest(modes)) if modes else rules

    def session(self) -> AbstractContextManager[object]:
        """On SQLite, this thread's connection for the length of one tenant's sync, or of a run's thread and
        all its tenants, rather than one (opened with its pragmas) per call; closed at the end (with its page
        cache). A team database's pool lends a connection per call at little cost, as it did."""
        return connected() if isinstance(db.obj, SqliteDatabase) else nullcontext()

    def _run_rules(self) -> tuple[dict[str, Mode], ApprovalRules]:
        """Each company's approval policy, and the rules of every other company (the policy and the caps),
        read by the run's first tenant."""
        with self._settings_lock:
            if self._rules is None:
                settings = self.settings
                self._rules = (settings.approval_overrides(), ApprovalRules(
                    mode=settings.approval_policy(), max_seats_per_line=settings.max_seats_change_per_line,
                    max_operations_per_run=settings.max_operations_per_run,
                    max_amount_per_run=settings.max_amount_per_run))
            return self._rules

    def foreign_decisions(self) -> dict[str, ForeignDecision]:
        if self.connection_id is None:  # line ids are a PSA's own: decisions are a connection's
            return {}
        with connected():
            return ForeignDecisions().of_connection(self.connection_id)

    def installation(self) -> str:
        with connected():
            return self.settings.installation_id

    # -- the journal ---------------------------------------------------------------

    def journal_begin(self, tenant_id: str, op: Operation) -> bool:
        with connected():
            return self.journal.begin(op, tenant_id=tenant_id).state is not records.JournalState.DONE

    def journal_set(self, key: str, state: JournalState, *, psa_id: str = "", error: str = "") -> None:
        with connected():
            self.journal.conclude(key, records.JournalState(state.value), psa_record_id=psa_id, error=error)

    def unsettled(self, tenant_id: str) -> list[Operation]:
        with connected():
            return [entry.operation() for entry in self.journal.unsettled(tenant_id)]

    def written(self, tenant_id: str) -> list[Written]:
        with connected():
            return [Written(op=e.operation(), line_id=e.psa_record_id) for e in self.journal.done(tenant_id)]

    def journal_of(self, tenant_id: str) -> tuple[list[Written], list[Operation]]:
        with connected():
            done, unsettled = self.journal.written_and_unsettled(tenant_id)
        return [Written(op=op, line_id=record_id) for op, record_id in done], unsettled

    def last_written(self, tenant_id: str) -> dict[str, int]:
        with connected():
            return self.journal.last_written(tenant_id)

    def written_rows(self, tenant_id: str) -> dict[str, RowKey]:
        with connected():
            return self.journal.written_rows(tenant_id)

    def known_agreements(self, tenant_id: str) -> set[str]:
        with connected():
            return self.journal.known_agreements(tenant_id)

    def journal_states(self, tenant_id: str | None = None) -> list[tuple[str, JournalState]]:
        """(operation key, state) of every journal entry, oldest first."""
        with connected():
            return [(e.op_key, JournalState(e.state.value)) for e in self.journal.entries(tenant_id)]

    # -- the audit log ---------------------------------------------------------------

    def audit(self, record: AuditEntry) -> None:
        self.audit_write(record, None)

    def audit_write(self, record: AuditEntry, connection_id: int | None) -> None:
        """Record a write; ``connection_id``: the PSA connection it went to (whose catalog names its company)."""
        with connected():
            # The agreement's own company when the catalog knows it: a tenant
            # billed to several companies names each write's real company.
            company_id, company_name = _company_of(record.agreement_id, connection_id) or ("", "")
            AuditLog(now=self._now).record(
                actor=record.actor, at=record.at, tenant_id=record.tenant_id, company_id=company_id,
                company_name=company_name or record.company, agreement_id=record.agreement_id,
                product_id=record.product_id, action=record.operation, before_quantity=record.before_quantity,
                after_quantity=record.after_quantity, before_amount=record.before_amount,
                after_amount=record.after_amount, reason=record.reason, psa_record_id=record.psa_record_id,
                op_key=record.op_key, connection_id=connection_id)

    def audits(self, tenant_id: str | None = None) -> list[AuditEntry]:
        """The audit entries (of ``tenant_id`` when given), oldest first."""
        with connected():
            return [_audit_record(row) for row in AuditLog().query(tenant=tenant_id)]

    # -- approvals ------------------------------------------------------------------

    def hold(self, tenant_id: str, op: Operation, reason: str) -> None:
        with connected():
            self.approvals.hold(op, reason=reason, tenant_id=tenant_id)

    def decide(self, key: str, approve: bool, who: str) -> None:
        with connected():
            if approve:
                self.approvals.approve(key, by=who)
            else:
                self.approvals.reject(key, by=who)

    def approved(self, tenant_id: str) -> dict[str, Operation | None]:
        with connected():
            return self.approvals.approved(tenant_id)

    def held_done(self, tenant_id: str, applied: Iterable[str], current: Iterable[str]) -> None:
        with connected():
            self.approvals.after_run(tenant_id, applied=applied, planned=current)

    def held(self, key: str) -> HeldChange | None:
        """The held operation with this key, if any."""
        with connected():
            row = self.approvals.get(key)
            return None if row is None else _held_operation(row)

    # -- one sync per tenant, across processes ------------------------------------------

    def try_lock(self, tenant_id: str, owner: str, ttl_seconds: float) -> bool:
        with connected():
            return self.locks.acquire(lock_name(tenant_id), owner, ttl_seconds)

    def unlock(self, tenant_id: str, owner: str) -> None:
        with connected():
            self.locks.release(lock_name(tenant_id), owner)
