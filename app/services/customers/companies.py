"""What the Companies area shows and does: plain queries and commands over the unit of work.

The list of every company with what needs attention (unmapped licenses, held
changes, failed syncs), one company's license table (the latest inventory
snapshot with its mappings and exclusions), and the commands on a license
row: map, quick-map, exclude, split, merge. No Qt here; the window calls
these on worker threads, and the headless commands may call them too.

Which license rows belong to a company: the licenses of every tenant linked
to it. A tenant billed to several companies by a user filter (office,
department, ...) gives each company rows narrowed to its filter; a mapping
belongs to a company's row when its filter is the link's (or, for a link
without a filter, whatever filter the mapping has).

A company's last sync is its tenants' latest outcomes, which every finished
run stores per tenant (``SyncOutcomes``): one tenant failing in a run of
every company marks that tenant's company failed, not every company.

What needs attention in a company is what its notices of the kinds that need
attention say (``notices.ATTENTION``): its unmapped licenses, held changes, a
failed last sync, tenants without Microsoft access, and the kinds of finding
of its tenants' latest syncs that need a person. Those findings are the ones
the runs store per tenant (``TenantFindings``), read for every tenant of the
list in one query: they stay until that tenant's next sync, also after a
restart and for a sync the scheduler or another desktop ran.

The list's licenses, unmapped licenses and monthly amounts are kept on each
company's row by the writes that change them (app/models/repositories/
summaries.py): the list reads them with the companies, in a few queries
whatever the number of companies, and works out only those not worked out
yet (a database from before they were kept).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping as AnyMapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from app.billing.markers import main_marker, row_key
from app.billing.operations import Operation
from app.billing.plan import PlanOptions
from app.billing.types import Agreement, AgreementStatus, Exclusion, Line, Mapping, RowKey, TenantInventory, User
from app.errors import SeatsyncError
from app.models.records import (
    CompanyLink,
    CompanyRecord,
    EditConflict,
    HeldStatus,
    JournalState,
    MicrosoftConnectionRecord,
    RunStatus,
    SeatPoint,
    SyncOutcome,
    SyncOutcomeRecord,
    SyncRunRecord,
    read_through,
)
from app.models.repositories import Tenants, summaries
from app.models.repositories.overview import OutcomeFact, Overview
from app.models.repositories.summaries import Figures
from app.services.customers.company_rows import (
    CompanyDetail,
    CompanyRow,
    LastSync,
    LicenseRow,
    MappingChoices,
    MappingInputs,
    Monthly,
    Pricer,
    Target,
    TenantOutcome,
    attention_findings,
    license_rows,
    monthly_amount,
    with_findings,
)
from app.services.customers.links import describe
from app.services.customers.mapping_preview import lines_from_written, lines_read
from app.services.sync.engine import Status, TenantResult
from app.services.uow import UnitOfWork, connected

if TYPE_CHECKING:
    from app.services.providers import MicrosoftProvider
    from app.services.sync.service import RunSummary

__all__ = [
    "CompanyDetail", "CompanyRow", "CompanyService", "LastSync", "LicenseRow", "MappingChoices", "MappingInputs",
    "MappingRefused", "Monthly", "SplitRefused", "Target", "TenantOutcome", "graph_users", "last_sync",
    "links_by_tenant", "outcome_of",
]

#: How many recent runs are searched for each company's last sync.
RUNS_LOOKED_AT = 200
#: A company none of whose tenants has a license (figures are immutable: one serves them all).
_NO_FIGURES = Figures()
#: A company never synced.
_NEVER = LastSync()

UsersReader = Callable[[str], tuple[User, ...]]
LinesReader = Callable[[int, Sequence[str]], AnyMapping[str, list[Line]]]


def _connected(method: Callable) -> Callable:
    """Runs the method with this thread's database connection, closing it after on a worker thread."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with connected():
            return method(*args, **kwargs)

    return wrapper


class MappingRefused(SeatsyncError):
    """This mapping cannot be saved."""


class SplitRefused(SeatsyncError):
    """This license cannot be split or merged."""


def graph_users(microsoft: MicrosoftProvider) -> UsersReader:
    """Reads a tenant's users from Microsoft Graph (for usernames and user filters in the preview)."""

    def read(tenant_id: str) -> tuple[User, ...]:
        from app.services.microsoft.wire import user_from_graph

        return tuple(user_from_graph(item) for item in microsoft.clients_of(tenant_id).graph.users(tenant_id))

    return read


