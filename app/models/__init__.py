"""The database: peewee models, migrations and repositories (see database.py)."""

from __future__ import annotations

from app.models.database import close_database, db, open_database
from app.models.schema import DatabaseTooNew, current_version, latest_version, migrate

__all__ = ["DatabaseTooNew", "close_database", "current_version", "db", "latest_version", "migrate", "open_database"]
