"""Shared fixtures: offscreen Qt, an in-memory keyring, a fresh data directory."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
import pytest

from app.services.secrets import MemoryKeyring


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A fresh per-test data directory (SEATSYNC_DATA_DIR points the app at it)."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("SEATSYNC_DATA_DIR", str(path))
    return path


@pytest.fixture
def ctx(data_dir):
    """seatsync's services over a fresh data directory, closed after the test."""
    from app.bootstrap import open_context

    context = open_context(data_dir)
    yield context
    context.close()


# -- the database engines: every test that asks for ``database_target`` runs on SQLite and on PostgreSQL


def pytest_report_header(config) -> str:
    from tests.postgres import binaries

    found = binaries()
    return (f"databases: SQLite, and PostgreSQL from {found}" if found else
            "databases: SQLite only: no PostgreSQL server binaries here, so the runs on PostgreSQL are SKIPPED "
            "(apt-get install postgresql)")


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL server for the session (tests/postgres.py), or a skip that says why.

    Under CI (CI=true) a missing PostgreSQL is a failure, not a skip: .ci/run installs it.
    """
    from tests.postgres import PostgresServer, PostgresUnavailable

    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable as error:
        server.stop()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is needed under CI: {error}")
        pytest.skip(f"the runs on PostgreSQL are skipped: {error}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_engine(request) -> str:
    return request.param


@pytest.fixture
def database_target(database_engine, tmp_path, monkeypatch, request):
    """This test's database: a SQLite file, or a database of its own on the session's PostgreSQL server
    (``SEATSYNC_DATABASE_URL`` then points ``open_context`` at it too)."""
    if database_engine == "sqlite":
        return tmp_path / "data" / "seatsync.db"
    from app.services.team.location import ENVIRONMENT

    url = request.getfixturevalue("postgres_server").new_database()
    monkeypatch.setenv(ENVIRONMENT, url)
    return url
