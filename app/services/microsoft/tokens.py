"""App-only tokens per tenant from Microsoft Entra ID, through msal.

An msal ConfidentialClientApplication per token request (its authority is
``https://<host>/<tenant>``); the provider keeps each token and reuses it
until shortly before it expires. Entra's endpoints are discovered once per
provider, not once per tenant (``_MsalHttp``). msal is told not to do
instance discovery (the host is a setting so the sandbox can stand in for
login.microsoftonline.com, APIS.md §F) and sends its requests through the
token endpoint's ``HttpApi`` (timeouts, concurrency cap, 429 retries).

The provider also keeps each token's expiry on its own injectable clock, so
"refresh before expiry" does not depend on the wall clock in tests, and a
caller that got a 401 can ``invalidate`` a token the API no longer accepts.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msal

from app.services.http import HttpApi, OffOrigin
from app.services.microsoft.config import MicrosoftSettings
from app.services.microsoft.errors import (
    ConsentMissing,
    MalformedResponse,
    MicrosoftError,
    SecretInvalid,
    TenantNotFound,
    TokenRefused,
)
from app.services.microsoft.fields import json_body, said, shown

#: Refresh this many seconds before expiry (msal uses the same margin).
REFRESH_MARGIN = 300
#: The longest lifetime a token answer may state: Int32 seconds (Entra's tokens live an hour or so).
MAX_LIFETIME = 2**31 - 1
#: An access token (it goes into the Authorization header) or an address: visible ASCII, no spaces.
_VISIBLE = re.compile(r"[\x21-\x7e]+")
#: What msal raises, reading an answer that is not in Entra's shape (a body that is not JSON, a field of
#: another type): turned into MalformedResponse, never let through.
_MSAL_READ_FAILURES = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError, RecursionError)

# AADSTS codes (APIS.md §A1) -> the error a person can act on.
_AADSTS: dict[int, type[MicrosoftError]] = {
    700016: ConsentMissing,  # app not found in the directory: never consented
    7000215: SecretInvalid,  # invalid client secret
    7000222: SecretInvalid,  # client secret expired
    7000218: SecretInvalid,  # no client secret sent
    90002: TenantNotFound,  # tenant not found
    900023: TenantNotFound,  # tenant id is not a valid tenant
}


def error_from_entra(body: dict[str, Any], tenant: str) -> MicrosoftError:
    """Turn Entra's {error, error_description, error_codes} into a typed error."""
    codes = body.get("error_codes")
    code = next((c for c in codes if isinstance(c, int) and not isinstance(c, bool) and 0 < c < 10**9), None) \
        if isinstance(codes, list) else None
    # The description's first line holds the AADSTS text; then come trace ids.
    description = str(body.get("error_description") or body.get("error") or "").split(" Trace ID:")[0]
    summary = said(description, 400) or "no description"
    kind = _AADSTS.get(code, TokenRefused) if code is not None else TokenRefused
    return kind(f"(tenant {tenant}: {summary})", tenant_id=tenant, code=f"AADSTS{code}" if code else "")


@dataclass
class _Held:
    token: str
    expires_at: float  # on the provider's clock


