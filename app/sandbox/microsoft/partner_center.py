"""Partner Center REST v1: customers and their subscriptions (APIS.md §A2, §E).

Like Partner Center: a Bearer token for the partner tenant (each partner
sees its own customers only), MS-RequestId and
MS-CorrelationId echoed on every response, seek paging of /customers
(``continuationToken`` in the body; the next page is asked with
``seekOperation=Next`` and the ``MS-ContinuationToken`` header; ``size=0``,
which Microsoft's .NET SDK sends for a plain listing, is the default page), errors as
{code, description, data, source} (20002 without a relationship, 60003 for
an unknown tenant), and 429 as {"statusCode": 429, "message": ...}.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import TYPE_CHECKING, Any

from app.sandbox.microsoft.common import PARTNER_CENTER_AUDIENCE, iso, new_id
from app.sandbox.microsoft.model import SandboxSubscription, SandboxTenant
from app.sandbox.server import HttpError, Request, Response

if TYPE_CHECKING:
    from app.sandbox.microsoft.app import MicrosoftSandbox

MAX_PAGE = 500
SOURCE = "PartnerFD"


def register(sb: MicrosoftSandbox) -> None:
    sb.route("GET", "/v1/customers", lambda r: customers(sb, r), "pc:customers")
    sb.route("GET", "/v1/customers/{customer}", lambda r: customer(sb, r), "pc:customer")
    sb.route("GET", "/v1/customers/{customer}/subscriptions", lambda r: subscriptions(sb, r), "pc:subscriptions")


def error(status: int, code: str, description: str, request: Request | None = None,
          headers: dict[str, str] | None = None) -> Response:
    body = {"code": code, "description": description, "data": [], "source": SOURCE}
    return Response(status, json.dumps(body).encode(), {"Content-Type": "application/json; charset=utf-8",
                                                        **_echo(request), **(headers or {})})


def throttled(retry_after: int | None) -> Response:
    wait = retry_after if retry_after is not None else 1
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return Response.json({"statusCode": 429, "message": f"Rate limit is exceeded. Try again in {wait} seconds."},
                         429, headers)


def _echo(request: Request | None) -> dict[str, str]:
    if request is None:
        return {}
    return {"MS-RequestId": request.headers.get("MS-RequestId") or new_id(),
            "MS-CorrelationId": request.headers.get("MS-CorrelationId") or new_id()}


def _ok(sb: MicrosoftSandbox, route: str, request: Request, payload: Any) -> Response:
    if sb.tamper is not None:
        payload = sb.tamper(route, payload)
    return Response.json(payload, 200, _echo(request), content_type="application/json; charset=utf-8")


def _authorise(sb: MicrosoftSandbox, request: Request) -> str:
    """The partner tenant the caller's token is for (its own app's token for its own tenant), or a 401."""
    sb.partner_center_ids.append((request.headers.get("MS-RequestId") or "",
                                  request.headers.get("MS-CorrelationId") or ""))
    realm = {"WWW-Authenticate": f"OAuth realm=urn:cpsvc:cpid:{sb.scenario.partner_tenant_id}"}
    grant = sb.grant(request, PARTNER_CENTER_AUDIENCE,
                     lambda why: error(401, "401", f"Authentication failed. {why}", request, realm))
    partner = sb.scenario.partner(grant.tenant_id)
    if partner is None or partner.client_id != grant.client_id:
        raise HttpError(error(401, "401", "Authentication failed. The token is not for the partner tenant.",
                              request, realm))
    return partner.tenant_id


def _customer_of(sb: MicrosoftSandbox, request: Request, partner_id: str) -> SandboxTenant:
    """A customer of the calling partner; another partner's customer is one it has no relationship with."""
    key = request.params["customer"].lower()
    tenant = sb.scenario.tenants.get(key)
    if tenant is None:
        raise HttpError(error(404, "60003", f"Tenant with id {key} not found.", request))
    if tenant.partner_id != partner_id:
        raise HttpError(error(403, "20002", "The partner does not have a relationship with this customer.",
                              request))
    return tenant


# -- routes ---------------------------------------------------------------------


