"""No secret in a log line, a repr, an error's text or a traceback, at DEBUG level, through every client.

Every secret below is a canary. Each client is driven against its sandbox (or
a recording server) with the root logger at DEBUG, through success and
failure; the canary must not appear in what was logged (urllib3's and msal's
lines included), in ``str``/``repr`` of any error raised, or in the error's
formatted traceback.
"""

from __future__ import annotations

import base64
import logging
import traceback

import pytest

from app.errors import SeatsyncError
from app.sandbox.autotask import AutotaskSandbox, lookup_url, seed_account
from app.sandbox.autotask import serve as serve_autotask
from app.sandbox.connectwise import ConnectWiseSandbox
from app.sandbox.halopsa import HaloSandbox
from app.sandbox.microsoft import MicrosoftSandbox, generate
from app.sandbox.server import SandboxServer
from app.services.http import HttpApi, HttpFailure, RetryPolicy
from app.services.microsoft import MicrosoftClients, MicrosoftSettings
from app.services.microsoft.config import GRAPH_SCOPE, PARTNER_CENTER_SCOPE
from app.services.microsoft.skus import SkuCatalogue
from app.services.psa.autotask.client import AutotaskClient, AutotaskCredentials
from app.services.psa.connectwise.client import ConnectWiseClient, ConnectWiseCredentials
from app.services.psa.halopsa.client import HaloClient, HaloConfig
from app.services.redaction import RedactSecrets, redact

CANARY = "Canary7Secret9xQ2"


def leaks(text: str, *canaries: str) -> list[str]:
    return [c for c in (CANARY, *canaries) if c and c in text]


def check_error(error: BaseException, *canaries: str) -> None:
    shown = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert leaks(str(error), *canaries) == []
    assert leaks(repr(error), *canaries) == []
    assert leaks(shown, *canaries) == []


@pytest.fixture
def debug(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_the_http_api_repr_never_shows_its_headers():
    api = HttpApi(name="Test", base_url="https://example.test",
                  default_headers={"Authorization": f"Basic {CANARY}", "clientId": "x"})
    assert leaks(repr(api)) == [] and "HttpApi(name='Test'" in repr(api)


def test_the_log_filter_masks_credentials_and_token_paths():
    lines = {
        f"Authorization: Basic {CANARY}": "Authorization: •••",
        f"{{'Secret': '{CANARY}', 'ApiIntegrationCode': '{CANARY}'}}":
            "{'Secret': '•••', 'ApiIntegrationCode': '•••'}",
        f"grant_type=client_credentials&client_secret={CANARY}":
            "grant_type=client_credentials&client_secret=•••",
        f"sent Bearer {CANARY}": "sent Bearer •••",
        f'https://acme.webhook.office.com:443 "POST /webhookb2/{CANARY}/IncomingWebhook/{CANARY} HTTP/1.1" 200 1':
            'https://acme.webhook.office.com:443 "POST /webhookb2/•••/IncomingWebhook/••• HTTP/1.1" 200 1',
        f"posting to https://hooks.slack.com/services/T01/B01/{CANARY}":
            "posting to https://hooks.slack.com/services/T01/B01/•••",
        f"https://x.logic.azure.com/workflows/1/invoke?api-version=1&sig={CANARY}":
            "https://x.logic.azure.com/workflows/1/invoke?api-version=1&sig=•••",
    }
    for line, masked in lines.items():
        assert redact(line) == masked
        record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "%s", (line,), None)
        RedactSecrets().filter(record)
        assert record.getMessage() == masked


def test_urllib3_debug_lines_never_show_a_webhook_token(debug, recorders, tls):
    """A webhook's URL is its credential; urllib3 logs every request line at DEBUG."""
    server = recorders()
    api = HttpApi(name="Teams webhook", base_url=f"{server.url}/webhookb2/{CANARY}", verify=tls.ca)
    api.request("POST", f"{server.url}/webhookb2/{CANARY}/IncomingWebhook/{CANARY}x", json={}, idempotent=False)
    assert server.seen and "urllib3" in debug.text
    assert leaks(debug.text) == []


def test_a_secret_with_a_stray_space_never_reaches_a_traceback(debug, recorders, tls):
    """requests quotes a header value it refuses; that text must not be chained to the error."""
    server = recorders()
    api = HttpApi(name="Test", base_url=server.url, verify=tls.ca)
    with pytest.raises(HttpFailure) as raised:
        api.request("GET", "/x", headers={"Secret": f" {CANARY}"})
    check_error(raised.value)
    assert server.seen == [] and leaks(debug.text) == []


