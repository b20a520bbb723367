"""Apply: each operation journaled before its PSA call and settled after.

Exactly once (DESIGN §3): an operation whose call failed in a way that may
have applied it (a lost response, a timeout after sending, a crash) stays
``unknown``/``pending`` in the journal. Before anything else, the next run
reads the PSA and settles it: applied (then it is audited) or not applied
(then the fresh plan decides again). Nothing is ever re-sent blindly.
"""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from app.billing.operations import Operation, OpKind
from app.billing.proration import line_amount
from app.billing.types import BillingOption, Line, LineKind, RowKey
from app.models.database import DatabaseFailed
from app.services.psa.port import NewLine, PsaError, PsaPort, PsaUnavailable
from app.services.sync.store import AuditEntry, JournalState, SyncStore

#: The most rows of one tenant written at once, on a PSA whose line writes may be in flight together (and no
#: more than the PSA takes at once).
ROWS_AT_ONCE = 8


def next_row(rows: dict[RowKey, deque[Operation]], unavailable: set[RowKey], width: int) -> RowKey | None:
    """The row whose next operation is sent now, among those with operations left and not ``unavailable``
    (in flight, or stopped by a refused write): the one with the most left, the earliest in the plan on a
    tie; one at a time (``width`` 1), the rows in the plan's order, each to its end."""
    best, most = None, 0
    for row, queue in rows.items():
        if queue and row not in unavailable:
            if width == 1:
                return row
            if len(queue) > most:
                best, most = row, len(queue)
    return best


class TenantAborted(Exception):
    """A write's outcome is unknown: stop this tenant until the PSA is read again."""


@dataclass
class ApplyResult:
    applied: list[Operation] = field(default_factory=list)
    failed: list[tuple[Operation, str]] = field(default_factory=list)
    recovered: list[Operation] = field(default_factory=list)
    #: What the PSA accepted, recorded in the journal or not (a database that failed after the call).
    written: list[Operation] = field(default_factory=list)


def is_applied(op: Operation, lines: Iterable[Line]) -> tuple[bool, str]:
    """Whether the PSA's lines already show ``op``'s effect, and the line's id."""
    lines = list(lines)
    if op.kind in (OpKind.CREATE_LINE, OpKind.ADD_PRORATE, OpKind.ADD_CREDIT):
        for line in lines:
            if line.marker == op.marker and (op.kind is not OpKind.CREATE_LINE or line.end is None):
                return True, line.id
        return False, ""
    shown = next((ln for ln in lines if ln.id == op.line_id), None)
    if shown is None:
        # A cancelled line that never billed may be removed by the PSA.
        return op.kind is OpKind.CANCEL_LINE, op.line_id
    if op.kind is OpKind.SET_QUANTITY:
        return shown.quantity == op.quantity, shown.id
    if op.kind is OpKind.ADOPT_LINE:
        return shown.marker == op.marker, shown.id
    if op.kind is OpKind.CANCEL_LINE:
        return shown.end is not None and shown.end <= op.effective - timedelta(days=1), shown.id
    return shown.description == op.description, shown.id


