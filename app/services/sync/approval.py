"""Approval: which planned operations go now and which wait for a person.

Operations are decided license by license: a prorate or credit line and the
change of its main line, and the rows of one license (a retired line's
cancel and the rows that succeed it when a license is split, merged back or
narrowed to a user filter; seats moving between its subscriptions), go
together or wait together, so the PSA never holds half a change (new lines
billing beside an old one whose cancel waits). A license's operations wait
when
- the policy holds them (hold all; or hold decreases and one decreases),
- a change of seats on a line exceeds the per-line cap,
- the planner found a suspicious drop on the license and one decreases,
- the run already let through the per-run cap of operations,
- they would take the run's change of what the tenant's main lines bill a
  period beyond the per-run cap of money (``period_change``),
(a cancel of another tool's line a person decided on is not weighed: the decision approved it)
unless a person approved what held them, by key: the decreases when a
decrease held them, else every one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from app.billing.operations import FindingKind, Operation, OpKind, Plan
from app.billing.types import BillingOption
from app.services import settings
from app.services.sync.store import ApprovalRules


@dataclass(frozen=True, kw_only=True)
class Decision:
    go: tuple[Operation, ...]
    held: tuple[tuple[Operation, str], ...]  # (operation, why it waits)


def decide(plan: Plan, policy: ApprovalRules, approved: Iterable[str] = (), *, hold_all: str = "") -> Decision:
    """``hold_all``: a reason every change of this run waits for (a read only a person may trust)."""
    approved = set(approved)
    licenses: dict[tuple[str, str], list[Operation]] = {}
    for op in plan.operations:
        licenses.setdefault((op.row.tenant_id, op.row.sku_id.lower()), []).append(op)
    dropping = {(f.tenant_id, f.sku_id.lower()) for f in plan.findings if f.kind is FindingKind.SUSPICIOUS_DROP}
    go: list[Operation] = []
    held: list[tuple[Operation, str]] = []
    changed = Decimal(0)  # what the licenses let through change the main lines' bill of a period by
    for license_, ops in licenses.items():
        reason, holding = (hold_all, ops) if hold_all else _reason(license_, ops, policy, dropping)
        change = period_change(ops)
        if all(op.key in approved for op in holding):  # whatever held them, or would: a person let them go
            reason = ""
        elif not reason and policy.max_operations_per_run is not None and (
                len(go) + len(ops) > policy.max_operations_per_run):
            reason = f"more than {policy.max_operations_per_run} changes in one run"
        elif not reason and policy.max_amount_per_run is not None and changed + change > policy.max_amount_per_run:
            total = changed + change
            what = f"with the run's other changes, {total}" if changed else f"a change of {total}"
            reason = f"{what} a period exceeds the cap of {policy.max_amount_per_run} per run"
        if reason:
            # A change held only with the rest of its license says so: approving the decrease lets it go.
            holds = {op.key for op in holding}
            held.extend((op, reason if op.key in holds else f"{reason}: it goes with this license's decrease")
                        for op in ops)
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


def _reason(license_: tuple[str, str], ops: list[Operation], policy: ApprovalRules,
            dropping: set[tuple[str, str]]) -> tuple[str, list[Operation]]:
    """Why a license's operations wait ("" when nothing holds them), and the ones a person must approve."""
    weighed = ops
    # The cancel of another tool's line is what a person decided (app/billing/foreign.py): never held again.
    ops = [op for op in ops if not op.on_foreign_line]
    decreases = [op for op in ops if op.is_decrease]
    if policy.mode is settings.ApprovalPolicy.HOLD_ALL:
        return "the approval policy holds every change", weighed
    if policy.mode is settings.ApprovalPolicy.HOLD_DECREASES and decreases:
        return "the approval policy holds decreases", decreases
    if license_ in dropping and decreases:
        return "seats drop suspiciously", decreases
    cap = policy.max_seats_per_line
    if cap is not None:
        for op in ops:
            if op.kind in (OpKind.CREATE_LINE, OpKind.SET_QUANTITY, OpKind.CANCEL_LINE) and abs(
                    op.quantity - op.before) > cap:
                return f"a change of {abs(op.quantity - op.before)} seats exceeds the cap of {cap} per line", weighed
    return "", weighed
