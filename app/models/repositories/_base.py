"""What every repository shares: the bound database and the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

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
