"""Review (DESIGN §1.8): the changes waiting for approval, and the history of every change written.

A held operation is shown with its basis (the counts, dates and formula
the billing core recorded) and the reason it waits. Approving one lets the
next sync that plans the same key write it; rejecting keeps it from ever
being written. Bulk decisions go one by one: one that can no longer be
decided (written or superseded meanwhile) is reported, the others stand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from app.billing.adjust import AdjustmentRefused, adjust
from app.billing.operations import Basis, Operation, OpKind
from app.billing.periods import agreement_period
from app.billing.types import Agreement
from app.errors import SeatsyncError
from app.models.records import AuditRecord, CompanyLink, HeldRecord, HeldStatus, TenantRecord
from app.models.repositories import Approvals, ConfigChanges
from app.services.microsoft.skus import SkuCatalogue
from app.services.review.config_history import ConfigRow, config_row
from app.services.uow import UnitOfWork, connected

ACTION_TEXT = {
    OpKind.CREATE_LINE: "Create line",
    OpKind.SET_QUANTITY: "Change quantity",
    OpKind.ADD_PRORATE: "Add prorate line",
    OpKind.ADD_CREDIT: "Add credit line",
    OpKind.CANCEL_LINE: "Cancel line",
    OpKind.UPDATE_DESCRIPTION: "Update description",
    OpKind.ADOPT_LINE: "Adopt another tool's line",
}


@dataclass(frozen=True, kw_only=True)
class HeldRow:
    op_key: str
    status: HeldStatus
    tenant_id: str
    tenant: str
    company: str
    license: str
    action: str
    before: int
    after: int
    amount: Decimal
    effective: date
    reason: str
    basis: str  # counts, dates and formula, one line each
    held_at: datetime | None
    operation: Operation | None  # None when the stored operation cannot be read back
    currency: str = ""  # the agreement's, when the PSA catalog knows it
    #: Approved adjusted: after, amount and effective are the approved ones (app/billing/adjust.py).
    adjusted: bool = False

    @property
    def decrease(self) -> bool:
        return self.operation is not None and self.operation.is_decrease


class AdjustmentNotAllowed(SeatsyncError):
    """The held change cannot be approved with that quantity or day"""


@dataclass(frozen=True, kw_only=True)
class Decisions:
    decided: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]  # (op key, why)


@dataclass(frozen=True, kw_only=True)
class HistoryFilter:
    company: str | None = None  # keys of HistoryChoices: ``ref(connection id, PSA id)``
    agreement: str | None = None
    product: str | None = None
    since: date | None = None  # inclusive
    until: date | None = None  # inclusive


@dataclass(frozen=True, kw_only=True)
class HistoryRow:
    entry: AuditRecord
    agreement: str  # the agreement's and product's names from the cache, else their ids
    product: str
    currency: str = ""  # the agreement's, when the PSA catalog knows it


def ref(connection_id: int, psa_id: str) -> str:
    """A PSA record's key across connections: PSA ids repeat from one PSA to another."""
    return f"{connection_id}:{psa_id}"


def unref(key: str) -> tuple[int, str]:
    connection, _, psa_id = key.partition(":")
    return int(connection), psa_id


@dataclass(frozen=True, kw_only=True)
class HistoryChoices:
    """What History filters on: (key, name) pairs; a key is ``ref(connection id, PSA id)``."""

    companies: tuple[tuple[str, str], ...]
    agreements: tuple[tuple[str, str], ...]
    products: tuple[tuple[str, str], ...]


def basis_text(basis: Basis) -> str:
    lines = []
    counts = [f"{label} {value}" for label, value in (("purchased", basis.purchased), ("assigned", basis.assigned),
                                                     ("unassigned", basis.unassigned), ("base", basis.base))
              if value is not None]
    if basis.included:
        counts.append(f"included {basis.included}")
    if basis.minimum:
        counts.append(f"minimum {basis.minimum}")
    if counts:
        lines.append("Counts: " + ", ".join(counts))
    if basis.period_start and basis.period_end:
        period = f"Period: {basis.period_start.isoformat()} to {basis.period_end.isoformat()}"
        if basis.days_held is not None and basis.days_in_period:
            period += f" ({basis.days_held} of {basis.days_in_period} days)"
        lines.append(period)
    if basis.formula:
        lines.append(f"Formula: {basis.formula}")
    return "\n".join(lines)


