"""A held decrease approved adjusted, end to end on each PSA (app/billing/adjust.py).

From ``synced`` (Business Premium 10 seats billed from 1 January), the
policy holds decreases; on 16 January the tenant drops to 4 seats. A person
approves 10 → 6 from February instead of 10 → 4: the sync writes 6, and the
rest (6 → 4) is planned again and held for its own decision. The PSA's
lines are read from its sandbox.
"""

from __future__ import annotations

from datetime import date

import pytest

from app.billing.operations import OpKind
from app.services.review.approvals import AdjustmentNotAllowed
from app.services.settings import ApprovalPolicy
from tests.e2e.conftest import NEXT, SPB, Tenant, approvals


def held_decrease(tenant: Tenant):
    tenant.context.settings.set_approval_policy(ApprovalPolicy.HOLD_DECREASES)
    tenant.move_to(date(2026, 1, 16))
    tenant.seats(SPB, 4)
    summary = tenant.sync()
    assert summary.writes == 0
    (op,) = [op for r in summary.results for op, _ in r.held if op.kind is OpKind.SET_QUANTITY]
    assert (op.before, op.quantity, op.effective) == (10, 4, NEXT)
    return op


def test_a_decrease_approved_in_part_writes_that_part_and_holds_the_rest_again(synced: Tenant):
    op = held_decrease(synced)
    row = synced.context.review.approve_adjusted(op.key, quantity=6, by="ana")
    assert (row.before, row.after, row.adjusted, str(row.amount)) == (10, 6, True, "132.00")
    applied = synced.sync()
    assert [(o.key, o.quantity) for r in applied.results for o in r.applied] == [(op.key, 6)]
    assert synced.main(SPB).quantity == 6
    again = synced.sync()  # the rest of the change, planned from the 6 seats the line now holds
    assert again.writes == 0
    assert [(o.kind, o.before, o.quantity) for r in again.results for o, _ in r.held] == [(OpKind.SET_QUANTITY, 6, 4)]


def test_an_adjustment_beyond_the_planned_change_is_refused_and_nothing_is_approved(synced: Tenant):
    op = held_decrease(synced)
    with pytest.raises(AdjustmentNotAllowed, match="between 10 and 4"):
        synced.context.review.approve_adjusted(op.key, quantity=2, by="ana")
    with pytest.raises(AdjustmentNotAllowed, match="first day of a billing period"):
        synced.context.review.approve_adjusted(op.key, effective=date(2026, 2, 10), by="ana")
    assert synced.context.review.held()[0].adjusted is False
    assert synced.sync().writes == 0


def test_headless_a_decrease_is_approved_from_a_later_period(synced: Tenant):
    op = held_decrease(synced)
    said = approvals(synced, "approve", op.key[:12], "--from", "2026-03-01", "--by", "ana")
    assert "Approved adjusted: Change quantity, 10 → 4 from 2026-03-01" in said
    applied = synced.sync()
    assert [(o.quantity, o.effective) for r in applied.results for o in r.applied] == [(4, date(2026, 3, 1))]
    assert synced.sync().writes == 0 and not synced.sync().held  # February bills 10, March on 4
