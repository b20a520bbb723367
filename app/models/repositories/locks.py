"""Named locks with an expiry, in the database: one sync per tenant at a time,
also when several technicians' apps (or a headless runner) share one database.

A holder that dies leaves a lock that expires after its time to live; a
holder still working renews it by acquiring it again. Owners named
``host:pid:...`` (the sync engine's) are checked: a lock whose holder was a
process on this computer that no longer runs is taken over at once, so a
crash does not block a tenant until the lock expires. On a team's
PostgreSQL database a lock also names its holder's database session
(app/models/session.py), and one whose session has ended, on whatever
computer, is taken over at once too.
"""

from __future__ import annotations

import os
import re
import socket
from datetime import datetime, timedelta

from peewee import EXCLUDED, Case

from app.models import session
from app.models.database import db
from app.models.repositories._base import Repository
from app.models.sync import SyncLock


class Locks(Repository):
    def acquire(self, name: str, owner: str, ttl_seconds: float) -> bool:
        """Take (or renew, if ``owner`` holds it) the lock; False when someone else holds it."""
        if not name or not owner:
            raise ValueError("a lock needs a name and an owner")
        if ttl_seconds <= 0:
            raise ValueError(f"a lock's time to live must be positive, not {ttl_seconds}")
        now = self._now()
        expires = now + timedelta(seconds=ttl_seconds)
        owner = _stored(owner)
        if self._take(name, owner, now, expires):
            return True
        # Someone else's lease: taken over when its holder has ended (this computer's process, or its team
        # database session), as a lease that expired would have been.
        held = SyncLock.get_or_none(SyncLock.name == name)
        team = session.current()
        if held is None or (held.owner != owner and (
                _died_here(held.owner) or (team is not None and team.ended(held.owner)))):
            if held is not None:
                SyncLock.delete().where((SyncLock.name == name) & (SyncLock.owner == held.owner)).execute()
            return self._take(name, owner, now, expires)
        return False

    @staticmethod
    def _take(name: str, owner: str, now: datetime, expires: datetime) -> bool:
        """In one statement: the lock made ``owner``'s when it is free, expired or already ``owner``'s (a renewal
        keeps when it was acquired); False when another holder's lease runs."""
        ours = SyncLock.owner == EXCLUDED.owner
        query = SyncLock.insert(name=name, owner=owner, acquired_at=now, expires_at=expires).on_conflict(
            conflict_target=[SyncLock.name],
            update={SyncLock.owner: EXCLUDED.owner, SyncLock.expires_at: EXCLUDED.expires_at,
                    SyncLock.acquired_at: Case(None, [(ours, SyncLock.acquired_at)], EXCLUDED.acquired_at)},
            where=ours | (SyncLock.expires_at <= EXCLUDED.acquired_at))
        return db.execute(query).rowcount == 1

    def release(self, name: str, owner: str) -> bool:
        """Give the lock up; False when ``owner`` did not hold it."""
        return bool(SyncLock.delete().where((SyncLock.name == name) & (SyncLock.owner == _stored(owner))).execute())

    def holder(self, name: str) -> str | None:
        """Who holds the lock now (None: free or expired)."""
        row = SyncLock.get_or_none((SyncLock.name == name) & (SyncLock.expires_at > self._now()))
        return None if row is None else _TAGGED.sub("", row.owner)


_TAGGED = re.compile(r"@pg\d+\.\d+$")


def _stored(owner: str) -> str:
    """The owner as the lock keeps it: on a team database, with this process's session tag."""
    team = session.current()
    return f"{owner[:160]}@{team.tag}" if team is not None else owner


def _died_here(owner: str) -> bool:
    """Whether ``owner`` (``host:pid:...``) was a process on this computer that has ended."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists but is not ours to signal
        return False
    return False
