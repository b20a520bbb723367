"""What every repository shares: the bound database and the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from peewee import Query

from app.models.database import db


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
