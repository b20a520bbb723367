"""What every repository shares: the bound database and the clock."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from peewee import Query

from app.models.database import db

#: Values per IN (...) list: well under every database's limit on a statement's parameters.
IN_CHUNK = 500

K = TypeVar("K", bound=Hashable)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Repository:
    """Works on the database ``open_database`` bound; ``now`` is injectable for tests."""

    def __init__(self, *, now: Callable[[], datetime] = utc_now) -> None:
        self._now = now

    @staticmethod
    def atomic():
        """One transaction (a savepoint when nested)."""
        return db.atomic()


def raw_rows(query: Query) -> list[tuple[Any, ...]]:
    """The query's rows as the database's driver gives them, no value converted by peewee (which costs more
    than the query itself over tens of thousands of rows): for columns whose driver values are the values."""
    return db.execute_sql(*query.sql()).fetchall()


class Prepared:
    """A statement whose SQL peewee makes once per database, run again with other text values.

    Peewee makes a statement's SQL anew at every run: for the join that reads a tenant's latest snapshot that
    is 0.4 ms, sixty times what SQLite takes to run it, and a sync runs it for every tenant. ``build`` makes
    the query from its text parameters; it is called once per database with stand-ins, and each run puts its
    values in the stand-ins' places among the SQL's parameters. Only for text the database is given as it is
    (a ``CharField`` compared with ``==``): a value a field converts would not be found again.
    """

    def __init__(self, build: Callable[..., Query]) -> None:
        self._build = build
        self._made: tuple[Any, str, tuple[Any, ...], tuple[tuple[int, int], ...]] | None = None

    def sql(self, *values: str) -> tuple[str, list[Any]]:
        database = db.obj
        made = self._made
        if made is None or made[0] is not database:
            stand_ins = [f"\0stand-in {n}\0" for n in range(len(values))]
            sql, params = self._build(*stand_ins).sql()
            places = tuple((at, stand_ins.index(p)) for at, p in enumerate(params) if p in stand_ins)
            if {n for _, n in places} != set(range(len(values))):
                raise ValueError("a parameter of a prepared statement is not passed to the database as given")
            made = self._made = (database, sql, tuple(params), places)
        _, sql, given, places = made
        params = list(given)
        for at, n in places:
            params[at] = values[n]
        return sql, params

    def rows(self, *values: str) -> list[tuple[Any, ...]]:
        """The statement's rows for ``values``, as the driver gives them (``raw_rows``)."""
        return db.execute_sql(*self.sql(*values)).fetchall()


def in_chunks(keys: Iterable[K]) -> Iterator[list[K]]:
    """``keys``, each once and sorted, ``IN_CHUNK`` at a time: one IN (...) list each."""
    ordered: list[Any] = sorted(set(keys))
    for start in range(0, len(ordered), IN_CHUNK):
        yield ordered[start:start + IN_CHUNK]
