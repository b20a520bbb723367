"""A certificate that is not trusted is its own typed error, after exactly one attempt.

The server below presents a certificate for 127.0.0.1 from a CA the client
does not trust (the client trusts the tests' own CA, as the sandboxes do).
Retrying would meet the same certificate: it is not an outage.
"""

from __future__ import annotations

import pytest

from app.services.http import CertificateUntrusted, HttpApi, RetryPolicy
from app.services.microsoft import MicrosoftSettings
from app.services.microsoft.tokens import TokenProvider
from app.services.psa.autotask.client import AutotaskClient, AutotaskCredentials
from app.services.psa.connectwise.client import ConnectWiseClient, ConnectWiseCredentials
from app.services.psa.halopsa.client import HaloClient, HaloConfig
from app.services.psa.port import PsaUntrustedCertificate

RETRY = RetryPolicy(max_attempts=5)


def _says_untrusted(error: BaseException, url: str) -> None:
    host = url.split("://")[1]
    assert f"the certificate of {host} is not trusted: " in str(error)
    assert "CERTIFICATE_VERIFY_FAILED" not in str(error) and "SSLError" not in str(error)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_http_api_raises_a_certificate_error_once(untrusted, tls, method):
    waits: list[float] = []
    api = HttpApi(name="Test", base_url=untrusted.url, verify=tls.ca, retry=RETRY, sleep=waits.append)
    with pytest.raises(CertificateUntrusted) as raised:
        api.request(method, "/anything")
    _says_untrusted(raised.value, untrusted.url)
    assert raised.value.maybe_applied is False
    assert untrusted.connections == 1 and waits == []


def test_connectwise(untrusted, tls):
    client = ConnectWiseClient(ConnectWiseCredentials(site=untrusted.url, company_id="a", public_key="p",
                                                      private_key="s", client_id="c"),
                               verify=tls.ca, retry=RETRY, sleep=pytest.fail)
    with client, pytest.raises(PsaUntrustedCertificate) as raised:
        client.get("company/companies")
    _says_untrusted(raised.value, untrusted.url)
    assert untrusted.connections == 1


def test_autotask(untrusted, tls):
    credentials = AutotaskCredentials(username="api@acme.example", secret="s", integration_code="c",
                                      lookup_url=f"{untrusted.url}/ATServicesRest")
    with (AutotaskClient(credentials, verify=tls.ca, retry=RETRY, sleep=pytest.fail, threshold_every=0) as client,
          pytest.raises(PsaUntrustedCertificate) as raised):
        client.zone_url()
    _says_untrusted(raised.value, untrusted.url)
    assert untrusted.connections == 1


def test_halopsa(untrusted, tls):
    config = HaloConfig(api_url=untrusted.url, client_id="cid", client_secret="s")
    http = HttpApi(name="HaloPSA", base_url=config.api_base, verify=tls.ca, retry=RETRY, sleep=pytest.fail)
    with HaloClient(config, http=http) as client, pytest.raises(PsaUntrustedCertificate) as raised:
        client.request("GET", "/Client")
    _says_untrusted(raised.value, untrusted.url)
    assert untrusted.connections == 1


def test_microsoft_token_flow(untrusted, tls):
    settings = MicrosoftSettings(client_id="cid", client_secret="s", partner_tenant_id="partner",
                                 authority_host=untrusted.url.split("://")[1], ca_file=tls.ca)
    api = HttpApi(name="Microsoft Entra ID", base_url=untrusted.url, verify=tls.ca, retry=RETRY, sleep=pytest.fail)
    with pytest.raises(CertificateUntrusted) as raised:
        TokenProvider(settings, api).token("partner", "https://graph.microsoft.com/.default")
    _says_untrusted(raised.value, untrusted.url)
    assert untrusted.connections == 1
