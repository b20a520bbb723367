"""Value types of the billing core: frozen, keyword-only dataclasses.

Identifiers of PSA records (companies, agreements, products, lines) are
strings whatever the PSA uses, so the core stays PSA-neutral. Money is
Decimal (``to_money`` refuses floats); seat counts are ints.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from app.billing.money import round_money, to_money

# --- Microsoft side -------------------------------------------------------


class Term(StrEnum):
    MONTH = "P1M"
    YEAR = "P1Y"
    THREE_YEARS = "P3Y"


class Cycle(StrEnum):
    MONTHLY = "monthly"
    ANNUAL = "annual"


class Anchor(StrEnum):
    CALENDAR = "calendar"
    ANNIVERSARY = "anniversary"


@dataclass(frozen=True, kw_only=True)
class User:
    """A tenant user, with the fields license filters and descriptions use."""

    id: str
    upn: str
    display_name: str = ""
    office: str = ""
    department: str = ""
    city: str = ""
    state: str = ""
    enabled: bool = True
    sku_ids: frozenset[str] = frozenset()
    member: bool = True  # Graph's userType "Member"; False for a guest
    ignored: bool = False  # an ignored account (app/billing/ignored.py): its licenses are not billed

    @property
    def upn_domain(self) -> str:
        return self.upn.rpartition("@")[2].lower()


@dataclass(frozen=True, kw_only=True)
class Subscription:
    """One commerce subscription under a license (Partner Center terms)."""

    id: str
    sku_id: str
    offer_name: str = ""
    quantity: int = 0
    term: Term = Term.MONTH
    billing_cycle: Cycle = Cycle.MONTHLY
    status: str = "active"
    commitment_end: date | None = None
    cancellation_allowed_until: date | None = None
    auto_renew: bool = True
    is_trial: bool = False

    @property
    def renewal_date(self) -> date | None:
        """The day after the commitment ends (NCE commitment ends are inclusive)."""
        return None if self.commitment_end is None else self.commitment_end + timedelta(days=1)

    @property
    def is_annual_commitment(self) -> bool:
        return self.term in (Term.YEAR, Term.THREE_YEARS)


@dataclass(frozen=True, kw_only=True)
class License:
    """A tenant's SKU with Graph's counts (DESIGN §2).

    purchased = prepaid enabled + warning units (warning units are still
    billed by Microsoft); assigned = consumed units. Suspended and locked-out
    units are never billed. ``ignored``: the seats of it that ignored accounts
    hold (app/billing/ignored.py), never billed either.
    """

    sku_id: str
    part_number: str = ""
    name: str = ""
    enabled: int = 0
    warning: int = 0
    suspended: int = 0
    locked_out: int = 0
    consumed: int = 0
    subscriptions: tuple[Subscription, ...] = ()
    ignored: int = 0

    @property
    def purchased(self) -> int:
        return self.enabled + self.warning

    @property
    def assigned(self) -> int:
        return self.consumed

    @property
    def unassigned(self) -> int:
        return max(self.purchased - self.assigned, 0)


@dataclass(frozen=True, kw_only=True)
class TenantInventory:
    """What one tenant has, read at ``fetched_at``. ``users`` is None when not read."""

    tenant_id: str
    name: str = ""
    fetched_at: datetime | None = None
    licenses: tuple[License, ...] = ()
    users: tuple[User, ...] | None = None

    def license(self, sku_id: str) -> License | None:
        """The first license of this SKU id, or None (an index built on the first call)."""
        index = self.__dict__.get("_by_sku")
        if index is None:  # not a field: equality, hashing, repr and replace() ignore it
            index = {}
            for lic in self.licenses:
                index.setdefault(lic.sku_id, lic)
            object.__setattr__(self, "_by_sku", index)
        return index.get(sku_id)


# --- PSA side -------------------------------------------------------------


class AgreementStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True, kw_only=True)
class Agreement:
    """A PSA agreement (ConnectWise agreement, Autotask contract, Halo contract).

    ``start`` anchors anniversary periods (its day of month, or month and day
    for annual cycles).
    """

    id: str
    company_id: str
    name: str = ""
    type_name: str = ""
    cycle: Cycle = Cycle.MONTHLY
    anchor: Anchor = Anchor.CALENDAR
    start: date = date(2000, 1, 1)
    prorates: bool = True
    status: AgreementStatus = AgreementStatus.ACTIVE
    currency: str = "USD"


@dataclass(frozen=True, kw_only=True)
class Product:
    """A PSA catalog item: the thing a billing profile bills."""

    id: str
    identifier: str = ""
    description: str = ""
    price: Decimal = Decimal("0")
    cost: Decimal = Decimal("0")
    active: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "price", to_money(self.price))
        object.__setattr__(self, "cost", to_money(self.cost))


class PriceKind(StrEnum):
    PSA = "psa"  # the PSA's catalog price
    FIXED = "fixed"  # a fixed override
    PERCENT = "percent"  # the PSA price adjusted by a percentage


@dataclass(frozen=True, kw_only=True)
class PricePolicy:
    kind: PriceKind = PriceKind.PSA
    fixed: Decimal | None = None
    percent: Decimal | None = None

    def __post_init__(self) -> None:
        if self.fixed is not None:
            object.__setattr__(self, "fixed", to_money(self.fixed))
        if self.percent is not None:
            object.__setattr__(self, "percent", to_money(self.percent))
        if self.kind is PriceKind.FIXED and self.fixed is None:
            raise ValueError("a fixed price policy needs its price")
        if self.kind is PriceKind.PERCENT and self.percent is None:
            raise ValueError("a percentage price policy needs its percentage")

    def unit_price(self, psa_price: Decimal, currency: str = "USD") -> Decimal:
        """The price per seat on the invoice, rounded to the minor unit.

        A percentage follows later PSA price changes: it is applied to the
        PSA price each time, never stored as a fixed amount.
        """
        psa_price = to_money(psa_price)
        if self.kind is PriceKind.FIXED:
            assert self.fixed is not None
            return round_money(self.fixed, currency)
        if self.kind is PriceKind.PERCENT:
            assert self.percent is not None
            return round_money(psa_price * (Decimal(100) + self.percent) / Decimal(100), currency)
        return round_money(psa_price, currency)


class BillingOption(StrEnum):
    BILLABLE = "billable"
    NON_BILLABLE = "non_billable"
    NO_CHARGE = "no_charge"


@dataclass(frozen=True, kw_only=True)
class BillingProfile:
    """The link to one PSA product with a price policy and a billing option."""

    id: str
    name: str
    product: Product
    price: PricePolicy = PricePolicy()
    billing_option: BillingOption = BillingOption.BILLABLE
    allowed_agreement_types: frozenset[str] = frozenset()  # empty: any type

    def allows(self, agreement: Agreement) -> bool:
        return not self.allowed_agreement_types or agreement.type_name in self.allowed_agreement_types


class QuantityBasis(StrEnum):
    """Where a row's base quantity comes from."""

    ASSIGNED = "assigned"  # default
    PURCHASED = "purchased"  # "bill unassigned seats"
    UPN_DOMAIN = "upn_domain"  # licensed users whose UPN has a domain
    SUM_OF_LICENSES = "sum_of_licenses"  # assigned seats of other SKUs, summed


