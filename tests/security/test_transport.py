"""https only, for every PSA and Microsoft address: when typed, and again when a client is built.

An address must be https, name a host, and hold no user name, password or
fragment. The connection form's check (``PsaKind.check``, which the Settings
"Test and save" runs) refuses it; so does every client when it is built, so
an address stored earlier or edited in the database never gets a secret.
"""

from __future__ import annotations

import pytest

from app.errors import ConfigurationError
from app.models.records import MicrosoftConnectionRecord
from app.services.http import InsecureAddress, https_url
from app.services.microsoft import MicrosoftClients, MicrosoftSettings
from app.services.providers import microsoft_settings
from app.services.psa.autotask.client import AutotaskClient, AutotaskCredentials
from app.services.psa.autotask.errors import AutotaskZoneRefused
from app.services.psa.connectwise.client import ConnectWiseClient, ConnectWiseCredentials
from app.services.psa.factory import open_psa, psa_kind
from app.services.psa.halopsa.client import HaloClient, HaloConfig

BAD = {
    "http": "http://{host}",
    "user-info": "https://admin:hunter2@{host}",
    "fragment": "https://{host}/api#x",
    "no host": "https:///api",
    "other scheme": "ftp://{host}",
}
GOOD_SETTINGS = {
    "connectwise": {"site": "https://api-na.myconnectwise.net", "company_id": "acme", "public_key": "pub",
                    "client_id": "cid"},
    "autotask": {"username": "api@acme.example", "integration_code": "CODE"},
    "halopsa": {"api_url": "https://acme.halopsa.com/api", "client_id": "cid"},
}
URL_FIELDS = {"connectwise": ["site"], "autotask": ["lookup_url"], "halopsa": ["api_url", "auth_url"]}


def _bad(kind: str, host: str = "127.0.0.1:9") -> str:
    return BAD[kind].format(host=host)


@pytest.mark.parametrize("kind", list(BAD))
def test_https_url_refuses_every_unsafe_form_without_echoing_a_password(kind):
    with pytest.raises(InsecureAddress) as raised:
        https_url(_bad(kind), "Site")
    assert "hunter2" not in str(raised.value)
    assert https_url("https://api-na.myconnectwise.net/") == "https://api-na.myconnectwise.net"


@pytest.mark.parametrize("psa", list(URL_FIELDS))
@pytest.mark.parametrize("bad", list(BAD))
def test_the_connection_form_refuses_an_unsafe_address_when_typed(psa, bad):
    spec = psa_kind(psa)
    spec.check(GOOD_SETTINGS[psa])  # the good settings pass
    for name in URL_FIELDS[psa]:
        with pytest.raises(ConfigurationError, match=r"https|host|user name|fragment|address"):
            spec.check({**GOOD_SETTINGS[psa], name: _bad(bad)})


def test_a_connectwise_site_typed_without_a_scheme_is_read_as_https():
    psa_kind("connectwise").check({**GOOD_SETTINGS["connectwise"], "site": "api-na.myconnectwise.net"})


@pytest.mark.parametrize("psa", list(URL_FIELDS))
def test_a_stored_http_address_is_refused_when_the_connection_is_opened(psa, recorders):
    """An address stored before this rule (or edited in the database) sends nothing anywhere."""
    server = recorders()
    http = server.url.replace("https://", "http://")
    for name in URL_FIELDS[psa]:
        with pytest.raises(ConfigurationError, match="https://"):
            open_psa(psa, {**GOOD_SETTINGS[psa], name: http}, lambda field: "canary-secret", True)
    assert server.seen == []


def test_the_connectwise_client_refuses_an_http_site(recorders):
    server = recorders()
    credentials = ConnectWiseCredentials(site=server.url.replace("https://", "http://"), company_id="acme",
                                         public_key="pub", private_key="canary-secret", client_id="cid")
    with pytest.raises(InsecureAddress, match="ConnectWise site address must start with https://"):
        ConnectWiseClient(credentials)
    with pytest.raises(InsecureAddress, match="user name or password"):
        ConnectWiseClient(ConnectWiseCredentials(site="https://u:p@api-na.myconnectwise.net", company_id="a",
                                                 public_key="p", private_key="s", client_id="c"))


def test_the_autotask_client_refuses_an_http_lookup_or_zone():
    credentials = AutotaskCredentials(username="api@acme.example", secret="canary-secret", integration_code="C",
                                      lookup_url="http://webservices.autotask.net/atservicesrest")
    with pytest.raises(InsecureAddress, match="zone lookup address must start with https://"):
        AutotaskClient(credentials)
    safe = AutotaskCredentials(username="api@acme.example", secret="canary-secret", integration_code="C")
    with pytest.raises(AutotaskZoneRefused, match="must start with https://"):
        AutotaskClient(safe, zone_url="http://webservices5.autotask.net/atservicesrest/")


@pytest.mark.parametrize(("api_url", "auth_url"), [
    ("http://acme.halopsa.com", ""),
    ("https://acme.halopsa.com", "http://acme.halopsa.com/auth"),
    ("https://acme.halopsa.com#frag", ""),
])
def test_the_halo_client_refuses_http_before_sending_its_secret(api_url, auth_url):
    config = HaloConfig(api_url=api_url, auth_url=auth_url, client_id="cid", client_secret="canary-secret")
    with pytest.raises(InsecureAddress):
        HaloClient(config)


@pytest.mark.parametrize("changes", [
    {"graph_url": "http://graph.microsoft.com/v1.0"},
    {"partner_center_url": "http://api.partnercenter.microsoft.com/v1"},
    {"graph_url": "https://user:pw@graph.microsoft.com/v1.0"},
    {"authority_host": "login.microsoftonline.com@evil.example"},
])
def test_microsoft_settings_refuse_unsafe_addresses(changes):
    with pytest.raises(InsecureAddress):
        MicrosoftSettings(client_id="cid", client_secret="canary-secret", partner_tenant_id="t", **changes)


@pytest.mark.parametrize("field_name", ["authority_url", "graph_url", "partner_center_url"])
def test_a_stored_microsoft_http_address_is_refused_before_any_client_is_built(field_name):
    values = {"id": 1, "name": "Microsoft partner", "partner_tenant_id": "t", "client_id": "cid",
              "authority_url": "https://login.microsoftonline.com", "graph_url": "https://graph.microsoft.com",
              "partner_center_url": "https://api.partnercenter.microsoft.com"}
    record = MicrosoftConnectionRecord(**{**values, field_name: values[field_name].replace("https", "http")})
    with pytest.raises(InsecureAddress, match="must start with https://"):
        MicrosoftClients.create(microsoft_settings(record, "canary-secret"))
