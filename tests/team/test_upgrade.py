"""A team database behind this seatsync's schema: only its owner may upgrade it, and the others are told so."""

from __future__ import annotations

import uuid

import pytest

from app.models import close_database, current_version, latest_version, migrate, open_database
from app.models.database import postgresql_database
from app.models.schema import DatabaseNeedsUpgrade

pytestmark = pytest.mark.postgresql


def test_a_user_who_may_not_change_tables_is_told_to_ask_the_owner_and_nothing_changes(postgres_server):
    url = postgres_server.new_database(migrated=False)
    name = url.rsplit("/", 1)[1]
    older = postgresql_database(url)
    migrate(older, target=latest_version() - 1)
    older.close_all()
    user = f"u{uuid.uuid4().hex[:8]}"
    postgres_server.sql(f"CREATE ROLE {user} LOGIN")
    postgres_server.sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {user}", name)
    with pytest.raises(DatabaseNeedsUpgrade) as refused:
        open_database(postgres_server.url(name, user))
    said = refused.value.message
    assert f"needs version {latest_version()}" in said and "only the database's owner" in said
    assert "python main.py team init" in refused.value.advice
    owner = postgresql_database(url)
    try:
        assert current_version(owner) == latest_version() - 1  # the refused upgrade left nothing behind
    finally:
        owner.close_all()
    open_database(url)  # the owner upgrades it
    close_database()
