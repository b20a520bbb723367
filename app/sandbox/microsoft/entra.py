"""Microsoft Entra ID's v2.0 endpoints for app-only tokens (APIS.md §A1, §E, §F).

Discovery answers the openid-configuration msal reads first; the token
endpoint takes the client-credentials form (or HTTP Basic client auth) and
answers like Entra: 200 {token_type, expires_in, ext_expires_in,
access_token}, or {error, error_description "AADSTSnnnn: ...", error_codes,
timestamp, trace_id, correlation_id} with 400 (request) or 401 (client).
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from app.sandbox.microsoft.common import AUDIENCES, base_url, new_id, now_iso
from app.sandbox.server import Request, Response

if TYPE_CHECKING:
    from app.sandbox.microsoft.app import MicrosoftSandbox

GRANT = "client_credentials"


def register(sb: MicrosoftSandbox) -> None:
    sb.route("GET", "/{tenant}/v2.0/.well-known/openid-configuration", lambda r: discovery(sb, r),
             "entra:openid-configuration")
    sb.route("POST", "/{tenant}/oauth2/v2.0/token", lambda r: token(sb, r), "entra:token")


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
    if key.lower() == sb.scenario.partner_tenant_id:
        return sb.scenario.partner_tenant_id
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
        if client_id != scenario.client_id or (customer is not None and not customer.consent):
            return error(400, "unauthorized_client", 700016,
                         f"Application with identifier '{client_id}' was not found in the directory "
                         f"'{customer.name if customer else tenant}'. This can happen if the application has not "
                         "been installed by the administrator of the tenant or consented to by any user in the "
                         "tenant. You may have sent your authentication request to the wrong tenant.")
        if not secret:
            return error(401, "invalid_client", 7000218,
                         "The request body must contain the following parameter: 'client_assertion' or "
                         "'client_secret'.")
        if secret != scenario.client_secret:
            return error(401, "invalid_client", 7000215,
                         "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                         f"secret value, not the client secret ID, for a secret added to app '{client_id}'.")
        if scenario.secret_expired:
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
