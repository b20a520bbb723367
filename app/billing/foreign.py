"""Foreign lines: lines seatsync does not own that bill a mapped row's product on its agreement.

An MSP moving from another tool (CloudConsole, ConnectWise Unite, a Pax8
or Sherweb sync, lines added by hand, another seatsync) has lines on its
agreements already. Writing seatsync's line beside one bills the seats
twice, so a row whose agreement holds a foreign line of its product is
held (finding ``FOREIGN_LINE``) until a person decides, per line:

- **adopt**: seatsync takes the line over. Its marker is set (the PSA's
  reference field: ConnectWise serialNumber, ...), nothing else; the line
  bills what it billed for the period it was adopted in, without a prorate
  or credit, and its quantity is corrected from the next period.
- **cancel**: the line stops billing after its ``last_day`` (by default the
  day before seatsync's line of the row starts); a row seatsync has not
  written yet starts the day after, so no day is billed twice or missed.
- **ignore**: seatsync bills beside it, on purpose; the decision is
  remembered and the row is planned as if the line were not there.

Decisions are values the planner is given (``plan(..., decisions=...)``),
keyed by the PSA's line id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.billing.periods import agreement_period
from app.billing.types import Agreement, Line, LineKind

_ONE_DAY = timedelta(days=1)


class ForeignAction(StrEnum):
    ADOPT = "adopt"
    CANCEL = "cancel"
    IGNORE = "ignore"


@dataclass(frozen=True, kw_only=True)
class ForeignDecision:
    """A person's decision about one foreign line (``line_id``, the PSA's id)."""

    line_id: str
    action: ForeignAction
    #: The day it was decided: an adopted line bills unchanged through the period containing it.
    decided_on: date
    #: cancel: the line's last billed day.
    last_day: date | None = None

    def __post_init__(self) -> None:
        if self.action is ForeignAction.CANCEL and self.last_day is None:
            raise ValueError("a cancel decision needs the line's last billed day")


def default_last_day(agreement: Agreement, own_lines: Iterable[Line], today: date) -> date:
    """The day before seatsync's line of the row starts: its open main line's start when it has one
    (never before today), else the end of the agreement's current period (a new row's main line starts
    with the next period, so the foreign line bills the period it was invoiced for)."""
    starts = [ln.start for ln in own_lines if ln.kind is LineKind.MAIN and ln.end is None and ln.start is not None]
    if starts:
        return max(min(starts) - _ONE_DAY, today)
    return agreement_period(agreement, today).end


def adoptable(line: Line) -> str:
    """Why ``line`` cannot be adopted ("" when it can): only an open main line carries a row's seats."""
    if line.kind is not LineKind.MAIN:
        return f"line {line.id} is a {line.kind.value} line: only a main line can be adopted; cancel or ignore it"
    if line.end is not None:
        return f"line {line.id} already ends on {line.end.isoformat()}: cancel or ignore it"
    return ""