@dataclass
class CompanyService:
    uow: UnitOfWork
    today: Callable[[], date] = date.today
    #: Reads a tenant's users; None: users are never read (the preview says so).
    read_users: UsersReader | None = None
    #: Reads the lines of agreements (a PSA connection's id, agreement ids); None: the mapping dialog compares
    #: with what seatsync wrote.
    read_lines: LinesReader | None = None
    #: The latest sync result of each tenant in this session (tenant id -> outcome), kept by the window; it wins
    #: over the outcome the runs stored when newer.
    outcomes: AnyMapping[str, TenantOutcome] = field(default_factory=dict)
    #: What the sync tells the planner for a PSA connection (``SyncService.plan_options``); None: the defaults.
    plan_options: Callable[[int], PlanOptions] | None = None

    # -- the list of companies ------------------------------------------------------

    @_connected
    def company_rows(self) -> list[CompanyRow]:
        """Every PSA company that has at least one tenant, with its counts and badges."""
        overview = Overview()
        listed = overview.companies()
        missing = [company.id for company in listed if company.figures is None]
        worked = summaries.work_out(missing) if missing else {}
        if worked:
            summaries.fill(worked)  # kept, so the next read finds them
        connections = {c.id: c.name for c in self.uow.psa_connections.all()}
        tenants = overview.tenants()
        held, failed = overview.held_per_tenant(), overview.failed_per_tenant()
        without_access = overview.without_access()
        runs = self.uow.runs.recent(RUNS_LOOKED_AT)
        outcomes = self._outcomes()
        found = {t: attention_findings(f) for t, f in self.uow.findings.latest().items()}
        partner_of = _partner_names(overview.partners(), self.uow.microsoft_connections.all())
        rows = []
        for company in listed:  # thousands: most have one tenant, whose held changes need no sum
            figures = company.figures or worked.get(company.id) or _NO_FIGURES
            named = tenants.get(company.id, ())
            tenant_ids = [t for _, t in named]
            rows.append(CompanyRow(
                id=company.id, psa_id=company.psa_id, connection_id=company.connection_id, name=company.name,
                identifier=company.identifier, active=company.active, psa=connections.get(company.connection_id, ""),
                tenant_names=tuple(n for n, _ in named), licenses=figures.licenses, unmapped=figures.unmapped,
                held=held.get(tenant_ids[0], 0) if len(tenant_ids) == 1 else sum(held[t] for t in tenant_ids),
                last_sync=last_sync(company.id, tenant_ids, runs, outcomes, failed),
                monthly=figures.monthly, unpriced=figures.unpriced,
                access=sum(1 for t in tenant_ids if t in without_access),
                findings=sum(found.get(t, 0) for t in tenant_ids) if found else 0,
                partners=tuple(sorted({partner_of[t] for t in tenant_ids if t in partner_of}))))
        rows.sort(key=lambda r: (r.name.casefold(), r.id))
        return rows

    # -- one company ------------------------------------------------------------------

    @_connected
    def company(self, company_id: int) -> CompanyDetail:
        """The company's license table from its tenants' latest snapshots."""
        company = self.uow.companies.get(company_id)
        links = tuple(self.uow.tenants.links_of_company(company_id))
        rows: list[LicenseRow] = []
        read_at: list[datetime] = []
        names: dict[str, str] = {}
        labels: list[str] = []
        prices = _Prices(self.uow, company.connection_id)
        tenant_ids = sorted({link.tenant_id for link in links})
        records = {tenant_id: self.uow.tenants.get(tenant_id) for tenant_id in tenant_ids}
        custom = self.uow.custom_licenses.of_tenants(tenant_ids)
        for link in links:
            inventory = self.uow.inventory.latest(link.tenant_id)
            if inventory is not None and inventory.fetched_at is not None:
                read_at.append(inventory.fetched_at)
            name = names.setdefault(link.tenant_id, records[link.tenant_id].name)
            labels.append(name if link.user_filter is None else f"{name} ({describe(link.user_filter)})")
            rows.extend(license_rows(company, link, name, inventory, self.uow.mappings.for_tenant(link.tenant_id),
                                     self.uow.exclusions.for_tenant(link.tenant_id),
                                     prices.pricer(link.tenant_id, inventory), custom.get(link.tenant_id, ()),
                                     self.uow.custom_licenses.group_names(link.tenant_id)
                                     if link.tenant_id in custom else None))
        overview = Overview()
        held = overview.held_per_tenant()
        outcomes = self._outcomes(tenant_ids)
        last = last_sync(company.id, tenant_ids, self.uow.runs.recent(RUNS_LOOKED_AT), outcomes,
                         overview.failed_per_tenant())
        waiting = [h for t in tenant_ids if held[t] for h in self.uow.approvals.held(HeldStatus.HELD, tenant_id=t)]
        rows = with_findings(rows, [f for found in self.uow.findings.latest(tenant_ids).values() for f in found],
                             waiting)
        connections = self.uow.microsoft_connections.all()
        partners = (_partner_names({t: r.partner_id for t, r in records.items()}, connections)
                    if len(connections) > 1 else {})
        return CompanyDetail(company=company, links=links, tenant_names=tuple(sorted(set(labels))),
                             tenants=tuple(sorted(names.items(), key=lambda t: (t[1].casefold(), t[0]))),
                             licenses=tuple(rows), choices=self.choices(company),
                             held=sum(held[t] for t in tenant_ids), last_sync=last,
                             read_at=min(read_at) if read_at else None, partners=tuple(sorted(set(partners.values()))))

    def remember(self, summary: RunSummary, at: datetime) -> None:
        """Keep how each tenant a run reached went (a tenant it did not reach keeps its last)."""
        self.outcomes = {**self.outcomes,
                         **{r.tenant_id: outcome_of(r, at) for r in summary.results if not r.not_synced}}

    def _outcomes(self, tenant_ids: Iterable[str] | None = None) -> dict[str, TenantOutcome]:
        """Each tenant's latest outcome (of ``tenant_ids`` only, when given) in one query: the one the runs
        stored, or this session's when newer."""
        found = {fact.tenant_id: _stored_outcome(fact) for fact in Overview().outcomes(tenant_ids)}
        for tenant_id, outcome in self.outcomes.items():
            if tenant_id not in found or outcome.at >= found[tenant_id].at:
                found[tenant_id] = outcome
        return found

    def choices(self, company: CompanyRecord, agreements: Sequence[Agreement] | None = None) -> MappingChoices:
        """The billing profiles of the company's PSA, and its active agreements (the cached catalog, or
        ``agreements``: all of the company's, read already)."""
        if agreements is None:
            agreements = self.uow.catalog.agreements(company.connection_id, company.psa_id)
        return MappingChoices(profiles=tuple(self.uow.profiles.all(company.connection_id)),
                              agreements=tuple(a for a in agreements if a.status is AgreementStatus.ACTIVE))

    @_connected
    def history(self, tenant_id: str, sku_id: str, *, since: datetime | None = None) -> list[SeatPoint]:
        """Seats of one license at every stored read, oldest first (the chart)."""
        return self.uow.inventory.history(tenant_id, sku_id, since=since)

    @_connected
    def mapping_inputs(self, target: Target, existing: Mapping | None = None) -> MappingInputs:
        """Everything the mapping dialog needs, read once before it opens."""
        company = self.uow.companies.get(target.company_id)
        inventory = self.uow.inventory.latest(target.tenant_id)
        users, note = None, "The tenant's users are not read here."
        if self.read_users is not None:
            try:
                users, note = self.read_users(target.tenant_id), ""
            except SeatsyncError as error:
                note = f"The tenant's users could not be read: {error}"
        written = [(record.operation(), record.psa_record_id)
                   for record in self.uow.journal.in_state(JournalState.DONE, tenant_id=target.tenant_id)]
        # The mapping as stored now, with its version: the dialog edits what is saved, not what a list read
        # earlier showed, and its save is refused if someone saves the row while it is open.
        stored, version = self.uow.mappings.versioned(existing.row if existing else target.key)
        existing = stored or existing
        others = tuple(m for m in self.uow.mappings.for_tenant(target.tenant_id)
                       if existing is None or m.row != existing.row)
        agreements = tuple(self.uow.catalog.agreements(company.connection_id, company.psa_id))
        choices = self.choices(company, agreements)
        lines, lines_note = self._lines(company, choices, existing, written)
        options = self.plan_options(company.connection_id) if self.plan_options is not None else PlanOptions()
        return MappingInputs(target=target, licenses=inventory.licenses if inventory else (), users=users,
                             users_note=note, lines=lines, lines_note=lines_note, choices=choices, existing=existing,
                             today=self.today(), others=others, version=version,
                             decisions=self.uow.foreign_decisions.of_connection(company.connection_id),
                             options=options, agreements=agreements)

    def _lines(self, company: CompanyRecord, choices: MappingChoices, existing: Mapping | None,
               written: list[tuple[Operation, str]]) -> tuple[tuple[Line, ...], str]:
        """The lines of the company's agreements as the PSA holds them (another tool's, a person's edits), each
        of seatsync's with what its journal knows; what seatsync wrote when the PSA cannot be read, and why."""
        ids = [a.id for a in choices.agreements]
        if existing is not None and existing.agreement_id not in ids:
            ids.append(existing.agreement_id)
        if self.read_lines is None or not ids:
            return lines_from_written(written), ""
        try:
            read = self.read_lines(company.connection_id, ids)
        except SeatsyncError as error:
            return lines_from_written(written), (f"The PSA's lines could not be read ({error}): the preview "
                                                 "compares with what seatsync wrote.")
        return lines_read([line for found in read.values() for line in found], written), ""

    # -- commands -----------------------------------------------------------------------

    @_connected
    def save_mapping(self, mapping: Mapping, *, company_id: int, replacing: RowKey | None = None,
                     expected_version: int | None = None, actor: str = "") -> Mapping:
        """Save the mapping after checking its agreement belongs to the company and the profile allows it.

        ``replacing`` is the row of the mapping this one was edited from: when the edit changed the row (a
        user filter set, changed or cleared), the old mapping goes in the same transaction, or both would bill.
        ``expected_version`` is the version the editor read (``MappingInputs.version``): ``EditConflict``,
        naming who saved it since, when it is not the stored one. ``actor`` is who saves (the history).
        """
        company = self.uow.companies.get(company_id)
        agreement = self.uow.catalog.agreement(company.connection_id, mapping.agreement_id)
        _check(mapping, company, agreement)
        # A profile bills a product of one PSA: on another PSA's company it would write a foreign product id
        # (each connection's engine syncs only its own profiles' mappings, so the row would never be billed).
        if mapping.profile.id not in {p.id for p in self.uow.profiles.all(company.connection_id)}:
            raise MappingRefused(f"(billing profile {mapping.profile.name} bills a product of another PSA "
                                 f"connection than {company.name}'s; choose one of its own PSA's profiles)")
        try:
            with self.uow:
                if replacing is not None and replacing != mapping.row:
                    saved = self.uow.mappings.save(mapping, actor=actor)
                    self.uow.mappings.delete(replacing, expected_version=expected_version, actor=actor)
                else:
                    saved = self.uow.mappings.save(mapping, expected_version=expected_version, actor=actor)
        except EditConflict as conflict:
            raise conflict.about(self._mapping_name(company, mapping)) from None
        return saved

    def _mapping_name(self, company: CompanyRecord, mapping: Mapping) -> str:
        """"Mapping for Contoso / Microsoft 365 E3": the company and the license as the company page names them."""
        inventory = self.uow.inventory.latest(mapping.tenant_id)
        found = inventory.license(mapping.sku_id) if inventory else None
        name = (found.name or found.part_number) if found else ""
        return f"Mapping for {company.name} / {name or mapping.sku_id}"

    @_connected
    def quick_map(self, target: Target, profile_id: str, agreement_id: str,
                  existing: Mapping | None = None, *, actor: str = "") -> Mapping:
        """Map the row to a profile and agreement, keeping the existing mapping's other options.

        ``existing`` is the mapping the page showed: when the stored one is another (someone saved or
        removed it since), ``EditConflict`` names them and nothing is saved.
        """
        profile = self.uow.profiles.get(profile_id)
        key = existing.row if existing else target.key
        stored, version = self.uow.mappings.versioned(key)
        if not _same(stored, existing):
            company = self.uow.companies.get(target.company_id)
            name = self._mapping_name(company, existing or stored or Mapping(
                tenant_id=target.tenant_id, sku_id=target.sku_id, profile=profile, agreement_id=agreement_id))
            raise self.uow.mappings.stale(key).about(name)
        base = existing or Mapping(tenant_id=target.tenant_id, sku_id=target.sku_id, profile=profile,
                                   agreement_id=agreement_id, subscription_id=target.subscription_id,
                                   user_filter=target.user_filter)
        return self.save_mapping(replace(base, profile=profile, agreement_id=agreement_id),
                                 company_id=target.company_id, expected_version=version, actor=actor)

    @_connected
    def delete_mapping(self, key: RowKey, *, expected_version: int | None = None, actor: str = "") -> bool:
        return self.uow.mappings.delete(key, expected_version=expected_version, actor=actor)

    @_connected
    def exclude(self, tenant_id: str, sku_id: str, reason: str = "", *, actor: str = "") -> Exclusion:
        """Exclude the license in this tenant: never billed, never a notification."""
        return self.uow.exclusions.add(Exclusion(sku_id=sku_id, tenant_id=tenant_id, reason=reason), actor=actor)

    @_connected
    def include(self, tenant_id: str, sku_id: str, *, actor: str = "") -> bool:
        """Undo the tenant's own exclusion of the license (a global exclusion stays)."""
        return self.uow.exclusions.remove(sku_id, tenant_id, actor=actor)

    @_connected
    def split(self, row: LicenseRow, *, actor: str = "") -> list[Mapping]:
        """Give each active subscription its own row, each starting as a copy of the license's mapping."""
        active = [s for s in row.license.subscriptions if s.status == "active"]
        if row.split:
            raise SplitRefused(f"({row.name} is already split)")
        if len(active) < 2:
            raise SplitRefused(f"({row.name} has {len(active)} active subscription(s); splitting needs two or more)")
        if row.mapping is None:
            raise SplitRefused(f"({row.name} has no billing profile yet: map it first, then split it and change "
                               "each subscription's mapping)")
        with self.uow:
            saved = [self.uow.mappings.save(replace(row.mapping, subscription_id=s.id), actor=actor) for s in active]
            self.uow.mappings.delete(row.mapping.row, actor=actor)
        return saved

    @_connected
    def merge(self, row: LicenseRow, *, actor: str = "") -> Mapping:
        """Put a split license back into one row, mapped like its first mapped subscription."""
        mapped = [s.mapping for s in row.subscriptions if s.mapping is not None]
        if not row.split or not mapped:
            raise SplitRefused(f"({row.name} is not split)")
        with self.uow:
            merged = self.uow.mappings.save(replace(mapped[0], subscription_id=""), actor=actor)
            for sub_mapping in mapped:
                self.uow.mappings.delete(sub_mapping.row, actor=actor)
        return merged


