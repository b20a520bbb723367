"""Notifications: what needs a person, computed from stored data (DESIGN §1.9).

``compute_notices`` is pure: it reads the tenants, their latest snapshots,
mapped rows, exclusions, each tenant's latest sync outcome, the latest sync run
and the waiting approvals, and says what needs attention. A tenant whose
latest sync failed keeps its notice until that tenant syncs again, whatever
other runs do meanwhile; the latest run's notice says only what no tenant's
does (the run stopped before its tenants: the PSA down, a refused key).
Excluded licenses raise nothing; so does a tenant whose every license is
excluded. Partner Center customers not yet added,
and connection failures a test just found, are passed in by the caller
(reading Partner Center is a network call for a worker thread). Where they
are sent: app/services/notify/delivery.py.

Each finding kind that needs a person (``findings.TEXTS``, attention) is a
notice per tenant and kind, from the findings of that tenant's latest sync
as the runs store them (``TenantFindings``, whichever process synced): it
goes when a later sync of that tenant no longer reports it, whatever other
tenants' syncs do, and it outlives a restart. A new finding kind is a notice
without more code here.

What needs attention is one definition (``ATTENTION``): the kinds of
notice the Companies list's "Needs attention" counts, company by company
(``CompanyRow.attention``); the others (unassigned seats, commitments,
Partner Center customers not added) are for information.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Mapping as AnyMapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from app.billing.operations import Finding, FindingKind
from app.billing.types import Exclusion, TenantInventory
from app.errors import SeatsyncError
from app.models.records import (
    ConsentStatus,
    HeldStatus,
    RunStatus,
    SyncOutcome,
    SyncOutcomeRecord,
    SyncRunRecord,
    TenantRecord,
)
from app.models.repositories import Approvals
from app.services.microsoft.signin_codes import in_words
from app.services.microsoft.skus import SkuCatalogue
from app.services.microsoft.wire import Customer
from app.services.settings import Settings
from app.services.sync.findings import TEXTS, FindingText

if TYPE_CHECKING:
    from app.services.uow import UnitOfWork

COMMITMENT_DAYS = 30  # NCE commitments ending within this many days
CANCELLATION_DAYS = 7  # NCE cancellation windows (7 days after purchase or renewal) closing within


class NoticeKind(StrEnum):
    UNMAPPED_LICENSE = "unmapped_license"
    UNASSIGNED_SEATS = "unassigned_seats"
    TENANT_NOT_ADDED = "tenant_not_added"
    ACCESS_FAILED = "access_failed"  # consent, GDAP or credentials
    SYNC_FAILED = "sync_failed"
    APPROVALS_WAITING = "approvals_waiting"
    COMMITMENT_ENDING = "commitment_ending"
    CANCELLATION_CLOSING = "cancellation_closing"
    FINDING = "finding"  # a finding of the tenant's latest sync that needs a person, one notice per kind
    GDAP = "gdap"  # a GDAP relationship ended, ending within 30 days, or short of the roles license reads need


KIND_LABELS = {
    NoticeKind.UNMAPPED_LICENSE: "Licenses without a billing profile (new SKUs too)",
    NoticeKind.UNASSIGNED_SEATS: "Unassigned seats",
    NoticeKind.TENANT_NOT_ADDED: "Partner Center customers not added",
    NoticeKind.ACCESS_FAILED: "Consent or credential failures",
    NoticeKind.SYNC_FAILED: "Failed syncs",
    NoticeKind.APPROVALS_WAITING: "Changes waiting for approval",
    NoticeKind.COMMITMENT_ENDING: "NCE commitments ending within 30 days",
    NoticeKind.CANCELLATION_CLOSING: "NCE cancellation windows closing",
    NoticeKind.FINDING: "Findings of the last sync (inactive agreements, duplicate lines, ...)",
    NoticeKind.GDAP: "GDAP relationships ended, ending within 30 days, or short of roles",
}
#: The GDAP states that are a notice of their own (app/services/microsoft/gdap.py ``GdapState`` names).
GDAP_NOTICES = {"ENDED": "GDAP relationship expired or terminated", "ENDING": "GDAP relationship ending",
                "ROLES_INSUFFICIENT": "GDAP roles insufficient", "MISSING": "no GDAP relationship"}

#: The notices that need a person: what "Needs attention" counts in the Companies list, the badge and the tray.
ATTENTION = frozenset({NoticeKind.UNMAPPED_LICENSE, NoticeKind.ACCESS_FAILED, NoticeKind.SYNC_FAILED,
                       NoticeKind.APPROVALS_WAITING, NoticeKind.FINDING})
#: Finding kinds another notice already says (an unmapped license is one of its own).
SAID_ELSEWHERE = frozenset({FindingKind.UNMAPPED_LICENSE})


def finding_text(kind: FindingKind) -> FindingText:
    """The words of a finding kind; a kind the table does not word yet still reads, and needs attention."""
    return TEXTS.get(kind) or FindingText(kind.value.replace("_", " ").capitalize(), "See the sync's details.")


def raises_notice(finding: Finding) -> bool:
    """Whether a finding is a notice of its own (and counts in "Needs attention")."""
    return finding.kind not in SAID_ELSEWHERE and finding_text(finding.kind).attention


class NotifyError(SeatsyncError):
    """seatsync could not send a notification."""


@dataclass(frozen=True, kw_only=True)
class Notice:
    kind: NoticeKind
    title: str
    message: str
    tenant_id: str = ""
    sku_id: str = ""

    @property
    def attention(self) -> bool:
        return self.kind in ATTENTION

    @property
    def key(self) -> str:
        """Stable across runs: the same situation gives the same key (to tell new notices from old)."""
        return f"{self.kind.value}|{self.tenant_id}|{self.sku_id.lower()}"


@dataclass(frozen=True, kw_only=True)
class NoticeInputs:
    today: date
    tenants: Sequence[TenantRecord] = ()
    inventories: dict[str, TenantInventory] = field(default_factory=dict)
    #: (tenant id, lower-case SKU id) of every mapped row.
    mapped: AbstractSet[tuple[str, str]] = frozenset()
    exclusions: Sequence[Exclusion] = ()
    #: (tenant id, SKU id) -> whether the tenant's previous snapshot lacked the license.
    is_new: Callable[[str, str], bool] = lambda tenant_id, sku_id: False
    last_run: SyncRunRecord | None = None
    #: Each tenant's latest sync outcome, by tenant id.
    outcomes: AnyMapping[str, SyncOutcomeRecord] = field(default_factory=dict)
    held: int = 0
    pending_customers: Sequence[Customer] = ()
    access_failures: Sequence[str] = ()
    sku_name: Callable[[str, str], str] = lambda sku_id, part: part or sku_id
    #: The findings of each tenant's latest sync, by tenant id.
    findings: AnyMapping[str, Sequence[Finding]] = field(default_factory=dict)


def compute_notices(inputs: NoticeInputs) -> list[Notice]:
    out: list[Notice] = []
    today = inputs.today
    run = inputs.last_run
    # The latest run has a notice of its own when something beside its tenants' own failures went wrong (the
    # PSA down, a refused key): it names every company it did not sync, those that failed in it too.
    run_id = run.id if run is not None else None
    failed_in_run = sum(1 for o in inputs.outcomes.values()
                        if o.status is SyncOutcome.FAILED and o.sync_run_id == run_id)
    run_notice = run is not None and run.status in (RunStatus.FAILED, RunStatus.PARTIAL) and not (
        0 < run.tenants_failed <= failed_in_run)
    mapped = inputs.mapped
    # A partner that reaches no customer through GDAP (consent in each tenant only) hears nothing of "no GDAP".
    uses_gdap = any(t.gdap_state and t.gdap_state != "MISSING" for t in inputs.tenants)
    for tenant in inputs.tenants:
        inventory = inputs.inventories.get(tenant.tenant_id)
        licenses = [lic for lic in (inventory.licenses if inventory else ())
                    if not any(e.covers(tenant.tenant_id, lic.sku_id) for e in inputs.exclusions)]
        if inventory is not None and inventory.licenses and not licenses:
            continue  # every license excluded: the tenant is not billed and raises nothing
        if tenant.consent_status in (ConsentStatus.MISSING, ConsentStatus.EXPIRED, ConsentStatus.REVOKED):
            out.append(Notice(kind=NoticeKind.ACCESS_FAILED, tenant_id=tenant.tenant_id,
                              title=f"{tenant.name}: Microsoft access {tenant.consent_status.value}",
                              message="seatsync cannot read this tenant's licenses: have the customer's admin "
                                      "grant consent, or renew GDAP in Partner Center."))
        if tenant.gdap_state in GDAP_NOTICES and (tenant.gdap_state != "MISSING" or uses_gdap):
            ends = f": access until {tenant.gdap_ends:%d %b %Y}" if tenant.gdap_ends and tenant.gdap_state == "ENDING" \
                else ""
            out.append(Notice(kind=NoticeKind.GDAP, tenant_id=tenant.tenant_id,
                              title=f"{tenant.name}: {GDAP_NOTICES[tenant.gdap_state]}{ends}",
                              message=tenant.gdap_detail or GDAP_NOTICES[tenant.gdap_state]))
        outcome = inputs.outcomes.get(tenant.tenant_id)
        if outcome is not None and outcome.status is SyncOutcome.FAILED and not (
                run_notice and outcome.sync_run_id == run_id):
            out.append(Notice(kind=NoticeKind.SYNC_FAILED, tenant_id=tenant.tenant_id,
                              title=f"{tenant.name}: the sync at {_when(outcome.finished_at, today)} failed",
                              message=in_words(outcome.error) if outcome.error else "the sync failed"))
        out += _finding_notices(tenant, inputs.findings.get(tenant.tenant_id, ()), inputs.exclusions)
        for lic in licenses:
            name = inputs.sku_name(lic.sku_id, lic.part_number)
            if (lic.purchased or lic.assigned) and (tenant.tenant_id, lic.sku_id.lower()) not in mapped:
                new = inputs.is_new(tenant.tenant_id, lic.sku_id)
                out.append(Notice(kind=NoticeKind.UNMAPPED_LICENSE, tenant_id=tenant.tenant_id, sku_id=lic.sku_id,
                                  title=f"{tenant.name}: {'new license ' if new else ''}{name} has no billing profile",
                                  message=f"{lic.assigned} of {lic.purchased} seats assigned; map it or exclude it."))
            if lic.unassigned:
                out.append(Notice(kind=NoticeKind.UNASSIGNED_SEATS, tenant_id=tenant.tenant_id, sku_id=lic.sku_id,
                                  title=f"{tenant.name}: {lic.unassigned} unassigned {name}",
                                  message=f"{lic.purchased} purchased, {lic.assigned} assigned."))
            for sub in lic.subscriptions:
                if sub.status != "active":
                    continue
                end = sub.commitment_end
                if sub.is_annual_commitment and end is not None and today <= end <= today + timedelta(COMMITMENT_DAYS):
                    renews = "renews automatically" if sub.auto_renew else "does not renew"
                    out.append(Notice(kind=NoticeKind.COMMITMENT_ENDING, tenant_id=tenant.tenant_id,
                                      sku_id=f"{lic.sku_id}/{sub.id}",
                                      title=f"{tenant.name}: {name} commitment ends {end.isoformat()}",
                                      message=f"{sub.quantity} seats, {renews}; change the seat count before then."))
                window = sub.cancellation_allowed_until
                if window is not None and today <= window <= today + timedelta(CANCELLATION_DAYS):
                    out.append(Notice(kind=NoticeKind.CANCELLATION_CLOSING, tenant_id=tenant.tenant_id,
                                      sku_id=f"{lic.sku_id}/{sub.id}",
                                      title=f"{tenant.name}: {name} can be reduced until {window.isoformat()}",
                                      message=f"{sub.quantity} seats; after that day they are committed "
                                              "for the term."))
    for customer in inputs.pending_customers:
        out.append(Notice(kind=NoticeKind.TENANT_NOT_ADDED, tenant_id=customer.tenant_id,
                          title=f"{customer.name} is in Partner Center but not in seatsync",
                          message="Add it with Companies > Add companies, or ignore it."))
    for failure in inputs.access_failures:
        out.append(Notice(kind=NoticeKind.ACCESS_FAILED, title="A connection failed", message=failure,
                          sku_id=failure[:80]))
    if run_notice:
        assert run is not None
        out.append(Notice(kind=NoticeKind.SYNC_FAILED, sku_id=str(run.id), title=failed_run_title(run, today),
                          message=_worded(run.error) or f"{_companies(run.tenants_failed)} not synced."))
    if inputs.held:
        out.append(Notice(kind=NoticeKind.APPROVALS_WAITING, title=f"{inputs.held} change(s) wait for approval",
                          message="Review them under Approvals."))
    return out


def _finding_notices(tenant: TenantRecord, findings: Sequence[Finding],
                     exclusions: Sequence[Exclusion]) -> list[Notice]:
    """One notice per kind of the tenant's findings that need a person (none about an excluded license)."""
    by_kind: dict[FindingKind, list[Finding]] = {}
    for finding in findings:
        if raises_notice(finding) and not (finding.sku_id and any(
                e.covers(tenant.tenant_id, finding.sku_id) for e in exclusions)):
            by_kind.setdefault(finding.kind, []).append(finding)
    out = []
    for kind, found in by_kind.items():
        text = finding_text(kind)
        said = list(dict.fromkeys(f.message for f in found if f.message))
        out.append(Notice(kind=NoticeKind.FINDING, tenant_id=tenant.tenant_id, sku_id=kind.value,
                          title=f"{tenant.name}: {text.title}" + (f" ({len(found)})" if len(found) > 1 else ""),
                          message="; ".join([*said, text.advice]) if said else text.advice))
    return out


