"""Sync (or plan) one company or all of them: what the window, the tray, the
scheduler and the headless commands all call.

Each PSA connection gets its own engine; a tenant is synced by the engine
of every connection its mappings bill to (usually one), with only that
connection's mappings, and its own breaker (``PsaBreaker``: a PSA that is
clearly down is not called again in the run). A run may be cancelled (its
``cancel`` flag): the tenants started finish, the others are not synced.
Every run is recorded with its counts and what failed, in words, each
reason once (``RunSummary.problems``).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from collections.abc import Mapping as AnyMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from app.billing.operations import Finding
from app.billing.plan import PlanOptions
from app.billing.types import TenantInventory
from app.errors import ConfigurationError, SeatsyncError
from app.models.database import DatabaseFailed, database_errors
from app.models.records import RunStatus, RunTrigger, SyncOutcome, SyncOutcomeRecord
from app.services.customers.rules import RuleApplied, RuleRow, RuleService
from app.services.microsoft.signin_codes import in_words
from app.services.providers import MicrosoftProvider, PsaProvider
from app.services.psa.factory import KINDS
from app.services.settings import Settings
from app.services.sync.db_store import DbSyncStore
from app.services.sync.engine import (
    CANCELLED,
    InventoryFetcher,
    PsaBreaker,
    Status,
    SyncEngine,
    TenantResult,
    run_many,
)
from app.services.sync.pool import tenant_workers
from app.services.sync.store import AuditEntry, TenantSetup
from app.services.team.syncer import one_run
from app.services.uow import UnitOfWork, connected

log = logging.getLogger(__name__)

#: How long a scheduled run waits for another seatsync's run on the team database to finish (seconds).
SCHEDULED_RUN_WAITS = 2 * 3600.0



def who(result: TenantResult) -> str:
    """The result's company (or tenant), as a person knows it."""
    return result.company or result.name or result.tenant_id


def companies(count: int) -> str:
    return f"{count} compan{'y' if count == 1 else 'ies'}"


@dataclass(frozen=True)
class RunSummary:
    results: tuple[TenantResult, ...]
    dry_run: bool = False
    run_id: int | None = None
    #: When the run started.
    started_at: datetime | None = None
    #: Why the run stopped early, each reason once, with the tenants it left unsynced (a PSA that stopped
    #: answering: with those that failed on it too).
    stops: tuple[tuple[str, tuple[TenantResult, ...]], ...] = ()
    #: License rows the mapping rules mapped at the start of the run (new tenants and SKUs): the run bills them.
    mapped_by_rule: tuple[RuleRow, ...] = ()
    #: The contact sync after billing (docs/contacts.md): what it wrote or why it failed, a company a sentence.
    #: A failure here fails neither the run nor another company.
    contacts: tuple[str, ...] = ()

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
    def changed(self) -> tuple[TenantResult, ...]:
        """Applying a preview: the tenants whose plan was no longer the one previewed (nothing written)."""
        return tuple(r for r in self.results if r.changed)

    def previewed(self) -> dict[str, frozenset[str]]:
        """Of a plan (a dry run): what "Apply these" applies, the keys of each tenant's operations going."""
        return {r.tenant_id: frozenset(op.key for op in r.go) for r in self.results if r.status is Status.PLANNED}

    @property
    def planned(self) -> int:
        return sum(len(r.plan.operations) for r in self.results if r.plan)

    @property
    def findings(self) -> int:
        return sum(len(r.findings) for r in self.results)

    @property
    def cancelled(self) -> bool:
        return any(r.not_synced == CANCELLED for r in self.results)

    @property
    def status(self) -> RunStatus:
        """How the run went, as its record says."""
        failed = self.failed
        return (RunStatus.CANCELLED if self.cancelled else RunStatus.SUCCEEDED if not failed
                else RunStatus.FAILED if len(failed) == len(self.results) else RunStatus.PARTIAL)

    @property
    def not_synced(self) -> tuple[TenantResult, ...]:
        return tuple(r for r in self.results if r.not_synced)

    @property
    def own_failures(self) -> tuple[TenantResult, ...]:
        """The failed tenants no stop of the run explains: each with its own error."""
        explained = {id(r) for _, group in self.stops for r in group}
        return tuple(r for r in self.failed if id(r) not in explained)

    def problems(self) -> list[str]:
        """What went wrong, in words: why the run stopped (once), then each other failure."""
        said = [f"{'the sync was ' if reason == CANCELLED else ''}{reason}: {companies(len(group))} not synced"
                for reason, group in self.stops]
        return said + [f"{who(r)}: {in_words(r.error)}" for r in self.own_failures]