def _same(stored: Mapping | None, shown: Mapping | None) -> bool:
    """Whether the page showed the mapping as stored (its profile by id: a catalog refresh changes the
    product's price, not the mapping)."""
    if stored is None or shown is None:
        return stored is shown
    return stored.profile.id == shown.profile.id and replace(shown, profile=stored.profile) == stored


class _Prices:
    """What mappings on one PSA connection's agreements bill a month (``monthly_amount``), from its cached
    catalog; the journal is read for a tenant only when a quantity counts users."""

    def __init__(self, uow: UnitOfWork, connection_id: int) -> None:
        self.journal = uow.journal
        self.agreements = {a.id: a for a in uow.catalog.agreements(connection_id)}
        self.products = {p.id: p for p in uow.catalog.products(connection_id)}
        self._written: dict[str, dict[str, int]] = {}

    def pricer(self, tenant_id: str, inventory: TenantInventory | None) -> Pricer:
        def price(mapping: Mapping) -> Monthly | None:
            agreement = self.agreements.get(mapping.agreement_id)
            product = self.products.get(mapping.profile.product.id)
            found = monthly_amount(mapping, inventory, agreement, product)
            if found is None and agreement is not None:
                found = monthly_amount(mapping, inventory, agreement, product,
                                       written=self.written(tenant_id).get(main_marker(mapping.row)))
            return found

        return price

    def written(self, tenant_id: str) -> dict[str, int]:
        """What seatsync last wrote to each main line of the tenant, by the row's marker."""
        if tenant_id not in self._written:
            self._written[tenant_id] = {row_key(marker): quantity
                                        for marker, quantity in self.journal.last_written(tenant_id).items()}
        return self._written[tenant_id]


