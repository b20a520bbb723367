"""The Autotask PSA REST client: zone lookup, header auth, queries with paging,
writes answering {itemId}, typed errors, and Autotask's two limits.

Facts from APIS.md §B2 and the vendor's Swagger (tests/specs):
- the API lives in the user's zone: GET {lookup}/V1.0/zoneInformation?user=
  answers {"url": "https://webservicesN.autotask.net/atservicesrest/"}. The
  answer is cached; on 401 the zone is looked up once more and the request
  sent once more (a database can move zones). A blank or unknown user gets
  HTTP 500 with an errors body;
- every call to the zone carries ApiIntegrationCode, UserName and Secret
  headers; the zone lookup carries none (it needs only the user name). A
  wrong secret answers 401; a user name or tracking identifier the zone does
  not know answers 500 with an errors body (apigrate/autotask-restapi#19),
  which is ``AutotaskUserOrCodeRejected`` after the same one re-lookup. The
  lookup address is https, and so is the zone it answers, which must be on
  autotask.net (or, for a lookup elsewhere such as a sandbox, on the lookup's
  own server): the credentials go nowhere else. Paging links off the zone and
  redirects are refused before anything is sent (app/services/http.py);
- POST {Entity}/query with a QueryModel (query.py); up to 500 records a
  page; ``pageDetails.nextPageUrl`` (a GET URL) leads to the next page;
- writes answer HTTP 200 {"itemId": n};
- failures answer {"errors": [...]}, with 400, 401, 403, 404 or 500. A 500
  "does not have the adequate permissions" is a permission error, and a 500
  "No matching records found" a missing record (django-autotask handles both
  the same way); any other 500 with an errors body is Autotask refusing the
  request (it was not applied). Their messages are quoted with control
  characters and bidirectional marks escaped (wire.error_messages);
- thread limit and hourly budget: budget.py.

Every request goes through ``HttpApi`` (timeouts, 429 + Retry-After, reads
retried on 502-504 and connection failures, writes never blindly resent).
An answer that cannot be read (not JSON, no itemId) is
``AutotaskMalformedResponse`` for a read and ``AutotaskUnreadableAnswer``
(maybe applied) for a write: Autotask may have made the change all the same.
Every record a query or a get answers has a positive numeric id.
A 500 is not retried: Autotask uses it for refusals, and a retry would only
spend the shared budget.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from app.services.http import (
    BrokenAnswer,
    HttpApi,
    HttpFailure,
    InsecureAddress,
    RetryPolicy,
    Throttled,
    describe_body,
    host_of,
    https_url,
    origin,
)
from app.services.psa import limits
from app.services.psa.autotask import wire
from app.services.psa.autotask.budget import THREADS_PER_ENDPOINT, EndpointGate, RequestBudget
from app.services.psa.autotask.errors import (
    AutotaskBadCredentials,
    AutotaskBudgetExhausted,
    AutotaskMalformedResponse,
    AutotaskNotFound,
    AutotaskPermissionError,
    AutotaskRequestRejected,
    AutotaskThrottled,
    AutotaskUnavailable,
    AutotaskUnknownUser,
    AutotaskUnreadableAnswer,
    AutotaskUserOrCodeRejected,
    AutotaskZoneRefused,
)
from app.services.psa.autotask.query import Filter, chunks, in_, query_model
from app.services.psa.port import PsaAddressRefused, PsaError
from app.services.psa.transport import REFUSALS, refused

DEFAULT_LOOKUP_URL = "https://webservices.autotask.net/atservicesrest"
#: The vendor's domain: the zones the default lookup answers are its hosts.
VENDOR_DOMAIN = "autotask.net"
#: What a 500's errors say when the zone knows no such API user or tracking identifier (the wording
#: is not published [U]: SOAP said "IntegrationCode is invalid.").
CREDENTIALS_REFUSED = re.compile(r"integration\s*code|tracking\s*identifier|user\s*name", re.IGNORECASE)
#: Re-read the database's request count every this many requests.
THRESHOLD_EVERY = 100
MAX_PAGES = 10_000


@dataclass(frozen=True, kw_only=True)
class AutotaskCredentials:
    """An API-only user and the integration's tracking identifier."""

    username: str
    secret: str = field(repr=False)
    integration_code: str = field(repr=False)
    lookup_url: str = DEFAULT_LOOKUP_URL