def _reading_ahead(fetch: InventoryFetcher, read: dict[str, TenantInventory]) -> InventoryFetcher:
    """``fetch``, but a tenant read ahead without users is given that inventory, once."""
    lock = threading.Lock()

    def fetch_once(tenant_id: str, with_users: bool) -> TenantInventory:
        with lock:
            inventory = None if with_users else read.pop(tenant_id, None)
        return inventory if inventory is not None else fetch(tenant_id, with_users)

    return fetch_once


def _synced(result: TenantResult) -> bool:
    """Whether the run synced the tenant through this result: it started it, and it was neither busy elsewhere
    nor failed by a PSA that was not answering (the run's stop says so, not the tenant)."""
    return not result.not_synced and not result.psa_down and result.status is not Status.BUSY


class _ConnectionStore:
    """A store that shows a tenant's mappings billed through one PSA connection only,
    and audits each write as one to that connection."""

    def __init__(self, store: DbSyncStore, profile_ids: set[str], connection_id: int) -> None:
        self._store = store
        self._profiles = profile_ids
        self._connection_id = connection_id

    def setup(self, tenant_id: str) -> TenantSetup:
        return self._own(self._store.setup(tenant_id))

    def setups_of(self, tenant_ids: Sequence[str]) -> dict[str, TenantSetup]:
        return {tenant_id: self._own(setup) for tenant_id, setup in self._store.setups_of(tenant_ids).items()}

    def _own(self, setup: TenantSetup) -> TenantSetup:
        return replace(setup, mappings=tuple(m for m in setup.mappings if m.profile.id in self._profiles))

    def audit(self, record: AuditEntry) -> None:
        # Two PSAs may number their agreements alike: the audit names the company of this connection's one.
        self._store.audit_write(record, self._connection_id)

    def __getattr__(self, name: str):  # everything else: the store itself
        return getattr(self._store, name)


