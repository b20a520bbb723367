"""The sandbox's entity metadata: every field of each entity's model, named and
typed as the vendor's models have them (tests/specs/autotask.subset.json and
tests/autotask/extra_spec.json), lengths (0 where this sandbox states none) and
picklists; and ``answered``, a record as the API writes it.

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

#: Every field of each entity's model, in the model's order (the order the API writes them in).
ENTITIES: dict[str, tuple[Field, ...]] = {
    "Companies": (
        _f("id", LONG, read_only=True),
        _f("additionalAddressInformation", STRING, 100),
        _f("address1", STRING, 150),
        _f("address2", STRING, 150),
        _f("alternatePhone1", STRING, 25),
        _f("alternatePhone2", STRING, 25),
        _f("apiVendorID", INT, read_only=True),
        _f("assetValue", DOUBLE),
        _f("billToCompanyLocationID", INT),
        _f("billToAdditionalAddressInformation", STRING),
        _f("billingAddress1", STRING),
        _f("billingAddress2", STRING),
        _f("billToAddressToUse", INT),
        _f("billToAttention", STRING),
        _f("billToCity", STRING),
        _f("billToCountryID", INT),
        _f("billToState", STRING),
        _f("billToZipCode", STRING),
        _f("city", STRING, 30),
        _f("classification", INT),
        _f("companyCategoryID", INT),
        _f("companyName", STRING, 100, required=True),
        _f("companyNumber", STRING, 50),
        _f("companyType", INT, required=True, picklist=COMPANY_TYPES, default=1),
        _f("competitorID", INT),
        _f("countryID", INT),
        _f("createDate", DATETIME, read_only=True),
        _f("createdByResourceID", INT, read_only=True),
        _f("currencyID", INT),
        _f("fax", STRING),
        _f("impersonatorCreatorResourceID", INT, read_only=True),
        _f("invoiceEmailMessageID", INT),
        _f("invoiceMethod", INT),
        _f("invoiceNonContractItemsToParentCompany", BOOLEAN),
        _f("invoiceTemplateID", INT),
        _f("isActive", BOOLEAN),
        _f("isClientPortalActive", BOOLEAN, read_only=True),
        _f("isEnabledForComanaged", BOOLEAN),
        _f("isSample", BOOLEAN, read_only=True),
        _f("isTaskFireActive", BOOLEAN, read_only=True),
        _f("isTaxExempt", BOOLEAN),
        _f("lastActivityDate", DATETIME, read_only=True),
        _f("lastTrackedModifiedDateTime", DATETIME, read_only=True),
        _f("marketSegmentID", INT),
        _f("ownerResourceID", INT),
        _f("parentCompanyID", INT, reference="Companies"),
        _f("phone", STRING, 25),
        _f("postalCode", STRING),
        _f("purchaseOrderTemplateID", INT),
        _f("quoteEmailMessageID", INT),
        _f("quoteTemplateID", INT),
        _f("sicCode", STRING),
        _f("state", STRING, 40),
        _f("stockMarket", STRING),
        _f("stockSymbol", STRING),
        _f("surveyCompanyRating", DOUBLE, read_only=True),
        _f("taxID", STRING),
        _f("taxRegionID", INT),
        _f("territoryID", INT),
        _f("webAddress", STRING, 255),
    ),
    # ContactModel: isActive is an int32 (1 active, 0 inactive), unlike the booleans of Companies and Services.
    "Contacts": (
        _f("id", LONG, read_only=True),
        _f("additionalAddressInformation", STRING, 100),
        _f("addressLine", STRING, 128),
        _f("addressLine1", STRING, 128),
        _f("alternatePhone", STRING, 32),
        _f("apiVendorID", INT, read_only=True),
        _f("bulkEmailOptOutTime", DATETIME, read_only=True),
        _f("city", STRING, 32),
        _f("companyID", INT, required=True, reference="Companies"),
        _f("companyLocationID", INT),
        _f("countryID", INT),
        _f("createDate", DATETIME, read_only=True),
        _f("emailAddress", STRING, 254),
        _f("emailAddress2", STRING, 254),
        _f("emailAddress3", STRING, 254),
        _f("extension", STRING, 10),
        _f("externalID", STRING, 50),
        _f("facebookUrl", STRING, 200),
        _f("faxNumber", STRING, 25),
        _f("firstName", STRING, 50, required=True),
        _f("impersonatorCreatorResourceID", INT, read_only=True),
        _f("isActive", INT, required=True),
        _f("isOptedOutFromBulkEmail", BOOLEAN),
        _f("lastActivityDate", DATETIME, read_only=True),
        _f("lastModifiedDate", DATETIME, read_only=True),
        _f("lastName", STRING, 50, required=True),
        _f("linkedInUrl", STRING, 200),
        _f("middleInitial", STRING, 2),
        _f("mobilePhone", STRING, 25),
        _f("namePrefix", INT),
        _f("nameSuffix", INT),
        _f("note", STRING, 4000),
        _f("receivesEmailNotifications", BOOLEAN),
        _f("phone", STRING, 25),
        _f("primaryContact", BOOLEAN),
        _f("billingContact", BOOLEAN),
        _f("roomNumber", STRING, 50),
        _f("solicitationOptOut", BOOLEAN),
        _f("solicitationOptOutTime", DATETIME, read_only=True),
        _f("state", STRING, 40),
        _f("surveyOptOut", BOOLEAN),
        _f("title", STRING, 50),
        _f("twitterUrl", STRING, 200),
        _f("zipCode", STRING, 16),
    ),
    "Contracts": (
        _f("id", LONG, read_only=True),
        _f("billingPreference", INT),
        _f("billToCompanyContactID", INT),
        _f("billToCompanyID", INT, reference="Companies"),
        _f("companyID", INT, required=True, reference="Companies"),
        _f("contactID", INT),
        _f("contactName", STRING, read_only=True),
        _f("contractCategory", INT),
        _f("contractExclusionSetID", INT),
        _f("contractName", STRING, 100, required=True),
        _f("contractNumber", STRING, 50),
        _f("contractPeriodType", INT, picklist=PERIOD_TYPES, default=1),
        _f("contractType", INT, required=True, picklist=CONTRACT_TYPES, default=7),
        _f("description", STRING, 2000),
        _f("endDate", DATETIME, required=True),
        _f("estimatedCost", DOUBLE),
        _f("estimatedHours", DOUBLE),
        _f("estimatedRevenue", DOUBLE),
        _f("exclusionContractID", LONG),
        _f("internalCurrencyOverageBillingRate", DOUBLE),
        _f("internalCurrencySetupFee", DOUBLE),
        _f("isCompliant", BOOLEAN),
        _f("isDefaultContract", BOOLEAN),
        _f("lastModifiedDateTime", DATETIME, read_only=True),
        _f("opportunityID", INT),
        _f("organizationalLevelAssociationID", INT),
        _f("overageBillingRate", DOUBLE),
        _f("purchaseOrderNumber", STRING, 50),
        _f("renewedContractID", LONG),
        _f("serviceLevelAgreementID", INT),
        _f("setupFee", DOUBLE),
        _f("setupFeeBillingCodeID", LONG),
        _f("startDate", DATETIME, required=True),
        _f("status", INT, required=True, picklist=CONTRACT_STATUS, default=1),
        _f("timeReportingRequiresStartAndStopTimes", INT),
    ),
    "Services": (
        _f("id", LONG, read_only=True),
        _f("billingCodeID", INT, required=True, reference="BillingCodes"),
        _f("createDate", DATETIME, read_only=True),
        _f("creatorResourceID", INT, read_only=True),
        _f("description", STRING, 400),
        _f("invoiceDescription", STRING, 1000),
        _f("isActive", BOOLEAN),
        _f("lastModifiedDate", DATETIME, read_only=True),
        _f("markupRate", DOUBLE),
        _f("name", STRING, 150, required=True),
        _f("periodType", INT, required=True, picklist=PERIOD_TYPES, default=1),
        _f("serviceLevelAgreementID", LONG),
        _f("unitCost", DOUBLE),
        _f("unitPrice", DOUBLE),
        _f("updateResourceID", INT, read_only=True),
        _f("vendorCompanyID", INT, reference="Companies"),
        _f("manufacturerServiceProvider", STRING),
        _f("manufacturerServiceProviderProductNumber", STRING),
        _f("catalogNumberPartNumber", STRING, 50),
        _f("sku", STRING, 50),
        _f("internalID", STRING),
        _f("externalID", STRING),
        _f("url", STRING),
    ),
    "ContractServices": (
        _f("id", LONG, read_only=True),
        _f("contractID", INT, required=True, reference="Contracts"),
        _f("internalCurrencyAdjustedPrice", DOUBLE),
        _f("internalCurrencyUnitPrice", DOUBLE, read_only=True),
        _f("internalDescription", STRING, 100),
        _f("invoiceDescription", STRING, 1000),
        _f("quoteItemID", LONG),
        _f("serviceID", INT, required=True, reference="Services"),
        _f("unitCost", DOUBLE),
        _f("unitPrice", DOUBLE),
    ),
    "ContractServiceUnits": (
        _f("id", LONG, read_only=True),
        _f("approveAndPostDate", DATETIME, read_only=True),
        _f("contractID", INT, read_only=True, reference="Contracts"),
        _f("contractServiceID", INT, read_only=True, reference="ContractServices"),
        _f("cost", DOUBLE, read_only=True),
        _f("endDate", DATETIME, read_only=True),
        _f("internalCurrencyPrice", DOUBLE, read_only=True),
        _f("organizationalLevelAssociationID", INT, read_only=True),
        _f("price", DOUBLE, read_only=True),
        _f("serviceID", INT, read_only=True, reference="Services"),
        _f("startDate", DATETIME, read_only=True),
        _f("units", INT, read_only=True),
        _f("vendorCompanyID", INT, read_only=True),
    ),
    "ContractServiceAdjustments": (
        _f("id", LONG, read_only=True),
        _f("adjustedUnitCost", DOUBLE),
        _f("adjustedUnitPrice", DOUBLE),
        _f("allowRepeatService", BOOLEAN),
        _f("contractID", INT, required=True, reference="Contracts"),
        _f("contractServiceID", INT, reference="ContractServices"),
        _f("effectiveDate", DATETIME, required=True),
        _f("quoteItemID", INT),
        _f("serviceID", INT, reference="Services"),
        _f("unitChange", INT, required=True),
    ),
    "ContractCharges": (
        _f("id", LONG, read_only=True),
        _f("billableAmount", DOUBLE, read_only=True),
        _f("billingCodeID", LONG, reference="BillingCodes"),
        _f("chargeType", INT, required=True, picklist=CHARGE_TYPES, default=1),
        _f("contractID", LONG, required=True, reference="Contracts"),
        _f("contractServiceBundleID", LONG),
        _f("contractServiceID", LONG, reference="ContractServices"),
        _f("createDate", DATETIME, read_only=True),
        _f("creatorResourceID", LONG, read_only=True),
        _f("datePurchased", DATETIME, required=True),
        _f("description", STRING, 2000),
        _f("extendedCost", DOUBLE, read_only=True),
        _f("internalCurrencyBillableAmount", DOUBLE, read_only=True),
        _f("internalCurrencyUnitPrice", DOUBLE, read_only=True),
        _f("internalPurchaseOrderNumber", STRING, 50),
        _f("isBillableToCompany", BOOLEAN, required=True),
        _f("isBilled", BOOLEAN, read_only=True),
        _f("name", STRING, 100, required=True),
        _f("notes", STRING, 2000),
        _f("organizationalLevelAssociationID", INT),
        _f("productID", LONG),
        _f("purchaseOrderNumber", STRING, 50),
        _f("status", LONG, required=True, picklist=CHARGE_STATUS, default=4),
        _f("statusLastModifiedBy", LONG, read_only=True),
        _f("statusLastModifiedDate", DATETIME, read_only=True),
        _f("unitCost", DOUBLE),
        _f("unitPrice", DOUBLE),
        _f("unitQuantity", DOUBLE, required=True),
    ),
    "BillingCodes": (
        _f("id", LONG, read_only=True),
        _f("afterHoursWorkType", INT),
        _f("billingCodeType", INT),
        _f("department", INT),
        _f("description", STRING, 500),
        _f("externalNumber", STRING),
        _f("generalLedgerAccount", INT),
        _f("isActive", BOOLEAN),
        _f("isExcludedFromNewContracts", BOOLEAN),
        _f("markupRate", DOUBLE),
        _f("name", STRING, 200, required=True),
        _f("taxCategoryID", INT),
        _f("unitCost", DOUBLE),
        _f("unitPrice", DOUBLE),
        _f("useType", INT, required=True, picklist=BILLING_CODE_USE),
    ),
}

#: Entities whose records carry ``userDefinedFields`` (their models end with it).
UDF_ENTITIES = frozenset({"Companies", "Contacts", "Contracts", "Services", "ContractCharges", "BillingCodes"})

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


def field_info(entity: str) -> dict[str, Any]:
    return {"fields": [f.info() for f in ENTITIES[entity]]}


def answered(entity: str, record: dict[str, Any], include: tuple[str, ...] | None = None) -> dict[str, Any]:
    """``record`` as the API writes it: every field of the entity's model in the model's order,
    null when the record has no value, then ``userDefinedFields`` on entities that have them.
    ``include`` (a query's includeFields): only those fields, and id."""
    wanted = None if include is None else {"id", *include}
    out = {f.name: record.get(f.name) for f in ENTITIES[entity] if wanted is None or f.name in wanted}
    if entity in UDF_ENTITIES:
        out["userDefinedFields"] = record.get("userDefinedFields", [])
    return out
