"""Live updates between the desktops of a team: what changed in the team database, within a second.

Every change to a table of seatsync's sends ``NOTIFY seatsync, '<table>'``
(a trigger made by migration 0010), delivered when its transaction
commits. ``ChangeListener`` keeps a connection of its own LISTENing on a
thread of its own, gathers the tables named over a short window (a sync
writes many rows in many transactions) and hands each batch to
``on_change`` on that thread; the window passes it to the UI thread by a
signal (app/ui/live.py). A lost connection is made again, and the batch
after it names every table: what changed meanwhile is not known.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = "seatsync"
EVERYTHING = frozenset({"*"})


class ChangeListener:
    def __init__(self, connect: Callable[[], Any], on_change: Callable[[frozenset[str]], None], *,
                 gather_seconds: float = 0.15, retry_seconds: float = 2.0) -> None:
        self._connect = connect
        self._on_change = on_change
        self._gather = gather_seconds
        self._retry = retry_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="seatsync-live", daemon=True)
        self.listening = threading.Event()  # set while LISTENing (tests wait on it)

    def start(self) -> ChangeListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        lost = False
        while not self._stop.is_set():
            conn = None
            try:
                conn = self._connect()
                conn.autocommit = True
                with conn.cursor() as cursor:
                    cursor.execute(f"LISTEN {CHANNEL}")
                self.listening.set()
                if lost:
                    self._on_change(EVERYTHING)
                self._listen(conn)
            except Exception:  # the server went away, or cannot be reached yet: try again shortly
                log.warning("live updates: the team database's connection was lost; trying again", exc_info=True)
                lost = True
                self.listening.clear()
                self._stop.wait(self._retry)
            finally:
                if conn is not None:
                    conn.close()

    def _listen(self, conn: Any) -> None:
        while not self._stop.is_set():
            if not select.select([conn], [], [], 0.5)[0]:
                continue
            conn.poll()
            tables: set[str] = set()
            deadline = self._gather
            while True:  # gather what else arrives in the next moment into one batch
                tables.update(n.payload for n in conn.notifies)
                conn.notifies.clear()
                if not select.select([conn], [], [], deadline)[0]:
                    break
                conn.poll()
                deadline = self._gather / 3
            if tables:
                try:
                    self._on_change(frozenset(tables))
                except Exception:
                    log.exception("live updates: handling a change failed")
