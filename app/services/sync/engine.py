"""One tenant's sync: fetch → plan → approve → apply → verify (DESIGN §3).

``SyncEngine.dry_run`` stops after approve and returns exactly what ``sync``
would apply; ``sync`` holds the tenant's lock (across processes, through the
store) for the whole run, settles what an earlier run left unknown, and
never lets one tenant's failure reach another (``run_many``).

``run_many`` also stops a run early, never in the middle of a tenant: when
asked to (its ``cancel`` flag, checked before each tenant starts), and when
the PSA is clearly down (``PsaBreaker``: after a few tenants in a row found
it not answering, no further call is sent to it). The tenants not started
are reported as not synced, with the reason.
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping as AnyMapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from functools import partial
from typing import Any, cast

from app.billing.foreign import ForeignDecision
from app.billing.operations import Finding, FindingKind, Operation, Plan
from app.billing.plan import PlanOptions, plan
from app.billing.quantities import needs_users
from app.billing.types import Agreement, Exclusion, Line, Mapping, Product, TenantInventory
from app.billing.written import WriteLog, read_problems, write_log
from app.errors import SeatsyncError
from app.models.database import DatabaseFailed
from app.models.records import ConsentStatus
from app.services.microsoft.errors import ConsentMissing, GdapMissing
from app.services.psa.port import PsaPort, PsaUnavailable, PsaUnreadableAnswer
from app.services.sync.apply import Applier, TenantAborted, is_applied
from app.services.sync.approval import decide
from app.services.sync.inventory import LicensesGone
from app.services.sync.pool import for_each_tenant, side_by_side
from app.services.sync.run_reads import LinesPrefetch, PsaCatalog, SetupsAhead
from app.services.sync.store import SyncStore, TenantSetup, utc_now

log = logging.getLogger(__name__)

#: Tenant leases this process could not give up (the database failed): tenant id -> owner.
_UNRELEASED: dict[str, str] = {}
_UNRELEASED_LOCK = threading.Lock()

#: Fetches one tenant's inventory; raises a SeatsyncError when the read
#: failed or was partial, and LicensesGone (planned, every change held for a
#: person) when it came back with no licenses where there were seats.
InventoryFetcher = Callable[[str, bool], TenantInventory]


class PartialRead(SeatsyncError):
    """The PSA's answer for this tenant's lines is not whole, so it was not synced; nothing was written."""

    def __init__(self, tenant_id: str, problems: list[str]) -> None:
        self.findings = [Finding(kind=FindingKind.PARTIAL_READ, tenant_id=tenant_id, message=p) for p in problems]
        advice = " If a person deleted a line of seatsync's in the PSA, restore it: cancel seatsync's lines, " \
                 "never delete them." if any("missing" in p for p in problems) else ""
        super().__init__(f"{'; '.join(problems)}. The next sync reads the PSA again.{advice}", tenant_id=tenant_id)


@dataclass
class _Read:
    """What one run read: the tenant's inventory (``gone``: why only a person may trust it), its lines."""

    inventory: TenantInventory
    mappings: tuple[Mapping, ...]
    lines: list[Line]
    log: WriteLog
    unsettled: list[Operation]  # journal entries pending or unknown: settled before anything is planned
    gone: str = ""


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"
    BUSY = "busy"  # another worker or process is syncing this tenant
    PLANNED = "planned"  # a dry run


@dataclass
class TenantResult:
    tenant_id: str
    name: str = ""
    status: Status = Status.OK
    plan: Plan | None = None
    go: list[Operation] = field(default_factory=list)
    applied: list[Operation] = field(default_factory=list)
    held: list[tuple[Operation, str]] = field(default_factory=list)
    failed: list[tuple[Operation, str]] = field(default_factory=list)
    recovered: list[Operation] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    error: str = ""
    #: The database failed: the run ends here (every other tenant would fail alike).
    fatal: bool = False
    #: The companies the tenant bills (their names), for a person reading the result.
    company: str = ""
    #: Why the run never started this tenant (cancelled, the PSA not answering, the database failed).
    not_synced: str = ""
    #: The tenant failed because the PSA did not answer it: what happened, in a few words.
    psa_down: str = ""
    #: What this sync learnt of seatsync's access to the tenant in Microsoft: granted (its licenses were read),
    #: missing (no consent) or expired (no GDAP or reseller relationship); None: nothing.
    consent: ConsentStatus | None = None
    #: Applying a preview: why nothing was written for the tenant (its plan is not the one previewed).
    changed: str = ""

    @property
    def writes(self) -> int:
        return len(self.applied)


