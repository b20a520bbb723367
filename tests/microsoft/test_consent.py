"""Consent: Entra's answers without it, the admin-consent link, and the sandbox's stand-in for Microsoft's page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app.sandbox.microsoft import Scenario
from app.services.microsoft import ConsentMissing, MalformedResponse, SecretInvalid
from app.services.microsoft.config import GRAPH_SCOPE
from app.services.microsoft.consent import admin_consent_url, read_consent_answer
from app.services.microsoft.counts import enabled_members
from tests.microsoft.conftest import first_consented

REDIRECT = "https://localhost/seatsync/consent"


def unconsented(scenario: Scenario):  # type: ignore[no-untyped-def]
    return scenario.tenants[scenario.unconsented[0]]


def test_a_token_without_consent_is_consent_missing_not_a_bad_secret(clients, scenario, sandbox, server):
    with pytest.raises(ConsentMissing) as caught:
        clients.tokens.token(unconsented(scenario).id, GRAPH_SCOPE)
    assert caught.value.code == "AADSTS700016" and unconsented(scenario).name in str(caught.value)
    scenario.client_secret = "wrong"
    with pytest.raises(SecretInvalid) as bad:
        clients.tokens.token(first_consented(scenario).id, GRAPH_SCOPE)
    assert bad.value.code == "AADSTS7000215"
    with pytest.raises(ConsentMissing):  # consent is checked first, as Entra does
        clients.tokens.token(unconsented(scenario).id, GRAPH_SCOPE)


def test_revoked_consent_refuses_tokens_and_reads(clients, scenario):
    tenant = first_consented(scenario)
    scenario.revoke_consent(tenant.id)
    with pytest.raises(ConsentMissing):
        enabled_members(clients.graph, tenant.id)


def test_the_link_has_microsofts_v1_and_v2_forms():
    v1 = urlsplit(admin_consent_url("contoso.com", "app-1", REDIRECT, "s1"))
    assert (v1.scheme, v1.netloc, v1.path) == ("https", "login.microsoftonline.com", "/contoso.com/adminconsent")
    assert parse_qs(v1.query) == {"client_id": ["app-1"], "state": ["s1"], "redirect_uri": [REDIRECT]}
    v2 = urlsplit(admin_consent_url("11111111-2222-4333-8444-555555555555", "app-1", REDIRECT, "s1", v2=True))
    assert v2.path == "/11111111-2222-4333-8444-555555555555/v2.0/adminconsent"
    assert parse_qs(v2.query)["scope"] == ["https://graph.microsoft.com/.default"]
    assert "/common/adminconsent" in admin_consent_url("common", "app-1", REDIRECT, "s1")
    assert "/organizations/v2.0/" in admin_consent_url("organizations", "app-1", REDIRECT, "s1", v2=True)


@pytest.mark.parametrize(("args", "kwargs", "why"), [
    (("common", "a", REDIRECT, "s"), {"v2": True}, "not a tenant"),  # v2 takes organizations, not common
    (("contoso", "a", REDIRECT, "s"), {}, "not a tenant"),  # neither a GUID nor a domain
    (("contoso.com/x", "a", REDIRECT, "s"), {}, "not a tenant"),
    (("contoso.com", "a", REDIRECT, ""), {}, "state"),
    (("contoso.com", "a", "http://example.com/cb", "s"), {}, "https"),
    (("contoso.com", "a", REDIRECT, "s"), {"v2": True, "scope": "User.Read.All"}, "/.default"),
])
def test_the_link_refuses_what_microsoft_would(args, kwargs, why):
    with pytest.raises(ValueError, match=why):
        admin_consent_url(*args, **kwargs)


def link(server, scenario, tenant: str, *, v2: bool = False, redirect: str = REDIRECT, client_id: str = "",
         state: str = "st-1") -> str:  # type: ignore[no-untyped-def]
    return admin_consent_url(tenant, client_id or scenario.client_id, redirect, state, v2=v2,
                             authority_host=server.url.split("://", 1)[1])


def answer(http, url: str, decision: str) -> str:  # type: ignore[no-untyped-def]
    """Open the consent page and press Accept or Cancel; return where Microsoft redirects."""
    page = http.get(url)
    assert page.status_code == 200 and 'name="decision"' in page.text
    form = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    done = http.post(url.split("?")[0], data={**form, "decision": decision}, allow_redirects=False)
    assert done.status_code == 302
    return done.headers["Location"]


@pytest.mark.parametrize("v2", [False, True])
def test_approving_the_page_grants_consent_and_redirects_back(clients, http, server, scenario, v2):
    tenant = unconsented(scenario)
    where = answer(http, link(server, scenario, tenant.default_domain, v2=v2), "accept")
    assert where.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(where).query)
    assert query["tenant"] == [tenant.id] and query["state"] == ["st-1"] and query["admin_consent"] == ["True"]
    assert ("scope" in query) is v2
    result = read_consent_answer(where, "st-1")
    assert result.granted and result.tenant_id == tenant.id
    assert scenario.consented(tenant.id, scenario.client_id)
    assert clients.tokens.token(tenant.id, GRAPH_SCOPE)  # the token request that proves it


@pytest.mark.parametrize(("v2", "error"), [(False, "permission_denied"), (True, "consent_required")])
def test_refusing_redirects_with_microsofts_error(http, server, scenario, v2, error):
    tenant = unconsented(scenario)
    where = answer(http, link(server, scenario, tenant.id, v2=v2), "cancel")
    result = read_consent_answer(where, "st-1")
    assert not result.granted and result.error == error and result.description
    assert not scenario.consented(tenant.id, scenario.client_id)


@pytest.mark.parametrize(("change", "aadsts"), [
    ({"redirect": "https://evil.example/consent"}, "AADSTS50011"),
    ({"client_id": "00000000-0000-4000-8000-000000000000"}, "AADSTS700016"),
])
def test_the_page_shows_an_error_and_redirects_nowhere_it_cannot_trust(http, server, scenario, change, aadsts):
    page = http.get(link(server, scenario, unconsented(scenario).id, **change), allow_redirects=False)
    assert page.status_code == 400 and aadsts in page.text and "Location" not in page.headers


def test_v1_allows_extra_path_segments_v2_does_not(http, server, scenario):
    tenant = unconsented(scenario).id
    assert http.get(link(server, scenario, tenant, redirect=REDIRECT + "/more")).status_code == 200
    assert http.get(link(server, scenario, tenant, redirect=REDIRECT + "/more", v2=True)).status_code == 400


def test_an_unknown_tenant_is_an_error_page(http, server, scenario):
    assert "AADSTS90002" in http.get(link(server, scenario, "nobody.example.com")).text


def test_an_answer_for_another_link_is_refused():
    with pytest.raises(MalformedResponse, match="state"):
        read_consent_answer(f"{REDIRECT}?tenant=11111111-2222-4333-8444-555555555555&state=other"
                            "&admin_consent=True", "st-1")
    with pytest.raises(MalformedResponse):
        read_consent_answer(f"{REDIRECT}?state=st-1", "st-1")
    with pytest.raises(MalformedResponse, match="state"):
        read_consent_answer(f"{REDIRECT}?error=consent_required&state=other", "st-1")
