"""Where seatsync's database is: team.json, the environment, the keyring's password, and TLS to a server."""

from __future__ import annotations

import json
import stat

import pytest

from app.models.database import BadDatabaseAddress, connection_options
from app.services.secrets import SecretStore
from app.services.team.location import (
    DATABASE_PASSWORD,
    ENVIRONMENT,
    TEAM_FILE,
    DatabaseLocation,
    TeamSettingUnreadable,
    locate,
    password,
    use_local,
    use_team,
    without_password,
)


@pytest.mark.parametrize("host", ["db.example.com", "10.0.0.7", "[2001:db8::1]"])
def test_a_server_elsewhere_is_reached_over_tls_with_its_certificate_and_name_checked(host):
    options = connection_options(f"postgresql://me@{host}:5433/seatsync")
    assert options["sslmode"] == "verify-full"
    assert options["dbname"] == "seatsync" and options["port"] == 5433 and options["user"] == "me"


def test_the_address_may_name_the_certificate_authority_or_another_mode():
    options = connection_options("postgresql://me@db.example.com/seatsync?sslrootcert=/etc/team-ca.pem")
    assert options["sslmode"] == "verify-full" and options["sslrootcert"] == "/etc/team-ca.pem"
    assert connection_options("postgresql://me@db.example.com/s?sslmode=require")["sslmode"] == "require"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_this_machine_is_reached_without_tls_demands(host):
    assert "sslmode" not in connection_options(f"postgresql://me@{host}/seatsync")


def test_the_keyrings_password_wins_over_one_in_the_address():
    assert connection_options("postgresql://me:inline@h/db", "kept")["password"] == "kept"
    assert connection_options("postgresql://me:in%40line@h/db")["password"] == "in@line"


@pytest.mark.parametrize("url", ["postgresql://me@host", "postgresql://me@host:port/db", "mysql://me@host/db"])
def test_an_address_that_cannot_be_used_is_refused(url):
    with pytest.raises(BadDatabaseAddress):
        connection_options(url)


def test_without_team_json_the_local_file_is_opened(data_dir, monkeypatch):
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    location = locate(data_dir)
    assert location.target == data_dir / "seatsync.db" and not location.is_team
    assert location.describe() == f"this computer's database ({data_dir / 'seatsync.db'})"


def test_use_team_keeps_the_address_without_its_password_and_the_password_in_the_keyring(data_dir, monkeypatch):
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    secrets = SecretStore()
    location = use_team(data_dir, "postgresql://me:pw@db.example.com/seatsync", secrets, "pw")
    assert location.target == "postgresql://me@db.example.com/seatsync"
    assert location.describe() == "team database seatsync on db.example.com:5432"
    file = data_dir / TEAM_FILE
    assert json.loads(file.read_text()) == {"url": "postgresql://me@db.example.com/seatsync"}
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert locate(data_dir) == location and password(secrets, location) == "pw"

    assert use_local(data_dir, secrets).target == data_dir / "seatsync.db"
    assert not file.exists() and not secrets.has(DATABASE_PASSWORD) and not locate(data_dir).is_team


def test_the_environment_wins_over_team_json(data_dir, monkeypatch):
    use_team(data_dir, "postgresql://me@file.example.com/a", SecretStore(), None)
    monkeypatch.setenv(ENVIRONMENT, "postgresql://runner@env.example.com/b")
    assert locate(data_dir).target == "postgresql://runner@env.example.com/b"


def test_a_malformed_address_is_never_kept(data_dir):
    with pytest.raises(BadDatabaseAddress):
        use_team(data_dir, "postgresql://me@host", SecretStore(), "pw")
    assert not (data_dir / TEAM_FILE).exists() and not SecretStore().has(DATABASE_PASSWORD)


@pytest.mark.parametrize("text", ["{not json", '{"url": "sqlite:///x.db"}', '{"address": "postgresql://h/d"}'])
def test_an_unreadable_setting_is_said_and_named(data_dir, monkeypatch, text):
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    (data_dir / TEAM_FILE).write_text(text)
    with pytest.raises(TeamSettingUnreadable, match=r"team\.json"):
        locate(data_dir)


def test_no_password_is_looked_up_for_the_local_file_or_an_address_holding_one():
    secrets = SecretStore()
    secrets.set(DATABASE_PASSWORD, "kept")
    assert password(secrets, DatabaseLocation("postgresql://me@h/db")) == "kept"
    assert password(secrets, DatabaseLocation("postgresql://me:own@h/db")) is None
    assert password(SecretStore(), DatabaseLocation("/data/seatsync.db")) is None


def test_without_password_leaves_an_address_without_one_as_it_is():
    assert without_password("postgresql://me:pw@h:5432/db?sslmode=require") == "postgresql://me@h:5432/db?sslmode=require"
    assert without_password("postgresql://:pw@h/db") == "postgresql://h/db"
    assert without_password("postgresql://me@h/db") == "postgresql://me@h/db"


def test_a_team_database_set_without_a_password_forgets_the_earlier_ones(data_dir, monkeypatch):
    """libpq takes a password given to it over PGPASSWORD and ~/.pgpass: an earlier database's must not be sent."""
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    secrets = SecretStore()
    use_team(data_dir, "postgresql://me@first.example.com/a", secrets, "first's")
    location = use_team(data_dir, "postgresql://me@second.example.com/b", secrets, None)
    assert password(secrets, location) is None and not secrets.has(DATABASE_PASSWORD)
