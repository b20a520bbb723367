"""Agreement additions in the sandbox: validation on write and the amounts CW computes.

Amounts (documented choice; ConnectWise publishes no formula, APIS.md §B1
"How ConnectWise prorates" [S]):

- ``billedQuantity = quantity - lessIncluded``;
  ``extPrice = billedQuantity × unitPrice`` and ``extCost`` likewise,
  rounded half-up to cents; ``margin = extPrice - extCost``.
- The charge for the billing period that contains ``effectiveDate`` (the
  agreement's cycle: calendar months, or years from 1 January or from the
  start date when ``invoicingCycle`` is ContractYear):
    * effective on the period's first day: the full price;
    * on a prorating agreement (``prorateFlag``) and unless the addition's
      ``prorateCurrentPeriodFlag`` is false: prorated by days,
      ``proratePrice = unitPrice × days(effective..last) / days(period)``
      and ``extendedProratePrice = billedQuantity × unitPrice × days / days(period)``,
      each rounded once, where ``last`` is the period's end or the
      ``cancelledDate`` if that comes first (a one-time charge);
    * ``prorateCurrentPeriodFlag`` false: the full price, not prorated (how
      seatsync writes a prorate line whose amount it computed itself);
    * a non-prorating agreement: nothing for the partial period (it bills
      in full from the next invoice), unless the addition is cancelled in the
      same period, which is a one-time charge of ``extPrice``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from app.billing.periods import Period, days_between, period_containing
from app.billing.types import Anchor, Cycle
from app.sandbox.connectwise.errors import ApiError, invalid, missing, patch_op

if TYPE_CHECKING:
    from app.sandbox.connectwise.store import CwStore

RESOURCE = "addition"
BILL_CUSTOMER = ("Billable", "DoNotBill", "NoCharge")
NUMBERS = ("quantity", "lessIncluded", "unitPrice", "unitCost", "sequenceNumber")
FLAGS = ("taxableFlag", "purchaseItemFlag", "specialOrderFlag", "prorateCurrentPeriodFlag")
TEXTS = {"serialNumber": 50, "invoiceDescription": 6000, "description": None, "uom": None}
DATES = ("effectiveDate", "cancelledDate")
WRITABLE = {"product", "billCustomer", "opportunity", "invoiceGrouping", "customFields",
            *NUMBERS, *FLAGS, *TEXTS, *DATES}
READ_ONLY = {"id", "agreementId", "billedQuantity", "extPrice", "extCost", "margin", "prorateCost", "proratePrice",
             "extendedProrateCost", "extendedProratePrice", "agreementStatus", "_info"}
CENT = Decimal("0.01")


def iso_day(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def parse_day(value: str) -> date:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).date() if "T" in value else date.fromisoformat(value)


def cents(value: Decimal | Fraction) -> Decimal:
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def agreement_period(agreement: dict[str, Any], day: date) -> Period | None:
    """The agreement's billing period containing ``day`` (None for cycles seatsync does not bill)."""
    name = str((agreement.get("billingCycle") or {}).get("name", "")).casefold()
    cycle = {"monthly": Cycle.MONTHLY, "yearly": Cycle.ANNUAL, "annual": Cycle.ANNUAL}.get(name)
    if cycle is None:
        return None
    start = parse_day(agreement["startDate"]) if agreement.get("startDate") else None
    anchor = (Anchor.ANNIVERSARY if cycle is Cycle.ANNUAL and agreement.get("invoicingCycle") == "ContractYear"
              and start else Anchor.CALENDAR)
    return period_containing(day, cycle, anchor, start)


