"""Credentials go only to the origins a client was built for.

Two recording servers on loopback, on two ports (two origins). The first
plays the API; it answers with a redirect, a paging link or a zone pointing
at the second. The second must get no request carrying a credential (here:
no request at all), nothing is followed, and the client raises a typed error.
"""

from __future__ import annotations

import pytest

from app.services.http import HttpApi, OffOrigin, Redirected, RetryPolicy
from app.services.microsoft import MicrosoftSettings
from app.services.microsoft.graph import GraphClient
from app.services.microsoft.partner_center import PartnerCenterClient
from app.services.microsoft.tokens import TokenProvider
from app.services.psa.autotask.client import AutotaskClient, AutotaskCredentials
from app.services.psa.autotask.errors import AutotaskZoneRefused
from app.services.psa.connectwise.client import ConnectWiseClient, ConnectWiseCredentials
from app.services.psa.halopsa.client import HaloClient, HaloConfig
from app.services.psa.port import PsaAddressRefused, PsaUnreadableAnswer

from .conftest import ok

CANARY = "canary-0rigin-Secret-7f3a9c"
USER = "api@acme.example"


def redirect(to: str, status: int = 302):
    return status, {"Location": to, "Content-Length": "0"}, b""


# -- ConnectWise --------------------------------------------------------------------


def connectwise(site: str, tls) -> ConnectWiseClient:
    return ConnectWiseClient(ConnectWiseCredentials(site=site, company_id="acme", public_key="pub",
                                                    private_key=CANARY, client_id="cid"),
                             verify=tls.ca, sleep=lambda s: None, retry=RetryPolicy(max_attempts=2))


def test_connectwise_refuses_a_paging_link_to_another_origin(recorders, tls):
    elsewhere = recorders()

    def site(recorder, seen):
        if seen.path.startswith("/login/companyinfo/"):
            return ok({"Codebase": "v2025_1/"})
        link = f'<{elsewhere.url}/v2025_1/apis/3.0/company/companies?page=2&pageSize=1000>; rel="next"'
        return ok([{"id": 1}], Link=link)

    api = recorders(site)
    with connectwise(api.url, tls) as client, pytest.raises(PsaAddressRefused, match="next page"):
        client.list("company/companies")
    assert elsewhere.seen == []
    assert [s.path.split("?")[0] for s in api.seen] == ["/login/companyinfo/acme",
                                                        "/v2025_1/apis/3.0/company/companies"]


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_connectwise_does_not_follow_a_redirect(recorders, tls, status):
    elsewhere = recorders()
    api = recorders(lambda r, seen: ok({"Codebase": "v1/"}) if "companyinfo" in seen.path
                    else redirect(f"{elsewhere.url}{seen.path}", status))
    with connectwise(api.url, tls) as client:
        with pytest.raises(PsaAddressRefused, match=f"redirect \\(HTTP {status}\\)"):
            client.get("company/companies")
        with pytest.raises(PsaUnreadableAnswer, match="redirect"):  # a write the server may have applied
            client.post("finance/agreements/1/additions", {"quantity": 1})
    assert elsewhere.seen == []
    assert sum("company/companies" in s.path for s in api.seen) == 1  # not retried, not followed


# -- Autotask ---------------------------------------------------------------------------


def autotask(lookup: str, tls) -> AutotaskClient:
    credentials = AutotaskCredentials(username=USER, secret=CANARY, integration_code="CANARYCODE",
                                      lookup_url=f"{lookup}/ATServicesRest")
    return AutotaskClient(credentials, verify=tls.ca, sleep=lambda s: None, threshold_every=0)


def test_autotask_refuses_a_zone_on_another_origin_and_the_lookup_carries_no_secret(recorders, tls):
    elsewhere = recorders()
    lookup = recorders(lambda r, seen: ok({"url": f"{elsewhere.url}/ATServicesRest/"}))
    with autotask(lookup.url, tls) as client:
        with pytest.raises(AutotaskZoneRefused, match="nothing was sent"):
            client.zone_url()
        with pytest.raises(AutotaskZoneRefused):
            client.query("Companies")
    assert elsewhere.seen == []
    assert lookup.seen and all(s.path.startswith("/ATServicesRest/V1.0/zoneInformation?user=") for s in lookup.seen)
    assert all(s.credentials() == [] for s in lookup.seen)


def test_autotask_zone_lookup_sends_no_secret_header(recorders, tls):
    def api(recorder, seen):
        if "zoneInformation" in seen.path:
            return ok({"url": f"{recorder.url}/zone1/ATServicesRest/"})
        return ok({"items": [{"id": 7}], "pageDetails": {"count": 1, "nextPageUrl": None}})

    server = recorders(api)
    with autotask(server.url, tls) as client:
        assert client.query("Companies") == [{"id": 7}]
    lookup, query = server.seen
    assert "zoneInformation" in lookup.path and lookup.credentials() == []
    assert CANARY.encode() not in lookup.body and CANARY not in str(lookup.headers)
    assert query.headers["secret"] == CANARY  # the zone itself gets the credentials


