"""SQLite reads off the main thread pause every few hundred rows, so the window's thread gets the interpreter;
the rows read are the same, and the main thread never pauses."""

from __future__ import annotations

import threading

import pytest

from app.models import yielding
from app.models.database import sqlite_database

ROWS = 3 * yielding.ROWS_BETWEEN_PAUSES + 5


@pytest.fixture
def database(tmp_path):
    database = sqlite_database(tmp_path / "rows.db")
    database.connect()
    database.execute_sql("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)")
    with database.atomic():
        for n in range(ROWS):
            database.execute_sql("INSERT INTO item (id, name) VALUES (?, ?)", (n, f"item {n}"))
    yield database
    database.close()


@pytest.fixture
def pauses(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(yielding, "sleep", lambda seconds: seen.append(threading.current_thread().name))
    return seen


def read_both_ways(database) -> tuple[list, list]:
    """Every row, all at once (as raw_rows reads) and one by one (as peewee reads)."""
    everything = database.execute_sql("SELECT id, name FROM item ORDER BY id").fetchall()
    cursor = database.execute_sql("SELECT id, name FROM item ORDER BY id")
    one_by_one = list(iter(cursor.fetchone, None))
    return everything, one_by_one


def test_a_worker_reading_many_rows_pauses_every_few_hundred(tmp_path, pauses):
    database = sqlite_database(tmp_path / "rows.db")
    read: list = []

    def worker() -> None:
        database.connect()
        database.execute_sql("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)")
        database.execute_sql("INSERT INTO item (id, name) WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 "
                             f"FROM n WHERE i < {ROWS - 1}) SELECT i, 'item ' || i FROM n")
        read.extend(read_both_ways(database))
        database.close()

    thread = threading.Thread(target=worker, name="worker")
    thread.start()
    thread.join(10)
    expected = [(n, f"item {n}") for n in range(ROWS)]
    assert read == [expected, expected]
    assert pauses == ["worker"] * 6  # three full chunks read at once, three times 256 rows read one by one


def test_the_main_thread_reads_without_pausing(database, pauses):
    everything, one_by_one = read_both_ways(database)
    assert everything == one_by_one == [(n, f"item {n}") for n in range(ROWS)]
    assert pauses == []
