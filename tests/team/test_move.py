"""Moving this computer's database to a team's PostgreSQL database: every row, checked, or nothing.

The local database is one sandbox tenant (tests/e2e/conftest.py) synced
twice, a decrease held for approval, an exclusion, a sync lock and a
runner's status: every table of seatsync's holds rows, money, instants and
days among them. It is built once per module and copied for each test.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import stat
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from app.billing.custom import CountRule, CustomLicense
from app.billing.foreign import ForeignAction, ForeignDecision
from app.billing.ignored import IgnoredAccount
from app.billing.operations import Finding, FindingKind
from app.billing.types import Exclusion
from app.bootstrap import open_context
from app.cli import main
from app.models.database import DatabaseFailed
from app.models.records import MappingRuleRecord
from app.models.repositories.foreign import ForeignLineRecord
from app.models.team import RunnerStatus
from app.sandbox.server import make_tls
from app.sandbox.world_psas import PSA_KINDS
from app.services.contacts.plan import Options
from app.services.secrets import SecretStore
from app.services.settings import ApprovalPolicy
from app.services.sync.db_store import DbSyncStore
from app.services.team import move
from app.services.team.location import DATABASE_PASSWORD, ENVIRONMENT, TEAM_FILE, locate
from app.services.team.move import (
    MoveFailed,
    MoveNotVerified,
    MoveProgress,
    NoLocalDatabase,
    TeamDatabaseNotEmpty,
    UnknownTables,
    move_to_team,
    probe,
    seatsync_models,
    with_certificate_authority,
)
from tests.e2e.conftest import E3, EXO, MID, SPB, close_tenant, make_tenant
from tests.postgres import free_port, wait_until

pytestmark = pytest.mark.postgresql

LOCAL_NAME = "seatsync.db"
MOVER, MOVER_PASSWORD = "mover", "correct horse"


# -- the local database, and reading both sides ------------------------------------------------------------------


def build_local_database(folder: Path) -> Path:
    """A SQLite database with rows in every table; its path (one file, no WAL beside it)."""
    saved = os.environ.pop(ENVIRONMENT, None)
    try:
        tenant = make_tenant(folder, make_tls(folder / "tls"), PSA_KINDS[0])
        try:
            context = tenant.context
            context.settings.set_approval_policy(ApprovalPolicy.HOLD_DECREASES)
            company_id = context.uow.tenants.links_of_tenant(tenant.tenant_id)[0].company_id
            context.contacts.preview(company_id, Options())
            context.contacts.save_settings(company_id, enabled=True, options=Options(), actor="amy")
            first = tenant.sync()
            assert not first.failed, [r.error for r in first.results]
            tenant.move_to(MID)
            tenant.seats(SPB, 12)
            tenant.seats(EXO, 2)  # a decrease: held for approval
            tenant.exclude(E3)
            second = tenant.sync()
            assert not second.failed and second.held, second
            with context.uow:
                assert context.uow.locks.acquire("probe", "someone else", 3600)
                now = datetime.now(UTC)
                RunnerStatus.create(name="runner:/srv/seatsync", host="runner", pid=42, started_at=now,
                                    heartbeat_at=now, last_run_at=now, last_status="ok", last_summary="2 writes")
                context.uow.findings.replace({tenant.tenant_id: [Finding(
                    kind=FindingKind.INACTIVE_AGREEMENT, tenant_id=tenant.tenant_id, sku_id=SPB, agreement_id="A1",
                    message="agreement Contoso - Old 365 is inactive")]}, at=now, sync_run_id=second.run_id)
                mapping = context.uow.mappings.all()[0]
                rule = context.uow.rules.add(MappingRuleRecord(sku_id=mapping.sku_id, profile=mapping.profile))
                context.uow.rules.mark(mapping.row, rule.id)
                context.uow.foreign_decisions.decide([ForeignLineRecord(
                    connection_id=tenant.connection, agreement_id=tenant.agreement,
                    product_id=mapping.profile.product.id, reference="Cloudconsole", quantity=5,
                    decision=ForeignDecision(line_id="9999", action=ForeignAction.IGNORE, decided_on=MID))])
                context.uow.custom_licenses.add(CustomLicense(id="c" * 32, tenant_id=tenant.tenant_id,
                                                              name="Support seats", rule=CountRule.FIXED, param="3"))
                context.uow.ignored_accounts.add(IgnoredAccount(pattern="msp-admin@*", tenant_id=tenant.tenant_id,
                                                                reason="our admin"))
        finally:
            close_tenant(tenant)
    finally:
        if saved is not None:
            os.environ[ENVIRONMENT] = saved
    golden = folder / "golden.db"
    with sqlite3.connect(folder / "data" / LOCAL_NAME) as live, sqlite3.connect(golden) as copy:
        live.backup(copy)
    empty = [t for t, n in local_counts(golden).items() if not n]
    assert not empty, f"the test data leaves {empty} empty"
    return golden


def place(golden: Path, data_dir: Path) -> Path:
    """The golden database as ``data_dir``'s own; its path."""
    target = data_dir / LOCAL_NAME
    shutil.copyfile(golden, target)
    return target


