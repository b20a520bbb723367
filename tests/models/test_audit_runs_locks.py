"""The audit log, sync runs and tenant locks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.models.records import RecordNotFound, RunStatus
from app.models.repositories import AuditLog, Locks, SyncRuns
from tests.models.factories import TENANT


def _write(audit: AuditLog, **values):  # type: ignore[no-untyped-def]
    base = dict(actor="sync (schedule)", tenant_id=TENANT, company_id="19", company_name="Contoso",
                agreement_id="A7", product_id="P1", action="set_quantity", before_quantity=10, after_quantity=12,
                before_amount=Decimal("210.00"), after_amount=Decimal("252.00"), reason="assigned 12",
                psa_record_id="991", op_key="op-1")
    base.update(values)
    return audit.record(**base)


def test_an_audit_entry_keeps_everything_exactly(database, clock):
    entry = _write(AuditLog(now=clock))
    assert entry.at == clock.now and entry.after_amount.as_tuple() == Decimal("252.00").as_tuple()
    assert AuditLog().query() == [entry]


def test_audit_query_filters_combine(database, clock):
    audit = AuditLog(now=clock)
    a = _write(audit)
    clock.advance(days=1)
    b = _write(audit, agreement_id="A8", product_id="P2")
    clock.advance(days=1)
    c = _write(audit, company_id="20", company_name="Fabrikam", agreement_id="B1")
    assert audit.query(company="19") == [a, b]
    assert audit.query(company="19", agreement="A8") == [b]
    assert audit.query(product="P1") == [a, c]
    assert audit.query(since=b.at) == [b, c]
    assert audit.query(until=b.at) == [a]
    assert audit.query(since=a.at, until=c.at, product="P1") == [a]
    assert audit.query(tenant="nobody") == []
    assert audit.query(limit=1) == [a]


def test_audit_refuses_float_money_and_a_missing_actor(database):
    with pytest.raises(TypeError, match="float"):
        _write(AuditLog(), after_amount=252.0)
    with pytest.raises(ValueError, match="actor"):
        _write(AuditLog(), actor="  ")


def test_a_sync_run_starts_and_finishes_with_its_counts(database, clock):
    runs = SyncRuns(now=clock)
    run = runs.start(trigger="schedule")
    assert (run.status, run.finished_at) == (RunStatus.RUNNING, None)
    assert runs.last_finished() is None
    clock.advance(minutes=3)
    done = runs.finish(run.id, status=RunStatus.PARTIAL, error="Tenant Fabrikam: consent expired",
                       operations_planned=5, operations_applied=4, operations_held=1, tenants_synced=9,
                       tenants_failed=1)
    assert (done.finished_at, done.tenants_failed, done.operations_held) == (clock.now, 1, 1)
    assert runs.get(run.id) == done == runs.last_finished(trigger="schedule")
    assert runs.last_finished(trigger="manual") is None
    later = runs.start(trigger="manual")
    assert [r.id for r in runs.recent()] == [later.id, run.id]


def test_old_runs_are_pruned_but_the_last_of_each_trigger_stays(database, clock):
    runs = SyncRuns(now=clock)
    ids = {}
    for name, trigger in (("old schedule", "schedule"), ("old manual", "manual"), ("last schedule", "schedule"),
                          ("running", "manual")):
        ids[name] = runs.start(trigger=trigger).id
        if name != "running":
            clock.advance(minutes=1)
            runs.finish(ids[name], status=RunStatus.SUCCEEDED)
    clock.advance(minutes=1)
    assert runs.prune(before=clock.now) == 1  # the old schedule: a later scheduled run is kept as the last one
    assert {r.id for r in runs.recent()} == {ids["old manual"], ids["last schedule"], ids["running"]}
    assert runs.last_finished(trigger="schedule").id == ids["last schedule"]


def test_a_run_refuses_bad_outcomes(database):
    runs = SyncRuns()
    run = runs.start(trigger="manual")
    with pytest.raises(ValueError, match="outcome"):
        runs.finish(run.id, status=RunStatus.RUNNING)
    with pytest.raises(ValueError, match="unknown run counts: bogus"):
        runs.finish(run.id, status=RunStatus.SUCCEEDED, bogus=1)
    with pytest.raises(ValueError, match="negative"):
        runs.finish(run.id, status=RunStatus.SUCCEEDED, findings=-1)
    with pytest.raises(RecordNotFound, match="sync run 999"):
        runs.get(999)


def test_one_holder_per_lock_until_it_expires(database, clock):
    locks = Locks(now=clock)
    name = f"tenant:{TENANT}"
    assert locks.acquire(name, "alice-pc", ttl_seconds=60)
    assert not locks.acquire(name, "bob-pc", ttl_seconds=60)
    assert locks.holder(name) == "alice-pc"
    clock.advance(seconds=50)
    assert locks.acquire(name, "alice-pc", ttl_seconds=60)  # renewed until t+110
    clock.advance(seconds=30)
    assert not locks.acquire(name, "bob-pc", ttl_seconds=60)
    clock.advance(seconds=31)  # alice died: her lock is stale
    assert locks.holder(name) is None
    assert locks.acquire(name, "bob-pc", ttl_seconds=60)
    assert not locks.release(name, "alice-pc")
    assert locks.release(name, "bob-pc") and locks.holder(name) is None
    with pytest.raises(ValueError, match="positive"):
        locks.acquire(name, "bob-pc", ttl_seconds=0)
