"""The inventory's store says what its database failure was, as every other database failure of a sync does."""

from __future__ import annotations

import pytest
from peewee import OperationalError

from app.billing.types import TenantInventory
from app.models.database import DatabaseFailed
from app.services.providers import SnapshotStore


class LockedInventory:
    """An inventory repository whose database another program keeps locked."""

    def latest(self, tenant_id):
        raise OperationalError("database is locked")

    def keep(self, inventory, previous=None):
        raise OperationalError("database is locked")


def test_a_locked_database_is_a_database_failure_in_words_not_an_unexpected_error():
    store = SnapshotStore(LockedInventory())  # type: ignore[arg-type]
    with pytest.raises(DatabaseFailed) as saving:
        store.save_snapshot(TenantInventory(tenant_id="t1"), None)
    with pytest.raises(DatabaseFailed) as reading:
        store.latest("t1")
    assert "another program holds the database locked: close it, or wait for it" in str(saving.value)
    assert str(saving.value) == str(reading.value)
