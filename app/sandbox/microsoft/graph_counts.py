"""Graph reads behind custom license counts and GDAP facts (APIS.md §A4), in graph.py's envelope.

- ``/v1.0/groups``: $select, $filter (``displayName eq '...'``, startswith; more than one group can share a
  name), $top 1..999 (default 100), $skiptoken paging; ``$count=true`` counts only with
  ``ConsistencyLevel: eventual``.
- ``/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user``: every user under the group, nested groups
  followed, each once. The cast needs ``ConsistencyLevel: eventual`` and ``$count=true``: without them it is
  400 Request_UnsupportedQuery. Without a permission to read users, members come back as ``id`` and nulls
  (Graph's "limited information").
- ``/v1.0/users/{id}/mailboxSettings/userPurpose``: ``{"value": "user" | "shared" | ...}``; a user without a
  mailbox is 404 MailboxNotEnabledForRESTAPI [U: the code is not on the pages APIS.md read].
- ``/v1.0/admin/reportSettings``: ``displayConcealedNames``.
- ``/beta/reports/getMailboxUsageDetail(period='D7')``: user and shared mailboxes (not room or equipment),
  JSON with ``$format=application/json`` (200 a page, $top, $skiptoken), else CSV. Concealed names are
  32 hex digits standing for the UPN and display name. The rows carry no recipient type unless
  ``MicrosoftSandbox.report_recipient_type`` says so (APIS.md §A4 leaves open whether Graph's do).
- ``/v1.0/tenantRelationships/delegatedAdminRelationships``: for a token of a partner tenant, its GDAP
  relationships with every customer, $top 1..300, $skiptoken paging.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from app.sandbox.microsoft.common import iso
from app.sandbox.microsoft.graph import (
    COST,
    METADATA,
    USER_FIELDS,
    USER_STRINGS,
    _authorise,
    _context,
    _eventual,
    _headers,
    _next_link,
    _ok,
    _page,
    _project,
    _query,
    _user,
    error,
)
from app.sandbox.microsoft.model import SandboxRelationship, SandboxTenant
from app.sandbox.microsoft.odata import parse_filter, parse_select, parse_top
from app.sandbox.server import Request, Response

if TYPE_CHECKING:
    from app.sandbox.microsoft.app import MicrosoftSandbox

GROUP_FIELDS = {"id", "displayName", "description", "mail", "mailEnabled", "securityEnabled", "groupTypes"}
GROUP_STRINGS = {"displayName", "description", "mail"}
RELATIONSHIP_FIELDS = {"id", "displayName", "duration", "customer", "accessDetails", "status", "autoExtendDuration",
                       "createdDateTime", "lastModifiedDateTime", "activatedDateTime", "endDateTime"}
#: What a member user holds when the app may not read users: Graph's "limited information".
USER_READERS = frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})
REPORT_PAGE = 200
RELATIONSHIPS_MAX = 300
_PERIOD = re.compile(r"getMailboxUsageDetail\(period='(D7|D30|D90|D180)'\)")
#: The report's CSV columns (the v1.0 page's list).
CSV_COLUMNS = ("Report Refresh Date", "User Principal Name", "Display Name", "Is Deleted", "Deleted Date",
               "Created Date", "Last Activity Date", "Item Count", "Storage Used (Byte)",
               "Issue Warning Quota (Byte)", "Prohibit Send Quota (Byte)", "Prohibit Send/Receive Quota (Byte)",
               "Deleted Item Count", "Deleted Item Size (Byte)", "Deleted Item Quota (Byte)", "Has Archive",
               "Report Period")
#: The report covers user and shared mailboxes (the admin center's Recipient type: Shared or User).
REPORTED = {"user": "User", "shared": "Shared"}


def register(sb: MicrosoftSandbox) -> None:
    sb.route("GET", "/v1.0/groups", lambda r: groups(sb, r), "graph:groups")
    sb.route("GET", "/v1.0/groups/{group}/transitiveMembers/microsoft.graph.user",
             lambda r: transitive_users(sb, r), "graph:transitiveMembers")
    sb.route("GET", "/v1.0/users/{user}/mailboxSettings/userPurpose", lambda r: user_purpose(sb, r),
             "graph:userPurpose")
    sb.route("GET", "/v1.0/admin/reportSettings", lambda r: report_settings(sb, r), "graph:reportSettings")
    sb.route("GET", "/beta/reports/{function}", lambda r: mailbox_usage(sb, r), "graph:mailboxUsage")
    sb.route("GET", "/v1.0/tenantRelationships/delegatedAdminRelationships", lambda r: relationships(sb, r),
             "graph:delegatedAdminRelationships")


def _counted(request: Request) -> bool:
    return _eventual(request) and (request.arg("$count") or "").lower() == "true"


# -- groups -----------------------------------------------------------------------


def groups(sb: MicrosoftSandbox, request: Request) -> Response:
    fields = _query(request, parse_select, request.arg("$select"), GROUP_FIELDS)
    top = _query(request, parse_top, request.arg("$top"), 100)
    predicate = _query(request, parse_filter, request.arg("$filter"), GROUP_STRINGS,
                       {"mailEnabled", "securityEnabled"})
    with sb.lock:
        _, tenant = _authorise(sb, request, "groups")
        everyone = [_group(g) for g in tenant.groups] if tenant else []
    matching = sorted((g for g in everyone if predicate is None or predicate(g)), key=lambda g: g["id"])
    page, token = _page(sb, request, matching, top, key="id",
                        context=f"groups|{request.arg('$filter') or ''}|{request.arg('$select') or ''}")
    payload: dict[str, Any] = {"@odata.context": _context("groups", fields),
                               "value": [_project(g, fields) for g in page]}
    if _counted(request):  # ignored without the header
        payload["@odata.count"] = len(matching)
    if token:
        payload["@odata.nextLink"] = _next_link(request, token)
    return _ok(sb, "groups", request, payload, COST["other"])


def transitive_users(sb: MicrosoftSandbox, request: Request) -> Response:
    if not _counted(request):
        return error(400, "Request_UnsupportedQuery", "The requested query with an OData cast is an advanced query: "
                     "it needs the 'ConsistencyLevel: eventual' header and $count=true.", request)
    fields = _query(request, parse_select, request.arg("$select"), USER_FIELDS)
    top = _query(request, parse_top, request.arg("$top"), 100)
    predicate = _query(request, parse_filter, request.arg("$filter"), USER_STRINGS, {"accountEnabled"})
    group_id = unquote(request.params["group"]).lower()
    with sb.lock:
        grant, tenant = _authorise(sb, request, "groups")
        group = next((g for g in tenant.groups if g.id == group_id), None) if tenant else None
        if tenant is None or group is None:
            return error(404, "Request_ResourceNotFound", f"Resource '{group_id}' does not exist or one of its "
                         "queried reference-property objects are not present.", request)
        members, _ = tenant.transitive_members(group.id)
        everyone = [_user(u) for u in members]
    matching = sorted((u for u in everyone if predicate is None or predicate(u)), key=lambda u: u["id"])
    page, token = _page(sb, request, matching, top, key="id",
                        context=f"members|{group.id}|{request.arg('$filter') or ''}|{request.arg('$select') or ''}")
    shown = fields or ["id", "displayName", "userPrincipalName", "mail"]
    if not grant.roles & USER_READERS:  # limited information: the id only
        page = [{**dict.fromkeys(u, None), "id": u["id"]} for u in page]
    payload: dict[str, Any] = {"@odata.context": _context("users", fields), "@odata.count": len(matching),
                               "value": [_project(u, shown) for u in page]}
    if token:
        payload["@odata.nextLink"] = _next_link(request, token)
    return _ok(sb, "transitiveMembers", request, payload, COST["other"])


def _group(g: Any) -> dict[str, Any]:
    return {"id": g.id, "displayName": g.display_name, "description": None, "mail": None, "mailEnabled": False,
            "securityEnabled": True, "groupTypes": []}


# -- mailboxes ----------------------------------------------------------------------


def user_purpose(sb: MicrosoftSandbox, request: Request) -> Response:
    key = unquote(request.params["user"]).lower()
    with sb.lock:
        _, tenant = _authorise(sb, request, "userPurpose")
        found = next((u for u in (tenant.users if tenant else ()) if key in (u.id.lower(), u.upn.lower())), None)
        if found is None:
            return error(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist or one of its queried "
                         "reference-property objects are not present.", request)
        if found.mailbox is None:
            return error(404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is "
                         "hosted on-premise.", request)
        kind = found.mailbox
    context = f"{METADATA}#users('{found.id}')/mailboxSettings/userPurpose"
    return _ok(sb, "userPurpose", request, {"@odata.context": context, "value": kind}, COST["other"])


def report_settings(sb: MicrosoftSandbox, request: Request) -> Response:
    with sb.lock:
        _, tenant = _authorise(sb, request, "reportSettings")
        concealed = tenant.conceal_report_names if tenant else True
    return _ok(sb, "reportSettings", request, {"@odata.context": f"{METADATA}#admin/reportSettings/$entity",
                                               "displayConcealedNames": concealed}, COST["other"])


def conceal(text: str) -> str:
    """A concealed report value: 32 hex digits, the same for the same name, that match no directory user."""
    return hashlib.md5(text.lower().encode(), usedforsecurity=False).hexdigest().upper()


def mailbox_usage(sb: MicrosoftSandbox, request: Request) -> Response:
    found = _PERIOD.fullmatch(unquote(request.params["function"]))
    if found is None:
        return error(400, "BadRequest", "Invalid function or period: period is D7, D30, D90 or D180.", request)
    fmt = (request.arg("$format") or "text/csv").lower()
    if fmt not in ("text/csv", "application/json"):
        return error(400, "BadRequest", f"Unsupported $format '{fmt}'.", request)
    top = _query(request, parse_top, request.arg("$top"), REPORT_PAGE)
    with sb.lock:
        _, tenant = _authorise(sb, request, "mailboxUsage")
        rows = _mailbox_rows(sb, tenant, found[1][1:]) if tenant else []
    if fmt == "text/csv":
        return _csv(request, rows)
    page, token = _page(sb, request, rows, top, key="_key", context=f"mailboxes|{found[1]}")
    payload: dict[str, Any] = {"value": [{k: v for k, v in r.items() if k != "_key"} for r in page]}
    if token:
        payload["@odata.nextLink"] = _next_link(request, token)
    return _ok(sb, "mailboxUsage", request, payload, COST["other"])


def _mailbox_rows(sb: MicrosoftSandbox, tenant: SandboxTenant, days: str) -> list[dict[str, Any]]:
    day = (sb.scenario.today - timedelta(days=1)).isoformat()
    rows = []
    for u in sorted(tenant.users, key=lambda u: u.id):
        if u.mailbox not in REPORTED:
            continue
        upn, name = (conceal(u.upn), conceal(u.display_name)) if tenant.conceal_report_names else (
            u.upn, u.display_name)
        row: dict[str, Any] = {
            "_key": u.id, "reportRefreshDate": day, "userPrincipalName": upn, "displayName": name,
            "isDeleted": False, "deletedDate": None, "createdDate": tenant.created.isoformat(),
            "lastActivityDate": day, "itemCount": 120, "storageUsedInBytes": 52_428_800, "deletedItemCount": 3,
            "deletedItemSizeInBytes": 20_480, "deletedItemQuota": 32_212_254_720, "hasArchive": False,
            "issueWarningQuotaInBytes": 52_613_349_376, "prohibitSendQuotaInBytes": 53_687_091_200,
            "prohibitSendReceiveQuotaInBytes": 53_687_091_200, "reportPeriod": days}
        if sb.report_recipient_type:
            row["recipientType"] = REPORTED[u.mailbox]
        rows.append(row)
    return rows


def _csv(request: Request, rows: list[dict[str, Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow((r["reportRefreshDate"], r["userPrincipalName"], r["displayName"], r["isDeleted"], "",
                         r["createdDate"], r["lastActivityDate"], r["itemCount"], r["storageUsedInBytes"],
                         r["issueWarningQuotaInBytes"], r["prohibitSendQuotaInBytes"],
                         r["prohibitSendReceiveQuotaInBytes"], r["deletedItemCount"], r["deletedItemSizeInBytes"],
                         r["deletedItemQuota"], r["hasArchive"], r["reportPeriod"]))
    headers = _headers(request, {"Content-Type": "application/octet-stream", "x-ms-resource-unit": "1"})
    return Response(200, ("\ufeff" + out.getvalue()).encode(), headers)


# -- GDAP -----------------------------------------------------------------------------


def relationships(sb: MicrosoftSandbox, request: Request) -> Response:
    fields = _query(request, parse_select, request.arg("$select"), RELATIONSHIP_FIELDS)
    top = _query(request, parse_top, request.arg("$top"), 100, RELATIONSHIPS_MAX)
    with sb.lock:
        grant, _ = _authorise(sb, request, "delegatedAdminRelationships")
        today = sb.scenario.today
        held = sorted(((t, r) for t in sb.scenario.tenants.values() for r in t.relationships
                       if r.partner_id == grant.tenant_id), key=lambda pair: pair[1].id)
        items = [_relationship(t, r, today) for t, r in held]
    page, token = _page(sb, request, items, top, key="id", context=f"relationships|{grant.tenant_id}")
    meta = ("@odata.type", "@odata.etag")
    payload: dict[str, Any] = {
        "@odata.context": "https://graph.microsoft.com/v1.0/tenantRelationships/$metadata#delegatedAdminRelationships",
        "value": [i if fields is None else {k: v for k, v in i.items() if k in meta or k in fields} for i in page]}
    if token:
        payload["@odata.nextLink"] = _next_link(request, token)
    return _ok(sb, "delegatedAdminRelationships", request, payload, COST["other"])


def _relationship(t: SandboxTenant, r: SandboxRelationship, today: date) -> dict[str, Any]:
    status = r.status_on(today)
    approved = status not in ("created", "approvalPending") and r.end is not None
    # ``end`` is the last day of access: endDateTime is the midnight after it.
    ends = r.end + timedelta(days=1) if approved and r.end else None
    return {
        "@odata.type": "#microsoft.graph.delegatedAdminRelationship",
        "@odata.etag": f'W/"{hashlib.sha256(f"{r.id}|{status}|{r.end}".encode()).hexdigest()[:24]}"',
        "id": r.id, "displayName": r.display_name, "duration": f"P{r.duration_days}D",
        "customer": {"tenantId": t.id, "displayName": t.name},
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": role} for role in r.role_ids]},
        "status": status, "autoExtendDuration": f"P{r.auto_extend_days}D" if r.auto_extend_days else "PT0S",
        "createdDateTime": iso(r.created), "lastModifiedDateTime": iso(r.created),
        "activatedDateTime": iso(ends - timedelta(days=r.duration_days)) if ends else None,
        "endDateTime": iso(ends) if ends else None,
    }