def _companies(count: int) -> str:
    return f"{count} compan{'y' if count == 1 else 'ies'}"


def _worded(error: str) -> str:
    """A run's "Company: error; ..." with each Microsoft sign-in code put in words (older runs stored them raw)."""
    parts = []
    for part in error.split("; ") if error else ():
        name, _, rest = part.partition(": ")
        parts.append(f"{name}: {in_words(rest)}" if rest else in_words(part))
    return "; ".join(parts)


def _when(at: datetime, today: date) -> str:
    """ "22:03" in local time, with the day when it was not ``today``: "22:03 on 9 Mar 2026"."""
    local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%H:%M} on {local.day} {local:%b %Y}"


def failed_run_title(run: SyncRunRecord, today: date) -> str:
    """ "The sync at 22:03 finished partially: 2 of 25 companies failed" (local time; the day too when it
    was not ``today``)."""
    at = _when(run.started_at, today)
    total = run.tenants_synced + run.tenants_failed
    if run.status is RunStatus.PARTIAL:
        return f"The sync at {at} finished partially: {run.tenants_failed} of {_companies(total)} failed"
    return f"The sync at {at} failed" + (f" for all {_companies(total)}" if total > 1 else "")


def new_notices(notices: Sequence[Notice], seen: set[str]) -> list[Notice]:
    """The notices not shown before (by key): the tray shows a situation once, digests repeat it."""
    return [n for n in notices if n.key not in seen]


