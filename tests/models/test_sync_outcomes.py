"""Each tenant's latest sync outcome: one row per tenant, replaced by a sync, kept by a tenant not synced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import peewee
import pytest

from app.models.records import SyncOutcome, SyncOutcomeRecord
from app.models.repositories import SyncOutcomes, SyncRuns, Tenants
from tests.models import factories
from tests.models.factories import OTHER_TENANT, TENANT

T0 = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)


def outcome(tenant_id: str, status: SyncOutcome, at: datetime = T0, **values: object) -> SyncOutcomeRecord:
    return SyncOutcomeRecord(tenant_id=tenant_id, status=status, finished_at=at, **values)  # type: ignore[arg-type]


def test_a_sync_replaces_the_tenants_outcome_and_the_table_keeps_one_row_per_tenant(database):
    runs, outcomes = SyncRuns(), SyncOutcomes()
    first, second = runs.start(trigger="schedule", at=T0), runs.start(trigger="manual", at=T0 + timedelta(hours=1))
    outcomes.record([outcome(TENANT, SyncOutcome.FAILED, sync_run_id=first.id, error="consent missing"),
                     outcome(OTHER_TENANT, SyncOutcome.OK, sync_run_id=first.id, writes=3)])
    later = T0 + timedelta(hours=1)
    outcomes.record([outcome(TENANT, SyncOutcome.OK, later, sync_run_id=second.id, writes=2)])
    assert outcomes.get(TENANT) == outcome(TENANT, SyncOutcome.OK, later, sync_run_id=second.id, writes=2)
    assert outcomes.latest() == {TENANT: outcomes.get(TENANT), OTHER_TENANT: outcome(
        OTHER_TENANT, SyncOutcome.OK, sync_run_id=first.id, writes=3)}
    assert list(outcomes.latest([OTHER_TENANT])) == [OTHER_TENANT]
    assert database.execute_sql("SELECT COUNT(*) FROM tenant_sync_outcome").fetchone()[0] == 2


def test_a_tenant_not_synced_keeps_its_previous_outcome_and_is_stored_only_without_one(database):
    outcomes = SyncOutcomes()
    outcomes.record([outcome(TENANT, SyncOutcome.OK, writes=4)])
    later = T0 + timedelta(hours=1)
    outcomes.record([outcome(TENANT, SyncOutcome.NOT_SYNCED, later, error="not synced: cancelled"),
                     outcome(OTHER_TENANT, SyncOutcome.NOT_SYNCED, later, error="not synced: cancelled")])
    assert outcomes.get(TENANT) == outcome(TENANT, SyncOutcome.OK, writes=4)
    assert outcomes.get(OTHER_TENANT) == outcome(OTHER_TENANT, SyncOutcome.NOT_SYNCED, later,
                                                 error="not synced: cancelled")
    outcomes.record([outcome(OTHER_TENANT, SyncOutcome.FAILED, later, error="the PSA refused it")])
    assert outcomes.get(OTHER_TENANT).status is SyncOutcome.FAILED


def test_many_tenants_are_stored_in_batches(database):
    outcomes = SyncOutcomes()
    ids = [f"tenant-{n:04d}" for n in range(450)]
    outcomes.record([outcome(t, SyncOutcome.OK) for t in ids])
    outcomes.record([outcome(t, SyncOutcome.FAILED, error="no") for t in ids[::2]])
    latest = outcomes.latest()
    assert len(latest) == 450 and sum(o.status is SyncOutcome.FAILED for o in latest.values()) == 225


def test_an_unknown_status_or_negative_writes_are_refused(database):
    with pytest.raises(ValueError, match="is not a valid SyncOutcome"):
        SyncOutcomes().record([outcome(TENANT, "cancelled")])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        SyncOutcomes().record([outcome(TENANT, SyncOutcome.OK, writes=-1)])
    with pytest.raises(peewee.IntegrityError):
        database.execute_sql("INSERT INTO tenant_sync_outcome (tenant_id, finished_at, status, writes, error) "
                             "VALUES ('t', '2024-05-01T06:00:00Z', 'cancelled', 0, '')")


def test_removing_a_tenant_forgets_its_outcome(database):
    factories.tenant()
    SyncOutcomes().record([outcome(TENANT, SyncOutcome.FAILED, error="consent missing"),
                           outcome(OTHER_TENANT, SyncOutcome.OK)])
    Tenants().remove(TENANT)
    assert list(SyncOutcomes().latest()) == [OTHER_TENANT]