class FilterField(StrEnum):
    OFFICE = "office"
    DEPARTMENT = "department"
    CITY = "city"
    STATE = "state"
    UPN_DOMAIN = "upn_domain"


@dataclass(frozen=True, kw_only=True)
class UserFilter:
    """Bills only the users whose ``field`` equals ``value`` (case-insensitive)."""

    field: FilterField
    value: str

    def matches(self, user: User) -> bool:
        return getattr(user, self.field.value).strip().lower() == self.value.strip().lower()

    @property
    def key(self) -> str:
        return f"{self.field.value}={self.value.strip().lower()}"


@dataclass(frozen=True, kw_only=True)
class RowKey:
    """Identifies one license row: a tenant's SKU, or one subscription of it
    when the license is split, optionally narrowed to a user filter."""

    tenant_id: str
    sku_id: str
    subscription_id: str = ""
    filter_key: str = ""

    @property
    def digest(self) -> str:
        """Twelve hex digits naming the row in PSA markers (stable forever)."""
        return row_digest(self.tenant_id, self.sku_id, self.subscription_id, self.filter_key)


def row_digest(tenant_id: str, sku_id: str, subscription_id: str = "", filter_key: str = "") -> str:
    """``RowKey(...).digest`` from the row's parts, without making the RowKey."""
    raw = "|".join(("row-v1", tenant_id, sku_id.lower(), subscription_id, filter_key))
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


