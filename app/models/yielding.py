"""SQLite reads that let the window's thread in: every few hundred rows read off the main thread, the reading
thread gives up the interpreter for a tenth of a millisecond.

Python's sqlite3 lets go of the interpreter lock around each row it steps
and takes it straight back. A thread waiting for the lock (the window's, to
run a slot or paint) counts each of those hand-overs as the lock having
changed hands and goes on waiting, so it may wait through a whole long read
(CPython's convoy effect): the Reports view's worker reading 50,000 rows held
the window 50–130 ms at a time. A short sleep hands the lock over for real.
The main thread never pauses: a headless command has no window waiting.
"""

from __future__ import annotations

import sqlite3
import threading
from time import sleep
from typing import Any

from peewee import InterfaceError, SqliteDatabase

ROWS_BETWEEN_PAUSES = 256
PAUSE_SECONDS = 0.0001


def _pause() -> None:
    if threading.current_thread() is not threading.main_thread():
        sleep(PAUSE_SECONDS)


class YieldingCursor(sqlite3.Cursor):
    """A cursor whose reads (row by row, as peewee reads, or all at once) pause every ``ROWS_BETWEEN_PAUSES``."""

    _read = 0

    def fetchone(self) -> Any:
        self._read += 1
        if not self._read % ROWS_BETWEEN_PAUSES:
            _pause()
        return super().fetchone()

    def fetchall(self) -> list[Any]:
        rows: list[Any] = []
        while True:
            chunk = self.fetchmany(ROWS_BETWEEN_PAUSES)
            rows += chunk
            if len(chunk) < ROWS_BETWEEN_PAUSES:
                return rows
            _pause()


class YieldingSqliteDatabase(SqliteDatabase):
    """peewee's SQLite database, its statements run on ``YieldingCursor``s."""

    def cursor(self, named_cursor: Any = None) -> YieldingCursor:
        if self.is_closed():
            if not self.autoconnect:
                raise InterfaceError("Error, database connection not opened.")
            self.connect()
        return self._state.conn.cursor(YieldingCursor)