def links_by_tenant(tenants: Tenants) -> dict[str, tuple[CompanyLink, ...]]:
    """Every tenant's links (the companies it bills to, and for which users), by tenant id, in one query."""
    found: dict[str, list[CompanyLink]] = defaultdict(list)
    with connected():
        for link in tenants.all_links():
            found[link.tenant_id].append(link)
    return {tenant_id: tuple(links) for tenant_id, links in found.items()}


def _check(mapping: Mapping, company: CompanyRecord, agreement: Agreement | None) -> None:
    if agreement is None:
        raise MappingRefused(f"(agreement {mapping.agreement_id} is not among {company.name}'s agreements; "
                             "refresh the PSA catalog in Settings)")
    if agreement.company_id != company.psa_id:
        raise MappingRefused(f"(agreement {agreement.name or agreement.id} belongs to another company)")
    if not mapping.profile.allows(agreement):
        allowed = ", ".join(sorted(mapping.profile.allowed_agreement_types))
        raise MappingRefused(f"(billing profile {mapping.profile.name} may be used on agreements of type "
                             f"{allowed}, not {agreement.type_name!r})")


def last_sync(company_id: int, tenant_ids: list[str], runs: list[SyncRunRecord],
              outcomes: AnyMapping[str, TenantOutcome], failed: AnyMapping[str, int]) -> LastSync:
    """The company's last sync: its tenants' latest outcomes; the runs and the journal only when none of its
    tenants has one (it was last synced before seatsync kept each tenant's outcome)."""
    own = [outcomes[t] for t in tenant_ids if t in outcomes]
    if own:
        return _from_outcomes(own)
    scopes = {"", "all", f"company:{company_id}"}
    run = next((r for r in runs if r.finished_at is not None and r.scope in scopes), None)
    failures = sum(failed.get(t, 0) for t in tenant_ids)
    if failures:
        return LastSync(at=run.finished_at if run else None, status="failed",
                        detail=f"{failures} change(s) could not be written; see History")
    if run is None:
        return _NEVER
    if run.status is RunStatus.SUCCEEDED:
        return LastSync(at=run.finished_at, status="ok", detail=f"{run.operations_applied} change(s) written")
    if run.scope and run.status is RunStatus.FAILED:
        return LastSync(at=run.finished_at, status="failed", detail=run.error or "the sync failed")
    return LastSync(at=run.finished_at, status="partial",
                    detail=run.error or "the run of every company had failures; see History")