def with_current_products(mappings: Iterable[Mapping], products: dict[str, Product]) -> tuple[Mapping, ...]:
    """Mappings whose profiles carry the PSA's current price and state of their product."""
    out = []
    for m in mappings:
        product = products.get(m.profile.product.id) or replace(m.profile.product, active=False)
        out.append(replace(m, profile=replace(m.profile, product=product)))
    return tuple(out)


def tenant_agreements(mappings: Iterable[Mapping], lines: Iterable[Line],
                      known: AnyMapping[str, Agreement]) -> list[Agreement]:
    """The agreements planning one tenant needs: those its mappings name and those its lines were read from.

    Every agreement ``plan()`` looks up is one of these, so the plan is the
    one every agreement of the PSA would give, at a cost that follows the
    tenant's own rows rather than the PSA's size. An agreement the PSA no
    longer lists is left out: the planner reports it missing.
    """
    ids = {m.agreement_id for m in mappings}
    ids.update(line.agreement_id for line in lines)
    return [known[i] for i in sorted(ids) if i in known]


def plan_tenant(inventory: TenantInventory, mappings: Sequence[Mapping], exclusions: Iterable[Exclusion],
                lines: Sequence[Line], known: AnyMapping[str, Agreement], today: date, options: PlanOptions,
                generations: AnyMapping[str, int] | None = None,
                decisions: AnyMapping[str, ForeignDecision] | None = None) -> Plan:
    """One tenant's plan as the engine makes it: ``plan()`` given only the tenant's own agreements."""
    return plan(inventory, mappings, exclusions, tenant_agreements(mappings, lines, known), lines, today, options,
                generations=generations, decisions=decisions)