class ReviewService:
    def __init__(self, uow: UnitOfWork, *, catalogue: Callable[[], SkuCatalogue],
                 now: Callable[[], datetime]) -> None:
        self.uow = uow
        self.catalogue = catalogue
        self.approvals = Approvals(now=now)
        self.config_changes = ConfigChanges(now=now)

    # -- approvals ------------------------------------------------------------------

    def held(self, status: HeldStatus | None = HeldStatus.HELD) -> list[HeldRow]:
        """The changes in ``status`` (None: all), each with its tenant's name and companies: as many queries
        whatever the number of tenants."""
        records = self.approvals.held(status)
        holding = sorted({record.tenant_id for record in records})
        tenants = self.uow.tenants.found(holding)
        links: dict[str, list[CompanyLink]] = {}
        for link in self.uow.tenants.links_of_tenants(holding):
            links.setdefault(link.tenant_id, []).append(link)
        companies = {tenant_id: ", ".join(sorted({link.company_name for link in found}))
                     for tenant_id, found in links.items()}
        catalogue = self.catalogue()
        agreement = self._agreements(links)
        rows = [self._row(record, tenants, companies, catalogue) for record in records]
        return [replace(row, currency=found.currency) if row.operation and (
            found := agreement(row.tenant_id, row.operation.agreement_id)) else row for row in rows]

    def _agreements(self, links: dict[str, list[CompanyLink]]) -> Callable[[str, str], Agreement | None]:
        """An agreement by (tenant, agreement id), from the catalog of a PSA the tenant is billed through
        (``links``: each tenant's), each PSA's catalog read once."""
        connection_of: dict[int, int] = {}  # company id -> its connection, read at the first lookup
        catalogs: dict[int, dict[str, Agreement]] = {}

        def agreement(tenant_id: str, agreement_id: str) -> Agreement | None:
            if not connection_of:
                connection_of.update((c.id, c.connection_id) for c in self.uow.companies.all())
            for link in links.get(tenant_id, ()):
                connection = connection_of.get(link.company_id)
                if connection is None:
                    continue
                if connection not in catalogs:
                    catalogs[connection] = {a.id: a for a in self.uow.catalog.agreements(connection)}
                if agreement_id in catalogs[connection]:
                    return catalogs[connection][agreement_id]
            return None

        return agreement

    def approve_adjusted(self, key: str, *, quantity: int | None = None, effective: date | None = None,
                         by: str) -> HeldRow:
        """Approve the held change ``key`` with ``quantity`` and/or from ``effective`` (part of it, or later:
        app/billing/adjust.py); the rest is planned again by the next sync and waits for its own decision."""
        with self.uow:
            record = self.approvals.get(key)
            if record is None:
                raise AdjustmentNotAllowed(f"(no held change {key})")
            op = record.operation()
            links = {record.tenant_id: self.uow.tenants.links_of_tenant(record.tenant_id)}
            agreement = self._agreements(links)(record.tenant_id, op.agreement_id)
            if agreement is None:
                raise AdjustmentNotAllowed(f"(agreement {op.agreement_id} is not in the PSA's catalog: refresh the "
                                           "connection, then adjust)")
            try:
                adjusted = adjust(op, quantity=quantity, effective=effective, by=by, currency=agreement.currency,
                                  periods=lambda day: agreement_period(agreement, day))
            except AdjustmentRefused as error:
                raise AdjustmentNotAllowed(f"({error})") from None
            self.approvals.approve(key, by=by, adjusted=adjusted)
            tenants = {t.tenant_id: t for t in self.uow.tenants.all() if t.tenant_id == record.tenant_id}
            stored = self.approvals.get(key)
            assert stored is not None
            return replace(self._row(stored, tenants, {}, self.catalogue()), currency=agreement.currency)

    def count_waiting(self) -> int:
        return self.approvals.count(HeldStatus.HELD)

    def approve(self, keys: Iterable[str], *, by: str) -> Decisions:
        return self._decide(keys, by, approve=True)

    def reject(self, keys: Iterable[str], *, by: str) -> Decisions:
        return self._decide(keys, by, approve=False)

    def _decide(self, keys: Iterable[str], by: str, *, approve: bool) -> Decisions:
        """Every key decided that can be; each that cannot is named with why (all of them when the team
        database refuses the person's role: a RoleRefused says which role decides)."""
        keys = list(dict.fromkeys(keys))
        try:
            with self.uow:
                refused = self.approvals.decide_many(keys, approve=approve, by=by)
        except SeatsyncError as error:
            refused = dict.fromkeys(keys, error)
        return Decisions(decided=tuple(key for key in keys if key not in refused),
                         failed=tuple((key, str(why)) for key, why in refused.items()))

    @staticmethod
    def _row(record: HeldRecord, tenants: dict[str, TenantRecord], companies: dict[str, str],
             catalogue: SkuCatalogue) -> HeldRow:
        tenant = tenants.get(record.tenant_id)
        try:
            op: Operation | None = record.operation()
            approved = record.adjusted()
        except SeatsyncError:
            op = approved = None
        shown = approved or op
        return HeldRow(
            op_key=record.op_key, status=record.status, tenant_id=record.tenant_id,
            tenant=tenant.name if tenant else record.tenant_id, company=companies.get(record.tenant_id, ""),
            license=catalogue.name(op.row.sku_id) if op else "", action=ACTION_TEXT[op.kind] if op else "unreadable",
            before=op.before if op else 0, after=shown.quantity if shown else 0,
            amount=shown.amount if shown else Decimal("0"), effective=shown.effective if shown else date.min,
            reason=record.reason, basis=basis_text(shown.basis) if shown else "The stored operation cannot be read.",
            held_at=record.created_at, operation=op, adjusted=approved is not None)

    # -- history ----------------------------------------------------------------------

    def history_choices(self) -> HistoryChoices:
        """Companies, agreements and products of every PSA connection; named with their PSA when there are
        several, since each PSA numbers its own records."""
        connections = self.uow.psa_connections.all()
        psa = {c.id: f" · {c.name}" if len(connections) > 1 else "" for c in connections}
        companies: dict[str, str] = {}
        agreements: dict[str, str] = {}
        products: dict[str, str] = {}
        for connection in connections:
            names = {c.psa_id: c.name for c in self.uow.companies.all(connection.id)}
            companies.update((ref(connection.id, psa_id), name + psa[connection.id]) for psa_id, name in names.items())
            for agreement in self.uow.catalog.agreements(connection.id):
                company = names.get(agreement.company_id, agreement.company_id)
                agreements[ref(connection.id, agreement.id)] = f"{agreement.name} ({company}){psa[connection.id]}"
            for product in self.uow.catalog.products(connection.id):
                products[ref(connection.id, product.id)] = (
                    (product.description or product.identifier or product.id) + psa[connection.id])
        def ordered(values: dict[str, str]) -> tuple[tuple[str, str], ...]:
            return tuple(sorted(values.items(), key=lambda item: item[1].lower()))

        return HistoryChoices(companies=ordered(companies), agreements=ordered(agreements),
                              products=ordered(products))

    def config_history(self, where: HistoryFilter, kind: str | None = None) -> list[ConfigRow]:
        """Configuration changes (of one kind: mapping, profile, exclusion, setting) in the filter's dates,
        newest first: who (technician and database user), when, what, before → after."""
        since = datetime.combine(where.since, time.min, tzinfo=UTC) if where.since else None
        until = datetime.combine(where.until + timedelta(days=1), time.min, tzinfo=UTC) \
            if where.until else None
        with connected():
            changes = self.config_changes.query(since=since, until=until, kind=kind)
        catalogue = self.catalogue()
        return [config_row(change, catalogue) for change in changes]

    def history(self, where: HistoryFilter) -> list[HistoryRow]:
        """Audit entries matching every filter given, newest first (dates are whole days, UTC)."""
        since = datetime.combine(where.since, time.min, tzinfo=UTC) if where.since else None
        until = datetime.combine(where.until + timedelta(days=1), time.min, tzinfo=UTC) \
            if where.until else None
        chosen = {name: unref(key) for name, key in (("company", where.company), ("agreement", where.agreement),
                                                      ("product", where.product)) if key}
        connections = {connection for connection, _ in chosen.values()}
        if len(connections) > 1:
            return []  # records of two PSAs: no entry names both
        psa_ids = {name: psa_id for name, (_, psa_id) in chosen.items()}
        entries = self.uow.audit.query(connection=next(iter(connections), None), since=since, until=until,
                                           company=psa_ids.get("company"), agreement=psa_ids.get("agreement"),
                                           product=psa_ids.get("product"))
        # Names per connection: two PSAs may number their agreements and products alike. An entry's
        # connection is the one it was written to; for an entry from before that was recorded, that of
        # the company it names among its tenant's companies.
        agreements: dict[int, dict[str, str]] = {}
        currencies: dict[int, dict[str, str]] = {}
        products: dict[int, dict[str, str]] = {}
        for connection in self.uow.psa_connections.all():
            held = self.uow.catalog.agreements(connection.id)
            agreements[connection.id] = {a.id: a.name for a in held}
            currencies[connection.id] = {a.id: a.currency for a in held}
            products[connection.id] = {p.id: p.identifier or p.description
                                       for p in self.uow.catalog.products(connection.id)}
        connection_of = {c.id: c.connection_id for c in self.uow.companies.all()}
        billed_to: dict[tuple[str, str], set[int]] = {}
        for link in self.uow.tenants.all_links():
            billed_to.setdefault((link.tenant_id, link.company_psa_id), set()).add(connection_of[link.company_id])

        def named(entry: AuditRecord, names: dict[int, dict[str, str]], psa_id: str, unknown: str | None = None) -> str:
            """What ``names`` says of ``psa_id`` on the entry's connection; ``unknown`` (else the id) when nothing."""
            unknown = psa_id if unknown is None else unknown
            if entry.connection_id in names:
                return names[entry.connection_id].get(psa_id, unknown)
            connections = billed_to.get((entry.tenant_id, entry.company_id), set())
            if len(connections) == 1:
                return names[next(iter(connections))].get(psa_id, unknown)
            return next((n[psa_id] for n in names.values() if psa_id in n), unknown)

        return [HistoryRow(entry=e, agreement=named(e, agreements, e.agreement_id),
                           product=named(e, products, e.product_id),
                           currency=named(e, currencies, e.agreement_id, unknown=""))
                for e in reversed(entries)]
