"""Moving this computer's database to a team's PostgreSQL database, once, and switching to it.

``move_to_team`` copies every table of seatsync's from the local SQLite file
into an empty team database, ids kept, and switches seatsync to it only when
the copy is proved equal. Only an empty target is supported: merging two
seatsync databases would need every id renumbered and every reference
followed, and a half-merged billing history is worse than none.

How it stays safe:

- the tables are found from the models (every model module of app/models)
  and copied parents first, in the order their foreign keys give, so a new
  table is copied without touching this module; a table in the local file
  that no model declares stops the move (it would be left behind);
- the local file is read inside one write transaction (``BEGIN IMMEDIATE``),
  so nothing changes it while it is copied: what is copied, checked and kept
  as the backup is one state;
- everything written to the team database is one transaction: the check
  that it holds no seatsync data, the copy, the sequences, the verification.
  A failure anywhere rolls it all back and the team database stays empty;
- verification compares, per table, figures read from both sides with each
  engine's own SQL: the row count, the sum of every whole-number column (ids
  and references), the sum of every money column (as Decimal: canonical text
  on SQLite, NUMERIC on PostgreSQL), the first and last of every instant and
  day, the count of every true flag and the characters of every text. One
  differing figure undoes the move and names the table and the figure;
- the switch (``use_team``) happens before the team transaction commits and
  is undone if the commit fails, so seatsync never opens a team database the
  copy did not reach, nor stays on the local file with its data half-moved.

The local file stays where it is, and a copy of it is kept beside it
(``seatsync.db.before-team-<YYYYMMDD-HHMMSS>``, private) taken with SQLite's
backup API under the same lock, so it is exactly what was moved.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from peewee import Database, DatabaseError, Field, Model, SqliteDatabase
from playhouse.pool import PooledPostgresqlDatabase

from app import paths
from app.errors import SeatsyncError
from app.models.database import (
    BaseModel,
    DatabaseFailed,
    connection_options,
    database_errors,
    postgresql_database,
    sqlite_database,
)
from app.models.schema import current_version, migrate
from app.models.session import MOVE_LOCK
from app.paths import private_file
from app.services.secrets import SecretStore
from app.services.team.location import DATABASE_PASSWORD, TEAM_FILE, DatabaseLocation, use_team

log = logging.getLogger(__name__)

#: Rows read from the local file and written to the team database at a time.
BATCH = 500
#: The table that says which migrations ran: made by ``migrate`` on both sides, never copied.
SCHEMA_TABLE = "schema_version"
_WHOLE = ("AUTO", "BIGAUTO", "INT", "BIGINT", "SMALLINT")


class MoveFailed(SeatsyncError):
    """This computer's database was not moved to the team database; both are as they were."""
    advice = "Fix what is named above and move again: the team database was left empty."


class NoLocalDatabase(MoveFailed):
    """There is no database on this computer to move"""
    advice = "Point SEATSYNC_DATA_DIR at the data folder that holds seatsync.db, or set seatsync up first."


class TeamDatabaseNotEmpty(MoveFailed):
    """The team database already holds seatsync data, and seatsync moves only into an empty one: nothing was
    copied into it"""
    advice = ("seatsync moves only into an empty database (it never merges two): give a new, empty database, "
              "or open this one as it is ('team use', or \"Use this team database\" in Settings > Team database).")


class UnknownTables(MoveFailed):
    """This computer's database holds tables or columns this seatsync does not know, so it was not moved"""
    advice = "Update seatsync to the version that wrote them, then move again."


class MoveNotVerified(MoveFailed):
    """The copy in the team database differs from this computer's database, so it was undone: the team database
    is empty again and seatsync still opens this computer's database"""
    advice = "Send the figures above to support."


@dataclass(frozen=True)
class MoveProgress:
    """How far a move is: ``copied`` of ``total`` rows, ``table`` being copied (or checked)."""

    table: str
    copied: int
    total: int
    stage: str = "copying"


@dataclass(frozen=True)
class TableReport:
    """One table moved: its rows, its money sums and how many figures agreed on both sides."""

    table: str
    rows: int
    sums: tuple[tuple[str, Decimal], ...]
    figures: int


@dataclass(frozen=True)
class MoveReport:
    tables: tuple[TableReport, ...]
    location: DatabaseLocation
    backup: Path
    seconds: float

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def figures(self) -> int:
        return sum(t.figures for t in self.tables)

    def text(self) -> str:
        """One sentence for people: what was moved, checked and kept."""
        return (f"Moved {self.rows} row(s) of {len(self.tables)} table(s) in {self.seconds:.1f} s; "
                f"{self.figures} figure(s) checked equal on both sides. From its next start seatsync opens "
                f"{self.location.describe()}; this computer's database is kept, and a copy of it at {self.backup}.")


