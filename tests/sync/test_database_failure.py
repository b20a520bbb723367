"""seatsync's database fails in the middle of a sync (a full disk, a read-only file): a plain error, the
run ends with what was written, and the next sync settles it without writing anything twice."""

from __future__ import annotations

from datetime import date

from app.models.database import db
from app.services.sync.engine import Status, run_many
from app.services.sync.store import JournalState
from tests.sync.conftest import SPB

READ_ONLY = {
    "sqlite": ("PRAGMA query_only = ON", "PRAGMA query_only = OFF",
               "the database is read-only: check the permissions of seatsync's data folder"),
    "postgresql": ("SET default_transaction_read_only = on", "SET default_transaction_read_only = off",
                   "the team database is read-only (a standby server, or read-only for this user)"),
}


def test_a_database_that_turns_read_only_mid_sync_ends_the_run_and_the_next_sync_settles_it(db_world,
                                                                                             database_engine):
    read_only, writable, said = READ_ONLY[database_engine]
    world = db_world
    world.tenant("t1")
    world.tenant("t2")
    world.engine().sync("t1")
    world.engine().sync("t2")
    world.microsoft.seats("t1", SPB, 13)
    world.microsoft.seats("t2", SPB, 13)
    world.today[0] = date(2026, 1, 16)
    add_dated_line = world.psa.add_dated_line

    def then_read_only(line):  # the PSA takes the prorate line; then the disk refuses seatsync's journal
        created = add_dated_line(line)
        db.execute_sql(read_only)
        return created

    world.psa.add_dated_line = then_read_only
    db.connect(reuse_if_open=True)  # one connection for the run: the store works on this thread's
    try:
        results = run_many(world.engine(), ["t1", "t2"], workers=1)
    finally:
        db.execute_sql(writable)
        world.psa.add_dated_line = add_dated_line
    first, second = results
    assert first.status is Status.FAILED and first.fatal
    assert said in first.error
    assert "1 change(s) had been written to the PSA" in first.error
    assert [op.kind.value for op in first.applied] == ["add_prorate"]
    assert (second.status, second.error) == (Status.FAILED, "not synced: seatsync's database failed earlier "
                                                            "in this run")
    assert "unexpected" not in first.error
    assert JournalState.PENDING in world.journal_states()
    again = run_many(world.engine(), ["t1", "t2"], workers=1)
    assert [r.status for r in again] == [Status.OK, Status.OK]
    assert [op.kind.value for op in again[0].recovered] == ["add_prorate"]
    assert [op.kind.value for op in again[0].applied] == ["set_quantity"]  # the prorate line is not written twice
    prorates = [ln for ln in world.psa.lines() if ln.kind.value == "prorate"]
    assert len(prorates) == 2  # one per tenant
    assert JournalState.PENDING not in world.journal_states()
    assert world.engine().sync("t1").writes == 0
