"""The HaloPSA REST client: OAuth2 client credentials, paging, upserts, errors.

Facts from APIS.md §B3 and Halo's OpenAPI document (tests/specs):
- the token comes from the authorisation server: POST {auth}/token with a
  form (grant_type=client_credentials, client_id, client_secret, scope),
  plus ``?tenant=<t>`` when a tenant is configured: Halo's shared
  authorisation server needs it to pick the instance, an instance's own
  (https://<name>.halopsa.com/auth, or a self-hosted /auth) does not.
  Calls then send ``Authorization: Bearer``;
- lists page with ``pageinate=true`` (sic), ``page_size``, ``page_no`` (from 1)
  and answer ``{"record_count": total, "<collection>": [...]}``;
- POST takes a JSON array; an object with ``id`` updates that record, one
  without creates it. The answer is the saved record(s): one object or an
  array, both are read [U];
- DELETE /api/<Entity>/<id>.

Every request goes through ``HttpApi`` (timeouts, 429, read retries, writes
never blindly resent). An answer that cannot be read (not JSON, not the
saved records) is ``HaloMalformedResponse`` for a read and
``HaloUnreadableAnswer`` (maybe applied) for a write, which Halo may have
applied all the same. A token is reused until shortly before it expires and
fetched again once when the API answers 401.

Both servers are https: the client refuses any other address when it is built,
before a secret goes anywhere. The client secret goes to the authorisation
server only and the token to the resource server only; redirects are never
followed (app/services/http.py).
"""

from __future__ import annotations

import builtins
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from app.services.http import (
    READ_METHODS,
    BrokenAnswer,
    HttpApi,
    HttpFailure,
    Throttled,
    describe_body,
    host_of,
    https_url,
    origin,
)
from app.services.psa.halopsa import wire
from app.services.psa.halopsa.errors import (
    HaloBadCredentials,
    HaloMalformedResponse,
    HaloNotFound,
    HaloPermissionError,
    HaloRequestRejected,
    HaloTenantError,
    HaloTokenRejected,
    HaloUnavailable,
    HaloUnreadableAnswer,
)
from app.services.psa.port import PsaAddressRefused, PsaError
from app.services.psa.transport import REFUSALS, refused

#: Renew a token this many seconds before Halo says it expires.
TOKEN_MARGIN = 60.0
#: A token's lifetime beyond a year is not one Halo gives (it gives 3600 s).
MAX_LIFETIME = 366 * 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
DEFAULT_PAGE_SIZE = 100


#: The scopes seatsync asks for: read clients, contracts and items; read and edit recurring invoices; edit
#: customers for the contact sync's end users (Halo guards users with the customers area), and nothing else
#: (docs/permissions.md). Halo's own scope names, as HaloAPI's HaloAuth class lists them; a connection may ask
#: "all" instead (Settings, "API scopes").
SCOPES = "read:customers read:contracts read:items read:invoices edit:invoices edit:customers"


@dataclass(frozen=True, kw_only=True)
class HaloConfig:
    """Where a Halo instance is and how seatsync signs in to it.

    ``api_url`` is the resource server (".../api" is added when missing);
    ``auth_url`` the authorisation server (default: the same host's /auth).
    """

    api_url: str
    client_id: str
    client_secret: str = field(repr=False)
    tenant: str | None = None
    auth_url: str = ""
    scope: str = SCOPES

    @property
    def api_base(self) -> str:
        base = self.api_url.rstrip("/")
        return base if base.lower().endswith("/api") else f"{base}/api"

    @property
    def token_url(self) -> str:
        if self.auth_url:
            return f"{self.auth_url.rstrip('/')}/token"
        parts = urlsplit(self.api_base)
        return f"{parts.scheme}://{parts.netloc}{parts.path[:-len('/api')]}/auth/token"


@dataclass
class _Token:
    value: str = field(repr=False)
    expires_at: float


