"""The operation journal: begin once, conclude once, hold for a person."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import Basis, BillingOption, Operation, OpKind, RowKey
from app.models.codec import UnreadableOperation, operation_from_json, operation_to_json
from app.models.records import HeldStatus, JournalConflict, JournalState, RecordNotFound
from app.models.repositories import Journal, SyncRuns
from tests.models.factories import BP, TENANT


def _op(key: str = "op-1", quantity: int = 12) -> Operation:
    return Operation(
        key=key,
        kind=OpKind.ADD_PRORATE,
        row=RowKey(tenant_id=TENANT, sku_id=BP, subscription_id="S1", filter_key="office=leeds"),
        agreement_id="A7",
        product_id="P1",
        marker="seatsync:abc123def456",
        effective=date(2024, 5, 17),
        line_id="L-88",
        end=date(2024, 5, 31),
        quantity=quantity,
        before=10,
        unit_price=Decimal("21.00"),
        amount=Decimal("19.35"),
        description="Microsoft 365 Business Premium\n2 added",
        billing_option=BillingOption.NO_CHARGE,
        basis=Basis(purchased=12, assigned=12, unassigned=0, base=12, included=0, minimum=0,
                    period_start=date(2024, 5, 1), period_end=date(2024, 5, 31), days_held=15, days_in_period=31,
                    formula="2 x 21.00 x 15/31"),
    )


def test_the_operation_codec_round_trips():
    op = _op()
    text = operation_to_json(op)
    assert operation_from_json(text) == op
    assert json.loads(text)["amount"] == "19.35"  # money as a decimal string, never a float


@pytest.mark.parametrize("text", ["not json", "[]", '{"v": 99}', '{"v": 1, "key": "k"}'])
def test_an_unreadable_operation_is_a_typed_error(text):
    with pytest.raises(UnreadableOperation, match="could not be read back"):
        operation_from_json(text)


def test_begin_is_idempotent_and_counts_attempts(database, clock):
    journal = Journal(now=clock)
    first = journal.begin_operation(_op())
    assert (first.state, first.attempts, first.tenant_id) == (JournalState.PENDING, 1, TENANT)
    assert first.operation() == _op()
    # A crash before mark_done: the next sync begins the same key again.
    clock.advance(hours=1)
    again = journal.begin_operation(_op(quantity=99))
    assert (again.state, again.attempts, again.created_at) == (JournalState.PENDING, 2, first.created_at)
    assert again.operation() == _op()  # the journaled operation is kept
    assert [e.op_key for e in journal.pending()] == ["op-1"]
    assert journal.pending(tenant_id="someone-else") == []


def test_done_is_final(database):
    journal = Journal()
    journal.begin("op-1", {"v": 1, "amount": Decimal("1.10")})
    done = journal.mark_done("op-1", "991")
    assert (done.state, done.psa_record_id) == (JournalState.DONE, "991")
    assert journal.begin("op-1", "{}").attempts == 1  # begin on a done key changes nothing
    assert journal.get("op-1").state is JournalState.DONE and journal.pending() == []
    with pytest.raises(JournalConflict, match="op-1 is done"):
        journal.mark_failed("op-1", "late")


def test_a_failed_operation_is_retried_by_beginning_it_again(database):
    journal = Journal()
    journal.begin("op-1", "{}")
    failed = journal.mark_failed("op-1", "PSA said 400: quantity must be positive" + "!" * 5000)
    assert failed.state is JournalState.FAILED and len(failed.error) == 2000
    assert [e.op_key for e in journal.in_state(JournalState.FAILED)] == ["op-1"]
    retry = journal.begin("op-1", "{}")
    assert (retry.state, retry.attempts) == (JournalState.PENDING, 2)
    assert journal.mark_done("op-1").error == ""


def test_marking_an_unknown_key_is_a_typed_error(database):
    with pytest.raises(RecordNotFound, match="journal entry nope"):
        Journal().mark_done("nope", "1")
    assert Journal().get("nope") is None


def test_begin_refuses_a_missing_key_or_text_that_is_not_json(database):
    with pytest.raises(ValueError, match="key"):
        Journal().begin("", "{}")
    with pytest.raises(ValueError, match="not JSON"):
        Journal().begin("k", "{oops")


def test_entries_remember_their_sync_run(database):
    run = SyncRuns().start(trigger="manual")
    assert Journal().begin_operation(_op(), sync_run_id=run.id).sync_run_id == run.id


def test_a_held_operation_waits_then_approval_makes_it_pending(database, clock):
    journal = Journal(now=clock)
    held = journal.hold_operation(_op(), reason="decrease: approval policy holds decreases")
    assert (held.status, held.entry.state) == (HeldStatus.HELD, JournalState.HELD)
    assert journal.hold_operation(_op(), reason="again") == held  # idempotent
    assert journal.begin_operation(_op()).state is JournalState.HELD  # never applied while held
    assert [h.entry.op_key for h in journal.held()] == ["op-1"]
    clock.advance(minutes=5)
    approved = journal.approve("op-1", by="alice")
    assert (approved.status, approved.decided_by, approved.decided_at) == (HeldStatus.APPROVED, "alice", clock.now)
    assert approved.entry.state is JournalState.PENDING
    assert journal.held() == [] and [h.status for h in journal.held(status=None)] == [HeldStatus.APPROVED]
    assert journal.begin_operation(_op()).attempts == 1
    with pytest.raises(JournalConflict, match="approved"):
        journal.reject("op-1", by="bob")


def test_a_rejected_operation_stays_held_when_planned_again(database):
    journal = Journal()
    journal.hold("op-2", "{}", reason="cap: 40 seats on one line")
    rejected = journal.reject("op-2", by="bob")
    assert (rejected.status, rejected.entry.state) == (HeldStatus.REJECTED, JournalState.HELD)
    assert journal.hold("op-2", "{}", reason="cap").status is HeldStatus.REJECTED
    assert journal.begin("op-2", "{}").state is JournalState.HELD
    with pytest.raises(ValueError, match="who decides"):
        journal.approve("op-2", by=" ")


def test_a_pending_operation_can_be_held_but_a_done_one_cannot(database):
    journal = Journal()
    journal.begin("op-3", "{}")
    assert journal.hold("op-3", "{}", reason="cap").entry.state is JournalState.HELD
    journal.begin("op-4", "{}")
    journal.mark_done("op-4", "1")
    with pytest.raises(JournalConflict, match="already done"):
        journal.hold("op-4", "{}", reason="cap")


def test_concurrent_begins_of_one_key_make_one_entry(database):
    """Worker threads each have their own connection; the key stays unique and no attempt is lost."""
    import threading

    from app.models.database import db

    journal, errors = Journal(), []
    start = threading.Barrier(8)

    def worker() -> None:
        try:
            start.wait()
            for _ in range(5):
                journal.begin("op-race", "{}")
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert journal.get("op-race").attempts == 40
