"""A thin client for the ConnectWise PSA REST API v3.0 (APIS.md §B1).

- Auth: ``Authorization: Basic base64("{companyId}+{publicKey}:{privateKey}")``
  plus the ``clientId`` header on every call.
- Codebase discovery: ``GET {site}/login/companyinfo/{companyId}`` answers
  ``{"Codebase": "v2025_1/"}``; the API is then ``{site}/{codebase}apis/3.0``.
- ``Accept: application/vnd.connectwise.com+json; version=2025.8`` pins the
  schema version of tests/specs/connectwise.subset.json.
- Lists follow the Link header's rel="next" (navigable, or forward-only
  with ``pageId``) at up to 1,000 records a page.
- PATCH takes an array of ``{op, path, value}``.
- Throttling, retries and timeouts are HttpApi's: 429 honours Retry-After,
  reads retry on 5xx, writes are never blindly retried and surface as
  ``PsaUnavailable(maybe_applied=True)`` when the answer was lost.
- An answer that cannot be read (an HTML page with status 200, JSON cut
  short, NaN or Infinity where JSON has numbers) is ``PsaMalformedResponse``
  for a read and, for a write, which ConnectWise may have applied all the
  same, ``PsaUnreadableAnswer`` (maybe applied): the sync journal settles it
  by reading ConnectWise. A lone surrogate in text (JSON's "\\ud800", which
  is no character and which no database or screen takes) reads as U+FFFD,
  as undecodable bytes would: one odd character in a field seatsync does not
  use never stops a read.
- ConnectWise's own words (an error's message, a codebase) are quoted
  ``plain``: control characters and bidirectional marks escaped, clipped.
- Numbers are read as Decimal and written exactly: money never passes through float.
- Errors become the port's typed errors with what to do about them; no
  key or header ever appears in a message.
- The site is https (a site typed without a scheme gets https://); the keys
  go to the site's origin only: a paging link elsewhere is refused, and
  redirects are never followed (app/services/http.py).
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from app import jsoncodec
from app.services.http import (
    READ_METHODS,
    BrokenAnswer,
    HttpApi,
    RetryPolicy,
    Throttled,
    Unavailable,
    describe_body,
    host_of,
    https_url,
)
from app.services.psa import limits
from app.services.psa.connectwise.errors import answer_error
from app.services.psa.connectwise.wire import encode
from app.services.psa.port import (
    PsaAddressRefused,
    PsaAuthError,
    PsaError,
    PsaMalformedResponse,
    PsaUnavailable,
    PsaUnreadableAnswer,
)
from app.services.psa.transport import REFUSALS, refused

API_VERSION = "2025.8"
ACCEPT = f"application/vnd.connectwise.com+json; version={API_VERSION}"
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True, kw_only=True)
class ConnectWiseCredentials:
    """How to reach one ConnectWise site. ``site`` is e.g. https://api-na.myconnectwise.net."""

    site: str
    company_id: str
    public_key: str
    private_key: str = field(repr=False)
    client_id: str
    codebase: str = ""  # discovered from the site when empty