def _from_outcomes(own: list[TenantOutcome]) -> LastSync:
    """Ok when every tenant synced well; failed, with the failing tenants' errors, when one did not; partial
    when the others synced well but one was never synced; never when none was. The time is the newest."""
    synced = [o for o in own if not o.not_synced]
    never = "; ".join(dict.fromkeys(o.error or "not synced" for o in own if o.not_synced))
    if not synced:
        return LastSync(detail=never)
    at, writes = max(o.at for o in synced), sum(o.writes for o in synced)
    bad = [o for o in synced if not o.ok]
    if bad:
        return LastSync(at=at, status="failed", writes=writes,
                        detail="; ".join(dict.fromkeys(o.error or "the sync failed" for o in bad)))
    if never:
        return LastSync(at=at, status="partial", writes=writes, detail=never)
    return LastSync(at=at, status="ok", detail=f"{writes} change(s) written", writes=writes)


def _stored_outcome(record: SyncOutcomeRecord | OutcomeFact) -> TenantOutcome:
    """A tenant's outcome as the runs stored it, as this service's per-tenant outcome."""
    return TenantOutcome(tenant_id=record.tenant_id, at=record.finished_at, ok=record.status is SyncOutcome.OK,
                         writes=record.writes, error=record.error,
                         not_synced=record.status is SyncOutcome.NOT_SYNCED)


def outcome_of(result: TenantResult, at: datetime) -> TenantOutcome:
    """A sync engine's TenantResult as this service's per-tenant outcome."""
    ok = result.status is not Status.FAILED and not result.failed
    return TenantOutcome(tenant_id=result.tenant_id, at=at, ok=ok, writes=len(result.applied), error=result.error)


def _partner_names(partners: dict[str, int | None],
                   connections: Sequence[MicrosoftConnectionRecord]) -> dict[str, str]:
    """Each tenant's partner connection's name, by tenant id (``read_through``)."""
    names = {c.id: c.name for c in connections}
    return {tenant_id: names[read] for tenant_id, partner_id in partners.items()
            if (read := read_through(connections, partner_id)) in names}
