"""The Companies list's figures of each company, kept on its row by every write that changes them.

The list shows, for thousands of companies at once, each one's licenses,
unmapped licenses, what it bills a month and the lines whose amount cannot
be told. Working those out needs every tenant's latest licenses and every
mapping priced by the billing core: seconds for 5,000 companies. So each
company's row keeps them (the ``list_*`` columns of ``psa_company``) and the
list reads them in one query. Every write that changes what they are
worked out from works out again, in its own transaction, the figures of the
companies it touches:

- a tenant's mapping, exclusion, link, unlink or removal, or a snapshot
  that becomes its latest and counts otherwise than the one before (SKUs,
  seats, subscriptions): the companies the tenant is linked to
  (``refresh_tenants``; a link or unlink, that company);
- a done write of a main line's quantity (the journal), when one of the
  tenant's mappings counts users: its monthly amount is the quantity last
  written (``written``);
- a cached agreement, a product's price or a billing profile changed: the
  companies of the tenants whose mappings name it (``agreements_changed``,
  ``products_changed``, ``profile_changed``);
- an exclusion of a license in every tenant: every company
  (``refresh_all``).

Held changes, failed writes, tenants' names and the last sync are read by
the list as they are: each is one small query.

``list_monthly`` NULL means "not worked out": a company without a tenant, or
one of a database from before version 12. The list works those out from the
data and keeps them (``fill``) where this database user may write; where
not (a viewer on a team database) it shows them all the same.

On a team's PostgreSQL database a write locks the rows of the companies it
works out again before reading what it works them out from, so of two
writes touching one company (a sync's snapshot and a person's mapping) the
second works out its figures from both; a fill never overwrites figures a
write kept meanwhile.

``work_out`` is the computation itself, from the data: what the figures are
(the tests compare what is kept with it).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import psycopg2
from peewee import JOIN, DatabaseError, SqliteDatabase, fn

from app.billing.markers import main_marker, row_key
from app.billing.money import round_money
from app.billing.proration import line_amount
from app.billing.quantities import billed_quantity, row_counts
from app.billing.types import (
    Agreement,
    BillingOption,
    Cycle,
    License,
    Mapping,
    Product,
    QuantityBasis,
    TenantInventory,
)
from app.models.billing import BillingProfile, Exclusion, PsaAgreement, PsaProduct
from app.models.billing import Mapping as MappingRow
from app.models.connections import Company, Tenant, TenantCompany
from app.models.database import db
from app.models.inventory import InventorySnapshot, SnapshotLicense, SnapshotSubscription
from app.models.repositories._base import IN_CHUNK, in_chunks, raw_rows

log = logging.getLogger(__name__)


# -- what a row bills a month (the billing core's rules, on the cached catalog) --------------------------


@dataclass(frozen=True, kw_only=True)
class Monthly:
    """What a row's main line bills a month, in its agreement's currency."""

    amount: Decimal
    currency: str
    #: How one line's amount is reached (None on a sum of lines): quantity × unit price, per year when annual.
    quantity: int | None = None
    unit_price: Decimal | None = None
    annual: bool = False


def monthly_amount(mapping: Mapping, inventory: TenantInventory | None, agreement: Agreement | None,
                   product: Product | None = None, written: int | None = None) -> Monthly | None:
    """What the mapping's main line bills a month, as the planner bills it.

    The quantity follows the billing core's rules (basis, included, minimum; 0 when the license is gone),
    the unit price is the profile's price policy on the PSA's current price (``product``; else the price the
    profile was saved with), and the line's amount is rounded once, as the sync writes it. A line of an
    annual agreement bills a year: its month is one twelfth, rounded once. A quantity that counts users
    (a user filter, a UPN domain) cannot be told from a snapshot, which keeps no users: it is the quantity
    seatsync last wrote to the line (``written``), or unknown (None) when it never wrote one. None too when
    the agreement is not in the catalog.
    """
    if agreement is None:
        return None
    currency = agreement.currency
    inventory = inventory or TenantInventory(tenant_id=mapping.tenant_id)
    custom = mapping.basis in (QuantityBasis.UPN_DOMAIN, QuantityBasis.SUM_OF_LICENSES)
    try:
        counts = row_counts(mapping, inventory)
    except ValueError:  # it counts users
        if written is None:
            return None
        quantity = written
    else:
        present = custom or inventory.license(mapping.sku_id) is not None
        quantity = (billed_quantity(counts.base, mapping.included_quantity, mapping.minimum_quantity)
                    if present else 0)
    profile = mapping.profile
    annual = agreement.cycle is Cycle.ANNUAL
    if profile.billing_option is not BillingOption.BILLABLE:
        zero = round_money(Decimal(0), currency)
        return Monthly(amount=zero, currency=currency, quantity=quantity, unit_price=zero, annual=annual)
    unit = profile.price.unit_price((product or profile.product).price, currency)
    amount = line_amount(quantity, unit, currency)
    if annual:
        amount = round_money(amount / 12, currency)
    return Monthly(amount=amount, currency=currency, quantity=quantity, unit_price=unit, annual=annual)


def total(amounts: Iterable[Monthly | None]) -> tuple[Monthly, ...]:
    """The sum of ``amounts`` per currency (largest first); unknown ones (None) left out."""
    sums: dict[str, Decimal] = {}
    for monthly in amounts:
        if monthly is not None:
            sums[monthly.currency] = sums.get(monthly.currency, Decimal(0)) + monthly.amount
    return tuple(sorted((Monthly(amount=a, currency=c) for c, a in sums.items()),
                        key=lambda m: (-m.amount, m.currency)))


def filter_key(field: str, value: str) -> str:
    """The RowKey filter key of a stored (field, value) pair ('' without a filter)."""
    return f"{field}={value.strip().lower()}" if field else ""


def is_mapped(entries: Iterable[tuple[str, str]], active_subscriptions: set[str], link_key: str) -> bool:
    """Whether a license is mapped for a company link, given its mappings as (subscription id, filter key).

    A split license counts as mapped when every active subscription is.
    """
    mine = {sub for sub, key in entries if key == link_key or not link_key}
    if not mine:
        return False
    return "" in mine or active_subscriptions <= mine


# -- the figures -------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Figures:
    """What the Companies list shows of a company beside its name, from its tenants' latest snapshots."""

    #: Licenses with seats, of every tenant linked to it (a tenant linked twice, by two filters, counts twice).
    licenses: int = 0
    #: Of those, the ones no mapping bills for the link and no exclusion covers.
    unmapped: int = 0
    #: What its mapped licenses bill a month, per currency, largest first (empty: nothing mapped).
    monthly: tuple[Monthly, ...] = ()
    #: Its mapped lines whose monthly amount cannot be told (they count users seatsync never billed).
    unpriced: int = 0