class NotificationService:
    """Gathers the stored data ``compute_notices`` needs (run it on a worker thread)."""

    def __init__(self, uow: UnitOfWork, *, settings: Settings, catalogue: Callable[[], SkuCatalogue],
                 now: Callable[[], datetime]) -> None:
        self.uow = uow
        self.settings = settings
        self.catalogue = catalogue
        self.now = now

    def compute(self, *, today: date | None = None, pending_customers: Sequence[Customer] = (),
                access_failures: Sequence[str] = ()) -> list[Notice]:
        catalogue = self.catalogue()

        previous = self.uow.inventory.previous_skus()  # one read for every tenant, not one per license

        def is_new(tenant_id: str, sku_id: str) -> bool:
            return tenant_id in previous and sku_id.lower() not in previous[tenant_id]

        return compute_notices(NoticeInputs(
            today=today or self.now().date(), tenants=self.uow.tenants.all(),
            inventories=self.uow.inventory.latest_all(),
            mapped=self.uow.mappings.mapped_skus(), exclusions=self.uow.exclusions.all(), is_new=is_new,
            last_run=self.uow.runs.last_finished(), outcomes=self.uow.sync_outcomes.latest(),
            held=Approvals(now=self.now).count(HeldStatus.HELD),
            pending_customers=pending_customers, access_failures=access_failures,
            sku_name=lambda sku_id, part: catalogue.name(sku_id, part), findings=self.uow.findings.latest()))
