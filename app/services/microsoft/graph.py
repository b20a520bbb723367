"""Microsoft Graph, app-only, per customer tenant (APIS.md §A1).

Three reads: ``subscribedSkus`` (license counts), ``directory/subscriptions``
(links a SKU's subscriptions to Partner Center ids) and ``users`` with their
assigned licenses. Collections follow ``@odata.nextLink`` until it is absent
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
from typing import Any
from urllib.parse import urlsplit

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
               "city", "state", "assignedLicenses")

MAX_PAGE = 999  # Graph refuses $top above 999 on /users
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

    def users(self, tenant: str, fields: tuple[str, ...] = USER_FIELDS) -> list[Reader]:
        # $-options are written literally, as Graph's own documentation does.
        path = f"users?$select={','.join(fields)}&$top={self.page_size}"
        return self._collection(tenant, path, COST_USERS_SELECTED, "users")

    # -- plumbing -----------------------------------------------------------

    def _collection(self, tenant: str, path: str, cost: int, label: str) -> list[Reader]:
        """Every item of a collection, across pages; all or nothing."""
        out: list[Reader] = []
        url = path
        for page in range(MAX_PAGES):
            items, next_url = read_page(self._get(tenant, url, cost, label), label, page, len(out), tenant)
            out.extend(items)
            if next_url is None:
                return out
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

    def _get(self, tenant: str, url: str, cost: int, label: str) -> Any:
        for attempt in (1, 2):
            if self.limiter is not None:
                self.limiter.acquire(tenant, cost)
            token = self.tokens.token(tenant, GRAPH_SCOPE)
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                       "client-request-id": str(uuid.uuid4())}
            response = self.api.request("GET", url, headers=headers, endpoint=label)
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
