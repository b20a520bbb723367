"""Microsoft Graph v1.0: subscribedSkus, directory/subscriptions, users (APIS.md §A1, §E); graph_counts.py
serves the reads of custom counts and GDAP with this module's envelope and checks.

Like Graph: a Bearer token bound to one tenant, the @odata.context/value
envelope, request-id / client-request-id / x-ms-ags-diagnostic /
x-ms-resource-unit headers, errors as {"error": {code, message,
innerError}}, 403 Authorization_RequestDenied when the token's roles hold
no application permission the read accepts or the partner's GDAP
relationship has lapsed, and 429 with Retry-After and the x-ms-throttle-*
headers. /users pages (default 100, $top 1..999) with an opaque $skiptoken
in @odata.nextLink that keeps $select and $filter, and returns
assignedLicenses only when selected; subscribedSkus refuses $filter.
/users/{id | userPrincipalName} answers one user, or 404
Request_ResourceNotFound; /users/$count answers the count as text/plain
with ``ConsistencyLevel: eventual`` and 400 Request_BadRequest without it,
and ``$count=true`` on /users is ignored without that header (APIS.md §A4).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from app.sandbox.microsoft.common import GRAPH_AUDIENCE, base_url, iso, new_id, now_iso
from app.sandbox.microsoft.model import SandboxSubscription, SandboxTenant, SandboxUser
from app.sandbox.microsoft.odata import QueryError, parse_filter, parse_select, parse_top
from app.sandbox.microsoft.offers import OFFERS
from app.sandbox.server import HttpError, Request, Response

if TYPE_CHECKING:
    from app.sandbox.microsoft.app import Grant, MicrosoftSandbox

METADATA = "https://graph.microsoft.com/v1.0/$metadata"
CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
DIAGNOSTIC = json.dumps({"ServerInfo": {"DataCenter": "Sandbox", "Slice": "E", "Ring": "1", "ScaleUnit": "000",
                                        "RoleInstance": "SBX000001"}})

USER_FIELDS = {"id", "userPrincipalName", "displayName", "givenName", "surname", "mail", "jobTitle", "mobilePhone",
               "businessPhones", "officeLocation", "preferredLanguage", "accountEnabled", "department", "city",
               "state", "country", "usageLocation", "userType", "assignedLicenses", "proxyAddresses"}
#: What Graph returns for a user without $select (assignedLicenses is not in it).
USER_DEFAULT = ("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
                "preferredLanguage", "surname", "userPrincipalName", "id")
USER_STRINGS = {"userPrincipalName", "displayName", "givenName", "surname", "mail", "jobTitle", "officeLocation",
                "department", "city", "state", "country", "usageLocation", "userType"}
SKU_FIELDS = {"id", "accountId", "accountName", "appliesTo", "capabilityStatus", "consumedUnits", "prepaidUnits",
              "servicePlans", "skuId", "skuPartNumber", "subscriptionIds"}
SUB_FIELDS = {"id", "commerceSubscriptionId", "createdDateTime", "isTrial", "nextLifecycleDateTime", "ownerId",
              "ownerTenantId", "ownerType", "serviceStatus", "skuId", "skuPartNumber", "status", "totalLicenses"}
COST = {"subscribedSkus": 3, "users": 2, "directory/subscriptions": 1, "user": 1, "other": 1}
#: The application permissions each read accepts, least privileged first (APIS.md §A1, §A4).
PERMISSIONS = {
    "subscribedSkus": frozenset({"Organization.Read.All", "Directory.Read.All", "Directory.ReadWrite.All",
                                 "Organization.ReadWrite.All"}),
    "directory/subscriptions": frozenset({"Organization.Read.All", "Directory.Read.All",
                                          "Organization.ReadWrite.All"}),
    "users": frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}),
    "groups": frozenset({"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All",
                         "GroupMember.ReadWrite.All", "Directory.Read.All"}),
    "mailboxUsage": frozenset({"Reports.Read.All"}),
    "reportSettings": frozenset({"ReportSettings.Read.All", "ReportSettings.ReadWrite.All"}),
    "userPurpose": frozenset({"MailboxSettings.Read", "MailboxSettings.ReadWrite"}),
    "delegatedAdminRelationships": frozenset({"DelegatedAdminRelationship.Read.All",
                                              "DelegatedAdminRelationship.ReadWrite.All"}),
}


def register(sb: MicrosoftSandbox) -> None:
    sb.route("GET", "/v1.0/subscribedSkus", lambda r: subscribed_skus(sb, r), "graph:subscribedSkus")
    sb.route("GET", "/v1.0/directory/subscriptions", lambda r: directory_subscriptions(sb, r),
             "graph:directory/subscriptions")
    sb.route("GET", "/v1.0/users", lambda r: users(sb, r), "graph:users")
    sb.route("GET", "/v1.0/users/{user}", lambda r: user_or_count(sb, r), "graph:user")


# -- envelope, errors ---------------------------------------------------------


def _headers(request: Request | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    client_id = (request.headers.get("client-request-id") if request else None) or new_id()
    return {"Content-Type": CONTENT_TYPE, "request-id": new_id(), "client-request-id": client_id,
            "x-ms-ags-diagnostic": DIAGNOSTIC, "OData-Version": "4.0", **(extra or {})}


def error(status: int, code: str, message: str, request: Request | None = None,
          headers: dict[str, str] | None = None) -> Response:
    h = _headers(request, headers)
    body = {"error": {"code": code, "message": message, "innerError": {
        "date": now_iso().rstrip("Z"), "request-id": h["request-id"], "client-request-id": h["client-request-id"]}}}
    return Response(status, json.dumps(body).encode(), h)


def throttled(sb: MicrosoftSandbox, retry_after: int | None) -> Response:
    extra = {"x-ms-throttle-scope": f"Tenant_Application/ReadWrite/{sb.scenario.client_id}/sandbox",
             "x-ms-throttle-information": "ResourceUnitLimitExceeded"}
    if retry_after is not None:
        extra["Retry-After"] = str(retry_after)
    return error(429, "TooManyRequests", "Too many requests.", headers=extra)


def _ok(sb: MicrosoftSandbox, route: str, request: Request, payload: dict[str, Any], cost: int) -> Response:
    if sb.tamper is not None:
        payload = sb.tamper(route, payload)
    return Response(200, json.dumps(payload).encode(), _headers(request, {"x-ms-resource-unit": str(cost)}))


def _authorise(sb: MicrosoftSandbox, request: Request, route: str) -> tuple[Grant, SandboxTenant | None]:
    """The caller's grant and tenant; 401 without a good token, 403 when the token's roles hold no permission
    that allows ``route`` or GDAP has lapsed."""
    grant = sb.grant(request, GRAPH_AUDIENCE, lambda why: error(401, "InvalidAuthenticationToken", why, request))
    tenant = sb.scenario.tenants.get(grant.tenant_id)
    if tenant is not None and not sb.scenario.consented(tenant.id, grant.client_id):  # its service principal is gone
        raise HttpError(error(401, "InvalidAuthenticationToken", "Access token validation failure.", request))
    if not grant.roles & PERMISSIONS[route]:
        raise HttpError(error(403, "Authorization_RequestDenied",
                              "Insufficient privileges to complete the operation.", request))
    app = sb.scenario.app(grant.client_id)
    if tenant is not None and app is not None and not tenant.gdap_active(sb.scenario.today, app.tenant_id):
        raise HttpError(error(403, "Authorization_RequestDenied",
                              "Insufficient privileges to complete the operation.", request))
    return grant, tenant


def _query(request: Request, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except QueryError as problem:
        raise HttpError(error(400, problem.code, problem.message, request)) from None


def _project(item: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    return item if fields is None else {f: item.get(f) for f in fields}


def _context(collection: str, fields: list[str] | None) -> str:
    return f"{METADATA}#{collection}" + (f"({','.join(fields)})" if fields else "")


def _next_link(request: Request, token: str) -> str:
    """The same query with a new $skiptoken (other options kept, as Graph does)."""
    parts = [f"{k}={quote(v[-1], safe=',()/:$ ')}" for k, v in request.query.items() if k.lower() != "$skiptoken"]
    parts.append(f"$skiptoken={token}")
    return f"{base_url(request)}{request.path}?" + "&".join(p.replace(" ", "%20") for p in parts)


# -- routes ---------------------------------------------------------------------


def subscribed_skus(sb: MicrosoftSandbox, request: Request) -> Response:
    for option in ("$filter", "$search", "$orderby", "$top", "$skip"):
        if request.arg(option) is not None:
            return error(400, "Request_UnsupportedQuery", "Unsupported Query.", request)
    fields = _query(request, parse_select, request.arg("$select"), SKU_FIELDS)
    with sb.lock:
        _, tenant = _authorise(sb, request, "subscribedSkus")
        items = [_sku(tenant, sku_id) for sku_id in tenant.sku_ids()] if tenant else []
    items.sort(key=lambda s: s["skuId"])
    page, token = _page(sb, request, items, sb.skus_page_size or len(items) or 1, key="skuId", context="skus")
    payload: dict[str, Any] = {"@odata.context": _context("subscribedSkus", fields),
                               "value": [_project(i, fields) for i in page]}
    if token:
        payload["@odata.nextLink"] = _next_link(request, token)
    return _ok(sb, "subscribedSkus", request, payload, COST["subscribedSkus"])


def directory_subscriptions(sb: MicrosoftSandbox, request: Request) -> Response:
    if request.arg("$filter") is not None or request.arg("$search") is not None:
        return error(400, "Request_UnsupportedQuery", "Unsupported Query.", request)
    fields = _query(request, parse_select, request.arg("$select"), SUB_FIELDS)
    with sb.lock:
        _, tenant = _authorise(sb, request, "directory/subscriptions")
        items = [_company_subscription(sb, tenant, s) for s in tenant.subscriptions] if tenant else []
    return _ok(sb, "directory/subscriptions", request, {"@odata.context": _context("directory/subscriptions", fields),
                         "value": [_project(i, fields) for i in items]}, COST["directory/subscriptions"])


def users(sb: MicrosoftSandbox, request: Request) -> Response:
    fields = _query(request, parse_select, request.arg("$select"), USER_FIELDS)
    top = _query(request, parse_top, request.arg("$top"), sb.users_page_default)
    eventual = _eventual(request)
    if request.arg("$search") is not None and not eventual:
        return error(400, "Request_UnsupportedQuery", "Request with $search query parameter only works through "
                     "MSGraph with a special request header: 'ConsistencyLevel: eventual'", request)
    predicate = _query(request, parse_filter, request.arg("$filter"), USER_STRINGS, {"accountEnabled"})
    with sb.lock:
        _, tenant = _authorise(sb, request, "users")
        everyone = [_user(u) for u in tenant.users] if tenant else []
        matching = sorted((u for u in everyone if predicate is None or predicate(u)), key=lambda u: u["id"])
        left_out = _cut_user(sb, tenant, request, matching)
    page, token = _page(sb, request, matching, top, key="id",
                        context=f"users|{request.arg('$filter') or ''}|{request.arg('$select') or ''}")
    page = [u for u in page if u["id"] != left_out]  # the token still moves past it: it is simply missing
    shown = fields or list(USER_DEFAULT)
    payload: dict[str, Any] = {"@odata.context": _context("users", fields), "value": [_project(u, shown) for u in page]}
    if eventual and (request.arg("$count") or "").lower() == "true":  # ignored without the header
        payload["@odata.count"] = len(matching)
    if token:
        payload["@odata.nextLink"] = _next_link(request, token)
    cost = max(1, COST["users"] - (1 if fields else 0) - (1 if top < 20 else 0))
    return _ok(sb, "users", request, payload, cost)


def user_or_count(sb: MicrosoftSandbox, request: Request) -> Response:
    """``/users/{id | userPrincipalName}``, or ``/users/$count`` (APIS.md §A4).

    The count is text/plain and needs ``ConsistencyLevel: eventual``; without
    it Graph answers 400 Request_BadRequest "$count is not currently
    supported." An unknown user is 404 Request_ResourceNotFound.
    """
    key = unquote(request.params["user"])
    if key.lower() == "$count":
        return _count_users(sb, request)
    fields = _query(request, parse_select, request.arg("$select"), USER_FIELDS)
    with sb.lock:
        _, tenant = _authorise(sb, request, "users")
        lowered = key.lower()
        found = next((u for u in (tenant.users if tenant else ()) if lowered in (u.id.lower(), u.upn.lower())), None)
        if found is None:
            return error(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist or one of its queried "
                         "reference-property objects are not present.", request)
        body = _project(_user(found), fields or list(USER_DEFAULT))
    context = f"{METADATA}#users" + (f"({','.join(fields)})" if fields else "") + "/$entity"
    return _ok(sb, "user", request, {"@odata.context": context, **body}, COST["user"])


def _count_users(sb: MicrosoftSandbox, request: Request) -> Response:
    predicate = _query(request, parse_filter, request.arg("$filter"), USER_STRINGS, {"accountEnabled"})
    with sb.lock:
        _, tenant = _authorise(sb, request, "users")
        if not _eventual(request):
            return error(400, "Request_BadRequest", "$count is not currently supported.", request)
        everyone = [_user(u) for u in tenant.users] if tenant else []
        count = sum(1 for u in everyone if predicate is None or predicate(u))
    headers = _headers(request, {"Content-Type": "text/plain", "x-ms-resource-unit": str(COST["user"])})
    return Response(200, str(count).encode(), headers)


def _eventual(request: Request) -> bool:
    """Whether the request asks for an advanced query (``ConsistencyLevel: eventual``)."""
    return (request.headers.get("ConsistencyLevel") or "").strip().lower() == "eventual"


def _cut_user(sb: MicrosoftSandbox, tenant: SandboxTenant | None, request: Request,
              matching: list[dict[str, Any]]) -> str | None:
    """The user this users read leaves out (``Scenario.cut_users_reads``, a test hook), or None.

    A read starts at its first page (no $skiptoken): while the scenario asks
    for cut reads, it takes one and leaves out the first user holding a
    license; the read's later pages leave out the same user.
    """
    if tenant is None:
        return None
    if request.arg("$skiptoken") is None:
        sb.users_left_out.pop(tenant.id, None)
        if sb.scenario.cut_users_reads > 0:
            licensed = next((u["id"] for u in matching if u["assignedLicenses"]), None)
            if licensed is not None:
                sb.scenario.cut_users_reads -= 1
                sb.users_left_out[tenant.id] = licensed
    return sb.users_left_out.get(tenant.id)


def _page(sb: MicrosoftSandbox, request: Request, items: list[dict[str, Any]], size: int, *, key: str,
          context: str) -> tuple[list[dict[str, Any]], str | None]:
    """A page after the $skiptoken's cursor (the last key served: stable when items come and go)."""
    raw = request.arg("$skiptoken")
    start = 0
    if raw is not None:
        after = sb.cursor.read(raw, context)
        if after is None:
            raise HttpError(error(400, "Directory_ExpiredPageToken", "The specified page token value has expired "
                                  "and can no longer be included in your request.", request))
        start = next((i for i, item in enumerate(items) if item[key] > after), len(items))
    page = items[start:start + size]
    more = start + size < len(items)
    return page, sb.cursor.make(page[-1][key], context) if more and page else None


