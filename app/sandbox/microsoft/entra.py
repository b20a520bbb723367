"""Microsoft Entra ID's v2.0 endpoints for app-only tokens, and its admin-consent page (APIS.md §A1, §A4).

Discovery answers the openid-configuration msal reads first; the token
endpoint takes the client-credentials form (or HTTP Basic client auth) and
answers like Entra: 200 {token_type, expires_in, ext_expires_in,
access_token}, or {error, error_description "AADSTSnnnn: ...", error_codes,
timestamp, trace_id, correlation_id} with 400 (request) or 401 (client). An
app not consented in the tenant is 400 unauthorized_client AADSTS700016,
checked before the secret (a wrong secret is 401 invalid_client
AADSTS7000215).

``/{tenant}/adminconsent`` (v1) and ``/{tenant}/v2.0/adminconsent`` (v2)
stand in for the page a customer's admin approves: a GET shows the request
(after checking the app, its registered redirect URI and, on v2, the
``/.default`` scope, as Entra does before showing anything); the page's form
posts ``decision=accept`` or ``decision=cancel``. Accepting consents the app
in the tenant and redirects to ``redirect_uri`` with
``tenant``/``state``/``admin_consent=True`` (v2 also ``scope``); cancelling
redirects with ``error=permission_denied`` (v1) or
``admin_consent=True&error=consent_required`` and AADSTS65004 (v2). The
sandbox needs the customer's tenant (GUID or domain) in the address: it has
no admin to sign in, so "common" and "organizations" are refused.
"""

from __future__ import annotations

import base64
import binascii
import html
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

from app.sandbox.microsoft.common import AUDIENCES, base_url, new_id, now_iso
from app.sandbox.server import Request, Response

if TYPE_CHECKING:
    from app.sandbox.microsoft.app import MicrosoftSandbox

GRANT = "client_credentials"


def register(sb: MicrosoftSandbox) -> None:
    sb.route("GET", "/{tenant}/v2.0/.well-known/openid-configuration", lambda r: discovery(sb, r),
             "entra:openid-configuration")
    sb.route("POST", "/{tenant}/oauth2/v2.0/token", lambda r: token(sb, r), "entra:token")
    sb.route("GET", "/{tenant}/adminconsent", lambda r: consent_page(sb, r, "v1"), "entra:adminconsent")
    sb.route("POST", "/{tenant}/adminconsent", lambda r: consent_decision(sb, r, "v1"), "entra:adminconsent")
    sb.route("GET", "/{tenant}/v2.0/adminconsent", lambda r: consent_page(sb, r, "v2"), "entra:adminconsent-v2")
    sb.route("POST", "/{tenant}/v2.0/adminconsent", lambda r: consent_decision(sb, r, "v2"),
             "entra:adminconsent-v2")


def error(status: int, code: str, aadsts: int, text: str, headers: dict[str, str] | None = None) -> Response:
    trace, correlation = new_id(), new_id()
    stamp = now_iso().replace("T", " ").rstrip("Z")
    return Response.json({
        "error": code,
        "error_description": f"AADSTS{aadsts}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\n"
                             f"Timestamp: {stamp}Z",
        "error_codes": [aadsts], "timestamp": f"{stamp}Z", "trace_id": trace, "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={aadsts}",
    }, status, headers)


def throttled(retry_after: int | None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return error(429, "temporarily_unavailable", 50196,
                 "The server temporarily throttled your request. Please try again later.", headers)


def _resolve_tenant(sb: MicrosoftSandbox, key: str) -> str | None:
    """The tenant GUID for a GUID or a verified domain (Entra accepts both)."""
    if key.lower() in sb.scenario.partners:
        return key.lower()
    found = sb.scenario.tenant(key)
    return found.id if found else None


def _no_tenant(key: str) -> Response:
    return error(400, "invalid_tenant", 90002,
                 f"Tenant '{key}' not found. Check to make sure you have the correct tenant ID and are signing "
                 "into the correct cloud. Check with your subscription administrator, this may happen if there "
                 "are no active subscriptions for the tenant.")


#: The documents Entra serves for no tenant in particular: their endpoints name the word, their issuer
#: "{tenantid}" (a token's issuer names the tenant that signed it).
SHARED = ("organizations", "common")


def discovery(sb: MicrosoftSandbox, request: Request) -> Response:
    key = request.params["tenant"]
    shared = key.lower() in SHARED
    tenant = key.lower() if shared else _resolve_tenant(sb, key)
    if tenant is None:
        return _no_tenant(key)
    base = f"{base_url(request)}/{tenant}"
    issuer = f"{base_url(request)}/{{tenantid}}/v2.0" if shared else f"{base}/v2.0"
    return Response.json({
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base_url(request)}/oidc/userinfo",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "msgraph_host": "graph.microsoft.com",
    })


