"""What a team shares beside the billing records: how each headless runner is doing.

Each ``run-scheduler`` keeps one row (named by its host and data folder) up
to date: when it started, its last heartbeat, its last run and how it went,
and its next run, so every desktop can say "runner: last sync 02:00, OK"
(docs/team.md). Added by migration 0010.
"""

from __future__ import annotations

from peewee import CharField, IntegerField, TextField

from app.models.database import BaseModel
from app.models.fields import InstantField


class RunnerStatus(BaseModel):
    name = CharField(max_length=200, primary_key=True)  # host:data folder
    host = CharField(max_length=200)
    pid = IntegerField()
    started_at = InstantField()
    heartbeat_at = InstantField()
    last_run_at = InstantField(null=True)
    last_status = CharField(max_length=16, default="")  # a RunStatus, or '' before the first run
    last_summary = TextField(default="")
    next_run_at = InstantField(null=True)

    class Meta:
        table_name = "runner_status"
