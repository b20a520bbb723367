"""A ``~/.netrc`` entry for an API's host never replaces the credential seatsync sends.

Outside the sandboxes a client honours the environment (proxies, a CA
bundle), as MSP networks need. requests would then also look up the host in
``~/.netrc`` (or ``$NETRC``) and, finding it, overwrite the request's own
``Authorization`` header with Basic auth from that file: a technician's
entry for their ConnectWise site, kept for curl, would send the wrong
credential and every request would be refused.
"""

from __future__ import annotations

import pytest

from app.services.http import HttpApi
from app.services.psa.connectwise.client import ConnectWiseClient, ConnectWiseCredentials


@pytest.fixture
def netrc_everywhere(tmp_path, monkeypatch, tls):
    """A netrc naming 127.0.0.1, and the environment a client trusts: the tests' CA, no proxy for loopback."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login from-netrc password not-seatsyncs\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", tls.ca)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


def test_a_requests_own_authorization_is_sent_as_given(recorders, netrc_everywhere):
    server = recorders()
    api = HttpApi(name="Test", base_url=server.url)  # trusts the environment, as outside the sandboxes
    assert api.trusts_environment
    assert api.request("GET", "/me", headers={"Authorization": "Bearer token-1"}).status_code == 200
    assert [seen.headers.get("authorization") for seen in server.seen] == ["Bearer token-1"]


def test_a_session_authorization_is_sent_as_given(recorders, netrc_everywhere):
    server = recorders(lambda recorder, seen: (200, {"Content-Type": "application/json"}, {"Codebase": "v1/"}))
    credentials = ConnectWiseCredentials(site=server.url, company_id="acme", public_key="pub", private_key="priv",
                                         client_id="cid")
    with ConnectWiseClient(credentials) as client:
        client.http.request("GET", "/login/companyinfo/acme")
    sent = [seen.headers.get("authorization") for seen in server.seen]
    assert sent == [client.http.session.headers["Authorization"]]
    assert sent[0].startswith("Basic ") and sent[0] != "Basic ZnJvbS1uZXRyYzpub3Qtc2VhdHN5bmNz"  # netrc's