def encode_monthly(monthly: Iterable[Monthly]) -> str:
    """Sums per currency as kept in ``list_monthly``: the Decimal's own digits, as text."""
    return json.dumps([[m.currency, str(m.amount)] for m in monthly])


def decode_monthly(text: str) -> tuple[Monthly, ...]:
    return tuple(Monthly(amount=Decimal(amount), currency=currency) for currency, amount in json.loads(text))


def work_out(company_ids: Iterable[int] | None = None) -> dict[int, Figures]:
    """Each company's figures worked out afresh from the data: of ``company_ids``, or of every company with
    a tenant when None. A company without a tenant has none (it is not in the list)."""
    if company_ids is None:
        return _work_out(None)
    found: dict[int, Figures] = {}
    for chunk in in_chunks(company_ids):
        found.update(_work_out(chunk))
    return found


def _work_out(company_ids: list[int] | None) -> dict[int, Figures]:
    query = (TenantCompany.select(TenantCompany.company, Company.connection, Company.psa_id, Tenant.id,
                                  Tenant.tenant_id, TenantCompany.filter_field, TenantCompany.filter_value)
             .join(Tenant).switch(TenantCompany).join(Company))
    if company_ids is not None:
        query = query.where(TenantCompany.company.in_(company_ids))
    links: dict[int, list[tuple[int, str, str, str, str]]] = defaultdict(list)
    tenant_rows: set[int] = set()
    for company_id, connection_id, psa_id, tenant_pk, tenant_id, field, value in query.tuples():
        links[company_id].append((connection_id, psa_id, tenant_id, field, value))
        tenant_rows.add(tenant_pk)
    if not links:
        return {}
    data = _Inputs(None if company_ids is None else sorted(tenant_rows),
                   {connection for rows in links.values() for connection, *_ in rows})
    found = {}
    for company_id, rows in links.items():
        connection_id, psa_id = rows[0][0], rows[0][1]
        count = unmapped = 0
        for _, _, tenant_id, field, value in rows:
            key = filter_key(field, value)
            for sku in data.seated.get(tenant_id, ()):
                count += 1
                if not data.excluded(tenant_id, sku) and not is_mapped(
                        data.mapped.get((tenant_id, sku), ()), data.active.get((tenant_id, sku), set()), key):
                    unmapped += 1
        amounts: list[Monthly | None] = []
        for tenant_id in sorted({tenant_id for _, _, tenant_id, _, _ in rows}):
            for mapping in data.mappings.get(tenant_id, ()):
                agreement = data.agreements.get((connection_id, mapping.agreement_id))
                if agreement is None or agreement.company_id != psa_id \
                        or data.excluded(tenant_id, mapping.sku_id.lower()):
                    continue
                amounts.append(data.price(connection_id, agreement, mapping))
        found[company_id] = Figures(licenses=count, unmapped=unmapped, monthly=total(amounts),
                                    unpriced=sum(1 for amount in amounts if amount is None))
    return found


