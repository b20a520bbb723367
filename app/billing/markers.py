"""How seatsync names what it writes: line markers and operation keys.

A main line carries ``seatsync:<row digest>``; a prorate or credit line adds
the day and the change of seats. An operation key is deterministic: the
same change always gets the same key, which is what the journal and the
approvals are keyed by.
"""

from __future__ import annotations

import hashlib
from datetime import date

from app.billing.types import MARKER_PREFIX, LineKind, RowKey

KEY_VERSION = "v2"


def main_marker(row: RowKey) -> str:
    """The marker of a row's main line: ``seatsync:<row digest>``."""
    return f"{MARKER_PREFIX}{row.digest}"


def dated_marker(row: RowKey, kind: LineKind, day: date, before: int, after: int) -> str:
    """The marker of a prorate or credit line: the day and the seats the period billed before and after it.

    The planner appends ``:2``, ``:3``... when the row already has a line of
    that marker (the same change made again on the same day after it was undone).
    """
    letter = "p" if kind is LineKind.PRORATE else "c"
    return f"{main_marker(row)}:{letter}{day:%Y%m%d}:{before}>{after}"


def operation_key(*parts: object) -> str:
    """A versioned, deterministic key: the same change always gets the same key."""
    raw = "|".join(str(p) for p in (KEY_VERSION, *parts))
    return f"{KEY_VERSION}-{hashlib.sha256(raw.encode()).hexdigest()[:32]}"