#: The tenant-independent openid-configuration Entra serves for work and school accounts (its endpoints name
#: "organizations" where a tenant's name the tenant; its issuer names "{tenantid}"): fetched once, and each
#: tenant's document derived from it.
SHARED_TENANT = "organizations"
_DISCOVERY = re.compile(r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration")
_TOKEN_PATH = re.compile(r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token")


@dataclass(frozen=True)
class _Discovered:
    """A discovery answer derived from the shared document, as msal reads one (``status_code``, ``text``)."""

    text: str
    status_code: int = 200


class _MsalHttp:
    """The http_client msal calls, backed by the token endpoint's HttpApi, shared by every tenant.

    msal discovers a tenant's endpoints with a GET of its openid-configuration
    before its first token request. Entra's endpoints differ between tenants
    only by the tenant in their path, so the first discovery fetches the
    tenant-independent document once (``SHARED_TENANT``) and every tenant's
    is derived from it: a sync of a thousand tenants sends one discovery
    request, not a thousand. A tenant that does not exist is then refused at
    the token request (AADSTS90002), as discovery would have refused it.

    A discovery document that names a token endpoint away from the authority
    (msal would post the client secret there), and an answer that is not JSON
    or a token answer whose fields are of another type, are
    ``MalformedResponse`` before msal reads them.
    """

    def __init__(self, api: HttpApi) -> None:
        self.api = api
        self._lock = threading.Lock()
        self._shared: dict[str, Any] | None = None

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> Any:
        parts = urlsplit(url)
        found = _DISCOVERY.fullmatch(parts.path)
        if found is None or params or parts.query:  # not a tenant's discovery: asked as it is
            return self._discovery(url, _tenant_in(url), params, headers)[0]
        tenant = found["tenant"]
        with self._lock:
            if self._shared is None:
                shared = parts._replace(path=parts.path.replace(f"/{tenant}/", f"/{SHARED_TENANT}/", 1)).geturl()
                self._shared = self._discovery(shared, tenant, None, headers)[1]
            document = self._shared
        return _Discovered(json.dumps(_for_tenant(document, tenant)))

    def _discovery(self, url: str, tenant: str, params: Any, headers: Any) -> tuple[Any, dict[str, Any]]:
        response = self.api.request("GET", url, params=params, headers=headers, endpoint="openid-configuration")
        if 400 <= response.status_code < 500:
            raise error_from_entra(_json_or_empty(response), tenant)
        # msal posts the client secret to the token endpoint the document names: it must be the authority's.
        document = json_body(response, "Entra ID's openid-configuration", tenant)
        endpoint = document.get("token_endpoint") if isinstance(document, dict) else None
        if not isinstance(endpoint, str) or not _VISIBLE.fullmatch(endpoint):
            raise MalformedResponse(f"(tenant {tenant}: Entra ID's openid-configuration names the token "
                                    f"endpoint {shown(endpoint, 80)}, not an address)", tenant_id=tenant)
        if not _allows(self.api, endpoint):
            raise OffOrigin(f"Entra ID's openid-configuration for tenant {tenant} names the token endpoint "
                            f"{shown(endpoint, 80)}, not an address on {self.api.base_url}; nothing was sent there")
        return response, document

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any) -> Any:
        tenant = _tenant_in(url)
        # A token request changes nothing on the server, so it may be retried.
        response = self.api.request("POST", url, params=params, data=data, headers=headers, idempotent=True,
                                    endpoint="token")
        # msal reads the answer too, but says less of what is wrong with it.
        body = json_body(response, "Entra ID's token endpoint", tenant)
        if response.status_code == 200 and isinstance(body, dict) and "access_token" in body:
            _read_token(body, tenant)
        return response

    def close(self) -> None:  # the HttpApi owns the session
        pass


def _for_tenant(document: dict[str, Any], tenant: str) -> dict[str, Any]:
    """The shared document with ``tenant`` in each endpoint's path where the shared one names no tenant."""
    def one(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return value.replace(f"/{SHARED_TENANT}/", f"/{tenant}/").replace("{tenantid}", tenant)
    return {key: one(value) for key, value in document.items()}


def _tenant_in(url: str) -> str:
    """The tenant an Entra address names (its first path segment), for messages."""
    found = _TOKEN_PATH.fullmatch(urlsplit(url).path) or _DISCOVERY.fullmatch(urlsplit(url).path)
    return found["tenant"] if found else urlsplit(url).path.strip("/").split("/")[0]


class TokenProvider:
    """Thread-safe: one lock per tenant; tokens kept until shortly before they expire.

    An msal application is made for each token request and dropped after it
    (the tokens are kept here, on the provider's clock): nothing is held per
    tenant but its tokens, and a refusal msal would remember (e.g. just
    before the customer's admin granted consent) is never reused.
    """

    def __init__(self, settings: MicrosoftSettings, api: HttpApi,
                 now: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.api = api
        self.now = now
        self._http = _MsalHttp(api)
        self._locks: dict[str, threading.Lock] = {}
        self._held: dict[tuple[str, str], _Held] = {}
        self._lock = threading.Lock()

    def token(self, tenant: str, scope: str) -> str:
        """A valid access token for ``scope`` in ``tenant`` (from cache when it can)."""
        with self._tenant_lock(tenant):
            held = self._held.get((tenant, scope))
            if held is not None and self.now() < held.expires_at - REFRESH_MARGIN:
                return held.token
            try:
                result = self._app(tenant).acquire_token_for_client(scopes=[scope])
                token, expires_in = _read_token(result, tenant)
            except _MSAL_READ_FAILURES as error:
                # msal reads the answer itself and fails in its own ways on one that is not Entra's shape.
                raise MalformedResponse(f"(tenant {tenant}: Entra ID's token answer could not be read: "
                                        f"{_first_line(error)})", tenant_id=tenant) from None
            self._held[(tenant, scope)] = _Held(token, self.now() + expires_in)
            return token

    def invalidate(self, tenant: str, scope: str) -> None:
        """Forget a token the API refused (e.g. expired or revoked early)."""
        with self._tenant_lock(tenant):
            self._held.pop((tenant, scope), None)

    def _tenant_lock(self, tenant: str) -> threading.Lock:
        with self._lock:
            lock = self._locks.get(tenant)
            if lock is None:
                lock = self._locks[tenant] = threading.Lock()
            return lock

    def _app(self, tenant: str) -> msal.ConfidentialClientApplication:
        try:
            return msal.ConfidentialClientApplication(
                self.settings.client_id,
                client_credential=self.settings.client_secret,
                authority=self.settings.authority(tenant),
                instance_discovery=False,
                http_client=self._http,
            )
        except _MSAL_READ_FAILURES as error:  # msal's own check of the authority or discovery document
            raise MalformedResponse(f"(tenant {tenant}: {_first_line(error)})", tenant_id=tenant) from None


def _read_token(result: Any, tenant: str) -> tuple[str, int]:
    """The access token and its lifetime in seconds from msal's result, or a typed error."""
    if not isinstance(result, dict):
        raise MalformedResponse(f"(tenant {tenant}: no token response)", tenant_id=tenant)
    if "access_token" not in result:
        raise error_from_entra(result, tenant)
    token, expires_in = result["access_token"], result.get("expires_in")
    if not isinstance(token, str) or not _VISIBLE.fullmatch(token):
        raise MalformedResponse(f"(tenant {tenant}: the token answer's access_token is {shown(token)}, not a "
                                "token)", tenant_id=tenant)
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or not 0 < expires_in <= MAX_LIFETIME:
        raise MalformedResponse(f"(tenant {tenant}: the token answer's expires_in is {shown(expires_in)}, not "
                                f"a number of seconds from 1 to {MAX_LIFETIME})", tenant_id=tenant)
    return token, expires_in


def _allows(api: HttpApi, url: str) -> bool:
    try:
        return url.lower().startswith("https://") and api.allows(url)
    except ValueError:  # an address urllib cannot split
        return False


def _json_or_empty(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def _first_line(error: Exception) -> str:
    return said(error, 200)
