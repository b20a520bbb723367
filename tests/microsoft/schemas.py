"""JSON Schemas of the Microsoft responses, written from APIS.md §A1/§A2.

Microsoft publishes no OpenAPI subset for these endpoints (APIS.md §D), so
the field names and types below are transcribed from the resource tables
APIS.md cites (subscribedSku, licenseUnitsDetail, companySubscription, user,
Partner Center Customer and Subscription, Entra's discovery document and
token answer, the error envelopes). They check what the sandbox answers
(test_sandbox_shapes.py) and are what fuzz.py draws the answers seatsync's
clients must read from.
"""

from __future__ import annotations

from typing import Any

GUID = {"type": "string", "format": "uuid",
        "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}
DATETIME = {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$"}
INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
#: A count of licenses: Int32 in Microsoft's tables, never negative.
COUNT = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
STR = {"type": "string"}
BOOL = {"type": "boolean"}


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None, *, closed: bool = True) -> dict[str, Any]:
    props = {**required, **(optional or {})}
    schema: dict[str, Any] = {"type": "object", "required": list(required), "properties": props}
    if closed:
        schema["additionalProperties"] = False
    return schema


def collection(item: dict[str, Any], context: str, next_link: str = "^https://") -> dict[str, Any]:
    """A Graph collection page of ``item``; ``next_link``: the pattern of its @odata.nextLink."""
    return obj({"@odata.context": {"type": "string", "pattern": context}, "value": {"type": "array", "items": item}},
               {"@odata.nextLink": {"type": "string", "pattern": next_link}, "@odata.count": INT32})


# -- Entra ID ---------------------------------------------------------------------

OPENID_CONFIGURATION = obj({"token_endpoint": {"type": "string", "pattern": "^https://.*/oauth2/v2.0/token$"},
                            "authorization_endpoint": {"type": "string", "pattern": "^https://"},
                            "issuer": {"type": "string", "pattern": "^https://.*/v2.0$"}}, closed=False)
#: Entra's access tokens are JWTs (header.payload.signature, base64url).
JWT = {"type": "string", "pattern": r"^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*$"}
TOKEN = obj({"token_type": {"const": "Bearer"}, "expires_in": {"type": "integer", "minimum": 1},
             "access_token": JWT}, {"ext_expires_in": {"type": "integer"}})
ENTRA_ERROR = obj({"error": STR, "error_description": {"type": "string", "pattern": "^AADSTS[0-9]+: "},
                   "error_codes": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
                   "timestamp": STR, "trace_id": GUID, "correlation_id": GUID}, {"error_uri": STR})

# -- Graph ------------------------------------------------------------------------

SERVICE_PLAN = obj({"servicePlanId": GUID, "servicePlanName": STR, "provisioningStatus": STR,
                    "appliesTo": {"enum": ["User", "Company"]}})
LICENSE_UNITS = obj({"enabled": COUNT, "suspended": COUNT, "warning": COUNT, "lockedOut": COUNT})
CAPABILITY = {"enum": ["Enabled", "Warning", "Suspended", "Deleted", "LockedOut"]}
SUBSCRIBED_SKU = obj({
    "id": {"type": "string", "pattern": "^[0-9a-f-]{36}_[0-9a-f-]{36}$"}, "accountId": GUID, "accountName": STR,
    "appliesTo": {"enum": ["User", "Company"]}, "capabilityStatus": CAPABILITY, "consumedUnits": COUNT,
    "prepaidUnits": LICENSE_UNITS, "servicePlans": {"type": "array", "items": SERVICE_PLAN}, "skuId": GUID,
    "skuPartNumber": STR, "subscriptionIds": {"type": "array", "items": GUID},
})
COMPANY_SUBSCRIPTION = obj({
    "id": GUID, "commerceSubscriptionId": STR, "createdDateTime": DATETIME, "isTrial": BOOL,
    "nextLifecycleDateTime": DATETIME, "ownerId": STR, "ownerTenantId": STR, "ownerType": STR,
    "serviceStatus": {"type": "array", "items": SERVICE_PLAN}, "skuId": GUID, "skuPartNumber": STR,
    "status": CAPABILITY, "totalLicenses": COUNT,
})
ASSIGNED_LICENSE = obj({"skuId": GUID, "disabledPlans": {"type": "array", "items": GUID}})
USER_PROPERTIES: dict[str, Any] = {
    "id": GUID, "userPrincipalName": STR, "displayName": STR, "givenName": {"type": ["string", "null"]},
    "surname": {"type": ["string", "null"]}, "mail": {"type": ["string", "null"]},
    "jobTitle": {"type": ["string", "null"]}, "mobilePhone": {"type": ["string", "null"]},
    "businessPhones": {"type": "array", "items": STR}, "officeLocation": {"type": ["string", "null"]},
    "preferredLanguage": {"type": ["string", "null"]}, "accountEnabled": BOOL,
    "department": {"type": ["string", "null"]}, "city": {"type": ["string", "null"]},
    "state": {"type": ["string", "null"]}, "country": {"type": ["string", "null"]},
    "usageLocation": {"type": ["string", "null"]}, "userType": STR,
    "assignedLicenses": {"type": "array", "items": ASSIGNED_LICENSE},
}


def user(fields: list[str]) -> dict[str, Any]:
    """A user carrying exactly ``fields`` (Graph returns what $select asked, nothing else)."""
    return obj({f: USER_PROPERTIES[f] for f in fields})


GRAPH_ERROR = obj({"error": obj({"code": STR, "message": STR, "innerError": obj(
    {"date": STR, "request-id": GUID, "client-request-id": STR})})})

# -- Partner Center ---------------------------------------------------------------

LINK = obj({"uri": STR, "method": STR, "headers": {"type": "array", "items": obj({"key": STR, "value": STR})}})
CUSTOMER = obj({
    "id": GUID, "commerceId": STR,
    "companyProfile": obj({"tenantId": GUID, "domain": STR, "companyName": STR,
                           "attributes": obj({"objectType": {"const": "CustomerCompanyProfile"}})}),
    "relationshipToPartner": {"enum": ["none", "reseller", "advisor", "syndication", "microsoft_support"]},
    "links": obj({"self": LINK}), "attributes": obj({"objectType": {"const": "Customer"}}),
}, {"customDomains": {"type": "array", "items": STR}, "allowDelegatedAccess": BOOL})
CUSTOMERS = obj({"totalCount": {"type": "integer"}, "items": {"type": "array", "items": CUSTOMER},
                 "links": obj({"self": LINK}, {"next": LINK}),
                 "attributes": obj({"objectType": {"const": "Collection"}})}, {"continuationToken": STR})
SUBSCRIPTION = obj({
    "id": GUID, "offerId": STR, "entitlementId": STR, "offerName": STR, "friendlyName": STR,
    "productType": obj({"id": {"enum": ["OnlineServicesNCE", "OnlineServices"]}, "displayName": STR}),
    "quantity": {"type": "integer", "minimum": 0}, "unitType": {"enum": ["Licenses", "Usage-based", "Benefit", "none"]},
    "creationDate": DATETIME, "effectiveStartDate": DATETIME, "commitmentEndDate": DATETIME,
    "cancellationAllowedUntilDate": DATETIME,
    "status": {"enum": ["none", "active", "pending", "suspended", "expired", "disabled", "deleted"]},
    "autoRenewEnabled": BOOL, "isTrial": BOOL, "billingType": {"enum": ["none", "usage", "license", "benefit"]},
    "billingCycle": {"enum": ["unknown", "monthly", "annual", "none", "oneTime", "triennial", "biennial"]},
    "termDuration": {"enum": ["P1M", "P1Y", "P3Y"]},
    "links": {"type": "object"}, "attributes": obj({"etag": STR, "objectType": {"const": "Subscription"}}),
}, {
    "commitmentEndDateTime": DATETIME, "renewalTermDuration": {"enum": ["P1M", "P1Y", "P3Y"]},
    "hasPurchasableAddons": BOOL, "isMicrosoftProduct": BOOL, "publisherName": STR, "partnerId": STR,
    "contractType": {"enum": ["subscription", "productKey", "redemptionCode"]}, "orderId": STR,
    "actions": {"type": "array", "items": STR}, "refundOptions": {"type": "array"},
    "suspensionReasons": {"type": "array", "items": STR},
})
SUBSCRIPTIONS = obj({"totalCount": {"type": "integer"}, "items": {"type": "array", "items": SUBSCRIPTION},
                     "links": obj({"self": LINK}), "attributes": obj({"objectType": {"const": "Collection"}})})
PC_ERROR = obj({"code": STR, "description": {"type": "string", "maxLength": 1024}, "data": {"type": "array"},
                "source": STR})
PC_THROTTLED = obj({"statusCode": {"const": 429}, "message": STR})