class _Inputs:
    """What the figures of some companies are worked out from, read in a few queries: their tenants' latest
    licenses and active subscriptions, mappings, exclusions, and the agreements and products the mappings
    name on the companies' connections. ``tenant_rows`` None: every tenant's."""

    def __init__(self, tenant_rows: list[int] | None, connections: set[int]) -> None:
        from app.models.repositories.catalog import agreement_to_core, product_to_core
        from app.models.repositories.mappings import _mappings

        #: Every license of each tenant's latest snapshot: (SKU id, purchased, assigned, ignored).
        self.facts: dict[str, list[tuple[str, int, int, int]]] = defaultdict(list)
        #: The lower-case SKU of each of those with seats, one per license.
        self.seated: dict[str, list[str]] = defaultdict(list)
        #: The active subscriptions of each (tenant, lower-case SKU).
        self.active: dict[tuple[str, str], set[str]] = defaultdict(set)
        licenses = (SnapshotLicense.select(Tenant.tenant_id, SnapshotLicense.id, SnapshotLicense.sku_id,
                                           SnapshotLicense.enabled + SnapshotLicense.warning, SnapshotLicense.consumed,
                                           SnapshotLicense.ignored, SnapshotSubscription.subscription_id)
                    .join(InventorySnapshot).join(Tenant)
                    .switch(SnapshotLicense)
                    .join(SnapshotSubscription, JOIN.LEFT_OUTER,
                          on=(SnapshotSubscription.license == SnapshotLicense.id)
                          & (SnapshotSubscription.status == "active"))
                    .where(SnapshotLicense.snapshot.in_(_latest_snapshot_ids(tenant_rows)))
                    .order_by(SnapshotLicense.id))
        last = None
        for tenant_id, license_id, sku_id, purchased, assigned, ignored, subscription_id in raw_rows(licenses):
            if license_id != last:  # a license comes once per active subscription
                last = license_id
                self.facts[tenant_id].append((sku_id, purchased, assigned, ignored))
                if purchased or assigned:
                    self.seated[tenant_id].append(sku_id.lower())
            if subscription_id is not None:
                self.active[(tenant_id, sku_id.lower())].add(subscription_id)
        self.mappings: dict[str, list[Mapping]] = defaultdict(list)
        self.mapped: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for mapping in _mappings(None if tenant_rows is None else MappingRow.tenant.in_(tenant_rows)):
            self.mappings[mapping.tenant_id].append(mapping)
            self.mapped[(mapping.tenant_id, mapping.sku_id.lower())].append(
                (mapping.subscription_id, mapping.user_filter.key if mapping.user_filter else ""))
        exclusions = (Exclusion.select(Exclusion.sku_id, Tenant.tenant_id)
                      .join(Tenant, join_type=JOIN.LEFT_OUTER))
        if tenant_rows is not None:
            exclusions = exclusions.where(Exclusion.tenant.is_null() | Exclusion.tenant.in_(tenant_rows))
        self.everywhere: set[str] = set()
        self.per_tenant: set[tuple[str, str]] = set()
        for sku_id, tenant_id in exclusions.tuples():
            if tenant_id is None:
                self.everywhere.add(sku_id.lower())
            else:
                self.per_tenant.add((tenant_id, sku_id.lower()))
        self.agreements: dict[tuple[int, str], Agreement] = {}
        self.products: dict[tuple[int, str], Product] = {}
        if self.mappings:  # the agreements and products they name, on the companies' connections
            named = {m.agreement_id for ms in self.mappings.values() for m in ms}
            agreements = PsaAgreement.select().where(PsaAgreement.connection.in_(sorted(connections)))
            if len(named) <= IN_CHUNK:
                agreements = agreements.where(PsaAgreement.psa_id.in_(sorted(named)))
            self.agreements = {(row.connection_id, row.psa_id): agreement_to_core(row) for row in agreements}
            products = {m.profile.product.id for ms in self.mappings.values() for m in ms}
            catalog = PsaProduct.select().where(PsaProduct.connection.in_(sorted(connections)))
            if len(products) <= IN_CHUNK:
                catalog = catalog.where(PsaProduct.psa_id.in_(sorted(products)))
            self.products = {(row.connection_id, row.psa_id): product_to_core(row) for row in catalog}
        self._inventories: dict[str, TenantInventory | None] = {}
        self._written: dict[str, dict[str, int]] = {}

    def excluded(self, tenant_id: str, sku: str) -> bool:
        return sku in self.everywhere or (tenant_id, sku) in self.per_tenant

    def price(self, connection_id: int, agreement: Agreement, mapping: Mapping) -> Monthly | None:
        """What the mapping's main line bills a month on the connection's catalog (``monthly_amount``); the
        journal is read for a tenant only when a quantity counts users."""
        product = self.products.get((connection_id, mapping.profile.product.id))
        inventory = self.inventory(mapping.tenant_id)
        found = monthly_amount(mapping, inventory, agreement, product)
        if found is None:
            found = monthly_amount(mapping, inventory, agreement, product,
                                   written=self.written(mapping.tenant_id).get(main_marker(mapping.row)))
        return found

    def inventory(self, tenant_id: str) -> TenantInventory | None:
        """The tenant's latest counts, or its whole latest snapshot when a row is a subscription."""
        if tenant_id not in self._inventories:
            if any(m.subscription_id for m in self.mappings[tenant_id]):
                from app.models.repositories.inventory import Inventory

                self._inventories[tenant_id] = Inventory().latest(tenant_id)
            else:
                self._inventories[tenant_id] = TenantInventory(tenant_id=tenant_id, licenses=tuple(
                    License(sku_id=sku_id, enabled=purchased, consumed=assigned, ignored=ignored)
                    for sku_id, purchased, assigned, ignored in self.facts.get(tenant_id, ())))
        return self._inventories[tenant_id]

    def written(self, tenant_id: str) -> dict[str, int]:
        """What seatsync last wrote to each main line of the tenant, by the row's marker."""
        if tenant_id not in self._written:
            from app.models.repositories.journal import Journal

            self._written[tenant_id] = {row_key(marker): quantity
                                        for marker, quantity in Journal().last_written(tenant_id).items()}
        return self._written[tenant_id]


