"""The reconciliation report: purchased vs assigned vs billed, per license, company and in total.

For every license of every added tenant (latest snapshot; excluded licenses
and empty ones left out):

- purchased and assigned come from Microsoft (the snapshot), and so do the
  seats ignored accounts hold (never billed);
- should bill is what the license's mappings say, by the billing core's own
  rules (``row_counts`` + ``billed_quantity``: basis, included, minimum,
  ignored accounts); an unmapped license should bill its assigned seats less
  the ignored ones;
- billed is the quantity of seatsync's main line of each mapped row: what
  the journal says seatsync last wrote, or, when asked, what the PSA holds
  now (``read_psa=True``, on a worker thread);
- unbilled = should bill − billed when positive, and its value (the
  leakage) = unbilled × the mapped profile's unit price
  (``PricePolicy.unit_price`` on the PSA's current price). Agreements
  billed yearly give a monthly value of one twelfth, rounded half-up once.
  Unmapped licenses have no price: their seats count, their value is blank;
  unmapped free or trial SKUs count no unbilled seats (they should be excluded);
- the margin a month = billed × (unit price − the product's cost in the
  PSA), a twelfth of it on yearly agreements; blank where the row is
  unmapped or a product has no cost kept (0), since its whole price would
  read as margin.

Reading the PSA also lists the lines nothing maps to: seatsync lines whose
license is no longer mapped, and lines seatsync does not own that bill a
product some billing profile uses (duplicates, manual additions).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.billing.excluded import Exclusions
from app.billing.markers import is_main_marker, main_marker, row_key
from app.billing.money import round_money
from app.billing.quantities import billed_quantity, row_counts
from app.billing.types import Cycle, Line, LineKind, Mapping, TenantInventory
from app.errors import SeatsyncError
from app.paths import private_opener
from app.services.collector import collector_paused
from app.services.customers.exclusions import is_free
from app.services.kept import Kept
from app.services.microsoft.skus import SkuCatalogue
from app.services.providers import PsaProvider
from app.services.psa.port import PsaNotFound, PsaPort, lines_at_once
from app.services.uow import UnitOfWork


class ExportFailed(SeatsyncError):
    """The report could not be written: choose another folder or file name."""


STATUS_OK = "billed"
STATUS_UNBILLED = "unbilled seats"
STATUS_OVER = "billed above usage"
STATUS_UNMAPPED = "not mapped"
STATUS_FREE = "free or trial: exclude it"


@dataclass(frozen=True, kw_only=True)
class ReconRow:
    company: str
    tenant_id: str
    tenant: str
    sku_id: str
    license: str
    purchased: int
    assigned: int
    should_bill: int
    billed: int
    unbilled: int
    unit_price: Decimal | None  # None: unmapped
    leakage: Decimal | None  # monthly value of the unbilled seats; None: unmapped (no price)
    currency: str = "USD"
    mapped: bool = True
    free: bool = False  # an unmapped free or trial SKU
    ignored: int = 0  # seats ignored accounts hold: never billed (docs/billing.md, "Ignored accounts")
    #: What the billed seats earn a month over their products' cost; None: unmapped, or a cost not kept.
    margin: Decimal | None = None

    @property
    def status(self) -> str:
        if not self.mapped:
            return STATUS_FREE if self.free else STATUS_UNMAPPED
        if self.unbilled:
            return STATUS_UNBILLED
        return STATUS_OVER if self.billed > self.should_bill else STATUS_OK


@dataclass(frozen=True, kw_only=True)
class Totals:
    company: str
    purchased: int = 0
    assigned: int = 0
    billed: int = 0
    unbilled: int = 0
    leakage: Decimal = Decimal("0.00")
    #: The margin of the rows whose margin is known (``ReconRow.margin``).
    margin: Decimal = Decimal("0.00")
    #: Whether any row's margin is known: a product of theirs has its cost kept in the PSA.
    margin_known: bool = False
    #: The one currency the mapped rows bill in; None when they bill in several, or none is mapped.
    currency: str | None = None


def totals(company: str, rows: Iterable[ReconRow]) -> Totals:
    """The sums of ``rows``, an unmapped free SKU's left out (its 10,000 "seats" say nothing about billing)."""
    counted = [row for row in rows if not row.free]
    currencies = {row.currency for row in counted if row.mapped}
    margins = [r.margin for r in counted if r.margin is not None]
    return Totals(company=company, purchased=sum(r.purchased for r in counted),
                  assigned=sum(r.assigned for r in counted), billed=sum(r.billed for r in counted),
                  unbilled=sum(r.unbilled for r in counted),
                  leakage=sum((r.leakage for r in counted if r.leakage is not None), Decimal("0.00")),
                  margin=sum(margins, Decimal("0.00")), margin_known=bool(margins),
                  currency=currencies.pop() if len(currencies) == 1 else None)


