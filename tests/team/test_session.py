"""This process's own session in the team database: dropped by the server, it is opened again."""

from __future__ import annotations

import pytest

from app.models import close_database, open_database, session
from app.models.session import RUN_LOCK

pytestmark = pytest.mark.postgresql


def test_a_session_the_server_dropped_is_opened_again_and_what_it_held_is_free(postgres_server):
    url = postgres_server.new_database()
    open_database(url)
    try:
        team = session.current()
        assert team is not None and team.try_lock(RUN_LOCK)
        before = team.tag
        postgres_server.sql(f"SELECT pg_terminate_backend({team.pid})")
        assert team.ended(before)  # asked on a new session: the old one, and its lock, are gone
        assert team.tag != before
        assert team.try_lock(RUN_LOCK)
        holders = postgres_server.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted",
                                      url.rsplit("/", 1)[1])
        assert holders == [(1,)]
    finally:
        close_database()


def test_on_sqlite_there_is_no_session(tmp_path):
    open_database(tmp_path / "seatsync.db")
    try:
        assert session.current() is None
    finally:
        close_database()
