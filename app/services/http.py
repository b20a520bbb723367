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
  reading the PSA (DESIGN §3), never blindly sent again. A connection that
  breaks while the answer's body is being read (a reset mid-body, a body
  shorter than its Content-Length, a compressed body that does not
  decompress) is such a failure too: the server has answered, so a write
  was seen and may have been applied;
- every failure says in plain words what happened (``HttpFailure.reason``),
  never an exception's class name; ``describe_body`` says what an answer
  that is not the JSON expected holds instead, with a short excerpt only;
- attempts are bounded; the clock, sleep and randomness are injectable so
  tests never wait.

Transport rules, the same for every API:

- every address is https with a host, and no user name, password or fragment
  (``https_url``); a client checks the addresses it is given when it is built;
- a request goes only to the origins (scheme, host and port) the ``HttpApi``
  was built for: its base URL's and those in ``origins``. A paging link, a
  zone answer or any other URL elsewhere is ``OffOrigin`` and nothing is sent;
- redirects are never followed (a credential would go with them): a 3xx is
  ``Redirected``;
- a certificate that is not trusted is ``CertificateUntrusted``, never retried;
- no failure's text, cause or repr carries a header, a body or a credential.
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import re
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.client import RemoteDisconnected
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.utils import get_environ_proxies
from urllib3.exceptions import NameResolutionError, NewConnectionError
from urllib3.util.ssl_match_hostname import CertificateError

from app.errors import ConfigurationError, SeatsyncError
from app.services.redaction import guard_library_logs

guard_library_logs()

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: What requests refuses before anything is sent.
_NEVER_SENT = (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
               requests.exceptions.InvalidHeader, requests.exceptions.URLRequired)


class HttpFailure(SeatsyncError):
    """The service did not answer as expected."""

    def __init__(self, detail: str = "", *, status: int | None = None, body: Any = None,
                 maybe_applied: bool = False, reason: str = "", **context: object) -> None:
        self.status = status
        self.body = body
        self.maybe_applied = maybe_applied
        #: What happened, in a few plain words ("the connection was reset before an answer came").
        self.reason = reason or detail
        super().__init__(detail, **context)


class Throttled(HttpFailure):
    """The service kept throttling requests (429) beyond the retry budget."""


class Unavailable(HttpFailure):
    """The service could not be reached or failed with a server error."""


class BrokenAnswer(Unavailable):
    """The service's answer broke off (or would not decompress) before it could be read."""

    @property
    def message(self) -> str:  # the server had the request: a write it answered may have been applied
        said = super().message
        return f"{said}; the server had the request, so the write may have been applied" if self.maybe_applied \
            else said


class CertificateUntrusted(HttpFailure):
    """The secure connection was refused."""


class Redirected(HttpFailure):
    """The service answered with a redirect, which seatsync does not follow: check the address in Settings."""


class OffOrigin(HttpFailure):
    """seatsync refused to send a request to a server the connection was not set up for."""


class InsecureAddress(ConfigurationError):
    """The address is not one seatsync can send credentials to."""