@dataclass(frozen=True, kw_only=True)
class OrphanLine:
    company: str
    agreement_id: str
    agreement: str
    product_id: str
    product: str
    quantity: int
    line_id: str
    marker: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Reconciliation:
    rows: tuple[ReconRow, ...]
    orphans: tuple[OrphanLine, ...] = ()
    billed_from: str = "journal"  # "journal" | "psa"
    as_of: datetime | None = None
    #: What could not be read from the PSA (an agreement it no longer has, ...): those rows count as unbilled.
    problems: tuple[str, ...] = ()

    #: Each company's totals (by name, case aside) and every row's, worked out with the report.
    by_company: tuple[Totals, ...] = field(init=False)
    total: Totals = field(init=False)

    def __post_init__(self) -> None:
        rows_of: dict[str, list[ReconRow]] = {}
        for row in self.rows:
            rows_of.setdefault(row.company, []).append(row)
        object.__setattr__(self, "by_company", tuple(totals(name, rows_of[name])
                                                     for name in sorted(rows_of, key=str.lower)))
        object.__setattr__(self, "total", totals("All companies", self.rows))


class ReportService:
    def __init__(self, uow: UnitOfWork, *, psas: PsaProvider, catalogue: Callable[[], SkuCatalogue],
                 now: Callable[[], datetime]) -> None:
        self.uow = uow
        self.psas = psas
        self.catalogue = catalogue
        self.now = now

    def reconcile(self, *, read_psa: bool = False, today: date | None = None) -> Reconciliation:
        """Every tenant's licenses against what is billed, in as many queries for 5,000 tenants as for 5
        (what seatsync keeps of each PSA connection is read once, the journal once for every tenant).
        The collector is paused meanwhile: the report's objects hold no cycles (app/services/collector.py)."""
        with collector_paused():
            return self._reconcile(read_psa=read_psa, today=today or self.now().date())

    def _reconcile(self, *, read_psa: bool, today: date) -> Reconciliation:
        connections = [c.id for c in self.uow.psa_connections.all()]
        connection_of = {p.id: c for c in connections for p in self.uow.profiles.all(c)}
        mappings = self.uow.mappings.all()
        kept = Kept(self.uow)
        exclusions = Exclusions(self.uow.exclusions.all())
        inventories = self.uow.inventory.latest_all()
        orphans: list[OrphanLine] = []
        problems: list[str] = []
        if read_psa:
            billed, orphans, problems = self._read_psa(mappings, connection_of, kept, today)
        else:
            billed = {tenant: _by_row(written) for tenant, written in self.uow.journal.last_written_by_tenant().items()}
        mappings_of: dict[str, list[Mapping]] = {}
        for mapping in mappings:
            mappings_of.setdefault(mapping.tenant_id, []).append(mapping)
        companies_of: dict[str, set[str]] = {}
        for link in self.uow.tenants.all_links():
            companies_of.setdefault(link.tenant_id, set()).add(link.company_name)
        catalogue = self.catalogue()
        rows: list[ReconRow] = []
        for tenant in self.uow.tenants.all():
            inventory = inventories.get(tenant.tenant_id)
            if inventory is None:
                continue
            written = billed.get(tenant.tenant_id, {})
            rows_by_sku: dict[str, list[Mapping]] = {}
            for mapping in mappings_of.get(tenant.tenant_id, ()):
                rows_by_sku.setdefault(mapping.sku_id.lower(), []).append(mapping)
            default_company = ", ".join(sorted(companies_of.get(tenant.tenant_id, ()))) or "(no company)"
            for lic in inventory.licenses:
                if exclusions.covers(tenant.tenant_id, lic.sku_id) or (lic.purchased == 0 and lic.assigned == 0):
                    continue
                rows_of = rows_by_sku.get(lic.sku_id.lower())
                name = catalogue.name(lic.sku_id, lic.part_number)
                common: dict[str, Any] = dict(tenant_id=tenant.tenant_id, tenant=tenant.name, sku_id=lic.sku_id,
                                              license=name, purchased=lic.purchased, assigned=lic.assigned,
                                              ignored=lic.ignored)
                if not rows_of:
                    # A free or trial SKU nobody mapped bills nothing: it is noise, not leakage (exclude it).
                    free = is_free(lic.part_number, name)
                    should = 0 if free else max(lic.assigned - lic.ignored, 0)
                    rows.append(ReconRow(company=default_company, should_bill=should, billed=0,
                                         unbilled=should, unit_price=None, leakage=None,
                                         mapped=False, free=free, **common))
                    continue
                rows.append(_mapped_row(rows_of, inventory, written, connection_of, kept, common))
        rows.sort(key=lambda r: (r.company.lower(), r.tenant.lower(), r.license.lower()))
        return Reconciliation(rows=tuple(rows), orphans=tuple(orphans), billed_from="psa" if read_psa else "journal",
                              as_of=self.now(), problems=tuple(problems))

    def _read_psa(self, mappings: list[Mapping], connection_of: dict[str, int], kept: Kept,
                  today: date) -> tuple[dict[str, dict[str, int]], list[OrphanLine], list[str]]:
        """Quantities of seatsync's open main lines (tenant -> marker -> quantity), orphan lines, problems.

        An agreement the PSA no longer has is a problem, not a failure: the others are still read.
        """
        markers = {main_marker(m.row): m for m in mappings}
        agreements = sorted({(connection_of[m.profile.id], m.agreement_id) for m in mappings
                             if m.profile.id in connection_of})
        profiled = {(c, p.product.id) for c in {c for c, _ in agreements} for p in self.uow.profiles.all(c)}
        billed: dict[str, dict[str, int]] = {}
        orphans: list[OrphanLine] = []
        problems: list[str] = []
        read: dict[tuple[int, str], list[Line]] = {}
        for connection_id in sorted({c for c, _ in agreements}):
            found, missing = _lines_read(self.psas.psa(connection_id), [a for c, a in agreements if c == connection_id])
            read.update(((connection_id, agreement_id), lines) for agreement_id, lines in found.items())
            problems += missing
        for connection_id, agreement_id in agreements:
            agreement = kept.agreement(connection_id, agreement_id)
            company = kept.company(connection_id, agreement.company_id) if agreement else None
            lines = read.get((connection_id, agreement_id))
            if lines is None:
                continue
            for line in lines:
                if line.ended_before(today):
                    continue
                mapping = markers.get(row_key(line.marker)) if is_main_marker(line.marker) else None
                if mapping is not None and line.kind is LineKind.MAIN:
                    per_tenant = billed.setdefault(mapping.tenant_id, {})
                    per_tenant[row_key(line.marker)] = per_tenant.get(row_key(line.marker), 0) + line.quantity
                    continue
                reason = _orphan_reason(line, markers, (connection_id, line.product_id) in profiled)
                if reason:
                    product = kept.product(connection_id, line.product_id)
                    orphans.append(OrphanLine(
                        company=company.name if company else "", agreement_id=agreement_id,
                        agreement=agreement.name if agreement else agreement_id, product_id=line.product_id,
                        product=(product.description or product.identifier) if product else line.product_id,
                        quantity=line.quantity, line_id=line.id, marker=line.marker, reason=reason))
        return billed, orphans, problems


