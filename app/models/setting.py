"""Typed business settings' storage: one row per key, the value as JSON text.

The types, defaults and validation live in app/services/settings.py.
"""

from __future__ import annotations

from peewee import CharField, TextField

from app.models.database import BaseModel
from app.models.fields import InstantField


class Setting(BaseModel):
    """A typed business setting (app/services/settings.py), its value as JSON."""

    key = CharField(max_length=200, primary_key=True)
    value = TextField()
    updated_at = InstantField()

    class Meta:
        table_name = "setting"