class SyncService:
    def __init__(self, uow: UnitOfWork, *, psas: PsaProvider, microsoft: MicrosoftProvider, settings: Settings,
                 now: Callable[[], datetime], workers: int | None = None, today: Callable[[], date] = date.today,
                 fetch_inventory: InventoryFetcher | None = None) -> None:
        self.uow = uow
        self.psas = psas
        self.microsoft = microsoft
        self.settings = settings
        self.now = now
        #: Tenants in flight at once; None: as many as the PSA's cap calls for (``tenant_workers``).
        self.workers = workers
        self.today = today
        self._fetch = fetch_inventory

    def targets(self, company_id: int | None = None) -> dict[int, list[str]]:
        """PSA connection id -> the tenants to sync through it, for one company or all."""
        tenants = self.uow.tenants
        links = tenants.links_of_company(company_id) if company_id is not None else tenants.all_links()
        connection_of = {c.id: c.connection_id for c in self.uow.companies.all()}
        targets: dict[int, list[str]] = defaultdict(list)
        for link in links:
            connection_id = connection_of[link.company_id]
            if link.tenant_id not in targets[connection_id]:
                targets[connection_id].append(link.tenant_id)
        return dict(targets)

    def _inventory_fetcher(self) -> InventoryFetcher:
        if self._fetch is not None:
            return self._fetch
        if not self.uow.microsoft_connections.all():  # the run cannot read any tenant: it says why, once
            raise ConfigurationError("no Microsoft partner connection: add it in Settings")
        tenants = {t.tenant_id: t for t in self.uow.tenants.all()}
        custom = self.uow.custom_licenses.of_tenants()
        ignored = self.uow.ignored_accounts.all()

        def fetch(tenant_id: str, with_users: bool) -> TenantInventory:
            """Read the tenant through its own partner connection's clients (a partner that cannot be reached
            fails its tenants only)."""
            tenant = tenants.get(tenant_id)
            service = self.microsoft.inventory_service(tenant.partner_id if tenant else None)
            return service.fetch(tenant_id, name=tenant.name if tenant else "", with_users=with_users,
                                 custom=custom.get(tenant_id, ()), ignored=ignored)

        return fetch

    def ready(self) -> bool:
        """Whether there is something to sync: a PSA connection, and a company linked to a tenant with a
        mapping."""
        return bool(self.uow.psa_connections.all()) and self.uow.mappings.any_billed()

    def psa_name(self, connection_id: int) -> str:
        """The PSA of a connection as a person knows it: "ConnectWise PSA", with the connection's name when
        there are several."""
        connections = self.uow.psa_connections.all()
        record = next((c for c in connections if c.id == connection_id), None)
        if record is None:
            return "the PSA"
        kind = KINDS[record.kind].label if record.kind in KINDS else record.kind
        return f"{kind} ({record.name})" if len(connections) > 1 else kind

    def workers_for(self, connection_id: int) -> int:
        """Tenants a run through this PSA connection syncs at once."""
        return self.workers or tenant_workers(self.psas.psa(connection_id).concurrency)

    def engine(self, connection_id: int, actor: str, breaker: PsaBreaker | None = None,
               read_ahead: dict[str, TenantInventory] | None = None) -> SyncEngine:
        """The engine of one PSA connection; ``read_ahead``: inventories already read in this run (by the
        mapping rules), each handed to the engine once instead of reading the tenant again."""
        profiles = {p.id for p in self.uow.profiles.all(connection_id)}
        store = _ConnectionStore(DbSyncStore(self.settings, now=self.now, connection_id=connection_id), profiles,
                                 connection_id)
        psa = self.psas.psa(connection_id)
        fetch = self._inventory_fetcher()
        if read_ahead:
            fetch = _reading_ahead(fetch, read_ahead)
        return SyncEngine(psa=breaker.guard(psa) if breaker is not None else psa,
                          fetch_inventory=fetch, store=store, actor=actor, today=self.today,
                          now=self.now, options=self.plan_options(connection_id))

    def plan_options(self, connection_id: int) -> PlanOptions:
        """What the planner is told for a connection's tenants: its PSA's limits and the settings' thresholds
        (the sync and the mapping dialog's preview plan alike). A PSA that cannot be opened (no secret yet) is
        given the default limit: a sync stops before planning, on opening it; a preview still shows."""
        try:
            limit = self.psas.psa(connection_id).capabilities.max_description_length
        except SeatsyncError:
            limit = PlanOptions.max_description_length
        return PlanOptions(max_description_length=limit, minimum_margin=Decimal(self.settings.minimum_margin))

    def _map_by_rules(self, targets: dict[int, list[str]],
                      actor: str) -> tuple[RuleApplied, dict[str, TenantInventory]]:
        """Map by the mapping rules what the run's tenants show unmapped, before any engine reads its mappings:
        a new tenant's or SKU's first sync bills it. Only with rules: the tenants are read here (at once, within
        each API's cap) and each inventory is handed to its engine (``read_ahead``); a tenant that cannot be read
        here is read, and fails, in its engine as usual."""
        if not self.uow.rules.all():
            return RuleApplied(), {}
        tenant_ids = list(dict.fromkeys(t for group in targets.values() for t in group))
        fetch = self._inventory_fetcher()

        def read(tenant_id: str) -> tuple[str, TenantInventory | None]:
            try:
                return tenant_id, fetch(tenant_id, False)
            except Exception:  # noqa: BLE001 - its engine reads it again and reports the failure
                return tenant_id, None

        with ThreadPoolExecutor(max_workers=max(1, min(len(tenant_ids), self.workers or 8))) as pool:
            inventories = {t: inv for t, inv in pool.map(read, tenant_ids) if inv is not None}
        rules = RuleService(self.uow, psas=self.psas)
        try:
            return rules.map_new(inventories, actor=f"{actor} (mapping rule)"), inventories
        except SeatsyncError:  # the PSA's agreements could not be read: the run goes on without the rules
            log.warning("the mapping rules could not be applied", exc_info=True)
            return RuleApplied(), inventories

    def run(self, company_id: int | None = None, *, dry_run: bool = False, actor: str = "seatsync",
            trigger: str = RunTrigger.MANUAL, progress: Callable[[TenantResult], None] | None = None,
            cancel: threading.Event | None = None,
            previewed: AnyMapping[str, frozenset[str]] | None = None) -> RunSummary:
        """Sync (or plan) the tenants of one company or all; ``cancel``, once set, starts no further tenant.
        ``previewed``: apply what a preview (a plan) showed going, by tenant: the keys of its operations; a tenant
        whose plan differs now gets nothing written (``TenantResult.changed``), and no rule maps anything."""
        if not self.uow.psa_connections.all():
            raise ConfigurationError("no PSA connection to plan against; add one in Settings (or try "
                                     "`python main.py plan --example`)")
        wait = SCHEDULED_RUN_WAITS if trigger == RunTrigger.SCHEDULE else 0.0
        with nullcontext() if dry_run else one_run(self.uow, actor=actor, trigger=trigger, wait=wait):
            return self._run(company_id, dry_run=dry_run, actor=actor, trigger=trigger, progress=progress,
                             cancel=cancel, previewed=previewed)

    def _run(self, company_id: int | None, *, dry_run: bool, actor: str, trigger: str,
             progress: Callable[[TenantResult], None] | None, cancel: threading.Event | None,
             previewed: AnyMapping[str, frozenset[str]] | None) -> RunSummary:
        targets = self.targets(company_id)
        started = self.now()
        run = None if dry_run else self.uow.runs.start(
            trigger=trigger, scope="all" if company_id is None else f"company:{company_id}", at=started)
        results: list[TenantResult] = []
        stops: dict[str, list[TenantResult]] = defaultdict(list)
        try:
            by_rule, read_ahead = ((RuleApplied(), {}) if dry_run or previewed is not None
                                   else self._map_by_rules(targets, actor))
            for connection_id, tenant_ids in targets.items():
                breaker = PsaBreaker(self.psa_name(connection_id))
                engine = self.engine(connection_id, actor, breaker, read_ahead)
                engine.previewed = previewed
                done = self._named(run_many(engine, tenant_ids,
                                            workers=self.workers_for(connection_id), dry_run=dry_run,
                                            progress=progress,
                                            cancel=cancel, breaker=breaker))
                if breaker.open:
                    stops[breaker.not_answering] += [r for r in done if r.psa_down]
                for r in done:
                    if r.not_synced:
                        stops[r.not_synced].append(r)
                results += done
        except BaseException as error:
            if run is not None:
                self.uow.runs.finish(run.id, status=RunStatus.FAILED, error=str(error))
            raise
        synced_contacts = () if dry_run or previewed is not None or (cancel is not None and cancel.is_set()) \
            else self._sync_contacts(company_id, actor)
        summary = RunSummary(results=tuple(results), dry_run=dry_run, run_id=run.id if run else None,
                             started_at=started,
                             stops=tuple((why, tuple(group)) for why, group in stops.items() if group),
                             mapped_by_rule=by_rule.written, contacts=synced_contacts)
        if run is not None:
            try:
                with database_errors():
                    self._finish(run.id, summary)
            except DatabaseFailed:  # the summary still reaches the person; the run's record stays open
                log.warning("the run's record could not be written", exc_info=True)
        return summary

    def _sync_contacts(self, company_id: int | None, actor: str) -> tuple[str, ...]:
        """The contact sync of the run's companies that have it on, after billing; whatever fails is said."""
        from app.services.contacts.service import ContactSyncService, graph_people

        try:
            contacts = ContactSyncService(self.uow, psas=self.psas, read_people=graph_people(self.microsoft),
                                          now=self.now)
            return tuple(contacts.after_billing(None if company_id is None else [company_id], actor=actor))
        except Exception as error:  # billing is done and recorded: contacts never fail it
            log.warning("the contact sync could not run", exc_info=True)
            return (f"contact sync: {error}",)

    def _named(self, results: list[TenantResult]) -> list[TenantResult]:
        """Each result with its tenant's name and its companies' names (those the run never started lack
        them)."""
        try:
            with database_errors():
                names = {t.tenant_id: t.name for t in self.uow.tenants.all()}
                links = self.uow.tenants.all_links()
        except DatabaseFailed:  # the results still reach the person, named as the engine named them
            return results
        billed: dict[str, list[str]] = defaultdict(list)
        for link in links:
            if link.company_name not in billed[link.tenant_id]:
                billed[link.tenant_id].append(link.company_name)
        return [replace(r, name=r.name or names.get(r.tenant_id, ""),
                        company=r.company or ", ".join(billed.get(r.tenant_id, ()))) for r in results]

    def _finish(self, run_id: int, summary: RunSummary) -> None:
        results, failed, status = summary.results, summary.failed, summary.status
        at = self.now()
        with self.uow:  # the run's record and its tenants' outcomes, both or neither
            self.uow.runs.finish(
                run_id, status=status, error="; ".join(summary.problems()), at=at,
                operations_planned=summary.planned, operations_applied=summary.writes,
                operations_failed=sum(len(r.failed) for r in results), operations_held=summary.held,
                findings=summary.findings, tenants_synced=len(results) - len(failed), tenants_failed=len(failed))
            self.uow.sync_outcomes.record(self._outcomes(run_id, results, at))
            self.uow.findings.replace(self._findings(results), at=at, sync_run_id=run_id)
            # Only what changed: a run that learnt nothing new of its tenants' access writes nothing here.
            stored = {t.tenant_id: t.consent_status for t in self.uow.tenants.all()}
            self.uow.tenants.set_consents({r.tenant_id: r.consent for r in results if r.consent is not None
                                           and r.tenant_id in stored and stored[r.tenant_id] != r.consent})
        self._forget_old(at)

    def _forget_old(self, now: datetime) -> None:
        """Run records and inventory snapshots last read before the history the settings keep."""
        before = now - timedelta(days=self.settings.history_days)
        with self.uow:
            runs, snapshots = self.uow.runs.prune(before), self.uow.inventory.prune(before)
        if runs or snapshots:
            log.info("history older than %s removed: %d sync run(s), %d inventory snapshot(s)", before, runs, snapshots)

    @staticmethod
    def _outcomes(run_id: int, results: tuple[TenantResult, ...], at: datetime) -> list[SyncOutcomeRecord]:
        """Each tenant's outcome of the run, its results through every PSA connection taken together. A tenant
        the run did not sync (not started, another sync of it was running, or the PSA was not answering when
        it tried: the run's stop says so, not the tenant) is not synced: the store keeps its previous outcome."""
        by_tenant: dict[str, list[TenantResult]] = defaultdict(list)
        for result in results:
            by_tenant[result.tenant_id].append(result)
        outcomes = []
        for tenant_id, group in by_tenant.items():
            synced = [r for r in group if _synced(r)]
            if not synced:
                outcomes.append(SyncOutcomeRecord(tenant_id=tenant_id, status=SyncOutcome.NOT_SYNCED, finished_at=at,
                                                  sync_run_id=run_id, error="; ".join(dict.fromkeys(
                                                      r.error for r in group if r.error))))
                continue
            bad = [r for r in synced if r.status is Status.FAILED or r.failed]
            outcomes.append(SyncOutcomeRecord(
                tenant_id=tenant_id, status=SyncOutcome.FAILED if bad else SyncOutcome.OK, finished_at=at,
                sync_run_id=run_id, writes=sum(r.writes for r in synced),
                error="; ".join(dict.fromkeys(in_words(r.error) for r in bad if r.error))))
        return outcomes

    @staticmethod
    def _findings(results: tuple[TenantResult, ...]) -> dict[str, list[Finding]]:
        """The findings of each tenant the run learnt them of, which replace those stored (an empty list: none
        stand now): it planned the tenant, or failed it on a finding (a partial read). A tenant not synced, or
        failed before planning (its access, the PSA refusing a read), is left out and keeps those it had: their
        cause may stand."""
        found: dict[str, list[Finding]] = {}
        for result in results:
            if _synced(result) and (result.plan is not None or result.findings):
                found.setdefault(result.tenant_id, []).extend(result.findings)
        return found

    def sync(self, company_id: int | None = None, **kw) -> RunSummary:
        return self.run(company_id, dry_run=False, **kw)

    def plan(self, company_id: int | None = None, **kw) -> RunSummary:
        return self.run(company_id, dry_run=True, **kw)

    def last_scheduled_run(self) -> datetime | None:
        """When the schedule's last run finished (None: never), on the scheduler's thread with a connection of its
        own: whether a run was missed while seatsync was closed."""
        with connected():
            last = self.uow.runs.last_finished(trigger=RunTrigger.SCHEDULE)
        return last.finished_at if last else None

    def ready_to_sync(self) -> bool:
        """Whether a scheduled sync has anything to do (``ready``), on the scheduler's thread with a connection
        of its own: the window's and ``run-scheduler``'s check before a daily or missed run."""
        with connected():
            return self.ready()
