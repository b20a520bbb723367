"""The environment's proxy carries seatsync's requests, as MSP networks need, and is read once a minute.

Outside the sandboxes a client takes from the environment its proxies
(``HTTPS_PROXY``, ``NO_PROXY``; on Windows, the system's settings in the
registry) and CA bundle. requests reads them again for every request (the
registry, on Windows, each time); seatsync reads them once per server and
again after ``ENVIRONMENT_SECONDS``, so a proxy switched on while the tray
app runs is used from the next minute on.
"""

from __future__ import annotations

import select
import socket
import threading

import pytest
import requests

from app.services import http
from app.services.http import ENVIRONMENT_SECONDS, HttpApi
from tests.security.conftest import LoopbackListener


class TunnelProxy(LoopbackListener):
    """An HTTP proxy on loopback that tunnels ``CONNECT`` requests and keeps each target it was asked for."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def serve(self, conn: socket.socket) -> None:
        threading.Thread(target=self._tunnel, args=(conn,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target = head.split(b" ", 2)[:2]
            self.targets.append(target.decode())
            if method != b"CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            host, port = target.decode().rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=5) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                ends = [client, upstream]
                while not self._stop.is_set():
                    ready, _, _ = select.select(ends, [], [], 0.05)
                    for end in ready:
                        data = end.recv(65536)
                        if not data:
                            return
                        (upstream if end is client else client).sendall(data)


@pytest.fixture
def proxy(monkeypatch, tls):
    """A tunnelling proxy, and an environment that trusts the tests' CA and names no proxy yet."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls.ca)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    server = TunnelProxy()
    yield server
    server.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_requests_go_through_the_environments_proxy(recorders, proxy, monkeypatch):
    server = recorders()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    api = HttpApi(name="Test", base_url=server.url)
    assert api.request("GET", "/me").status_code == 200
    assert proxy.targets == [server.url.removeprefix("https://")]
    assert [seen.path for seen in server.seen] == ["/me"]


def test_a_server_no_proxy_names_is_reached_directly(recorders, proxy, monkeypatch):
    server = recorders()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    api = HttpApi(name="Test", base_url=server.url)
    assert api.request("GET", "/me").status_code == 200
    assert proxy.targets == []
    assert len(server.seen) == 1


def test_a_client_with_a_ca_of_its_own_ignores_the_environments_proxy(recorders, proxy, monkeypatch, tls):
    server = recorders()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nowhere/ca.pem")  # would fail every request if it were used
    api = HttpApi(name="Sandbox", base_url=server.url, verify=tls.ca)
    assert api.request("GET", "/me").status_code == 200
    assert proxy.targets == []


def test_the_environment_is_read_once_a_server_and_again_after_a_minute(recorders, proxy, monkeypatch):
    server = recorders()
    clock = Clock()
    reads: list[str] = []
    environ_proxies = requests.utils.get_environ_proxies

    def counted(url: str, no_proxy: str | None = None) -> dict[str, str]:
        reads.append(url)
        return environ_proxies(url, no_proxy=no_proxy)

    monkeypatch.setattr(http, "get_environ_proxies", counted)
    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counted)  # requests' own per-request read
    api = HttpApi(name="Test", base_url=server.url, now=clock)
    for path in ("/a", "/b", "/c"):
        assert api.request("GET", path).status_code == 200
    assert len(reads) == 1 and proxy.targets == []

    monkeypatch.setenv("HTTPS_PROXY", proxy.url)  # switched on while the app runs
    clock.now += ENVIRONMENT_SECONDS - 1
    assert api.request("GET", "/d").status_code == 200
    assert len(reads) == 1 and proxy.targets == []
    clock.now += 1
    assert api.request("GET", "/e").status_code == 200
    assert len(reads) == 2 and proxy.targets == [server.url.removeprefix("https://")]
    assert [seen.path for seen in server.seen] == ["/a", "/b", "/c", "/d", "/e"]