def tables() -> list[str]:
    return [m._meta.table_name for m in seatsync_models()]


def local_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as database:
        return {t: database.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables()}


def team_counts(server, url: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    name = url.rsplit("/", 1)[1]
    return {t: server.sql(f'SELECT COUNT(*) FROM "{t}"', name)[0][0] for t in tables()}


def money_columns() -> list[tuple[str, str]]:
    return [(m._meta.table_name, f.column_name) for m in seatsync_models() for f in m._meta.sorted_fields
            if f.field_type == "MONEY"]


def local_sums(path: Path) -> dict[tuple[str, str], Decimal]:
    """Each money column's sum, added up here as Decimal from the text SQLite keeps."""
    with sqlite3.connect(path) as database:
        return {(t, c): sum((Decimal(v) for (v,) in database.execute(
            f'SELECT "{c}" FROM "{t}" WHERE "{c}" IS NOT NULL')), Decimal(0)) for t, c in money_columns()}


def team_sums(server, url: str) -> dict[tuple[str, str], Decimal]:  # type: ignore[no-untyped-def]
    name = url.rsplit("/", 1)[1]
    return {(t, c): server.sql(f'SELECT COALESCE(SUM("{c}"), 0) FROM "{t}"', name)[0][0] for t, c in money_columns()}


def what_the_app_sees(data_dir: Path) -> dict[str, object]:
    """Companies, tenants' links, mappings, exclusions, the journal, the audit, held changes: as the app reads them."""
    context = open_context(data_dir)
    try:
        uow, store = context.uow, DbSyncStore()
        with uow:
            return {"companies": uow.companies.all(), "mappings": uow.mappings.all(),
                    "exclusions": uow.exclusions.all(), "journal": store.journal_states(),
                    "audit": store.audits(), "held": uow.approvals.held(), "entries": uow.journal.entries(),
                    "policy": context.settings.approval_policy()}
    finally:
        context.close()


def backups(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob(f"{LOCAL_NAME}.before-team-*"))


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_local_database(tmp_path_factory.mktemp("local"))


@pytest.fixture
def local(golden: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's data folder holds a copy of the golden database, and no database URL is set."""
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    return place(golden, data_dir)


@pytest.fixture(scope="module")
def password_login(postgres_server):  # type: ignore[no-untyped-def]
    """A role the server asks a password of (scram-sha-256), unlike the others (trusted)."""
    hba = postgres_server.folder / "data" / "pg_hba.conf"
    rule = f"host all {MOVER} 127.0.0.1/32 scram-sha-256\n"
    if rule not in hba.read_text():
        hba.write_text(rule + hba.read_text())  # the first matching line decides
    postgres_server.sql(f"DO $$ BEGIN CREATE ROLE {MOVER} LOGIN PASSWORD '{MOVER_PASSWORD}'; "
                        "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    postgres_server.sql("SELECT pg_reload_conf()")

    def refused() -> bool:
        try:
            postgres_server.connect("postgres", MOVER).close()
        except Exception:  # noqa: BLE001 - any refusal is what is waited for
            return True
        return False

    assert wait_until(refused), "the server still lets the role in without a password"
    return postgres_server


def mover_database(server) -> str:  # type: ignore[no-untyped-def]
    """An empty database the password role owns; its URL as that role."""
    name = server.new_database(migrated=False).rsplit("/", 1)[1]
    server.sql(f"ALTER DATABASE {name} OWNER TO {MOVER}")
    return server.url(name, MOVER)


# -- the move ---------------------------------------------------------------------------------------------------


def test_every_table_is_copied_checked_and_the_app_then_opens_the_team_database(postgres_server, local, data_dir):
    before = what_the_app_sees(data_dir)
    counts, sums = local_counts(local), local_sums(local)
    url = postgres_server.new_database(migrated=False)
    steps: list[MoveProgress] = []

    report = move_to_team(local, url, None, SecretStore(), data_dir, progress=steps.append)

    assert team_counts(postgres_server, url) == counts
    assert team_sums(postgres_server, url) == sums and any(sums.values())
    assert {t.table: t.rows for t in report.tables} == counts
    assert {(t.table, c): s for t in report.tables for c, s in t.sums} == sums
    assert report.rows == sum(counts.values()) and report.figures > 4 * len(counts) and report.seconds > 0
    assert steps[-1].copied == steps[-1].total == report.rows and steps[-1].stage == "checking"
    assert [s.copied for s in steps] == sorted(s.copied for s in steps)
    # switched, and the local file kept twice: as it was, and a private copy that opens
    assert locate(data_dir) == report.location and str(report.location.target) == url
    assert report.backup == backups(data_dir)[0] and report.backup.name.startswith("seatsync.db.before-team-20")
    assert stat.S_IMODE(report.backup.stat().st_mode) == 0o600
    assert local_counts(report.backup) == counts == local_counts(local)
    assert str(report.backup) in report.text() and url.rsplit("/", 1)[1] in report.text()
    # the app opens the team database and sees the same data; new rows take new ids (the sequences moved on)
    after = what_the_app_sees(data_dir)
    assert after == before
    context = open_context(data_dir)
    try:
        context.uow.exclusions.add(Exclusion(sku_id="sku-after-the-move", tenant_id=None, reason="new"))
    finally:
        context.close()
    name = url.rsplit("/", 1)[1]
    assert postgres_server.sql("SELECT MAX(id) FROM exclusion", name)[0][0] > counts["exclusion"]


def test_a_second_move_into_a_database_holding_data_is_refused_and_touches_nothing(postgres_server, local, data_dir,
                                                                                   tmp_path):
    url = postgres_server.new_database(migrated=False)
    move_to_team(local, url, None, SecretStore(), data_dir)
    held = team_counts(postgres_server, url)
    other = tmp_path / "other"
    other.mkdir()
    again = place(local, other)

    with pytest.raises(TeamDatabaseNotEmpty) as refused:
        move_to_team(again, url, None, SecretStore(), other)

    assert "already holds seatsync data, and seatsync moves only into an empty one" in str(refused.value)
    assert team_counts(postgres_server, url) == held
    assert locate(other).target == other / LOCAL_NAME and not (other / TEAM_FILE).exists() and not backups(other)


def test_a_verification_failure_rolls_everything_back_and_switches_nothing(postgres_server, local, data_dir,
                                                                           monkeypatch, memory_keyring):
    url = postgres_server.new_database(migrated=False)
    real = move.figures

    def off_by_a_cent(database, model):  # type: ignore[no-untyped-def]
        found = real(database, model)
        if model._meta.table_name == "psa_product" and not isinstance(database, move.SqliteDatabase):
            found["sum of price"] = found["sum of price"] + Decimal("0.01")
        return found

    monkeypatch.setattr(move, "figures", off_by_a_cent)
    with pytest.raises(MoveNotVerified) as failed:
        move_to_team(local, url, "a password", SecretStore(), data_dir)

    assert "psa_product: sum of price is" in str(failed.value) and "the team database is empty again" in \
        str(failed.value)
    assert set(team_counts(postgres_server, url).values()) == {0}
    assert locate(data_dir).target == data_dir / LOCAL_NAME and not (data_dir / TEAM_FILE).exists()
    assert not backups(data_dir) and not SecretStore().has(DATABASE_PASSWORD)


def test_a_failure_after_the_switch_puts_the_earlier_setting_back(postgres_server, local, data_dir, monkeypatch):
    """The switch is made inside the team transaction: when the commit fails, it is undone, backup and all."""
    (data_dir / TEAM_FILE).write_text(json.dumps({"url": "postgresql://old@elsewhere/db"}))
    SecretStore().set(DATABASE_PASSWORD, "the old one")
    url = postgres_server.new_database(migrated=False)

    real = move.use_team

    def switched_then_failed(*args, **kwargs):  # type: ignore[no-untyped-def]
        real(*args, **kwargs)
        raise OSError("the disk went away")

    monkeypatch.setattr(move, "use_team", switched_then_failed)
    with pytest.raises(MoveFailed, match="setting could not be written: the disk went away"):
        move_to_team(local, url, "new secret", SecretStore(), data_dir)

    assert json.loads((data_dir / TEAM_FILE).read_text())["url"] == "postgresql://old@elsewhere/db"
    assert SecretStore().get(DATABASE_PASSWORD) == "the old one"
    assert set(team_counts(postgres_server, url).values()) == {0} and not backups(data_dir)


def test_a_wrong_password_or_a_silent_server_is_said_plainly_and_switches_nothing(password_login, local, data_dir):
    url = mover_database(password_login)
    for password, says in ((None, "asks for a password"), ("wrong", "refused the user name or password")):
        with pytest.raises(DatabaseFailed) as failed:
            move_to_team(local, url, password, SecretStore(), data_dir)
        assert says in str(failed.value) and "Traceback" not in str(failed.value)
        assert move.needs_password(failed.value)
    silent = f"postgresql://postgres@127.0.0.1:{free_port()}/seatsync"
    with pytest.raises(DatabaseFailed, match="not answering"):
        move_to_team(local, silent, None, SecretStore(), data_dir)
    assert locate(data_dir).target == data_dir / LOCAL_NAME and not backups(data_dir)
    assert not SecretStore().has(DATABASE_PASSWORD)
    # the right one moves, and goes to the keyring (never to team.json)
    report = move_to_team(local, url, MOVER_PASSWORD, SecretStore(), data_dir)
    assert report.rows and SecretStore().get(DATABASE_PASSWORD) == MOVER_PASSWORD
    assert MOVER_PASSWORD not in (data_dir / TEAM_FILE).read_text()


def test_a_table_no_model_declares_stops_the_move(postgres_server, local, data_dir):
    with sqlite3.connect(local) as database:
        database.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    url = postgres_server.new_database(migrated=False)
    with pytest.raises(UnknownTables, match="notes"):
        move_to_team(local, url, None, SecretStore(), data_dir)
    name = url.rsplit("/", 1)[1]
    assert postgres_server.sql("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'", name) == [(0,)]


def test_a_column_no_model_declares_stops_the_move(postgres_server, local, data_dir):
    with sqlite3.connect(local) as database:
        database.execute("ALTER TABLE mapping ADD COLUMN notes TEXT")
    with pytest.raises(UnknownTables, match=r"mapping\.notes"):
        move_to_team(local, postgres_server.new_database(migrated=False), None, SecretStore(), data_dir)
    assert not locate(data_dir).is_team


def test_no_local_database_no_move(postgres_server, data_dir):
    with pytest.raises(NoLocalDatabase):
        move_to_team(data_dir / LOCAL_NAME, postgres_server.new_database(migrated=False), None, SecretStore(),
                     data_dir)
    assert not (data_dir / LOCAL_NAME).exists()


def test_the_tables_come_parents_first_from_the_models_foreign_keys():
    models = seatsync_models()
    place_of = {m: i for i, m in enumerate(models)}
    references = [(m, f.rel_model) for m in models for f in m._meta.refs]
    assert references and all(place_of[parent] < place_of[child] for child, parent in references)
    assert {"setting", "runner_status", "audit_entry", "journal_entry"} <= set(tables())


def test_probe_says_the_server_and_whether_it_holds_data(postgres_server, local, data_dir):
    url = postgres_server.new_database(migrated=False)
    found = probe(url)
    assert found.server.startswith("PostgreSQL ") and found.empty and found.schema == 0
    assert "no seatsync data" in found.text()
    move_to_team(local, url, None, SecretStore(), data_dir)
    found = probe(url)
    assert not found.empty and found.schema > 0 and "holds seatsync data" in found.text()


def test_a_certificate_authority_goes_into_the_address():
    url = with_certificate_authority("postgresql://me@db.example.com/seatsync?sslrootcert=old.pem", "/etc/ca.pem")
    assert url == "postgresql://me@db.example.com/seatsync?sslrootcert=/etc/ca.pem"
    assert with_certificate_authority("postgresql://me@h/db", " ") == "postgresql://me@h/db"


# -- the command ------------------------------------------------------------------------------------------------


def test_the_command_moves_prints_the_counts_and_switches_then_use_local_switches_back(postgres_server, local,
                                                                                       data_dir, capsys):
    url = postgres_server.new_database(migrated=False)
    counts = local_counts(local)

    assert main(["team", "migrate", "--to", url]) == 0

    out = capsys.readouterr().out
    for table, rows in counts.items():
        assert any(line.split()[:2] == [table, str(rows)] for line in out.splitlines()), (table, out)
    name = url.rsplit("/", 1)[1]
    assert f"switched: seatsync now opens team database {name} on 127.0.0.1:{postgres_server.port}" in out
    assert f"this computer's database is kept at {backups(data_dir)[0]}" in out
    assert locate(data_dir).is_team

    assert main(["team", "migrate", "--to", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("seatsync: The team database already holds seatsync data, and seatsync moves only into "
                          "an empty one") and "Traceback" not in err

    assert main(["team", "use-local"]) == 0
    out = capsys.readouterr().out
    assert "seatsync now opens this computer's database" in out and f"team database {name}" in out
    assert "untouched" in out and not locate(data_dir).is_team
    assert team_counts(postgres_server, url) == counts


def test_the_command_reads_the_password_from_stdin_and_refuses_one_in_the_address(password_login, local, data_dir,
                                                                                  capsys, monkeypatch):
    url = mover_database(password_login)
    monkeypatch.setattr("sys.stdin", io.StringIO("wrong\n"))
    assert main(["team", "migrate", "--to", url, "--password-stdin"]) == 1
    assert "refused the user name or password" in capsys.readouterr().err and not locate(data_dir).is_team

    with_password = url.replace(f"{MOVER}@", f"{MOVER}:{MOVER_PASSWORD}@")
    assert main(["team", "migrate", "--to", with_password]) == 2
    assert "put no password in the address" in capsys.readouterr().err

    monkeypatch.setattr("sys.stdin", io.StringIO(MOVER_PASSWORD + "\n"))
    assert main(["team", "migrate", "--to", url, "--password-stdin"]) == 0
    assert "switched:" in capsys.readouterr().out and SecretStore().get(DATABASE_PASSWORD) == MOVER_PASSWORD


def test_the_command_asks_for_the_password_on_a_terminal_without_showing_it(password_login, local, data_dir,
                                                                            capsys, monkeypatch):
    url = mover_database(password_login)
    asked: list[str] = []
    monkeypatch.setattr("app.commands.team_move.is_terminal", lambda stream: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or MOVER_PASSWORD)

    assert main(["team", "migrate", "--to", url]) == 0

    assert asked == [f"Password of {MOVER} for the team database (not shown): "]
    assert MOVER_PASSWORD not in capsys.readouterr().out and SecretStore().get(DATABASE_PASSWORD) == MOVER_PASSWORD


def test_the_command_uses_a_team_database_without_copying(postgres_server, local, data_dir, capsys, tmp_path,
                                                          monkeypatch):
    url = postgres_server.new_database(migrated=False)
    move_to_team(local, url, None, SecretStore(), data_dir)
    second = tmp_path / "second desktop"
    second.mkdir()
    monkeypatch.setenv("SEATSYNC_DATA_DIR", str(second))

    assert main(["team", "use", "--to", url]) == 0

    out = capsys.readouterr().out
    assert "holds seatsync data" in out and "switched: seatsync now opens team database" in out
    assert locate(second).target == url and not backups(second)
    assert main(["team", "use", "--to", f"postgresql://postgres@127.0.0.1:{free_port()}/x"]) == 1
    assert "not answering" in capsys.readouterr().err and locate(second).target == url
