"""On a PSA whose line writes may be in flight together, a tenant's rows are written side by side; the journal
and the audit read as they would one after another, and an unknown outcome still stops the tenant."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import replace
from datetime import date

from app.billing.types import RowKey
from app.services.psa.port import PsaUnavailable
from app.services.sync.apply import next_row
from app.services.sync.engine import Status


def side_by_side(world) -> None:
    world.psa.capabilities = replace(world.psa.capabilities, concurrent_line_writes=True)


def test_two_rows_are_written_at_once_and_recorded_in_the_plans_order(world):
    side_by_side(world)
    tenant = world.tenant("t1")  # two rows: Business Premium and Exchange Online
    world.today[0] = date(2026, 1, 16)  # mid-period: each row writes a prorate line, then its main line
    both = threading.Barrier(2, timeout=10)  # a write of each row must be in flight before either answers
    create_line = world.psa.create_line

    def create_when_both_are_sent(line):
        both.wait()
        return create_line(line)

    world.psa.create_line = create_when_both_are_sent
    result = world.engine().sync(tenant)
    assert result.status is Status.OK, result.error
    assert len(result.go) == 4 and [op.key for op in result.applied] == [op.key for op in result.go]
    # the audit in the order the calls were sent: each row's prorate line, then each row's main line
    go = result.go
    assert [a.op_key for a in world.audits()] == [go[0].key, go[2].key, go[1].key, go[3].key]
    again = world.engine().sync(tenant)
    assert (again.status, again.applied) == (Status.OK, [])


def test_an_unknown_outcome_settles_what_was_in_flight_and_sends_nothing_more(world):
    side_by_side(world)
    tenant = world.tenant("t1")
    world.psa.fail_next("create_line", PsaUnavailable("(no answer within 30 s)", maybe_applied=True))
    result = world.engine().sync(tenant)
    assert result.status is Status.FAILED and "outcome is unknown" in result.error
    sent = [call for call, _ in world.psa.calls if call in ("create_line", "add_dated_line")]
    # The first row's first write was lost; the second row's first write was in flight beside it and is
    # recorded; neither row's next write was sent.
    assert len(sent) == 2
    assert sorted(s.value for s in world.journal_states()) == ["done", "unknown"]
    retry = world.engine().sync(tenant)  # reads the PSA, settles the unknown write, finishes the rows
    assert retry.status is Status.OK, retry.error
    assert world.engine().sync(tenant).applied == []


def rows_of(*lengths: int) -> dict:
    """Rows of ``lengths`` operations each (the operations themselves do not matter to the order)."""
    return {RowKey(tenant_id="t", sku_id=f"sku{n}"): deque(range(length)) for n, length in enumerate(lengths)}


def test_the_row_with_the_most_writes_left_goes_first_and_one_at_a_time_the_plans_order():
    rows = rows_of(2, 2, 1, 2)
    first, second, third, fourth = rows
    rows[first].popleft()  # the first row's prorate line answered: its main line is left
    assert next_row(rows, {second}, width=8) is fourth  # a row of two starts before the first row goes on
    assert next_row(rows, set(), width=8) is second  # a tie: the earlier in the plan
    assert next_row(rows, set(), width=1) is first  # one at a time: each row to its end, in the plan's order
    assert next_row(rows, {first, second, fourth}, width=8) is third
    for queue in rows.values():
        queue.clear()
    assert next_row(rows, set(), width=8) is None


def test_ten_rows_of_two_writes_eight_at_a_time_end_in_three_rounds():
    rows = rows_of(*[2] * 10)
    rounds = 0
    while any(rows.values()):
        rounds += 1
        sent: set = set()
        while len(sent) < 8 and (row := next_row(rows, sent, width=8)) is not None:
            sent.add(row)
        for row in sent:
            rows[row].popleft()
    assert rounds == 3
