"""Values the repositories return for what the billing core has no type for.

Frozen keyword-only dataclasses: callers never hold a peewee row. ``id``
fields are the database's own ids; PSA and Microsoft ids are text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from app.billing.operations import Operation
from app.billing.types import BillingProfile, Cycle, QuantityBasis, Term, UserFilter
from app.errors import SeatsyncError


class RecordNotFound(SeatsyncError):
    """seatsync has no such record."""


class RecordInUse(SeatsyncError):
    """The record is still in use and cannot be removed."""


class JournalConflict(SeatsyncError):
    """The journal entry is not in a state that allows this."""


def _frozen_mapping(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True, kw_only=True)
class PsaConnectionRecord:
    id: int
    kind: str  # connectwise | autotask | halopsa
    name: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", _frozen_mapping(self.settings))


@dataclass(frozen=True, kw_only=True)
class MicrosoftConnectionRecord:
    id: int
    name: str
    partner_tenant_id: str
    client_id: str
    #: ``direct`` (a direct-bill CSP account) or ``indirect_reseller`` (``PARTNER_KINDS``).
    kind: str = "direct"
    authority_url: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com"
    partner_center_url: str = "https://api.partnercenter.microsoft.com"
    created_at: datetime | None = None


def read_through(connections: Sequence[MicrosoftConnectionRecord], partner_id: int | None) -> int | None:
    """The partner connection a tenant recorded with ``partner_id`` is read through: its own; for a tenant
    recorded without one, the only connection there is (None when there are several, or none)."""
    if partner_id is None and len(connections) == 1:
        return connections[0].id
    return partner_id


@dataclass(frozen=True, kw_only=True)
class CompanyRecord:
    id: int
    connection_id: int
    psa_id: str
    name: str
    identifier: str = ""
    domains: tuple[str, ...] = ()
    active: bool = True


class ConsentStatus(StrEnum):
    UNKNOWN = "unknown"
    GRANTED = "granted"
    MISSING = "missing"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, kw_only=True)
class TenantRecord:
    tenant_id: str  # the directory's GUID
    name: str
    default_domain: str = ""
    verified_domains: tuple[str, ...] = ()
    consent_status: ConsentStatus = ConsentStatus.UNKNOWN
    partner_id: int | None = None
    added_at: datetime | None = None
    #: GDAP as last checked (app/services/microsoft/gdap.py): a ``GdapState`` name, "" until checked.
    gdap_state: str = ""
    gdap_ends: date | None = None
    gdap_detail: str = ""
    access_checked_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class TenantAccessCheck:
    """What one check of a tenant's access found: its consent (None: not checked) and its GDAP standing
    (``gdap_state`` None: not checked)."""

    consent: ConsentStatus | None = None
    gdap_state: str | None = None
    gdap_ends: date | None = None
    gdap_detail: str = ""


@dataclass(frozen=True, kw_only=True)
class CompanyLink:
    """A tenant billed to a PSA company, for all its users or those ``user_filter`` selects."""

    tenant_id: str
    company_id: int
    company_psa_id: str
    company_name: str
    user_filter: UserFilter | None = None


@dataclass(frozen=True, kw_only=True)
class SeatPoint:
    """One point of the seats-over-time chart (zeros when the license was absent)."""

    fetched_at: datetime
    purchased: int
    assigned: int

    @property
    def unassigned(self) -> int:
        return max(self.purchased - self.assigned, 0)


class RunTrigger(StrEnum):
    """What started a sync run; only the schedule's runs send the digest and webhook."""

    SCHEDULE = "schedule"  # the daily run, or one caught up at start
    MANUAL = "manual"  # a person's "Sync now" (or ``sync`` on the command line)
    DEMO = "demo"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, kw_only=True)
class SyncRunRecord:
    id: int
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    trigger: str
    scope: str = ""
    operations_planned: int = 0
    operations_applied: int = 0
    operations_failed: int = 0
    operations_held: int = 0
    findings: int = 0
    tenants_synced: int = 0
    tenants_failed: int = 0
    error: str = ""


class SyncOutcome(StrEnum):
    """How a tenant's latest sync went."""

    OK = "ok"
    FAILED = "failed"
    NOT_SYNCED = "not_synced"  # the runs that reached it stopped before it (cancelled, the PSA down): never synced


@dataclass(frozen=True, kw_only=True)
class SyncOutcomeRecord:
    """A tenant's latest outcome of a finished (not dry) run: one per tenant. ``error`` is the sentence the
    run record says for it (empty when it went well)."""

    tenant_id: str
    status: SyncOutcome
    finished_at: datetime
    sync_run_id: int | None = None
    writes: int = 0
    error: str = ""


class JournalState(StrEnum):
    """Where a write attempted on the PSA stands (the sync engine's journal states)."""

    PENDING = "pending"  # journaled before the PSA call
    DONE = "done"  # the PSA confirmed it
    UNKNOWN = "unknown"  # the call failed in a way that may have applied it
    FAILED = "failed"  # the PSA refused it: nothing was written
    NOT_APPLIED = "not_applied"  # settled by reading the PSA: it was never applied


