"""App-only tokens per tenant from Microsoft Entra ID, through msal.

One msal ConfidentialClientApplication per tenant (its authority is
``https://<host>/<tenant>``), each with msal's in-memory token cache: a
token is reused until shortly before it expires. msal is told not to do
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


class _MsalHttp:
    """The http_client msal calls, backed by the token endpoint's HttpApi.

    msal discovers each tenant's endpoints with a GET; a 4xx there means the
    tenant does not exist (AADSTS90002) and is raised here as a typed error
    instead of msal's generic ValueError. A discovery document that names a
    token endpoint away from the authority (msal would post the client secret
    there), and an answer that is not JSON or a token answer whose fields are
    of another type, are ``MalformedResponse`` before msal reads them.
    """

    def __init__(self, api: HttpApi, tenant: str) -> None:
        self.api = api
        self.tenant = tenant

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> Any:
        response = self.api.request("GET", url, params=params, headers=headers, endpoint="openid-configuration")
        if 400 <= response.status_code < 500:
            raise error_from_entra(_json_or_empty(response), self.tenant)
        # msal posts the client secret to the token endpoint the document names: it must be the authority's.
        document = json_body(response, "Entra ID's openid-configuration", self.tenant)
        endpoint = document.get("token_endpoint") if isinstance(document, dict) else None
        if not isinstance(endpoint, str) or not _VISIBLE.fullmatch(endpoint):
            raise MalformedResponse(f"(tenant {self.tenant}: Entra ID's openid-configuration names the token "
                                    f"endpoint {shown(endpoint, 80)}, not an address)", tenant_id=self.tenant)
        if not _allows(self.api, endpoint):
            raise OffOrigin(f"Entra ID's openid-configuration for tenant {self.tenant} names the token endpoint "
                            f"{shown(endpoint, 80)}, not an address on {self.api.base_url}; nothing was sent there")
        return response

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any) -> Any:
        # A token request changes nothing on the server, so it may be retried.
        response = self.api.request("POST", url, params=params, data=data, headers=headers, idempotent=True,
                                    endpoint="token")
        # msal reads the answer too, but says less of what is wrong with it.
        body = json_body(response, "Entra ID's token endpoint", self.tenant)
        if response.status_code == 200 and isinstance(body, dict) and "access_token" in body:
            _read_token(body, self.tenant)
        return response

    def close(self) -> None:  # the HttpApi owns the session
        pass


class TokenProvider:
    """Thread-safe: one msal app and one lock per tenant."""

    def __init__(self, settings: MicrosoftSettings, api: HttpApi,
                 now: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.api = api
        self.now = now
        self._apps: dict[str, msal.ConfidentialClientApplication] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._held: dict[tuple[str, str], _Held] = {}
        self._lock = threading.Lock()

    def token(self, tenant: str, scope: str) -> str:
        """A valid access token for ``scope`` in ``tenant`` (from cache when it can)."""
        with self._tenant_lock(tenant):
            held = self._held.get((tenant, scope))
            if held is not None and self.now() < held.expires_at - REFRESH_MARGIN:
                return held.token
            app = self._app(tenant)
            if held is not None:  # expired on our clock: make msal ask again
                app.remove_tokens_for_client()
            try:
                result = app.acquire_token_for_client(scopes=[scope])
                token, expires_in = _read_token(result, tenant)
            except MicrosoftError:
                # msal remembers a refusal for a minute, and may have cached an unreadable
                # answer: a new app asks afresh next time (e.g. right after the customer's
                # admin granted consent).
                self._apps.pop(tenant, None)
                raise
            except _MSAL_READ_FAILURES as error:
                # msal reads the answer itself and fails in its own ways on one that is not Entra's shape.
                self._apps.pop(tenant, None)
                raise MalformedResponse(f"(tenant {tenant}: Entra ID's token answer could not be read: "
                                        f"{_first_line(error)})", tenant_id=tenant) from None
            self._held[(tenant, scope)] = _Held(token, self.now() + expires_in)
            return token

    def invalidate(self, tenant: str, scope: str) -> None:
        """Forget a token the API refused (e.g. expired or revoked early)."""
        with self._tenant_lock(tenant):
            self._held.pop((tenant, scope), None)
            app = self._apps.get(tenant)
            if app is not None:
                app.remove_tokens_for_client()

    def _tenant_lock(self, tenant: str) -> threading.Lock:
        with self._lock:
            lock = self._locks.get(tenant)
            if lock is None:
                lock = self._locks[tenant] = threading.Lock()
            return lock

    def _app(self, tenant: str) -> msal.ConfidentialClientApplication:
        app = self._apps.get(tenant)
        if app is None:
            try:
                app = msal.ConfidentialClientApplication(
                    self.settings.client_id,
                    client_credential=self.settings.client_secret,
                    authority=self.settings.authority(tenant),
                    instance_discovery=False,
                    http_client=_MsalHttp(self.api, tenant),
                )
            except _MSAL_READ_FAILURES as error:  # msal's own check of the authority or discovery document
                raise MalformedResponse(f"(tenant {tenant}: {_first_line(error)})", tenant_id=tenant) from None
            self._apps[tenant] = app
        return app


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
