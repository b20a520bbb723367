"""Each tenant's latest findings: replaced per tenant by the sync that learns them, kept for every other tenant."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.billing.operations import Finding, FindingKind
from app.models.repositories import SyncRuns, TenantFindings
from tests.models.factories import BP, E3, OTHER_TENANT, TENANT

T0 = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
INACTIVE = Finding(kind=FindingKind.INACTIVE_AGREEMENT, tenant_id=TENANT, sku_id=BP, agreement_id="A1",
                   message="agreement Contoso - Old 365 is inactive")
FOREIGN = Finding(kind=FindingKind.FOREIGN_LINE, tenant_id=TENANT, sku_id=E3, agreement_id="A1", line_id="L7",
                  message="a CloudConsole line bills Microsoft 365 E3 × 5")
NOT_ALLOWED = Finding(kind=FindingKind.AGREEMENT_TYPE_NOT_ALLOWED, tenant_id=OTHER_TENANT, sku_id=BP,
                      agreement_id="A2", message="billing profile BP may not be used on 'Block Hours'")


def count(database) -> int:
    return database.execute_sql("SELECT COUNT(*) FROM tenant_finding").fetchone()[0]


def test_a_sync_replaces_the_findings_of_the_tenants_it_names_and_no_other(database):
    findings, run = TenantFindings(), SyncRuns().start(trigger="manual", at=T0)
    findings.replace({TENANT: [FOREIGN, INACTIVE, FOREIGN], OTHER_TENANT: [NOT_ALLOWED]}, at=T0, sync_run_id=run.id)
    assert findings.latest() == {TENANT: (FOREIGN, INACTIVE), OTHER_TENANT: (NOT_ALLOWED,)}  # as found, each once
    assert findings.latest([OTHER_TENANT]) == {OTHER_TENANT: (NOT_ALLOWED,)}
    assert findings.latest([]) == {}

    findings.replace({TENANT: [INACTIVE]}, at=T0 + timedelta(hours=1))
    assert findings.latest() == {TENANT: (INACTIVE,), OTHER_TENANT: (NOT_ALLOWED,)}
    findings.replace({OTHER_TENANT: []}, at=T0 + timedelta(hours=2))  # synced clean: none left
    assert findings.latest() == {TENANT: (INACTIVE,)}
    assert count(database) == 1


def test_a_finding_is_stored_as_the_tenant_it_is_given_for(database):
    TenantFindings().replace({OTHER_TENANT: [INACTIVE]}, at=T0)
    assert TenantFindings().latest() == {OTHER_TENANT: (replace(INACTIVE, tenant_id=OTHER_TENANT),)}


def test_removing_the_run_keeps_its_findings(database):
    runs = SyncRuns()
    run = runs.start(trigger="schedule", at=T0)
    runs.finish(run.id, status="succeeded", at=T0 + timedelta(minutes=1))
    TenantFindings().replace({TENANT: [INACTIVE]}, at=T0, sync_run_id=run.id)
    database.execute_sql("DELETE FROM sync_run")
    assert TenantFindings().latest() == {TENANT: (INACTIVE,)}
    assert database.execute_sql("SELECT sync_run_id FROM tenant_finding").fetchall() == [(None,)]


def test_many_tenants_and_findings_are_stored_in_batches(database):
    findings = TenantFindings()
    ids = [f"tenant-{n:04d}" for n in range(1200)]
    findings.replace({t: [replace(INACTIVE, tenant_id=t), replace(FOREIGN, tenant_id=t)] for t in ids}, at=T0)
    findings.replace({t: [] for t in ids[::2]}, at=T0 + timedelta(hours=1))
    latest = findings.latest()
    assert len(latest) == 600 and set(latest) == set(ids[1::2]) and count(database) == 1200


def test_a_kind_this_version_does_not_know_is_left_out(database):
    TenantFindings().replace({TENANT: [INACTIVE]}, at=T0)
    p = database.param  # "?" on SQLite, "%s" on PostgreSQL
    database.execute_sql("INSERT INTO tenant_finding (tenant_id, found_at, kind, sku_id, agreement_id, line_id, "
                         f"message) VALUES ({p}, {p}, 'kind_of_a_newer_version', '', '', '', 'new')",
                         (TENANT, T0.isoformat()))
    assert TenantFindings().latest() == {TENANT: (INACTIVE,)}


@pytest.mark.parametrize("database_engine", [pytest.param("postgresql", marks=pytest.mark.postgresql)])
def test_on_postgresql_a_change_of_findings_is_announced_to_the_other_desktops(database):
    triggers = database.execute_sql("SELECT tgname FROM pg_trigger WHERE tgrelid = 'tenant_finding'::regclass "
                                    "AND NOT tgisinternal").fetchall()
    assert triggers == [("seatsync_changed",)]
