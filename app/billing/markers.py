"""How seatsync names what it writes: line markers and operation keys.

A main line carries ``seatsync:<row digest>.<installation>``; a prorate or
credit line adds the day and the change of seats. The installation (four
hex digits, one per seatsync database) tells two installations' lines
apart: lines written before installations were named carry
``seatsync:<row digest>`` and count as every installation's. An operation
key is deterministic: the same change always gets the same key, which is
what the journal and the approvals are keyed by.
"""

from __future__ import annotations

import hashlib
from datetime import date

from app.billing.types import MARKER_PREFIX, LineKind, RowKey

KEY_VERSION = "v2"


def main_marker(row: RowKey, installation: str = "") -> str:
    """The marker of a row's main line: ``seatsync:<row digest>[.<installation>]``."""
    return f"{MARKER_PREFIX}{row.digest}" + (f".{installation}" if installation else "")


def row_key(marker: str) -> str:
    """``seatsync:<row digest>`` of any marker of a row: main or dated, of any installation."""
    return f"{MARKER_PREFIX}{marker.removeprefix(MARKER_PREFIX).split(':')[0].split('.')[0]}"


def installation_of(marker: str) -> str:
    """The installation that wrote a line of this marker ("" when written before installations were named)."""
    return marker.removeprefix(MARKER_PREFIX).split(":")[0].partition(".")[2]


def split_marker(marker: str) -> tuple[str, str]:
    """(``row_key(marker)``, ``installation_of(marker)``) of a seatsync marker, read once."""
    digest, _, installation = marker.removeprefix(MARKER_PREFIX).split(":", 1)[0].partition(".")
    return f"{MARKER_PREFIX}{digest}", installation


def is_main_marker(marker: str) -> bool:
    return marker.startswith(MARKER_PREFIX) and marker.count(":") == 1


def dated_marker(main: str, kind: LineKind, day: date, before: int, after: int) -> str:
    """The marker of a prorate or credit line: the day and the seats the period billed before and after it.

    The planner appends ``:2``, ``:3``... when the row already has a line of
    that marker (the same change made again on the same day after it was undone).
    """
    letter = "p" if kind is LineKind.PRORATE else "c"
    return f"{main}:{letter}{day.isoformat().replace('-', '')}:{before}>{after}"  # YYYYMMDD, as strftime's is slow


def operation_key(*parts: object) -> str:
    """A versioned, deterministic key: the same change always gets the same key."""
    raw = "|".join(map(str, (KEY_VERSION, *parts)))
    return f"{KEY_VERSION}-{hashlib.sha256(raw.encode()).hexdigest()[:32]}"