def customers(sb: MicrosoftSandbox, request: Request) -> Response:
    raw_size = request.arg("size")
    size = sb.customers_page_default
    if raw_size is not None:
        if not (raw_size.isascii() and raw_size.isdigit()) or int(raw_size) > MAX_PAGE:
            return error(400, "3000", f"Invalid value for size: '{raw_size}'. Must be between 0 and {MAX_PAGE}.",
                         request)
        size = int(raw_size) or sb.customers_page_default  # 0 (the .NET SDK's default) asks for the default page
    with sb.lock:
        partner_id = _authorise(sb, request)
        tenants = sorted(sb.scenario.customers_of(partner_id), key=lambda t: t.id)
        start = 0
        if (request.arg("seekOperation") or "").lower() == "next":
            token = request.headers.get("MS-ContinuationToken")
            after = sb.cursor.read(token, f"customers|{partner_id}") if token else None
            if after is None:
                return error(400, "3000", "The continuation token is missing or invalid.", request)
            start = next((i for i, t in enumerate(tenants) if t.id > after), len(tenants))
        elif request.arg("seekOperation") is not None:
            return error(400, "3000", f"Unsupported seekOperation '{request.arg('seekOperation')}'.", request)
        page = tenants[start:start + size]
        items = [_customer(t) for t in page]
    payload: dict[str, Any] = {
        "totalCount": len(items), "items": items,
        "links": {"self": {"uri": f"/customers?size={size}", "method": "GET", "headers": []}},
        "attributes": {"objectType": "Collection"},
    }
    if start + size < len(tenants) and page:
        token = sb.cursor.make(page[-1].id, f"customers|{partner_id}")
        payload["continuationToken"] = token
        payload["links"]["next"] = {"uri": f"/customers?size={size}&seekOperation=Next", "method": "GET",
                                    "headers": [{"key": "MS-ContinuationToken", "value": token}]}
    return _ok(sb, "customers", request, payload)


def customer(sb: MicrosoftSandbox, request: Request) -> Response:
    with sb.lock:
        tenant = _customer_of(sb, request, _authorise(sb, request))
        body = _customer(tenant)
        body["allowDelegatedAccess"] = tenant.gdap_active(sb.scenario.today)
    return _ok(sb, "customer", request, body)


def subscriptions(sb: MicrosoftSandbox, request: Request) -> Response:
    with sb.lock:
        tenant = _customer_of(sb, request, _authorise(sb, request))
        if not tenant.reseller:
            return error(403, "20002", "The partner does not have a relationship with this customer.", request)
        items = [_subscription(tenant, s) for s in tenant.subscriptions if s.in_partner_center]
    return _ok(sb, "subscriptions", request, {"totalCount": len(items), "items": items,
                         "links": {"self": {"uri": f"/customers/{tenant.id}/subscriptions", "method": "GET",
                                            "headers": []}},
                         "attributes": {"objectType": "Collection"}})


# -- resources ------------------------------------------------------------------


def _customer(t: SandboxTenant) -> dict[str, Any]:
    return {
        "id": t.id, "commerceId": t.commerce_id,
        "companyProfile": {"tenantId": t.id, "domain": t.default_domain, "companyName": t.name,
                           "attributes": {"objectType": "CustomerCompanyProfile"}},
        "customDomains": list(t.domains),
        "relationshipToPartner": "reseller" if t.reseller else "none",
        "links": {"self": {"uri": f"/customers/{t.id}", "method": "GET", "headers": []}},
        "attributes": {"objectType": "Customer"},
    }


def _subscription(t: SandboxTenant, s: SandboxSubscription) -> dict[str, Any]:
    etag = hashlib.sha256(f"{s.id}|{s.quantity}|{s.status}|{s.terms}|{s.auto_renew}".encode()).hexdigest()[:20]
    base = f"/customers/{t.id}/subscriptions/{s.id}"
    product_id = s.offer_id.split(":")[0]
    end = iso(s.commitment_end)
    return {
        "id": s.id, "entitlementId": str(uuid.uuid5(uuid.NAMESPACE_URL, s.id)), "offerId": s.offer_id,
        "offerName": s.offer_name, "friendlyName": s.offer_name,
        "productType": {"id": "OnlineServicesNCE", "displayName": "OnlineServicesNCE"},
        "quantity": s.quantity, "unitType": "Licenses", "hasPurchasableAddons": False,
        "creationDate": iso(s.created), "effectiveStartDate": iso(s.term_start),
        "commitmentEndDate": end, "commitmentEndDateTime": end,
        "cancellationAllowedUntilDate": iso(s.cancellation_allowed_until),
        "status": s.status, "autoRenewEnabled": s.auto_renew, "isTrial": s.is_trial, "billingType": "license",
        "billingCycle": s.billing_cycle, "termDuration": s.term, "renewalTermDuration": s.term,
        "isMicrosoftProduct": True, "publisherName": "Microsoft Corporation", "partnerId": "",
        "contractType": "subscription", "orderId": str(uuid.uuid5(uuid.NAMESPACE_OID, s.id)),
        "actions": ["edit", "cancel"] if s.status == "active" else [], "refundOptions": [],
        "suspensionReasons": [] if s.status == "active" else ["CustomerCancellation"],
        "links": {"offer": {"uri": f"/offers/{s.offer_id}?country=US", "method": "GET", "headers": []},
                  "product": {"uri": f"/products/{product_id}?country=US", "method": "GET", "headers": []},
                  "self": {"uri": base, "method": "GET", "headers": []}},
        "attributes": {"etag": etag, "objectType": "Subscription"},
    }
