"""How each headless runner (``run-scheduler``) is doing, for every desktop of a team to show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.models.repositories._base import Repository
from app.models.team import RunnerStatus


@dataclass(frozen=True, kw_only=True)
class RunnerRecord:
    name: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    last_run_at: datetime | None
    last_status: str  # a RunStatus value, or '' before its first run
    last_summary: str
    next_run_at: datetime | None


class Runners(Repository):
    def beat(self, name: str, *, host: str, pid: int, started_at: datetime, next_run_at: datetime | None) -> None:
        """The runner ``name`` is alive now (made at its start, refreshed every minute)."""
        now = self._now()
        values = {"host": host, "pid": pid, "started_at": started_at, "heartbeat_at": now,
                  "next_run_at": next_run_at}
        with self.atomic():
            if not RunnerStatus.update(**values).where(RunnerStatus.name == name).execute():
                RunnerStatus.insert(name=name, **values).execute()

    def ran(self, name: str, *, at: datetime, status: str, summary: str, next_run_at: datetime | None) -> None:
        """The runner ``name`` finished a run."""
        RunnerStatus.update(last_run_at=at, last_status=status, last_summary=summary[:2000], heartbeat_at=self._now(),
                            next_run_at=next_run_at).where(RunnerStatus.name == name).execute()

    def all(self) -> list[RunnerRecord]:
        """Every runner that has reported, the latest heartbeat first."""
        return [RunnerRecord(name=r.name, host=r.host, pid=r.pid, started_at=r.started_at, heartbeat_at=r.heartbeat_at,
                             last_run_at=r.last_run_at, last_status=r.last_status, last_summary=r.last_summary,
                             next_run_at=r.next_run_at)
                for r in RunnerStatus.select().order_by(RunnerStatus.heartbeat_at.desc())]
