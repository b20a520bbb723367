"""Microsoft Graph, app-only, per customer tenant (APIS.md §A1, §A4).

License reads: ``subscribedSkus`` (license counts), ``directory/subscriptions``
(links a SKU's subscriptions to Partner Center ids) and ``users`` with their
assigned licenses. Reads behind custom counts (counts.py): groups, a group's
transitive member users, the mailbox usage report, report settings and a
mailbox's userPurpose; and, in the partner's own tenant, its GDAP
relationships (gdap.py). Collections follow ``@odata.nextLink`` until it is absent
(users page at most 999 at a time; subscribedSkus does not page today but
may). Throttling and server faults are handled by ``HttpApi``; this client
paces itself with a per-tenant and per-app token bucket and turns Graph's
errors into the typed errors of ``errors.py``: a 403 for a read whose
permission the token's roles lack is ``PermissionsMissing`` (permissions.py),
any other 403 a lapsed relationship.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from app.services.http import HttpApi
from app.services.microsoft.config import GRAPH_SCOPE
from app.services.microsoft.errors import (
    GdapMissing,
    MalformedResponse,
    MicrosoftError,
    PermissionsMissing,
    RequestRejected,
    TokenRefused,
)
from app.services.microsoft.fields import Reader, json_body, said, shown
from app.services.microsoft.permissions import lacking_for_call
from app.services.microsoft.ratelimit import RateLimiter
from app.services.microsoft.tokens import TokenProvider

#: What license filters and descriptions need of a user. assignedLicenses is
#: not in Graph's default property set: it must be selected (APIS.md §A1).
USER_FIELDS = ("id", "userPrincipalName", "displayName", "accountEnabled", "officeLocation", "department",
               "city", "state", "userType", "assignedLicenses")

MAX_PAGE = 999  # Graph refuses $top above 999 on /users and /groups
REPORT_PAGE = 200  # the mailbox usage report's JSON pages hold 200 rows by default
RELATIONSHIPS_PAGE = 300  # delegatedAdminRelationships allows $top up to 300
#: Advanced queries ($count, OData casts) need this header (APIS.md §A4).
ADVANCED = {"ConsistencyLevel": "eventual"}
#: What a $filter keeps unescaped in a URL: OData's own punctuation (quotes are doubled, not escaped).
_ODATA_SAFE = "'(),/:$"
MAX_PAGES = 10_000  # a nextLink loop that never ends is a server bug, not data

# Resource-unit costs of Graph's identity throttling (APIS.md §A1).
COST_SUBSCRIBED_SKUS = 3
COST_USERS_SELECTED = 1  # 2, minus 1 with $select
COST_OTHER = 1


class GraphClient:
    def __init__(self, api: HttpApi, tokens: TokenProvider, limiter: RateLimiter | None = None,
                 page_size: int = MAX_PAGE) -> None:
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"Graph pages hold 1 to {MAX_PAGE} items, not {page_size}")
        self.api = api
        self.tokens = tokens
        self.limiter = limiter
        self.page_size = page_size

    def subscribed_skus(self, tenant: str) -> list[Reader]:
        return self._collection(tenant, "subscribedSkus", COST_SUBSCRIBED_SKUS, "subscribedSkus")

    def directory_subscriptions(self, tenant: str) -> list[Reader]:
        return self._collection(tenant, "directory/subscriptions", COST_OTHER, "directory/subscriptions")

    def users(self, tenant: str, fields: tuple[str, ...] = USER_FIELDS, where: str = "") -> list[Reader]:
        """The tenant's users with ``fields``; ``where`` is an OData $filter Graph runs without the advanced
        query parameters (eq on accountEnabled and userType, APIS.md §A4)."""
        # $-options are written literally, as Graph's own documentation does.
        path = f"users?$select={','.join(fields)}&$top={self.page_size}" + (
            f"&$filter={quote(where, safe=_ODATA_SAFE)}" if where else "")
        return self._collection(tenant, path, COST_USERS_SELECTED, "users")

    def group_pages(self, tenant: str, where: str = "", page_size: int | None = None) -> Iterator[list[Reader]]:
        """The tenant's groups (id, displayName), a page at a time: a picker shows the first before the rest
        is read. ``where`` is an OData $filter such as ``displayName eq 'Sales'``."""
        path = f"groups?$select=id,displayName&$top={page_size or self.page_size}" + (
            f"&$filter={quote(where, safe=_ODATA_SAFE)}" if where else "")
        for items, _ in self._pages(tenant, path, COST_OTHER, "groups"):
            yield items

    def group_member_users(self, tenant: str, group_id: str, fields: tuple[str, ...]) -> tuple[list[Reader], int]:
        """Every user under a group, nested groups included, and Graph's ``@odata.count`` of them.

        The OData cast to users is an advanced query: it needs ``ConsistencyLevel: eventual`` and
        ``$count=true`` (APIS.md §A4), and reads an index that can lag recent changes by a little.
        """
        path = (f"groups/{quote(group_id, safe='')}/transitiveMembers/microsoft.graph.user?$count=true"
                f"&$select={','.join(fields)}&$top={self.page_size}")
        out: list[Reader] = []
        count: int | None = None
        for items, envelope in self._pages(tenant, path, COST_OTHER, "groups/transitiveMembers", ADVANCED):
            if count is None:
                count = envelope.count("@odata.count")
            out.extend(items)
        assert count is not None  # _pages yields at least one page
        return out, count

    def mailbox_usage(self, tenant: str, period: str = "D7") -> list[Reader]:
        """The rows of the mailbox usage report, read as JSON from Graph's beta endpoint (see counts.py)."""
        base = self.api.base_url.rsplit("/", 1)[0]
        path = (f"{base}/beta/reports/getMailboxUsageDetail(period='{period}')?$format=application/json"
                f"&$top={REPORT_PAGE}")
        return self._collection(tenant, path, COST_OTHER, "reports/getMailboxUsageDetail")

    def report_settings(self, tenant: str) -> Reader:
        body = self._get(tenant, "admin/reportSettings", COST_OTHER, "admin/reportSettings")
        return Reader(body, "admin/reportSettings", tenant)

    def user_purpose(self, tenant: str, user: str) -> Reader | None:
        """The answer to ``/users/{id}/mailboxSettings/userPurpose``; None when the user has no mailbox."""
        body = self._get(tenant, f"users/{quote(user, safe='@')}/mailboxSettings/userPurpose", COST_OTHER,
                         "mailboxSettings/userPurpose", absent_ok=True)
        return None if body is None else Reader(body, f"users/{user}/mailboxSettings/userPurpose", tenant)

    def delegated_admin_relationships(self, partner_tenant: str) -> list[Reader]:
        """The partner's GDAP relationships with its customers, read in its own tenant (APIS.md §A4)."""
        path = f"tenantRelationships/delegatedAdminRelationships?$top={RELATIONSHIPS_PAGE}"
        return self._collection(partner_tenant, path, COST_OTHER, "delegatedAdminRelationships")

    # -- plumbing -----------------------------------------------------------

    def _collection(self, tenant: str, path: str, cost: int, label: str) -> list[Reader]:
        """Every item of a collection, across pages; all or nothing."""
        return [item for items, _ in self._pages(tenant, path, cost, label) for item in items]

    def _pages(self, tenant: str, path: str, cost: int, label: str,
               headers: dict[str, str] | None = None) -> Iterator[tuple[list[Reader], Reader]]:
        """Each page of a collection: its items and its envelope."""
        url = path
        start = 0
        for page in range(MAX_PAGES):
            body = self._get(tenant, url, cost, label, headers)
            items, next_url = read_page(body, label, page, start, tenant)
            start += len(items)
            yield items, Reader(body, f"{label} page {page + 1}", tenant)
            if next_url is None:
                return
            self._check_next_link(next_url, tenant, label)
            url = next_url
        raise MalformedResponse(f"({label} kept paging past {MAX_PAGES} pages, tenant {tenant})", tenant_id=tenant)

    def _check_next_link(self, url: str, tenant: str, label: str) -> None:
        """A nextLink must stay on Graph: the bearer token goes with it."""
        try:
            here, there = urlsplit(self.api.base_url), urlsplit(url)
            same = (there.scheme, there.netloc.lower()) == (here.scheme, here.netloc.lower())
        except ValueError:  # e.g. an unclosed [ in the host
            same = False
        if not same:
            raise MalformedResponse(f"({label} @odata.nextLink points away from Graph: {shown(url, 80)}, "
                                    f"tenant {tenant})", tenant_id=tenant)

    def _get(self, tenant: str, url: str, cost: int, label: str, headers: dict[str, str] | None = None,
             absent_ok: bool = False) -> Any:
        """The JSON of a GET; with ``absent_ok``, None for a 404 (the thing asked about does not exist)."""
        for attempt in (1, 2):
            if self.limiter is not None:
                self.limiter.acquire(tenant, cost)
            token = self.tokens.token(tenant, GRAPH_SCOPE)
            sent = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                    "client-request-id": str(uuid.uuid4()), **(headers or {})}
            response = self.api.request("GET", url, headers=sent, endpoint=label)
            if response.status_code == 401 and attempt == 1:
                # Expired or revoked before we thought: get a new one, once.
                self.tokens.invalidate(tenant, GRAPH_SCOPE)
                continue
            if response.status_code == 403:
                # Missing consent for this read looks like a lapsed relationship: the token's roles tell.
                lacking = lacking_for_call(label, token, tenant)
                if lacking is not None:
                    error = graph_error(response, tenant, label)
                    raise PermissionsMissing(f"(tenant {tenant}: Graph {label} needs {lacking}, which the app's "
                                             "token lacks)", missing=(lacking,), tenant_id=tenant,
                                             code=error.code)
            if response.status_code == 404 and absent_ok:
                return None
            if response.status_code >= 400:
                raise graph_error(response, tenant, label)
            return json_body(response, f"Graph {label}", tenant)
        raise AssertionError("unreachable")


def read_page(body: Any, label: str, page: int, start: int, tenant: str) -> tuple[list[Reader], str | None]:
    """One page of a collection: its items (numbered from ``start``) and its ``@odata.nextLink``, if any."""
    envelope = Reader(body, f"{label} page {page + 1}", tenant)
    items = [Reader(item, f"{label}[{start + i}]", tenant) for i, item in enumerate(envelope.list("value"))]
    return items, envelope.str("@odata.nextLink", "") or None


def graph_error(response: requests.Response, tenant: str, label: str) -> MicrosoftError:
    """Graph's {"error": {"code", "message"}} as a typed error (any other body: the status alone)."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = said(error.get("code") or "", 80) or f"HTTP {response.status_code}"
    message = said(error.get("message") or "")
    detail = f"(tenant {tenant}: Graph {label} answered {response.status_code} {code}" + (
        f": {message})" if message else ")")
    if response.status_code == 403:
        return GdapMissing(detail, tenant_id=tenant, code=code)
    if response.status_code == 401:
        return TokenRefused(detail, tenant_id=tenant, code=code)
    return RequestRejected(detail, tenant_id=tenant, code=code)