class HaloClient:
    """Thread-safe: one token and one HTTP session shared by all callers."""

    def __init__(self, config: HaloConfig, *, http: HttpApi | None = None, verify: bool | str = True,
                 now: Callable[[], float] = time.time, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        if not config.client_id or not config.client_secret:
            raise HaloBadCredentials("(the client ID or secret is empty)")
        self.config = config
        self.api_base = https_url(config.api_base, "HaloPSA resource server URL")
        self.token_url = https_url(config.token_url, "HaloPSA authorisation server URL")
        self.http = http or HttpApi(name="HaloPSA", base_url=self.api_base, verify=verify, origins=(self.token_url,))
        self.http.allow(self.token_url)
        self.now = now
        self.page_size = page_size
        self._token: _Token | None = None
        self._token_lock = threading.Lock()
        self.tokens_issued = 0

    def close(self) -> None:
        self.http.session.close()

    def __enter__(self) -> HaloClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- token ---------------------------------------------------------------

    def token(self, *, stale: str | None = None) -> str:
        """A valid access token. ``stale`` is one the API refused: it is renewed
        unless another thread has renewed it already."""
        with self._token_lock:
            current = self._token
            if (current is not None and self.now() < current.expires_at - TOKEN_MARGIN
                    and current.value != stale):
                return current.value
            self._token = self._fetch_token()
            return self._token.value

    def _fetch_token(self) -> _Token:
        cfg = self.config
        params = {"tenant": cfg.tenant} if cfg.tenant else None
        form = {"grant_type": "client_credentials", "client_id": cfg.client_id,
                "client_secret": cfg.client_secret, "scope": cfg.scope}
        try:
            # Asking for a token changes nothing on the server: safe to retry.
            response = self.http.request("POST", self.token_url, params=params, data=form, idempotent=True,
                                         endpoint="/auth/token")
        except REFUSALS as error:
            raise refused(error, "HaloPSA's authorisation server") from None
        except HttpFailure as error:
            raise _unavailable(error, "the authorisation server") from error
        body = _json_or_none(response)
        if response.status_code == 200:
            if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
                raise HaloMalformedResponse("(the token endpoint answered without an access_token)")
            token = body["access_token"]
            if not _TOKEN.fullmatch(token):
                # RFC 6750 b64token: anything else cannot go in an Authorization header.
                raise HaloMalformedResponse("(the token endpoint answered an access_token that is not a bearer "
                                            "token)")  # the token itself is never shown
            lifetime = body.get("expires_in", 3600)
            if isinstance(lifetime, bool) or not isinstance(lifetime, int) or not 0 < lifetime <= MAX_LIFETIME:
                raise HaloMalformedResponse(f"(the token's expires_in is {wire.plain(lifetime, 40)}, not a number "
                                            "of seconds)")
            self.tokens_issued += 1
            return _Token(token, self.now() + lifetime)
        code = body.get("error", "") if isinstance(body, dict) else ""
        code = code if isinstance(code, str) else ""
        text = _halo_message(body)
        if response.status_code == 404:
            raise HaloMalformedResponse(f"(no token endpoint at {cfg.token_url}: check the authorisation "
                                        "server address)")
        if code in ("invalid_client", "unauthorized_client") or response.status_code == 401:
            raise HaloBadCredentials(f"({text})" if text else "")
        if code == "invalid_tenant" or (code == "invalid_request" and "tenant" in text.lower()):
            raise HaloTenantError(f"(tenant {cfg.tenant!r}: {text})" if cfg.tenant else f"(no tenant given: {text})")
        if code == "invalid_scope":
            raise HaloPermissionError(f"(scope {cfg.scope!r}: {text})")
        raise HaloRequestRejected(f"(token request, HTTP {response.status_code}: {text or wire.plain(code, 80)})")

    # -- requests ------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None, endpoint: str | None = None) -> Any:
        """Send one API request; return its parsed JSON (None when empty)."""
        label = endpoint or path
        if "://" in path and origin(path) != origin(self.api_base):
            raise PsaAddressRefused(f"HaloPSA: {method} {label} would go to {host_of(path)}, not the resource server "
                                    f"{host_of(self.api_base)}; nothing was sent there")
        kwargs: dict[str, Any] = {"params": dict(params) if params else None}
        if body is not None:
            kwargs["data"] = wire.dumps(body).encode("utf-8")
        token = self.token()
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            try:
                response = self.http.request(method, path, headers=headers, endpoint=label, **kwargs)
            except REFUSALS as error:
                raise refused(error, "HaloPSA") from None
            except HttpFailure as error:
                raise _unavailable(error, f"{method} {label}") from error
            if response.status_code == 401 and attempt == 1:
                # A 401 means the request was refused before it was applied:
                # renewing the token and sending it once more is safe.
                token = self.token(stale=token)
                continue
            return self._result(response, method, label)
        raise AssertionError("unreachable")

    def _result(self, response: requests.Response, method: str, label: str) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            if not response.content:
                return None
            try:
                return wire.loads(response.content)
            except (ValueError, RecursionError):
                content_type = response.headers.get("Content-Type") or ""
                said = (f"({method} {label} answered HTTP {status} with "
                        f"{describe_body(response.content, content_type)})")
                if method.upper() not in READ_METHODS:
                    raise HaloUnreadableAnswer(said) from None
                raise HaloMalformedResponse(said) from None
        body = _json_or_none(response)
        text = _halo_message(body)
        where = f"{method} {label}"
        if status == 401:
            raise HaloTokenRejected(f"({where})")
        if status == 403:
            raise HaloPermissionError(f"({where}: {text})" if text else f"({where})")
        if status == 404:
            raise HaloNotFound(f"({where})")
        raise HaloRequestRejected(f"({where}, HTTP {status}: {text})" if text else f"({where}, HTTP {status})")

    def list(self, path: str, key: str, params: Mapping[str, Any] | None = None, *,
             page_size: int | None = None) -> list[dict[str, Any]]:
        """Every record of a list, fetched page by page."""
        size = page_size or self.page_size
        records: list[dict[str, Any]] = []
        page = 1
        while True:
            query = {**(params or {}), "pageinate": "true", "page_size": size, "page_no": page}
            data = self.request("GET", path, params=query, endpoint=path)
            batch, total = _page(data, key, path)
            records.extend(batch)
            # Stop on a short or empty page too: a total that lies must not loop forever.
            if len(records) >= total or len(batch) < size:
                return records
            page += 1

    def get(self, path: str, record_id: str | int, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        data = self.request("GET", f"{path}/{_id(record_id)}", params=params, endpoint=f"{path}/{{id}}")
        if not isinstance(data, dict):
            raise HaloMalformedResponse(f"(GET {path}/{record_id} did not answer one record)")
        return data

    def post(self, path: str, objects: builtins.list[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
        """Create (no ``id``) or update (``id``) records; return what Halo saved."""
        data = self.request("POST", path, body=list(objects), endpoint=path)
        saved = [data] if isinstance(data, dict) else data
        # Halo has the request: an answer that is not the saved records leaves its outcome unknown.
        if not isinstance(saved, list) or not all(isinstance(x, dict) for x in saved):
            raise HaloUnreadableAnswer(f"(POST {path} did not answer the saved records)")
        if len(saved) != len(objects):
            raise HaloUnreadableAnswer(f"(POST {path} saved {len(saved)} records of {len(objects)})")
        return saved

    def delete(self, path: str, record_id: str | int) -> None:
        self.request("DELETE", f"{path}/{_id(record_id)}", endpoint=f"{path}/{{id}}")


def _id(value: str | int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise HaloNotFound(f"({value!r} is not a Halo record id)") from None


def _page(data: Any, key: str, path: str) -> tuple[list[dict[str, Any]], int]:
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise HaloMalformedResponse(f"(GET {path} answered without its {key!r} list)")
    total = data.get("record_count")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise HaloMalformedResponse(f"(GET {path} answered without a record_count)")
    batch = data[key]
    if not all(isinstance(x, dict) for x in batch):
        raise HaloMalformedResponse(f"(GET {path}: {key!r} holds something other than records)")
    return batch, total


def _json_or_none(response: requests.Response) -> Any:
    try:
        return wire.loads(response.content) if response.content else None
    except (ValueError, RecursionError):
        return None


def _halo_message(body: Any) -> str:
    """Halo's error text, ``plain``; its error body is not documented (APIS.md §B3, open
    questions), so a string, an RFC 7807 problem or an OAuth error all read."""
    if isinstance(body, str):
        return wire.plain(body)
    if isinstance(body, dict):
        parts = [wire.plain(body[k], 150) for k in ("title", "detail", "message", "error_description")
                 if isinstance(body.get(k), str) and body[k]]
        return wire.plain(": ".join(parts))
    return ""


def _unavailable(error: HttpFailure, what: str) -> PsaError:
    if isinstance(error, Throttled):
        return HaloUnavailable(f"({what}: still throttled after retries)")
    if isinstance(error, BrokenAnswer) and error.maybe_applied:
        return HaloUnreadableAnswer(f"({what}: {error.reason})")
    applied = " (the change may have been applied)" if error.maybe_applied else ""
    return HaloUnavailable(f"({what}: {error.reason}){applied}", maybe_applied=error.maybe_applied)