class ConnectWiseClient:
    """JSON over HTTP to one ConnectWise site, through one HttpApi."""

    def __init__(self, credentials: ConnectWiseCredentials, *, verify: bool | str = True,
                 page_size: int = MAX_PAGE_SIZE, max_concurrency: int = 8,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 timeout: tuple[float, float] = (3.05, 30.0)) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page size must be 1..{MAX_PAGE_SIZE}, not {page_size}")
        self.credentials = credentials
        self.page_size = page_size
        site = credentials.site.strip().rstrip("/")
        if "://" not in site:
            site = f"https://{site}"
        self.site = https_url(site, "ConnectWise site address")
        user = f"{credentials.company_id}+{credentials.public_key}:{credentials.private_key}"
        headers = {"Authorization": "Basic " + base64.b64encode(user.encode("utf-8")).decode("ascii"),
                   "Accept": ACCEPT}
        if credentials.client_id:
            headers["clientId"] = credentials.client_id
        self.http = HttpApi(name="ConnectWise", base_url=self.site, verify=verify, max_concurrency=max_concurrency,
                            retry=retry or RetryPolicy(), sleep=sleep, timeout=timeout, default_headers=headers)
        self._codebase = credentials.codebase.strip("/")
        self._discovery = threading.Lock()

    def close(self) -> None:
        self.http.session.close()

    def __enter__(self) -> ConnectWiseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- codebase -----------------------------------------------------------

    @property
    def codebase(self) -> str:
        """The site's codebase (e.g. "v2025_1"), asked of the site once."""
        with self._discovery:
            if not self._codebase:
                self._codebase = self._discover()
            return self._codebase

    def _discover(self) -> str:
        company = self.credentials.company_id
        try:
            response = self.http.request("GET", f"{self.site}/login/companyinfo/{company}",
                                         endpoint="/login/companyinfo")
        except REFUSALS as error:
            raise refused(error, "ConnectWise") from None
        except (Unavailable, Throttled) as error:
            raise PsaUnavailable(f"ConnectWise site {self.site} did not answer the codebase lookup "
                                 f"({error.reason}); check the site address") from error
        info = _decode(response) if response.status_code == 200 else None
        codebase = info.get("Codebase") if isinstance(info, dict) else None
        if not codebase or (isinstance(codebase, str) and not codebase.strip("/")):
            raise PsaAuthError(f"ConnectWise site {self.site} does not know the company id {company!r}: "
                               "use the company id you type when you log in to ConnectWise")
        if not isinstance(codebase, str) or not _CODEBASE.fullmatch(codebase.strip("/")):
            raise PsaMalformedResponse(f"ConnectWise site {self.site} answered the codebase lookup with the "
                                       f"Codebase {limits.short(codebase)}, which is not a codebase; check the "
                                       "site address")
        return codebase.strip("/")

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else \
            f"{self.site}/{self.codebase}/apis/3.0/{path.lstrip('/')}"

    # -- verbs --------------------------------------------------------------

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
                headers: dict[str, str] | None = None, expect: tuple[int, ...] = (200,)) -> requests.Response:
        url = self.url(path)
        endpoint = _endpoint(path)
        send_headers = dict(headers or {})
        data = None
        if body is not None:
            data = encode(body)
            send_headers["Content-Type"] = "application/json"
        try:
            response = self.http.request(method, url, params=params, data=data, headers=send_headers,
                                         endpoint=endpoint)
        except REFUSALS as error:
            raise refused(error, "ConnectWise") from None
        except Throttled as error:
            raise PsaUnavailable(f"ConnectWise kept throttling {method} {endpoint}; try again in a few minutes",
                                 maybe_applied=False) from error
        except BrokenAnswer as error:
            if error.maybe_applied:
                raise PsaUnreadableAnswer(f"ConnectWise's answer to {method} {endpoint}: {error.reason}") from error
            raise PsaUnavailable(f"{method} {endpoint} to ConnectWise failed: {error.reason}") from error
        except Unavailable as error:
            raise PsaUnavailable(f"{method} {endpoint} to ConnectWise failed: {error.reason}",
                                 maybe_applied=error.maybe_applied) from error
        if response.status_code not in expect:
            raise self._error(response, method, endpoint)
        return response

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return _decode(self.request("GET", path, params=params))

    def post(self, path: str, body: Any) -> Any:
        return _decode(self.request("POST", path, body=body, expect=(200, 201)))

    def patch(self, path: str, operations: list[dict[str, Any]]) -> Any:
        return _decode(self.request("PATCH", path, body=operations))

    def delete(self, path: str) -> None:
        response = self.request("DELETE", path, expect=(200, 204))
        if response.content.strip():
            _decode(response)  # ConnectWise answers 204: a page instead may not come from ConnectWise at all

    def count(self, path: str, conditions: str | None = None) -> int:
        answer = self.get(f"{path.rstrip('/')}/count", {"conditions": conditions} if conditions else None)
        count = answer.get("count") if isinstance(answer, dict) else None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise PsaMalformedResponse(f"ConnectWise answered {_endpoint(path)}/count with "
                                       f"{str(answer)[:80]!r} instead of a count")
        return count

    def list(self, path: str, *, conditions: str | None = None, fields: str | None = None,
             order_by: str | None = None, forward_only: bool = False) -> list[dict[str, Any]]:
        """Every record of a collection, page after page along the Link header."""
        params: dict[str, Any] | None = {"pageSize": self.page_size}
        assert params is not None
        if conditions:
            params["conditions"] = conditions
        if fields:
            params["fields"] = fields
        if order_by and not forward_only:
            params["orderBy"] = order_by
        headers = {"pagination-type": "forward-only"} if forward_only else None
        url = path
        records: list[dict[str, Any]] = []
        seen: set[str] = set()
        while True:
            response = self.request("GET", url, params=params, headers=headers)
            page = _decode(response)
            if not isinstance(page, list) or not all(isinstance(r, dict) for r in page):
                raise PsaMalformedResponse(f"ConnectWise answered {_endpoint(path)} with something other than a "
                                           "list of records")
            records.extend(page)
            following = response.links.get("next", {}).get("url")
            if not following or not page:
                return records
            if not self.http.allows(following):
                raise PsaAddressRefused(f"ConnectWise's next page of {_endpoint(path)} is on "
                                        f"{host_of(following)}, not the site {host_of(self.site)}; nothing was "
                                        "sent there (check the site address in Settings)")
            if following in seen:
                raise PsaMalformedResponse(f"ConnectWise's paging of {_endpoint(path)} went round in a circle")
            seen.add(following)
            url, params = following, None  # the link carries every parameter

    # -- errors -------------------------------------------------------------

    def _error(self, response: requests.Response, method: str, endpoint: str) -> PsaError:
        return answer_error(response.status_code, _decode(response, strict=False), method, endpoint,
                            self.credentials.company_id)


def _endpoint(path: str) -> str:
    """The path without host, codebase, query or ids: how requests are counted and named."""
    path = re.sub(r"^https?://[^/]+", "", path.split("?")[0])
    path = re.sub(r"^/[^/]+/apis/3\.0", "", path)
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


def _decode(response: requests.Response, *, strict: bool = True) -> Any:
    """The answer's JSON, numbers exact, lone surrogates mended. An answer that is not JSON
    (or holds NaN or Infinity) is malformed when it answers a read, and leaves a write's
    outcome unknown (ConnectWise may have applied it). ``strict=False`` (an error's body):
    None instead."""
    content = response.content or b"null"
    try:
        data = jsoncodec.loads(content)
        return limits.mended(data) if _ESCAPED_SURROGATE.search(content) else data
    except jsoncodec.NotANumber as error:
        what = f"the number {error.name}, which JSON does not have"
    except (ValueError, RecursionError):
        what = describe_body(response.content, response.headers.get("Content-Type", ""))
    if not strict:
        return None
    method = (response.request.method if response.request is not None else None) or "GET"
    said = f"ConnectWise answered {method} {_endpoint(response.url or '')} with {what} (HTTP {response.status_code})"
    if method.upper() not in READ_METHODS:
        raise PsaUnreadableAnswer(said) from None
    raise PsaMalformedResponse(f"{said}; check the site address") from None


_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_CODEBASE = re.compile(r"[A-Za-z0-9_.-]{1,40}")
