"""The Microsoft Graph application permissions seatsync needs, and the check of a token's roles.

seatsync reads three Graph collections in each customer tenant (graph.py);
each needs one application permission, the least privileged one Microsoft
documents for it (APIS.md §A1, §A4; docs/permissions.md says why each):

- ``subscribedSkus`` and ``directory/subscriptions``: Organization.Read.All;
- ``users`` with their assigned licenses: User.Read.All.

An app-only token carries the application permissions consented in its
tenant in its ``roles`` claim. The connection test reads that claim from the
token's payload without verifying the signature: the token came over TLS
from the authority itself, and seatsync only reads its own grant from it,
never trusts a stranger's. The token itself is never logged or quoted.
"""

from __future__ import annotations

import base64
import binascii
import json

from app.services.microsoft.errors import MalformedResponse, PermissionsMissing

#: Each Graph application permission seatsync needs -> why (the calls that need it).
GRAPH_PERMISSIONS: dict[str, str] = {
    "Organization.Read.All": "GET /subscribedSkus (licenses: purchased and assigned seats) and "
                             "GET /directory/subscriptions (which subscriptions make up each license)",
    "User.Read.All": "GET /users with assignedLicenses, department, office, city and state (who holds each "
                     "license, for usernames on the invoice and for splitting a tenant between companies)",
}

#: Each Graph read (graph.py's label) -> (the permission seatsync asks for, and every permission Microsoft
#: documents as enough for it, broader ones included).
GRAPH_CALLS: dict[str, tuple[str, frozenset[str]]] = {
    "subscribedSkus": ("Organization.Read.All", frozenset({
        "Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})),
    "directory/subscriptions": ("Organization.Read.All", frozenset({
        "Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All"})),
    "users": ("User.Read.All", frozenset({
        "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})),
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


def missing_graph_permissions(token: str, tenant: str = "") -> tuple[str, ...]:
    """The permissions of ``GRAPH_PERMISSIONS`` the token's roles lack, sorted."""
    roles = token_roles(token, tenant)
    return tuple(sorted(p for p in GRAPH_PERMISSIONS if p not in roles))


def check_graph_token(token: str, tenant: str) -> None:
    """Raise ``PermissionsMissing`` naming every needed Graph permission the token lacks."""
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