@dataclass(frozen=True, kw_only=True)
class JournalRecord:
    """A write seatsync attempted on a PSA. ``attempts`` counts the times it was begun;
    a pending or unknown entry must be settled by reading the PSA before anything is retried."""

    op_key: str
    state: JournalState
    operation_json: str
    tenant_id: str = ""
    kind: str = ""  # the operation's kind, agreement and line marker, kept as columns to query by
    agreement_id: str = ""
    marker: str = ""
    quantity: int = 0
    psa_record_id: str = ""
    attempts: int = 0
    error: str = ""
    sync_run_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def operation(self) -> Operation:
        from app.models.codec import operation_from_json

        return operation_from_json(self.operation_json)


class HeldStatus(StrEnum):
    """Where an operation held for a person stands (the sync engine's held states)."""

    HELD = "held"
    APPROVED = "approved"
    REJECTED = "rejected"
    APPLIED = "applied"
    SUPERSEDED = "superseded"  # the tenant changed: a newer plan no longer has it


@dataclass(frozen=True, kw_only=True)
class HeldRecord:
    """An operation the approval policy or a cap held back, keyed by its operation key.
    It is not in the journal: the journal only records writes attempted."""

    op_key: str
    status: HeldStatus
    operation_json: str
    #: Approved adjusted: the operation as approved (app/billing/adjust.py); None: as planned.
    adjusted_json: str | None = None
    tenant_id: str = ""
    reason: str = ""
    decided_by: str = ""
    decided_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def operation(self) -> Operation:
        from app.models.codec import operation_from_json

        return operation_from_json(self.operation_json)

    def adjusted(self) -> Operation | None:
        """The operation as approved, when it was approved adjusted."""
        from app.models.codec import operation_from_json

        return None if self.adjusted_json is None else operation_from_json(self.adjusted_json)


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One write to a PSA: who, when, where, from what to what, and why."""

    id: int
    at: datetime
    actor: str
    tenant_id: str = ""
    company_id: str = ""
    company_name: str = ""
    agreement_id: str = ""
    product_id: str = ""
    action: str = ""
    before_quantity: int | None = None
    after_quantity: int | None = None
    before_amount: Decimal | None = None
    after_amount: Decimal | None = None
    reason: str = ""
    psa_record_id: str = ""
    op_key: str = ""
    connection_id: int | None = None  # the PSA connection written to


class EditConflict(SeatsyncError):
    """Someone else changed this after you opened it; your change was not saved."""

    def __init__(self, *, what: str, by: str = "", at: datetime | None = None, verb: str = "changed") -> None:
        #: What was edited ("Mapping for Contoso / Microsoft 365 E3"), who saved it meanwhile, when, and how
        #: (changed, created or removed).
        self.what, self.by, self.at, self.verb = what, by, at, verb
        super().__init__("", what=what, by=by, at=at, verb=verb)

    @property
    def message(self) -> str:
        when = ""
        if self.at is not None:
            local = self.at.astimezone()
            day = "" if local.date() == datetime.now(local.tzinfo).date() else f" on {local:%d %b %Y}"
            when = f"{day} at {local:%H:%M}"
        return (f"{self.what} was {self.verb} by {self.by or 'someone else'}{when} after you opened it; "
                "your change was not saved.")

    def shown(self, where: str = "The dialog") -> str:
        """The message, and that ``where`` shows their change now (the editor has reloaded it)."""
        return f"{self.message} {where} shows theirs now."

    def about(self, what: str) -> EditConflict:
        """The same conflict, naming what was edited as the person knows it."""
        return EditConflict(what=what, by=self.by, at=self.at, verb=self.verb)


@dataclass(frozen=True, kw_only=True)
class ConfigChangeRecord:
    """One change of seatsync's configuration: a mapping, billing profile, exclusion or setting."""

    id: int
    at: datetime
    actor: str  # the technician
    db_user: str  # the database user on PostgreSQL ('' on SQLite)
    kind: str  # mapping | profile | exclusion | setting
    key: str
    action: str  # created | changed | removed
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class MappingRuleRecord:
    """A mapping rule: this SKU (of ``term`` and ``cycle`` when set) bills through ``profile`` on each
    company's agreement of ``agreement_type``, or whose name matches ``agreement_name`` (a case-insensitive
    glob), with these mapping options. ``id`` 0: not saved yet."""

    id: int = 0
    sku_id: str
    profile: BillingProfile
    term: Term | None = None
    cycle: Cycle | None = None
    agreement_type: str = ""
    agreement_name: str = ""
    basis: QuantityBasis = QuantityBasis.ASSIGNED
    included_quantity: int = 0
    minimum_quantity: int = 0
    negative_proration: bool = False
    usernames_in_description: bool = False
    description_override: str = ""
    created_at: datetime | None = None
    updated_by: str = ""
