"""Each way a request fails is told apart by the exceptions behind it, provoked for real on loopback.

requests wraps urllib3's errors (MaxRetryError, NewConnectionError, NameResolutionError, ProtocolError,
SSLError), which wrap the operating system's (ConnectionRefusedError, ConnectionResetError, socket.gaierror)
and OpenSSL's (ssl.SSLCertVerificationError with its verify_code and verify_message); ``http.causes`` walks
that chain. The connection failures are plain TCP (a TLS layer over them changes nothing they are told by);
the certificates are trustme's. Nothing leaves the machine: the unresolvable name is refused by a stand-in
for the system's resolver, before any query could be sent.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from http.client import RemoteDisconnected

import pytest
import requests
import trustme
from urllib3.exceptions import NameResolutionError, NewConnectionError, ProtocolError, SSLError
from urllib3.util.ssl_match_hostname import CertificateError

from app.services import http
from app.services.http import BrokenAnswer, CertificateUntrusted, HttpApi, RetryPolicy, Unavailable

REFUSED = "the connection was refused (check the address, or whether the service is down)"
NO_NAME = "the server's name could not be found (check the address)"
RESET = "the connection was reset before an answer came"
CLOSED = "the connection closed before an answer came"
RESET_READING = "the connection was reset while the answer was being read"
BROKE_READING = "the connection broke while the answer was being read"


class Server:
    """A server on 127.0.0.1 that hands each connection, once the request has arrived, to ``answer``."""

    def __init__(self, answer: Callable[[socket.socket], None], context: ssl.SSLContext | None = None) -> None:
        self.answer, self.context = answer, context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.connections = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.settimeout(5)
            try:
                if self.context is not None:
                    conn = self.context.wrap_socket(conn, server_side=True)
                self._read_request(conn)
                self.answer(conn)
            except (ssl.SSLError, OSError):
                conn.close()

    @staticmethod
    def _read_request(conn: socket.socket) -> None:
        """The whole request, its body too: the client has sent everything and waits for the answer."""
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(65536)
            if not chunk:
                return
            request += chunk
        head, _, body = request.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return
            body += chunk

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        self.listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(answer: Callable[[socket.socket], None], context: ssl.SSLContext | None = None) -> Server:
        started.append(Server(answer, context))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def reset(conn: socket.socket) -> None:
    """Close with an RST, as a crashed server or a firewall does."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def half_an_answer(then: Callable[[socket.socket], None]) -> Callable[[socket.socket], None]:
    def answer(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n" + b" " * 50)
        time.sleep(0.3)  # the client has read the status line and the headers
        then(conn)

    return answer


def raw_failure(url: str, **kwargs) -> requests.RequestException:
    """What requests itself raises for a GET of ``url``."""
    with pytest.raises(requests.RequestException) as raised:
        requests.get(url, timeout=(5, 5), **kwargs).content  # noqa: B018 - the body is read for its failure
    return raised.value


def api(url: str, waits: list[float], **kwargs) -> HttpApi:
    return HttpApi(name="Test", base_url=url, retry=RetryPolicy(max_attempts=3), sleep=waits.append, **kwargs)


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]


def test_a_refused_connection_is_a_connect_failure_and_a_write_is_sent_again():
    url = f"http://127.0.0.1:{closed_port()}"
    error = raw_failure(url)
    assert isinstance(error, requests.ConnectionError) and not isinstance(error, requests.exceptions.SSLError)
    assert {NewConnectionError, ConnectionRefusedError} <= {type(cause) for cause in http.causes(error)}
    assert http._is_connect_failure(error) and not http._is_name_failure(error)
    assert http.describe_failure(error) == REFUSED
    waits: list[float] = []
    with pytest.raises(Unavailable) as raised:
        api(url, waits).request("POST", "/lines", json={})
    assert raised.value.reason == REFUSED and raised.value.maybe_applied is False and len(waits) == 2


def test_an_unresolvable_name_is_a_connect_failure_of_its_own(monkeypatch):
    resolve = socket.getaddrinfo

    def resolver(host, *args, **kwargs):  # the system's answer for a name under .invalid (RFC 6761)
        if str(host).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    url = "https://psa.seatsync.invalid"
    error = raw_failure(url)
    kinds = {type(cause) for cause in http.causes(error)}
    assert {NameResolutionError, socket.gaierror} <= kinds
    assert http._is_name_failure(error) and http._is_connect_failure(error)
    assert http.describe_failure(error) == NO_NAME
    waits: list[float] = []
    with pytest.raises(Unavailable) as raised:
        api(url, waits).request("POST", "/lines", json={})
    assert raised.value.reason == NO_NAME and raised.value.maybe_applied is False and len(waits) == 2


def test_a_reset_before_the_answer_may_have_applied_a_write(serve):
    server = serve(reset)
    url = f"http://127.0.0.1:{server.port}"
    error = raw_failure(url)
    assert isinstance(error, requests.ConnectionError)
    assert {ProtocolError, ConnectionResetError} <= {type(cause) for cause in http.causes(error)}
    assert not http._is_connect_failure(error)
    assert http.describe_failure(error) == RESET
    waits: list[float] = []
    with pytest.raises(Unavailable) as raised:
        api(url, waits).request("POST", "/lines", json={})
    assert raised.value.reason == RESET and raised.value.maybe_applied is True and waits == []
    with pytest.raises(Unavailable) as raised:
        api(url, waits).request("GET", "/lines")  # a read is tried again
    assert raised.value.reason == RESET and len(waits) == 2


