"""Typed business settings' storage: one row per key, the value as JSON text.

The types, defaults and validation live in app/services/settings.py.
"""

from __future__ import annotations

from peewee import CharField, TextField

from app.models.config import updated_by_field, version_field
from app.models.database import BaseModel
from app.models.fields import InstantField


class Setting(BaseModel):
    """A typed business setting (app/services/settings.py), its value as JSON."""

    key = CharField(max_length=200, primary_key=True)
    value = TextField()
    updated_at = InstantField()
    version = version_field()  # added by 0011, with updated_by
    updated_by = updated_by_field()

    class Meta:
        table_name = "setting"