# -- resources ------------------------------------------------------------------


def _sku(tenant: SandboxTenant, sku_id: str) -> dict[str, Any]:
    subs = [s for s in tenant.subscriptions if s.sku_id == sku_id and s.status != "deleted"]
    units = tenant.units(sku_id)
    status = next((name for name, bucket in (("Enabled", "enabled"), ("Warning", "warning"),
                                             ("Suspended", "suspended"), ("LockedOut", "lockedOut"))
                   if units[bucket] > 0), "Suspended")
    offer = OFFERS.get(subs[0].part_number) if subs else None
    return {
        "accountName": tenant.name, "accountId": tenant.id, "appliesTo": "User", "capabilityStatus": status,
        "consumedUnits": tenant.holders(sku_id), "id": f"{tenant.id}_{sku_id}",
        "prepaidUnits": units, "servicePlans": [
            {"servicePlanId": plan_id, "servicePlanName": plan, "provisioningStatus": "Success", "appliesTo": "User"}
            for plan_id, plan in (offer.plans if offer else ())],
        "skuId": sku_id, "skuPartNumber": subs[0].part_number if subs else "",
        "subscriptionIds": [s.directory_id for s in subs],
    }


def _company_subscription(sb: MicrosoftSandbox, tenant: SandboxTenant, sub: SandboxSubscription) -> dict[str, Any]:
    offer = OFFERS.get(sub.part_number)
    owner = sb.scenario.partner_tenant_id if sub.in_partner_center else tenant.id
    return {
        "id": sub.directory_id, "commerceSubscriptionId": sub.id, "createdDateTime": iso(sub.created),
        "isTrial": sub.is_trial, "nextLifecycleDateTime": iso(sub.commitment_end + timedelta(days=1)),
        "ownerId": owner, "ownerTenantId": owner, "ownerType": "Company",
        "serviceStatus": [{"servicePlanId": plan_id, "servicePlanName": plan, "provisioningStatus": "Success",
                           "appliesTo": "User"} for plan_id, plan in (offer.plans if offer else ())],
        "skuId": sub.sku_id, "skuPartNumber": sub.part_number, "status": sub.graph_status,
        "totalLicenses": sub.quantity,
    }


def _user(u: SandboxUser) -> dict[str, Any]:
    return {
        "id": u.id, "userPrincipalName": u.upn, "displayName": u.display_name, "givenName": u.given_name or None,
        "surname": u.surname or None, "mail": u.primary_smtp, "jobTitle": u.job_title or None,
        "mobilePhone": u.mobile_phone or None, "businessPhones": [u.business_phone] if u.business_phone else [],
        "proxyAddresses": u.proxy_addresses,
        "officeLocation": u.office, "preferredLanguage": "en-US", "accountEnabled": u.enabled,
        "department": u.department, "city": u.city, "state": u.state, "country": None, "usageLocation": "US",
        "userType": u.user_type, "assignedLicenses": [{"skuId": s, "disabledPlans": []} for s in u.sku_ids],
    }
