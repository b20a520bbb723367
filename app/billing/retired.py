"""Retired rows: lines seatsync wrote for a row that no mapping names any more.

Removing a mapping, splitting a license into its subscriptions, merging it
back, or narrowing it to a user filter changes a tenant's rows; the row
digest in a line's marker changes with them. The line written for the old
row is retired: it stops at the end of its period (on the first day of a
period, from that day; a line not started yet, from its first day), like a
quantity falling to zero. A new row of the same license is its successor
and starts the day after the retired line stops, without a prorate line for
days the retired line already bills; seats the license gains before then
are prorated until then, by one of its successors (``plan._successions``).

Only lines the journal says seatsync created for this tenant are retired
(``Line.written_row``); a line of another tenant on the same agreement, or
one a person added, is never touched. An excluded license keeps its line:
the exclusion itself offers to cancel it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Mapping as AnyMapping
from collections.abc import Set as AbstractSet
from datetime import date, timedelta
from decimal import Decimal

from app.billing.markers import operation_key, row_key
from app.billing.operations import Basis, Operation, OpKind
from app.billing.periods import agreement_period
from app.billing.types import Agreement, Line, LineKind, Mapping

_ONE_DAY = timedelta(days=1)


def unmapped_lines(tenant_id: str, mapped: AbstractSet[str], lines: Iterable[Line], today: date) -> list[Line]:
    """Main lines written for a row of this tenant that no mapping names (``mapped``: the ``main_marker`` of
    every row its mappings name), still billing today or later."""
    return [ln for ln in lines
            if ln.kind is LineKind.MAIN and ln.written_row is not None and ln.written_row.tenant_id == tenant_id
            and not ln.ended_before(today) and row_key(ln.marker) not in mapped]


def stop_day(line: Line, agreement: Agreement, today: date) -> date:
    """The first day a retired line no longer bills (a line not started yet: its first day, so it never bills)."""
    if line.end is not None:
        return line.end + _ONE_DAY
    period = agreement_period(agreement, today)
    return line.not_before_start(today if today == period.start else period.next_start)


def retire(line: Line, agreement: Agreement, today: date) -> Operation:
    """Cancel an open retired line from its stop day."""
    assert line.written_row is not None and line.end is None
    period = agreement_period(agreement, today)
    effective = stop_day(line, agreement, today)
    key = operation_key(line.written_row.tenant_id, line.agreement_id, line.product_id, period.start, line.marker,
                        OpKind.CANCEL_LINE.value, line.quantity, 0, effective, "", line.id)
    return Operation(key=key, kind=OpKind.CANCEL_LINE, row=line.written_row, agreement_id=line.agreement_id,
                     product_id=line.product_id, marker=line.marker, effective=effective, line_id=line.id,
                     quantity=0, before=line.quantity, unit_price=line.unit_price, amount=Decimal("0.00"),
                     basis=Basis(period_start=period.start, period_end=period.end, days_in_period=period.days,
                                 formula="no mapping names this row any more: the line stops after its period"))


def successor_start(mapping: Mapping, retired: Sequence[Line], agreements: AnyMapping[str, Agreement],
                    fallback: Agreement, today: date) -> date | None:
    """The day a new row takes over from the retired lines of its license; None when none bills it."""
    sku = mapping.sku_id.lower()
    days = [stop_day(ln, agreements.get(ln.agreement_id, fallback), today) for ln in retired
            if ln.written_row is not None and ln.written_row.sku_id.lower() == sku]
    return max(days, default=None)
