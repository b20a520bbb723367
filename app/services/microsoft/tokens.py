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

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msal

from app.services.http import HttpApi
from app.services.microsoft.config import MicrosoftSettings
from app.services.microsoft.errors import (
    ConsentMissing,
    MalformedResponse,
    MicrosoftError,
    SecretInvalid,
    TenantNotFound,
    TokenRefused,
)

#: Refresh this many seconds before expiry (msal uses the same margin).
REFRESH_MARGIN = 300

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
    codes = body.get("error_codes") or []
    code = next((c for c in codes if isinstance(c, int)), None)
    description = str(body.get("error_description") or body.get("error") or "no description")
    # The description's first line holds the AADSTS text; then come trace ids.
    summary = description.splitlines()[0].split(" Trace ID:")[0].strip()[:400]
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
    instead of msal's generic ValueError.
    """

    def __init__(self, api: HttpApi, tenant: str) -> None:
        self.api = api
        self.tenant = tenant

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> Any:
        response = self.api.request("GET", url, params=params, headers=headers, endpoint="openid-configuration")
        if 400 <= response.status_code < 500:
            raise error_from_entra(_json_or_empty(response), self.tenant)
        return response

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any) -> Any:
        # A token request changes nothing on the server, so it may be retried.
        return self.api.request("POST", url, params=params, data=data, headers=headers, idempotent=True,
                                endpoint="token")

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
            result = app.acquire_token_for_client(scopes=[scope])
            if not isinstance(result, dict):
                raise MalformedResponse(f"(tenant {tenant}: no token response)", tenant_id=tenant)
            if "access_token" not in result:
                # msal remembers a refusal for a minute; a new app asks afresh next
                # time (e.g. right after the customer's admin granted consent).
                self._apps.pop(tenant, None)
                raise error_from_entra(result, tenant)
            expires_in = result.get("expires_in")
            if not isinstance(expires_in, int) or isinstance(expires_in, bool):
                raise MalformedResponse(f"(tenant {tenant}: the token response has no expires_in)",
                                        tenant_id=tenant)
            self._held[(tenant, scope)] = _Held(result["access_token"], self.now() + expires_in)
            return result["access_token"]

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
            except ValueError as error:  # msal's own check of the authority or discovery document
                raise MalformedResponse(f"(tenant {tenant}: {_first_line(error)})", tenant_id=tenant) from None
            self._apps[tenant] = app
        return app


def _json_or_empty(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0][:200]
