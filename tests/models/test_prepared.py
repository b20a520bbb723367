"""Prepared statements: SQL made once per database, each run's values in the stand-ins' places."""

from __future__ import annotations

import pytest

from app.models import close_database, open_database
from app.models.connections import Tenant
from app.models.repositories._base import Prepared
from tests.models.factories import OTHER_TENANT, TENANT, tenant


def _named(builds: list[str]) -> Prepared:
    def build(tenant_id: str, name: str):
        builds.append(tenant_id)
        return Tenant.select(Tenant.tenant_id).where((Tenant.tenant_id == tenant_id) | (Tenant.name == name))
    return Prepared(build)


def test_a_prepared_statement_is_made_once_per_database_and_runs_with_each_runs_values(database, database_target,
                                                                                      tmp_path):
    tenant(TENANT, name="Contoso")
    tenant(OTHER_TENANT, name="Fabrikam")
    builds: list[str] = []
    statement = _named(builds)

    assert statement.rows(TENANT, "nobody") == [(TENANT,)]
    assert sorted(statement.rows(OTHER_TENANT, "Contoso")) == sorted([(TENANT,), (OTHER_TENANT,)])
    assert len(builds) == 1

    close_database()
    open_database(tmp_path / "other" / "seatsync.db")  # another database: its own SQL
    assert statement.rows(TENANT, "Fabrikam") == []
    assert len(builds) == 2


def test_a_value_the_query_changes_on_its_way_to_the_database_is_refused(database):
    statement = Prepared(lambda name: Tenant.select().where(Tenant.name.contains(name)))  # sent as %name%

    with pytest.raises(ValueError, match="not passed to the database as given"):
        statement.sql("Contoso")
