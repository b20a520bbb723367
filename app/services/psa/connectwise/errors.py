"""ConnectWise's failures, as the port's typed errors with ConnectWise-specific advice.

An error answer (``{code, message, errors[...]}``) becomes the port's error
for its status: 401 names the keys (or the clientId) to check, 403 the
security role's module and level, 404 and 400 quote ConnectWise's own words
(``plain``). No key or header is ever part of one.
"""

from __future__ import annotations

from typing import Any

from app.services.psa import limits
from app.services.psa.limits import plain
from app.services.psa.port import (
    PsaAuthError,
    PsaError,
    PsaNotFound,
    PsaPermissionError,
    PsaValidationError,
)

#: Security-role modules behind each path (System > Security Roles), for 403 messages.
MODULES = (
    ("/company/companies", "Companies > Company Maintenance"),
    ("/company/contacts", "Companies > Contacts"),
    ("/finance/agreements", "Finance > Agreements"),
    ("/finance/billingCycles", "Finance > Agreements"),
    ("/procurement/catalog", "Procurement > Product Catalog"),
)
LEVELS = {"GET": "Inquire", "POST": "Add", "PATCH": "Edit", "PUT": "Edit", "DELETE": "Delete"}


def answer_error(status: int, body: Any, method: str, endpoint: str, company_id: str) -> PsaError:
    """The port's error for ConnectWise's answer ``status`` with ``body`` (its decoded JSON, or None)."""
    body = body if isinstance(body, dict) else {}
    code, message = said(body.get("code")), said(body.get("message"))
    listed = body.get("errors")
    errors = listed if isinstance(listed, list) else []
    details = [f"{said(e.get('field')) or said(e.get('resource'))}: {said(e.get('message'))}".strip(": ")
               for e in errors[:20] if isinstance(e, dict)]
    words = plain("; ".join(x for x in (message, *details) if x)) or f"HTTP {status}"
    if status == 401:
        if "clientid" in f"{code} {message}".lower():
            return PsaAuthError("ConnectWise requires a clientId with every request: register one at "
                                "developer.connectwise.com/ClientID and enter it in the PSA settings")
        return PsaAuthError(f"ConnectWise refused the API keys for company {company_id!r}: "
                            "check the company id and the API member's public and private keys")
    if status == 403:
        module = next((m for prefix, m in MODULES if endpoint.startswith(prefix)), endpoint)
        level = LEVELS.get(method, method)
        return PsaPermissionError(f"the API member's security role needs {level} level on {module} "
                                  f"(ConnectWise refused {method} {endpoint}: {words})")
    if status == 404:
        return PsaNotFound(f"ConnectWise has no such record ({method} {endpoint}): {words}")
    if status == 400:
        return PsaValidationError(f"ConnectWise refused {method} {endpoint}: {words}")
    return PsaError(f"ConnectWise answered HTTP {status} to {method} {endpoint}: {words}")


def said(value: Any) -> str:
    """A field of ConnectWise's error body as text ("" when absent), whatever its type."""
    if value is None or value == "":
        return ""
    return value if isinstance(value, str) else limits.short(value)