def https_url(url: str, what: str = "address") -> str:
    """``url`` without trailing slashes, when it is an https address with a host, and no
    user name, password or fragment; ``InsecureAddress`` naming ``what`` otherwise."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise InsecureAddress(f"the {what} is not a valid address: enter it as https://host/...") from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InsecureAddress(f"the {what} must not contain a user name or password: "
                              "remove the part before the @ and enter the credentials in their own fields")
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else text[:80]
    if parts.scheme.lower() != "https":
        raise InsecureAddress(f"the {what} must start with https:// (it is {shown!r}); seatsync sends "
                              "credentials over https only")
    if not parts.hostname:
        raise InsecureAddress(f"the {what} has no host name (it is {shown!r}): enter it as https://host/...")
    if parts.fragment or text.endswith("#"):
        raise InsecureAddress(f"the {what} must not end with a #fragment (it is {shown!r}#...): remove it")
    return text.rstrip("/")


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, lower-case, with the scheme's default port made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or {"https": 443, "http": 80}.get(scheme)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def host_of(url: str) -> str:
    """The host (and port, when not the default) of ``url``, for a message."""
    parts = urlsplit(url)
    host = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in (parts.hostname or "?"))[:100]
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port and port != {"https": 443, "http": 80}.get(parts.scheme.lower()) else host


#: How long the proxies and CA bundle the environment gives for a server are used before it is read again.
ENVIRONMENT_SECONDS = 60.0


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
    #: Other origins (e.g. Halo's authorisation server) requests may go to, besides the base URL's.
    origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._origins = {origin(self.base_url), *(origin(o) for o in self.origins)}
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self.counts: Counter[tuple[str, str]] = Counter()
        self._count_lock = threading.Lock()
        self.session.verify = self.verify
        # With a certificate authority of its own (the sandboxes), the session's trust must win over
        # REQUESTS_CA_BUNDLE in the environment (APIS.md §F): the environment is not read. Otherwise its
        # proxies and CA bundle apply, as MSP networks often need, read once a server and minute
        # (``_environment_for``) rather than by requests at every request (on Windows, from the registry
        # each time). requests' own reading stays off, and with it ~/.netrc, whose Basic credential would
        # replace the Authorization header each client sends.
        self.session.trust_env = False
        self.trusts_environment = not isinstance(self.verify, str)
        self._environment: dict[str, tuple[float, dict[str, Any]]] = {}
        self.session.headers.update(self.default_headers)

    def __repr__(self) -> str:
        # Never the session or its headers: they hold the credentials.
        return f"HttpApi(name={self.name!r}, base_url={self.base_url!r})"

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def _environment_for(self, url: str) -> dict[str, Any]:
        """The proxies and CA bundle the environment gives for ``url``'s server (as requests would read them),
        read again once ``ENVIRONMENT_SECONDS`` have passed."""
        server, now = origin(url), self.now()
        known = self._environment.get(server)
        if known is None or not 0 <= now - known[0] < ENVIRONMENT_SECONDS:
            verify = self.verify
            if verify is True:
                verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            known = self._environment[server] = (now, {"proxies": get_environ_proxies(url), "verify": verify})
        return known[1]

    def allow(self, url: str) -> None:
        """Let requests go to ``url``'s origin too (e.g. an Autotask zone found by an https lookup)."""
        self._origins.add(origin(url))

    def allows(self, url: str) -> bool:
        """Whether a request to ``url`` would be sent."""
        return origin(self.url(url)) in self._origins

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
        kwargs["allow_redirects"] = False  # a redirect would take the credentials with it
        label = endpoint or path.split("?")[0]
        if origin(url) not in self._origins:
            raise OffOrigin(f"{self.name}: {method} {label} would go to {host_of(url)}, which is not "
                            f"{host_of(self.base_url)}; nothing was sent there (check the address in Settings, "
                            "or report the answer that pointed there)",
                            reason=f"it pointed to another server ({host_of(url)})")
        if self.trusts_environment:
            kwargs.update(self._environment_for(url))
        attempt = 0
        while True:
            attempt += 1
            with self._count_lock:
                self.counts[(method, label)] += 1
            try:
                with self._slots:
                    response = self.session.request(method, url, **kwargs)
            except requests.exceptions.SSLError as error:
                # Not an outage: trying again would meet the same certificate.
                raise self._ssl_failure(error, url, method, label) from None
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
                raise self._failure(error, method, label, maybe_applied=not safe and not never_sent) from None
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as error:
                # The server answered (its status line came): a write was seen and may have been applied.
                if safe and attempt < self.retry.max_attempts:
                    self.sleep(self._backoff(attempt))
                    continue
                raise self._failure(error, method, label, maybe_applied=not safe) from None
            except _NEVER_SENT as error:
                # Its text may quote a header's value (a secret with a stray space): never chained.
                raise self._failure(error, method, label, maybe_applied=False) from None
            except requests.RequestException as error:
                # Anything else requests raises: not retried.
                raise self._failure(error, method, label, maybe_applied=not safe) from None
            status = response.status_code
            if 300 <= status < 400:
                response.close()
                where = response.headers.get("Location")
                there = host_of(requests.compat.urljoin(url, where)) if where else "no address"
                raise Redirected(f"{self.name} answered {method} {label} with a redirect (HTTP {status}) to "
                                 f"{there}; seatsync sends nothing there (use the address it redirects to, "
                                 "with https://)", status=status, maybe_applied=not safe,
                                 reason=f"it answered with a redirect (HTTP {status}) to {there}")
            if status == 429 or (safe and status in self.retry.retry_statuses_read):
                if attempt < self.retry.max_attempts:
                    self.sleep(self._wait_for(response, attempt))
                    continue
                if status == 429:
                    raise Throttled(f"{self.name}: still throttled after {attempt} attempts",
                                    status=status, body=_body(response))
            if status >= 500:
                raise Unavailable(f"{self.name}: HTTP {status} on {method} {label}", status=status,
                                  body=_body(response), maybe_applied=not safe,
                                  reason=f"it answered with a server error (HTTP {status})")
            return response

    def _failure(self, error: requests.RequestException, method: str, label: str, *,
                 maybe_applied: bool) -> Unavailable:
        reason = describe_failure(error, self.timeout)
        broken = isinstance(error, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError))
        kind = BrokenAnswer if broken else Unavailable
        return kind(f"{self.name}: {reason} ({method} {label})", maybe_applied=maybe_applied, reason=reason)

    def _ssl_failure(self, error: requests.exceptions.SSLError, url: str, method: str, label: str) -> HttpFailure:
        host = host_of(url)
        why = certificate_problem(error)
        if why is None:
            reason = "the secure connection failed (check the address and its certificate)"
            return Unavailable(f"{self.name}: {reason} ({method} {label})", maybe_applied=False, reason=reason)
        reason = f"the certificate of {host} is not trusted: {why}"
        return CertificateUntrusted(f"{reason}; nothing was sent. If {host} is the right server, have its "
                                    "certificate fixed or its certificate authority trusted by this computer",
                                    maybe_applied=False, reason=reason)

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
    if value.isascii() and value.isdigit():  # delta-seconds are ASCII digits; "³" is a digit to isdigit()
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - datetime.fromtimestamp(now, UTC).timestamp())


def causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception behind it, nearest first: its cause and context, and what requests and urllib3
    keep in ``args`` (requests' ``ConnectionError(MaxRetryError)``, urllib3's ``ProtocolError(message, OSError)``)
    and in ``MaxRetryError.reason``."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        context = None if current.__suppress_context__ else current.__context__
        behind = (current.__cause__, context, getattr(current, "reason", None), *current.args)
        pending.extend(inner for inner in behind if isinstance(inner, BaseException))


def _caused_by(error: BaseException, *kinds: type[BaseException]) -> bool:
    return any(isinstance(cause, kinds) for cause in causes(error))


#: OpenSSL's verification codes for a certificate issued for another host name or IP address.
_OTHER_HOST = frozenset({62, 64})  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
#: What ends OpenSSL's words for a verification failure in a message: a quote or a parenthesis.
_WORDS_END = re.compile(r"[()\]'\"]")


def certificate_problem(error: BaseException) -> str | None:
    """Why a TLS handshake refused the server's certificate, in a few words; None when it was not that."""
    for cause in causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):  # OpenSSL's verdict, with its code and words
            code = getattr(cause, "verify_code", None)  # none when ssl.match_hostname, a host name check, raised it
            if code is None or code in _OTHER_HOST:
                return "it was issued for another host name"
            words = _WORDS_END.split(getattr(cause, "verify_message", None) or "", maxsplit=1)[0]
            return words.strip().rstrip(".") or "verification failed"
        if isinstance(cause, CertificateError):  # urllib3's own host name check
            return "it was issued for another host name"
    for cause in causes(error):  # OpenSSL's reason for another TLS failure: an alert about a certificate, say
        if isinstance(cause, ssl.SSLError) and "CERTIFICATE" in str(getattr(cause, "reason", None) or ""):
            return "verification failed"
    return None


def _is_connect_failure(error: BaseException) -> bool:
    """Whether no connection was made (so nothing was sent): refused, unreachable, or a name that did not resolve."""
    return _caused_by(error, NewConnectionError, ConnectionRefusedError, socket.gaierror)


