"""One HTTP session per API: timeouts, a concurrency cap, throttling and retries.

Every client (Graph, Partner Center, ConnectWise, Autotask, HaloPSA) sends
its requests through an ``HttpApi``. Rules, from DESIGN §6 and the vendors'
guidance (APIS.md):

- explicit (connect, read) timeouts on every request;
- at most ``max_concurrency`` requests in flight to this API at once;
- 429 is retried after Retry-After (seconds or an HTTP date), or after an
  exponential backoff with jitter when the header is absent: the server did
  not apply a throttled request, so this is safe for writes too;
- 503/504 and connection failures are retried for reads only. A write that
  failed that way may or may not have been applied: it is raised as
  ``Unavailable(maybe_applied=...)`` for the sync journal to reconcile by
  reading the PSA (DESIGN §3), never blindly sent again;
- attempts are bounded; the clock, sleep and randomness are injectable so
  tests never wait.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import requests

from app.errors import SeatsyncError

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class HttpFailure(SeatsyncError):
    """The service did not answer as expected."""

    def __init__(self, detail: str = "", *, status: int | None = None, body: Any = None,
                 maybe_applied: bool = False, **context: object) -> None:
        self.status = status
        self.body = body
        self.maybe_applied = maybe_applied
        super().__init__(detail, **context)


class Throttled(HttpFailure):
    """The service kept throttling requests (429) beyond the retry budget."""


class Unavailable(HttpFailure):
    """The service could not be reached or failed with a server error."""


@dataclass
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 60.0
    retry_statuses_read: frozenset[int] = frozenset({429, 500, 502, 503, 504})


@dataclass
class HttpApi:
    """A requests session for one API, shared by all threads that call it."""

    name: str
    base_url: str
    timeout: tuple[float, float] = (3.05, 30.0)
    max_concurrency: int = 8
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    verify: bool | str = True
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    session: requests.Session = field(default_factory=requests.Session)
    default_headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self.counts: Counter[tuple[str, str]] = Counter()
        self._count_lock = threading.Lock()
        self.session.verify = self.verify
        # With a certificate authority of its own (the sandboxes), the session's
        # trust must win over REQUESTS_CA_BUNDLE in the environment (APIS.md §F).
        # Otherwise the environment's proxies and CA bundle apply, as MSP
        # networks often need.
        self.session.trust_env = not isinstance(self.verify, str)
        self.session.headers.update(self.default_headers)

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, idempotent: bool | None = None,
                endpoint: str | None = None, **kwargs: Any) -> requests.Response:
        """Send one request with the policy above; return a 2xx/3xx/4xx response.

        4xx other than 429 are returned for the caller to turn into its
        API's typed error; 5xx after the retries raise ``Unavailable``.
        """
        method = method.upper()
        safe = method in READ_METHODS if idempotent is None else idempotent
        url = self.url(path)
        kwargs.setdefault("timeout", self.timeout)
        label = endpoint or path.split("?")[0]
        attempt = 0
        while True:
            attempt += 1
            with self._count_lock:
                self.counts[(method, label)] += 1
            try:
                with self._slots:
                    response = self.session.request(method, url, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:
                # A connect failure means the server never saw the request.
                never_sent = isinstance(error, requests.ConnectTimeout) or (
                    isinstance(error, requests.ConnectionError)
                    and not isinstance(error, requests.ReadTimeout)
                    and _is_connect_failure(error)
                )
                if (safe or never_sent) and attempt < self.retry.max_attempts:
                    self.sleep(self._backoff(attempt))
                    continue
                raise Unavailable(f"{self.name}: {type(error).__name__} on {method} {label}",
                                  maybe_applied=not safe and not never_sent) from error
            status = response.status_code
            if status == 429 or (safe and status in self.retry.retry_statuses_read):
                if attempt < self.retry.max_attempts:
                    self.sleep(self._wait_for(response, attempt))
                    continue
                if status == 429:
                    raise Throttled(f"{self.name}: still throttled after {attempt} attempts",
                                    status=status, body=_body(response))
            if status >= 500:
                raise Unavailable(f"{self.name}: HTTP {status} on {method} {label}", status=status,
                                  body=_body(response), maybe_applied=not safe)
            return response

    def _wait_for(self, response: requests.Response, attempt: int) -> float:
        header = response.headers.get("Retry-After")
        if header:
            delay = retry_after_seconds(header, self.now())
            if delay is not None:
                return min(delay, self.retry.max_delay)
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.retry.max_delay, self.retry.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(ceiling / 2, ceiling)  # "equal jitter"


def retry_after_seconds(value: str, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - datetime.fromtimestamp(now, timezone.utc).timestamp())


def _is_connect_failure(error: requests.ConnectionError) -> bool:
    text = repr(error)
    return any(s in text for s in ("NewConnectionError", "ConnectionRefused", "Connection refused",
                                   "Failed to establish"))


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]