@dataclass(frozen=True, kw_only=True)
class Mapping:
    """A license row mapped to a billing profile on an agreement."""

    tenant_id: str
    sku_id: str
    profile: BillingProfile
    agreement_id: str
    subscription_id: str = ""
    user_filter: UserFilter | None = None
    basis: QuantityBasis = QuantityBasis.ASSIGNED
    basis_param: str = ""  # UPN domain, or comma-separated SKU ids
    usernames_in_description: bool = False
    start_date_override: date | None = None
    negative_proration: bool = False
    included_quantity: int = 0
    minimum_quantity: int = 0
    description_override: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "basis", QuantityBasis(self.basis))
        if self.included_quantity < 0 or self.minimum_quantity < 0:
            raise ValueError("included and minimum quantities cannot be negative")

    @property
    def bill_unassigned(self) -> bool:
        return self.basis is QuantityBasis.PURCHASED

    @property
    def row(self) -> RowKey:
        return RowKey(
            tenant_id=self.tenant_id,
            sku_id=self.sku_id,
            subscription_id=self.subscription_id,
            filter_key=self.user_filter.key if self.user_filter else "",
        )


@dataclass(frozen=True, kw_only=True)
class Exclusion:
    """A license never billed: in one tenant, or everywhere (``tenant_id`` None)."""

    sku_id: str
    tenant_id: str | None = None
    reason: str = ""

    def covers(self, tenant_id: str, sku_id: str) -> bool:
        return self.sku_id.lower() == sku_id.lower() and self.tenant_id in (None, tenant_id)


class LineKind(StrEnum):
    MAIN = "main"
    PRORATE = "prorate"
    CREDIT = "credit"


MARKER_PREFIX = "seatsync:"


@dataclass(frozen=True, kw_only=True)
class Line:
    """An agreement line as the PSA holds it.

    ``marker`` is what the PSA keeps in a field of ours (ConnectWise
    serialNumber, ...): lines whose marker starts with ``seatsync:`` are
    owned. ``end`` is the last day billed (None: open-ended).
    ``last_written_quantity`` is what seatsync last wrote to this line (from
    its journal), used only to notice manual edits; ``written_row`` the row
    seatsync created the line for (also from the journal: None for lines it
    did not write for the tenant being planned); ``history`` the quantities
    seatsync wrote to this main line, as (effective day, quantity) in the
    order written (also from the journal), from which the planner knows
    what the line billed at the start of a period after it was changed.
    """

    id: str
    agreement_id: str
    product_id: str
    kind: LineKind = LineKind.MAIN
    quantity: int = 0
    unit_price: Decimal = Decimal("0")
    start: date | None = None
    end: date | None = None
    description: str = ""
    marker: str = ""
    amount: Decimal | None = None
    last_written_quantity: int | None = None
    written_row: RowKey | None = None
    history: tuple[tuple[date, int], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit_price", to_money(self.unit_price))
        if self.amount is not None:
            object.__setattr__(self, "amount", to_money(self.amount))

    @property
    def owned(self) -> bool:
        return self.marker.startswith(MARKER_PREFIX)

    def ended_before(self, day: date) -> bool:
        return self.end is not None and self.end < day

    def not_before_start(self, day: date) -> date:
        """``day``, or the line's first day when it starts later: a change to a line not started yet (a quantity,
        a cancel, a retirement) takes effect then, so a cancelled one never bills."""
        return self.start if self.start is not None and self.start > day else day

    def bills(self, day: date) -> bool:
        """Whether this line bills ``day`` (started on or before it and not ended before it)."""
        return (self.start is None or self.start <= day) and not self.ended_before(day)

    def quantity_on(self, day: date) -> int:
        """The quantity in force on ``day``: the last one seatsync wrote effective by then.

        Without a dated history, what seatsync last wrote (a manual edit in
        the PSA is corrected, never billed), or the line's quantity when
        seatsync's journal does not know the line.
        """
        if not self.history:
            return self.quantity if self.last_written_quantity is None else self.last_written_quantity
        return next((q for effective, q in reversed(self.history) if effective <= day), 0)