class SyncEngine:
    def __init__(self, *, psa: PsaPort, fetch_inventory: InventoryFetcher, store: SyncStore,
                 actor: str = "seatsync", catalog: PsaCatalog | None = None,
                 today: Callable[[], date] = date.today, now: Callable[[], datetime] = utc_now,
                 lock_ttl_seconds: float = 900.0, options: PlanOptions | None = None) -> None:
        self.psa = psa
        self.fetch_inventory = fetch_inventory
        self.store = store
        self.actor = actor
        self.catalog = catalog or PsaCatalog(psa)
        self.today = today
        self.now = now
        self.lock_ttl = lock_ttl_seconds
        self.options = replace(options or PlanOptions(max_description_length=psa.capabilities.max_description_length),
                               installation=store.installation())
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.prefetch: LinesPrefetch | None = None
        self.setups: SetupsAhead | None = None
        #: What people decided about other tools' lines, read once a run (``prepare``); None: each tenant reads it.
        self.decisions: dict[str, ForeignDecision] | None = None
        #: Decisions not made yet, planned as if they were (a preview of what deciding would write).
        self.what_if: dict[str, ForeignDecision] = {}
        #: Applying a preview: the keys of the operations it showed going, by tenant; a tenant whose plan
        #: now differs gets nothing written. None: apply whatever is planned.
        self.previewed: AnyMapping[str, frozenset[str]] | None = None

    def prepare(self, tenant_ids: Sequence[str]) -> None:
        """The run's tenants, in the order it starts them: their setups are read a chunk at a time
        (``SetupsAhead``), and so are their lines on a PSA that reads lines in batches (``LinesPrefetch``)."""
        self.setups = SetupsAhead(self.store, tenant_ids)
        self.decisions = self._decisions()
        if self.psa.capabilities.reads_lines_in_batches:
            self.prefetch = LinesPrefetch(self.psa, self.store, self.catalog, tenant_ids)

    def _setup(self, tenant_id: str) -> TenantSetup:
        return self.setups.take(tenant_id) if self.setups is not None else self.store.setup(tenant_id)

    # -- the stages ----------------------------------------------------------

    def _read(self, setup: TenantSetup) -> _Read:
        """The tenant's inventory and its PSA lines, read at the same time: they depend on none of each other.

        The PSA's reads (the run's catalog, then the agreements' lines) run beside the inventory read, in this
        thread's context (the run's PSA breaker follows them there); seatsync's own database is read and
        written on this thread only.
        """
        written, unsettled = self.store.journal_of(setup.tenant_id)
        log = write_log(written)
        read_before = self.prefetch.take(setup.tenant_id, written, unsettled) if self.prefetch else None
        reads: dict[str, Callable[[], Any]] = {"inventory": partial(self._inventory, setup)}
        products = self.catalog.products_read()
        if products is None:  # the run's first tenants
            reads["products"] = partial(contextvars.copy_context().run, self.catalog.products)
        reads["lines"] = partial(contextvars.copy_context().run, self._read_lines, setup.mappings, log, read_before)
        done = side_by_side(reads)
        inventory, gone = done["inventory"]
        mappings = with_current_products(setup.mappings, done["products"] if products is None else products)
        read, lines = done["lines"]
        self._check_lines(setup, lines, log, read, unsettled)
        return _Read(inventory=inventory, mappings=mappings, lines=lines, log=log, unsettled=unsettled, gone=gone)

    def _inventory(self, setup: TenantSetup) -> tuple[TenantInventory, str]:
        """The tenant's inventory, and why its licenses are gone ("": they are not)."""
        try:
            return self.fetch_inventory(setup.tenant_id, needs_users(setup.mappings)), ""
        except LicensesGone as error:  # offboarding: planned as read, every change held for a person
            return error.inventory, error.reason

    def _decide(self, setup: TenantSetup, read: _Read, result: TenantResult) -> None:
        assert result.plan is not None
        approved = self.store.approved(setup.tenant_id)
        decision = decide(result.plan, setup.policy, approved, hold_all=read.gone)
        # A change approved adjusted goes as approved (part of it, or later; app/billing/adjust.py).
        result.go = [approved.get(op.key) or op for op in decision.go] if approved else list(decision.go)
        result.held = list(decision.held)
        result.findings = list(result.plan.findings)
        if read.gone:
            result.findings.append(Finding(kind=FindingKind.LICENSES_GONE, tenant_id=setup.tenant_id,
                                           message=read.gone))

    def _lines(self, setup: TenantSetup, mappings: Iterable[Mapping],
               unsettled: list[Operation]) -> tuple[list[Line], WriteLog]:
        """The lines of the tenant's agreements, each with what the journal knows of it.

        Raises ``PartialRead`` when the read lacks a line the journal says
        seatsync wrote, or shows one it cannot read (DESIGN §3).
        """
        log = write_log(self.store.written(setup.tenant_id))
        read, lines = self._read_lines(mappings, log)
        self._check_lines(setup, lines, log, read, unsettled)
        return lines, log

    def _read_lines(self, mappings: Iterable[Mapping], log: WriteLog,
                    read_before: AnyMapping[str, list[Line]] | None = None) -> tuple[list[str], list[Line]]:
        """The agreements read (those the mappings name or seatsync wrote to, that the PSA lists) and their
        lines (``read_before``: what the run's prefetch read of them, used when it holds every one); PSA calls
        only, no database."""
        agreements = {m.agreement_id for m in mappings} | log.agreements
        known = self.catalog.agreements()
        read = sorted(a for a in agreements if a in known)  # the planner reports a missing agreement
        if read_before is not None and set(read) <= set(read_before):
            found: AnyMapping[str, list[Line]] = read_before
        else:
            found = self.psa.list_lines_of(read) if read else {}
        return read, [log.enrich(line) for agreement_id in read for line in found[agreement_id]]

    @staticmethod
    def _check_lines(setup: TenantSetup, lines: list[Line], log: WriteLog, read: list[str],
                     unsettled: list[Operation]) -> None:
        problems = read_problems(lines, log, read, unsettled)
        if problems:
            raise PartialRead(setup.tenant_id, problems)

    def _plan(self, setup: TenantSetup, read: _Read) -> Plan:
        decisions = self.decisions if self.decisions is not None else self._decisions()
        return plan_tenant(read.inventory, read.mappings, setup.exclusions, read.lines, self.catalog.agreements(),
                           self.today(), self.options, generations=read.log.generations, decisions=decisions)

    def _decisions(self) -> dict[str, ForeignDecision]:
        return {**self.store.foreign_decisions(), **self.what_if}

    def dry_run(self, tenant_id: str) -> TenantResult:
        """Exactly what ``sync`` would apply now, and what it would hold; writes nothing."""
        result = TenantResult(tenant_id=tenant_id, status=Status.PLANNED)
        try:
            setup = self._setup(tenant_id)
            result.name = setup.name
            read = self._read(setup)
            result.plan = self._plan(setup, read)
        except SeatsyncError as error:
            return replace(result, status=Status.FAILED, error=str(error), findings=_findings_of(error))
        self._decide(setup, read, result)
        return result

    def sync(self, tenant_id: str) -> TenantResult:
        """Sync one tenant, on one connection to seatsync's database for its whole length (``store.session``)."""
        with ExitStack() as held:
            try:
                held.enter_context(self.store.session())
            except DatabaseFailed as error:
                return TenantResult(tenant_id=tenant_id, status=Status.FAILED, error=str(error), fatal=True)
            return self._sync(tenant_id)

    def _sync(self, tenant_id: str) -> TenantResult:
        result = TenantResult(tenant_id=tenant_id)
        try:
            setup = self._setup(tenant_id)
            result.name = setup.name
            with _UNRELEASED_LOCK:
                stuck = _UNRELEASED.pop(tenant_id, None)
            if stuck is not None:  # this process's lease a failed database kept: give it up now
                self.store.unlock(tenant_id, stuck)
            if not self.store.try_lock(tenant_id, self.owner, self.lock_ttl):
                return replace(result, status=Status.BUSY, error="another sync of this tenant is running")
        except SeatsyncError as error:
            return replace(result, status=Status.FAILED, error=str(error), fatal=isinstance(error, DatabaseFailed))
        try:
            self._sync_locked(setup, result)
        except TenantAborted as error:
            result.status, result.error = Status.FAILED, f"stopped after a write whose outcome is unknown: {error}"
        except DatabaseFailed as error:
            written = getattr(error, "written", [])
            result.applied = list(written)
            result.status, result.fatal = Status.FAILED, True
            result.error = (f"{error}. The sync stopped; {len(written)} change(s) had been written to the PSA "
                            "for this tenant, and the next sync settles them by reading the PSA")
        except SeatsyncError as error:
            result.status, result.error = Status.FAILED, str(error)
            result.findings = result.findings or _findings_of(error)
            result.consent = result.consent or _consent_of(error)
        finally:
            try:
                self.store.unlock(tenant_id, self.owner)
            except DatabaseFailed:
                with _UNRELEASED_LOCK:
                    _UNRELEASED[tenant_id] = self.owner  # released by this process's next sync of the tenant
        return result

    def _sync_locked(self, setup: TenantSetup, result: TenantResult) -> None:
        read = self._read(setup)
        result.consent = ConsentStatus.GRANTED
        applier = Applier(self.psa, self.store, tenant_id=setup.tenant_id, company=setup.company_name,
                          actor=self.actor, now=self.now)
        result.recovered = applier.settle(read.lines, read.unsettled)
        if result.recovered:
            read.lines, read.log = self._lines(setup, read.mappings, [])
        result.plan = self._plan(setup, read)
        self._decide(setup, read, result)
        if self.previewed is not None:
            self._as_previewed(result, self.previewed.get(setup.tenant_id, frozenset()))
        for op, why in result.held:
            self.store.hold(setup.tenant_id, op, why)
        applied = applier.apply(result.go, read.lines)
        result.applied, result.failed = applied.applied, applied.failed
        self.store.held_done(setup.tenant_id, [op.key for op in applied.applied],
                             [op.key for op in result.plan.operations])
        result.findings += self._verify(setup, read.mappings, applied.applied)
        if applied.failed:
            result.status, result.error = Status.FAILED, "; ".join(why for _, why in applied.failed)

    @staticmethod
    def _as_previewed(result: TenantResult, shown: frozenset[str]) -> None:
        """Apply exactly the operations a person saw in a preview, or none of the tenant's."""
        planned = frozenset(op.key for op in result.go)
        if planned != shown:
            result.changed = (f"the tenant changed since the preview ({len(planned - shown)} change(s) not in it, "
                              f"{len(shown - planned)} of it no longer planned): nothing was written; preview again")
            result.go = []

    def _verify(self, setup: TenantSetup, mappings: tuple[Mapping, ...], applied: list[Operation]) -> list[Finding]:
        """Read back what was written; a difference is a finding."""
        if not applied:
            return []
        try:
            lines, _ = self._lines(setup, mappings, [])
        except PartialRead as error:
            return error.findings
        return [Finding(kind=FindingKind.VERIFY_MISMATCH, tenant_id=setup.tenant_id, sku_id=op.row.sku_id,
                        agreement_id=op.agreement_id, line_id=op.line_id,
                        message=f"the PSA does not show {op.kind.value} ({op.before} → {op.quantity}) after "
                                "writing it")
                for op in applied if not is_applied(op, lines)[0]]


