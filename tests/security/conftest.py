"""Recording servers on loopback over TLS: what reached them, and with which headers.

``Recorder`` answers every request with what its ``answer`` function says and
keeps each request (method, path, headers, body), so a test can say that a
server got no request at all, or none carrying a credential.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from app.sandbox.server import TlsFiles, make_tls

#: Headers that carry a credential in one API or another.
CREDENTIAL_HEADERS = ("authorization", "secret", "apiintegrationcode", "username", "clientid")


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def credentials(self) -> list[str]:
        """The credential headers this request carried, and a secret in its body."""
        found = [name for name in CREDENTIAL_HEADERS if name in self.headers]
        if b"client_secret" in self.body:
            found.append("client_secret in the body")
        return found


Answer = Callable[["Recorder", Seen], tuple[int, dict[str, str], Any]]


def ok(body: Any, status: int = 200, **headers: str) -> tuple[int, dict[str, str], Any]:
    return status, {"Content-Type": "application/json", **headers}, body


@dataclass
class Recorder:
    tls: TlsFiles
    answer: Answer = lambda recorder, seen: ok({})
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                            self.rfile.read(length) if length else b"")
                recorder.seen.append(seen)
                status, headers, body = recorder.answer(recorder, seen)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.tls.cert_chain, self.tls.key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class LoopbackListener:
    """A server on 127.0.0.1 that hands each connection it accepts to ``serve``, on its accepting thread."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.connections = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.listener.getsockname()[1]}"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            self.serve(conn)

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        self.listener.close()


class HandshakeCounter(LoopbackListener):
    """A TLS server whose certificate the client does not trust; counts the connections it gets."""

    def __init__(self, tls: TlsFiles) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(tls.cert_chain, tls.key)
        super().__init__()

    @property
    def url(self) -> str:
        return f"https://{self.address}"

    def serve(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        try:
            with self.context.wrap_socket(conn, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass
        finally:
            conn.close()


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("security-tls"))


@pytest.fixture(scope="session")
def stranger_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A certificate for 127.0.0.1 from a CA nobody trusts."""
    return make_tls(tmp_path_factory.mktemp("stranger-tls"))


@pytest.fixture
def recorders(tls: TlsFiles) -> Iterator[Callable[..., Recorder]]:
    made: list[Recorder] = []

    def make(answer: Answer | None = None) -> Recorder:
        recorder = Recorder(tls, answer) if answer else Recorder(tls)
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        recorder.stop()


@pytest.fixture
def untrusted(stranger_tls: TlsFiles) -> Iterator[HandshakeCounter]:
    server = HandshakeCounter(stranger_tls)
    yield server
    server.stop()
