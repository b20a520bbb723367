"""One tenant's sync: fetch → plan → approve → apply → verify (DESIGN §3).

``SyncEngine.dry_run`` stops after approve and returns exactly what ``sync``
would apply; ``sync`` holds the tenant's lock (across processes, through the
store) for the whole run, settles what an earlier run left unknown, and
never lets one tenant's failure reach another (``run_many``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum

from app.billing.operations import Finding, FindingKind, Operation, Plan
from app.billing.plan import PlanOptions, plan
from app.billing.quantities import needs_users
from app.billing.types import Agreement, Line, Mapping, Product, TenantInventory
from app.billing.written import WriteLog, read_problems, write_log
from app.errors import SeatsyncError
from app.models.database import DatabaseFailed
from app.services.psa.port import PsaPort
from app.services.sync.apply import Applier, TenantAborted, is_applied
from app.services.sync.approval import decide
from app.services.sync.inventory import LicensesGone
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

    @property
    def writes(self) -> int:
        return len(self.applied)


class PsaCatalog:
    """Agreements and products read once per run and shared by every tenant of it."""

    def __init__(self, psa: PsaPort) -> None:
        self.psa = psa
        self._lock = threading.Lock()
        self._agreements: dict[str, Agreement] | None = None
        self._products: dict[str, Product] | None = None

    def agreements(self) -> dict[str, Agreement]:
        with self._lock:
            if self._agreements is None:
                self._agreements = {a.id: a for a in self.psa.list_agreements()}
            return self._agreements

    def products(self) -> dict[str, Product]:
        with self._lock:
            if self._products is None:
                self._products = {p.id: p for p in self.psa.list_products()}
            return self._products


def with_current_products(mappings: Iterable[Mapping], products: dict[str, Product]) -> tuple[Mapping, ...]:
    """Mappings whose profiles carry the PSA's current price and state of their product."""
    out = []
    for m in mappings:
        product = products.get(m.profile.product.id) or replace(m.profile.product, active=False)
        out.append(replace(m, profile=replace(m.profile, product=product)))
    return tuple(out)


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

    # -- the stages ----------------------------------------------------------

    def _read(self, setup: TenantSetup) -> _Read:
        mappings = with_current_products(setup.mappings, self.catalog.products())
        gone = ""
        try:
            inventory = self.fetch_inventory(setup.tenant_id, needs_users(mappings))
        except LicensesGone as error:  # offboarding: planned as read, every change held for a person
            inventory, gone = error.inventory, error.reason
        unsettled = self.store.unsettled(setup.tenant_id)
        lines, log = self._lines(setup, mappings, unsettled)
        return _Read(inventory=inventory, mappings=mappings, lines=lines, log=log, unsettled=unsettled, gone=gone)

    def _decide(self, setup: TenantSetup, read: _Read, result: TenantResult) -> None:
        assert result.plan is not None
        decision = decide(result.plan, setup.policy, self.store.approved_keys(setup.tenant_id), hold_all=read.gone)
        result.go, result.held = list(decision.go), list(decision.held)
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
        agreements = {m.agreement_id for m in mappings} | log.agreements
        known = self.catalog.agreements()
        read = sorted(a for a in agreements if a in known)  # the planner reports a missing agreement
        lines = [log.enrich(line) for agreement_id in read for line in self.psa.list_lines(agreement_id)]
        problems = read_problems(lines, log, read, unsettled)
        if problems:
            raise PartialRead(setup.tenant_id, problems)
        return lines, log

    def _plan(self, setup: TenantSetup, read: _Read) -> Plan:
        return plan(read.inventory, read.mappings, setup.exclusions, self.catalog.agreements().values(), read.lines,
                    self.today(), self.options, generations=read.log.generations)

    def dry_run(self, tenant_id: str) -> TenantResult:
        """Exactly what ``sync`` would apply now, and what it would hold; writes nothing."""
        result = TenantResult(tenant_id=tenant_id, status=Status.PLANNED)
        try:
            setup = self.store.setup(tenant_id)
            result.name = setup.name
            read = self._read(setup)
            result.plan = self._plan(setup, read)
        except SeatsyncError as error:
            return replace(result, status=Status.FAILED, error=str(error), findings=_findings_of(error))
        self._decide(setup, read, result)
        return result

    def sync(self, tenant_id: str) -> TenantResult:
        result = TenantResult(tenant_id=tenant_id)
        try:
            setup = self.store.setup(tenant_id)
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
        finally:
            try:
                self.store.unlock(tenant_id, self.owner)
            except DatabaseFailed:
                with _UNRELEASED_LOCK:
                    _UNRELEASED[tenant_id] = self.owner  # released by this process's next sync of the tenant
        return result

    def _sync_locked(self, setup: TenantSetup, result: TenantResult) -> None:
        read = self._read(setup)
        applier = Applier(self.psa, self.store, tenant_id=setup.tenant_id, company=setup.company_name,
                          actor=self.actor, now=self.now)
        result.recovered = applier.settle(read.lines, read.unsettled)
        if result.recovered:
            read.lines, read.log = self._lines(setup, read.mappings, [])
        result.plan = self._plan(setup, read)
        self._decide(setup, read, result)
        for op, why in result.held:
            self.store.hold(setup.tenant_id, op, why)
        applied = applier.apply(result.go, read.lines)
        result.applied, result.failed = applied.applied, applied.failed
        self.store.held_done(setup.tenant_id, [op.key for op in applied.applied],
                             [op.key for op in result.plan.operations])
        result.findings += self._verify(setup, read.mappings, applied.applied)
        if applied.failed:
            result.status, result.error = Status.FAILED, "; ".join(why for _, why in applied.failed)

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


def run_many(engine: SyncEngine, tenant_ids: Iterable[str], *, workers: int = 8, dry_run: bool = False,
             progress: Callable[[TenantResult], None] | None = None) -> list[TenantResult]:
    """Sync (or plan) many tenants in parallel; one tenant's failure never stops another.

    A failure of seatsync's own database does: the tenants not yet started are
    reported as not synced, since every one of them would fail alike.
    """
    ids = list(tenant_ids)
    step = engine.dry_run if dry_run else engine.sync
    stopped = threading.Event()

    def one(tenant_id: str) -> TenantResult:
        if stopped.is_set():
            return TenantResult(tenant_id=tenant_id, status=Status.FAILED,
                                error="not synced: seatsync's database failed earlier in this run")
        result = step(tenant_id)
        if result.fatal:
            stopped.set()
        return result

    results: dict[str, TenantResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="sync") as pool:
        futures = {pool.submit(one, tenant_id): tenant_id for tenant_id in ids}
        for future in as_completed(futures):
            tenant_id = futures[future]
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - an unexpected failure stays with its tenant
                log.exception("sync of tenant %s failed unexpectedly", tenant_id)
                result = TenantResult(tenant_id=tenant_id, status=Status.FAILED,
                                      error=f"unexpected error: {type(error).__name__}: {error}")
            results[tenant_id] = result
            if progress:
                progress(result)
    return [results[t] for t in ids]