def _mapped_row(rows_of: list[Mapping], inventory: TenantInventory, written: dict[str, int],
                connection_of: dict[str, int], kept: Kept, common: dict) -> ReconRow:
    should = billed = unbilled = 0
    leakage = Decimal("0")
    margin: Decimal | None = Decimal("0")  # None once a product has no cost kept
    companies: set[str] = set()
    prices: set[Decimal] = set()
    currency = "USD"
    for mapping in rows_of:
        connection_id = connection_of.get(mapping.profile.id)
        agreement = kept.agreement(connection_id, mapping.agreement_id) if connection_id else None
        currency = agreement.currency if agreement else currency
        product = (kept.product(connection_id, mapping.profile.product.id) if connection_id else None) \
            or mapping.profile.product
        unit = mapping.profile.price.unit_price(product.price, currency)
        prices.add(unit)
        company = kept.company(connection_id, agreement.company_id) if agreement and connection_id else None
        companies.add(company.name if company else f"(agreement {mapping.agreement_id})")
        row_billed = written.get(main_marker(mapping.row), 0)
        try:
            counts = row_counts(mapping, inventory)
            row_should = billed_quantity(counts.base, mapping.included_quantity, mapping.minimum_quantity)
        except ValueError:  # the row counts users, which snapshots do not keep
            row_should = row_billed
        row_unbilled = max(row_should - row_billed, 0)
        months = 12 if agreement is not None and agreement.cycle is Cycle.ANNUAL else 1
        should, billed, unbilled = should + row_should, billed + row_billed, unbilled + row_unbilled
        leakage += row_unbilled * unit / months
        if margin is not None:
            margin = margin + row_billed * (unit - product.cost) / months if product.cost else None
    return ReconRow(company=", ".join(sorted(companies)), should_bill=should, billed=billed, unbilled=unbilled,
                    unit_price=prices.pop() if len(prices) == 1 else None,
                    leakage=round_money(leakage, currency), currency=currency,
                    margin=None if margin is None else round_money(margin, currency), **common)