class AdditionRules:
    """Creates, replaces, patches and deletes additions with ConnectWise's validation."""

    def __init__(self, store: CwStore) -> None:
        self.store = store

    # -- writes -------------------------------------------------------------

    def create(self, agreement_id: int, body: Any) -> dict[str, Any]:
        with self.store.lock:
            agreement = self.store.agreement(agreement_id)
            record = self._validated(agreement, {}, _object(body), partial=False)
            record["id"] = self.store._next("addition")
            self.store.additions[agreement_id][record["id"]] = record
            return self._finish(agreement, record)

    def replace(self, agreement_id: int, addition_id: int, body: Any) -> dict[str, Any]:
        with self.store.lock:
            agreement = self.store.agreement(agreement_id)
            self.store.addition(agreement_id, addition_id)
            record = self._validated(agreement, {}, _object(body), partial=False)
            record["id"] = addition_id
            self.store.additions[agreement_id][addition_id] = record
            return self._finish(agreement, record)

    def patch(self, agreement_id: int, addition_id: int, ops: Any) -> dict[str, Any]:
        if not isinstance(ops, list) or not ops:
            raise ApiError(400, "InvalidObject", "The request body must be a non-empty array of patch operations.")
        with self.store.lock:
            agreement = self.store.agreement(agreement_id)
            current = self.store.addition(agreement_id, addition_id)
            changes: dict[str, Any] = {}
            for op in ops:
                name, value = _patch_op(op)
                if name == "product/id":
                    name, value = "product", {"id": value}
                changes[name] = value
            record = self._validated(agreement, current, changes, partial=True)
            self.store.additions[agreement_id][addition_id] = record
            return self._finish(agreement, record)

    def delete(self, agreement_id: int, addition_id: int) -> None:
        with self.store.lock:
            self.store.addition(agreement_id, addition_id)
            del self.store.additions[agreement_id][addition_id]

    # -- validation ---------------------------------------------------------

    def _validated(self, agreement: dict[str, Any], current: dict[str, Any], body: dict[str, Any],
                   *, partial: bool) -> dict[str, Any]:
        record = dict(current)
        for name, value in body.items():
            key = _canonical(name)
            if key in READ_ONLY:
                if partial:
                    raise invalid(RESOURCE, name, f"{name} is read only.", code="ReadOnlyField")
                continue  # ConnectWise ignores computed fields sent on create
            if key not in WRITABLE:
                if partial:
                    raise invalid(RESOURCE, name, f"{name} is not a field of {RESOURCE}.", code="InvalidField")
                continue
            record[key] = self._value(key, value)
            if record[key] is None and key not in DATES:
                record.pop(key)
            if key in DATES and value is None:
                record.pop(key, None)
        if "product" not in record:
            raise missing(RESOURCE, "product")
        if not record.get("billCustomer"):
            raise missing(RESOURCE, "billCustomer")
        product = self._product(record["product"])
        if not partial or "product" in body:
            record["product"] = {"id": product["id"], "identifier": product["identifier"]}
            if not partial:
                record.setdefault("unitPrice", product["price"])
                record.setdefault("unitCost", product["cost"])
                record.setdefault("description", product["description"])
                record.setdefault("invoiceDescription", product["customerDescription"][:6000])
                record.setdefault("uom", product["unitOfMeasure"]["name"])
        record.setdefault("effectiveDate", iso_day(self.store.today()))
        record.setdefault("quantity", Decimal(0))
        record.setdefault("lessIncluded", Decimal(0))
        record.setdefault("taxableFlag", False)
        if "cancelledDate" in record and parse_day(record["cancelledDate"]) < parse_day(record["effectiveDate"]):
            raise invalid(RESOURCE, "cancelledDate", "The cancelled date cannot be before the effective date.")
        return record

    def _product(self, ref: Any) -> dict[str, Any]:
        if not isinstance(ref, dict) or (ref.get("id") is None and not ref.get("identifier")):
            raise missing(RESOURCE, "product")
        product: dict[str, Any] | None
        if ref.get("id") is not None:
            try:
                product = self.store.product(int(ref["id"]))
            except (ApiError, TypeError, ValueError):
                raise invalid(RESOURCE, "product", f"Product id {ref['id']} was not found.") from None
        else:
            product = next((p for p in self.store.catalog.values() if p["identifier"] == ref["identifier"]), None)
            if product is None:
                raise invalid(RESOURCE, "product", f"Product {ref['identifier']} was not found.")
        if product.get("inactiveFlag"):
            raise invalid(RESOURCE, "product", f"Product {product['identifier']} is inactive.",
                          code="InactiveProduct")
        if product.get("productClass") == "Bundle":
            raise invalid(RESOURCE, "product", f"Product {product['identifier']} is a bundle and cannot be added.")
        return product

    @staticmethod
    def _value(key: str, value: Any) -> Any:
        if key in NUMBERS:
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
                raise invalid(RESOURCE, key, f"{key} must be a number.")
            return Decimal(value)
        if key in FLAGS:
            if value is not None and not isinstance(value, bool):
                raise invalid(RESOURCE, key, f"{key} must be true or false.")
            return value
        if key in TEXTS:
            if value is None:
                return None
            if not isinstance(value, str):
                raise invalid(RESOURCE, key, f"{key} must be a string.")
            limit = TEXTS[key]
            if limit is not None and len(value) > limit:
                raise invalid(RESOURCE, key, f"{key} cannot be longer than {limit} characters.",
                              code="MaxLengthExceeded")
            return value
        if key in DATES:
            if value is None:
                return None
            try:
                return iso_day(parse_day(str(value)))
            except ValueError:
                raise invalid(RESOURCE, key, f"{key} is not a valid date: {value!r}.") from None
        if key == "billCustomer":
            if value not in BILL_CUSTOMER:
                raise invalid(RESOURCE, key, f"billCustomer must be one of {', '.join(BILL_CUSTOMER)}.")
            return value
        return value  # references and custom fields are stored as sent

    # -- amounts ------------------------------------------------------------

    def _finish(self, agreement: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        record["agreementId"] = agreement["id"]
        record["agreementStatus"] = agreement.get("agreementStatus", "Active")
        record["_info"] = self.store.info()
        compute_amounts(agreement, record)
        return dict(record)


def compute_amounts(agreement: dict[str, Any], record: dict[str, Any]) -> None:
    quantity = record.get("quantity") or Decimal(0)
    billed = quantity - (record.get("lessIncluded") or Decimal(0))
    price = record.get("unitPrice") or Decimal(0)
    cost = record.get("unitCost") or Decimal(0)
    record["billedQuantity"] = billed
    record["extPrice"] = cents(billed * price)
    record["extCost"] = cents(billed * cost)
    record["margin"] = record["extPrice"] - record["extCost"]
    effective = parse_day(record["effectiveDate"])
    cancelled = parse_day(record["cancelledDate"]) if record.get("cancelledDate") else None
    period = agreement_period(agreement, effective)
    fraction = Fraction(1)
    if period is not None and effective > period.start:
        one_time = cancelled is not None and cancelled <= period.end
        prorating = bool(agreement.get("prorateFlag")) and record.get("prorateCurrentPeriodFlag") is not False
        if prorating:
            last = cancelled if one_time and cancelled is not None else period.end
            fraction = Fraction(days_between(effective, last), period.days)
        elif not agreement.get("prorateFlag") and not one_time:
            fraction = Fraction(0)
    record["proratePrice"] = cents(Fraction(price) * fraction)
    record["prorateCost"] = cents(Fraction(cost) * fraction)
    record["extendedProratePrice"] = cents(Fraction(billed) * Fraction(price) * fraction)
    record["extendedProrateCost"] = cents(Fraction(billed) * Fraction(cost) * fraction)


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidObject", "The request body must be an addition object.")
    return body


def _canonical(name: str) -> str:
    """ConnectWise matches field names case-insensitively."""
    lowered = name.lower()
    for known in (*WRITABLE, *READ_ONLY):
        if known.lower() == lowered:
            return known
    return name


def _patch_op(op: Any) -> tuple[str, Any]:
    path, value = patch_op(op)
    return ("product/id" if path.lower() == "product/id" else _canonical(path)), value

