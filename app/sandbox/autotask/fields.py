"""The sandbox's entity metadata: field names and types as the vendor's models
name them (tests/specs/autotask.subset.json), lengths, and picklists.

Autotask picklist values are instance-specific (APIS.md §B2: "read them from
entityInformation/fields"); the values below are this sandbox's instance.
Clients must map them by label, never by number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LONG, INT, DOUBLE, STRING, DATETIME, BOOLEAN = "long", "integer", "double", "string", "datetime", "boolean"


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    length: int = 0
    required: bool = False
    read_only: bool = False
    picklist: tuple[tuple[int, str], ...] = ()
    default: int | None = None
    reference: str = ""

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dataType": self.type,
            "length": self.length,
            "isRequired": self.required,
            "isReadOnly": self.read_only,
            "isQueryable": True,
            "isReference": bool(self.reference),
            "referenceEntityType": self.reference,
            "isPickList": bool(self.picklist),
            "picklistValues": [
                {"value": str(v), "label": label, "isDefaultValue": v == self.default, "sortOrder": i,
                 "parentValue": "", "isActive": True, "isSystem": True}
                for i, (v, label) in enumerate(self.picklist)
            ] if self.picklist else None,
            "picklistParentValueField": "",
            "isSupportedWebhookField": False,
        }


def _f(name: str, type_: str, length: int = 0, **kw: Any) -> Field:
    return Field(name, type_, length, **kw)


COMPANY_TYPES = ((1, "Customer"), (2, "Lead"), (3, "Prospect"), (4, "Dead"), (6, "Cancellation"), (7, "Vendor"),
                 (8, "Partner"))
CONTRACT_TYPES = ((1, "Time and Materials"), (3, "Fixed Price"), (4, "Block Hours"), (6, "Retainer"),
                  (7, "Recurring Service"), (8, "Per Ticket"))
CONTRACT_STATUS = ((0, "Inactive"), (1, "Active"))
PERIOD_TYPES = ((1, "Monthly"), (2, "Quarterly"), (3, "Semi-Annual"), (4, "Yearly"))
MONTHS_PER_PERIOD = {1: 1, 2: 3, 3: 6, 4: 12}
CHARGE_TYPES = ((1, "Operational"), (2, "Capitalized"))
CHARGE_STATUS = ((1, "Not Ready to Ship"), (2, "Ready to Ship"), (3, "Shipped"), (4, "Delivered/Fully Implemented"))
BILLING_CODE_USE = ((1, "Work Type"), (2, "Internal Allocation Code"), (3, "Material Cost Code"),
                    (4, "Expense Category"), (5, "Recurring Contract Service"))

ENTITIES: dict[str, tuple[Field, ...]] = {
    "Companies": (
        _f("id", LONG, read_only=True),
        _f("companyName", STRING, 100, required=True),
        _f("companyNumber", STRING, 50),
        _f("companyType", INT, required=True, picklist=COMPANY_TYPES, default=1),
        _f("isActive", BOOLEAN),
        _f("parentCompanyID", INT, reference="Companies"),
        _f("phone", STRING, 25),
        _f("city", STRING, 30),
        _f("state", STRING, 40),
        _f("webAddress", STRING, 255),
        _f("createDate", DATETIME, read_only=True),
        _f("lastActivityDate", DATETIME, read_only=True),
    ),
    "Contracts": (
        _f("id", LONG, read_only=True),
        _f("companyID", INT, required=True, reference="Companies"),
        _f("contractName", STRING, 100, required=True),
        _f("contractNumber", STRING, 50),
        _f("contractType", INT, required=True, picklist=CONTRACT_TYPES, default=7),
        _f("status", INT, required=True, picklist=CONTRACT_STATUS, default=1),
        _f("startDate", DATETIME, required=True),
        _f("endDate", DATETIME, required=True),
        _f("contractPeriodType", INT, picklist=PERIOD_TYPES, default=1),
        _f("description", STRING, 2000),
        _f("purchaseOrderNumber", STRING, 50),
        _f("isDefaultContract", BOOLEAN),
        _f("lastModifiedDateTime", DATETIME, read_only=True),
    ),
    "Services": (
        _f("id", LONG, read_only=True),
        _f("name", STRING, 150, required=True),
        _f("description", STRING, 400),
        _f("invoiceDescription", STRING, 1000),
        _f("unitPrice", DOUBLE),
        _f("unitCost", DOUBLE),
        _f("periodType", INT, required=True, picklist=PERIOD_TYPES, default=1),
        _f("billingCodeID", INT, required=True, reference="BillingCodes"),
        _f("isActive", BOOLEAN),
        _f("sku", STRING, 50),
        _f("catalogNumberPartNumber", STRING, 50),
        _f("markupRate", DOUBLE),
        _f("createDate", DATETIME, read_only=True),
        _f("lastModifiedDate", DATETIME, read_only=True),
    ),
    "ContractServices": (
        _f("id", LONG, read_only=True),
        _f("contractID", INT, required=True, reference="Contracts"),
        _f("serviceID", INT, required=True, reference="Services"),
        _f("unitPrice", DOUBLE),
        _f("unitCost", DOUBLE),
        _f("internalCurrencyUnitPrice", DOUBLE, read_only=True),
        _f("internalCurrencyAdjustedPrice", DOUBLE),
        _f("invoiceDescription", STRING, 1000),
        _f("internalDescription", STRING, 100),
        _f("quoteItemID", LONG),
    ),
    "ContractServiceUnits": (
        _f("id", LONG, read_only=True),
        _f("contractID", INT, read_only=True, reference="Contracts"),
        _f("contractServiceID", INT, read_only=True, reference="ContractServices"),
        _f("serviceID", INT, read_only=True, reference="Services"),
        _f("startDate", DATETIME, read_only=True),
        _f("endDate", DATETIME, read_only=True),
        _f("units", INT, read_only=True),
        _f("price", DOUBLE, read_only=True),
        _f("cost", DOUBLE, read_only=True),
        _f("internalCurrencyPrice", DOUBLE, read_only=True),
        _f("approveAndPostDate", DATETIME, read_only=True),
        _f("organizationalLevelAssociationID", INT, read_only=True),
        _f("vendorCompanyID", INT, read_only=True),
    ),
    "ContractServiceAdjustments": (
        _f("id", LONG, read_only=True),
        _f("contractID", INT, required=True, reference="Contracts"),
        _f("contractServiceID", INT, reference="ContractServices"),
        _f("serviceID", INT, reference="Services"),
        _f("effectiveDate", DATETIME, required=True),
        _f("unitChange", INT, required=True),
        _f("adjustedUnitPrice", DOUBLE),
        _f("adjustedUnitCost", DOUBLE),
        _f("allowRepeatService", BOOLEAN),
        _f("quoteItemID", INT),
    ),
    "ContractCharges": (
        _f("id", LONG, read_only=True),
        _f("contractID", LONG, required=True, reference="Contracts"),
        _f("contractServiceID", LONG, reference="ContractServices"),
        _f("contractServiceBundleID", LONG),
        _f("billingCodeID", LONG, reference="BillingCodes"),
        _f("productID", LONG),
        _f("chargeType", INT, required=True, picklist=CHARGE_TYPES, default=1),
        _f("status", LONG, required=True, picklist=CHARGE_STATUS, default=4),
        _f("name", STRING, 100, required=True),
        _f("description", STRING, 2000),
        _f("notes", STRING, 2000),
        _f("datePurchased", DATETIME, required=True),
        _f("unitQuantity", DOUBLE, required=True),
        _f("unitPrice", DOUBLE),
        _f("unitCost", DOUBLE),
        _f("billableAmount", DOUBLE, read_only=True),
        _f("extendedCost", DOUBLE, read_only=True),
        _f("isBillableToCompany", BOOLEAN, required=True),
        _f("isBilled", BOOLEAN, read_only=True),
        _f("internalPurchaseOrderNumber", STRING, 50),
        _f("purchaseOrderNumber", STRING, 50),
        _f("createDate", DATETIME, read_only=True),
    ),
    "BillingCodes": (
        _f("id", LONG, read_only=True),
        _f("name", STRING, 200, required=True),
        _f("description", STRING, 500),
        _f("useType", INT, required=True, picklist=BILLING_CODE_USE),
        _f("isActive", BOOLEAN),
    ),
}

#: Entities whose records carry ``userDefinedFields``.
UDF_ENTITIES = frozenset({"Companies", "Contracts", "Services", "ContractCharges"})

_BY_LOWER = {name.lower(): name for name in ENTITIES}
_FIELDS = {entity: {f.name.lower(): f for f in fields} for entity, fields in ENTITIES.items()}


def canonical_entity(name: str) -> str | None:
    return _BY_LOWER.get(name.lower())


def field(entity: str, name: str) -> Field | None:
    return _FIELDS[entity].get(name.lower())


def fields_of(entity: str) -> tuple[Field, ...]:
    return ENTITIES[entity]


def picklist_value(entity: str, name: str, label: str) -> int:
    f = field(entity, name)
    assert f is not None
    for value, text in f.picklist:
        if text.lower() == label.lower():
            return value
    raise KeyError(f"{entity}.{name} has no picklist label {label!r}")


def picklist_label(entity: str, name: str, value: int) -> str | None:
    f = field(entity, name)
    return None if f is None else dict(f.picklist).get(value)


def field_info(entity: str) -> dict[str, Any]:
    return {"fields": [f.info() for f in ENTITIES[entity]]}
