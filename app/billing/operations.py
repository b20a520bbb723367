"""The plan's value types: the operations that bring a PSA in step, and the findings a person reads.

An operation has a deterministic key (the journal and the approvals are
keyed by it) and carries its basis: the counts, the period and the formula
that made its quantity and amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from app.billing.types import MARKER_PREFIX, BillingOption, RowKey


class OpKind(StrEnum):
    CREATE_LINE = "create_line"
    SET_QUANTITY = "set_quantity"
    ADD_PRORATE = "add_prorate"
    ADD_CREDIT = "add_credit"
    CANCEL_LINE = "cancel_line"
    UPDATE_DESCRIPTION = "update_description"
    ADOPT_LINE = "adopt_line"  # seatsync takes over a line another tool wrote: its marker is set


@dataclass(frozen=True, kw_only=True, slots=True)
class Basis:
    """Why an operation is what it is: the inputs and the formula."""

    purchased: int | None = None
    assigned: int | None = None
    unassigned: int | None = None
    base: int | None = None
    ignored: int = 0  # seats ignored accounts hold, left out of the base (app/billing/ignored.py)
    included: int = 0
    minimum: int = 0
    period_start: date | None = None
    period_end: date | None = None
    days_held: int | None = None
    days_in_period: int | None = None
    formula: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Operation:
    """One change to a PSA, with a deterministic key and its basis.

    ``effective`` is the first day the change applies; ``end`` the last day a
    dated (prorate/credit) line covers. ``quantity`` is the line's new
    quantity (negative on a credit line); ``before`` the quantity it had.
    ``amount`` is the money this operation adds to or removes from the
    next invoice, rounded once, half-up.
    """

    key: str
    kind: OpKind
    row: RowKey
    agreement_id: str
    product_id: str
    marker: str
    effective: date
    line_id: str = ""
    end: date | None = None
    quantity: int = 0
    before: int = 0
    unit_price: Decimal = Decimal("0")
    amount: Decimal = Decimal("0")
    description: str = ""
    billing_option: BillingOption = BillingOption.BILLABLE
    basis: Basis = field(default_factory=Basis)

    @property
    def on_foreign_line(self) -> bool:
        """A cancel of a line seatsync does not own: a person decided it (app/billing/foreign.py)."""
        return not self.marker.startswith(MARKER_PREFIX)

    @property
    def is_decrease(self) -> bool:
        return self.kind in (OpKind.ADD_CREDIT, OpKind.CANCEL_LINE) or (
            self.kind is OpKind.SET_QUANTITY and self.quantity < self.before
        )


class FindingKind(StrEnum):
    UNMAPPED_LICENSE = "unmapped_license"
    MISSING_AGREEMENT = "missing_agreement"
    INACTIVE_AGREEMENT = "inactive_agreement"
    AGREEMENT_TYPE_NOT_ALLOWED = "agreement_type_not_allowed"
    INACTIVE_PRODUCT = "inactive_product"
    COMMITMENT_ABOVE_USAGE = "commitment_above_usage"
    POSSIBLE_DUPLICATE = "possible_duplicate"  # reported before foreign lines were held; older runs hold it
    FOREIGN_LINE = "foreign_line"  # a line seatsync does not own bills the row's product: held until decided
    DUPLICATE_OWNED_LINE = "duplicate_owned_line"
    MANUAL_EDIT = "manual_edit"
    SUSPICIOUS_DROP = "suspicious_drop"
    UNASSIGNED_SEATS = "unassigned_seats"
    VERIFY_MISMATCH = "verify_mismatch"  # read back after a write, the PSA differs
    LICENSES_GONE = "licenses_gone"  # Microsoft reports no licenses where there were seats: a person decides
    OTHER_INSTALLATION = "other_installation"  # another seatsync installation bills this agreement
    PARTIAL_READ = "partial_read"  # the PSA's answer lacks what the journal says seatsync wrote
    PRICE_DRIFT = "price_drift"  # a line bills another unit price than its billing profile gives now
    LOW_MARGIN = "low_margin"  # a seat is billed under its cost, or under the minimum margin over it


@dataclass(frozen=True, kw_only=True, slots=True)
class Finding:
    kind: FindingKind
    tenant_id: str
    sku_id: str = ""
    agreement_id: str = ""
    line_id: str = ""
    message: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Plan:
    operations: tuple[Operation, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.operations