def test_connectwise(debug, tls):
    sandbox = ConnectWiseSandbox()
    with SandboxServer(sandbox, tls=tls) as server:
        def client(private_key: str) -> ConnectWiseClient:
            return ConnectWiseClient(ConnectWiseCredentials(site=server.url, company_id="seatsync",
                                                            public_key="sandbox-public", private_key=private_key,
                                                            client_id="seatsync-tests"),
                                     verify=tls.ca, sleep=lambda s: None, retry=RetryPolicy(max_attempts=2))

        basic = base64.b64encode(f"seatsync+sandbox-public:{CANARY}".encode()).decode()
        with client(CANARY) as wrong:
            with pytest.raises(SeatsyncError) as raised:
                wrong.list("company/companies")
            check_error(raised.value, basic)
            assert basic in str(wrong.http.session.headers)  # the session holds it; its repr must not show it
            assert leaks(repr(wrong.http), basic) == []
    assert leaks(debug.text, basic) == []


def test_autotask(debug, tls):
    app = AutotaskSandbox()
    account = seed_account(app)
    app.add_integration_code(CANARY + "code")
    server = serve_autotask(app, tls=tls)
    try:
        for secret, code in ((account.secret, CANARY + "code"), (CANARY, account.integration_code)):
            credentials = AutotaskCredentials(username=account.username, secret=secret, integration_code=code,
                                              lookup_url=lookup_url(server))
            with AutotaskClient(credentials, verify=tls.ca, sleep=lambda s: None) as client:
                try:
                    client.query("Companies")
                except SeatsyncError as error:
                    check_error(error, CANARY + "code")
                assert leaks(repr(client.api) + repr(credentials), CANARY + "code") == []
    finally:
        server.stop()
    assert "zoneInformation" in debug.text
    assert leaks(debug.text, CANARY + "code") == []


def test_halopsa(debug, tls):
    halo = HaloSandbox(tenant="acme")
    halo.add_app("cid", CANARY)
    with SandboxServer(halo, tls=tls) as server:
        for secret in (CANARY, CANARY + "wrong"):
            config = HaloConfig(api_url=server.url, auth_url=f"{server.url}/auth", client_id="cid",
                                client_secret=secret, tenant="acme")
            with HaloClient(config, verify=tls.ca) as client:
                try:
                    client.list("/Client", "clients")
                    token = client.token()
                except SeatsyncError as error:
                    check_error(error)
                    continue
                assert leaks(repr(client.http) + repr(config) + repr(client._token), token) == []
    assert leaks(debug.text, token) == []


def test_microsoft_token_graph_and_partner_center(debug, tls):
    scenario = generate(3, seed=7, catalogue=SkuCatalogue.load())
    sandbox = MicrosoftSandbox(scenario)
    with SandboxServer(sandbox, tls=tls) as server:
        good = sandbox.settings(server)
        tenant = next(iter(scenario.tenants))
        with MicrosoftClients.create(good, retry=RetryPolicy(max_attempts=2), sleep=lambda s: None) as clients:
            clients.partner_center.customers()
            try:
                clients.graph.subscribed_skus(tenant)
            except SeatsyncError as error:
                check_error(error, good.client_secret)
            tokens = [clients.tokens.token(scenario.partner_tenant_id, PARTNER_CENTER_SCOPE)]
            assert leaks(repr(clients.token_api) + repr(good), good.client_secret, *tokens) == []
        wrong = MicrosoftSettings(client_id=good.client_id, client_secret=CANARY,
                                  partner_tenant_id=good.partner_tenant_id, authority_host=good.authority_host,
                                  graph_url=good.graph_url, partner_center_url=good.partner_center_url,
                                  ca_file=good.ca_file)
        with MicrosoftClients.create(wrong, retry=RetryPolicy(max_attempts=2), sleep=lambda s: None) as clients:
            with pytest.raises(SeatsyncError) as raised:
                clients.tokens.token(scenario.partner_tenant_id, GRAPH_SCOPE)
            check_error(raised.value)
    assert "urllib3" in debug.text or "msal" in debug.text
    assert leaks(debug.text, good.client_secret, *tokens) == []
