"""One sync run at a time across every desktop and the runner sharing a team database.

A run (not a plan: plans write nothing) holds PostgreSQL session advisory
lock ``RUN_LOCK`` on this process's own session (app/models/session.py)
for as long as it lasts, so the lock dies with its holder: a killed runner
frees it at once. Beside it, the ``sync_lock`` row named ``run`` says who
runs it ("the scheduled sync by run-scheduler on srv-1"), for the others
to say so. A sync started while another process's run holds the lock is
not started: it is coalesced into that run, whose result every desktop
sees when it finishes (the live updates of app/services/team/live.py),
and ``SyncRunningElsewhere`` says so. A scheduled run instead waits its
turn (up to ``wait`` seconds): the runner's daily sync must not be lost to
a desktop's sync of one company.

Within one process the scheduler already coalesces (app/services/sync/
scheduler.py); the advisory lock is re-entrant for the session, so this
changes nothing there. On SQLite (one desktop owns the file) nothing is
taken.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from app.errors import SeatsyncError
from app.models import session
from app.models.records import RunTrigger
from app.models.session import RUN_LOCK
from app.services.uow import UnitOfWork, connected

RUN_ROW = "run"
_HOURS = 12 * 3600.0  # the row's expiry; the advisory lock is what guards, the row only says who


class SyncRunningElsewhere(SeatsyncError):
    """This sync was not started: another seatsync is syncing the team's database now."""
    advice = "Its result shows here when it finishes; sync again afterwards if something is still to do."


def describe(actor: str, trigger: str) -> str:
    what = "the scheduled sync" if trigger == RunTrigger.SCHEDULE else "a sync"
    return f"{what} by {actor} on {socket.gethostname()}"


@contextmanager
def one_run(uow: UnitOfWork, *, actor: str, trigger: str, wait: float = 0.0,
            sleep: Callable[[float], None] = time.sleep) -> Iterator[None]:
    """The block runs holding the team's run lock, taken within ``wait`` seconds, or raises
    ``SyncRunningElsewhere``."""
    team = session.current()
    if team is None:
        yield
        return
    deadline = time.monotonic() + wait
    while not (taken := team.try_lock(RUN_LOCK)) and time.monotonic() < deadline:
        sleep(min(2.0, max(deadline - time.monotonic(), 0.0)))
    if not taken:
        with connected():
            holder = uow.locks.holder(RUN_ROW)
        raise SyncRunningElsewhere(f"{holder or 'another seatsync'} is running", holder=holder or "")
    owner = describe(actor, trigger)
    try:
        with connected():
            uow.locks.acquire(RUN_ROW, owner, _HOURS)
        yield
    finally:
        try:
            with connected():
                uow.locks.release(RUN_ROW, owner)
        finally:
            team.unlock(RUN_LOCK)
