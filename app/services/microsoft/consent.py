"""Admin consent for seatsync's app in a customer tenant: the link to send its admin, and the answer.

Microsoft's admin-consent page (APIS.md §A1, §A4) grants every application
permission configured on the app registration. The v1 form
(``/{tenant}/adminconsent``) needs no scope; the v2 form
(``/{tenant}/v2.0/adminconsent``) needs ``scope`` and, for application
permissions, only ``/.default``. After the admin's answer Microsoft
redirects to ``redirect_uri`` (a URI registered on the app): ``tenant``,
``state`` and ``admin_consent=True`` on success, ``error`` and
``error_description`` otherwise (v2 sends ``admin_consent=True`` on errors
too). Microsoft warns the returned tenant can be forged: the answer only
says what to check next (a token request in that tenant), never proves
consent by itself; ``state`` ties it to the link seatsync made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from app.services.microsoft.config import GRAPH_SCOPE
from app.services.microsoft.errors import MalformedResponse

_TENANT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|"
                     r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                     r"[A-Za-z0-9])?)+")


def admin_consent_url(tenant: str, client_id: str, redirect_uri: str, state: str, *,
                      authority_host: str = "login.microsoftonline.com", v2: bool = False,
                      scope: str = GRAPH_SCOPE) -> str:
    """The link a customer tenant's admin opens to consent seatsync's app.

    ``tenant`` is the customer's tenant id or a verified domain (v1 also takes "common", v2
    "organizations": the admin's own tenant then); ``state`` is echoed back and must be checked
    (``read_consent_answer``).
    """
    if not state:
        raise ValueError("admin consent needs a state to tie Microsoft's answer to this link")
    if not redirect_uri.lower().startswith("https://") and not redirect_uri.lower().startswith("http://localhost"):
        raise ValueError("the redirect URI must be https (or http://localhost)")
    shared = "organizations" if v2 else "common"  # the one each form takes for "the admin's own tenant"
    if not (_TENANT.fullmatch(tenant) or tenant.lower() == shared):
        raise ValueError(f"{tenant!r} is not a tenant id or domain (nor {shared!r}, which this form takes)")
    if v2:
        if not scope.endswith("/.default"):
            raise ValueError("application permissions are asked for with a /.default scope")
        query = {"client_id": client_id, "scope": scope, "redirect_uri": redirect_uri, "state": state}
        return f"https://{authority_host}/{tenant}/v2.0/adminconsent?{urlencode(query)}"
    query = {"client_id": client_id, "state": state, "redirect_uri": redirect_uri}
    return f"https://{authority_host}/{tenant}/adminconsent?{urlencode(query)}"


@dataclass(frozen=True)
class ConsentAnswer:
    granted: bool
    tenant_id: str = ""  # on success: the tenant that consented (as Microsoft says; check it with a token)
    error: str = ""  # e.g. permission_denied, consent_required
    description: str = ""


def read_consent_answer(redirected_to: str, state: str) -> ConsentAnswer:
    """Microsoft's redirect after the admin's answer, checked against the ``state`` of the link."""
    query = {k: v[-1] for k, v in parse_qs(urlsplit(redirected_to).query, keep_blank_values=True).items()}
    error = query.get("error", "")
    if error:
        # v1 sends no state with a refusal (APIS.md §A4); one that is sent must match.
        if "state" in query and query["state"] != state:
            raise MalformedResponse("(the admin-consent answer belongs to another request: its state differs)")
        return ConsentAnswer(granted=False, error=error, description=query.get("error_description", "")[:300])
    if query.get("state") != state:
        raise MalformedResponse("(the admin-consent answer belongs to another request: its state differs)")
    tenant = query.get("tenant", "")
    if query.get("admin_consent", "").lower() != "true" or not _TENANT.fullmatch(tenant):
        raise MalformedResponse("(the admin-consent answer says neither consent nor an error)")
    return ConsentAnswer(granted=True, tenant_id=tenant.lower())
