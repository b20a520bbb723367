"""The history of configuration changes (``config_change``), newest first, for History."""

from __future__ import annotations

from datetime import datetime

from app.models.config import ConfigChange
from app.models.records import ConfigChangeRecord
from app.models.repositories._base import Repository
from app.models.repositories.versions import change_record


class ConfigChanges(Repository):
    """Configuration changes are written by the repositories that make them (versions.record_change);
    this one only reads them."""

    def query(self, *, since: datetime | None = None, until: datetime | None = None, kind: str | None = None,
              key: str | None = None, limit: int = 5000) -> list[ConfigChangeRecord]:
        """Changes at or after ``since`` and before ``until`` (of one kind, one row), newest first."""
        query = ConfigChange.select()
        if since is not None:
            query = query.where(ConfigChange.at >= since)
        if until is not None:
            query = query.where(ConfigChange.at < until)
        if kind is not None:
            query = query.where(ConfigChange.kind == kind)
        if key is not None:
            query = query.where(ConfigChange.key == key)
        return [change_record(row) for row in
                query.order_by(ConfigChange.at.desc(), ConfigChange.id.desc()).limit(limit)]