def test_a_connection_closed_before_the_answer_is_neither_refused_nor_reset(serve):
    server = serve(socket.socket.close)
    error = raw_failure(f"http://127.0.0.1:{server.port}")
    assert RemoteDisconnected in {type(cause) for cause in http.causes(error)}  # a ConnectionResetError, by class
    assert not http._is_connect_failure(error) and not http._was_reset(error)
    assert http.describe_failure(error) == CLOSED


@pytest.mark.parametrize(("then", "says"), [(reset, RESET_READING), (socket.socket.close, BROKE_READING)])
def test_an_answer_cut_off_is_a_broken_answer(serve, then, says):
    server = serve(half_an_answer(then))
    url = f"http://127.0.0.1:{server.port}"
    error = raw_failure(url)
    assert isinstance(error, requests.exceptions.ChunkedEncodingError)
    assert http.describe_failure(error) == says
    with pytest.raises(BrokenAnswer) as raised:
        api(url, []).request("POST", "/lines", json={}).content  # noqa: B018
    assert raised.value.reason == says and raised.value.maybe_applied is True


# -- certificates ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trusted(tmp_path_factory) -> tuple[trustme.CA, str]:
    """The certificate authority the client trusts, and its file."""
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("trusted") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, str(path)


def presenting(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    return context


YESTERDAY = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)


@pytest.mark.parametrize(("host", "certificate", "code", "why"), [
    ("127.0.0.1", lambda ca: trustme.CA().issue_cert("127.0.0.1"), 20, "unable to get local issuer certificate"),
    ("127.0.0.1", lambda ca: ca.issue_cert("psa.example.com"), 64, "it was issued for another host name"),
    ("localhost", lambda ca: ca.issue_cert("psa.example.com"), 62, "it was issued for another host name"),
    ("127.0.0.1", lambda ca: ca.issue_cert("127.0.0.1", not_before=YESTERDAY - datetime.timedelta(days=30),
                                           not_after=YESTERDAY), 10, "certificate has expired"),
], ids=["unknown authority", "another address", "another name", "expired"])
def test_a_certificate_that_is_not_trusted_says_why_in_openssls_words(serve, trusted, host, certificate, code, why):
    ca, ca_file = trusted
    server = serve(socket.socket.close, presenting(certificate(ca)))
    url = f"https://{host}:{server.port}"
    error = raw_failure(url, verify=ca_file)
    assert isinstance(error, requests.exceptions.SSLError)
    verification = next(c for c in http.causes(error) if isinstance(c, ssl.SSLCertVerificationError))
    assert verification.verify_code == code
    assert http.certificate_problem(error) == why
    waits: list[float] = []
    with pytest.raises(CertificateUntrusted) as raised:
        api(url, waits, verify=ca_file).request("POST", "/lines", json={})
    assert raised.value.reason == f"the certificate of {host}:{server.port} is not trusted: {why}"
    assert raised.value.maybe_applied is False and waits == [] and server.connections == 2


def test_a_failure_that_is_not_about_a_certificate_is_not_called_one(serve, trusted):
    server = serve(reset)  # no TLS at all: the handshake meets a reset
    error = raw_failure(f"https://127.0.0.1:{server.port}", verify=trusted[1])
    assert http.certificate_problem(error) is None


def alert(reason: str) -> ssl.SSLError:
    error = ssl.SSLError(1, f"[SSL: {reason}] {reason.lower().replace('_', ' ')}")
    error.reason = reason  # as OpenSSL's errors carry it
    return error


@pytest.mark.parametrize(("inner", "why"), [
    (ssl.CertificateError("hostname 'psa.example.com' doesn't match 'other.example.com'"),
     "it was issued for another host name"),  # ssl.match_hostname's, which has no verify_code
    (CertificateError("hostname 'psa.example.com' doesn't match 'other.example.com'"),
     "it was issued for another host name"),  # urllib3's own check
    (alert("SSLV3_ALERT_BAD_CERTIFICATE"), "verification failed"),
    (alert("WRONG_VERSION_NUMBER"), None),
], ids=["ssl host name check", "urllib3 host name check", "certificate alert", "not about a certificate"])
def test_other_tls_failures_are_read_from_their_types_and_openssls_reason(inner, why):
    error = requests.exceptions.SSLError(SSLError(inner))
    assert http.certificate_problem(error) == why


def test_the_chain_is_walked_once_whatever_its_shape():
    inner = ConnectionResetError(104, "Connection reset by peer")
    outer = ProtocolError("Connection aborted.", inner)
    try:
        try:
            raise outer
        except ProtocolError as error:
            raise requests.ConnectionError(error) from error
    except requests.ConnectionError as error:
        found = list(http.causes(error))
    assert type(found[0]) is requests.ConnectionError and found[1:] == [outer, inner]  # nearest first, each once