class AutotaskClient:
    def __init__(self, credentials: AutotaskCredentials, *, verify: bool | str = True,
                 timeout: tuple[float, float] = (3.05, 60.0), sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, budget: RequestBudget | None = None,
                 threads_per_endpoint: int = THREADS_PER_ENDPOINT, retry: RetryPolicy | None = None,
                 threshold_every: int = THRESHOLD_EVERY, zone_url: str | None = None) -> None:
        """``zone_url``: a zone found earlier (saved with the connection), used until a 401.
        ``threshold_every``: read the database's request count before the first request
        and then every so many requests (0: never; seatsync's own count only)."""
        self.credentials = credentials
        self.sleep = sleep
        self.budget = budget or RequestBudget(clock=clock)
        self.gate = EndpointGate(threads_per_endpoint)
        self.threshold_every = threshold_every
        self.lookup_url = https_url(credentials.lookup_url, "Autotask zone lookup address")
        self.api = HttpApi(
            name="Autotask", base_url=self.lookup_url, timeout=timeout, verify=verify, sleep=sleep,
            max_concurrency=32,
            # No retry on 500 (Autotask's refusals); short waits on 429 (thread limit).
            retry=retry or RetryPolicy(max_attempts=4, max_delay=10.0,
                                       retry_statuses_read=frozenset({429, 502, 503, 504})),
        )
        self._zone_url: str | None = None if zone_url is None else self._zone(zone_url)
        self._zone_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._since_threshold: int | None = None  # None: never read
        self.picklists: dict[tuple[str, str], dict[str, str]] = {}

    def close(self) -> None:
        self.api.session.close()

    def __enter__(self) -> AutotaskClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- zone and headers ---------------------------------------------------------

    def _zone(self, url: str) -> str:
        """``url`` as the zone's base, when credentials may go there: https, and on the vendor's
        domain or the lookup's own server. The zone's origin is then allowed in ``self.api``."""
        try:
            url = https_url(url, "Autotask zone address")
        except InsecureAddress as error:
            raise AutotaskZoneRefused(f"({error.detail})") from None
        lookup_host = (urlsplit(self.lookup_url).hostname or "").lower()
        zone_host = (urlsplit(url).hostname or "").lower()
        on_vendor = all(h == VENDOR_DOMAIN or h.endswith("." + VENDOR_DOMAIN) for h in (lookup_host, zone_host))
        if origin(url) != origin(self.lookup_url) and not (on_vendor and origin(url).endswith(":443")):
            there = wire.plain(host_of(url), 80)
            raise AutotaskZoneRefused(f"(the zone answered is {there}, the lookup was on "
                                      f"{host_of(self.lookup_url)}; nothing was sent to {there})")
        self.api.allow(url)
        return url + "/"

    def _headers(self) -> dict[str, str]:
        c = self.credentials
        return {"ApiIntegrationCode": c.integration_code, "UserName": c.username, "Secret": c.secret,
                "Content-Type": "application/json", "Accept": "application/json"}

    def zone_url(self, *, refresh: bool = False) -> str:
        with self._zone_lock:
            if self._zone_url is None or refresh:
                self._zone_url = self._lookup_zone()
            return self._zone_url

    def _relookup(self, seen: str | None) -> str:
        """Look the zone up again, unless another thread already did since ``seen``."""
        with self._zone_lock:
            if self._zone_url is None or self._zone_url == seen:
                self._zone_url = self._lookup_zone()
            return self._zone_url

    def _lookup_zone(self) -> str:
        # Zone lookups are not subject to thread limits (vendor KB "API thread limiting").
        user = self.credentials.username
        if not user.strip():
            raise AutotaskUnknownUser("the API user name is empty")
        try:
            # The lookup needs the user name only: no secret, no integration code goes with it.
            response = self.api.request("GET", "V1.0/zoneInformation", params={"user": user},
                                        headers={"Accept": "application/json"}, endpoint="zoneInformation")
        except REFUSALS as failure:
            raise refused(failure, "Autotask's zone lookup") from None
        except RecursionError:
            raise AutotaskUnavailable("the zone lookup answered with an error that could not be read") from None
        except HttpFailure as failure:
            if failure.status == 500 and wire.error_messages(failure.body):
                raise AutotaskUnknownUser(f"for {user!r}: {'; '.join(wire.error_messages(failure.body))}") from None
            raise AutotaskUnavailable(str(failure)) from None
        if response.status_code in (401, 404):
            raise AutotaskUnknownUser(f"for {user!r} (HTTP {response.status_code})")
        body = self._json(response, "the zone lookup")
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
            raise AutotaskMalformedResponse(f"the zone lookup gave no API address: {limits.short(body)}")
        return self._zone(url)

    # -- requests -------------------------------------------------------------------

    def call(self, method: str, path: str, *, endpoint: str, body: Any = None,
             read: bool | None = None) -> Any:
        """Send one request to the zone (``path`` relative to .../atservicesrest/, or a
        paging URL) within the limits; return the decoded JSON body."""
        safe = method.upper() == "GET" if read is None else read
        relogin = True
        while True:
            zone = self.zone_url()
            url = path if path.startswith(("http://", "https://")) else zone + path.lstrip("/")
            self._pace()
            failed: PsaError | None = None
            with self.gate.slot(endpoint):
                try:
                    response = self.api.request(method, url, headers=self._headers(), endpoint=endpoint,
                                                idempotent=safe,
                                                data=None if body is None else wire.dumps(body).encode("utf-8"))
                except REFUSALS as failure:
                    raise refused(failure, "Autotask") from None
                except Throttled as failure:
                    messages = wire.error_messages(failure.body)
                    if any("threshold" in m.lower() and "request" in m.lower() for m in messages):
                        raise AutotaskBudgetExhausted("; ".join(messages)) from None
                    raise AutotaskThrottled(f"{method} {endpoint}: {'; '.join(messages)}".strip()) from None
                except HttpFailure as failure:
                    failed = self._server_failure(failure, method, endpoint)
                except RecursionError:
                    # A throttled or server error answer nested too deeply for the JSON reader.
                    failed = AutotaskUnavailable(f"{method} {endpoint}: it answered with an error that could not "
                                                 "be read", maybe_applied=not safe)
            if failed is not None and not (relogin and isinstance(failed, AutotaskUserOrCodeRejected)):
                raise failed
            if failed is not None or (response.status_code == 401 and relogin):
                # The database may have moved zones (where the user name is not known): look it up
                # once more, then try once more. Nothing was applied: the credentials were refused.
                relogin = False
                new = self._relookup(zone)
                if path.startswith(zone):
                    path = new + path[len(zone):]
                continue
            return self._answer(response, method, endpoint, write=not safe)

    def _pace(self) -> None:
        with self._count_lock:
            due = self.threshold_every > 0 and (self._since_threshold is None
                                                or self._since_threshold >= self.threshold_every)
            self._since_threshold = 0 if due else (self._since_threshold or 0) + 1
        if due:
            self.read_threshold()
        delay = self.budget.reserve()
        if delay > 0:
            self.sleep(delay)

    def read_threshold(self) -> None:
        """Read the database's request count this hour (every integration's requests)."""
        try:
            url = self.zone_url() + "V1.0/ThresholdInformation"
            self.budget.note()
            with self.gate.slot("ThresholdInformation"):
                response = self.api.request("GET", url, headers=self._headers(), endpoint="ThresholdInformation")
        except (HttpFailure, RecursionError):
            return  # the count is advice; the request that needed it goes on
        if response.status_code != 200:
            return
        try:
            body = wire.loads(response.text)
        except (ValueError, RecursionError):
            return
        if not isinstance(body, dict):
            return
        used = _count(body.get("currentTimeframeRequestCount"))
        if used is not None:
            # No limit, or 0, leaves seatsync's own (10,000 an hour).
            self.budget.observe(used, _count(body.get("externalRequestThreshold")) or None)

    def _server_failure(self, failure: HttpFailure, method: str, endpoint: str) -> PsaError:
        messages = wire.error_messages(failure.body)
        text = "; ".join(messages)
        if failure.status == 500 and messages:
            refusal = self._refusal(500, text, method, endpoint)
            if isinstance(refusal, AutotaskRequestRejected) and CREDENTIALS_REFUSED.search(text):
                return AutotaskUserOrCodeRejected(f"({method} {endpoint} answered HTTP 500: {text})")
            return refusal
        if isinstance(failure, BrokenAnswer) and failure.maybe_applied:
            return AutotaskUnreadableAnswer(f"{method} {endpoint}: {failure.reason}")
        return AutotaskUnavailable(f"{method} {endpoint}: {failure.reason}" + (f": {text}" if text else ""),
                                   maybe_applied=failure.maybe_applied)

    @staticmethod
    def _refusal(status: int, text: str, method: str, endpoint: str) -> PsaError:
        where = f"{method} {endpoint}: {text}" if text else f"{method} {endpoint} (HTTP {status})"
        lowered = text.lower()
        if status == 403 or "adequate permission" in lowered or "permission" in lowered:
            return AutotaskPermissionError(where)
        if status == 404 or "no matching records" in lowered:
            return AutotaskNotFound(where)
        return AutotaskRequestRejected(where)

    def _answer(self, response: requests.Response, method: str, endpoint: str, *, write: bool = False) -> Any:
        status = response.status_code
        if status == 401:
            raise AutotaskBadCredentials(f"(HTTP 401 on {method} {endpoint})")
        if 200 <= status < 300:
            return self._json(response, f"{method} {endpoint}", write=write)
        try:
            body = wire.loads(response.text)
        except (ValueError, RecursionError):
            body = None
        raise self._refusal(status, "; ".join(wire.error_messages(body)), method, endpoint)

    @staticmethod
    def _json(response: requests.Response, what: str, *, write: bool = False) -> Any:
        """The answer's JSON. One that is not JSON is malformed, or, answering a write,
        leaves the write's outcome unknown (Autotask may have applied it)."""
        content_type = wire.plain(response.headers.get("Content-Type") or "no content type", 80)
        try:
            return wire.loads(response.text)
        except RecursionError:
            body = "JSON nested too deeply to read"
        except ValueError:
            body = describe_body(response.content, content_type)
        said = f"{what} answered HTTP {response.status_code} ({content_type}) with {body}"
        if write:
            raise AutotaskUnreadableAnswer(said)
        raise AutotaskMalformedResponse(said)

    # -- entities -----------------------------------------------------------------------

    def query(self, entity: str, filters: Sequence[Filter] = (), *, include_fields: Sequence[str] | None = None,
              page_size: int = 500) -> list[dict[str, Any]]:
        """Every record of ``entity`` matching ``filters``, following nextPageUrl."""
        body = query_model(filters, max_records=page_size, include_fields=include_fields)
        page = self.call("POST", f"V1.0/{entity}/query", endpoint=entity, body=body, read=True)
        records: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            items, next_url = self._page(page, entity)
            records.extend(items)
            if not next_url:
                return records
            try:
                elsewhere = origin(next_url) != origin(self.zone_url())
            except ValueError:
                raise AutotaskMalformedResponse(f"{entity}'s next page is not an address: "
                                                f"{limits.short(next_url)}") from None
            if elsewhere:
                raise PsaAddressRefused(f"Autotask's next page of {entity} is on {wire.plain(host_of(next_url), 80)}, "
                                        f"not the zone {host_of(self.zone_url())}; nothing was sent there")
            if next_url in seen:
                raise AutotaskMalformedResponse(f"{entity} paging repeats {wire.plain(urlsplit(next_url).path, 80)}")
            seen.add(next_url)
            page = self.call("GET", next_url, endpoint=entity)
        raise AutotaskMalformedResponse(f"{entity} answered more than {MAX_PAGES} pages")

    def query_in(self, entity: str, field_name: str, values: Sequence[Any], filters: Sequence[Filter] = (),
                 **kwargs: Any) -> list[dict[str, Any]]:
        """Records whose ``field_name`` is one of ``values`` (split to respect the 500 OR limit)."""
        out: list[dict[str, Any]] = []
        for part in chunks(values):
            out.extend(self.query(entity, [*filters, in_(field_name, part)], **kwargs))
        return out

    @staticmethod
    def _page(page: Any, entity: str) -> tuple[list[dict[str, Any]], str | None]:
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise AutotaskMalformedResponse(f"{entity} query answered without an items list")
        details = page.get("pageDetails") or {}
        next_url = details.get("nextPageUrl") if isinstance(details, dict) else None
        items = [item for item in page["items"] if isinstance(item, dict)]
        if len(items) != len(page["items"]):
            raise AutotaskMalformedResponse(f"{entity} query answered items that are not records")
        for item in items:
            _check_id(item, entity)
        return items, next_url if isinstance(next_url, str) and next_url else None

    def count(self, entity: str, filters: Sequence[Filter] = ()) -> int:
        body = query_model(filters)
        answer = self.call("POST", f"V1.0/{entity}/query/count", endpoint=entity, body=body, read=True)
        count = answer.get("queryCount") if isinstance(answer, dict) else None
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise AutotaskMalformedResponse(f"{entity} count answered {limits.short(answer)}")
        return count

    def get(self, entity: str, record_id: int) -> dict[str, Any] | None:
        """One record, or None when Autotask has none with that id."""
        try:
            answer = self.call("GET", f"V1.0/{entity}/{int(record_id)}", endpoint=entity)
        except AutotaskNotFound:
            return None
        if not isinstance(answer, dict) or "item" not in answer:
            raise AutotaskMalformedResponse(f"{entity}/{record_id} answered without an item")
        item = answer["item"]
        if item is None:
            return None
        if not isinstance(item, dict):
            raise AutotaskMalformedResponse(f"{entity}/{record_id} answered an item that is not a record: "
                                            f"{limits.short(item)}")
        _check_id(item, entity)
        return item

    def create(self, path: str, body: dict[str, Any], *, endpoint: str) -> int:
        return self._item_id(self.call("POST", path, endpoint=endpoint, body=body), f"POST {endpoint}")

    def update(self, path: str, body: dict[str, Any], *, endpoint: str) -> int:
        return self._item_id(self.call("PATCH", path, endpoint=endpoint, body=body), f"PATCH {endpoint}")

    def delete(self, path: str, *, endpoint: str) -> None:
        self.call("DELETE", path, endpoint=endpoint)

    @staticmethod
    def _item_id(answer: Any, request: str) -> int:
        """The id a write answered; without one, the write's outcome is unknown."""
        item_id = answer.get("itemId") if isinstance(answer, dict) else None
        if isinstance(item_id, bool) or not isinstance(item_id, int) or not 0 < item_id <= limits.MAX_ID:
            raise AutotaskUnreadableAnswer(f"{request} answered without a usable itemId: {limits.short(answer)}")
        return item_id

    def picklist(self, entity: str, field_name: str) -> dict[str, str]:
        """``{value: label}`` of a picklist field (values are instance-specific)."""
        key = (entity, field_name.lower())
        if key not in self.picklists:
            answer = self.call("GET", f"V1.0/{entity}/entityInformation/fields", endpoint=entity)
            fields = answer.get("fields") if isinstance(answer, dict) else None
            if not isinstance(fields, list):
                raise AutotaskMalformedResponse(f"{entity} field information has no fields list")
            for f in fields:
                if isinstance(f, dict) and f.get("isPickList"):
                    values = {str(v.get("value")): str(v.get("label"))
                              for v in f.get("picklistValues") or () if isinstance(v, dict)}
                    self.picklists[(entity, str(f.get("name", "")).lower())] = values
            self.picklists.setdefault(key, {})
        return self.picklists[key]

    def picklist_value(self, entity: str, field_name: str, *labels: str) -> int | None:
        """The value of the first of ``labels`` found in the picklist (case-insensitive)."""
        values = self.picklist(entity, field_name)
        for label in labels:
            for value, text in values.items():
                if text.lower() == label.lower():
                    try:
                        return int(value)
                    except ValueError:
                        return None
        return None


def _count(value: Any) -> int | None:
    """A request count as ThresholdInformation gives it: a whole number from 0 to a billion, else None."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**9:
        return None
    return value


def _check_id(record: dict[str, Any], entity: str) -> None:
    """Every Autotask record has a positive numeric id: one without is no record seatsync can use."""
    value = record.get("id")
    try:
        if isinstance(value, str):  # Autotask's ids are JSON numbers
            raise ValueError(f"a record of {entity} has no numeric id (it is {str(value)[:40]!r})")
        limits.record_id(value, f"a record of {entity}")
    except ValueError as error:
        raise AutotaskMalformedResponse(str(error)) from None