def token(sb: MicrosoftSandbox, request: Request) -> Response:
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return error(400, "invalid_request", 900144, "The request body must contain the following parameter: "
                                                     "'grant_type'.")
    form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    basic_id, basic_secret = _basic_auth(request)
    client_id = form.get("client_id") or basic_id or ""
    secret = form.get("client_secret") or basic_secret
    scenario = sb.scenario
    key = request.params["tenant"]
    with sb.lock:
        tenant = _resolve_tenant(sb, key)
        if tenant is None:
            return _no_tenant(key)
        for name in ("grant_type", "client_id", "scope"):
            if not (form.get(name) or (name == "client_id" and client_id)):
                return error(400, "invalid_request", 900144,
                             f"The request body must contain the following parameter: '{name}'.")
        if form["grant_type"] != GRANT:
            return error(400, "unsupported_grant_type", 70003,
                         f"The app requested an unsupported grant type '{form['grant_type']}'.")
        scopes = form["scope"].split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return error(400, "invalid_scope", 1002012,
                         f"The provided value for scope {form['scope']} is not valid. Client credential flows "
                         "must have a scope value with /.default suffixed to the resource identifier "
                         "(application ID URI).")
        audience = scopes[0][: -len("/.default")]
        if audience not in AUDIENCES:
            return error(400, "invalid_resource", 500011,
                         f"The resource principal named {audience} was not found in the tenant named {tenant}. "
                         "This can happen if the application has not been installed by the administrator of the "
                         "tenant or consented to by any user in the tenant.")
        customer = scenario.tenants.get(tenant)
        app = scenario.app(client_id)
        if app is None or not scenario.consented(tenant, client_id):
            return error(400, "unauthorized_client", 700016,
                         f"Application with identifier '{client_id}' was not found in the directory "
                         f"'{customer.name if customer else tenant}'. This can happen if the application has not "
                         "been installed by the administrator of the tenant or consented to by any user in the "
                         "tenant. You may have sent your authentication request to the wrong tenant.")
        if not secret:
            return error(401, "invalid_client", 7000218,
                         "The request body must contain the following parameter: 'client_assertion' or "
                         "'client_secret'.")
        if secret != app.client_secret:
            return error(401, "invalid_client", 7000215,
                         "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                         f"secret value, not the client secret ID, for a secret added to app '{client_id}'.")
        if app.secret_expired:
            return error(401, "invalid_client", 7000222,
                         f"The provided client secret keys for app '{client_id}' are expired. Visit the Azure "
                         "portal to create new keys for your app or consider using certificate credentials for "
                         "added security.")
    access, lifetime = sb.issue(tenant, audience, client_id)
    return Response.json({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                          "access_token": access})


def _basic_auth(request: Request) -> tuple[str | None, str | None]:
    """RFC 6749 §2.3.1 client authentication, which Entra also accepts."""
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        user, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return user, password


# -- admin consent -------------------------------------------------------------


def _page(status: int, title: str, text: str, form: str = "") -> Response:
    return Response.html(f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head><body>"
                         f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{form}</body></html>", status)


def _consent_error(aadsts: int, text: str) -> Response:
    """Entra's error page: what it shows instead of redirecting when it cannot trust the redirect URI."""
    return _page(400, "Sign in", f"AADSTS{aadsts}: {text}")


def _registered(uri: str, registered: list[str], version: str) -> bool:
    """v2 needs an exact match; v1 also allows extra path segments after a registered URI (APIS.md §A4)."""
    if uri in registered:
        return True
    if version != "v1":
        return False
    parts = urlsplit(uri)
    return any(parts.path.startswith(urlsplit(r).path.rstrip("/") + "/") and
               (parts.scheme, parts.netloc) == (urlsplit(r).scheme, urlsplit(r).netloc) for r in registered)


def _consent_request(sb: MicrosoftSandbox, request: Request, version: str,
                     fields: dict[str, str]) -> tuple[str, str, str, str] | Response:
    """(tenant, client id, redirect URI, scope) of a valid consent request, or Entra's error page."""
    key = request.params["tenant"]
    if key.lower() in SHARED:
        return _consent_error(90023, "The sandbox has no admin to sign in: name the customer's tenant in the "
                                     "address.")
    with sb.lock:
        tenant = _resolve_tenant(sb, key)
        if tenant is None:
            return _consent_error(90002, f"Tenant '{key}' not found.")
        client_id, uri = fields.get("client_id", ""), fields.get("redirect_uri", "")
        app = sb.scenario.app(client_id)
        if app is None:
            return _consent_error(700016, f"Application with identifier '{client_id}' was not found in the "
                                          "directory 'Microsoft'.")
        if not uri or not _registered(uri, app.redirect_uris, version):
            return _consent_error(50011, f"The redirect URI '{uri}' specified in the request does not match the "
                                         f"redirect URIs configured for the application '{client_id}'.")
        if tenant in sb.scenario.partners and tenant != app.tenant_id:
            return _consent_error(90023, "The sandbox keeps consent in customer tenants only.")
    scope = fields.get("scope", "")
    if version == "v2" and (not scope or not all(s.endswith("/.default") for s in scope.split())):
        return _consent_error(70011, f"The provided value for the input parameter 'scope' is not valid: "
                                     f"'{scope}'. Application permissions are asked with /.default.")
    return tenant, client_id, uri, scope


def consent_page(sb: MicrosoftSandbox, request: Request, version: str) -> Response:
    fields = {k: v[-1] for k, v in request.query.items()}
    checked = _consent_request(sb, request, version, fields)
    if isinstance(checked, Response):
        return checked
    tenant, client_id, _, _ = checked
    app = sb.scenario.app(client_id)
    assert app is not None
    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in fields.items() if k in ("client_id", "redirect_uri", "state", "scope"))
    form = (f'<form method="post">{hidden}<button name="decision" value="accept">Accept</button>'
            f'<button name="decision" value="cancel">Cancel</button></form>')
    return _page(200, "Permissions requested", f"{app.name}'s app asks for the application permissions "
                                               f"configured on it, in tenant {tenant}. Accept for your "
                                               "organization?", form)


def consent_decision(sb: MicrosoftSandbox, request: Request, version: str) -> Response:
    fields = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    checked = _consent_request(sb, request, version, fields)
    if isinstance(checked, Response):
        return checked
    tenant, client_id, uri, scope = checked
    state = fields.get("state")
    decision = fields.get("decision", "")
    if decision == "accept":
        with sb.lock:
            if tenant not in sb.scenario.partners:
                sb.scenario.grant_consent(tenant, client_id)
        answer = {"tenant": tenant, "state": state, "admin_consent": "True"} if version == "v1" else {
            "admin_consent": "True", "tenant": tenant, "scope": scope, "state": state}
    elif decision == "cancel":
        answer = {"error": "permission_denied", "error_description": "The admin canceled the request"} \
            if version == "v1" else {
                "admin_consent": "True", "error": "consent_required",
                "error_description": "AADSTS65004: The resource owner or authorization server denied the request.",
                "state": state}
    else:
        return _consent_error(900144, "The request body must contain the following parameter: 'decision'.")
    query = urlencode({k: v for k, v in answer.items() if v is not None})
    return Response(302, b"", {"Location": f"{uri}{'&' if '?' in uri else '?'}{query}"})
