"""Approving a held change adjusted: part of it, or from a later day, never more than the planner asked.

A person approving a held change may approve less of it (a decrease of 10 → 4
approved as 10 → 6; a credit of -6 seats approved as -2) or from a later day
(a main line from the first day of a later period; a prorate or credit line
from a later day of its period). The adjusted operation keeps the planned
one's key, so the approval answers exactly the change that was held, and its
amount is worked out again by the same rules. What is not approved is planned
again by the next sync, from what the PSA then holds, and waits for its own
decision (docs/billing.md, "Approvals").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

from app.billing.operations import Operation, OpKind
from app.billing.periods import Period
from app.billing.proration import line_amount, prorated_amount
from app.billing.types import BillingOption

_MAIN = (OpKind.CREATE_LINE, OpKind.SET_QUANTITY)
_DATED = (OpKind.ADD_PRORATE, OpKind.ADD_CREDIT)


class AdjustmentRefused(ValueError):
    """The adjustment is not part of the planned change, or not on a day the change can take effect."""


def adjust(op: Operation, *, quantity: int | None = None, effective: date | None = None,
           periods: Callable[[date], Period], currency: str, by: str) -> Operation:
    """``op`` approved with ``quantity`` and/or from ``effective``; ``periods``: the agreement's billing period
    containing a day (a main line's change starts on the first day of one)."""
    if quantity is None and effective is None:
        raise AdjustmentRefused("give a quantity or a day to approve the change with")
    if op.kind not in (*_MAIN, *_DATED, OpKind.CANCEL_LINE):
        raise AdjustmentRefused(f"a {op.kind.value.replace('_', ' ')} cannot be adjusted: approve or reject it")
    day = op.effective if effective is None else effective
    if day < op.effective:
        raise AdjustmentRefused(f"the change cannot take effect before it was planned to, not before "
                                f"{op.effective.isoformat()}")
    seats = op.quantity if quantity is None else quantity
    if op.kind in _MAIN or op.kind is OpKind.CANCEL_LINE:
        if quantity is not None and (op.kind is OpKind.CANCEL_LINE
                                     or not min(op.before, op.quantity) <= seats <= max(op.before, op.quantity)):
            raise AdjustmentRefused(f"the quantity must be between {op.before} and {op.quantity} (part of the planned "
                                    "change)" if op.kind is not OpKind.CANCEL_LINE else
                                    "a cancellation's quantity cannot be adjusted, only its day")
        if day != op.effective and day != periods(day).start:
            raise AdjustmentRefused(f"a line's quantity changes on the first day of a billing period: "
                                    f"{day.isoformat()} is not one")
        amount = op.amount if op.kind is OpKind.CANCEL_LINE else (
            line_amount(seats, op.unit_price, currency) if op.billing_option is BillingOption.BILLABLE
            else op.amount)
        end = op.end
    else:
        sign = 1 if op.quantity > 0 else -1
        if not (1 <= seats * sign <= op.quantity * sign):
            raise AdjustmentRefused(f"the seats must be between {sign} and {op.quantity} (part of the planned "
                                    f"{'prorate' if sign > 0 else 'credit'})")
        period = periods(op.effective)
        if op.end is None or not (period.start <= day <= op.end):
            raise AdjustmentRefused(f"a dated line starts within the period it {'bills' if sign > 0 else 'credits'}"
                                    f" (until {op.end.isoformat() if op.end else 'its end'})")
        amount = prorated_amount(seats, op.unit_price, day, period, currency)
        end = op.end
    formula = (f"{op.basis.formula}; adjusted by {by}: {seats} from {day.isoformat()}"
               f" (planned {op.quantity} from {op.effective.isoformat()})")
    return replace(op, quantity=seats, effective=day, end=end, amount=amount,
                   basis=replace(op.basis, formula=formula))