def _findings_of(error: SeatsyncError) -> list[Finding]:
    return list(error.findings) if isinstance(error, PartialRead) else []


#: Why a tenant was not synced when the run was cancelled before it started.
CANCELLED = "cancelled"
#: ... when seatsync's database failed on an earlier tenant of the run.
DATABASE_FAILED = "seatsync's database failed earlier in this run"
#: How many tenants in a row must find the PSA not answering before a run stops calling it.
BREAKER_THRESHOLD = 3


class PsaNotAnswering(PsaUnavailable):
    """The PSA is not answering, so seatsync sent it nothing more in this sync."""


def _outage(error: PsaUnavailable) -> str:
    """What went wrong reaching the PSA, in a few words."""
    return getattr(error.__cause__, "reason", "") or error.detail.strip().strip("()") or "no answer"


class PsaBreaker:
    """Stops calling a PSA that is clearly down, for the rest of one run.

    Every call to the PSA goes through ``guard(psa)``. A tenant that failed
    after a call to the PSA found it not answering (no connection, a
    timeout, a server error, throttling beyond the retries) counts against
    it; any other tenant (synced, or failed for another reason: Microsoft
    refusing it, the PSA refusing a record) clears the count. After
    ``threshold`` tenants in a row the breaker opens: every further call is
    refused before it is sent (``PsaNotAnswering``), and ``run_many`` starts
    no further tenant.
    """

    def __init__(self, name: str, *, threshold: int = BREAKER_THRESHOLD) -> None:
        self.name = name
        self.threshold = threshold
        #: Why the breaker opened ("" while it is closed).
        self.reason = ""
        self._lock = threading.Lock()
        self._streak = 0
        #: The outage the tenant met: set on the tenant's thread, shared with the threads its reads run on.
        self._met: contextvars.ContextVar[_Met] = contextvars.ContextVar(f"breaker-{id(self)}")

    @property
    def open(self) -> bool:
        return bool(self.reason)

    @property
    def not_answering(self) -> str:
        return f"{self.name} is not answering ({self.reason})"

    def guard(self, psa: PsaPort) -> PsaPort:
        """``psa`` with every call watched by this breaker, and refused once it is open."""
        return _GuardedPsa(psa, self)

    def begin(self) -> None:
        """A tenant starts on this thread."""
        self._met.set(_Met())

    def end(self, result: TenantResult) -> None:
        """The tenant on this thread ended with ``result``."""
        outage = self._met_here().reason if result.status is Status.FAILED else ""
        result.psa_down = outage
        with self._lock:
            self._streak = self._streak + 1 if outage else 0
            if self._streak >= self.threshold and not self.reason:
                self.reason = outage
                log.warning("%s: no further call is sent to it in this sync", self.not_answering)

    def _met_here(self) -> _Met:
        met = self._met.get(None)
        if met is None:  # a call outside any tenant (none is made today): counted nowhere
            met = _Met()
            self._met.set(met)
        return met

    def _before_call(self) -> None:
        if self.reason:
            self._met_here().reason = self.reason
            raise PsaNotAnswering(f"({self.not_answering})")

    def _failed(self, error: PsaUnavailable) -> None:
        if not isinstance(error, PsaUnreadableAnswer):  # an answer came: it could not be read
            self._met_here().reason = _outage(error)


