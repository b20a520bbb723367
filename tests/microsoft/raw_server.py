"""A TLS server on loopback that answers with exactly the bytes a test gives, for answers no API sends on purpose.

The sandbox's server writes well-formed HTTP; this one writes what ``answer(method, path)`` returns, status
line and headers included, then closes the connection: a chunked body that stops before its last chunk, a
Content-Length the body never reaches, an empty 200.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable

from app.sandbox.server import TlsFiles

Answer = Callable[[str, str], bytes]


def http(status: int, body: bytes, content_type: str = "application/json", *, length: int | None = None,
         reason: str = "OK") -> bytes:
    """A whole HTTP/1.1 answer; ``length``: the Content-Length to announce (the body's own by default)."""
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


def chunked_cut_short(body: bytes, content_type: str = "application/json") -> bytes:
    """A 200 whose chunked body sends its first half, then the connection closes without the last chunk."""
    half = body[: len(body) // 2]
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head.encode() + f"{len(half):x}\r\n".encode() + half + b"\r\n"


class RawServer:
    def __init__(self, tls: TlsFiles, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[tuple[str, str]] = []
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(tls.cert_chain, tls.key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # so the loop sees ``_stop`` soon after the test ends
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            with self._context.wrap_socket(conn, server_side=True) as tls:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                length = next((int(line.split(":", 1)[1]) for line in lines[1:]
                               if line.lower().startswith("content-length:")), 0)
                while len(body) < length:
                    body += tls.recv(65536)
                self.requests.append((method, target))
                tls.sendall(self.answer(method, target.split("?", 1)[0]))
        except (OSError, ssl.SSLError):
            pass  # the client went away: nothing to answer
