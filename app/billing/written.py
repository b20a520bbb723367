"""What seatsync's journal says it wrote, in the shapes the planner and the read guards need.

The journal is the one record of what seatsync wrote and never lost: the
planner reads from it what a main line billed at the start of a period
(``Line.history``) and how many writes a row has had (part of every
operation key); the read guard reads from it which lines a PSA read must
show (DESIGN §3: a read that lacks what the journal says exists is partial).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from app.billing.markers import row_key
from app.billing.operations import Operation, OpKind
from app.billing.types import MARKER_PREFIX, Line, LineKind, RowKey

#: seatsync:<row>[.<installation>], then for a dated line :<p|c><yyyymmdd>:<before>><after>[:<n>]
_MARKER = re.compile(r"seatsync:[0-9a-f]{12}(?:\.[0-9a-f]{4})?(?::[pc]\d{8}:-?\d{1,9}>-?\d{1,9}(?::\d{1,4})?)?")
_KIND_NAMES = {OpKind.CREATE_LINE: "main", OpKind.ADD_PRORATE: "prorate", OpKind.ADD_CREDIT: "credit",
               OpKind.ADOPT_LINE: "adopted"}
_CREATES = tuple(_KIND_NAMES)


@dataclass(frozen=True, kw_only=True)
class Written:
    """One operation the journal holds as done, with the id of the PSA line it wrote."""

    op: Operation
    line_id: str


@dataclass(kw_only=True)
class WriteLog:
    """A tenant's done writes, oldest first, folded for the engine."""

    #: (effective, quantity) written to each main line, by line id, in write order
    history: dict[str, tuple[tuple[date, int], ...]] = field(default_factory=dict)
    #: the quantity last written to each main line, by marker
    last_quantity: dict[str, int] = field(default_factory=dict)
    #: the row each main line was created for, by marker
    rows: dict[str, RowKey] = field(default_factory=dict)
    #: writes per row, by ``row_key``
    generations: dict[str, int] = field(default_factory=dict)
    #: lines seatsync created, unless cancelled before they billed: a read of their agreement must show them
    expected: dict[str, Written] = field(default_factory=dict)
    agreements: set[str] = field(default_factory=set)
    #: the row marker of each line seatsync adopted, by line id: a PSA that keeps no marker of seatsync's on an
    #: existing line (Autotask) still reads as the row's
    adopted: dict[str, str] = field(default_factory=dict)

    def enrich(self, line: Line) -> Line:
        """``line`` with what the journal knows of it (only lines seatsync owns, or adopted)."""
        if not line.owned:
            marker = self.adopted.get(line.id) if self.adopted else None
            if marker is None:
                return line
            line = replace(line, marker=marker)
        if line.kind is not LineKind.MAIN or line.marker not in self.last_quantity:
            return line
        return replace(line, last_written_quantity=self.last_quantity[line.marker],
                       written_row=self.rows.get(line.marker), history=self.history.get(line.id, ()))


def write_log(entries: Iterable[Written]) -> WriteLog:
    log = WriteLog()
    for w in entries:
        op = w.op
        log.agreements.add(op.agreement_id)
        if op.on_foreign_line:
            continue  # a line another tool wrote, cancelled: no row of seatsync's counts it
        row = row_key(op.marker)
        log.generations[row] = log.generations.get(row, 0) + 1
        if op.kind in (OpKind.CREATE_LINE, OpKind.SET_QUANTITY, OpKind.ADOPT_LINE):
            line_id = w.line_id or op.line_id
            log.history[line_id] = (*log.history.get(line_id, ()), (op.effective, op.quantity))
            log.last_quantity[op.marker] = op.quantity
        if op.kind in (OpKind.CREATE_LINE, OpKind.ADOPT_LINE):
            log.rows[op.marker] = op.row
        if op.kind is OpKind.ADOPT_LINE:
            log.adopted[w.line_id or op.line_id] = op.marker
        if op.kind in _CREATES and w.line_id:
            log.expected[w.line_id] = w
        elif op.kind is OpKind.CANCEL_LINE:
            created = log.expected.get(op.line_id or w.line_id)
            if created is not None and op.effective <= created.op.effective:
                del log.expected[op.line_id or w.line_id]  # cancelled before it billed: a PSA may remove it
    return log


def read_problems(lines: Sequence[Line], log: WriteLog, agreements_read: Iterable[str],
                  unsettled: Iterable[Operation] = ()) -> list[str]:
    """Why a read of these agreements cannot be the whole truth; empty when it can.

    A line seatsync wrote (and did not cancel before it billed) is missing,
    or shows up under another agreement; or a line carries a seatsync marker that does not
    parse (a field cut short or edited). A line whose cancellation is still
    unsettled (its answer was lost) may be gone: the PSA may remove a line
    cancelled before it billed.
    """
    read = set(agreements_read)
    cancelling = {op.line_id for op in unsettled if op.kind is OpKind.CANCEL_LINE}
    by_id = {line.id: line for line in lines}
    problems = []
    for line_id, w in sorted(log.expected.items()):
        if w.op.agreement_id not in read or line_id in cancelling:
            continue
        line = by_id.get(line_id)
        what = f"the {_KIND_NAMES[w.op.kind]} line {line_id} ({w.op.marker})"
        if line is None:
            problems.append(f"{what} on agreement {w.op.agreement_id} is missing from the read")
        elif line.agreement_id != w.op.agreement_id:
            problems.append(f"{what} was written to agreement {w.op.agreement_id} but is read under "
                            f"agreement {line.agreement_id}")
    for line in lines:
        if line.marker.startswith(MARKER_PREFIX) and not _MARKER.fullmatch(line.marker):
            problems.append(f"line {line.id} on agreement {line.agreement_id} carries a marker seatsync cannot "
                            f"read ({line.marker[:60]!r})")
    return problems
