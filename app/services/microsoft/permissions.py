"""The access seatsync needs at Microsoft, the least for each call, and the check of a token's roles.

``NEEDED`` is the one list: each Graph application permission (in customer
tenants, or in the partner's own tenant) and the Partner Center access, with
the calls that need it and the feature it serves. Each is the least
privileged one Microsoft documents for its calls (APIS.md §A1, §A2, §A4;
docs/permissions.md says the same in words, and a test holds it to this
list). By feature:

- license sync (``GRAPH_PERMISSIONS``, what "Test connection" requires in
  every customer tenant): Organization.Read.All, User.Read.All;
- counts of custom license rows (``COUNT_PERMISSIONS``, needed only by rows
  that count groups or mailboxes): GroupMember.Read.All, Reports.Read.All,
  ReportSettings.Read.All, MailboxSettings.Read;
- GDAP facts (``PARTNER_GRAPH_PERMISSIONS``, in the partner's own tenant):
  DelegatedAdminRelationship.Read.All.

An app-only token carries the application permissions consented in its
tenant in its ``roles`` claim. The checks read that claim from the token's
payload without verifying the signature: the token came over TLS from the
authority itself, and seatsync only reads its own grant from it, never
trusts a stranger's. The token itself is never logged or quoted.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass

from app.services.microsoft.errors import MalformedResponse, PermissionsMissing

#: Where a permission is granted.
CUSTOMER_GRAPH = "Graph, each customer tenant"
PARTNER_GRAPH = "Graph, the partner tenant"
PARTNER_CENTER = "Partner Center"
#: What it serves.
LICENSES = "license sync"
COUNTS = "custom counts"
GDAP = "GDAP facts"


@dataclass(frozen=True)
class Need:
    """One permission seatsync asks for: where, for which feature, and why (the calls that need it)."""

    name: str
    where: str
    feature: str
    why: str


NEEDED: tuple[Need, ...] = (
    Need("Organization.Read.All", CUSTOMER_GRAPH, LICENSES,
         "GET /subscribedSkus (licenses: purchased and assigned seats) and GET /directory/subscriptions (which "
         "subscriptions make up each license)"),
    Need("User.Read.All", CUSTOMER_GRAPH, LICENSES,
         "GET /users with assignedLicenses, department, office, city and state (who holds each license, for "
         "usernames on the invoice and for splitting a tenant between companies); also enabled member users "
         "for counts, and the names of a group's member users (without it Graph returns members' ids only)"),
    Need("GroupMember.Read.All", CUSTOMER_GRAPH, COUNTS,
         "GET /groups (a group by name, the group picker) and GET /groups/{id}/transitiveMembers/"
         "microsoft.graph.user (a group's users, nested groups included)"),
    Need("Reports.Read.All", CUSTOMER_GRAPH, COUNTS,
         "GET /reports/getMailboxUsageDetail (the tenant's user and shared mailboxes)"),
    Need("ReportSettings.Read.All", CUSTOMER_GRAPH, COUNTS,
         "GET /admin/reportSettings (whether the mailbox report conceals names)"),
    Need("MailboxSettings.Read", CUSTOMER_GRAPH, COUNTS,
         "GET /users/{id}/mailboxSettings/userPurpose (a mailbox's kind, user or shared, when the report "
         "does not say it)"),
    Need("DelegatedAdminRelationship.Read.All", PARTNER_GRAPH, GDAP,
         "GET /tenantRelationships/delegatedAdminRelationships (each customer's GDAP status, end date and "
         "roles)"),
    Need("App management: the app registered in Partner Center (app-only)", PARTNER_CENTER, LICENSES,
         "GET /v1/customers (the customer tenants) and GET /v1/customers/{id}/subscriptions (terms, cycles, "
         "commitment ends, cancellation windows)"),
)


def _permissions(where: str, *features: str) -> dict[str, str]:
    return {n.name: n.why for n in NEEDED if n.where == where and n.feature in features}


#: The Graph application permissions license sync needs in every customer tenant -> why.
GRAPH_PERMISSIONS: dict[str, str] = _permissions(CUSTOMER_GRAPH, LICENSES)
#: Those custom license rows' counts need besides, in the tenants whose rows count groups or mailboxes.
COUNT_PERMISSIONS: dict[str, str] = _permissions(CUSTOMER_GRAPH, COUNTS)
#: Those the partner's own tenant needs for GDAP facts.
PARTNER_GRAPH_PERMISSIONS: dict[str, str] = _permissions(PARTNER_GRAPH, GDAP)

_GROUPS = frozenset({"GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "GroupMember.ReadWrite.All",
                     "Directory.Read.All"})
_USERS = frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})

#: Each Graph read (graph.py's label) -> (the permission seatsync asks for, and every permission Microsoft
#: documents as enough for it, broader ones included).
GRAPH_CALLS: dict[str, tuple[str, frozenset[str]]] = {
    "subscribedSkus": ("Organization.Read.All", frozenset({
        "Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})),
    "directory/subscriptions": ("Organization.Read.All", frozenset({
        "Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All"})),
    "users": ("User.Read.All", _USERS),
    "groups": ("GroupMember.Read.All", _GROUPS),
    "groups/transitiveMembers": ("GroupMember.Read.All", _GROUPS),
    "reports/getMailboxUsageDetail": ("Reports.Read.All", frozenset({"Reports.Read.All"})),
    "admin/reportSettings": ("ReportSettings.Read.All", frozenset({
        "ReportSettings.Read.All", "ReportSettings.ReadWrite.All"})),
    "mailboxSettings/userPurpose": ("MailboxSettings.Read", frozenset({
        "MailboxSettings.Read", "MailboxSettings.ReadWrite"})),
    "delegatedAdminRelationships": ("DelegatedAdminRelationship.Read.All", frozenset({
        "DelegatedAdminRelationship.Read.All", "DelegatedAdminRelationship.ReadWrite.All"})),
}


def token_roles(token: str, tenant: str = "") -> frozenset[str]:
    """The ``roles`` claim of a JWT access token (empty when it has none), read without verifying it."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[1]:
        raise MalformedResponse(f"(tenant {tenant}: the access token is not a JWT; its roles cannot be read)",
                                tenant_id=tenant)
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise MalformedResponse(f"(tenant {tenant}: the access token's payload cannot be read)",
                                tenant_id=tenant) from None
    roles = payload.get("roles", []) if isinstance(payload, dict) else None
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise MalformedResponse(f"(tenant {tenant}: the access token's roles claim is not a list of names)",
                                tenant_id=tenant)
    return frozenset(roles)


