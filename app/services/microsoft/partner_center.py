"""Partner Center REST API: the partner's customers and their subscriptions (APIS.md §A2).

App-only token for the partner tenant (scope api.partnercenter.microsoft.com).
Every request carries a fresh ``MS-RequestId`` (HttpApi's retries resend the
same headers, so a retried request keeps its id, as Partner Center asks) and
an ``MS-CorrelationId`` shared by the requests of one operation (all pages of
a listing). The customer list pages by seek: the next page is asked with
``seekOperation=Next`` and the ``MS-ContinuationToken`` header.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import requests

from app.services.http import HttpApi
from app.services.microsoft.config import PARTNER_CENTER_SCOPE
from app.services.microsoft.errors import (
    GdapMissing,
    MalformedResponse,
    MicrosoftError,
    PartnerCenterDenied,
    RequestRejected,
    TenantNotFound,
    TokenRefused,
)
from app.services.microsoft.fields import Reader, json_body, said, shown
from app.services.microsoft.ratelimit import RateLimiter
from app.services.microsoft.tokens import TokenProvider

PAGE_SIZE = 500
MAX_PAGES = 10_000
#: What a header value may hold (visible ASCII and spaces, no line break).
_HEADER_SAFE = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")

# Partner Center error codes (APIS.md §A2) -> the error a person can act on.
_CODES: dict[str, type[MicrosoftError]] = {
    "20002": GdapMissing,  # no relationship with this customer
    "60003": TenantNotFound,  # tenant not found
}


class PartnerCenterClient:
    def __init__(self, api: HttpApi, tokens: TokenProvider, partner_tenant_id: str,
                 limiter: RateLimiter | None = None, page_size: int = PAGE_SIZE) -> None:
        self.api = api
        self.tokens = tokens
        self.partner_tenant_id = partner_tenant_id
        self.limiter = limiter
        self.page_size = page_size

    def customers(self) -> list[Reader]:
        return list(self.iter_customers())

    def iter_customers(self) -> Iterator[Reader]:
        correlation = str(uuid.uuid4())
        token: str | None = None
        for page in range(MAX_PAGES):
            if token is None:
                body = self._get(f"customers?size={self.page_size}", correlation, "customers", "")
            else:
                body = self._get(f"customers?size={self.page_size}&seekOperation=Next", correlation, "customers",
                                 "", extra={"MS-ContinuationToken": token})
            items, token = read_customers_page(body, page)
            yield from items
            if token is None:
                return
        raise MalformedResponse(f"(customers kept paging past {MAX_PAGES} pages)")

    def customer(self, tenant: str) -> Reader:
        body = self._get(f"customers/{tenant}", str(uuid.uuid4()), "customer", tenant)
        return Reader(body, "customer", tenant)

    def subscriptions(self, tenant: str) -> list[Reader]:
        """A customer's subscriptions (no paging is documented: one response)."""
        body = self._get(f"customers/{tenant}/subscriptions", str(uuid.uuid4()), "subscriptions", tenant)
        return read_subscriptions(body, tenant)

    def _get(self, path: str, correlation: str, label: str, tenant: str,
             extra: dict[str, str] | None = None) -> Any:
        for attempt in (1, 2):
            if self.limiter is not None:
                self.limiter.acquire(tenant or self.partner_tenant_id)
            token = self.tokens.token(self.partner_tenant_id, PARTNER_CENTER_SCOPE)
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                       "MS-RequestId": str(uuid.uuid4()), "MS-CorrelationId": correlation,
                       "MS-Contract-Version": "v1", **(extra or {})}
            response = self.api.request("GET", path, headers=headers, endpoint=label)
            if response.status_code == 401 and attempt == 1:
                self.tokens.invalidate(self.partner_tenant_id, PARTNER_CENTER_SCOPE)
                continue
            if response.status_code >= 400:
                raise partner_center_error(response, tenant, label)
            return json_body(response, f"Partner Center {label}", tenant)
        raise AssertionError("unreachable")


def read_customers_page(body: Any, page: int) -> tuple[list[Reader], str | None]:
    """One page of the customer list: its customers, and the continuation token of the next page, if any.

    The token goes back in a header: one that could not be sent as one is a malformed answer.
    """
    envelope = Reader(body, f"customers page {page + 1}")
    items = [Reader(item, f"customers page {page + 1}.items[{i}]") for i, item in enumerate(envelope.list("items"))]
    token = envelope.str("continuationToken", "") or None
    links = envelope.obj_at("links", required=False)
    if token is None or links is None or links.obj.get("next") is None:
        return items, None
    if not _HEADER_SAFE.fullmatch(token):
        raise envelope.fail("continuationToken", f"is {shown(token)}, which cannot be sent back as a header")
    return items, token


def read_subscriptions(body: Any, tenant: str) -> list[Reader]:
    """The subscriptions of a customer's subscription list."""
    envelope = Reader(body, "subscriptions", tenant)
    return [Reader(item, f"subscriptions.items[{i}]", tenant) for i, item in enumerate(envelope.list("items"))]


def partner_center_error(response: requests.Response, tenant: str, label: str) -> MicrosoftError:
    """Partner Center's {code, description, data, source} as a typed error (any other body: the status alone)."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        body = None
    body = body if isinstance(body, dict) else {}
    code = said(body.get("code") or "", 80) or f"HTTP {response.status_code}"
    text = said(body.get("description") or body.get("message") or "")
    who = f"tenant {tenant}: " if tenant else ""
    detail = f"({who}Partner Center {label} answered {response.status_code} {code}" + (f": {text})" if text else ")")
    kind = _CODES.get(code)
    if kind is not None:
        return kind(detail, tenant_id=tenant, code=code)
    if response.status_code == 401:
        return TokenRefused(detail, tenant_id=tenant, code=code)
    if response.status_code == 403:
        return (GdapMissing if tenant else PartnerCenterDenied)(detail, tenant_id=tenant, code=code)
    return RequestRejected(detail, tenant_id=tenant, code=code)
