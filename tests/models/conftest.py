"""A fresh, migrated database per test, bound to the models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.models import close_database, open_database


@pytest.fixture
def database(database_target):
    db = open_database(database_target)
    yield db
    close_database()


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()
