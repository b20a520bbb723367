"""``connections list|add|test``: a server-only user sets seatsync up against the sandboxes.

Each PSA's sandbox and the Microsoft sandbox run over TLS; the commands run
in-process on a context that trusts the sandboxes' certificate authority and
uses the tests' in-memory keyring. Secrets come from standard input, a
prompt on a terminal, or environment variables, never from argv.
"""

from __future__ import annotations

import io
import json

import pytest

from app.bootstrap import open_context
from app.cli import main
from app.commands import connections
from app.commands.common import use_context
from app.commands.run_scheduler import check_keyring
from app.sandbox.world import SandboxWorld
from app.services.secrets import microsoft_secret_key, psa_secret_key

CONNECTWISE = ["connections", "add", "psa", "--kind", "connectwise", "--name", "Main",
               "--site", "https://cw.example.com", "--company-id", "msp", "--public-key", "pub",
               "--client-id", "cid"]


class Terminal(io.StringIO):
    """Standard input as a terminal: secrets are asked for with getpass."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def world(tmp_path, request):
    with SandboxWorld.start(tmp_path / "world", tenants=3, psa=getattr(request, "param", "connectwise")) as world:
        yield world


@pytest.fixture
def context(world, data_dir):
    """seatsync's data, trusting the sandboxes' certificate authority, used by the commands."""
    context = open_context(data_dir, ca_file=world.tls.ca)
    use_context(context)
    yield context
    use_context(None)
    context.close()


@pytest.fixture
def piped(monkeypatch):
    """Standard input is a pipe holding these lines."""
    def pipe(*lines: str) -> None:
        monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    pipe()
    return pipe


def add_psa_args(world, name: str = "Sandbox PSA") -> list[str]:
    values, _ = world.psa_side.settings()
    args = ["connections", "add", "psa", "--kind", world.psa_kind, "--name", name]
    for field, value in values.items():
        args += [f"--{field.replace('_', '-')}", value]
    return args


def add_microsoft_args(world) -> list[str]:
    settings = world.microsoft.settings(world.microsoft_server)
    return ["connections", "add", "microsoft", "--client-id", settings.client_id,
            "--partner-tenant-id", settings.partner_tenant_id, "--authority-url", f"https://{settings.authority_host}",
            "--graph-url", settings.graph_url, "--partner-center-url", settings.partner_center_url]


def stored(data_dir) -> tuple[list, list]:
    context = open_context(data_dir)
    try:
        return context.uow.psa_connections.all(), context.uow.microsoft_connections.all()
    finally:
        context.close()


# -- add, list, test against each PSA's sandbox ------------------------------------------------------------------


@pytest.mark.parametrize(("world", "how"), [("connectwise", "prompt"), ("autotask", "stdin"), ("halopsa", "env")],
                         indirect=["world"])
def test_add_list_and_test_each_psa_and_microsoft(world, context, how, monkeypatch, piped, capsys):
    values, secrets = world.psa_side.settings()
    [(field, secret)] = secrets.items()
    env = f"SEATSYNC_PSA_{field.upper()}"
    asked: list[str] = []
    if how == "prompt":
        monkeypatch.setattr("sys.stdin", Terminal())
        monkeypatch.setattr(connections.getpass, "getpass", lambda prompt: asked.append(prompt) or secret)
    elif how == "stdin":
        piped(secret)
    else:
        monkeypatch.setenv(env, secret)
    assert main(add_psa_args(world)) == 0
    out = capsys.readouterr().out
    assert "the PSA accepted it" in out and "Read 3 companies" in out
    if how == "prompt":
        assert len(asked) == 1 and "(not shown)" in asked[0]

    ms = world.microsoft.settings(world.microsoft_server)
    monkeypatch.setenv("SEATSYNC_MICROSOFT_CLIENT_SECRET", ms.client_secret)
    assert main(add_microsoft_args(world)) == 0
    assert "Stored the Microsoft partner connection 'Microsoft partner'. Connected: Partner Center lists 3" \
        in capsys.readouterr().out

    # Stored where the window and run-scheduler look: the same repositories and keyring entries.
    [record] = context.uow.psa_connections.all()
    assert (record.kind, record.name) == (world.psa_kind, "Sandbox PSA")
    assert {k: v for k, v in record.settings.items() if v} == values
    assert context.secrets.get(psa_secret_key(record.id, field, record.name)) == secret
    [partner] = context.uow.microsoft_connections.all()
    assert context.secrets.get(microsoft_secret_key(partner.id, partner.name)) == ms.client_secret
    admin = context.admin
    assert [s.secrets_set for s in admin.psa_connections()] == [{field: True}]
    assert [(s.record.id, s.secret_set) for s in admin.microsoft_connections()] == [(partner.id, True)]
    check_keyring(context)  # run-scheduler finds every credential it needs
    assert context.uow.companies.all(record.id)  # the catalog was read, as the window does after saving

    assert main(["connections", "list"]) == 0
    listed = capsys.readouterr().out
    assert "Sandbox PSA" in listed and "Microsoft partner" in listed and listed.count("in the keyring") == 2
    assert main(["connections", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(e["type"], e["kind"], e["name"], e["secrets"]) for e in data] == [
        ("psa", world.psa_kind, "Sandbox PSA", {field: True}),
        ("microsoft", "microsoft", "Microsoft partner", {"client_secret": True})]
    assert secret not in listed + json.dumps(data) and ms.client_secret not in listed + json.dumps(data)

    assert main(["connections", "test"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ok    ") and "'Sandbox PSA': the PSA accepted the connection" in lines[0]
    assert lines[1].startswith("ok    Microsoft partner 'Microsoft partner': Connected")


def test_test_says_why_each_connection_fails_and_exits_1(world, context, piped, monkeypatch, capsys):
    _, secrets = world.psa_side.settings()
    piped(*secrets.values())
    assert main(add_psa_args(world)) == 0
    ms = world.microsoft.settings(world.microsoft_server)
    monkeypatch.setenv("SEATSYNC_MICROSOFT_CLIENT_SECRET", ms.client_secret)
    assert main(add_microsoft_args(world)) == 0
    capsys.readouterr()
    [record] = context.uow.psa_connections.all()
    [partner] = context.uow.microsoft_connections.all()

    # A wrong credential, for the PSA and for Microsoft.
    context.secrets.set(psa_secret_key(record.id, "private_key", record.name), "not-the-key")
    context.secrets.set(microsoft_secret_key(partner.id, partner.name), "not-the-secret")
    assert main(["connections", "test"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL  ConnectWise PSA 'Sandbox PSA': The PSA did not accept the credentials")
    assert out[1].startswith("FAIL  Microsoft partner 'Microsoft partner': The Microsoft app's client secret is "
                             "wrong or expired")

    # Only the named one; its secret right again.
    context.secrets.set(psa_secret_key(record.id, "private_key", record.name), secrets["private_key"])
    assert main(["connections", "test", "sandbox psa"]) == 0
    assert capsys.readouterr().out.startswith("ok    ConnectWise PSA 'Sandbox PSA'")

    # A certificate this computer does not trust (no sandbox authority).
    context.psas.ca_file = None
    context.psas.forget(record.id)
    assert main(["connections", "test", "Sandbox PSA"]) == 1
    assert "could not be trusted" in capsys.readouterr().out
    context.psas.ca_file = world.tls.ca
    context.psas.forget(record.id)

    # The PSA cannot be reached.
    world.psa_server.stop()
    assert main(["connections", "test", "Sandbox PSA"]) == 1
    assert "the connection was refused" in capsys.readouterr().out

    assert main(["connections", "test", "Nope"]) == 2
    assert "no connection is named 'Nope'; the connections are: Sandbox PSA, Microsoft partner" \
        in capsys.readouterr().err


def test_a_refused_connection_is_not_stored(world, context, piped, capsys):
    piped("not-the-key")
    assert main(add_psa_args(world)) == 1
    err = capsys.readouterr().err
    assert err.startswith("seatsync: The connection test failed, so nothing was stored: The PSA did not accept "
                          "the credentials")
    assert context.uow.psa_connections.all() == []
    assert not context.secrets.has(psa_secret_key(1, "private_key", "Sandbox PSA"))


def test_a_second_connection_of_the_same_name_is_refused(world, context, piped, capsys):
    _, secrets = world.psa_side.settings()
    piped(*secrets.values())
    assert main(add_psa_args(world, name="Main")) == 0
    piped(*secrets.values())
    assert main(add_psa_args(world, name="MAIN")) == 2
    assert "--name: a PSA connection named 'Main' is stored already" in capsys.readouterr().err
    assert len(context.uow.psa_connections.all()) == 1


def test_each_partner_tenant_is_a_connection_of_its_own(world, context, piped, capsys):
    other = world.scenario.add_partner("Northwind Indirect CSP", customers=2)
    piped(world.scenario.client_secret)
    assert main(add_microsoft_args(world)) == 0
    args = add_microsoft_args(world)
    args[args.index("--client-id") + 1] = other.client_id
    args[args.index("--partner-tenant-id") + 1] = other.tenant_id
    piped(other.client_secret)
    assert main(args) == 1  # the default name is the first connection's
    assert "another partner connection is named 'Microsoft partner'" in capsys.readouterr().err
    piped(other.client_secret)
    assert main([*args, "--name", "Northwind", "--kind", "indirect-reseller"]) == 0
    out = capsys.readouterr().out
    assert "Stored the Microsoft partner connection 'Northwind'. Connected: Partner Center lists 2" in out
    piped(world.scenario.client_secret)
    assert main([*add_microsoft_args(world), "--name", "Home CSP"]) == 0  # the same partner tenant: replaced
    assert "(it replaces the one stored before for that partner tenant)" in capsys.readouterr().out
    assert [(r.name, r.kind) for r in context.uow.microsoft_connections.all()] == [
        ("Home CSP", "direct"), ("Northwind", "indirect_reseller")]
    assert main(["connections", "test"]) == 0
    tested = capsys.readouterr().out
    assert "ok    Microsoft partner 'Home CSP'" in tested and "ok    Microsoft partner 'Northwind'" in tested

    _, secrets = world.psa_side.settings()
    piped(*secrets.values())
    assert main(add_psa_args(world)) == 0
    capsys.readouterr()
    assert main(["tenants", "list", "--json"]) == 0  # every partner's customers, each with its partner
    listed = {c["tenant_id"]: c["partner"] for c in json.loads(capsys.readouterr().out)}
    theirs = {t.id for t in world.scenario.customers_of(other.tenant_id)}
    assert listed == {t: "Northwind" if t in theirs else "Home CSP" for t in world.scenario.tenants}


def test_a_tenant_is_moved_to_another_partner_connection(world, context, piped, capsys):
    other = world.scenario.add_partner("Northwind Indirect CSP")
    for secret, extra in ((world.scenario.client_secret, ["--name", "Home CSP"]),
                          (other.client_secret, ["--name", "Northwind", "--client-id", other.client_id,
                                                 "--partner-tenant-id", other.tenant_id])):
        piped(secret)
        assert main([*add_microsoft_args(world), *extra]) == 0
    _, secrets = world.psa_side.settings()
    piped(*secrets.values())
    assert main(add_psa_args(world)) == 0
    assert main(["tenants", "add", "--all-links"]) == 0
    moving = sorted(t.tenant_id for t in context.uow.tenants.all())[0]
    name = context.uow.tenants.get(moving).name
    capsys.readouterr()

    assert main(["tenants", "move", moving, "--partner", "northwind", "--by", "dana"]) == 0
    assert capsys.readouterr().out.startswith("1 tenant(s) are read through partner connection 'Northwind' from "
                                              f"now on. Checked 1 tenant(s). Without consent: {name}. ")
    northwind = next(r.id for r in context.uow.microsoft_connections.all() if r.name == "Northwind")
    assert context.uow.tenants.get(moving).partner_id == northwind
    assert main(["tenants", "move", moving, "--partner", "Contoso CSP"]) == 2
    assert "--partner: no partner connection is named 'Contoso CSP' ('Home CSP', 'Northwind')" in (
        capsys.readouterr().err)
    assert main(["tenants", "move", "not-a-tenant", "--partner", "Home CSP"]) == 1
    assert "not-a-tenant: add it under Customers first" in capsys.readouterr().err
    assert context.uow.tenants.get(moving).partner_id == northwind


# -- bad input: nothing stored, exit 2, a message per field -------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    (["--site", "http://cw.example.com"],
     "--site: the ConnectWise PSA Site must start with https:// (it is 'http://cw.example.com'); seatsync sends "
     "credentials over https only"),
    (["--company-id", " "], "--company-id: the Company ID is required (the company you log in with)"),
    (["--site", "https://admin:pw@cw.example.com"], "--site: the ConnectWise PSA Site must not contain a user name"),
    (["--username", "api@x"], "--username: not a setting of ConnectWise PSA; its settings are --site, --company-id"),
    (["--url", "https://other.example.com"], "--url and --site are the same setting: give one of them"),
    (["--name", " "], "--name: give the connection a name"),
])
def test_bad_psa_settings_are_refused_per_field(change, message, data_dir, piped, capsys):
    args = list(CONNECTWISE)
    for option, value in zip(change[::2], change[1::2], strict=True):
        if option in args:
            args[args.index(option) + 1] = value
        else:
            args += [option, value]
    piped("the-key")
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("seatsync: the ConnectWise PSA connection was not stored; fix this and run "
                                   "the command again:\n  ")
    assert message in captured.err
    assert stored(data_dir) == ([], [])


def test_every_problem_is_named_at_once(data_dir, capsys):
    assert main(["connections", "add", "psa", "--kind", "halopsa", "--name", "Halo", "--api-url", "http://h.example",
                 "--auth-url", "ftp://h.example"]) == 2
    err = capsys.readouterr().err
    assert "--api-url: the HaloPSA Resource server URL must start with https://" in err
    assert "--auth-url: the HaloPSA Authorisation server URL must start with https://" in err
    assert "--client-id: the Client ID is required" in err


def test_a_required_option_is_required(data_dir, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["connections", "add", "psa", "--name", "Main"])
    assert exit_.value.code == 2
    assert "the following arguments are required: --kind" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["--private-key", "--secret", "--client-secret"])
def test_a_secret_on_the_command_line_is_refused_and_never_echoed(option, data_dir, piped, capsys):
    piped("the-key")
    assert main([*CONNECTWISE, option, "hunter2-secret"]) == 2
    captured = capsys.readouterr()
    assert f"{option}: seatsync never takes a secret on the command line" in captured.err
    assert "hunter2-secret" not in captured.out + captured.err
    assert stored(data_dir) == ([], [])


def test_a_microsoft_secret_on_the_command_line_is_refused(data_dir, capsys):
    assert main(["connections", "add", "microsoft", "--client-id", "c", "--partner-tenant-id", "t",
                 "--client-secret=hunter2-secret", "--graph-url", "http://graph.example"]) == 2
    err = capsys.readouterr().err
    assert "--client-secret: seatsync never takes a secret on the command line" in err
    assert "--graph-url: the Microsoft Graph URL must start with https://" in err
    assert "hunter2-secret" not in err
    assert stored(data_dir) == ([], [])


def test_a_missing_secret_names_where_it_can_come_from(data_dir, piped, capsys):
    piped()  # standard input is empty (cron's </dev/null) and no variable is set
    assert main(CONNECTWISE) == 2
    assert capsys.readouterr().err == (
        "seatsync: nothing was stored: the ConnectWise PSA Private key was not given (set SEATSYNC_PSA_PRIVATE_KEY, "
        "type it when asked, or give it on a line of standard input)\n")
    assert stored(data_dir) == ([], [])


def test_without_a_usable_keyring_nothing_is_asked_or_stored(data_dir, monkeypatch, capsys):
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())  # the tests' fixture puts its own back afterwards
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr(connections.getpass, "getpass", lambda prompt: pytest.fail("asked for a secret"))
    assert main(CONNECTWISE) == 1
    assert "found no secure keyring" in capsys.readouterr().err
    assert stored(data_dir) == ([], [])


def test_list_with_nothing_stored_says_how_to_add(data_dir, capsys):
    assert main(["connections", "list"]) == 0
    assert "No connection yet: add them with `python main.py connections add psa ...`" in capsys.readouterr().out
    assert main(["connections", "test"]) == 1
    assert "no connection to test" in capsys.readouterr().err


def test_list_shows_a_secret_missing_from_the_keyring(data_dir, capsys):
    context = open_context(data_dir)
    try:
        context.uow.psa_connections.create(kind="autotask", name="AT", settings={"username": "u",
                                                                             "integration_code": "c"})
    finally:
        context.close()
    assert main(["connections", "list"]) == 0
    out = capsys.readouterr().out
    assert "AT" in out and "(default zone lookup url)" in out and "MISSING: API secret" in out


def test_refresh_reads_new_psa_companies(world, context, piped, capsys):
    _, secrets = world.psa_side.settings()
    piped(*secrets.values())
    assert main(add_psa_args(world)) == 0
    [record] = context.uow.psa_connections.all()
    before = len(context.uow.companies.all(record.id))
    world.psa_side.add_company("Fresh Dental", domains=["freshdental.example"])
    capsys.readouterr()
    assert main(["connections", "refresh"]) == 0
    assert capsys.readouterr().out.startswith(f"ok    ConnectWise PSA 'Sandbox PSA': Read {before + 1} companies")
    assert "Fresh Dental" in [c.name for c in context.uow.companies.all(record.id)]
    world.psa_server.stop()
    assert main(["connections", "refresh", "Sandbox PSA"]) == 1
    assert capsys.readouterr().out.startswith("FAIL  ConnectWise PSA 'Sandbox PSA': ")
    assert "Fresh Dental" in [c.name for c in context.uow.companies.all(record.id)]  # the cache is kept


def test_list_says_when_the_keyring_cannot_be_read(data_dir, capsys):
    import keyring
    from keyring.backends import fail

    context = open_context(data_dir)
    try:
        context.uow.psa_connections.create(kind="halopsa", name="Halo", settings={"api_url": "https://h.example"})
    finally:
        context.close()
    keyring.set_keyring(fail.Keyring())  # the tests' fixture puts its own back afterwards
    assert main(["connections", "list"]) == 1
    captured = capsys.readouterr()
    assert "Halo" in captured.out and "cannot tell (the keyring failed)" in captured.out
    assert captured.err.startswith("seatsync: seatsync found no secure keyring")
