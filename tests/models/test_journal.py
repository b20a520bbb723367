"""The operation journal (writes attempted) and held operations (waiting for a person)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from app.billing.operations import Basis, Operation, OpKind
from app.billing.types import BillingOption, RowKey
from app.models.codec import UnreadableOperation, operation_from_json, operation_to_json
from app.models.records import HeldStatus, JournalConflict, JournalState, RecordNotFound
from app.models.repositories import Approvals, Journal, SyncRuns
from tests.models.factories import BP, OTHER_TENANT, TENANT


def _op(key: str = "op-1", quantity: int = 12, kind: OpKind = OpKind.ADD_PRORATE) -> Operation:
    return Operation(
        key=key,
        kind=kind,
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


def _write(key: str, kind: OpKind, quantity: int, *, marker: str = "seatsync:line-1", agreement: str = "A7",
           tenant: str = TENANT) -> Operation:
    return replace(_op(key, quantity, kind), marker=marker, agreement_id=agreement,
                   row=replace(_op().row, tenant_id=tenant))


def test_begin_journals_the_attempt_and_counts_attempts(database, clock):
    journal = Journal(now=clock)
    first = journal.begin(_op())
    assert (first.state, first.attempts, first.tenant_id) == (JournalState.PENDING, 1, TENANT)
    assert (first.kind, first.agreement_id, first.marker, first.quantity) == (
        "add_prorate", "A7", "seatsync:abc123def456", 12)
    assert first.operation() == _op()
    # The answer was lost; the next sync settles it, then plans the same key again.
    journal.conclude("op-1", JournalState.UNKNOWN, error="timed out")
    journal.conclude("op-1", JournalState.NOT_APPLIED)
    clock.advance(hours=1)
    again = journal.begin(_op(quantity=99))
    assert (again.state, again.attempts, again.created_at, again.error) == (
        JournalState.PENDING, 2, first.created_at, "")
    assert (again.operation(), again.quantity) == (_op(quantity=99), 99)  # the operation attempted now
    assert [e.op_key for e in journal.unsettled()] == ["op-1"]
    assert journal.unsettled(tenant_id="someone-else") == []


def test_done_is_final(database):
    journal = Journal()
    journal.begin(_op())
    done = journal.mark_done("op-1", "991")
    assert (done.state, done.psa_record_id) == (JournalState.DONE, "991")
    again = journal.begin(_op(quantity=99))  # begin on a done key changes nothing
    assert (again.state, again.attempts, again.quantity) == (JournalState.DONE, 1, 12)
    assert journal.get("op-1").state is JournalState.DONE and journal.unsettled() == []
    with pytest.raises(JournalConflict, match="op-1 is done; it cannot become failed"):
        journal.mark_failed("op-1", "late")


def test_a_failed_operation_is_retried_by_beginning_it_again(database):
    journal = Journal()
    journal.begin(_op())
    failed = journal.mark_failed("op-1", "PSA said 400: quantity must be positive" + "!" * 5000)
    assert failed.state is JournalState.FAILED and len(failed.error) == 2000
    assert [e.op_key for e in journal.in_state(JournalState.FAILED)] == ["op-1"]
    assert journal.unsettled() == []  # refused: nothing was written, nothing to settle
    retry = journal.begin(_op())
    assert (retry.state, retry.attempts) == (JournalState.PENDING, 2)
    assert journal.mark_done("op-1").error == ""


def test_an_unknown_outcome_waits_to_be_settled_by_reading_the_psa(database):
    journal = Journal()
    journal.begin(_op("op-1"))
    journal.begin(_op("op-2"))
    journal.conclude("op-1", JournalState.UNKNOWN, psa_record_id="", error="connection reset after sending")
    assert [(e.op_key, e.state) for e in journal.unsettled(TENANT)] == [
        ("op-1", JournalState.UNKNOWN), ("op-2", JournalState.PENDING)]
    with pytest.raises(JournalConflict, match="op-1 is unknown; it cannot become failed"):
        journal.mark_failed("op-1", "guessing")  # only a reading of the PSA settles it
    settled = journal.conclude("op-1", JournalState.DONE, psa_record_id="L-9")
    assert (settled.state, settled.psa_record_id, settled.error) == (JournalState.DONE, "L-9", "")
    journal.conclude("op-2", JournalState.NOT_APPLIED)
    assert journal.unsettled() == []
    with pytest.raises(JournalConflict, match="op-2 is not_applied"):
        journal.mark_done("op-2")


def test_the_quantity_last_written_is_the_latest_done_write_of_each_line(database, clock):
    journal = Journal(now=clock)
    writes = [
        _write("create", OpKind.CREATE_LINE, 10),
        _write("raise", OpKind.SET_QUANTITY, 13),
        _write("lower", OpKind.SET_QUANTITY, 12),
        _write("prorate", OpKind.ADD_PRORATE, 3, marker="seatsync:prorate", agreement="A8"),
        _write("other", OpKind.CREATE_LINE, 4, marker="seatsync:line-2", agreement="A9"),
        _write("refused", OpKind.SET_QUANTITY, 40, marker="seatsync:line-2"),
        _write("elsewhere", OpKind.CREATE_LINE, 7, marker="seatsync:line-3", agreement="B1", tenant=OTHER_TENANT),
    ]
    for op in writes:
        journal.begin(op)
        clock.advance(seconds=1)
    # Done in another order than begun: the write done last wins.
    for key in ("create", "lower", "raise", "prorate", "other", "elsewhere"):
        journal.mark_done(key, f"psa-{key}")
        clock.advance(seconds=1)
    journal.mark_failed("refused", "400")
    assert journal.last_written(TENANT) == {"seatsync:line-1": 13, "seatsync:line-2": 4}
    assert journal.known_agreements(TENANT) == {"A7", "A8", "A9"}
    assert journal.last_written(OTHER_TENANT) == {"seatsync:line-3": 7}
    assert journal.known_agreements("nobody") == set() and journal.last_written("nobody") == {}


def test_a_sync_reads_the_done_writes_in_the_order_concluded_and_the_unsettled_oldest_first(database, clock):
    journal = Journal(now=clock)
    for key in ("first", "second", "third", "lost", "sending", "refused"):
        journal.begin(_op(key))
        clock.advance(seconds=1)
    journal.begin(_write("elsewhere", OpKind.ADD_PRORATE, 12, tenant=OTHER_TENANT))
    for key in ("third", "first", "second"):  # done in another order than begun
        journal.mark_done(key, f"psa-{key}")
        clock.advance(seconds=1)
    journal.conclude("lost", JournalState.UNKNOWN, error="connection reset")  # after "sending" was begun
    journal.mark_failed("refused", "400")
    journal.mark_done("elsewhere", "psa-elsewhere")
    done, unsettled = journal.written_and_unsettled(TENANT)
    assert [(op.key, record) for op, record in done] == [
        ("third", "psa-third"), ("first", "psa-first"), ("second", "psa-second")]
    assert done[0][0] == _op("third")  # the operation itself, decoded
    assert [op.key for op in unsettled] == ["lost", "sending"]  # oldest begun first, whatever changed since
    assert journal.written_and_unsettled("nobody") == ([], [])


def test_marking_an_unknown_key_is_a_typed_error(database):
    with pytest.raises(RecordNotFound, match="journal entry nope"):
        Journal().mark_done("nope", "1")
    assert Journal().get("nope") is None


def test_begin_refuses_an_operation_without_a_key(database):
    with pytest.raises(ValueError, match="key"):
        Journal().begin(_op(""))
    with pytest.raises(ValueError, match="key"):
        Approvals().hold(_op(""), reason="cap")


def test_entries_remember_their_sync_run(database):
    run = SyncRuns().start(trigger="manual")
    journal = Journal()
    assert journal.begin(_op(), sync_run_id=run.id).sync_run_id == run.id
    assert journal.begin(_op()).sync_run_id == run.id  # an attempt without a run keeps the last one
    assert [e.op_key for e in journal.entries(TENANT)] == ["op-1"] and journal.entries("nobody") == []


def test_a_held_operation_waits_apart_from_the_journal_until_approved_and_applied(database, clock):
    approvals = Approvals(now=clock)
    held = approvals.hold(_op(), reason="decrease: approval policy holds decreases")
    assert (held.status, held.op_key, held.tenant_id, held.operation()) == (HeldStatus.HELD, "op-1", TENANT, _op())
    assert approvals.hold(_op(quantity=3), reason="again") == held  # held again: the record stays
    assert Journal().get("op-1") is None  # holding is not a write attempted
    assert [h.op_key for h in approvals.held()] == ["op-1"] and approvals.approved_keys(TENANT) == set()
    assert (approvals.count(), approvals.count(HeldStatus.APPROVED)) == (1, 0)
    clock.advance(minutes=5)
    approved = approvals.approve("op-1", by=" alice ")
    assert (approved.status, approved.decided_by, approved.decided_at) == (HeldStatus.APPROVED, "alice", clock.now)
    assert approvals.held() == [] and [h.status for h in approvals.held(status=None)] == [HeldStatus.APPROVED]
    assert (approvals.count(), approvals.count(HeldStatus.APPROVED)) == (0, 1)
    assert approvals.approved_keys(TENANT) == {"op-1"} and approvals.approved_keys(OTHER_TENANT) == set()
    approvals.after_run(TENANT, applied=["op-1"], planned=["op-1"])
    assert approvals.get("op-1").status is HeldStatus.APPLIED and approvals.approved_keys(TENANT) == set()
    with pytest.raises(JournalConflict, match="op-1 is applied; it can no longer be decided"):
        approvals.reject("op-1", by="bob")
    assert approvals.hold(_op(), reason="planned again").status is HeldStatus.APPLIED


def test_a_rejected_operation_stays_rejected_when_planned_again(database):
    approvals = Approvals()
    approvals.hold(_op("op-2"), reason="cap: 40 seats on one line")
    approvals.approve("op-2", by="ana")
    rejected = approvals.reject("op-2", by="bob")  # a decision may change until it is applied
    assert (rejected.status, rejected.decided_by) == (HeldStatus.REJECTED, "bob")
    assert approvals.hold(_op("op-2"), reason="cap").status is HeldStatus.REJECTED
    assert approvals.approved_keys(TENANT) == set()
    with pytest.raises(ValueError, match="who decides"):
        approvals.approve("op-2", by=" ")
    with pytest.raises(RecordNotFound, match="held operation nope"):
        approvals.approve("nope", by="ana")


def test_many_held_operations_are_decided_at_once_and_each_refusal_is_named(database, clock):
    approvals = Approvals(now=clock)
    held = ["waiting", "approved", "applied", "adjusted", *(f"more-{n}" for n in range(1200))]  # three IN lists
    for key in held:
        approvals.hold(_op(key), reason="hold all")
    approvals.approve("approved", by="ana")
    approvals.approve("adjusted", by="ana", adjusted=_op("adjusted", quantity=3))
    approvals.approve("applied", by="ana")
    approvals.after_run(TENANT, applied=["applied"], planned=held)
    clock.advance(minutes=5)
    keys = ["waiting", "nope", "approved", "applied", "waiting", "adjusted", *(f"more-{n}" for n in range(1200))]

    refused = approvals.decide_many(keys, approve=False, by=" bob ")

    assert {key: (type(why), str(why)) for key, why in refused.items()} == {
        "nope": (RecordNotFound, str(RecordNotFound("(held operation nope)"))),
        "applied": (JournalConflict, str(JournalConflict("(operation applied is applied; it can no longer be "
                                                         "decided)")))}
    decided = {h.op_key: h for h in approvals.held(status=HeldStatus.REJECTED)}
    assert set(decided) == {"waiting", "approved", "adjusted", *(f"more-{n}" for n in range(1200))}
    assert {(h.decided_by, h.decided_at, h.adjusted()) for h in decided.values()} == {("bob", clock.now, None)}
    assert approvals.get("applied").status is HeldStatus.APPLIED
    assert approvals.decide_many(["waiting"], approve=True, by="ana") == {}
    assert approvals.get("waiting").status is HeldStatus.APPROVED and approvals.get("more-0").status is \
        HeldStatus.REJECTED
    with pytest.raises(ValueError, match="who decides"):
        approvals.decide_many(["waiting"], approve=True, by=" ")


def test_operations_no_longer_planned_are_superseded_and_may_be_held_anew(database):
    approvals = Approvals()
    approvals.hold(_op("waiting"), reason="hold all")
    approvals.hold(_op("approved"), reason="hold all")
    approvals.approve("approved", by="ana")
    approvals.hold(_op("rejected"), reason="hold all")
    approvals.reject("rejected", by="ana")
    approvals.hold(_op("still"), reason="hold all")
    other = approvals.hold(replace(_op("theirs"), row=replace(_op().row, tenant_id=OTHER_TENANT)), reason="x")
    approvals.after_run(TENANT, applied=[], planned=["still"])
    statuses = {h.op_key: h.status for h in approvals.held(status=None)}
    assert statuses == {"waiting": HeldStatus.SUPERSEDED, "approved": HeldStatus.SUPERSEDED,
                        "rejected": HeldStatus.REJECTED, "still": HeldStatus.HELD, "theirs": HeldStatus.HELD}
    assert approvals.get("theirs") == other
    again = approvals.hold(_op("waiting", quantity=5), reason="the tenant changed back")
    assert (again.status, again.reason, again.operation().quantity, again.decided_by) == (
        HeldStatus.HELD, "the tenant changed back", 5, "")
    with pytest.raises(JournalConflict, match="superseded"):
        approvals.approve("approved", by="ana")


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
                journal.begin(_op("op-race"))
        except Exception as error:  # noqa: BLE001 - surfaced below
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
