"""The team database's roles, enforced by PostgreSQL: what each may write, the refusals, the commands.

Roles are the whole server's, so the four group roles are shared by every
test (``init_roles`` is idempotent); the login users are named after each
test's own database. A sandbox world (tests/e2e) is synced as a technician
and approved as billing, with the database connected as each user in turn.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from app import cli
from app.billing.types import Exclusion, Mapping
from app.bootstrap import open_context
from app.models import close_database, db, open_database
from app.models.database import RoleRefused
from app.models.records import HeldStatus
from app.sandbox.server import TlsFiles, make_tls
from app.services.sync.db_store import DbSyncStore
from app.services.team.location import ENVIRONMENT
from app.services.team.roles import (
    WRITERS,
    Ability,
    Role,
    add_user,
    categorized,
    connected_role,
    init_roles,
    whoami,
)
from app.services.uow import UnitOfWork
from tests.e2e.conftest import EXO, MID, SPB, Tenant, close_tenant, make_tenant

pytestmark = pytest.mark.postgresql


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls(tmp_path_factory.mktemp("roles-tls"))


@pytest.fixture
def team(postgres_server, monkeypatch) -> Iterator[str]:
    """A migrated team database with the roles set up (as the superuser); its name."""
    url = postgres_server.new_database()
    monkeypatch.setenv(ENVIRONMENT, url)
    database = open_database(url)
    try:
        init_roles(database)
    finally:
        close_database()
    yield url.rsplit("/", 1)[1]
    close_database()


def user(postgres_server, name: str, dbname: str, role: Role) -> str:
    """A login user of ``role`` (named after the test's database: roles are the server's) and its URL."""
    login = f"{dbname}_{name}"
    database = open_database(postgres_server.url(dbname))
    try:
        add_user(database, login, role, None)
    finally:
        close_database()
    return postgres_server.url(dbname, login)


def connect_as(url: str) -> None:
    """From now on every repository and service works as the user in ``url``."""
    close_database()
    open_database(url)


def tables(postgres_server, dbname: str) -> set[str]:
    rows = postgres_server.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", dbname)
    return {row[0] for row in rows}


# -- the categories and init ---------------------------------------------------------------------


def test_every_table_of_the_migrated_database_is_in_exactly_one_category(postgres_server):
    url = postgres_server.new_database(migrated=False)
    close_database()
    open_database(url)  # every migration of this seatsync
    try:
        present = tables(postgres_server, url.rsplit("/", 1)[1])
    finally:
        close_database()
    named = [table for writers in WRITERS.values() for table in writers]
    assert len(named) == len(set(named)), "a table is in two categories"
    assert sorted(present - categorized()) == [], "a table no category names: add it to WRITERS in roles.py"
    assert sorted(categorized() - present) == [], "a category names a table the migrations do not make"


def test_init_twice_changes_nothing_and_grants_by_category(postgres_server, team):
    before = postgres_server.sql("SELECT relname, relacl::text FROM pg_class WHERE relkind IN ('r', 'S') "
                                 "AND relnamespace = 'public'::regnamespace ORDER BY 1", team)
    database = open_database(postgres_server.url(team))
    done = init_roles(database)
    close_database()
    assert not any(line.startswith("made the role") for line in done)  # the first init made them
    after = postgres_server.sql("SELECT relname, relacl::text FROM pg_class WHERE relkind IN ('r', 'S') "
                                "AND relnamespace = 'public'::regnamespace ORDER BY 1", team)
    assert after == before

    def may(role: Role, privilege: str, table: str) -> bool:
        return postgres_server.sql(f"SELECT has_table_privilege('{role.group}', '{table}', '{privilege}')",
                                   team)[0][0]

    assert all(may(Role.VIEWER, "SELECT", table) for table in tables(postgres_server, team))
    assert not may(Role.VIEWER, "INSERT", "sync_run")
    assert may(Role.TECHNICIAN, "INSERT", "journal_entry") and not may(Role.TECHNICIAN, "INSERT", "mapping")
    assert may(Role.BILLING, "UPDATE", "mapping") and not may(Role.BILLING, "UPDATE", "psa_connection")
    assert may(Role.OWNER, "DELETE", "psa_connection")
    assert postgres_server.sql("SELECT has_column_privilege('seatsync_technician', 'tenant', 'consent_status', "
                               "'UPDATE'), has_column_privilege('seatsync_technician', 'tenant', 'name', 'UPDATE')",
                               team) == [(True, False)]


def test_an_administrator_without_superuser_sets_the_roles_up_on_a_database_it_owns(postgres_server):
    name = f"{postgres_server.new_database(migrated=False).rsplit('/', 1)[1]}_own"
    admin = f"{name}_admin"
    postgres_server.sql(f"CREATE ROLE {admin} LOGIN CREATEROLE")
    postgres_server.sql(f"CREATE DATABASE {name} OWNER {admin}")
    close_database()
    database = open_database(postgres_server.url(name, admin))  # migrated by the administrator: its tables
    try:
        assert connected_role(database) is Role.OWNER
        assert "set the grants of" in " ".join(init_roles(database))
        add_user(database, f"{name}_tech", Role.TECHNICIAN, None)
    finally:
        close_database()
    connect_as(postgres_server.url(name, f"{name}_tech"))
    with pytest.raises(RoleRefused, match="excluding licenses needs the billing role"), UnitOfWork() as uow:
        uow.exclusions.add(Exclusion(sku_id="sku-1", tenant_id=None, reason="not billed"))
    close_database()


def test_init_as_a_user_who_may_not_is_refused_saying_why(postgres_server, team):
    from app.services.team.roles import CannotSetUpRoles

    connect_as(user(postgres_server, "billing", team, Role.BILLING))
    with pytest.raises(CannotSetUpRoles, match="lacks CREATEROLE"):
        init_roles(db.obj)
    close_database()


# -- connected roles ---------------------------------------------------------------------------------


def test_the_connected_role_is_the_highest_group_and_the_tables_owner_is_an_owner(postgres_server, team):
    urls = {role: user(postgres_server, role.value, team, role) for role in Role}
    for role, url in urls.items():
        connect_as(url)
        assert connected_role(db.obj) is role
        assert whoami(db.obj).user == f"{team}_{role.value}"
    connect_as(postgres_server.url(team))
    assert connected_role(db.obj) is Role.OWNER  # the superuser that owns the tables
    close_database()


def test_a_changed_role_replaces_the_old_one(postgres_server, team):
    url = user(postgres_server, "ana", team, Role.BILLING)
    user(postgres_server, "ana", team, Role.VIEWER)
    connect_as(url)
    assert connected_role(db.obj) is Role.VIEWER
    close_database()


def test_a_user_name_is_checked_not_interpolated(postgres_server, team):
    from app.services.team.roles import BadUserName

    database = open_database(postgres_server.url(team))
    try:
        for bad in ('x"; DROP TABLE mapping; --', "pg_sneaky", "seatsync_owner", "", "a b"):
            with pytest.raises(BadUserName):
                add_user(database, bad, Role.OWNER, "secret")
    finally:
        close_database()
    assert "mapping" in tables(postgres_server, team)


def test_a_password_reaches_the_server_hashed_and_logs_in(postgres_server, team):
    database = open_database(postgres_server.url(team))
    try:
        add_user(database, f"{team}_pw", Role.VIEWER, "correct horse")
    finally:
        close_database()
    (stored,) = postgres_server.sql(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{team}_pw'")[0]
    assert stored.startswith(("SCRAM-SHA-256$", "md5")) and "correct horse" not in stored


def test_services_know_the_role_and_sqlite_is_the_owner(postgres_server, team, data_dir, monkeypatch):
    url = user(postgres_server, "tech", team, Role.TECHNICIAN)
    monkeypatch.setenv(ENVIRONMENT, url)
    context = open_context(data_dir)
    try:
        assert context.role() is Role.TECHNICIAN and context.database_user.user == f"{team}_tech"
        assert context.role().may_sync and not context.role().may_approve and not context.role().may_map
    finally:
        context.close()
    monkeypatch.delenv(ENVIRONMENT)
    local = open_context(data_dir)
    try:
        assert local.role() is Role.OWNER
    finally:
        local.close()


def test_what_each_role_may_do():
    assert [a for a in Ability if Role.VIEWER.may(a)] == []
    assert [a for a in Ability if Role.TECHNICIAN.may(a)] == [Ability.SYNC]
    assert [a for a in Ability if Role.BILLING.may(a)] == [Ability.SYNC, Ability.MAP, Ability.APPROVE,
                                                           Ability.EDIT_SETTINGS, Ability.MANAGE_TENANTS]
    assert all(Role.OWNER.may(a) for a in Ability)
    assert Role.TECHNICIAN.refusal(Ability.APPROVE) == ("Approving or rejecting held changes needs the billing "
                                                         "role (you are a technician).")
    assert Role.BILLING.refusal(Ability.APPROVE) == ""


# -- the refusals, through the app ----------------------------------------------------------------


def test_a_refused_write_in_a_unit_of_work_is_role_refused_naming_the_role(postgres_server, team):
    connect_as(user(postgres_server, "tech", team, Role.TECHNICIAN))
    whoami(db.obj)
    uow = UnitOfWork()
    with pytest.raises(RoleRefused) as refused, uow:
        uow.exclusions.add(Exclusion(sku_id="sku-1", tenant_id=None, reason="not billed"))
    assert str(refused.value) == (f"The team database refused this change: your database user ({team}_tech) is a "
                                  "technician; excluding licenses needs the billing role")
    with uow:  # the refusal rolled its transaction back: the connection works on
        assert uow.exclusions.all() == []
    close_database()


def test_a_viewer_cannot_write_what_a_sync_writes(postgres_server, team):
    connect_as(user(postgres_server, "view", team, Role.VIEWER))
    uow = UnitOfWork()
    with pytest.raises(RoleRefused, match=r"is a viewer; syncing needs the technician role"), uow:
        uow.runs.start(trigger="manual")
    close_database()


def test_the_decision_guard_lets_a_sync_settle_decided_changes_but_decide_nothing(postgres_server, team):
    postgres_server.sql("INSERT INTO held_operation (op_key, tenant_id, operation, reason, status, decided_by, "
                        "created_at, updated_at) VALUES ('k1', 't', '{}', '', 'approved', 'ana', now(), now()), "
                        "('k2', 't', '{}', '', 'rejected', 'ana', now(), now()), "
                        "('k3', 't', '{}', '', 'held', '', now(), now())", team)
    user(postgres_server, "tech", team, Role.TECHNICIAN)
    conn = postgres_server.connect(team, f"{team}_tech")
    conn.autocommit = True

    def run(statement: str) -> bool:
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement)
        except psycopg2.errors.InsufficientPrivilege:
            return False
        return True

    try:
        assert not run("UPDATE held_operation SET status = 'rejected' WHERE op_key = 'k3'")
        assert not run("UPDATE held_operation SET status = 'held' WHERE op_key = 'k2'")  # undoing a decision
        assert not run("UPDATE held_operation SET op_key = 'other' WHERE op_key = 'k1'")  # approving another
        assert not run("INSERT INTO held_operation (op_key, tenant_id, operation, reason, status, decided_by, "
                       "created_at, updated_at) VALUES ('k4', 't', '{}', '', 'approved', 'me', now(), now())")
        assert run("UPDATE held_operation SET status = 'applied', updated_at = now() WHERE op_key = 'k1'")
        assert run("UPDATE held_operation SET status = 'superseded', updated_at = now() WHERE op_key = 'k3'")
        assert run("INSERT INTO held_operation (op_key, tenant_id, operation, reason, status, decided_by, "
                   "created_at, updated_at) VALUES ('k5', 't', '{}', '', 'held', '', now(), now())")
    finally:
        conn.close()
    assert postgres_server.sql("SELECT op_key, status FROM held_operation ORDER BY op_key", team) == [
        ("k1", "applied"), ("k2", "rejected"), ("k3", "superseded"), ("k5", "held")]


# -- a sandbox world synced by a technician, approved by billing ------------------------------------


@pytest.fixture
def world(tmp_path: Path, tls: TlsFiles, postgres_server, team) -> Iterator[tuple[Tenant, str]]:
    """A one-tenant world on the team database, set up by its owner; the test connects as others."""
    tenant = make_tenant(tmp_path, tls, "connectwise")
    yield tenant, team
    close_tenant(tenant)


def held_keys(tenant: Tenant) -> list[str]:
    tenant.drop_license(SPB)  # 10 seats to none: a suspicious drop, held until a person decides
    summary = tenant.sync()
    assert not summary.failed, [r.error for r in summary.results]
    keys = [op.key for r in summary.results for op, _ in r.held]
    assert len(keys) == 1
    return keys


def test_a_technician_syncs_but_cannot_approve_nor_map_and_billing_approves(postgres_server, world):
    tenant, team = world
    technician = user(postgres_server, "tech", team, Role.TECHNICIAN)
    billing = user(postgres_server, "bill", team, Role.BILLING)
    connect_as(technician)
    log = postgres_server.folder / "server.log"
    start = log.stat().st_size
    first = tenant.sync()
    assert not first.failed, [r.error for r in first.results]
    assert first.writes == 2 and (tenant.main(SPB).quantity, tenant.main(EXO).quantity) == (10, 4)
    tenant.move_to(MID)
    (key,) = held_keys(tenant)
    with log.open(encoding="utf-8", errors="replace") as text:
        text.seek(start)
        refused = [line for line in text if "permission denied" in line or "seatsync_billing" in line]
    assert refused == [], "the technician's syncs wrote nothing the database refused, not even a write the app skips"
    uow = tenant.context.uow
    with uow:
        assert uow.tenants.get(tenant.tenant_id).consent_status.value == "granted"
        assert uow.inventory.latest(tenant.tenant_id) is not None and uow.runs.recent()[0].status.value == "succeeded"

    # Refused by the database itself, however the approval is asked for.
    with pytest.raises(RoleRefused, match="approving or rejecting a held change needs the billing role"), uow:
        uow.approvals.approve(key, by="tech")
    with pytest.raises(RoleRefused):
        DbSyncStore().decide(key, approve=False, who="tech")
    decided = tenant.context.review.approve([key], by="tech")  # the window's Approve, were it not disabled
    assert decided.decided == () and "needs the billing role" in decided.failed[0][1]
    conn = postgres_server.connect(team, f"{team}_tech")
    try:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege), conn.cursor() as cursor:
            cursor.execute("UPDATE held_operation SET status = 'approved', decided_by = 'me'")
    finally:
        conn.close()
    with log.open(encoding="utf-8", errors="replace") as text:
        assert any("needs the seatsync_billing role" in line for line in text)  # the log does show refusals
    with uow:
        assert uow.approvals.get(key).status is HeldStatus.HELD
    with pytest.raises(RoleRefused, match="mapping licenses needs the billing role"), uow:
        uow.mappings.save(Mapping(tenant_id=tenant.tenant_id, sku_id=tenant.scenario.sku_id(SPB),
                                  profile=next(iter(tenant.profiles.values())), agreement_id=tenant.agreement,
                                  included_quantity=3))

    connect_as(billing)
    with uow:
        assert uow.approvals.approve(key, by="ana").status is HeldStatus.APPROVED

    connect_as(technician)  # the technician's next sync writes the approved change and marks it applied
    applied = tenant.sync()
    assert not applied.failed and applied.writes >= 1, [r.error for r in applied.results]
    with uow:
        assert uow.approvals.get(key).status is HeldStatus.APPLIED
    close_database()


def test_a_viewer_cannot_sync(postgres_server, world):
    tenant, team = world
    connect_as(user(postgres_server, "view", team, Role.VIEWER))
    writes = tenant.writes()
    with pytest.raises(RoleRefused, match="syncing needs the technician role"):
        tenant.sync()
    assert tenant.writes() == writes
    close_database()


# -- the commands --------------------------------------------------------------------------------------


def test_team_init_add_user_and_role_commands(postgres_server, data_dir, monkeypatch, capsys):
    url = postgres_server.new_database()
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    dbname = url.rsplit("/", 1)[1]
    assert cli.main(["team", "init", "--database", url]) == 0
    out = capsys.readouterr().out
    assert f"team database {dbname}" in out and "set the grants of" in out
    assert cli.main(["team", "init", "--database", url]) == 0  # again: nothing breaks
    capsys.readouterr()

    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret words\n"))
    assert cli.main(["team", "add-user", f"{dbname}_cli", "--role", "technician", "--password-stdin",
                     "--database", url]) == 0
    assert f"made the user {dbname}_cli, a technician" in capsys.readouterr().out

    assert cli.main(["team", "role", "--database", postgres_server.url(dbname, f"{dbname}_cli")]) == 0
    out = capsys.readouterr().out
    assert f"as {dbname}_cli: technician." in out
    assert "  may: syncing" in out and "  may not: approving or rejecting held changes" in out

    monkeypatch.setenv(ENVIRONMENT, postgres_server.url(dbname, f"{dbname}_cli"))
    assert cli.main(["team", "init"]) == 1  # a technician may not set up roles
    assert "seatsync:" in capsys.readouterr().err


def test_team_commands_on_this_computers_database(data_dir, monkeypatch, capsys):
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    assert cli.main(["team", "role"]) == 0
    assert "this computer's database" in capsys.readouterr().out
    assert cli.main(["team", "init"]) == 1
    assert "not one" in capsys.readouterr().err
    assert cli.main(["team", "add-user", "bob", "--role", "viewer", "--no-password"]) == 1


def test_a_password_asked_twice_must_match(postgres_server, team, monkeypatch, capsys):
    answers = iter(["one", "two"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert cli.main(["team", "add-user", f"{team}_typo", "--role", "viewer",
                     "--database", postgres_server.url(team)]) == 2
    assert "differ" in capsys.readouterr().err
    assert postgres_server.sql(f"SELECT count(*) FROM pg_roles WHERE rolname = '{team}_typo'") == [(0,)]