def _lines_read(psa: PsaPort, agreement_ids: list[str]) -> tuple[dict[str, list[Line]], list[str]]:
    """Each agreement's lines, as many read at once as the PSA takes (``lines_at_once``); an agreement the PSA
    no longer has is named among the problems and the others are still read."""
    try:
        return lines_at_once(psa, agreement_ids), []
    except PsaNotFound:
        pass

    def one(agreement_id: str) -> tuple[str, list[Line] | None, str]:
        try:
            return agreement_id, psa.list_lines(agreement_id), ""
        except PsaNotFound as error:
            return agreement_id, None, f"agreement {agreement_id}: {error}"

    with ThreadPoolExecutor(max_workers=max(1, min(psa.concurrency, len(agreement_ids))),
                            thread_name_prefix="psa-read") as pool:
        each = list(pool.map(one, agreement_ids))
    return ({agreement_id: lines for agreement_id, lines, _ in each if lines is not None},
            [problem for _, _, problem in each if problem])


def _orphan_reason(line: Line, markers: dict[str, Mapping], profiled_product: bool) -> str:
    if line.owned:
        if line.kind is not LineKind.MAIN and row_key(line.marker) in markers:
            return ""  # a dated line of a mapped row
        return "seatsync line whose license is no longer mapped"
    if profiled_product:
        return "not seatsync's: a duplicate or a manual addition of a license product"
    return ""


def _by_row(written: dict[str, int]) -> dict[str, int]:
    """What seatsync last wrote to each row's main line, by ``row_key`` (whichever installation wrote it)."""
    return {row_key(marker): quantity for marker, quantity in written.items()}


#: Columns added later come last ("Ignored accounts", "Monthly margin"), so a spreadsheet reading the columns by
#: position still reads them.
CSV_COLUMNS = ("Company", "Tenant", "Tenant ID", "License", "SKU ID", "Purchased", "Assigned", "Should bill",
               "Billed", "Unbilled", "Unit price", "Monthly leakage", "Currency", "Status", "Ignored accounts",
               "Monthly margin")


#: What makes a spreadsheet read a cell as a formula (OWASP, CSV injection), with the full-width forms
#: some spreadsheets also take: a text cell starting with one is written after a single quote.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _money(value: Decimal | None) -> Decimal | str:
    return "" if value is None else value


def text_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it: a formula prefix gets a leading single quote."""
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def csv_cell(value: object) -> object:
    """A CSV cell: numbers (counts, exact decimal amounts, negative too) as numbers, every text made inert."""
    if isinstance(value, bool):
        return text_cell(str(value))
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    return text_cell("" if value is None else str(value))


def write_csv(report: Reconciliation, path: Path | str) -> Path:
    """The report as CSV (UTF-8, one license a row, then the total); money as exact decimal strings.

    Text from Microsoft or the PSA (company, tenant and license names) never starts a formula (``text_cell``);
    the file is private to the user (0600 on POSIX).
    """
    path = Path(path)
    try:
        _write(report, path)
    except OSError as error:
        raise ExportFailed(f"({path}: {error.strerror or error})") from None
    return path


def _write(report: Reconciliation, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="", opener=private_opener) as handle:
        writer = csv.writer(handle)

        def row(*cells: object) -> None:
            writer.writerow([csv_cell(cell) for cell in cells])

        row(*CSV_COLUMNS)
        for r in report.rows:
            row(r.company, r.tenant, r.tenant_id, r.license, r.sku_id, r.purchased, r.assigned, r.should_bill,
                r.billed, r.unbilled, _money(r.unit_price), _money(r.leakage), r.currency, r.status, r.ignored,
                _money(r.margin))
        total = report.total
        row(total.company, "", "", "", "", total.purchased, total.assigned, "", total.billed, total.unbilled, "",
            _money(total.leakage), "", "total", "", _money(total.margin))