def _is_name_failure(error: BaseException) -> bool:
    return _caused_by(error, NameResolutionError, socket.gaierror)


def _was_reset(error: BaseException) -> bool:
    """Whether the server reset the connection (an RST), rather than closing it (http.client's RemoteDisconnected,
    an orderly close before any answer, is a ConnectionResetError too)."""
    return any(isinstance(cause, ConnectionResetError) and not isinstance(cause, RemoteDisconnected)
               for cause in causes(error))


def describe_failure(error: requests.RequestException, timeout: Any = None) -> str:
    """What went wrong with a request, in words a person reads (no class names, no URL, no header)."""
    connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
    if isinstance(error, requests.ConnectTimeout):
        return f"no connection within {_seconds(connect)}"
    if isinstance(error, requests.ReadTimeout):
        return f"no answer within {_seconds(read)}"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        how = "was reset" if _was_reset(error) else "broke"
        return f"the connection {how} while the answer was being read"
    if isinstance(error, requests.exceptions.ContentDecodingError):
        return "the answer's compressed body could not be decompressed"
    if isinstance(error, requests.exceptions.SSLError):
        return "the secure connection failed (check the address and its certificate)"
    if isinstance(error, requests.ConnectionError):
        if _is_name_failure(error):
            return "the server's name could not be found (check the address)"
        if _is_connect_failure(error):
            return "the connection was refused (check the address, or whether the service is down)"
        if _was_reset(error):
            return "the connection was reset before an answer came"
        return "the connection closed before an answer came"
    if isinstance(error, requests.TooManyRedirects):
        return "it redirected the request too many times (check the address)"
    if isinstance(error, _NEVER_SENT):
        return "the request could not be sent: its address or a header is not valid"
    return "the request failed before an answer could be read"


def _seconds(value: Any) -> str:
    if value is None:
        return "the time allowed"
    return f"{value:g} seconds" if isinstance(value, (int, float)) else f"{value} seconds"


#: How much of an unreadable body a message quotes.
EXCERPT = 60
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)


def describe_body(content: bytes, content_type: str = "") -> str:
    """What an answer that should have been JSON holds instead, for a message.

    "an HTML page ("Down for maintenance")", "JSON cut short after 112 bytes",
    "an empty body"...: never more of the body than a short excerpt (it may be
    a sign-in page echoing anything).
    """
    if not content.strip():
        return "an empty body"
    head = content.lstrip()[:1]
    kind = (content_type or "").split(";")[0].strip().lower()
    if "html" in kind or head == b"<":
        title = _TITLE.search(content[:4096])
        named = f' ("{_excerpt(title.group(1))}")' if title and _excerpt(title.group(1)) else ""
        return f"an HTML page{named}, not JSON"
    if head in (b"{", b"[", b'"'):
        try:
            json.loads(content)
        except RecursionError:
            return "JSON nested too deeply to read"
        except ValueError as error:
            if _cut_short(content, error):
                return f"JSON cut short after {len(content)} bytes"
            return f"JSON that does not parse ({getattr(error, 'msg', 'malformed')})"
        return "JSON"
    return f"something that is not JSON ({kind or 'no content type'}: \"{_excerpt(content)}\")"


#: What a JSON value cut short can end with: the start of a literal or a number.
_PARTIAL_VALUE = re.compile(r"t(r(ue?)?)?|f(a(l(se?)?)?)?|n(u(ll?)?)?|-?[0-9.eE+-]*")


def _cut_short(content: bytes, error: ValueError) -> bool:
    """Whether JSON failed to parse because it stops early (rather than being wrong inside)."""
    msg = getattr(error, "msg", "")
    position = getattr(error, "pos", 0)
    if msg.startswith("Unterminated") or position >= len(content.rstrip()) - 1:
        return True
    rest = content[position:].decode("utf-8", "replace").strip()
    return msg.startswith("Expecting") and _PARTIAL_VALUE.fullmatch(rest) is not None


def _excerpt(raw: bytes) -> str:
    text = " ".join(raw.decode("utf-8", "replace").split())
    text = "".join(c for c in text if c.isprintable())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):  # not JSON, or nested deeper than it can be read
        return response.text[:2000]