def missing_permissions(token: str, needed: Mapping[str, str], tenant: str = "") -> tuple[str, ...]:
    """The permissions of ``needed`` the token's roles lack, sorted."""
    roles = token_roles(token, tenant)
    return tuple(sorted(p for p in needed if p not in roles))


def missing_graph_permissions(token: str, tenant: str = "") -> tuple[str, ...]:
    """The permissions of ``GRAPH_PERMISSIONS`` the token's roles lack, sorted."""
    return missing_permissions(token, GRAPH_PERMISSIONS, tenant)


def check_token(token: str, tenant: str, needed: Mapping[str, str]) -> None:
    """Raise ``PermissionsMissing`` naming each permission of ``needed`` the token lacks, and what it is for."""
    missing = missing_permissions(token, needed, tenant)
    if missing:
        uses = "; ".join(f"{p} for {needed[p]}" for p in missing)
        raise PermissionsMissing(f"(tenant {tenant}: the app's token lacks {', '.join(missing)}; {uses})",
                                 missing=missing, tenant_id=tenant)


def check_graph_token(token: str, tenant: str) -> None:
    """Raise ``PermissionsMissing`` naming every Graph permission license sync needs that the token lacks."""
    missing = missing_graph_permissions(token, tenant)
    if missing:
        raise PermissionsMissing(f"(tenant {tenant}: the app's token lacks {', '.join(missing)})",
                                 missing=missing, tenant_id=tenant)


def lacking_for_call(label: str, token: str, tenant: str) -> str | None:
    """The permission a refused Graph read needs when the token holds none that allows it, else None."""
    call = GRAPH_CALLS.get(label.split("?", 1)[0])
    if call is None:
        return None
    try:
        roles = token_roles(token, tenant)
    except MalformedResponse:
        return None  # cannot tell: the caller reports Graph's own refusal
    needed, enough = call
    return None if roles & enough else needed
