"""Least privilege, stated and checked: docs/permissions.md, the Graph token's roles, Halo's scope.

The Microsoft connection test reads the roles of each customer tenant's Graph
token (the Microsoft sandbox issues JWTs whose ``roles`` are the permissions
consented there, as Entra does) and fails, naming the permission, when the
app lacks one. The doc names every permission the check requires, so the two
cannot drift apart.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.bootstrap import open_context
from app.sandbox.halopsa import HaloSandbox
from app.sandbox.microsoft import MicrosoftSandbox, Scenario, generate
from app.sandbox.server import SandboxServer, TlsFiles
from app.services.connections.admin import MicrosoftDraft
from app.services.container import Services
from app.services.microsoft import GdapMissing, MalformedResponse, MicrosoftClients, PermissionsMissing
from app.services.microsoft.config import GRAPH_SCOPE, PARTNER_CENTER_SCOPE
from app.services.microsoft.permissions import GRAPH_PERMISSIONS, check_graph_token, token_roles
from app.services.psa.factory import KINDS
from app.services.psa.halopsa import HaloClient, HaloConfig
from app.services.psa.halopsa.client import SCOPES
from app.services.psa.halopsa.errors import HaloPermissionError

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "permissions.md"
JWT_HEADER = "eyJ"  # base64url of '{"' : the start of any JWT part


@pytest.fixture
def ctx(data_dir, tls: TlsFiles) -> Iterator[Services]:
    context = open_context(data_dir, ca_file=tls.ca)
    yield context
    context.close()


@pytest.fixture
def scenario() -> Scenario:
    scenario = generate(5, seed=11)
    for tenant in scenario.tenants.values():
        scenario.grant_consent(tenant.id)  # every tenant reachable: only permissions can fail
    return scenario


@pytest.fixture
def ms(scenario: Scenario, tls: TlsFiles) -> Iterator[SandboxServer]:
    with SandboxServer(MicrosoftSandbox(scenario), tls=tls) as server:
        yield server


def draft(scenario: Scenario, server: SandboxServer) -> MicrosoftDraft:
    return MicrosoftDraft(client_id=scenario.client_id, partner_tenant_id=scenario.partner_tenant_id,
                          client_secret=scenario.client_secret, authority_url=server.url, graph_url=server.url,
                          partner_center_url=server.url)


def checked_tenants(scenario: Scenario) -> list[str]:
    """The tenants the connection test reads: the first three Partner Center lists (by tenant id)."""
    return sorted(scenario.tenants)[:3]


# -- the sandbox's tokens -------------------------------------------------------------------------


def test_sandbox_graph_tokens_carry_the_roles_consented_as_entra_writes_them(scenario, ms):
    first = checked_tenants(scenario)[0]
    with MicrosoftClients.create(ms.app.settings(ms)) as clients:
        graph = clients.tokens.token(first, GRAPH_SCOPE)
        partner = clients.tokens.token(scenario.partner_tenant_id, PARTNER_CENTER_SCOPE)
        payload = json.loads(base64.urlsafe_b64decode(graph.split(".")[1] + "=="))
        assert payload["tid"] == first and payload["aud"] == "https://graph.microsoft.com"
        assert sorted(payload["roles"]) == sorted(GRAPH_PERMISSIONS)
        assert token_roles(graph) == frozenset(GRAPH_PERMISSIONS)
        assert token_roles(partner) == frozenset()  # no Graph roles in a Partner Center token
        scenario.leave_out_role("User.Read.All")
        clients.tokens.invalidate(first, GRAPH_SCOPE)
        assert token_roles(clients.tokens.token(first, GRAPH_SCOPE)) == {"Organization.Read.All"}


def test_a_token_whose_roles_cannot_be_read_is_a_typed_error_without_the_token():
    for token in ("opaque-token", "a.!!!.c", "a." + base64.urlsafe_b64encode(b'{"roles": "x"}').decode() + ".c"):
        with pytest.raises(MalformedResponse) as caught:
            token_roles(token, "t1")
        assert token not in str(caught.value)


# -- the connection test ----------------------------------------------------------------------------


def test_connection_test_passes_with_every_role(ctx, scenario, ms):
    result = ctx.admin.test_microsoft(draft(scenario, ms))
    assert result.tenants_checked == 3 and result.problems == ()


@pytest.mark.parametrize("role", sorted(GRAPH_PERMISSIONS))
def test_connection_test_fails_naming_the_missing_role(ctx, scenario, ms, role, caplog):
    scenario.leave_out_role(role)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PermissionsMissing) as caught:
        ctx.admin.test_and_save_microsoft(draft(scenario, ms))
    text = str(caught.value)
    assert caught.value.missing == (role,)
    assert role in text and "Entra ID" in text and "consent again" in text
    others = set(GRAPH_PERMISSIONS) - {role}
    assert not any(other in text for other in others)
    assert ctx.uow.microsoft_connections.all() == []  # nothing saved
    assert JWT_HEADER not in text and JWT_HEADER not in caplog.text  # the token is never quoted or logged


def test_every_missing_role_is_named(ctx, scenario, ms):
    scenario.graph_roles.clear()  # no application permission at all: the token has no roles claim
    with pytest.raises(PermissionsMissing) as caught:
        ctx.admin.test_microsoft(draft(scenario, ms))
    assert caught.value.missing == tuple(sorted(GRAPH_PERMISSIONS))
    assert all(p in str(caught.value) for p in GRAPH_PERMISSIONS)


def test_broader_permissions_work_for_graph_but_the_test_asks_for_the_least(ctx, scenario, ms):
    scenario.graph_roles.clear()
    scenario.graph_roles.add("Directory.Read.All")
    tenant = checked_tenants(scenario)[0]
    with MicrosoftClients.create(ms.app.settings(ms)) as clients:
        assert clients.graph.users(tenant) and clients.graph.subscribed_skus(tenant)
    with pytest.raises(PermissionsMissing) as caught:
        ctx.admin.test_microsoft(draft(scenario, ms))
    assert caught.value.missing == tuple(sorted(GRAPH_PERMISSIONS))


def test_one_tenant_consented_before_a_permission_was_added_is_a_problem_of_that_tenant(ctx, scenario, ms):
    stale = scenario.tenants[checked_tenants(scenario)[1]]
    scenario.leave_out_role("User.Read.All", stale.id)
    result = ctx.admin.test_microsoft(draft(scenario, ms))
    assert result.tenants_checked == 3
    (problem,) = result.problems
    assert problem.startswith(f"{stale.name}: ") and "missing here: User.Read.All" in problem
    assert "consent again" in problem and "2 of 3" in result.text
    scenario.grant_consent(stale.id)  # its admin consents again
    assert ctx.admin.test_microsoft(draft(scenario, ms)).problems == ()


# -- Graph's refusal during a sync ---------------------------------------------------------------------


def test_graph_refusing_a_read_for_a_missing_role_names_the_role_not_gdap(scenario, ms):
    tenant = checked_tenants(scenario)[0]
    scenario.leave_out_role("User.Read.All")
    with MicrosoftClients.create(ms.app.settings(ms)) as clients:
        assert clients.graph.subscribed_skus(tenant) is not None
        with pytest.raises(PermissionsMissing) as caught:
            clients.graph.users(tenant)
        assert caught.value.missing == ("User.Read.All",) and caught.value.code == "Authorization_RequestDenied"
        scenario.expire_gdap(tenant)  # a 403 the roles do not explain is still a lapsed relationship
        with pytest.raises(GdapMissing):
            clients.graph.subscribed_skus(tenant)


def test_check_graph_token_names_only_what_is_missing():
    def jwt(claims: dict[str, object]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"eyJhbGciOiJSUzI1NiJ9.{body}.c2ln"

    check_graph_token(jwt({"roles": [*sorted(GRAPH_PERMISSIONS), "Mail.Send"]}), "t1")
    with pytest.raises(PermissionsMissing, match=r"lacks Organization\.Read\.All") as caught:
        check_graph_token(jwt({"roles": ["User.Read.All"]}), "t1")
    assert caught.value.tenant_id == "t1"


# -- the document -----------------------------------------------------------------------------------------


def test_the_doc_names_every_graph_permission_the_check_requires_and_is_linked():
    text = DOC.read_text(encoding="utf-8")
    for permission in GRAPH_PERMISSIONS:
        assert f"`{permission}`" in text, f"docs/permissions.md does not name {permission}"
    assert "GRAPH_PERMISSIONS" in text  # the doc points at the list the check uses
    for endpoint in ("/subscribedSkus", "/directory/subscriptions", "/users", "/v1/customers"):
        assert endpoint in text
    for section in ("## ConnectWise PSA", "## Datto Autotask", "## HaloPSA", "### GDAP roles"):
        assert section in text
    assert "(permissions.md)" in (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert "Not yet: a document of the exact API permissions" not in (ROOT / "docs" / "security.md").read_text(
        encoding="utf-8")
    assert "(docs/permissions.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("typed", "asked"), [("", SCOPES), ("all", "all")])
def test_a_halo_connection_asks_the_scopes_the_doc_names_unless_told_otherwise(tls, typed, asked):
    """The connection asks Halo's read scopes and edit:invoices only; "API scopes" may widen them."""
    sandbox = HaloSandbox(tenant="t")
    sandbox.add_app("app", "secret", "all")
    sandbox.record = True
    with SandboxServer(sandbox, tls=tls) as server:
        settings = {"api_url": f"{server.url}/api", "tenant": "t", "client_id": "app", "scope": typed}
        KINDS["halopsa"].open(settings, lambda name: "secret", tls.ca).list_companies()
    assert [request["scope"] for request in sandbox.token_requests] == [asked]
    assert f"`scope={SCOPES}`" in DOC.read_text(encoding="utf-8")


