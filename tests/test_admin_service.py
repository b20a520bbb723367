"""Connections as Settings saves and tests them: ConnectWise and Microsoft sandboxes over TLS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.bootstrap import open_context
from app.errors import ConfigurationError
from app.sandbox.connectwise import ConnectWiseSandbox
from app.sandbox.microsoft import MicrosoftSandbox, generate
from app.sandbox.server import Fault, SandboxServer, TlsFiles, make_tls
from app.services.connections.admin import AppNotFound, MicrosoftDraft, PsaDraft
from app.services.container import Services
from app.services.microsoft import PartnerCenterDenied, SecretInvalid
from app.services.psa.port import PsaAuthError
from app.services.secrets import microsoft_secret_key, psa_secret_key

COMPANIES = (("Contoso Ltd", ("contoso.com",)), ("Fabrikam Inc", ("fabrikam.com",)))


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("admin-tls"))


@pytest.fixture
def ctx(data_dir, tls) -> Iterator[Services]:
    context = open_context(data_dir, ca_file=tls.ca)
    yield context
    context.close()


@pytest.fixture
def cw(tls) -> Iterator[SandboxServer]:
    sandbox = ConnectWiseSandbox()
    sandbox.scenario(COMPANIES)
    with SandboxServer(sandbox, tls=tls) as server:
        yield server


def draft(server: SandboxServer, private_key: str = "sandbox-private", **changes: int) -> PsaDraft:
    settings = {"site": server.url, "company_id": "seatsync", "public_key": "sandbox-public",
                "client_id": "seatsync-tests"}
    return PsaDraft(kind="connectwise", name="Main", settings=settings,
                    secrets={"private_key": private_key} if private_key else {}, **changes)


def test_wrong_keys_store_nothing_and_right_keys_store_settings_and_secret_apart(ctx, cw):
    admin = ctx.admin
    with pytest.raises(PsaAuthError, match="refused the API keys for company 'seatsync'"):
        admin.test_and_save_psa(draft(cw, "wrong"))
    assert ctx.uow.psa_connections.all() == []
    record = admin.test_and_save_psa(draft(cw))
    assert dict(record.settings) == {"site": cw.url, "company_id": "seatsync", "public_key": "sandbox-public",
                                     "client_id": "seatsync-tests", "domains_field": ""}
    assert ctx.secrets.get(psa_secret_key(record.id, "private_key")) == "sandbox-private"
    summary = admin.refresh_catalog(record.id)
    assert (summary.companies, summary.agreements, summary.agreement_types, summary.products) == (2, 2, 1, 4)
    [listed] = admin.psa_connections()
    assert listed.secrets_set == {"private_key": True} and listed.companies == 2 and listed.products == 4


def test_editing_keeps_the_stored_secret_unless_replaced(ctx, cw):
    admin = ctx.admin
    record = admin.test_and_save_psa(draft(cw))
    kept = admin.test_and_save_psa(draft(cw, private_key="", connection_id=record.id))
    assert kept.id == record.id
    assert ctx.secrets.get(psa_secret_key(record.id, "private_key")) == "sandbox-private"
    with pytest.raises(PsaAuthError):
        admin.test_and_save_psa(draft(cw, private_key="rotated-wrong", connection_id=record.id))
    assert ctx.secrets.get(psa_secret_key(record.id, "private_key")) == "sandbox-private"


def test_missing_fields_are_named(ctx, cw):
    admin = ctx.admin
    with pytest.raises(ConfigurationError, match="needs: Private key"):
        admin.test_psa(draft(cw, private_key=""))
    incomplete = PsaDraft(kind="connectwise", name="Main", settings={"site": cw.url}, secrets={"private_key": "x"})
    with pytest.raises(ConfigurationError, match="needs: Company ID, Public key, Client ID"):
        admin.test_psa(incomplete)
    with pytest.raises(ConfigurationError, match="does not know the PSA 'nope'"):
        admin.test_psa(PsaDraft(kind="nope", name="x", settings={}))


def test_a_draft_never_shows_its_secret():
    shown = repr(PsaDraft(kind="connectwise", name="Main", settings={}, secrets={"private_key": "canary-9f1e"}))
    assert "canary-9f1e" not in shown and "private_key" in shown
    assert "canary-2b7c" not in repr(MicrosoftDraft(client_id="c", partner_tenant_id="t", client_secret="canary-2b7c"))


def test_removing_a_connection_removes_its_secrets(ctx, cw):
    admin = ctx.admin
    record = admin.test_and_save_psa(draft(cw))
    admin.delete_psa(record.id)
    assert ctx.uow.psa_connections.all() == []
    assert not ctx.secrets.has(psa_secret_key(record.id, "private_key"))


# -- Microsoft ------------------------------------------------------------------------------


@pytest.fixture
def scenario():
    return generate(6, seed=3)


@pytest.fixture
def ms(scenario, tls) -> Iterator[SandboxServer]:
    with SandboxServer(MicrosoftSandbox(scenario), tls=tls) as server:
        yield server


def ms_draft(scenario, server: SandboxServer, **changes) -> MicrosoftDraft:  # type: ignore[no-untyped-def]
    values = dict(client_id=scenario.client_id, partner_tenant_id=scenario.partner_tenant_id,
                  client_secret=scenario.client_secret, authority_url=server.url, graph_url=server.url,
                  partner_center_url=server.url)
    return MicrosoftDraft(**(values | changes))


def test_microsoft_names_a_wrong_or_expired_secret_and_a_wrong_client_id(ctx, scenario, ms):
    admin = ctx.admin
    with pytest.raises(SecretInvalid, match="client secret is wrong") as wrong:
        admin.test_and_save_microsoft(ms_draft(scenario, ms, client_secret="not-it"))
    assert wrong.value.code == "AADSTS7000215"
    assert ctx.uow.microsoft_connections.all() == []
    with pytest.raises(AppNotFound, match="no app with this client ID") as missing:
        admin.test_microsoft(ms_draft(scenario, ms, client_id="00000000-0000-4000-8000-000000000000"))
    assert "00000000-0000-4000-8000-000000000000" in str(missing.value)
    scenario.secret_expired = True
    with pytest.raises(SecretInvalid) as expired:
        admin.test_microsoft(ms_draft(scenario, ms))
    assert expired.value.code == "AADSTS7000222"


def test_microsoft_saved_names_tenants_without_consent_or_gdap(ctx, tls):
    scenario = generate(2, seed=3)
    first, second = scenario.tenants.values()
    scenario.grant_consent(second.id)
    scenario.revoke_consent(first.id)
    scenario.expire_gdap(second.id)
    admin = ctx.admin
    with SandboxServer(MicrosoftSandbox(scenario), tls=tls) as ms:
        record, result = admin.test_and_save_microsoft(ms_draft(scenario, ms))
        assert ctx.secrets.get(microsoft_secret_key(record.id)) == scenario.client_secret
        assert result.customers == 2 and result.tenants_checked == 2
        consent, gdap = sorted(result.problems, key=lambda p: not p.startswith(first.name))
        assert consent.startswith(f"{first.name}: ") and "not consented" in consent
        assert consent.endswith("[AADSTS700016]")
        assert gdap.startswith(f"{second.name}: ") and "GDAP" in gdap
        assert "licenses read in 0 of 2 tenant(s) checked" in result.text
        scenario.grant_consent(first.id)
        scenario.renew_gdap(second.id)
        again = admin.test_saved_microsoft(record.id)  # the stored connection and its secret from the keyring
    assert again.problems == () and "2 of 2" in again.text


def test_partner_center_refusing_the_app_is_named(ctx, scenario, ms):
    ms.chaos.inject(Fault("status", method="GET", path=r"^/v1/customers$", status=403))
    with pytest.raises(PartnerCenterDenied, match="App management"):
        ctx.admin.test_microsoft(ms_draft(scenario, ms))


def test_a_microsoft_url_must_be_https(ctx, scenario, ms):
    with pytest.raises(ConfigurationError, match="Graph URL must start with https://"):
        ctx.admin.test_microsoft(ms_draft(scenario, ms, graph_url="http://graph.example"))
