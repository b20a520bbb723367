"""The composition root opens stored PSA connections with their keyring secrets."""

from __future__ import annotations

import pytest

from app.bootstrap import open_context
from app.errors import ConfigurationError
from app.sandbox.connectwise import ConnectWiseSandbox
from app.sandbox.halopsa import HaloSandbox
from app.sandbox.server import SandboxServer, make_tls
from app.services.psa.port import PsaAuthError
from app.services.secrets import psa_secret_key


@pytest.fixture
def tls(tmp_path):
    return make_tls(tmp_path / "tls")


@pytest.fixture
def context(data_dir, tls):
    ctx = open_context(data_dir, ca_file=tls.ca)
    yield ctx
    ctx.close()


def add(context, kind, settings, secrets):
    record = context.uow.psa_connections.create(kind=kind, name=f"My {kind}", settings=settings)
    for name, value in secrets.items():
        context.secrets.set(psa_secret_key(record.id, name, record.name), value)
    return record.id


def test_a_stored_connectwise_connection_opens_with_its_keyring_secret(context, tls):
    with SandboxServer(ConnectWiseSandbox(), tls=tls) as server:
        good = add(context, "connectwise", {"site": server.url, "company_id": "seatsync",
                                            "public_key": "sandbox-public", "client_id": "seatsync-tests"},
                   {"private_key": "sandbox-private"})
        context.psas.psa(good).test_connection()
        bad = add(context, "connectwise", {"site": server.url, "company_id": "seatsync", "public_key": "sandbox-public",
                                           "client_id": "seatsync-tests"}, {"private_key": "wrong"})
        with pytest.raises(PsaAuthError):
            context.psas.psa(bad).test_connection()


def test_a_stored_halo_connection_opens_with_its_keyring_secret(context, tls):
    halo = HaloSandbox(tenant="msp")
    halo.add_app("app-id", "app-secret")
    with SandboxServer(halo, tls=tls) as server:
        cid = add(context, "halopsa", {"api_url": f"{server.url}/api", "auth_url": f"{server.url}/auth",
                                       "tenant": "msp", "client_id": "app-id"}, {"client_secret": "app-secret"})
        context.psas.psa(cid).test_connection()
        assert context.psas.psa(cid) is context.psas.psa(cid)  # opened once, shared


def test_a_missing_setting_or_secret_is_named(context):
    cid = add(context, "connectwise", {"site": "https://x", "company_id": "", "public_key": "p", "client_id": "c"}, {})
    with pytest.raises(ConfigurationError, match="Company ID"):
        context.psas.psa(cid)
    cid = add(context, "connectwise", {"site": "https://x", "company_id": "a", "public_key": "p", "client_id": "c"}, {})
    with pytest.raises(Exception, match="private key"):
        context.psas.psa(cid)


def test_a_stored_autotask_connection_opens_with_its_keyring_secret(context, tls):
    from app.sandbox.autotask import AutotaskSandbox, lookup_url, seed_account, serve

    app = AutotaskSandbox()
    account = seed_account(app)
    server = serve(app, tls=tls)
    try:
        cid = add(context, "autotask", {"username": account.username, "integration_code": account.integration_code,
                                        "lookup_url": lookup_url(server)}, {"secret": account.secret})
        context.psas.psa(cid).test_connection()
        wrong = add(context, "autotask", {"username": account.username, "integration_code": account.integration_code,
                                          "lookup_url": lookup_url(server)}, {"secret": "wrong"})
        with pytest.raises(PsaAuthError):
            context.psas.psa(wrong).test_connection()
    finally:
        server.stop()