@dataclass
class _Met:
    """What one tenant met of its PSA: the outage, "" while it answered."""

    reason: str = ""


class _GuardedPsa:
    """A PSA port whose every call goes through a breaker (names and capabilities pass through)."""

    def __init__(self, psa: PsaPort, breaker: PsaBreaker) -> None:
        self._psa = psa
        self._breaker = breaker

    def __getattr__(self, name: str):
        value = getattr(self._psa, name)
        if not callable(value):
            return value
        breaker = self._breaker

        def call(*args, **kwargs):
            breaker._before_call()
            try:
                return value(*args, **kwargs)
            except PsaUnavailable as error:
                breaker._failed(error)
                raise

        return call


def run_many(engine: SyncEngine, tenant_ids: Iterable[str], *, workers: int = 8, dry_run: bool = False,
             progress: Callable[[TenantResult], None] | None = None, cancel: threading.Event | None = None,
             breaker: PsaBreaker | None = None) -> list[TenantResult]:
    """Sync (or plan) many tenants in parallel; one tenant's failure never stops another.

    What stops the run, between tenants and never in the middle of one, is
    reported on each tenant not yet started (``not_synced``): a failure of
    seatsync's own database (every other tenant would fail alike); ``cancel``
    being set; ``breaker`` (the one guarding ``engine``'s PSA) opening.
    """
    ids = list(tenant_ids)
    engine.prepare(ids)
    step = engine.dry_run if dry_run else engine.sync
    stopped = threading.Event()

    def why_not() -> str:
        if stopped.is_set():
            return DATABASE_FAILED
        if cancel is not None and cancel.is_set():
            return CANCELLED
        return breaker.not_answering if breaker is not None and breaker.open else ""

    def one(tenant_id: str) -> TenantResult:
        why = why_not()
        if why:
            return TenantResult(tenant_id=tenant_id, status=Status.FAILED, error=f"not synced: {why}",
                                not_synced=why)
        if breaker is not None:
            breaker.begin()
        result = step(tenant_id)
        if breaker is not None:
            breaker.end(result)
        if result.fatal:
            stopped.set()
        return result

    def safely(tenant_id: str) -> TenantResult:
        try:
            return one(tenant_id)
        except Exception as error:  # an unexpected failure stays with its tenant
            log.exception("sync of tenant %s failed unexpectedly", tenant_id)
            return TenantResult(tenant_id=tenant_id, status=Status.FAILED,
                                error=f"unexpected error: {type(error).__name__}: {error}")

    reporting = threading.Lock()  # progress hears one tenant at a time, as each finishes

    def done(_tenant_id: str, result: TenantResult | BaseException) -> None:
        if progress is not None and isinstance(result, TenantResult):
            with reporting:
                progress(result)

    results = for_each_tenant(ids, safely, max_workers=max(1, workers), on_done=done, held=engine.store.session)
    return [cast(TenantResult, results[t]) for t in ids]


def _consent_of(error: BaseException) -> ConsentStatus | None:
    """What a failed tenant's error says of seatsync's access to it in Microsoft (None: nothing)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConsentMissing):
            return ConsentStatus.MISSING
        if isinstance(seen, GdapMissing):
            return ConsentStatus.EXPIRED
        seen = getattr(seen, "cause", None) or seen.__cause__
    return None