def _latest_snapshot_ids(tenant_rows: list[int] | None):
    """A subquery: the id of each tenant's most recent snapshot (of ``tenant_rows`` only, when given)."""
    latest = InventorySnapshot.select(InventorySnapshot.tenant, fn.MAX(InventorySnapshot.fetched_at).alias("at"))
    if tenant_rows is not None:
        latest = latest.where(InventorySnapshot.tenant.in_(tenant_rows))
    latest = latest.group_by(InventorySnapshot.tenant).alias("latest")
    return (
        InventorySnapshot.select(fn.MAX(InventorySnapshot.id))
        .join(latest, on=(InventorySnapshot.tenant == latest.c.tenant_id)
              & (InventorySnapshot.fetched_at == latest.c.at))
        .group_by(InventorySnapshot.tenant)
    )


# -- keeping them ------------------------------------------------------------------------------------------


def refresh(company_ids: Iterable[int]) -> None:
    """Work out again and keep the figures of these companies (a company without a tenant keeps none)."""
    for chunk in in_chunks(company_ids):
        with db.atomic():
            _lock(chunk)
            _keep(chunk, _work_out(chunk))


def refresh_tenants(tenant_ids: Iterable[str]) -> None:
    """Work out again the figures of every company these tenants are linked to."""
    companies: set[int] = set()
    for chunk in in_chunks(tenant_ids):
        query = (TenantCompany.select(TenantCompany.company).join(Tenant)
                 .where(Tenant.tenant_id.in_(chunk)).distinct())
        companies.update(company_id for (company_id,) in query.tuples())
    refresh(companies)


