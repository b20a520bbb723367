"""A throw-away PostgreSQL server from the machine's own binaries, for the tests and the benchmarks.

``PostgresServer.start()`` makes a cluster in a temporary folder (initdb,
trust authentication on loopback only, durability off: a test's data need
not survive a power cut) and starts it on a free port. Each test then takes
a database of its own, copied from a template migrated once
(``new_database``), in a few milliseconds.

The binaries are found on PATH, else in Debian's /usr/lib/postgresql/<n>/bin
(the postgresql package puts them there). PostgreSQL refuses to run as root:
as root, the cluster is made and run as the ``postgres`` user the package
creates.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

TEMPLATE = "seatsync_template"
SUPERUSER = "postgres"


class PostgresUnavailable(Exception):
    """No PostgreSQL server binaries here (or they cannot run): say what to install."""


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name),
                         reverse=True):
        if (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="seatsync-pg-"))
        self.port = free_port()
        self._bin = binaries()
        self._names = itertools.count(1)
        self._as_user: list[str] = []

    # -- life cycle

    def start(self) -> PostgresServer:
        if self._bin is None:
            raise PostgresUnavailable("no PostgreSQL server binaries (initdb, pg_ctl): on Debian or Ubuntu, "
                                      "apt-get install postgresql")
        if os.geteuid() == 0:
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.folder, "postgres")
        data = self.folder / "data"
        self._run(str(self._bin / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='{self.folder}' "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self._run(str(self._bin / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "server.log"), "-w",
                  "-t", "60", "-o", options, "start")
        self.sql(f"CREATE DATABASE {TEMPLATE}")
        self._migrate_template()
        return self

    def stop(self) -> None:
        if self._bin is not None and (self.folder / "data" / "postmaster.pid").exists():
            self._run(str(self._bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self._as_user, *command], capture_output=True, text=True, cwd=self.folder)
        if done.returncode != 0:
            raise PostgresUnavailable(f"{Path(command[0]).name} failed: {(done.stderr or done.stdout).strip()}")

    def _migrate_template(self) -> None:
        from app.models.database import postgresql_database
        from app.models.schema import migrate

        database = postgresql_database(self.url(TEMPLATE))
        database.connect()
        try:
            migrate(database)
        finally:
            database.close()
            database.close_all()

    # -- databases

    def url(self, name: str, user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{name}"

    def connect(self, name: str, user: str = SUPERUSER):  # type: ignore[no-untyped-def]
        return psycopg2.connect(host="127.0.0.1", port=self.port, dbname=name, user=user)

    def sql(self, statement: str, name: str = "postgres") -> list[tuple]:
        """Run one statement as the superuser (outside a transaction); its rows, if any."""
        conn = self.connect(name)
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(statement)
                return cursor.fetchall() if cursor.description else []
        finally:
            conn.close()

    def new_database(self, *, migrated: bool = True) -> str:
        """A database of its own (migrated, or empty), and its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.sql(f"CREATE DATABASE {name}" + (f" TEMPLATE {TEMPLATE}" if migrated else ""))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def wait_until(condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())