def test_autotask_refuses_a_next_page_url_on_another_origin(recorders, tls):
    elsewhere = recorders()

    def api(recorder, seen):
        if "zoneInformation" in seen.path:
            return ok({"url": f"{recorder.url}/zone1/ATServicesRest/"})
        return ok({"items": [{"id": 7}], "pageDetails": {
            "count": 1, "nextPageUrl": f"{elsewhere.url}/zone1/ATServicesRest/V1.0/Companies/query/next?paging=x"}})

    server = recorders(api)
    with autotask(server.url, tls) as client, pytest.raises(PsaAddressRefused, match="next page of Companies"):
        client.query("Companies")
    assert elsewhere.seen == []


def test_autotask_does_not_follow_a_redirect(recorders, tls):
    elsewhere = recorders()

    def api(recorder, seen):
        if "zoneInformation" in seen.path:
            return ok({"url": f"{recorder.url}/zone1/ATServicesRest/"})
        return redirect(f"{elsewhere.url}{seen.path}", 307)

    server = recorders(api)
    with autotask(server.url, tls) as client, pytest.raises(PsaAddressRefused, match="redirect"):
        client.query("Companies")
    assert elsewhere.seen == []
    with (autotask(recorders(lambda r, s: redirect(f"{elsewhere.url}{s.path}")).url, tls) as client,
          pytest.raises(PsaAddressRefused, match="redirect")):
        client.zone_url()
    assert elsewhere.seen == []


# -- HaloPSA ------------------------------------------------------------------------------


def halo(api_url: str, auth_url: str, tls) -> HaloClient:
    config = HaloConfig(api_url=api_url, auth_url=auth_url, client_id="cid", client_secret=CANARY, tenant="acme")
    return HaloClient(config, verify=tls.ca)


def test_halo_does_not_follow_the_token_endpoint_elsewhere(recorders, tls):
    elsewhere = recorders()
    auth = recorders(lambda r, seen: redirect(f"{elsewhere.url}/auth/token", 307))
    with halo(f"{auth.url}/api", f"{auth.url}/auth", tls) as client, pytest.raises(PsaAddressRefused, match="redirect"):
        client.request("GET", "/Client")
    assert elsewhere.seen == []
    assert len(auth.seen) == 1


def test_halo_sends_the_secret_to_the_auth_host_and_the_token_to_the_resource_host_only(recorders, tls):
    elsewhere = recorders()
    auth = recorders(lambda r, seen: ok({"access_token": "canary-token-Halo-91c2", "expires_in": 3600}))
    api = recorders(lambda r, seen: redirect(f"{elsewhere.url}{seen.path}", 301))
    with halo(f"{api.url}/api", f"{auth.url}/auth", tls) as client:
        with pytest.raises(PsaAddressRefused, match="redirect"):
            client.request("GET", "/Client")
        with pytest.raises(PsaAddressRefused, match="not the resource server"):
            client.request("GET", f"{auth.url}/api/Client")
    assert elsewhere.seen == []
    assert [s.credentials() for s in auth.seen] == [["client_secret in the body"]]
    assert [s.credentials() for s in api.seen] == [["authorization"]]


# -- Microsoft -----------------------------------------------------------------------------


class Tokens:
    def token(self, tenant: str, scope: str) -> str:
        return "canary-bearer-Graph-5d1e"

    def invalidate(self, tenant: str, scope: str) -> None:
        pass


def test_graph_and_partner_center_do_not_follow_a_redirect(recorders, tls):
    elsewhere = recorders()
    api = recorders(lambda r, seen: redirect(f"{elsewhere.url}{seen.path}"))
    graph = GraphClient(HttpApi(name="Microsoft Graph", base_url=f"{api.url}/v1.0", verify=tls.ca), Tokens())
    with pytest.raises(Redirected, match="redirect"):
        graph.subscribed_skus("tenant-1")
    partner = PartnerCenterClient(HttpApi(name="Partner Center", base_url=f"{api.url}/v1", verify=tls.ca),
                                  Tokens(), "partner")
    with pytest.raises(Redirected, match="redirect"):
        partner.customers()
    assert elsewhere.seen == []
    assert len(api.seen) == 2


def test_the_token_request_never_leaves_the_login_authority(recorders, tls):
    """A discovery document naming a token endpoint elsewhere gets no client secret sent there."""
    elsewhere = recorders(lambda r, seen: ok({"access_token": "x", "expires_in": 3600, "token_type": "Bearer"}))

    def authority(recorder, seen):
        tenant = seen.path.split("/")[1]
        return ok({"token_endpoint": f"{elsewhere.url}/{tenant}/oauth2/v2.0/token",
                   "authorization_endpoint": f"{recorder.url}/{tenant}/oauth2/v2.0/authorize",
                   "issuer": f"{recorder.url}/{tenant}/v2.0"})

    login = recorders(authority)
    settings = MicrosoftSettings(client_id="cid", client_secret=CANARY, partner_tenant_id="partner",
                                 authority_host=login.url.split("://")[1], ca_file=tls.ca)
    api = HttpApi(name="Microsoft Entra ID", base_url=login.url, verify=tls.ca)
    with pytest.raises(OffOrigin, match="nothing was sent"):
        TokenProvider(settings, api).token("partner", "https://graph.microsoft.com/.default")
    assert elsewhere.seen == []
    assert all(s.method == "GET" for s in login.seen)
