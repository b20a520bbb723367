"""This process's own session in a team's PostgreSQL database: who it is, and the locks it holds.

The pooled connections a unit of work borrows come and go; this one
connection stays open while seatsync runs. PostgreSQL ends a session when
its process ends (at once when the process is killed; within about a
minute when its computer loses power, by the TCP keepalives set here), so
what the session holds dies with its holder:

- session advisory locks: the one sync run at a time across every desktop
  and the runner (``try_lock``/``unlock``);
- the tenant leases of ``sync_lock`` name this session (``tag``): another
  process takes a lease over at once when the session that took it has
  ended (``ended``), instead of waiting for it to expire.

On SQLite there is no such session: ``current()`` is None and the file's
locks serve (one desktop owns its file).
"""

from __future__ import annotations

import re
import threading
from typing import Any

import psycopg2
from peewee import Database

from app.models.database import database_errors

_TAG = re.compile(r"pg(\d+)\.(\d+)$")

#: The PostgreSQL advisory locks seatsync takes in a team database, each with a key of its own.
MIGRATION_LOCK = 0x5EA75_0001  # two desktops upgrading the schema at once (app/models/schema.py)
RUN_LOCK = 0x5EA75_0002  # one sync run at a time (app/services/team/syncer.py)
MOVE_LOCK = 0x5EA75_0003  # one move into a team database at a time (app/services/team/move.py)


class TeamSession:
    """The session; when the server drops it (a restart), the next use opens a new one, under a new tag:
    what the old one held is free for everyone, this process included."""

    def __init__(self, connect: Any) -> None:
        self._lock = threading.Lock()
        #: Opens another connection of this process's own to the same database (the live updates' listener).
        self.connect = connect
        self._conn: Any = None
        with self._lock:
            self._open()

    def _open(self) -> None:
        with database_errors():
            self._conn = self.connect()
            self._conn.autocommit = True
            with self._conn.cursor() as cursor:
                cursor.execute(
                    "SET tcp_keepalives_idle = 20; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3; "
                    "SELECT pg_backend_pid(), (extract(epoch FROM backend_start) * 1000000)::bigint "
                    "FROM pg_stat_activity WHERE pid = pg_backend_pid()")
                self.pid, started = cursor.fetchone()
        #: Names this session in a tenant lease's owner: its backend and when that backend started
        #: (a pid alone may be reused by a later session).
        self.tag = f"pg{self.pid}.{started}"

    def _one(self, sql: str, params: tuple[object, ...] = ()) -> tuple[Any, ...]:
        """One statement's first row; a session the server dropped is opened again and the statement sent
        once more (what the old session held went with it, so nothing is taken twice)."""
        with self._lock, database_errors():
            for again in (False, True):
                if self._conn.closed:
                    self._open()
                try:
                    with self._conn.cursor() as cursor:
                        cursor.execute(sql, params)
                        return tuple(cursor.fetchone() or ())
                except (psycopg2.OperationalError, psycopg2.InterfaceError):
                    if again or not self._conn.closed:
                        raise
            raise AssertionError("unreachable")

    def try_lock(self, key: int) -> bool:
        """Take session advisory lock ``key`` unless another session holds it (this one may take it twice)."""
        return bool(self._one("SELECT pg_try_advisory_lock(%s)", (key,))[0])

    def unlock(self, key: int) -> None:
        self._one("SELECT pg_advisory_unlock(%s)", (key,))

    def ended(self, owner: str) -> bool:
        """Whether ``owner`` (a lease owner ending in a session's tag) names a session that has ended."""
        match = _TAG.search(owner)
        if match is None:
            return False
        pid, started = int(match[1]), int(match[2])
        alive = self._one("SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND "
                          "(extract(epoch FROM backend_start) * 1000000)::bigint = %s", (pid, started))
        return not alive[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


_current: TeamSession | None = None


def current() -> TeamSession | None:
    """This process's session in the open team database (None on SQLite or when none is open)."""
    return _current


def begin(database: Database) -> TeamSession:
    """This process's session in ``database`` (a team's PostgreSQL database, already connected once)."""
    global _current
    end()
    _current = TeamSession(lambda: psycopg2.connect(dbname=database.database, **database.connect_params))
    return _current


def end() -> None:
    global _current
    if _current is not None:
        _current.close()
        _current = None