class Applier:
    """Writes one tenant's operations through the PSA port."""

    def __init__(self, psa: PsaPort, store: SyncStore, *, tenant_id: str, company: str, actor: str,
                 now: Callable[[], datetime]) -> None:
        self.psa = psa
        self.store = store
        self.tenant_id = tenant_id
        self.company = company
        self.actor = actor
        self.now = now

    def settle(self, lines: list[Line], unsettled: Iterable[Operation]) -> list[Operation]:
        """Settle ``unsettled`` (the journal's entries left pending or unknown) by what the PSA shows."""
        recovered = []
        for op in unsettled:
            applied, line_id = is_applied(op, lines)
            if applied:
                self.store.journal_set(op.key, JournalState.DONE, psa_id=line_id)
                self._audit(op, line_id, "recovered: the PSA shows this change, whose answer was lost")
                recovered.append(op)
            else:
                self.store.journal_set(op.key, JournalState.NOT_APPLIED)
        return recovered

    def apply(self, ops: Iterable[Operation], lines: list[Line]) -> ApplyResult:
        """Apply ``ops`` in order. A refused operation skips the rest of its row."""
        result = ApplyResult()
        by_id = {line.id: line for line in lines}
        by_marker = {line.marker: line for line in lines if line.owned and line.kind is LineKind.MAIN
                     and line.end is None}
        broken_rows: set[RowKey] = set()
        try:
            self._apply(ops, by_id, by_marker, broken_rows, result)
        except DatabaseFailed as error:
            # The PSA may hold writes the journal could not record: the next run settles them.
            error.written = result.written  # type: ignore[attr-defined]
            raise
        return result

    def _apply(self, ops: Iterable[Operation], by_id: dict[str, Line], by_marker: dict[str, Line],
               broken_rows: set[RowKey], result: ApplyResult) -> None:
        """Each row's operations in order; rows side by side where the PSA allows (``ROWS_AT_ONCE``), the row
        with the most operations left sent first (the longest chain starts first, so the writes end in the
        fewest round trips: ten rows of a prorate and a main line, eight at a time, take three, not four).

        Only the PSA calls leave this thread: the journal entry is begun before its call is sent and settled
        after it came back, here, in the order the calls were sent, so the journal and the audit read the
        same whichever call answered first; the result lists them in the plan's order. An unknown outcome
        sends nothing further; the calls in flight are settled, then the tenant stops.
        """
        rows: dict[RowKey, deque[Operation]] = {}
        order: dict[str, int] = {}
        for op in ops:
            rows.setdefault(op.row, deque()).append(op)
            order.setdefault(op.key, len(order))
        width = min(ROWS_AT_ONCE, self.psa.concurrency) if self.psa.capabilities.concurrent_line_writes else 1
        busy: set[RowKey] = set()  # rows with a write in flight
        in_flight: deque[tuple[Operation, Future[Line]]] = deque()
        unknown: PsaUnavailable | None = None  # the first write whose outcome is unknown
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="psa-write") as pool:

            def call(op: Operation) -> Future[Line]:
                if width > 1:
                    return pool.submit(contextvars.copy_context().run, self._execute, op, by_id, by_marker)
                answered: Future[Line] = Future()  # one at a time: on this thread
                try:
                    answered.set_result(self._execute(op, by_id, by_marker))
                except Exception as error:  # noqa: BLE001 - raised where the answer is read, as from a thread
                    answered.set_exception(error)
                return answered

            def send(row: RowKey) -> None:  # the row's next operation, journaled first
                queue = rows[row]
                while queue:
                    op = queue.popleft()
                    if self.store.journal_begin(self.tenant_id, op):
                        busy.add(row)
                        in_flight.append((op, call(op)))
                        return

            def fill() -> None:
                while len(in_flight) < width and unknown is None and (row := next_row(rows, busy | broken_rows,
                                                                                      width)) is not None:
                    send(row)

            fill()
            while in_flight:
                op, sent = in_flight.popleft()
                try:
                    line = sent.result()
                except PsaUnavailable as error:
                    state = JournalState.UNKNOWN if error.maybe_applied else JournalState.FAILED
                    self.store.journal_set(op.key, state, error=str(error))
                    unknown = unknown or error
                    continue
                except PsaError as error:
                    self.store.journal_set(op.key, JournalState.FAILED, error=str(error))
                    result.failed.append((op, str(error)))
                    broken_rows.add(op.row)
                else:
                    result.written.append(op)
                    self.store.journal_set(op.key, JournalState.DONE, psa_id=line.id)
                    self._audit(op, line.id, op.basis.formula or op.kind.value)
                    by_id[line.id] = line
                    if line.kind is LineKind.MAIN:
                        by_marker[line.marker] = line
                    result.applied.append(op)
                busy.discard(op.row)
                if unknown is None:
                    fill()
        # What was applied or refused, in the plan's order (rows side by side answer in any order).
        result.applied.sort(key=lambda op: order[op.key])
        result.written.sort(key=lambda op: order[op.key])
        result.failed.sort(key=lambda failed: order[failed[0].key])
        if unknown is not None:
            raise TenantAborted(str(unknown)) from unknown

    def _execute(self, op: Operation, by_id: dict[str, Line], by_marker: dict[str, Line]) -> Line:
        if op.kind is OpKind.CREATE_LINE:
            return self.psa.create_line(self._new_line(op, LineKind.MAIN))
        if op.kind in (OpKind.ADD_PRORATE, OpKind.ADD_CREDIT):
            kind = LineKind.PRORATE if op.kind is OpKind.ADD_PRORATE else LineKind.CREDIT
            return self.psa.add_dated_line(self._new_line(op, kind))
        line = by_id.get(op.line_id) or by_marker.get(op.marker)
        if line is None:
            raise PsaError(f"line {op.line_id or op.marker} is no longer in the PSA")
        if op.kind is OpKind.SET_QUANTITY:
            return self.psa.set_quantity(line, op.quantity, op.effective)
        if op.kind is OpKind.CANCEL_LINE:
            return self.psa.cancel_line(line, op.effective)
        if op.kind is OpKind.ADOPT_LINE:
            if not self.psa.capabilities.writes_markers:
                return replace(line, marker=op.marker)  # the journal's done entry is the adoption
            return self.psa.set_marker(line, op.marker)
        return self.psa.update_description(line, op.description)

    @staticmethod
    def _new_line(op: Operation, kind: LineKind) -> NewLine:
        return NewLine(agreement_id=op.agreement_id, product_id=op.product_id, kind=kind, quantity=op.quantity,
                       unit_price=op.unit_price, start=op.effective, end=op.end, description=op.description,
                       marker=op.marker, billing_option=op.billing_option,
                       amount=op.amount if kind is not LineKind.MAIN else None)

    def _audit(self, op: Operation, psa_id: str, reason: str) -> None:
        dated = op.kind in (OpKind.ADD_PRORATE, OpKind.ADD_CREDIT)
        billable = op.billing_option is BillingOption.BILLABLE
        before_amount = line_amount(op.before, op.unit_price) if billable and not dated else Decimal("0.00")
        after_amount = before_amount if op.kind is OpKind.UPDATE_DESCRIPTION else op.amount
        self.store.audit(AuditEntry(
            at=self.now(), actor=self.actor, tenant_id=self.tenant_id, company=self.company,
            agreement_id=op.agreement_id, product_id=op.product_id, operation=op.kind.value,
            before_quantity=0 if dated else op.before, after_quantity=op.quantity, before_amount=before_amount,
            after_amount=after_amount, reason=reason, psa_record_id=psa_id, op_key=op.key))