def refresh_all() -> None:
    """Work out again the figures of every company."""
    with db.atomic():
        ids = [company_id for (company_id,) in Company.select(Company.id).tuples()]
        _lock(ids)
        _keep(ids, _work_out(None))


def companies_of(tenant_id: str) -> list[int]:
    """The companies the tenant is linked to (read before a change that unlinks them)."""
    query = TenantCompany.select(TenantCompany.company).join(Tenant).where(Tenant.tenant_id == tenant_id)
    return sorted({company_id for (company_id,) in query.tuples()})


def agreements_changed(psa_ids: Iterable[str]) -> None:
    """Cached agreements (of any connection) changed, appeared or went: the companies of the tenants whose
    mappings name them."""
    _refresh_tenants_of(lambda chunk: MappingRow.agreement_psa_id.in_(chunk), psa_ids)


def products_changed(psa_ids: Iterable[str]) -> None:
    """Cached products' prices changed, or products appeared: the companies of the tenants whose mappings'
    profiles bill a product of that PSA id (a company's catalog is looked up by it)."""
    def named(chunk: list[str]):
        return MappingRow.profile.in_(BillingProfile.select(BillingProfile.id).join(PsaProduct)
                                      .where(PsaProduct.psa_id.in_(chunk)))

    _refresh_tenants_of(named, psa_ids)


def profile_changed(profile_id: int) -> None:
    """A billing profile changed: the companies of the tenants whose mappings use it."""
    _refresh_tenants_of(lambda chunk: MappingRow.profile.in_(chunk), [profile_id])


def written(tenant_id: str) -> None:
    """A main line's quantity was written for the tenant: its companies, when one of its mappings counts
    users (its monthly amount is that quantity)."""
    counting = (MappingRow.select(MappingRow.id).join(Tenant)
                .where((Tenant.tenant_id == tenant_id)
                       & ((MappingRow.filter_field != "") | (MappingRow.basis == QuantityBasis.UPN_DOMAIN.value))))
    if counting.exists():
        refresh_tenants([tenant_id])


def fill(figures: dict[int, Figures]) -> bool:
    """Keep figures worked out for companies that had none, unless a write kept some meanwhile; False when
    this database user may not (a viewer of a team database: the list shows them all the same)."""
    try:
        with db.atomic():
            for chunk in in_chunks(figures):
                _keep(chunk, figures, only_missing=True)
    except (DatabaseError, psycopg2.Error) as error:
        log.info("the Companies list's figures were not kept: %s", error)
        return False
    return True


def _refresh_tenants_of(condition: Callable[[list], object], keys: Iterable) -> None:
    tenants: set[str] = set()
    for chunk in in_chunks(keys):
        query = MappingRow.select(Tenant.tenant_id).join(Tenant).where(condition(chunk)).distinct()
        tenants.update(tenant_id for (tenant_id,) in query.tuples())
    refresh_tenants(tenants)


def _lock(company_ids: list[int]) -> None:
    """(PostgreSQL) Lock the companies' rows until the transaction ends, in one order: another write working
    out one of them waits, then reads what this one wrote. SQLite has one writer at a time already."""
    if isinstance(db.obj, SqliteDatabase):
        return
    for chunk in in_chunks(company_ids):
        list(Company.select(Company.id).where(Company.id.in_(chunk)).order_by(Company.id).for_update().tuples())


def _keep(company_ids: list[int], figures: dict[int, Figures], *, only_missing: bool = False) -> None:
    """Write the figures of ``company_ids`` (none for a company ``figures`` lacks), one statement for the
    companies whose figures are the same."""
    same: dict[tuple[int, int, int, str | None], list[int]] = defaultdict(list)
    for company_id in company_ids:
        found = figures.get(company_id)
        values = (0, 0, 0, None) if found is None else (found.licenses, found.unmapped, found.unpriced,
                                                         encode_monthly(found.monthly))
        same[values].append(company_id)
    for (licenses, unmapped, unpriced, monthly), ids in same.items():
        for chunk in in_chunks(ids):
            query = Company.update({Company.list_licenses: licenses, Company.list_unmapped: unmapped,
                                    Company.list_unpriced: unpriced, Company.list_monthly: monthly}
                                   ).where(Company.id.in_(chunk))
            if only_missing:
                query = query.where(Company.list_monthly.is_null())
            query.execute()