@dataclass(frozen=True)
class TeamProbe:
    """What a connection test found: the server, and whether the database already holds seatsync's data."""

    server: str
    schema: int
    holding: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.holding

    def text(self) -> str:
        if self.empty:
            state = ("it holds no seatsync data yet: this computer's data can be moved into it" if not self.schema
                     else f"it has seatsync's tables (schema version {self.schema}) and no data yet")
        else:
            state = f"it holds seatsync data (schema version {self.schema})"
        return f"Connected to {self.server}; {state}."


# -- the tables -------------------------------------------------------------------------------------------------


def seatsync_models() -> list[type[Model]]:
    """Every table of seatsync's, each after the tables its foreign keys reference.

    Every module of app/models is imported, so a model added in a new module is found too.
    """
    package = importlib.import_module("app.models")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name != "migrations":
            importlib.import_module(f"app.models.{info.name}")
    importlib.import_module("app.models.repositories")

    def walk(cls: type[Model]) -> Iterator[type[Model]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    found = {m for m in walk(BaseModel) if m.__module__.startswith("app.models.")
             and not m.__module__.startswith("app.models.migrations")}
    ordered: list[type[Model]] = []

    def visit(model: type[Model]) -> None:
        if model in ordered:
            return
        for reference in model._meta.refs:  # the foreign keys: the tables they reference come first
            if reference.rel_model is not model:
                visit(reference.rel_model)
        if model not in ordered:
            ordered.append(model)

    for model in sorted(found, key=lambda m: m._meta.table_name):
        visit(model)
    return ordered


def _key(model: type[Model]) -> Field | None:
    key = model._meta.primary_key
    return key if isinstance(key, Field) else None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _whole(value: object) -> int:
    return int(value or 0)  # type: ignore[call-overload]


def _money(value: object) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _figure_queries(model: type[Model], sqlite: bool) -> tuple[list[tuple[str, str, Callable[[Any], object]]],
                                                                list[Field]]:
    """(figure, SQL expression, reading) for one table on one engine; and, on SQLite, the money fields
    (their sums are added up here, as Decimal: SQLite would sum the text as floats)."""
    queries: list[tuple[str, str, Callable[[Any], object]]] = [("rows", "COUNT(*)", _whole)]
    money: list[Field] = []
    for field in model._meta.sorted_fields:
        column, kind = _quote(field.column_name), field.field_type
        if kind == "MONEY":
            if sqlite:
                money.append(field)
            else:
                queries.append((f"sum of {field.column_name}", f"SUM({column})", _money))
        elif kind in ("INSTANT", "DAY"):
            queries += [(f"first {field.column_name}", f"MIN({column})", field.python_value),
                        (f"last {field.column_name}", f"MAX({column})", field.python_value)]
        elif kind == "BOOL":
            queries.append((f"{field.column_name} true", f"SUM(CASE WHEN {column} THEN 1 ELSE 0 END)", _whole))
        elif kind in _WHOLE:
            queries.append((f"sum of {field.column_name}", f"SUM({column})", _whole))
        else:
            queries.append((f"characters of {field.column_name}", f"SUM(LENGTH({column}))", _whole))
    return queries, money


def figures(database: Database, model: type[Model]) -> dict[str, object]:
    """The figures of one table that must be equal on both sides, read with the engine's own SQL."""
    table = _quote(model._meta.table_name)
    queries, money = _figure_queries(model, isinstance(database, SqliteDatabase))
    row = database.execute_sql(f"SELECT {', '.join(sql for _, sql, _ in queries)} FROM {table}").fetchone()
    found: dict[str, object] = {name: read(value) for (name, _, read), value in zip(queries, row, strict=True)}
    for field in money:
        column = _quote(field.column_name)
        cursor = database.execute_sql(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")
        found[f"sum of {field.column_name}"] = sum((_money(value) for (value,) in cursor), Decimal(0))
    return found


def money_columns(model: type[Model]) -> list[str]:
    return [f.column_name for f in model._meta.sorted_fields if f.field_type == "MONEY"]


# -- the team database ------------------------------------------------------------------------------------------


@contextmanager
def _failures() -> Iterator[None]:
    """A driver's failure as a sentence: ``DatabaseFailed`` for what ``database_errors`` knows, else ``MoveFailed``."""
    try:
        with database_errors():
            yield
    except DatabaseError as error:
        text = " ".join(str(error).split())[:300]
        raise MoveFailed(f"(the database said: {text})") from error


def needs_password(error: BaseException) -> bool:
    """Whether the server refused a connection for want of a (right) password."""
    cause = str(error.__cause__ or error).lower()
    return isinstance(error, DatabaseFailed) and ("no password supplied" in cause
                                                 or "password authentication failed" in cause)


def with_certificate_authority(url: str, ca_file: str | Path | None) -> str:
    """``url`` with ``sslrootcert`` set to ``ca_file`` (the certificate authority the server's certificate
    must come from); ``url`` as it is without one."""
    if not ca_file or not str(ca_file).strip():
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "sslrootcert"]
    query.append(("sslrootcert", str(Path(str(ca_file).strip()).expanduser())))
    return parts._replace(query=urlencode(query, safe="/:\\")).geturl()


def _holding(team: Database) -> list[str]:
    """The team database's tables (schema_version aside) that hold a row."""
    tables = [row[0] for row in team.execute_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename").fetchall()]
    return [t for t in tables if t != SCHEMA_TABLE
            and team.execute_sql(f"SELECT EXISTS (SELECT 1 FROM {_quote(t)})").fetchone()[0]]


def _close(database: Database) -> None:
    if not database.is_closed():
        database.close()
    if isinstance(database, PooledPostgresqlDatabase):
        database.close_all()


def probe(url: str, password: str | None = None) -> TeamProbe:
    """Connect to the team database at ``url`` and say what it is (nothing is written)."""
    team = postgresql_database(url, password)
    try:
        with _failures():
            team.connect()
            server = str(team.execute_sql("SHOW server_version").fetchone()[0]).split(" ")[0]
            return TeamProbe(server=f"PostgreSQL {server}", schema=current_version(team),
                             holding=tuple(_holding(team)))
    finally:
        _close(team)


# -- the move ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Setting:
    """The database setting as it was (team.json and the keyring's password), to put back if a move fails."""

    text: str | None
    password: str | None

    @classmethod
    def read(cls, data_dir: Path, secrets: SecretStore) -> _Setting:
        file = data_dir / TEAM_FILE
        return cls(file.read_text(encoding="utf-8") if file.exists() else None,
                   secrets.get(DATABASE_PASSWORD) if secrets.has(DATABASE_PASSWORD) else None)

    def restore(self, data_dir: Path, secrets: SecretStore) -> None:
        file = data_dir / TEAM_FILE
        if self.text is None:
            file.unlink(missing_ok=True)
        else:
            with open(private_file(file), "w", encoding="utf-8") as out:
                out.write(self.text)
        if self.password is None:
            secrets.delete(DATABASE_PASSWORD)
        else:
            secrets.set(DATABASE_PASSWORD, self.password)


def backup_path(data_dir: Path, at: datetime | None = None) -> Path:
    """Where the local database's copy goes: a name no earlier backup has."""
    stamp = (at or datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = data_dir / f"{paths.DATABASE_NAME}.before-team-{stamp}"
    count = 1
    while path.exists():
        count += 1
        path = data_dir / f"{paths.DATABASE_NAME}.before-team-{stamp}-{count}"
    return path


def _backup(source: Path, target: Path) -> Path:
    """A private copy of the SQLite file at ``source`` (its WAL included), by SQLite's backup API."""
    try:
        private_file(target)
        with closing(sqlite3.connect(source)) as reader, closing(sqlite3.connect(target)) as copy:
            reader.backup(copy)
    except (sqlite3.Error, OSError) as error:
        target.unlink(missing_ok=True)
        raise MoveFailed(f"(the copy of this computer's database could not be made at {target}: {error})") from None
    return target


def _undeclared(source: Database, models: list[type[Model]]) -> list[str]:
    """The tables and columns of the local file that no model declares: a copy would leave them behind."""
    declared = {m._meta.table_name: {f.column_name for f in m._meta.sorted_fields} for m in models}
    found = []
    for table in sorted(set(source.get_tables()) - {SCHEMA_TABLE}):
        if table not in declared:
            found.append(table)
        else:
            found += [f"{table}.{c.name}" for c in source.get_columns(table) if c.name not in declared[table]]
    return found


def _copy(source: Database, team: Database, model: type[Model], step: Callable[[int], None]) -> None:
    """Copy one table's rows as they are stored (ids kept), in batches; flags become booleans on the way."""
    fields = model._meta.sorted_fields
    table, columns = _quote(model._meta.table_name), ", ".join(_quote(f.column_name) for f in fields)
    flags = [f.field_type == "BOOL" for f in fields]
    key = _key(model)
    order = _quote(key.column_name) if key is not None else "1"
    cursor = source.execute_sql(f"SELECT {columns} FROM {table} ORDER BY {order}")
    one = "(" + ", ".join([team.param] * len(fields)) + ")"
    while rows := cursor.fetchmany(BATCH):
        values = [bool(v) if flag and v is not None else v for row in rows for v, flag in zip(row, flags, strict=True)]
        team.execute_sql(f"INSERT INTO {table} ({columns}) VALUES {', '.join([one] * len(rows))}", values)
        step(len(rows))


def _reset_sequence(team: Database, model: type[Model]) -> None:
    """The next id the team database gives is past every copied one."""
    key = _key(model)
    if key is None or key.field_type not in ("AUTO", "BIGAUTO"):
        return
    table, column = model._meta.table_name, key.column_name
    sequence = team.execute_sql("SELECT pg_get_serial_sequence(%s, %s)", (_quote(table), column)).fetchone()[0]
    if sequence is None:
        raise MoveFailed(f"(the team database's {table}.{column} takes no numbers from a sequence)")
    team.execute_sql(f"SELECT setval(%s, COALESCE(MAX({_quote(column)}), 0) + 1, false) FROM {_quote(table)}",
                     (sequence,))


def _verify(source: Database, team: Database, models: list[type[Model]],
            report: Callable[[str], None]) -> list[TableReport]:
    reports, differences = [], []
    for model in models:
        table = model._meta.table_name
        report(table)
        here, there = figures(source, model), figures(team, model)
        for name in here.keys() | there.keys():
            if here.get(name) != there.get(name):
                differences.append(f"{table}: {name} is {here.get(name)} here but {there.get(name)} in the team "
                                   "database")
        sums = tuple((c, _money(here.get(f"sum of {c}"))) for c in money_columns(model))
        reports.append(TableReport(table=table, rows=_whole(here["rows"]), sums=sums, figures=len(here)))
    if differences:
        more = f"; and {len(differences) - 5} more" if len(differences) > 5 else ""
        raise MoveNotVerified(f"({'; '.join(sorted(differences)[:5])}{more})")
    return reports


def move_to_team(sqlite_path: Path | str, url: str, password: str | None, secrets: SecretStore, data_dir: Path,
                 progress: Callable[[MoveProgress], None] | None = None) -> MoveReport:
    """Copy the SQLite database at ``sqlite_path`` into the empty team database at ``url``, check the copy,
    keep a copy of the local file, and switch seatsync (in ``data_dir``) to the team database.

    Raises ``MoveFailed`` (or ``DatabaseFailed``, ``DatabaseTooNew``) with the team database left empty and
    seatsync's setting as it was.
    """
    started = time.monotonic()
    path = Path(sqlite_path)
    if not path.is_file():
        raise NoLocalDatabase(f"({path} does not exist)")
    connection_options(url)  # a malformed address is refused before anything is opened
    secret = password or (unquote(urlsplit(url).password or "") or None)
    tell = progress or (lambda _: None)
    models = seatsync_models()
    source, team = sqlite_database(path), postgresql_database(url, secret)
    backup: Path | None = None
    before: _Setting | None = None
    try:
        with _failures():
            source.connect()
            migrate(source)
            unknown = _undeclared(source, models)
            if unknown:
                raise UnknownTables(f"({', '.join(unknown)})")
            team.connect()
            migrate(team)
            source.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            with source.atomic(), team.atomic():  # the local file held still; the team database all or nothing
                team.execute_sql("SELECT pg_advisory_xact_lock(%s)", (MOVE_LOCK,))
                holding = _holding(team)
                if holding:
                    raise TeamDatabaseNotEmpty(f"({', '.join(holding[:5])}{' …' if len(holding) > 5 else ''} "
                                               "hold rows)")
                counts = {m: _whole(source.execute_sql(
                    f"SELECT COUNT(*) FROM {_quote(m._meta.table_name)}").fetchone()[0]) for m in models}
                total, copied = sum(counts.values()), 0
                for model in models:
                    name = model._meta.table_name
                    tell(MoveProgress(name, copied, total))

                    def step(rows: int, name: str = name) -> None:
                        nonlocal copied
                        copied += rows
                        tell(MoveProgress(name, copied, total))

                    _copy(source, team, model, step)
                    _reset_sequence(team, model)
                tables = _verify(source, team, models, lambda t: tell(MoveProgress(t, copied, total, "checking")))
                backup = _backup(path, backup_path(data_dir))
                before = _Setting.read(data_dir, secrets)
                try:
                    location = use_team(data_dir, url, secrets, secret)
                except OSError as error:
                    raise MoveFailed(f"(the team database setting could not be written: {error})") from error
            # committed: the team database holds the copy, and seatsync opens it from the next start
            return MoveReport(tables=tuple(tables), location=location, backup=backup,
                              seconds=time.monotonic() - started)
    except BaseException:
        if before is not None:
            try:
                before.restore(data_dir, secrets)
            except (OSError, SeatsyncError):  # the failure that stopped the move is the one to report
                log.exception("the database setting in %s could not be put back after the move failed", data_dir)
        if backup is not None:
            backup.unlink(missing_ok=True)
        raise
    finally:
        _close(source)
        _close(team)
