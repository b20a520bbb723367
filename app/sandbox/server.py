"""A small HTTP(S) server that every sandbox runs on loopback.

A sandbox is a ``SandboxApp`` (routes and state) served by a
``SandboxServer`` on ``127.0.0.1:0``. The server adds what every real API
does to a client: latency, throttling (429 + Retry-After), faults before or
after the request is applied, a lost response ("applied on the server,
answer never arrived") and answers that cannot be read (an HTML page with
status 200, JSON cut short, a connection reset halfway through the body).
It counts requests by route and method for the benchmarks.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


class CaseInsensitiveDict(dict):
    def __init__(self, items: Any = ()) -> None:
        super().__init__()
        for k, v in dict(items).items():
            self[k] = v

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern
    url: str = ""  # the full request target, path and query
    base_url: str = ""  # scheme://host[:port] as the client addressed the server (for absolute links)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A query parameter, matched case-insensitively as OData and CW do."""
        for key, values in self.query.items():
            if key.lower() == name.lower():
                return values[-1]
        return default

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None,
             content_type: str = "application/json") -> Response:
        data = json.dumps(payload, default=str).encode("utf-8")
        return cls(status, data, {"Content-Type": content_type, **(headers or {})})

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


Handler = Callable[[Request], Response]


class HttpError(Exception):
    """Raised by a route to answer with an error response in the API's own shape."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class SandboxApp:
    """Routes and state of one sandbox API. Subclasses add routes in __init__."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self.lock = threading.RLock()

    def route(self, method: str, pattern: str, handler: Handler, name: str | None = None) -> None:
        """``pattern`` is a path with ``{name}`` placeholders (matched up to the next '/')."""
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "/?$", re.IGNORECASE)
        self._routes.append((method.upper(), regex, name or pattern, handler))

    def resolve(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
        for m, regex, name, handler in self._routes:
            if m == method.upper():
                match = regex.match(path)
                if match:
                    return name, handler, match.groupdict()
        return None

    def not_found(self, request: Request) -> Response:
        return Response.json({"error": "not found", "path": request.path}, 404)

    def throttled(self, retry_after: int | None) -> Response:
        """The API's own 429; subclasses answer in their vendor's shape."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return Response.json({"message": "Too many requests"}, 429, headers)

    def server_error(self, status: int) -> Response:
        return Response.json({"message": "Internal server error"}, status)


@dataclass
class Fault:
    """One injected fault for requests matching ``method`` and ``path`` (a regex).

    kind:
      - "status":       answer ``status`` without applying the request
      - "status_after": apply the request, then answer ``status``
      - "drop":         close the connection without applying or answering
      - "drop_after":   apply, then close without answering (the response is lost)
      - "delay_after":  apply, then wait ``delay`` seconds before answering
      - "hang":         wait ``delay`` seconds, then close without applying or answering
                        (a request that timed out before the server acted on it)
      - "html":         answer 200 with an HTML page without applying (a proxy's or a
                        maintenance page in front of the API)
      - "html_after":   apply, then answer 200 with an HTML page instead of the API's answer
      - "truncated_after": apply, then answer with the first half of the body only (a
                        complete HTTP response whose JSON stops mid-way)
      - "reset_after":  apply, then send the status, the headers (with the whole body's
                        Content-Length) and half the body, and reset the connection

    ``skip`` lets that many matching requests through untouched first (to
    fault the second write of an operation, say).
    """

    kind: str
    method: str = ".*"
    path: str = ".*"
    status: int = 500
    retry_after: int | None = None
    delay: float = 0.0
    times: int = 1
    skip: int = 0

    def matches(self, method: str, path: str) -> bool:
        return bool(re.fullmatch(self.method, method, re.I) and re.search(self.path, path))


class Chaos:
    """Latency, throttling and faults for one server, set by tests, benchmarks and the demo."""

    def __init__(self) -> None:
        self.latency = 0.0
        self.throttle_every = 0  # every Nth request answers 429
        self.throttle_retry_after: int | None = 1
        self._faults: list[Fault] = []
        self._count = 0
        self._lock = threading.Lock()

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.throttle_every = 0
            self.latency = 0.0

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            self._count += 1
            if self.throttle_every and self._count % self.throttle_every == 0:
                return Fault("status", status=429, retry_after=self.throttle_retry_after)
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None


class _Dropped(Exception):
    pass


#: What a proxy or a maintenance page in front of an API answers, with status 200.
MAINTENANCE_PAGE = ("<!DOCTYPE html><html><head><title>Down for maintenance</title></head>"
                    "<body><h1>We'll be back soon</h1><p>The service is being upgraded.</p></body></html>")


class SandboxServer:
    """Serves a SandboxApp on loopback, over TLS when given a certificate."""

    def __init__(self, app: SandboxApp, *, tls: TlsFiles | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.app = app
        self.chaos = Chaos()
        self.requests: Counter[tuple[str, str]] = Counter()
        self._counter_lock = threading.Lock()
        self.tls = tls
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes: without TCP_NODELAY, Nagle's
            # algorithm and the client's delayed ACK add ~40 ms to every response.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                try:
                    server._handle(self)
                except _Dropped:
                    self.close_connection = True
                except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                    # The client gave up (e.g. timed out during a "delay_after" fault).
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls.cert_chain, tls.key)
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> SandboxServer:
        # A short poll interval: stop() (shutdown) waits up to one interval.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def request_count(self, method: str | None = None, route: str | None = None) -> int:
        with self._counter_lock:
            return sum(n for (m, r), n in self.requests.items()
                       if (method is None or m == method) and (route is None or r == route))

    def reset_counts(self) -> None:
        with self._counter_lock:
            self.requests.clear()

    # -- request handling -------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        host = h.headers.get("Host") or f"127.0.0.1:{self.port}"
        request = Request(h.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                          CaseInsensitiveDict(h.headers.items()), body, url=h.path,
                          base_url=f"{'https' if self.tls else 'http'}://{host}")
        resolved = self.app.resolve(h.command, parts.path)
        route_name = resolved[0] if resolved else "(unknown)"
        with self._counter_lock:
            self.requests[(h.command, route_name)] += 1
        if self.chaos.latency:
            time.sleep(self.chaos.latency)
        fault = self.chaos.take(h.command, parts.path)
        if fault and fault.kind == "drop":
            raise _Dropped
        if fault and fault.kind == "hang":
            time.sleep(fault.delay)
            raise _Dropped
        if fault and fault.kind == "status":
            self._write(h, self.app.throttled(fault.retry_after) if fault.status == 429
                        else self.app.server_error(fault.status))
            return
        if fault and fault.kind == "html":
            self._write(h, Response.html(MAINTENANCE_PAGE))
            return
        if resolved is None:
            response = self.app.not_found(request)
        else:
            request.params = resolved[2]
            try:
                response = resolved[1](request)
            except HttpError as error:
                response = error.response
        if fault and fault.kind == "drop_after":
            raise _Dropped
        if fault and fault.kind == "status_after":
            response = self.app.server_error(fault.status)
        if fault and fault.kind == "delay_after":
            time.sleep(fault.delay)
        if fault and fault.kind == "html_after":
            response = Response.html(MAINTENANCE_PAGE)
        if fault and fault.kind == "truncated_after":
            response = Response(response.status, response.body[: len(response.body) // 2], response.headers)
        if fault and fault.kind == "reset_after":
            self._write(h, response, send=len(response.body) // 2)
            _reset(h)
        self._write(h, response)

    @staticmethod
    def _write(h: BaseHTTPRequestHandler, response: Response, send: int | None = None) -> None:
        """Answer ``response``; ``send``: only that many bytes of its body (the headers announce all)."""
        h.send_response(response.status)
        for key, value in response.headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(response.body)))
        h.end_headers()
        body = response.body if send is None else response.body[:send]
        if body:
            h.wfile.write(body)


def _reset(h: BaseHTTPRequestHandler) -> None:
    """Reset the connection (RST, not an orderly close) in the middle of an answer."""
    h.wfile.flush()
    try:
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()  # closed for real, with the RST, when the handler lets go of it
    except OSError:
        pass
    raise _Dropped


@dataclass(frozen=True)
class TlsFiles:
    """A throw-away CA and a certificate for 127.0.0.1/localhost, as files."""

    ca: str
    cert_chain: str
    key: str


def make_tls(directory: Path) -> TlsFiles:
    """Create a test CA and a loopback certificate under ``directory``."""
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = TlsFiles(str(directory / "ca.pem"), str(directory / "server.pem"), str(directory / "server.key"))
    ca.cert_pem.write_to_path(files.ca)
    cert.private_key_and_cert_chain_pem.write_to_path(files.cert_chain)
    cert.private_key_pem.write_to_path(files.key)
    return files