def test_an_application_granted_only_those_scopes_reads_and_writes_what_a_sync_needs(tls):
    sandbox = HaloSandbox(tenant="t")
    sandbox.add_app("least", "secret", SCOPES)
    client_id = sandbox.add_client("Contoso", domains=["contoso.com"])
    sandbox.add_item("M365-E3", price=Decimal("36.00"), cost=Decimal("33.00"), description="Microsoft 365 E3")
    contract = sandbox.add_contract(client_id, ref="Microsoft 365", start=date(2026, 11, 1), prorates=True)
    with SandboxServer(sandbox, tls=tls) as server:
        config = HaloConfig(api_url=f"{server.url}/api", client_id="least", client_secret="secret", tenant="t")
        with HaloClient(config, verify=tls.ca) as client:
            assert [c["name"] for c in client.list("/Client", "clients")] == ["Contoso"]
            assert client.list("/ClientContract", "contracts") and client.list("/Item", "items")
            saved = client.post("/RecurringInvoice", [{"client_id": client_id, "contract_id": contract}])
            assert saved and client.list("/RecurringInvoice", "invoices")
            assert client.list("/Users", "users") is not None  # contact sync reads and writes end users
            with pytest.raises(HaloPermissionError) as refused:
                client.post("/Item", [{"name": "Northwind seats"}])  # more than seatsync needs: refused
    assert "POST /Item" in str(refused.value)
