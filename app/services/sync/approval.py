"""Approval: which planned operations go now and which wait for a person.

Operations are decided row by row: a prorate or credit line and the change
of its main line go together or wait together, so the PSA never holds half
a change. A row waits when
- the policy holds it (hold all; or hold decreases and the row decreases),
- a change of seats on a line exceeds the per-line cap,
- the planner found a suspicious drop on it,
- the run already let through the per-run cap of operations,
- the row would take the run's change of what the tenant's main lines bill a
  period beyond the per-run cap of money (``period_change``),
(a cancel of another tool's line a person decided on is not weighed: the decision approved it)
unless a person approved exactly these operations (their keys).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from app.billing.operations import FindingKind, Operation, OpKind, Plan
from app.billing.types import BillingOption, RowKey
from app.services import settings
from app.services.sync.store import ApprovalRules


@dataclass(frozen=True, kw_only=True)
class Decision:
    go: tuple[Operation, ...]
    held: tuple[tuple[Operation, str], ...]  # (operation, why it waits)


def decide(plan: Plan, policy: ApprovalRules, approved: Iterable[str] = (), *, hold_all: str = "") -> Decision:
    """``hold_all``: a reason every change of this run waits for (a read only a person may trust)."""
    approved = set(approved)
    rows: dict[RowKey, list[Operation]] = {}
    for op in plan.operations:
        rows.setdefault(op.row, []).append(op)
    dropping = {(f.tenant_id, f.sku_id.lower()) for f in plan.findings if f.kind is FindingKind.SUSPICIOUS_DROP}
    go: list[Operation] = []
    held: list[tuple[Operation, str]] = []
    changed = Decimal(0)  # what the rows let through change the main lines' bill of a period by
    for row, ops in rows.items():
        reason = hold_all or _reason(row, ops, policy, dropping)
        change = period_change(ops)
        if all(op.key in approved for op in ops):  # whatever held it, or would: a person let it go
            reason = ""
        elif not reason and policy.max_operations_per_run is not None and (
                len(go) + len(ops) > policy.max_operations_per_run):
            reason = f"more than {policy.max_operations_per_run} changes in one run"
        elif not reason and policy.max_amount_per_run is not None and changed + change > policy.max_amount_per_run:
            total = changed + change
            what = f"with the run's other changes, {total}" if changed else f"a change of {total}"
            reason = f"{what} a period exceeds the cap of {policy.max_amount_per_run} per run"
        if reason:
            held.extend((op, reason) for op in ops)
        else:
            go.extend(ops)
            changed += change
    return Decision(go=tuple(go), held=tuple(held))


def period_change(ops: Iterable[Operation]) -> Decimal:
    """How much the operations change what their main lines bill a period, up or down: seats added or taken
    away, times the unit price, on billable rows (prorate and credit lines are one-off; a cancel of another
    tool's line is a person's decision)."""
    return sum((abs(op.quantity - op.before) * op.unit_price for op in ops
                if op.kind in _MAIN_CHANGES and op.billing_option is BillingOption.BILLABLE
                and not op.on_foreign_line), Decimal(0))


_MAIN_CHANGES = frozenset({OpKind.CREATE_LINE, OpKind.SET_QUANTITY, OpKind.CANCEL_LINE})


def _reason(row: RowKey, ops: list[Operation], policy: ApprovalRules, dropping: set[tuple[str, str]]) -> str:
    # The cancel of another tool's line is what a person decided (app/billing/foreign.py): never held again.
    ops = [op for op in ops if not op.on_foreign_line]
    if policy.mode is settings.ApprovalPolicy.HOLD_ALL:
        return "the approval policy holds every change"
    if policy.mode is settings.ApprovalPolicy.HOLD_DECREASES and any(op.is_decrease for op in ops):
        return "the approval policy holds decreases"
    if (row.tenant_id, row.sku_id.lower()) in dropping and any(op.is_decrease for op in ops):
        return "seats drop suspiciously"
    cap = policy.max_seats_per_line
    if cap is not None:
        for op in ops:
            if op.kind in (OpKind.CREATE_LINE, OpKind.SET_QUANTITY, OpKind.CANCEL_LINE) and abs(
                    op.quantity - op.before) > cap:
                return f"a change of {abs(op.quantity - op.before)} seats exceeds the cap of {cap} per line"
    return ""
