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


def in_chunks(keys: Iterable[K]) -> Iterator[list[K]]:
    """``keys``, each once and sorted, ``IN_CHUNK`` at a time: one IN (...) list each."""
    ordered: list[Any] = sorted(set(keys))
    for start in range(0, len(ordered), IN_CHUNK):
        yield ordered[start:start + IN_CHUNK]
