"""Apply a plan to lines as a PSA would: the model the planner is tested against.

Used by property tests (planning against a plan's own result is empty) and
by the mapping dialog's preview of "what the PSA will hold".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from itertools import count

from app.billing.operations import OpKind, Plan
from app.billing.types import Line, LineKind


def apply_plan(lines: Iterable[Line], plan: Plan) -> tuple[Line, ...]:
    """The lines after every operation of ``plan`` took effect."""
    result = {line.id: line for line in lines}
    fresh = (f"new-{n}" for n in count(len(result) + 1) if f"new-{n}" not in result)
    by_marker = {line.marker: line.id for line in result.values() if line.owned and line.end is None}
    for op in plan.operations:
        if op.kind is OpKind.CREATE_LINE:
            new = Line(id=next(fresh), agreement_id=op.agreement_id, product_id=op.product_id,
                       kind=LineKind.MAIN, quantity=op.quantity, unit_price=op.unit_price, start=op.effective,
                       description=op.description, marker=op.marker, last_written_quantity=op.quantity,
                       written_row=op.row, history=((op.effective, op.quantity),))
            result[new.id] = new
            by_marker[op.marker] = new.id
        elif op.kind in (OpKind.ADD_PRORATE, OpKind.ADD_CREDIT):
            kind = LineKind.PRORATE if op.kind is OpKind.ADD_PRORATE else LineKind.CREDIT
            new = Line(id=next(fresh), agreement_id=op.agreement_id, product_id=op.product_id,
                       kind=kind, quantity=op.quantity, unit_price=op.unit_price, start=op.effective, end=op.end,
                       description=op.description, marker=op.marker, amount=op.amount)
            result[new.id] = new
        else:
            line_id = op.line_id or by_marker[op.marker]
            line = result[line_id]
            if op.kind is OpKind.SET_QUANTITY:
                known = line.history or ((line.start or date.min, line.quantity_on(date.min)),)
                result[line_id] = replace(line, quantity=op.quantity, last_written_quantity=op.quantity,
                                          history=(*known, (op.effective, op.quantity)))
            elif op.kind is OpKind.CANCEL_LINE:
                result[line_id] = replace(line, end=op.effective - timedelta(days=1))
            elif op.kind is OpKind.UPDATE_DESCRIPTION:
                result[line_id] = replace(line, description=op.description)
            elif op.kind is OpKind.ADOPT_LINE:
                result[line_id] = replace(line, marker=op.marker, last_written_quantity=op.quantity,
                                          written_row=op.row, history=((op.effective, op.quantity),))
                by_marker[op.marker] = line_id
    return tuple(result.values())
